//! The two front ends of Plenum over [`plenum_core`]: the command line ([`cli`]) and the
//! Model Context Protocol server ([`mcp`]), and what both programs do with their process
//! ([`process`]). `src/main.rs` is the `plenum` binary, `src/bin/plenum-mcp.rs` the
//! `plenum-mcp` binary that `plenum mcp` executes.

pub mod cli;
pub mod mcp;
pub mod process;
