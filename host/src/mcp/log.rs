//! The server's log: one line per event on stderr (stdout carries the protocol).
//!
//! Callers pass text that is already free of secrets: messages from plugins or drivers go
//! through the request's `Sanitizer` first, and tool arguments are never logged.

use std::io::Write;

/// Writes `plenum mcp: <message>` as one line on stderr.
pub fn log(message: &str) {
    let stderr = std::io::stderr();
    let mut lock = stderr.lock();
    // A closed stderr must not take the server down with it.
    let _ = writeln!(lock, "plenum mcp: {}", message.replace('\n', " "));
}
