//! The one document this process prints on stdout.

use std::sync::atomic::{AtomicBool, Ordering};

static PRINTED: AtomicBool = AtomicBool::new(false);

/// Claims stdout for the one document of this process; false if it was claimed before.
pub fn claim_stdout() -> bool {
    !PRINTED.swap(true, Ordering::SeqCst)
}

/// Prints `json` and a newline on stdout unless something was printed already, so a
/// watchdog and the main thread can never produce two documents. Returns whether it printed.
pub fn print_once(json: &str) -> bool {
    if !claim_stdout() {
        return false;
    }
    // The envelope starts with `ok`, which decides the exit code.
    let ok = json.starts_with(r#"{"ok":true"#);
    let json = super::pretty::document(json);
    let mut line = Vec::with_capacity(json.len() + 1);
    line.extend_from_slice(json.as_bytes());
    line.push(b'\n');
    // A closed stdout (e.g. `| head`) is not worth a second error.
    let _ = super::stdio::write_all(&line);
    super::stdio::document_printed(ok);
    true
}
