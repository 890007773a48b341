//! What Plenum prints: the envelope, the JSON rendering of rows, and the JSON Schemas.

pub mod data;
pub mod envelope;
pub mod pretty;
pub mod rows;
pub mod schema;
pub mod stdio;
pub mod stream;

pub use envelope::{print_once, Envelope, ErrorBody, Meta, Response, Truncation};
pub use rows::{RowWriter, RowsOut};
