//! The command-line front end: parses argv into requests and runs them.

mod handoff;
pub mod options;
mod serve;
pub mod words;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};
use serde_json::json;

use plenum_core::commands::connect::ConnectArgs;
use plenum_core::commands::query::StreamedOutcome;
use plenum_core::pipeline::request::{QueryInput, Response};
use plenum_core::services::connection::{resolve, ConnectionArgs};
use plenum_core::services::error::{ErrorCode, Failure};
use plenum_core::services::sanitize::Sanitizer;

use options::{ConnectOptions, IntrospectOptions, QueryOptions};

/// Printed after every help text of both command-line roots.
const AFTER_HELP: &str =
    "Help and usage errors are text on a terminal and one JSON document otherwise.";

/// Flags of every command, held by both command-line roots.
#[derive(Debug, clap::Args)]
struct Global {
    /// Indent the JSON output for a person (the same document, keys in the same order).
    #[arg(long, global = true)]
    pretty: bool,
}

/// A command-line root: the same name, version, about and after-help text over `commands`.
/// Every root is declared through this, so the three cannot drift apart.
macro_rules! command_line_root {
    ($(#[$doc:meta])* $name:ident over $commands:ty) => {
        $(#[$doc])*
        #[derive(Debug, Parser)]
        #[command(
            name = "plenum",
            version,
            about,
            long_about = None,
            after_help = AFTER_HELP
        )]
        struct $name {
            #[command(flatten)]
            global: Global,
            #[command(subcommand)]
            command: $commands,
        }
    };
}

command_line_root! {
    /// Plenum: safe database access for AI agents. Every command prints one JSON document.
    Cli over Command
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run SQL (read-only unless --allow-write / --allow-ddl).
    Query(QueryOptions),
    /// List, verify or describe engine plugins, and where Plenum looks for them.
    Plugins(PluginsArgs),
    /// Print the JSON Schemas of the output envelopes.
    Schema,
    /// Describe schemas, tables and views without writing catalog SQL.
    Introspect(IntrospectOptions),
    /// Save, list or test named connections.
    Connect(ConnectOptions),
    /// Serve the Model Context Protocol on stdin/stdout.
    Mcp(serve::McpArgs),
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

command_line_root! {
    /// [`Cli`] with `query` as its only command. Building every command's flags is most of
    /// what the command line costs a cold start (about 0.2 M instructions, most of them for the
    /// flags of `introspect` and `connect`; docs/PERFORMANCE.md, "The cold start, issue 19"),
    /// so a command line that starts with `query` is parsed by this one. A test holds the two
    /// to the same help, usage and errors.
    QueryCli over QueryCommand
}

#[derive(Debug, Subcommand)]
enum QueryCommand {
    /// Run SQL (read-only unless --allow-write / --allow-ddl).
    Query(QueryOptions),
}

command_line_root! {
    /// [`Cli`] with `mcp` as its only command: how `plenum-mcp` reads its arguments, so that
    /// `plenum-mcp FLAGS` is `plenum mcp FLAGS`, help and errors included (a test holds the two
    /// alike, as for [`QueryCli`]).
    McpCli over McpCommand
}

#[derive(Debug, Subcommand)]
enum McpCommand {
    /// Serve the Model Context Protocol on stdin/stdout.
    Mcp(serve::McpArgs),
}

impl Cli {
    /// Parses `args` with only the commands it can name.
    fn parse_from(args: &[OsString]) -> Result<Self, clap::Error> {
        if args.get(1).is_some_and(|command| command == "query") {
            let QueryCli { global, command } = QueryCli::try_parse_from(args)?;
            let QueryCommand::Query(options) = command;
            return Ok(Cli {
                global,
                command: Command::Query(options),
            });
        }
        Cli::try_parse_from(args)
    }
}

/// What a command leaves for `main` to do.
pub enum Outcome {
    /// Print this response as the one envelope.
    Respond(Response),
    /// The command spoke its own protocol on stdout (MCP); exit with this code.
    Exit(i32),
}

/// `plenum plugins` and its subcommands.
#[derive(Debug, Args)]
struct PluginsArgs {
    #[command(subcommand)]
    command: Option<PluginsCommand>,
}

#[derive(Debug, Subcommand)]
enum PluginsCommand {
    /// List every plugin library found, whether it is trusted and why, and where Plenum looked
    /// (the default).
    List,
    /// Run the trust and version checks on one library (this loads it, so it runs its code)
    /// and print the manifest that describes it.
    Verify {
        /// The library file.
        path: PathBuf,
        /// Write the manifest beside the library (for packaging a plugin for distribution).
        #[arg(long)]
        write: bool,
    },
    /// Describe the plugin that serves ENGINE.
    Info {
        /// The engine name, as given to `--engine`.
        engine: String,
    },
}

fn plugins(args: PluginsArgs) -> Response {
    match args.command.unwrap_or(PluginsCommand::List) {
        PluginsCommand::List => plenum_core::commands::plugins::list(),
        PluginsCommand::Verify { path, write } => {
            plenum_core::commands::plugins::verify_library(&path, write)
        }
        PluginsCommand::Info { engine } => plenum_core::commands::plugins::info(engine),
    }
}

/// Parses `args` and runs the command. `mcp` becomes the MCP server (`plenum-mcp`, which
/// prints by itself).
pub fn run(args: Vec<OsString>) -> Outcome {
    let cli = match Cli::parse_from(&args) {
        Ok(cli) => cli,
        Err(error) => return usage(error),
    };
    if cli.global.pretty {
        plenum_core::services::output::pretty::enable();
    }
    Outcome::Respond(match cli.command {
        Command::Query(args) => return query(args),
        Command::Plugins(args) => plugins(args),
        Command::Schema => Response::data(
            None,
            "schema",
            &plenum_core::services::output::schema::all(),
            None,
            Sanitizer::new(),
        ),
        Command::Introspect(options) => plenum_core::commands::introspect::introspect(&options.0),
        Command::Connect(options) => {
            plenum_core::commands::connect::connect(ConnectArgs::from_values(&options.0))
        }
        Command::Mcp(mcp) => {
            // Checked here too, so a usage error needs no server.
            return match mcp.options() {
                Ok(_) => handoff::to_mcp_server(&args),
                Err(message) => conflict(message),
            };
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "plenum", &mut script);
            return print_text(&script);
        }
        Command::Man { out_dir } => return man(out_dir),
    })
}

