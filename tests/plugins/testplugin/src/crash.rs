//! The engine `test-crash`: a plugin whose native code ends the process the ways no Rust
//! error handling sees. The statement names the crash in a string (`SELECT 'abort'`):
//!
//! * `abort`: calls `abort()`;
//! * `fault`: writes through a pointer to memory that is not mapped;
//! * `overflow`: recurses until its thread's stack runs out;
//! * `thread-exit`: ends the thread that called it (`pthread_exit`), not the process;
//! * with `'stream'` too (`SELECT 'stream', 'abort'`): returns rows of 1 KiB text, enough to
//!   stream, and crashes in a fetch once 4 MiB of them went out.
//!
//! The session is the test plugin's ordinary one; only its `execute` is this module's.
#![allow(unsafe_code)]

use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{Column, Cursor, PluginError, PluginResult, Value};

/// The engine this module serves.
pub const ENGINE: &str = "test-crash";

/// The crashes a statement may name.
const CRASHES: [&str; 4] = ["abort", "fault", "overflow", "thread-exit"];

fn crash(sql: &str) -> PluginError {
    let how = CRASHES
        .into_iter()
        .find(|how| sql.contains(&format!("'{how}'")))
        .unwrap_or_default();
    match how {
        "abort" => std::process::abort(),
        "fault" => {
            // The lowest page is never mapped on Linux (`vm.mmap_min_addr`).
            let address = std::hint::black_box(16usize) as *mut u8;
            // SAFETY: not safe on purpose: the write faults, which the host must answer.
            unsafe { address.write_volatile(1) };
        }
        "overflow" => {
            overflow(std::hint::black_box(0));
        }
        "thread-exit" => {
            // SAFETY: not safe on purpose: the host's thread ends under it. `pthread_exit`
            // takes any value to report.
            unsafe { libc::pthread_exit(std::ptr::null_mut()) }
        }
        _ => {}
    }
    PluginError::query(format!("no crash is named in {sql:?}"))
}

/// Recurses with a frame no optimiser can drop, until the stack is gone.
fn overflow(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 512]);
    if frame[0] == u64::MAX {
        return 0;
    }
    overflow(depth + 1).wrapping_add(frame[(depth % 512) as usize])
}

/// What `execute` does for this engine: the crash the statement names, at once or in a
/// later fetch.
pub fn execute<'a>(sql: &str) -> PluginResult<Box<dyn Cursor + 'a>> {
    if sql.contains("'stream'") {
        return Ok(Box::new(Stream {
            sql: sql.to_owned(),
            bytes: 0,
        }));
    }
    Err(crash(sql))
}

/// Rows until 4 MiB went out, then the crash.
struct Stream {
    sql: String,
    bytes: usize,
}

impl Cursor for Stream {
    fn columns(&self) -> Vec<Column> {
        vec![Column::new("text", "TEXT")]
    }

    fn fetch(&mut self, max_rows: usize, out: &mut RVec<Value>) -> PluginResult<usize> {
        if self.bytes >= 4 << 20 {
            return Err(crash(&self.sql));
        }
        for _ in 0..max_rows {
            out.push(Value::Text("x".repeat(1024).into()));
        }
        self.bytes += max_rows * 1024;
        Ok(max_rows)
    }

    fn rows_affected(&self) -> Option<u64> {
        None
    }
}
