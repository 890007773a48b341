//! The command-line front end: parses argv into requests and runs them.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};
use serde_json::json;

use plenum_core::capability::requested_tier;
use plenum_core::connection::{resolve, ConnectionArgs, Resolved};
use plenum_core::error::{ErrorCode, Failure};
use plenum_core::exec::Limits;
use plenum_core::pipeline::StreamedOutcome;
use plenum_core::request::{QueryMode, QueryRequest, Response};
use plenum_core::sanitize::Sanitizer;

/// Plenum: safe database access for AI agents. Every command prints one JSON document.
#[derive(Debug, Parser)]
#[command(
    name = "plenum",
    version,
    about,
    long_about = None,
    after_help = "Help and usage errors are text on a terminal and one JSON document otherwise."
)]
struct Cli {
    /// Indent the JSON output for a person (the same document, keys in the same order).
    #[arg(long, global = true)]
    pretty: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run SQL (read-only unless --allow-write / --allow-ddl).
    Query(QueryArgs),
    /// List, verify or describe engine plugins, and where Plenum looks for them.
    Plugins(plenum_core::plugins::PluginsArgs),
    /// Print the JSON Schemas of the output envelopes.
    Schema,
    /// Describe schemas, tables and views without writing catalog SQL.
    Introspect(plenum_core::introspect::IntrospectArgs),
    /// Save, list or test named connections.
    Connect(plenum_core::saved::ConnectArgs),
    /// Serve the Model Context Protocol on stdin/stdout.
    Mcp(crate::mcp::McpArgs),
    /// Print a shell completion script (not JSON), e.g. `plenum completions bash`.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page in roff (not JSON); with --out-dir, write one page per command.
    #[command(hide = true)]
    Man {
        /// Write plenum.1 and plenum-<command>.1 into this folder instead.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

/// What a command leaves for `main` to do.
pub enum Outcome {
    /// Print this response as the one envelope.
    Respond(Response),
    /// The command spoke its own protocol on stdout (MCP); exit with this code.
    Exit(i32),
}

/// Flags of `plenum query`.
#[derive(Debug, Args)]
struct QueryArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// The SQL to run (it may start with `-`, e.g. a `--` comment).
    #[arg(long, conflicts_with = "sql_file", allow_hyphen_values = true)]
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
    /// A bound parameter, as a JSON value (`42`, `'"text"'`, `true`, `null`); repeat it once
    /// per placeholder (`?` for SQLite and MySQL, `$1…` for PostgreSQL), in order.
    #[arg(
        long = "param",
        value_name = "JSON",
        allow_hyphen_values = true,
        conflicts_with = "param_file"
    )]
    params: Vec<String>,
    /// Read the bound parameters from a file holding one JSON array (`-` for standard input).
    #[arg(long, value_name = "PATH")]
    param_file: Option<PathBuf>,
    /// Skip this many rows of the result before returning a page (a re-run, not a cursor:
    /// pass the `meta.next_offset` of the previous page).
    #[arg(long, default_value_t = 0)]
    offset: u64,
    /// Only run the gate: list the statements, their kind and tier, and whether the flags
    /// given allow them. Never connects.
    #[arg(long, conflicts_with = "explain")]
    check_only: bool,
    /// Return the engine's plan for the statement as a tree, without executing it.
    #[arg(long)]
    explain: bool,
}

/// Parses `args` and runs the command. Only `mcp` prints by itself.
pub fn run(args: Vec<OsString>) -> Outcome {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => return usage(error),
    };
    if cli.pretty {
        plenum_core::output::pretty::enable();
    }
    Outcome::Respond(match cli.command {
        Command::Query(args) => return query(args),
        Command::Plugins(args) => plenum_core::plugins::run(args),
        Command::Schema => Response::data(
            None,
            "schema",
            &plenum_core::output::schema::all(),
            None,
            Sanitizer::new(),
        ),
        Command::Introspect(args) => plenum_core::introspect::introspect(args),
        Command::Connect(args) => plenum_core::saved::connect(args),
        Command::Mcp(args) => return Outcome::Exit(crate::mcp::serve(args)),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "plenum", &mut script);
            return print_text(&script);
        }
        Command::Man { out_dir } => return man(out_dir),
    })
}

