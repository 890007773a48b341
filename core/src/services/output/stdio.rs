//! The host owns stdout, and notices when a plugin ends the process.
//!
//! Before any plugin is loaded, [`take_stdout`] keeps a private duplicate of the real stdout for
//! the host's own output (the envelope, or `plenum mcp`'s JSON-RPC) and points file descriptor
//! 1 at `/dev/null`: whatever a plugin or a C library prints (a `println!`, a debug line from a
//! background thread) can neither add a second document nor forge a protocol message, and it
//! cannot leak a secret onto stderr either.
//!
//! A plugin that calls `exit()` runs the process's exit handlers: [`guard_exit`] registers one
//! that answers for the host when the host had not decided to exit itself — with a
//! `PLUGIN_ERROR` document if none was printed yet, and with the printed document's exit code
//! otherwise — then ends the process with `_exit`. An `abort`, a `SIGSEGV` or a plugin's own
//! `_exit` run no handler and stay out of reach (see SECURITY.md).
//!
//! This is the host's one module with `unsafe` code: registering the exit handler and `_exit`
//! are C functions without safe wrappers in the crates the host uses, and so is glibc's
//! `malloc_trim`, which [`return_free_memory`] calls for `plenum mcp`'s closing threads.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::OnceLock;

/// The real stdout, kept before fd 1 was pointed elsewhere.
static HOST_STDOUT: OnceLock<File> = OnceLock::new();

/// Set when the host itself decided to exit (`main` returned, or a deliberate exit).
static HOST_EXITING: AtomicBool = AtomicBool::new(false);

/// Prints the document that answers for a plugin's exit; set by [`guard_exit`].
static ANSWER: std::sync::OnceLock<fn(&str)> = std::sync::OnceLock::new();

/// What the exit handler must do for a process that did not end by the host's decision.
static MODE: AtomicU8 = AtomicU8::new(MODE_NONE);
const MODE_NONE: u8 = 0;
/// One document on stdout: print a `PLUGIN_ERROR` one if none was printed.
const MODE_DOCUMENT: u8 = 1;
/// A protocol on stdout (`plenum mcp`): only log and exit non-zero.
const MODE_PROTOCOL: u8 = 2;

/// The exit code the printed document calls for.
static DOCUMENT_CODE: AtomicU8 = AtomicU8::new(CODE_NONE);
const CODE_NONE: u8 = u8::MAX;

/// Keeps a private handle to the real stdout and points fd 1 at `/dev/null`. Call it before
/// any plugin can be loaded. Returns whether the host now holds stdout privately.
#[cfg(unix)]
pub fn take_stdout() -> bool {
    // At or above 3, so the copy never lands on stdin, stdout or stderr; close-on-exec, so no
    // child process inherits it.
    let private = rustix::io::fcntl_dupfd_cloexec(std::io::stdout(), 3).ok();
    let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
        return false;
    };
    // With fd 1 closed at start, `/dev/null` took fd 1 itself; dup2 onto itself is harmless.
    if rustix::stdio::dup2_stdout(&null).is_err() {
        return false;
    }
    match private {
        Some(private) => HOST_STDOUT.set(File::from(private)).is_ok(),
        None => false,
    }
}

/// Without file descriptors to juggle, the host writes to the ordinary stdout.
#[cfg(not(unix))]
pub fn take_stdout() -> bool {
    false
}

/// Points fd 1 at the real stdout again, for the program this process is about to become
/// (`plenum mcp` executes `plenum-mcp`). Returns whether fd 1 is the real stdout now. No
/// plugin may be loaded after this.
#[cfg(unix)]
pub fn give_back_stdout() -> bool {
    match HOST_STDOUT.get() {
        Some(file) => rustix::stdio::dup2_stdout(file).is_ok(),
        None => true,
    }
}

/// Without file descriptors to juggle, fd 1 was never taken.
#[cfg(not(unix))]
pub fn give_back_stdout() -> bool {
    true
}

/// Set when the host's output could not be written, other than to a reader that left: the
/// caller did not get the answer, whatever it said.
static OUTPUT_LOST: AtomicBool = AtomicBool::new(false);