/// `plenum-mcp`: `args` (the program, then the flags of `plenum mcp`) read as `plenum mcp`
/// reads them, and the server run.
pub fn run_mcp(args: Vec<OsString>) -> Outcome {
    let words = [OsString::from("plenum"), OsString::from("mcp")]
        .into_iter()
        .chain(args.into_iter().skip(1));
    let cli = match McpCli::try_parse_from(words) {
        Ok(cli) => cli,
        Err(error) => return usage(error),
    };
    if cli.global.pretty {
        plenum_core::services::output::pretty::enable();
    }
    let McpCommand::Mcp(mcp) = cli.command;
    match mcp.options() {
        Ok(options) => Outcome::Exit(crate::mcp::serve(options)),
        Err(message) => conflict(message),
    }
}

/// Flags of `plenum mcp` that contradict each other: a usage error like any clap finds.
fn conflict(message: String) -> Outcome {
    usage(Cli::command().error(clap::error::ErrorKind::ArgumentConflict, message))
}

/// A parse error, `--help` or `--version`: clap's own text for a person at a terminal, one
/// JSON document for a program reading stdout.
fn usage(error: clap::Error) -> Outcome {
    if plenum_core::services::output::stdio::is_terminal() {
        // Help and version go to the host's stdout (fd 1 is not it: see output::stdio),
        // errors to stderr.
        let text = error.render().to_string();
        let _ = if error.use_stderr() {
            std::io::stderr().write_all(text.as_bytes())
        } else {
            plenum_core::services::output::stdio::write_all(text.as_bytes())
        };
        return Outcome::Exit(error.exit_code());
    }
    Outcome::Respond(clap_response(error))
}

