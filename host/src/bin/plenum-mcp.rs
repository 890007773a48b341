//! `plenum-mcp`: Plenum's Model Context Protocol server on stdio or Streamable HTTP, what
//! `plenum mcp` runs. `plenum-mcp [FLAGS]` is `plenum mcp [FLAGS]`: the same flags, help and
//! errors. A program of its own so that the command line starts without the server's code
//! (docs/PERFORMANCE.md, "The cold start, issue 19").
//!
//! See `docs/ARCHITECTURE.md` for the map of this crate.

fn main() -> std::process::ExitCode {
    plenum::process::main(plenum::process::PLENUM_MCP)
}
