//! `plenum-mcp`: Plenum's Model Context Protocol server on stdio or Streamable HTTP, what
//! `plenum mcp` runs. `plenum-mcp [FLAGS]` is `plenum mcp [FLAGS]`: the same flags, help and
//! errors. A program of its own so that the command line starts without the server's code
//! (docs/PERFORMANCE.md, "The cold start, issue 19").
//!
//! See `docs/ARCHITECTURE.md` for the map of this crate.

// A warm call allocates and frees thousands of small blocks across a dozen threads (JSON, the
// parsed statement, the envelope); glibc's allocator took ~12 % of the server's CPU there.
// mimalloc: 15 % less server CPU per warm SQLite call, 5-10 % on MariaDB and PostgreSQL, with
// the same flat memory (docs/PERFORMANCE.md, "Warm calls, sixth pass"). `no_thp`: without it,
// mimalloc's eagerly committed arenas land on transparent huge pages and the resident size
// after 30,000 calls was 66-93 MiB instead of 24. The CLI (`plenum`) keeps the system's
// allocator: it is one call, and a second allocator's start-up would cost a cold start.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    plenum::process::main(plenum::process::PLENUM_MCP)
}
