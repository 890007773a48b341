//! What both programs do with their process: `plenum` (every command; `plenum mcp` hands over
//! to the other) and `plenum-mcp` (the MCP server). The host keeps the real stdout for itself
//! before any plugin loads, guards the exit, and prints one envelope even on a panic.

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Mutex;

use plenum_core::pipeline::exec;
use plenum_core::services::error::{self, Failure};
use plenum_core::services::output::{self, print_once, Envelope};
use plenum_core::services::release;
use plenum_core::services::sanitize::Sanitizer;
use plenum_core::services::supervisor;

use crate::cli;

/// Which program this process is.
#[derive(Debug, Clone, Copy)]
pub struct Front {
    /// Parses the arguments and runs the command (the argument list includes the program).
    pub run: fn(Vec<OsString>) -> cli::Outcome,
    /// Stdout carries the MCP server's JSON-RPC, not one document.
    pub protocol: bool,
}

/// `plenum`: every command of the command line.
pub const PLENUM: Front = Front {
    run: cli::run,
    protocol: false,
};

/// `plenum-mcp`: the MCP server.
pub const PLENUM_MCP: Front = Front {
    run: cli::run_mcp,
    protocol: true,
};

/// The stack of the thread a one-shot command runs on: what the main thread gets by default
/// on Linux (`ulimit -s`). The gate grows its stack beyond this for deep statements.
const COMMAND_STACK: usize = 8 << 20;

/// The whole life of the process: `main` of either program.
pub fn main(front: Front) -> ExitCode {
    let args: Vec<_> = std::env::args_os().collect();
    // Before any plugin can load: the host keeps the real stdout for itself, and a plugin that
    // ends the process cannot leave a success code with no document.
    output::stdio::take_stdout();
    output::guard_exit(front.protocol);
    if !one_shot(&args, front) {
        let code = output::stdio::exit_code(i32::from(run(args, front)));
        output::stdio::host_exits();
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    // This thread keeps the command's time (timeouts, the plugin load's limit, SIGINT and
    // SIGTERM) while the command runs on a thread of its own, which ends the process.
    let command = move || output::stdio::exit(i32::from(run(args, front)));
    match supervisor::serve_here_while(command, COMMAND_STACK) {
        Ok(never) => match never {},
        // No thread to keep time on: the command runs here (and ends the process).
        Err(command) => {
            command();
            ExitCode::FAILURE
        }
    }
}

/// Whether the command is one call that may touch a database: not the MCP server (which ends
/// when its client closes stdin; `plenum mcp` only hands over to it), and not version or help,
/// which only print and start no thread for that.
fn one_shot(args: &[OsString], front: Front) -> bool {
    let prints_only = |command: &OsString| {
        ["--version", "-V", "--help", "-h", "help"]
            .iter()
            .any(|flag| command == flag)
    };
    !front.protocol
        && args
            .get(1)
            .is_none_or(|command| command != "mcp" && !prints_only(command))
}

static PANIC_MESSAGE: Mutex<Option<String>> = Mutex::new(None);

/// Runs the command and prints its answer; the exit code.
fn run(args: Vec<OsString>, front: Front) -> u8 {
    // A panic must still end in one envelope: remember its message instead of printing it.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|location| format!(" at {}:{}", location.file(), location.line()))
            .unwrap_or_default();
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        if let Ok(mut slot) = PANIC_MESSAGE.lock() {
            *slot = Some(format!("{payload}{location}"));
        }
    }));
    // A one-shot command turns SIGINT and SIGTERM into a cancel, so the call rolls back and
    // still prints its envelope.
    if one_shot(&args, front) {
        exec::stop_on_signals(stopped_by_signal);
        // One call per process: sessions close after the envelope is out.
        release::defer_until_answered();
    }
    let (json, ok) = match std::panic::catch_unwind(|| (front.run)(args)) {
        Ok(cli::Outcome::Respond(response)) => {
            let ok = response.ok();
            (response.to_json(&cli::words::word), ok)
        }
        Ok(cli::Outcome::Exit(code)) => {
            release::after_answer(code);
            return u8::try_from(code).unwrap_or(1);
        }
        Err(_) => {
            let detail = PANIC_MESSAGE
                .lock()
                .ok()
                .and_then(|mut slot| slot.take())
                .unwrap_or_default();
            let failure = Failure::internal(format!(
                "plenum hit a bug and stopped ({detail}); please report it"
            ));
            (
                Envelope::failure(None, "unknown", &failure, &Sanitizer::new()).to_json(),
                false,
            )
        }
    };
    print_once(&json);
    release::after_answer(i32::from(!ok));
    u8::from(!ok)
}

/// Ends the process after a stop signal the running call did not answer in time with its own
/// envelope (nothing was running that could be cancelled, or the plugin did not return). It
/// ends at once, running no exit handler: a plugin that did not return may be inside `dlopen`,
/// holding the lock the exit handlers wait for (`output::stdio::exit_now`).
fn stopped_by_signal(signal: &'static str) {
    let failure = Failure::new(
        error::ErrorCode::Timeout,
        format!("plenum received {signal} and stopped before the call finished"),
    );
    if output::stream::started() {
        output::stream::finish(&output::envelope::streamed_failure_tail(
            &failure,
            &Sanitizer::new(),
        ));
        output::stdio::exit_now(1);
    }
    // When stdout is taken, the call's own envelope is out and the process is ending anyway.
    if print_once(&Envelope::failure(None, "unknown", &failure, &Sanitizer::new()).to_json()) {
        output::stdio::exit_now(1);
    }
}
