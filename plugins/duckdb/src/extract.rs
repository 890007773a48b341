//! DuckDB's own statement extraction, as a second check that a text is one statement.
//!
//! duckdb-rs does not expose it without running the statements, so this calls the C API on a
//! private in-memory database that only parses: nothing extracted here is ever executed.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::ptr;

use libduckdb_sys as ffi;
use plenum_plugin_api::{PluginError, PluginResult};

/// A parse-only DuckDB connection.
pub(crate) struct Splitter {
    database: ffi::duckdb_database,
    connection: ffi::duckdb_connection,
}

// SAFETY: the handles are owned by this value alone and used from one thread at a time
// (`&mut self`); DuckDB's database and connection objects may move between threads.
unsafe impl Send for Splitter {}

impl Splitter {
    pub(crate) fn new() -> PluginResult<Self> {
        let mut database = ptr::null_mut();
        let mut connection = ptr::null_mut();
        // SAFETY: a null path opens an in-memory database; both out-pointers are valid, and
        // on failure what was opened is closed before returning.
        unsafe {
            if ffi::duckdb_open(ptr::null(), &mut database) != ffi::DuckDBSuccess {
                return Err(PluginError::internal("DuckDB could not open its parser"));
            }
            if ffi::duckdb_connect(database, &mut connection) != ffi::DuckDBSuccess {
                ffi::duckdb_close(&mut database);
                return Err(PluginError::internal("DuckDB could not open its parser"));
            }
        }
        Ok(Splitter {
            database,
            connection,
        })
    }

    /// How many statements DuckDB reads in `sql` (0 when it cannot parse it).
    pub(crate) fn count(&mut self, sql: &str) -> PluginResult<u64> {
        let text = CString::new(sql)
            .map_err(|_| PluginError::query("the statement contains a NUL character"))?;
        let mut extracted = ptr::null_mut();
        // SAFETY: the connection is open, `text` is NUL-terminated and outlives the call, and
        // the extracted statements are destroyed right after their count is read.
        let count = unsafe {
            let count =
                ffi::duckdb_extract_statements(self.connection, text.as_ptr(), &mut extracted);
            ffi::duckdb_destroy_extracted(&mut extracted);
            count
        };
        Ok(count)
    }
}

impl Drop for Splitter {
    fn drop(&mut self) {
        // SAFETY: both handles were opened in `new` and are closed once, here.
        unsafe {
            ffi::duckdb_disconnect(&mut self.connection);
            ffi::duckdb_close(&mut self.database);
        }
    }
}
