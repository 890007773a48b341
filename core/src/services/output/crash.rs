//! A crash still answers: when the process dies of an abort or a fault, a signal handler ends
//! the one document before the process does.
//!
//! A plugin is native code in the host's process. When it calls `abort()`, dereferences a bad
//! pointer, overflows its stack, or ends the thread that called it (`pthread_exit`, whose
//! unwinding Rust's `catch_unwind` stops and the C library then aborts), the process would die
//! of the signal with nothing, or half a stream, on stdout. [`guard`] installs a handler for
//! those signals that finishes what is on stdout with a `PLUGIN_ERROR` (a whole document, or
//! the end of a started stream; an `INTERNAL_ERROR` when no plugin's code had run yet, which
//! makes the crash Plenum's own) and then lets the signal end the process as it would have
//! (a core dump for whoever debugs the plugin; a wait status that names the signal), or exits
//! with the code of a document already printed. It only reads atomics and writes fixed bytes:
//! no lock, no allocation, as a signal handler must. What memory corruption does before any signal (or
//! instead of one) stays out of reach.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};

use super::envelope::{CRASH_DOCUMENT, CRASH_STREAM_TAIL, HOST_CRASH_DOCUMENT};
use super::print::claim_stdout;
use super::stdio::{self, Unanswered};

/// The signals a crash raises. `SIGABRT` also covers a panic while panicking, an allocation
/// that failed, and glibc's own checks of a corrupted heap.
#[cfg(unix)]
const CRASH_SIGNALS: [libc::c_int; 5] = [
    libc::SIGABRT,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
];

/// What `plenum mcp` logs for a crash before the signal ends it (its stdout is the protocol).
const PROTOCOL_LOG: &[u8] = b"plenum mcp: the process crashed (an abort or a memory fault, \
    most likely in a plugin's native code); exiting\n";

/// The same, when no plugin's code had run yet.
const PROTOCOL_HOST_LOG: &[u8] = b"plenum mcp: the process crashed (an abort or a memory \
    fault) with no plugin loaded, a bug in plenum; exiting\n";

/// Set before the first library's code runs: a crash until then is the host's own.
static PLUGIN_CODE_RAN: AtomicBool = AtomicBool::new(false);

/// Records that a plugin library is about to be opened (its initialisers run at once): from
/// now on a crash is answered as the plugin's.
pub fn plugin_code_runs() {
    PLUGIN_CODE_RAN.store(true, Ordering::SeqCst);
}

/// Installs the crash handler. Call it once, before any plugin is loaded, after
/// [`stdio::guard_exit`] set what stdout carries.
#[cfg(unix)]
pub fn guard() {
    for signal in CRASH_SIGNALS {
        // SAFETY: `sigaction` is given a zeroed, then filled, struct it only reads; `on_crash`
        // is an `extern "C" fn(c_int)`, the handler type without `SA_SIGINFO`. `SA_ONSTACK`
        // runs it on the alternate stack Rust gives the main thread and the threads it starts,
        // so a stack overflow can be answered; `SA_RESETHAND` makes a fault inside the handler
        // end the process the default way instead of looping.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_crash as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_ONSTACK | libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Elsewhere, a crash ends the process the system's way.
#[cfg(not(unix))]
pub fn guard() {}

/// How the process ends after the handler answered.
#[cfg(unix)]
enum Ending {
    /// With this exit code: the document out before the crash decides it.
    Exit(libc::c_int),
    /// By the signal itself, its default action (a core dump where the system keeps them),
    /// so whoever debugs the plugin, and the parent's wait status, see the crash as it was.
    Signal,
}

#[cfg(unix)]
extern "C" fn on_crash(signal: libc::c_int) {
    let code = match answer() {
        Ending::Exit(code) => stdio::exit_code(code),
        Ending::Signal => {
            // SAFETY: `sigemptyset`, `sigaddset` and `pthread_sigmask` only touch the local
            // set and this thread's mask; `raise` is async-signal-safe. `SA_RESETHAND` made
            // the action the default one on entry, so the signal, unblocked and raised, ends
            // the process here.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, signal);
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                libc::raise(signal);
            }
            // Only if something made the signal harmless again since.
            1
        }
    };
    // SAFETY: `_exit` is async-signal-safe and ends the process at once; nothing else may run
    // in a process that just crashed.
    unsafe { libc::_exit(code) }
}

/// Finishes stdout for a crash; how the process then ends.
#[cfg(unix)]
fn answer() -> Ending {
    let plugin = PLUGIN_CODE_RAN.load(Ordering::SeqCst);
    if stdio::protocol() {
        write_fd(
            libc::STDERR_FILENO,
            if plugin {
                PROTOCOL_LOG
            } else {
                PROTOCOL_HOST_LOG
            },
        );
        return Ending::Signal;
    }
    let out = stdio::host_stdout_fd();
    match stdio::unanswered() {
        Unanswered::Nothing => {}
        Unanswered::Printed(code) => return Ending::Exit(libc::c_int::from(code)),
        Unanswered::Stream(rows_open) => {
            if rows_open {
                write_fd(out, b"]");
            }
            write_fd(out, CRASH_STREAM_TAIL.as_bytes());
            write_fd(out, b"\n");
        }
        // A document another thread claimed is being printed; a second must not follow it.
        Unanswered::Document => {
            if claim_stdout() {
                let document = if plugin {
                    CRASH_DOCUMENT
                } else {
                    HOST_CRASH_DOCUMENT
                };
                write_fd(out, document.as_bytes());
                write_fd(out, b"\n");
            }
        }
    }
    Ending::Signal
}

/// Writes all of `bytes` to `fd` with `write(2)`, the async-signal-safe way; errors end it.
#[cfg(unix)]
fn write_fd(fd: libc::c_int, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe `bytes`, which outlives the call.
        let written = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        match usize::try_from(written) {
            Ok(n) if n > 0 => bytes = bytes.get(n..).unwrap_or_default(),
            _ if written < 0
                && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
            _ => return,
        }
    }
}
