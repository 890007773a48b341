//! A read statement whose rows are pulled from DuckDB one chunk (2,048 rows) at a time, so
//! memory stays flat however large the result, and a host that stops early (`--max-rows`)
//! stops DuckDB too.
//!
//! duckdb-rs's `Statement::execute` materializes the whole result as Arrow, and its streaming
//! call needs the result's Arrow schema before it runs; the C API gives both: the prepared
//! statement's schema, then `duckdb_execute_prepared_streaming` and `duckdb_fetch_chunk`.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::ptr;

use duckdb::arrow::array::{Array, ArrayRef, StructArray};
use duckdb::arrow::ffi::{from_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use libduckdb_sys as ffi;
use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{Column, Cursor, PluginError, PluginResult, Value};

use crate::cells::{cell, Hint};

/// A prepared, executed statement and the chunk being read.
pub(crate) struct StreamCursor {
    prepared: ffi::duckdb_prepared_statement,
    result: ffi::duckdb_result,
    options: ffi::duckdb_arrow_options,
    schema: FFI_ArrowSchema,
    columns: Vec<Column>,
    hints: Vec<Hint>,
    chunk: Option<Vec<ArrayRef>>,
    chunk_rows: usize,
    next_row: usize,
    done: bool,
}

/// The text of a C string DuckDB owns (empty for null).
///
/// SAFETY (for callers): `text` is null or a NUL-terminated string that lives for the call.
unsafe fn owned_text(text: *const std::os::raw::c_char) -> String {
    if text.is_null() {
        String::new()
    } else {
        // SAFETY: as the caller promised.
        unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned()
    }
}

impl StreamCursor {
    /// Prepares `sql` on `connection`, binds `params` and starts a streaming execution.
    pub(crate) fn start(
        connection: ffi::duckdb_connection,
        sql: &str,
        params: &[Value],
    ) -> PluginResult<Self> {
        if connection.is_null() {
            return Err(PluginError::connection("the DuckDB connection is closed"));
        }
        let text = CString::new(sql)
            .map_err(|_| PluginError::query("the statement contains a NUL character"))?;
        let mut cursor = StreamCursor {
            prepared: ptr::null_mut(),
            // SAFETY: `duckdb_result` is a plain C struct for which all-zero is the documented
            // "no result" state (`duckdb_destroy_result` accepts it).
            result: unsafe { std::mem::zeroed() },
            options: ptr::null_mut(),
            schema: FFI_ArrowSchema::empty(),
            columns: Vec::new(),
            hints: Vec::new(),
            chunk: None,
            chunk_rows: 0,
            next_row: 0,
            done: false,
        };
        // SAFETY: the connection is open; `text` outlives the call; the prepared statement is
        // destroyed by the cursor's drop even when preparing failed (DuckDB's API asks this).
        let prepared =
            unsafe { ffi::duckdb_prepare(connection, text.as_ptr(), &mut cursor.prepared) };
        if prepared != ffi::DuckDBSuccess {
            // SAFETY: the error text belongs to the prepared statement, alive here.
            let message = unsafe { owned_text(ffi::duckdb_prepare_error(cursor.prepared)) };
            return Err(PluginError::query(message));
        }
        for (index, value) in params.iter().enumerate() {
            cursor.bind(index as u64 + 1, value)?;
        }
        // SAFETY: the statement is prepared and bound; the result is destroyed by drop.
        let state =
            unsafe { ffi::duckdb_execute_prepared_streaming(cursor.prepared, &mut cursor.result) };
        if state != ffi::DuckDBSuccess {
            // SAFETY: the result holds the error text until it is destroyed.
            let message = unsafe { owned_text(ffi::duckdb_result_error(&mut cursor.result)) };
            return Err(PluginError::query(message));
        }
        cursor.describe()?;
        Ok(cursor)
    }

    fn bind(&mut self, index: u64, value: &Value) -> PluginResult<()> {
        let p = self.prepared;
        // SAFETY: the statement is prepared; each pointer passed is valid for its length for
        // the call, and DuckDB copies the value.
        let state = unsafe {
            match value {
                Value::Null => ffi::duckdb_bind_null(p, index),
                Value::Bool(b) => ffi::duckdb_bind_boolean(p, index, *b),
                Value::Int(i) => ffi::duckdb_bind_int64(p, index, *i),
                Value::UInt(u) => ffi::duckdb_bind_uint64(p, index, *u),
                Value::Float(f) => ffi::duckdb_bind_double(p, index, *f),
                Value::Decimal(text) | Value::Text(text) | Value::Json(text) => {
                    ffi::duckdb_bind_varchar_length(
                        p,
                        index,
                        text.as_ptr().cast(),
                        text.len() as u64,
                    )
                }
                Value::Bytes(bytes) => {
                    ffi::duckdb_bind_blob(p, index, bytes.as_ptr().cast(), bytes.len() as u64)
                }
            }
        };
        if state != ffi::DuckDBSuccess {
            // SAFETY: the error text belongs to the prepared statement, alive here.
            let message = unsafe { owned_text(ffi::duckdb_prepare_error(p)) };
            return Err(PluginError::query(if message.is_empty() {
                format!("DuckDB could not bind parameter {index}")
            } else {
                message
            }));
        }
        Ok(())
    }

    /// The result's columns (names, DuckDB's type names) and its Arrow schema, made by DuckDB
    /// from the result's own types and Arrow options, as its chunks will be.
    fn describe(&mut self) -> PluginResult<()> {
        // SAFETY: the result was executed successfully. Names are owned by the result (alive);
        // each logical type is destroyed after the schema is made, each alias (ours) freed
        // with `duckdb_free`, and the error data destroyed. The schema is written into this
        // cursor's empty FFI struct, which releases it on drop.
        unsafe {
            self.options = ffi::duckdb_result_get_arrow_options(&mut self.result);
            let count = ffi::duckdb_column_count(&mut self.result);
            let mut names = Vec::new();
            let mut types = Vec::new();
            for index in 0..count {
                let name = ffi::duckdb_column_name(&mut self.result, index);
                let logical = ffi::duckdb_column_logical_type(&mut self.result, index);
                let alias = ffi::duckdb_logical_type_get_alias(logical);
                let alias_text = owned_text(alias);
                if !alias.is_null() {
                    ffi::duckdb_free(alias.cast());
                }
                let id = ffi::duckdb_get_type_id(logical);
                self.hints.push(if alias_text.eq_ignore_ascii_case("json") {
                    Hint::Json
                } else {
                    Hint::Plain
                });
                let type_name = if alias_text.is_empty() {
                    type_name(id).to_owned()
                } else {
                    alias_text.to_uppercase()
                };
                self.columns
                    .push(Column::new(owned_text(name).as_str(), type_name));
                names.push(name);
                types.push(logical);
            }
            let mut error = ffi::duckdb_to_arrow_schema(
                self.options,
                types.as_mut_ptr(),
                names.as_mut_ptr(),
                count,
                ptr::addr_of_mut!(self.schema).cast(),
            );
            for logical in &mut types {
                ffi::duckdb_destroy_logical_type(logical);
            }
            let failed = ffi::duckdb_error_data_has_error(error);
            let message = owned_text(ffi::duckdb_error_data_message(error));
            ffi::duckdb_destroy_error_data(&mut error);
            if failed {
                return Err(PluginError::query(format!(
                    "DuckDB could not describe the result: {message}"
                )));
            }
        }
        Ok(())
    }

    /// Reads the next chunk; `false` at the end.
    fn next_chunk(&mut self) -> PluginResult<bool> {
        // SAFETY: the result is a streaming result of this cursor; the chunk is destroyed
        // right after DuckDB exported it to Arrow (the export owns its own buffers, released
        // by the Arrow array's drop).
        let array = unsafe {
            let mut chunk = ffi::duckdb_fetch_chunk(self.result);
            if chunk.is_null() {
                let error = owned_text(ffi::duckdb_result_error(&mut self.result));
                if error.is_empty() {
                    return Ok(false);
                }
                return Err(PluginError::query(error));
            }
            let rows = ffi::duckdb_data_chunk_get_size(chunk);
            let mut array = FFI_ArrowArray::empty();
            let mut error = ffi::duckdb_data_chunk_to_arrow(
                self.options,
                chunk,
                ptr::addr_of_mut!(array).cast(),
            );
            ffi::duckdb_destroy_data_chunk(&mut chunk);
            let failed = ffi::duckdb_error_data_has_error(error);
            let message = owned_text(ffi::duckdb_error_data_message(error));
            ffi::duckdb_destroy_error_data(&mut error);
            if failed {
                return Err(PluginError::query(message));
            }
            if rows == 0 {
                return Ok(true);
            }
            from_ffi(array, &self.schema)
                .map_err(|error| PluginError::internal(format!("DuckDB's chunk: {error}")))?
        };
        let batch = StructArray::from(array);
        self.chunk_rows = batch.len();
        self.next_row = 0;
        self.chunk = Some(batch.columns().to_vec());
        Ok(true)
    }
}

/// DuckDB's name of a type id.
fn type_name(id: ffi::duckdb_type) -> &'static str {
    match id {
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN => "BOOLEAN",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TINYINT => "TINYINT",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_SMALLINT => "SMALLINT",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER => "INTEGER",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT => "BIGINT",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_UTINYINT => "UTINYINT",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_USMALLINT => "USMALLINT",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_UINTEGER => "UINTEGER",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_UBIGINT => "UBIGINT",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_HUGEINT => "HUGEINT",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_UHUGEINT => "UHUGEINT",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_FLOAT => "FLOAT",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE => "DOUBLE",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_DECIMAL => "DECIMAL",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR => "VARCHAR",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_BLOB => "BLOB",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_DATE => "DATE",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME => "TIME",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME_TZ => "TIME WITH TIME ZONE",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP => "TIMESTAMP",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_S => "TIMESTAMP_S",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_MS => "TIMESTAMP_MS",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_NS => "TIMESTAMP_NS",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ => "TIMESTAMP WITH TIME ZONE",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL => "INTERVAL",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_UUID => "UUID",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_ENUM => "ENUM",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_LIST => "LIST",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_ARRAY => "ARRAY",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_STRUCT => "STRUCT",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_MAP => "MAP",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_UNION => "UNION",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIT => "BIT",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_SQLNULL => "NULL",
        _ => "UNKNOWN",
    }
}

