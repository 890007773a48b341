//! `plenum-core`: the host's work as a library. The CLI and the MCP server (the `plenum`
//! crate) are front ends over it.
//!
//! See `docs/ARCHITECTURE.md` for the map of this crate.
// `unsafe` only in `output::stdio` (the private stdout and the exit guard), which says why.

pub mod capability;
pub mod check;
pub mod connection;
pub mod error;
pub mod exec;
pub mod explain;
pub mod introspect;
pub mod limits;
pub mod options;
pub mod output;
pub mod params;
pub mod pipeline;
pub mod plan;
pub mod plugins;
pub mod pool;
pub mod reach;
pub mod release;
pub mod request;
pub mod sanitize;
pub mod saved;
pub mod session;
pub mod supervisor;
pub mod words;
