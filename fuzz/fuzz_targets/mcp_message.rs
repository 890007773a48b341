//! The MCP server's JSON-RPC envelope check: every request answered once with the right code
//! and id, no notification ever answered.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    plenum_fuzz::mcp_message(data);
});
