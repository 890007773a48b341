//! What Plenum prints: the envelope, the JSON rendering of rows, and the JSON Schemas.

pub mod crash;
pub mod data;
pub mod envelope;
pub mod pretty;
pub mod print;
pub mod rows;
pub mod schema;
pub mod stdio;
pub mod stream;

pub use envelope::{Envelope, ErrorBody, Meta, Response, Truncation};
pub use print::print_once;
pub use rows::{RowWriter, RowsOut};

/// Registers the exit handler that answers for a plugin ending the process (see [`stdio`]).
/// `protocol`: stdout carries `plenum mcp`'s JSON-RPC, not one document.
/// A crash (an abort or a fault) is answered too (see [`crash`]).
pub fn guard_exit(protocol: bool) {
    stdio::guard_exit(protocol, envelope::answer_for_plugin_exit);
    crash::guard();
}
