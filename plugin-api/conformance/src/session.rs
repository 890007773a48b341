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

/// What became of a statement the plugin should refuse.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// The plugin refused it, or the engine did at commit.
    Refused(String),
    /// It ran and its transaction committed.
    Ran(Rows),
}

/// Runs `sql` alone in a new session of `access` and, if it ran, commits, to give a leaky
/// session every chance to persist it. An error is a session that did not open or a panic.
pub(crate) fn attempt(kit: &Kit, access: AccessMode, sql: &str) -> Result<Attempt, String> {
    let mut connection = open(kit, access).map_err(|error| format!("connect: {error}"))?;
    connection
        .begin()
        .into_result()
        .map_err(|error| format!("begin: {error}"))?;
    match run_one(&mut connection, sql, &[], 0) {
        Err(error) => {
            if let Some(message) = error.panic_message() {
                return Err(format!("the plugin panicked on {sql:?}: {message}"));
            }
            let _ = connection.rollback();
            Ok(Attempt::Refused(error.to_string()))
        }
        Ok(rows) => Ok(match connection.commit().into_result() {
            Err(error) => Attempt::Refused(format!("refused at commit: {error}")),
            Ok(()) => Attempt::Ran(rows),
        }),
    }
}
