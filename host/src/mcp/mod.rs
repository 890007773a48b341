//! `plenum mcp`: the Model Context Protocol server on stdin/stdout, or over Streamable HTTP
//! with `--http` (see `http.rs`).
//!
//! A thin front end over the same pipeline as the CLI: each tool call becomes the same request
//! value (`QueryRequest`, …) and its response is the same envelope, sent as `structuredContent`
//! plus a text copy. The protocol itself (version negotiation, ping, notifications, request
//! routing) is `rmcp`'s; this module adds the tools, the tier ceiling set by whoever started
//! the server, and a stdio transport that answers malformed input instead of ignoring it.
//!
//! Engine work runs on blocking threads, never on the async runtime's workers (the sync
//! PostgreSQL driver inside a plugin runs its own runtime), and every call is bounded by its
//! timeout, so a stuck plugin costs one thread, not the server.

mod arguments;
mod calls;
mod http;
pub mod jsonrpc;
mod log;
mod server;
mod tools;
mod transport;
mod warm;
mod wording;

use std::time::Duration;

use clap::Args;
use plenum_gate::Tier;
use rmcp::service::ServerInitializeError;
use rmcp::ServiceExt;

use plenum_core::capability::requested_tier;

pub use log::log;
pub use server::{PlenumServer, Settings};
pub use transport::{LineTransport, MAX_MESSAGE_BYTES};

/// Flags of `plenum mcp`. Whoever starts the server sets its tier ceiling: a call's
/// `allow_write` / `allow_ddl` can ask only up to it.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Let calls use the write tier (`allow_write`: INSERT, UPDATE, DELETE, MERGE, …).
    #[arg(long)]
    pub allow_write: bool,
    /// Let calls use the ddl tier (`allow_ddl`: CREATE, DROP, ALTER, …); implies --allow-write.
    #[arg(long)]
    pub allow_ddl: bool,
    /// An environment variable of this process that a call may name as `password_env`
    /// (repeat for several). Calls naming any other variable are refused, so a model cannot
    /// send an arbitrary secret of this process to a host of its choosing.
    #[arg(long = "password-env", value_name = "VAR")]
    pub password_env: Vec<String>,
    /// Serve Streamable HTTP at ADDR (IP:PORT or localhost:PORT; the endpoint is /mcp)
    /// instead of stdio. Beyond loopback a bearer token is required (--token-file or
    /// PLENUM_MCP_TOKEN).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// With --http: a file holding the bearer token every request must carry (else
    /// PLENUM_MCP_TOKEN). Never the token itself on the command line, where `ps` shows it.
    #[arg(long, value_name = "PATH", requires = "http")]
    pub token_file: Option<std::path::PathBuf>,
    /// With --http: a host name clients reach the server by, beyond the loopback names and
    /// the listening IP (repeat for several). Other `Host` headers are refused (DNS
    /// rebinding).
    #[arg(long = "allowed-host", value_name = "NAME", requires = "http")]
    pub allowed_hosts: Vec<String>,
    /// Warm sessions (the pool's hook; see `warm`).
    #[command(flatten)]
    pub pool: warm::PoolArgs,
}

/// How long shutdown waits for blocking engine calls still running after stdin closed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Serves MCP on stdin/stdout until stdin closes; returns the process exit code.
pub fn serve(args: McpArgs) -> i32 {
    let ceiling: Tier = requested_tier(args.allow_write, args.allow_ddl);
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
    let settings = Settings::new(ceiling, args.password_env);
    plenum_core::pool::install(args.pool.settings());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("plenum-mcp")
        .build()
    {
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
    // A plugin that ignored a cancel may still hold a blocking thread: do not wait for it.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    code
}

async fn run(settings: Settings) -> i32 {
    log(&format!(
        "serving MCP on stdio; tier ceiling {} (set by plenum mcp{})",
        settings.ceiling().as_str(),
        settings
            .ceiling()
            .flag()
            .map(|flag| format!(" {flag}"))
            .unwrap_or_default()
    ));
    let (reader, writer) = rmcp::transport::stdio_pipes();
    // The host's private stdout: fd 1 is /dev/null, so nothing a plugin prints reaches the
    // protocol stream.
    let transport = match plenum_core::output::stdio::host_stdout() {
        Some(private) => LineTransport::new(
            reader,
            tokio::fs::File::from_std(private),
            MAX_MESSAGE_BYTES,
        ),
        None => LineTransport::new(reader, writer, MAX_MESSAGE_BYTES),
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
