//! Conversions between SQLite values and plugin-API values, and error mapping.

use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{PluginError, PluginResult, Value};
use rusqlite::types::ValueRef;
use rusqlite::{Row, Statement};

/// Maps a rusqlite error to a plugin error: an interrupt is a timeout, the rest query errors.
pub(crate) fn query_error(error: rusqlite::Error) -> PluginError {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::OperationInterrupted) => {
            PluginError::timeout("the statement was interrupted")
        }
        Some(rusqlite::ErrorCode::AuthorizationForStatementDenied) => {
            PluginError::query(format!("refused by the session's access mode: {error}"))
        }
        Some(rusqlite::ErrorCode::OutOfMemory) => PluginError::query(format!(
            "{error}: the statement reached the memory ceiling (SQLite's hard_heap_limit, set \
             from the connection's max_memory_mb)"
        )),
        _ => match error {
            rusqlite::Error::MultipleStatement => {
                PluginError::query("only one statement can run per call")
            }
            other => PluginError::query(other.to_string()),
        },
    }
}

/// Reads column `index` of `row`. Text that is not UTF-8 is repaired, not rejected.
pub(crate) fn read_value(row: &Row<'_>, index: usize) -> PluginResult<Value> {
    let value = row.get_ref(index).map_err(query_error)?;
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(number) => Value::Int(number),
        ValueRef::Real(number) => Value::Float(number),
        ValueRef::Text(bytes) => Value::Text(String::from_utf8_lossy(bytes).as_ref().into()),
        ValueRef::Blob(bytes) => Value::Bytes(RVec::from(bytes)),
    })
}

/// Binds `value` to parameter `index` (1-based).
pub(crate) fn bind_value(
    statement: &mut Statement<'_>,
    index: usize,
    value: &Value,
) -> PluginResult<()> {
    let result = match value {
        Value::Null => statement.raw_bind_parameter(index, rusqlite::types::Null),
        Value::Bool(flag) => statement.raw_bind_parameter(index, i64::from(*flag)),
        Value::Int(number) => statement.raw_bind_parameter(index, number),
        Value::UInt(number) => match i64::try_from(*number) {
            Ok(number) => statement.raw_bind_parameter(index, number),
            Err(_) => statement.raw_bind_parameter(index, number.to_string()),
        },
        Value::Float(number) => statement.raw_bind_parameter(index, number),
        Value::Decimal(text) | Value::Text(text) | Value::Json(text) => {
            statement.raw_bind_parameter(index, text.as_str())
        }
        Value::Bytes(bytes) => statement.raw_bind_parameter(index, bytes.as_slice()),
    };
    result.map_err(query_error)
}
