//! `plenum-core`: the host's work as a library. The `plenum` crate's two front ends, the
//! command line and the MCP server, turn their input into a request and render the response;
//! everything between is here, in three layers, each depending only on those below it:
//!
//! - [`commands`]: what a caller can ask: [`commands::query`] (run, check or explain SQL),
//!   [`commands::introspect`], [`commands::connect`] (saved connections) and
//!   [`commands::plugins`]. Each takes a request value and returns a [`Response`].
//! - [`pipeline`]: the path one call takes: the [`pipeline::request`] and its
//!   [`pipeline::plan`], the session ([`pipeline::session`]), the reach check
//!   ([`pipeline::reach`]) and execution within limits ([`pipeline::exec`]).
//! - [`services`]: what the pipeline stands on: connection resolution and the saved-connection
//!   store, ceilings, plugin loading and trust, the warm-session pool, output envelopes and
//!   schemas, sanitization, and the two declarations the front ends derive from: the options
//!   ([`services::options`]) and the words messages use for them ([`services::words`]).
//!
//! The face the front ends use is small: build [`options::Values`] from their input, run a
//! command, and render its [`Response`] with their own [`words::Vocabulary`]. No module here
//! knows clap, rmcp or tokio; `core/tests/layers.rs` keeps the layers and the absence of
//! import cycles checked.
//!
//! See `docs/ARCHITECTURE.md` for the map of this crate.
// `unsafe` only in `services::output::stdio` (the private stdout and the exit guard), which
// says why.

pub mod commands;
pub mod pipeline;
pub mod services;

pub use pipeline::request;
pub use services::output::Response;
pub use services::{options, words};