/// Prints a document that is not an envelope (a script, a man page) and exits.
fn print_text(bytes: &[u8]) -> Outcome {
    let written = plenum_core::services::output::stdio::write_all(bytes);
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

fn query(options: QueryOptions) -> Outcome {
    let values = options.0;
    let mut sanitizer = Sanitizer::new();
    let connection = ConnectionArgs::from_values(&values);
    let engine = connection.engine.clone();
    let prepared = resolve(&connection, &mut sanitizer).and_then(|resolved| {
        QueryInput::from_values(&values).map(|input| input.at(resolved.spec, resolved.ceilings))
    });
    let request = match prepared {
        Ok(request) => request,
        Err(failure) => {
            return Outcome::Respond(Response::failure(engine, "query", failure, sanitizer))
        }
    };
    // One call per process: a plugin load that overruns its limit ends it, with the envelope
    // the call would print for that failure (plugins::load_in_one_shot).
    {
        let (engine, sanitizer) = (Some(request.connection.engine.clone()), sanitizer.clone());
        let command = request.mode.command();
        plenum_core::services::plugins::load_in_one_shot(Box::new(move |failure| {
            let response = Response::failure(engine.clone(), command, failure, sanitizer.clone());
            if plenum_core::services::output::print_once(&response.to_json(&words::word)) {
                plenum_core::services::output::stdio::exit_now(1);
            }
        }));
    }
    let on_stuck = plenum_core::pipeline::session::exit_on_stuck(
        Some(request.connection.engine.clone()),
        "query",
        request.limits.timeout,
        sanitizer.clone(),
    );
    match plenum_core::commands::query::run_query_to_stdout(
        request,
        sanitizer,
        on_stuck,
        &words::word,
    ) {
        StreamedOutcome::Respond(response) => Outcome::Respond(response),
        StreamedOutcome::Printed(ok) => Outcome::Exit(if ok { 0 } else { 1 }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    /// What a person or a program sees of a parse: the help or error text, or the flags.
    fn seen(result: Result<impl std::fmt::Debug, clap::Error>) -> String {
        match result {
            Ok(parsed) => format!("{parsed:?}"),
            Err(error) => format!("{:?} {}", error.kind(), error.render()),
        }
    }

    #[test]
    fn a_query_parses_alone_as_with_every_command() {
        let lines: &[&[&str]] = &[
            &["plenum", "query", "--help"],
            &["plenum", "query", "-h"],
            &["plenum", "query"],
            &[
                "plenum", "query", "--engine", "sqlite", "--file", "a.db", "--sql", "SELECT 1",
            ],
            &[
                "plenum",
                "query",
                "--pretty",
                "--sql",
                "SELECT 1",
                "--max-rows",
                "3",
            ],
            &["plenum", "query", "--sql", "SELECT 1", "--max-rows", "many"],
            &["plenum", "query", "--sq", "SELECT 1"],
            &["plenum", "query", "--bogus"],
            &["plenum", "query", "extra"],
            &["plenum", "query", "--version"],
            &[
                "plenum",
                "query",
                "--allow-write",
                "--allow-ddl",
                "--sql",
                "x",
            ],
        ];
        for line in lines {
            let alone = seen(QueryCli::try_parse_from(args(line)).map(|cli| {
                let QueryCommand::Query(options) = cli.command;
                (cli.global.pretty, format!("{:?}", options.0))
            }));
            let whole = seen(
                Cli::try_parse_from(args(line)).map(|cli| match cli.command {
                    Command::Query(options) => (cli.global.pretty, format!("{:?}", options.0)),
                    other => panic!("{line:?} parsed as {other:?}"),
                }),
            );
            assert_eq!(alone, whole, "{line:?}");
        }
    }

    #[test]
    fn an_mcp_command_line_parses_alone_as_with_every_command() {
        let lines: &[&[&str]] = &[
            &["plenum", "mcp", "--help"],
            &["plenum", "mcp"],
            &["plenum", "mcp", "--allow-write", "--password-env", "PW"],
            &["plenum", "mcp", "--pretty", "--allow-ddl"],
            &["plenum", "--pretty", "mcp", "--approve-up-to", "ddl"],
            &["plenum", "mcp", "--approve-up-to", "all"],
            &["plenum", "mcp", "--token-file", "t"],
            &["plenum", "mcp", "--http", "127.0.0.1:0", "--pool-size", "x"],
            &["plenum", "mcp", "--bogus"],
            &["plenum", "mcp", "extra"],
            &["plenum", "mcp", "--version"],
        ];
        for line in lines {
            let alone = seen(McpCli::try_parse_from(args(line)).map(|cli| {
                let McpCommand::Mcp(options) = cli.command;
                (cli.global.pretty, format!("{options:?}"))
            }));
            let whole = seen(
                Cli::try_parse_from(args(line)).map(|cli| match cli.command {
                    Command::Mcp(options) => (cli.global.pretty, format!("{options:?}")),
                    other => panic!("{line:?} parsed as {other:?}"),
                }),
            );
            assert_eq!(alone, whole, "{line:?}");
        }
        let mut alone = McpCli::command();
        let mut whole = Cli::command();
        let mcp = |command: &mut clap::Command| {
            command
                .find_subcommand_mut("mcp")
                .map(|mcp| mcp.render_long_help().to_string())
        };
        assert!(mcp(&mut alone).is_some());
        assert_eq!(mcp(&mut alone), mcp(&mut whole));
        assert_eq!(alone.get_version(), whole.get_version());
    }

    #[test]
    fn the_query_command_is_described_alike() {
        let mut alone = QueryCli::command();
        let mut whole = Cli::command();
        let query = |command: &mut clap::Command| {
            command
                .find_subcommand_mut("query")
                .map(|query| query.render_long_help().to_string())
        };
        assert_eq!(query(&mut alone), query(&mut whole));
        assert!(query(&mut alone).is_some());
        assert_eq!(alone.get_version(), whole.get_version());
        assert_eq!(
            alone.get_about().map(ToString::to_string),
            whole.get_about().map(ToString::to_string)
        );
        assert_eq!(
            alone.get_after_help().map(ToString::to_string),
            whole.get_after_help().map(ToString::to_string)
        );
    }
}
