//! DuckDB's own reading of a statement, as a second check behind the gate's: how many
//! statements a text holds (its statement extraction), and whether it is a query (its
//! parser's `json_serialize_sql`, which serializes SELECT statements only).
//!
//! duckdb-rs does not expose either without running the statements, so this calls the C API
//! on a private in-memory database that only parses: nothing read here is ever executed, and
//! nothing is bound (binding `EXPORT DATABASE` already creates its directory).
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
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
        let splitter = Splitter {
            database,
            connection,
        };
        // The parser's database reaches nothing either.
        splitter.run("SET enable_external_access = false")?;
        splitter.run("SET lock_configuration = true")?;
        Ok(splitter)
    }

    fn run(&self, sql: &str) -> PluginResult<()> {
        let text = CString::new(sql).map_err(|_| PluginError::internal("NUL in parser SQL"))?;
        // SAFETY: the connection is open, `text` outlives the call, and the result is
        // destroyed whatever the outcome, as DuckDB's API asks.
        let state = unsafe {
            let mut result: ffi::duckdb_result = std::mem::zeroed();
            let state = ffi::duckdb_query(self.connection, text.as_ptr(), &mut result);
            ffi::duckdb_destroy_result(&mut result);
            state
        };
        if state != ffi::DuckDBSuccess {
            return Err(PluginError::internal(
                "DuckDB's parser refused its settings",
            ));
        }
        Ok(())
    }

    /// DuckDB's parse of `sql` as JSON (`json_serialize_sql`); never binds or runs it.
    fn serialized(&mut self, sql: &str) -> PluginResult<String> {
        const SERIALIZE: &str = "SELECT json_serialize_sql(?::VARCHAR)\0";
        let mut prepared: ffi::duckdb_prepared_statement = ptr::null_mut();
        // SAFETY: the connection is open; the query text is NUL-terminated and static; `sql`
        // is passed with its length and copied by DuckDB; the result and the prepared
        // statement are destroyed whatever the outcome, and the value's text is copied and
        // freed with `duckdb_free`.
        let text = unsafe {
            let mut text = None;
            if ffi::duckdb_prepare(self.connection, SERIALIZE.as_ptr().cast(), &mut prepared)
                == ffi::DuckDBSuccess
                && ffi::duckdb_bind_varchar_length(
                    prepared,
                    1,
                    sql.as_ptr().cast(),
                    sql.len() as u64,
                ) == ffi::DuckDBSuccess
            {
                let mut result: ffi::duckdb_result = std::mem::zeroed();
                if ffi::duckdb_execute_prepared(prepared, &mut result) == ffi::DuckDBSuccess {
                    let value = ffi::duckdb_value_varchar(&mut result, 0, 0);
                    if !value.is_null() {
                        text = Some(CStr::from_ptr(value).to_string_lossy().into_owned());
                        ffi::duckdb_free(value.cast());
                    }
                }
                ffi::duckdb_destroy_result(&mut result);
            }
            ffi::duckdb_destroy_prepare(&mut prepared);
            text
        };
        text.ok_or_else(|| PluginError::internal("DuckDB's parser could not read the statement"))
    }

    /// Whether DuckDB's parser reads `sql` as exactly one query (SELECT, FROM, VALUES, TABLE,
    /// DESCRIBE, SHOW, SUMMARIZE) with no data-modifying part, or as a plan-only EXPLAIN of one.
    pub(crate) fn is_query(&mut self, sql: &str) -> PluginResult<bool> {
        let sql = explained(sql).unwrap_or(sql);
        let parsed: serde_json::Value = serde_json::from_str(&self.serialized(sql)?)
            .map_err(|_| PluginError::internal("DuckDB's parser answered something else"))?;
        Ok(parsed["error"] == serde_json::Value::Bool(false)
            && parsed["statements"].as_array().map(Vec::len) == Some(1))
    }
}

/// The statement an `EXPLAIN` or `EXPLAIN (options)` without ANALYZE explains; `None` for any
/// other text (including EXPLAIN ANALYZE, which runs the statement).
fn explained(sql: &str) -> Option<&str> {
    let text = sql.trim_start();
    let keyword = text.get(..7)?;
    if !keyword.eq_ignore_ascii_case("explain") {
        return None;
    }
    let mut rest = text[7..].trim_start();
    if rest.len() == text.len() - 7 && !rest.starts_with('(') {
        return None;
    }
    if let Some(options) = rest.strip_prefix('(') {
        let close = options.find(')')?;
        if options[..close].to_ascii_lowercase().contains("analy") {
            return None;
        }
        rest = options[close + 1..].trim_start();
    }
    let lower = rest.get(..7).map(str::to_ascii_lowercase);
    if matches!(lower.as_deref(), Some("analyze" | "analyse")) {
        return None;
    }
    Some(rest)
}

impl Splitter {
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

#[cfg(test)]
mod tests {
    use super::explained;

    // `is_query` itself needs libduckdb at run time: tests/engine.rs covers it through a
    // read session.
    #[test]
    fn only_plan_only_explains_are_unwrapped() {
        assert_eq!(explained("EXPLAIN SELECT 1"), Some("SELECT 1"));
        assert_eq!(explained("explain (FORMAT JSON) FROM t"), Some("FROM t"));
        for sql in [
            "EXPLAIN ANALYZE SELECT 1",
            "EXPLAIN (ANALYZE, FORMAT JSON) SELECT 1",
            "EXPLAIN (FORMAT JSON, ANALYSE) SELECT 1",
            "EXPLAINSELECT 1",
            "SELECT 1",
        ] {
            assert_eq!(explained(sql), None, "{sql}");
        }
    }
}