/// Writes `bytes` to the host's stdout (the private handle when it was taken). A failure other
/// than a closed pipe (a full disk, a broken device) makes the exit code 1 ([`exit_code`]).
pub fn write_all(bytes: &[u8]) -> std::io::Result<()> {
    let written = match HOST_STDOUT.get() {
        Some(file) => (&*file).write_all(bytes),
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            lock.write_all(bytes).and_then(|()| lock.flush())
        }
    };
    if let Err(error) = &written {
        // A reader that stopped reading (`| head`) chose to; the answer was not lost to it.
        if error.kind() != std::io::ErrorKind::BrokenPipe
            && !OUTPUT_LOST.swap(true, Ordering::SeqCst)
        {
            let _ = writeln!(
                std::io::stderr(),
                "plenum: the answer could not be written to stdout ({error}); exit code 1"
            );
        }
    }
    written
}

/// The exit code for a process that means to exit with `code`: 1 when its answer could not
/// be written (see [`write_all`]).
pub fn exit_code(code: i32) -> i32 {
    if OUTPUT_LOST.load(Ordering::SeqCst) && code == 0 {
        1
    } else {
        code
    }
}

/// Whether the host's stdout (the real one, not fd 1) is a terminal: a person reads it.
pub fn is_terminal() -> bool {
    use std::io::IsTerminal;
    match HOST_STDOUT.get() {
        Some(file) => file.is_terminal(),
        None => std::io::stdout().is_terminal(),
    }
}

/// A second handle to the host's stdout, for `plenum mcp`'s writer; `None` when the host
/// writes to the ordinary stdout.
pub fn host_stdout() -> Option<File> {
    HOST_STDOUT.get()?.try_clone().ok()
}

/// How far the document on stdout got, for a handler that may take no lock: nothing yet, or
/// a stream with its rows array open or closed (the document's end sets [`DOCUMENT_CODE`]).
static STREAM: AtomicU8 = AtomicU8::new(STREAM_NONE);
/// No stream was started.
pub(super) const STREAM_NONE: u8 = 0;
/// A stream's rows array is open: its end starts with `]`.
pub(super) const STREAM_ROWS_OPEN: u8 = 1;
/// A stream's rows array is closed: its tail follows.
pub(super) const STREAM_ROWS_CLOSED: u8 = 2;

/// Records how far a streamed document got (see [`STREAM`]).
pub(super) fn stream_reached(phase: u8) {
    STREAM.store(phase, Ordering::SeqCst);
}

/// What a process that ends now, not by the host's decision, must still do on stdout; read
/// without locks or allocation, so a signal handler may ask.
pub(super) enum Unanswered {
    /// Nothing: the host is exiting, `plenum mcp` owns stdout, or no guard was set.
    Nothing,
    /// The document is out; exit with its code.
    Printed(u8),
    /// A stream is under way, with its rows array open (`true`) or closed.
    Stream(bool),
    /// No document was begun, or another thread is printing one.
    Document,
}

/// What stdout still needs (see [`Unanswered`]).
pub(super) fn unanswered() -> Unanswered {
    if MODE.load(Ordering::SeqCst) != MODE_DOCUMENT {
        return Unanswered::Nothing;
    }
    match DOCUMENT_CODE.load(Ordering::SeqCst) {
        CODE_NONE => {}
        code => return Unanswered::Printed(code),
    }
    if HOST_EXITING.load(Ordering::SeqCst) {
        return Unanswered::Nothing;
    }
    match STREAM.load(Ordering::SeqCst) {
        STREAM_ROWS_OPEN => Unanswered::Stream(true),
        STREAM_ROWS_CLOSED => Unanswered::Stream(false),
        _ => Unanswered::Document,
    }
}

/// Whether stdout carries `plenum mcp`'s protocol.
pub(super) fn protocol() -> bool {
    MODE.load(Ordering::SeqCst) == MODE_PROTOCOL
}

/// The file descriptor of the host's stdout: the private copy when it was taken.
#[cfg(unix)]
pub(super) fn host_stdout_fd() -> std::os::fd::RawFd {
    use std::os::fd::AsRawFd;
    HOST_STDOUT.get().map_or(1, AsRawFd::as_raw_fd)
}

