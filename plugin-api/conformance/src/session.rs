//! Driving a plugin session the way the host does: open, begin, execute one statement, pull
//! rows in batches (checking each batch), commit or roll back.

use std::fmt;

use plenum_plugin_api::abi_stable::std_types::{RSlice, RStr, RVec};
use plenum_plugin_api::{AccessMode, Column, ConnectionBox, CursorBox, PluginError, Value};

use crate::Kit;

/// What went wrong in a call.
#[derive(Debug, Clone)]
pub(crate) enum CallError {
    /// The plugin returned an error value.
    Plugin(PluginError),
    /// The plugin broke the protocol (a batch larger than asked, a ragged row, …).
    Contract(String),
}

impl CallError {
    /// The message of a caught panic, if this error is one.
    pub(crate) fn panic_message(&self) -> Option<&str> {
        match self {
            CallError::Plugin(error) if error.message.starts_with("plugin panicked") => {
                Some(error.message.as_str())
            }
            _ => None,
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Plugin(error) => write!(f, "{error}"),
            CallError::Contract(text) => write!(f, "protocol violation: {text}"),
        }
    }
}

impl From<PluginError> for CallError {
    fn from(error: PluginError) -> Self {
        CallError::Plugin(error)
    }
}

/// The whole result of one statement.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rows {
    pub(crate) columns: Vec<Column>,
    pub(crate) rows: Vec<Vec<Value>>,
    pub(crate) affected: Option<u64>,
}

/// Opens a session on the target in `access` mode.
pub(crate) fn open(kit: &Kit, access: AccessMode) -> Result<ConnectionBox, CallError> {
    let mut params = kit.target.params.clone();
    params.engine = kit.target.engine.as_str().into();
    params.access = access;
    Ok((kit.module.connect())(&params).into_result()?)
}

/// Pulls every row of `cursor` in batches of `batch`, checking each batch's shape.
pub(crate) fn drain(cursor: &mut CursorBox<'_>, batch: u32) -> Result<Rows, CallError> {
    let columns: Vec<Column> = cursor.columns().into_iter().collect();
    let width = columns.len();
    let mut rows = Vec::new();
    let mut buffer: RVec<Value> = RVec::new();
    loop {
        buffer.clear();
        let fetched = cursor.fetch(batch, &mut buffer).into_result()?;
        if fetched == 0 {
            if !buffer.is_empty() {
                return Err(CallError::Contract(format!(
                    "fetch said 0 rows but appended {} values",
                    buffer.len()
                )));
            }
            break;
        }
        if fetched > batch {
            return Err(CallError::Contract(format!(
                "fetch returned {fetched} rows when asked for {batch}"
            )));
        }
        if width == 0 || buffer.len() != fetched as usize * width {
            return Err(CallError::Contract(format!(
                "fetch returned {} values for {fetched} rows of {width} declared columns",
                buffer.len()
            )));
        }
        rows.extend(buffer.chunks(width).map(<[Value]>::to_vec));
    }
    // An exhausted cursor stays exhausted.
    buffer.clear();
    let again = cursor.fetch(batch, &mut buffer).into_result()?;
    if again != 0 || !buffer.is_empty() {
        return Err(CallError::Contract(
            "fetch returned rows again after it had returned 0".to_owned(),
        ));
    }
    Ok(Rows {
        columns,
        rows,
        affected: cursor.rows_affected().into_option(),
    })
}

/// Executes one statement and pulls all its rows.
pub(crate) fn run_one(
    connection: &mut ConnectionBox,
    sql: &str,
    params: &[Value],
    row_limit_hint: u64,
) -> Result<Rows, CallError> {
    let mut cursor = connection
        .execute(
            RStr::from_str(sql),
            RSlice::from_slice(params),
            row_limit_hint,
        )
        .into_result()?;
    drain(&mut cursor, 64)
}

/// Runs `statements` in one session of `access` mode, committing at the end, and returns the
/// result of each. On error the session is rolled back.
pub(crate) fn run_committed(
    kit: &Kit,
    access: AccessMode,
    statements: &[String],
) -> Result<Vec<Rows>, String> {
    let mut connection = open(kit, access).map_err(|error| format!("connect: {error}"))?;
    connection
        .begin()
        .into_result()
        .map_err(|error| format!("begin: {error}"))?;
    let mut results = Vec::new();
    for sql in statements {
        match run_one(&mut connection, sql, &[], 0) {
            Ok(rows) => results.push(rows),
            Err(error) => {
                let _ = connection.rollback();
                return Err(format!("{sql}: {error}"));
            }
        }
    }
    connection
        .commit()
        .into_result()
        .map_err(|error| format!("commit: {error}"))?;
    Ok(results)
}

/// The setup table's row count, read in a fresh read session.
pub(crate) fn count(kit: &Kit) -> Result<i64, String> {
    let results = run_committed(
        kit,
        AccessMode::Read,
        std::slice::from_ref(&kit.target.count_sql),
    )?;
    let rows = results.into_iter().next().unwrap_or_default();
    match rows.rows.as_slice() {
        [row] => match row.as_slice() {
            [Value::Int(count)] => Ok(*count),
            [Value::UInt(count)] => i64::try_from(*count).map_err(|_| "count too large".to_owned()),
            [Value::Decimal(text)] | [Value::Text(text)] => text
                .as_str()
                .parse()
                .map_err(|_| format!("count_sql returned '{text}', not an integer")),
            other => Err(format!("count_sql returned {other:?}, not one integer")),
        },
        other => Err(format!("count_sql returned {} rows, not one", other.len())),
    }
}
