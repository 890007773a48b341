//! The two front ends of Plenum over [`plenum_core`]: the command line ([`cli`]) and the
//! Model Context Protocol server ([`mcp`]). `src/main.rs` is the `plenum` binary.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod mcp;