/// Remembers the exit code the document just printed calls for (0 iff `ok`).
pub fn document_printed(ok: bool) {
    DOCUMENT_CODE.store(u8::from(!ok), Ordering::SeqCst);
}

/// Marks the coming exit as the host's own; the exit handler then does nothing.
pub fn host_exits() {
    HOST_EXITING.store(true, Ordering::SeqCst);
}

/// Ends the process by the host's decision, with `code`.
pub fn exit(code: i32) -> ! {
    host_exits();
    std::process::exit(exit_code(code))
}

/// Ends the process at once with `code`, running no exit handler: for a thread that answered
/// for a command while another thread may be stuck inside the dynamic linker (a library's
/// constructor that hangs holds its lock, which `exit` takes to run the libraries' destructors).
/// Only the host's own output must be out by then, and it is unbuffered.
#[cfg(unix)]
pub fn exit_now(code: i32) -> ! {
    host_exits();
    // SAFETY: `_exit` takes no pointer and ends the process; nothing of Rust's runs after it,
    // so no destructor or lock is left half done that anything could observe.
    unsafe { libc::_exit(exit_code(code)) }
}

/// Without `_exit`, the ordinary exit.
#[cfg(not(unix))]
pub fn exit_now(code: i32) -> ! {
    exit(code)
}

/// Registers the exit handler. `protocol`: stdout carries `plenum mcp`'s JSON-RPC, not one
/// document.
/// `answer` prints the failure document for a plugin's exit (the envelope is above this
/// module, which only owns the file descriptors).
#[cfg(unix)]
pub fn guard_exit(protocol: bool, answer: fn(&str)) {
    let _ = ANSWER.set(answer);
    MODE.store(
        if protocol {
            MODE_PROTOCOL
        } else {
            MODE_DOCUMENT
        },
        Ordering::SeqCst,
    );
    // SAFETY: `on_exit` is an `extern "C" fn()` with no arguments, as `atexit` requires; it
    // never unwinds (its body runs under `catch_unwind`) and only touches statics.
    let _ = unsafe { libc::atexit(on_exit) };
}

/// Without `atexit`, a plugin's `exit` cannot be noticed.
#[cfg(not(unix))]
pub fn guard_exit(_protocol: bool, _answer: fn(&str)) {}

#[cfg(unix)]
extern "C" fn on_exit() {
    if HOST_EXITING.load(Ordering::SeqCst) {
        return;
    }
    let code = std::panic::catch_unwind(answer_for_the_plugin).unwrap_or(1);
    // SAFETY: `_exit` ends the process at once; calling `exit` again from an exit handler
    // would be undefined behaviour, and nothing may run after this handler anyway.
    unsafe { libc::_exit(exit_code(code)) }
}

/// A plugin ended the process: the exit code the caller must see, after printing the
/// document if none is out yet.
#[cfg(unix)]
fn answer_for_the_plugin() -> i32 {
    let message = "the plugin ended the process (it called exit) before plenum answered";
    if MODE.load(Ordering::SeqCst) == MODE_PROTOCOL {
        let _ = writeln!(std::io::stderr(), "plenum mcp: {message}; exiting");
        return 1;
    }
    if let Some(answer) = ANSWER.get() {
        answer(message);
    }
    match DOCUMENT_CODE.load(Ordering::SeqCst) {
        0 => 0,
        _ => 1,
    }
}

/// Hands the memory glibc's allocator holds free back to the system (`malloc_trim(0)`).
///
/// `plenum mcp` with a session per call opens and closes thousands of sessions a minute on
/// many threads, so glibc spreads them over its per-thread arenas; what they free stays in
/// the arenas in pieces glibc only gives back from the top of each heap. Measured: a server
/// at 45.4 MiB after 30,000 SQLite calls went to 28.3 MiB on one `malloc_trim(0)`, with
/// nothing in use freed (docs/PERFORMANCE.md, "Memory over 100,000 calls"). Elsewhere than
/// glibc this does nothing.
pub fn return_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointer and touches only the allocator's own free
    // memory, under each arena's lock, so it is sound from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
