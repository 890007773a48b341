//! The command-line front end: parses argv into requests and runs them.

use std::ffi::OsString;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::capability::{ceiling_from_env, requested_tier};
use crate::connection::{ConnectionArgs, ConnectionSpec};
use crate::error::{ErrorCode, Failure};
use crate::exec::{Limits, OnStuck};
use crate::output::{print_once, Envelope};
use crate::plugins::Registry;
use crate::request::{QueryRequest, Response};
use crate::sanitize::Sanitizer;

/// Plenum: safe database access for AI agents. Every command prints one JSON document.
#[derive(Debug, Parser)]
#[command(name = "plenum", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run SQL (read-only unless --allow-write / --allow-ddl).
    Query(QueryArgs),
    /// List the engine plugins Plenum finds, and where it looks.
    Plugins,
    /// Print the JSON Schemas of the output envelopes.
    Schema,
}

/// Flags of `plenum query`.
#[derive(Debug, Args)]
struct QueryArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// The SQL to run.
    #[arg(long, conflicts_with = "sql_file")]
    sql: Option<String>,
    /// Read the SQL from a file (`-` for standard input).
    #[arg(long, value_name = "PATH")]
    sql_file: Option<PathBuf>,
    /// Allow INSERT, UPDATE, DELETE, MERGE and other data changes.
    #[arg(long)]
    allow_write: bool,
    /// Allow schema changes (CREATE, DROP, ALTER, …); implies --allow-write.
    #[arg(long)]
    allow_ddl: bool,
    /// Rows returned at most (the result is flagged truncated beyond).
    #[arg(long, default_value_t = Limits::DEFAULT_MAX_ROWS)]
    max_rows: u64,
    /// Bytes of row JSON returned at most.
    #[arg(long, default_value_t = Limits::DEFAULT_MAX_BYTES)]
    max_bytes: u64,
    /// Milliseconds before the query is cancelled on the server.
    #[arg(long, default_value_t = Limits::DEFAULT_TIMEOUT_MS)]
    timeout_ms: u64,
}

/// Parses `args`, runs the command and returns its response. Never prints.
pub fn run(args: Vec<OsString>) -> Response {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => return clap_response(error),
    };
    match cli.command {
        Command::Query(args) => query(args),
        Command::Plugins => plugins(),
        Command::Schema => Response::data(
            None,
            "schema",
            &crate::output::schema::all(),
            None,
            Sanitizer::new(),
        ),
    }
}

fn clap_response(error: clap::Error) -> Response {
    use clap::error::ErrorKind;
    let text = error.render().to_string();
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Response::data(
            None,
            "help",
            &json!({ "text": text }),
            None,
            Sanitizer::new(),
        ),
        _ => {
            // clap quotes the offending argument, which may be a secret passed by mistake:
            // keep its explanation, scrub credential shapes.
            let message = text
                .lines()
                .filter(|line| !line.trim().is_empty())
                .take(4)
                .collect::<Vec<_>>()
                .join(" ");
            Response::failure(
                None,
                "cli",
                Failure::new(ErrorCode::InvalidInput, message),
                Sanitizer::new(),
            )
        }
    }
}

fn read_sql(args: &QueryArgs) -> Result<String, Failure> {
    if let Some(sql) = &args.sql {
        return Ok(sql.clone());
    }
    let Some(path) = &args.sql_file else {
        return Err(Failure::invalid_input(
            "no SQL given: pass --sql TEXT or --sql-file PATH",
        ));
    };
    let mut bytes = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut file| file.read_to_end(&mut bytes).map(|_| ()))
    };
    read.map_err(|error| {
        Failure::invalid_input(format!("cannot read {}: {error}", path.display()))
    })?;
    String::from_utf8(bytes).map_err(|error| {
        Failure::invalid_input(format!(
            "{} is not valid UTF-8 (first bad byte at offset {})",
            path.display(),
            error.utf8_error().valid_up_to()
        ))
    })
}

fn query(args: QueryArgs) -> Response {
    let mut sanitizer = Sanitizer::new();
    let engine = args.connection.engine.clone();
    let prepared = (|| {
        let connection = ConnectionSpec::from_args(&args.connection, &mut sanitizer)?;
        let sql = read_sql(&args)?;
        let ceilings = ceiling_from_env()?.into_iter().collect();
        Ok::<_, Failure>(QueryRequest {
            connection,
            sql,
            params: Vec::new(),
            requested: requested_tier(args.allow_write, args.allow_ddl),
            ceilings,
            limits: Limits {
                max_rows: args.max_rows,
                max_bytes: args.max_bytes,
                timeout: Duration::from_millis(args.timeout_ms),
            },
        })
    })();
    let request = match prepared {
        Ok(request) => request,
        Err(failure) => return Response::failure(engine, "query", failure, sanitizer),
    };
    let on_stuck = exit_on_stuck(
        Some(request.connection.engine.clone()),
        request.limits.timeout,
        sanitizer.clone(),
    );
    crate::pipeline::run_query(request, sanitizer, on_stuck)
}

/// For the CLI, a plugin that ignores a cancel ends the process with a TIMEOUT envelope.
fn exit_on_stuck(engine: Option<String>, timeout: Duration, sanitizer: Sanitizer) -> OnStuck {
    Box::new(move || {
        let failure = Failure::new(
            ErrorCode::Timeout,
            format!(
                "the query ran longer than the timeout of {} ms and the engine did not stop when cancelled",
                timeout.as_millis()
            ),
        );
        let envelope = Envelope::failure(engine, "query", &failure, &sanitizer);
        if print_once(&envelope.to_json()) {
            std::process::exit(1);
        }
    })
}

fn plugins() -> Response {
    let registry = Registry::discover();
    let plugins = registry.list();
    Response::data(
        None,
        "plugins",
        &json!({
            "plugins": plugins,
            "search_path": registry.dirs(),
        }),
        None,
        Sanitizer::new(),
    )
}
