//! The cursor over one statement's result, read from the socket as the host pulls rows.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mysql::{Binary, QueryResult, Row, Text};
use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{Column, Cursor, PluginError, PluginResult, Value};

use crate::decode::{decode, ColumnDecoder};
use crate::error::query_error;

/// A result read through the binary protocol (every prepared statement) or, for the few
/// `SHOW` forms a server cannot prepare, the text protocol.
pub(crate) enum Rows<'a> {
    /// Result of a prepared statement.
    Binary(QueryResult<'a, 'a, 'a, Binary>),
    /// Result of a text-protocol statement.
    Text(QueryResult<'a, 'a, 'a, Text>),
}

impl Rows<'_> {
    fn next_row(&mut self) -> Option<mysql::Result<Row>> {
        match self {
            Rows::Binary(result) => result.next(),
            Rows::Text(result) => result.next(),
        }
    }

    fn columns(&self) -> Vec<ColumnDecoder> {
        let columns = match self {
            Rows::Binary(result) => result.columns(),
            Rows::Text(result) => result.columns(),
        };
        columns.as_ref().iter().map(ColumnDecoder::new).collect()
    }

    fn warnings(&self) -> u16 {
        match self {
            Rows::Binary(result) => result.warnings(),
            Rows::Text(result) => result.warnings(),
        }
    }

    fn affected_rows(&self) -> u64 {
        match self {
            Rows::Binary(result) => result.affected_rows(),
            Rows::Text(result) => result.affected_rows(),
        }
    }
}

/// The rows of one statement. Dropping it early lets the driver read (and discard) what the
/// server still sends, which is why the session caps results with `sql_select_limit`.
pub(crate) struct MysqlCursor<'a> {
    rows: Rows<'a>,
    decoders: Vec<ColumnDecoder>,
    rows_affected: Option<u64>,
    cancel_requested: Arc<AtomicBool>,
    password: Option<Arc<str>>,
    exhausted: bool,
    flags: Arc<SessionFlags>,
}

/// What a cursor tells its session about the result it read.
#[derive(Debug, Default)]
pub(crate) struct SessionFlags {
    /// The result ended with warnings, for the session to read them (see
    /// `MysqlConnection::check_warnings`).
    pub(crate) warned: AtomicBool,
    /// The connection failed (the socket timed out or closed): nothing more can be sent on it.
    pub(crate) lost: AtomicBool,
}

impl SessionFlags {
    /// Records that the connection is gone when `error` says so.
    pub(crate) fn note(&self, error: &mysql::Error) {
        if matches!(
            error,
            mysql::Error::IoError(_) | mysql::Error::CodecError(_)
        ) {
            self.lost.store(true, Ordering::SeqCst);
        }
    }
}

impl<'a> MysqlCursor<'a> {
    /// Wraps a result; `cancel_requested` is the session's flag, set by its cancel handle.
    pub(crate) fn new(
        rows: Rows<'a>,
        cancel_requested: Arc<AtomicBool>,
        password: Option<Arc<str>>,
        flags: Arc<SessionFlags>,
    ) -> Self {
        let decoders = rows.columns();
        // A statement without a result set carries its row count in the OK packet, which is
        // only readable before iteration moves past it.
        let rows_affected = decoders.is_empty().then(|| rows.affected_rows());
        MysqlCursor {
            rows,
            decoders,
            rows_affected,
            cancel_requested,
            password,
            exhausted: false,
            flags,
        }
    }

    /// A statement whose cancel was requested reports a timeout even when the server
    /// answered normally (MariaDB's killed `SLEEP()` returns 1 instead of an error).
    fn check_cancelled(&self) -> PluginResult<()> {
        if self.cancel_requested.load(Ordering::SeqCst) {
            Err(cancelled())
        } else {
            Ok(())
        }
    }
}

/// The error of a statement stopped through the cancel handle.
pub(crate) fn cancelled() -> PluginError {
    PluginError::timeout("the statement was cancelled").with_sqlstate("70100")
}

impl Cursor for MysqlCursor<'_> {
    fn columns(&self) -> Vec<Column> {
        self.decoders
            .iter()
            .map(|decoder| decoder.column.clone())
            .collect()
    }

    fn fetch(&mut self, max_rows: usize, out: &mut RVec<Value>) -> PluginResult<usize> {
        if self.exhausted || self.decoders.is_empty() {
            self.exhausted = true;
            self.check_cancelled()?;
            return Ok(0);
        }
        let mut fetched = 0;
        while fetched < max_rows {
            match self.rows.next_row() {
                Some(Ok(row)) => {
                    self.check_cancelled()?;
                    let values = row.unwrap_raw();
                    if values.len() != self.decoders.len() {
                        return Err(PluginError::internal(
                            "the server sent a row with a different number of columns",
                        ));
                    }
                    for (decoder, value) in self.decoders.iter().zip(values) {
                        out.push(decode(
                            decoder.decoding,
                            value.unwrap_or(mysql::Value::NULL),
                        ));
                    }
                    fetched += 1;
                }
                Some(Err(error)) => {
                    self.exhausted = true;
                    self.flags.note(&error);
                    self.check_cancelled()?;
                    return Err(query_error(&error, self.password.as_deref()));
                }
                None => {
                    // Only the first result set is read; a statement has one.
                    self.exhausted = true;
                    if self.rows.warnings() > 0 {
                        self.flags.warned.store(true, Ordering::SeqCst);
                    }
                    self.check_cancelled()?;
                    break;
                }
            }
        }
        Ok(fetched)
    }

    fn rows_affected(&self) -> Option<u64> {
        self.rows_affected
    }
}