/// A parse error, `--help` or `--version`: clap's own text for a person at a terminal, one
/// JSON document for a program reading stdout.
fn usage(error: clap::Error) -> Outcome {
    if plenum_core::output::stdio::is_terminal() {
        // Help and version go to the host's stdout (fd 1 is not it: see output::stdio),
        // errors to stderr.
        let text = error.render().to_string();
        let _ = if error.use_stderr() {
            std::io::stderr().write_all(text.as_bytes())
        } else {
            plenum_core::output::stdio::write_all(text.as_bytes())
        };
        return Outcome::Exit(error.exit_code());
    }
    Outcome::Respond(clap_response(error))
}

/// Prints a document that is not an envelope (a script, a man page) and exits.
fn print_text(bytes: &[u8]) -> Outcome {
    let written = plenum_core::output::stdio::write_all(bytes);
    Outcome::Exit(if written.is_ok() { 0 } else { 1 })
}

/// `plenum man`: the page for `plenum` on stdout, or every command's page into a folder.
fn man(out_dir: Option<PathBuf>) -> Outcome {
    let command = Cli::command();
    let Some(dir) = out_dir else {
        let mut page = Vec::new();
        return match clap_mangen::Man::new(command).render(&mut page) {
            Ok(()) => print_text(&page),
            Err(error) => Outcome::Respond(Response::failure(
                None,
                "man",
                Failure::internal(format!("cannot render the man page: {error}")),
                Sanitizer::new(),
            )),
        };
    };
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| clap_mangen::generate_to(command, &dir))
        .map_err(|error| {
            Failure::invalid_input(format!(
                "cannot write man pages to {}: {error}",
                dir.display()
            ))
        });
    Outcome::Respond(match written {
        Ok(()) => Response::data(
            None,
            "man",
            &json!({ "out_dir": dir }),
            None,
            Sanitizer::new(),
        ),
        Err(failure) => Response::failure(None, "man", failure, Sanitizer::new()),
    })
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

fn query(args: QueryArgs) -> Outcome {
    let mut sanitizer = Sanitizer::new();
    let engine = args.connection.engine.clone();
    let prepared = (|| {
        let Resolved {
            spec: connection,
            ceilings,
            ..
        } = resolve(&args.connection, &mut sanitizer)?;
        if args.sql_file.as_deref() == Some(std::path::Path::new("-"))
            && args.param_file.as_deref() == Some(std::path::Path::new("-"))
        {
            return Err(Failure::invalid_input(
                "--sql-file - and --param-file - cannot both read standard input",
            ));
        }
        let sql = read_sql(&args)?;
        let params = match &args.param_file {
            Some(path) => plenum_core::params::read_file(path)?,
            None => args
                .params
                .iter()
                .enumerate()
                .map(|(index, text)| plenum_core::params::parse_cli(text, index + 1))
                .collect::<Result<_, _>>()?,
        };
        Ok::<_, Failure>(QueryRequest {
            connection,
            sql,
            params,
            offset: args.offset,
            mode: QueryMode::from_flags(args.check_only, args.explain),
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
        Err(failure) => {
            return Outcome::Respond(Response::failure(engine, "query", failure, sanitizer))
        }
    };
    let on_stuck = plenum_core::pipeline::exit_on_stuck(
        Some(request.connection.engine.clone()),
        "query",
        request.limits.timeout,
        sanitizer.clone(),
    );
    match plenum_core::pipeline::run_query_to_stdout(request, sanitizer, on_stuck) {
        StreamedOutcome::Respond(response) => Outcome::Respond(response),
        StreamedOutcome::Printed(ok) => Outcome::Exit(if ok { 0 } else { 1 }),
    }
}
