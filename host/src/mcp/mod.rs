//! `plenum mcp`: the Model Context Protocol server on stdin/stdout, or over Streamable HTTP
//! with `--http` (see `http.rs`).
//!
//! A thin front end over the same pipeline as the CLI: each tool call becomes the same request
//! value (`QueryRequest`, …) and its response is the same envelope, sent as `structuredContent`
//! plus a text copy. The protocol itself (version negotiation, ping, notifications, request
//! routing) is `rmcp`'s; this module adds the tools, the tier ceiling set by whoever started
//! the server, and a stdio transport that answers malformed input instead of ignoring it.
//!
//! Engine work runs on blocking threads, never on the async runtime's threads (the sync
//! PostgreSQL driver inside a plugin runs its own runtime), and every call is bounded by its
//! timeout, so a stuck plugin costs one thread, not the server.

mod approval;
mod arguments;
mod calls;
mod engine_threads;
mod http;
pub mod jsonrpc;
mod log;
mod server;
mod settings;
mod stdio;
mod tools;
mod transport;
mod wording;

use std::time::Duration;

use plenum_gate::Tier;
use rmcp::service::ServerInitializeError;
use rmcp::ServiceExt;

pub use approval::Approvals;
pub use log::log;
pub use server::PlenumServer;
pub use settings::Settings;
pub use transport::{LineTransport, MAX_MESSAGE_BYTES};

/// How `plenum mcp` serves, as whoever started it set it: the tier ceiling every call is held
/// to, which password variables a call may name, the transport and the warm-session pool.
#[derive(Debug)]
pub struct ServeOptions {
    /// The highest tier any call may use without a human's approval.
    pub ceiling: Tier,
    /// Whether, and up to which tier, the client's user may approve a call above `ceiling`.
    pub approvals: Option<Approvals>,
    /// Environment variables of this process a call may name as `password_env`.
    pub password_envs: Vec<String>,
    /// Serve Streamable HTTP at this address instead of stdio.
    pub http: Option<String>,
    /// With `http`: the file holding the bearer token.
    pub token_file: Option<std::path::PathBuf>,
    /// With `http`: host names clients may reach the server by.
    pub allowed_hosts: Vec<String>,
    /// Warm sessions.
    pub pool: plenum_core::services::pool::Settings,
}

/// How long shutdown waits for blocking engine calls still running after stdin closed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Serves MCP on stdin/stdout until stdin closes; returns the process exit code.
pub fn serve(args: ServeOptions) -> i32 {
    let ceiling = args.ceiling;
    let http = match args.http.as_deref().map(|address| {
        http::HttpOptions::new(address, args.token_file.as_deref(), args.allowed_hosts)
    }) {
        None => None,
        Some(Ok(options)) => Some(options),
        Some(Err(message)) => {
            log(&message);
            return 2;
        }
    };
    let settings = Settings::new(ceiling, args.approvals, args.password_envs);
    plenum_core::services::pool::install(args.pool);
    plenum_core::services::plugins::kept::install();
    // Stdio: one thread runs every task (the session, its reads and writes are one stream, and
    // engine work goes to blocking threads anyway); with two workers, tasks woke each other
    // across threads, costing CPU per call (docs/PERFORMANCE.md, "Stdio on threads of their
    // own"). HTTP serves many connections at once: workers.
    let mut builder = if http.is_some() {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().thread_name("plenum-mcp").build() {
        Ok(runtime) => runtime,
        Err(error) => {
            log(&format!("cannot start the async runtime: {error}"));
            return 1;
        }
    };
    let code = match http {
        Some(options) => runtime.block_on(http::run(settings, options)),
        None => runtime.block_on(run(settings)),
    };
    // Calls still running get a grace to end (their cancel was requested when their requests
    // were dropped); a plugin that ignored the cancel keeps its thread: do not wait for it.
    engine_threads::wait_idle(SHUTDOWN_GRACE);
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    code
}

async fn run(settings: Settings) -> i32 {
    log(&format!(
        "serving MCP on stdio; tier ceiling {} (set by plenum mcp{}){}",
        settings.ceiling().as_str(),
        match settings.ceiling() {
            Tier::Read => "",
            Tier::Write => " --allow-write",
            Tier::Ddl => " --allow-ddl",
        },
        approvals_note(&settings)
    ));
    // Stdin and stdout each on a thread of their own (`stdio.rs`): tokio's handles run every
    // read and write on the blocking pool, a thread hand-off per message.
    let transport = stdio::ThreadReader::spawn(std::io::stdin()).and_then(|reader| {
        // The host's private stdout: fd 1 is /dev/null, so nothing a plugin prints reaches
        // the protocol stream.
        match plenum_core::services::output::stdio::host_stdout() {
            Some(private) => {
                LineTransport::with_blocking_writer(reader, private, MAX_MESSAGE_BYTES)
            }
            None => {
                LineTransport::with_blocking_writer(reader, std::io::stdout(), MAX_MESSAGE_BYTES)
            }
        }
    });
    let transport = match transport {
        Ok(transport) => transport,
        Err(error) => {
            log(&format!("cannot start the stdio threads: {error}"));
            return 1;
        }
    };
    let running = match PlenumServer::new(settings).serve(transport).await {
        Ok(running) => running,
        // The client went away before starting a session: nothing was asked, nothing failed.
        Err(ServerInitializeError::ConnectionClosed(_)) => {
            log("stdin closed before a session started; exiting");
            return 0;
        }
        Err(error) => {
            log(&format!(
                "the session could not start: {}",
                describe_init_error(&error)
            ));
            return 1;
        }
    };
    match running.waiting().await {
        Ok(reason) => {
            log(&format!("session ended ({reason:?}); exiting"));
            0
        }
        Err(_) => {
            log("the session loop stopped unexpectedly");
            1
        }
    }
}

/// What the start-up log says about approvals: nothing when no one can be asked.
fn approvals_note(settings: &Settings) -> String {
    settings
        .approvals()
        .filter(|approvals| approvals.up_to > settings.ceiling())
        .map(|approvals| {
            format!(
                ", a human may approve calls up to {} (waited for {} s)",
                approvals.up_to.as_str(),
                approvals.wait.as_secs()
            )
        })
        .unwrap_or_default()
}

/// A short description of an initialization failure that never quotes the client's message.
fn describe_init_error(error: &ServerInitializeError) -> String {
    match error {
        ServerInitializeError::ExpectedInitializeRequest(_) => {
            "the first request was not `initialize` or a self-describing request".to_owned()
        }
        ServerInitializeError::InitializeFailed(data) => {
            format!("initialize failed: {}", data.message)
        }
        ServerInitializeError::TransportError { context, .. } => {
            format!("cannot write to stdout while {context}")
        }
        ServerInitializeError::Cancelled => "cancelled".to_owned(),
        other => other.to_string(),
    }
}
