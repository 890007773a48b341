//! `plenum mcp` hands over to `plenum-mcp`, the MCP server, a program of its own beside
//! `plenum` so that no other command maps, relocates and pages in the server's code (tokio,
//! hyper, rmcp; docs/PERFORMANCE.md, "The cold start, issue 19").
//!
//! The server is found only beside the running executable and must pass the checks a plugin
//! library of the installation passes (`plenum_core::services::plugins::sibling`). On Unix
//! this process becomes it (`exec`): the same process id, stdin, stdout, environment and
//! signals for the MCP client, and the server's exit code is the exit code. Elsewhere it runs
//! as a child and its exit code is passed on. When it cannot be run, the answer is one
//! `CONFIG_ERROR` envelope, like any failure before the server starts.

use std::ffi::OsString;
use std::path::Path;

use plenum_core::pipeline::request::Response;
use plenum_core::services::error::Failure;
use plenum_core::services::plugins::sibling;
use plenum_core::services::sanitize::Sanitizer;

use super::Outcome;

/// The MCP server's program name.
pub const MCP_SERVER: &str = "plenum-mcp";

/// Runs the MCP server with the flags of `args`, a command line `plenum` parsed as `plenum
/// mcp`: everything after the program except the word `mcp` (before it only global flags can
/// stand, and the server reads those too).
pub(super) fn to_mcp_server(args: &[OsString]) -> Outcome {
    let mut flags: Vec<OsString> = args.iter().skip(1).cloned().collect();
    if let Some(word) = flags.iter().position(|word| word == "mcp") {
        flags.remove(word);
    }
    match sibling::beside_executable(MCP_SERVER) {
        Ok(program) => become_server(&program, &flags),
        Err(failure) => failed(failure),
    }
}

#[cfg(unix)]
fn become_server(program: &Path, flags: &[OsString]) -> Outcome {
    use std::os::unix::process::CommandExt;

    // The host had pointed fd 1 at /dev/null (output::stdio); the server speaks on it.
    if !plenum_core::services::output::stdio::give_back_stdout() {
        return failed(Failure::internal(
            "cannot give stdout back to hand it to the MCP server",
        ));
    }
    // Only returns if the program could not be run.
    let error = std::process::Command::new(program).args(flags).exec();
    failed(Failure::config(format!(
        "cannot run the MCP server {}: {error}",
        program.display()
    )))
}

#[cfg(not(unix))]
fn become_server(program: &Path, flags: &[OsString]) -> Outcome {
    match std::process::Command::new(program).args(flags).status() {
        Ok(status) => Outcome::Exit(status.code().unwrap_or(1)),
        Err(error) => failed(Failure::config(format!(
            "cannot run the MCP server {}: {error}",
            program.display()
        ))),
    }
}

fn failed(failure: Failure) -> Outcome {
    Outcome::Respond(Response::failure(None, "mcp", failure, Sanitizer::new()))
}
