//! `plenum`: database control for AI agents. One SQL input, one JSON envelope out, read-only
//! unless a human-set ceiling and the caller's flags allow more. `plenum mcp` executes the MCP
//! server, `plenum-mcp`, which ships beside this program, so no other command carries it.
//!
//! See `docs/ARCHITECTURE.md` for the map of this crate.

fn main() -> std::process::ExitCode {
    plenum::process::main(plenum::process::PLENUM)
}