impl Cursor for StreamCursor {
    fn columns(&self) -> Vec<Column> {
        self.columns.clone()
    }

    fn fetch(&mut self, max_rows: usize, out: &mut RVec<Value>) -> PluginResult<usize> {
        let mut fetched = 0;
        while fetched < max_rows && !self.done {
            if self.chunk.is_none() || self.next_row >= self.chunk_rows {
                self.chunk = None;
                if !self.next_chunk()? {
                    self.done = true;
                    break;
                }
                continue;
            }
            let Some(columns) = &self.chunk else {
                continue;
            };
            let take = (self.chunk_rows - self.next_row).min(max_rows - fetched);
            for row in self.next_row..self.next_row + take {
                for (column, hint) in columns.iter().zip(&self.hints) {
                    out.push(cell(column, row, *hint)?);
                }
            }
            self.next_row += take;
            fetched += take;
        }
        Ok(fetched)
    }

    fn rows_affected(&self) -> Option<u64> {
        None
    }
}

impl Drop for StreamCursor {
    fn drop(&mut self) {
        // SAFETY: both were made in `start` (or are in their empty states, which DuckDB's
        // destroy functions accept) and are destroyed once, here; the result first.
        unsafe {
            if !self.options.is_null() {
                ffi::duckdb_destroy_arrow_options(&mut self.options);
            }
            ffi::duckdb_destroy_result(&mut self.result);
            ffi::duckdb_destroy_prepare(&mut self.prepared);
        }
    }
}
