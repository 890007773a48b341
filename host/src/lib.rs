//! The two front ends of Plenum over [`plenum_core`]: the command line ([`cli`]) and the
//! Model Context Protocol server ([`mcp`]). `src/main.rs` is the `plenum` binary.

pub mod cli;
pub mod mcp;
