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

/// The whole life of the process: `main` of either program.
pub fn main(front: Front) -> ExitCode {
    let args: Vec<_> = std::env::args_os().collect();
    // Before any plugin can load: the host keeps the real stdout for itself, and a plugin that
    // ends the process cannot leave a success code with no document.
    output::stdio::take_stdout();
    output::guard_exit(front.protocol);
    let code = run(args, front);
    output::stdio::host_exits();
    code
}

static PANIC_MESSAGE: Mutex<Option<String>> = Mutex::new(None);

fn run(args: Vec<OsString>, front: Front) -> ExitCode {
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
    // The MCP server ends when its client closes stdin (and `plenum mcp` only hands over to
    // it); the other commands turn SIGINT and SIGTERM into a cancel, so the call rolls back and
    // still prints its envelope. Version and help only print, and start no thread for that.
    let prints_only = |command: &OsString| {
        ["--version", "-V", "--help", "-h", "help"]
            .iter()
            .any(|flag| command == flag)
    };
    if !front.protocol
        && args
            .get(1)
            .is_none_or(|command| command != "mcp" && !prints_only(command))
    {
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
            return ExitCode::from(u8::try_from(code).unwrap_or(1));
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
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
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
