//! Cancelling a running statement from another thread, through a second connection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, Error, Opts, OptsBuilder};
use plenum_plugin_api::{CancelHandle, PluginError, PluginResult};

use crate::error::scrub;

/// Bounds every step of a cancel, so it returns promptly even when the server is slow or has
/// stopped answering: well within the host's grace after a cancel.
const CANCEL_TIMEOUT: Duration = Duration::from_millis(1000);

/// ER_NO_SUCH_THREAD: the session is already gone, so nothing is left to cancel.
const NO_SUCH_THREAD: u16 = 1094;

/// Sends `KILL QUERY <id>` for one session over a fresh connection with the same options.
pub(crate) struct MysqlCancel {
    opts: Opts,
    connection_id: u32,
    cancel_requested: Arc<AtomicBool>,
}

impl MysqlCancel {
    /// A handle for the session with `connection_id`, opened with `opts`.
    pub(crate) fn new(opts: &Opts, connection_id: u32, cancel_requested: Arc<AtomicBool>) -> Self {
        let opts = OptsBuilder::from_opts(opts.clone())
            .tcp_connect_timeout(Some(CANCEL_TIMEOUT))
            .read_timeout(Some(CANCEL_TIMEOUT))
            .write_timeout(Some(CANCEL_TIMEOUT))
            .into();
        MysqlCancel {
            opts,
            connection_id,
            cancel_requested,
        }
    }

    fn error(&self, action: &str, error: &Error) -> PluginError {
        PluginError::internal(scrub(
            &format!("cancel failed while {action}: {error}"),
            self.opts.get_pass(),
        ))
    }
}

impl CancelHandle for MysqlCancel {
    fn cancel(&self) -> PluginResult<()> {
        // Set first: a killed `SLEEP()` may come back as an ordinary result, and the session
        // must still report it as cancelled.
        self.cancel_requested.store(true, Ordering::SeqCst);
        let mut conn = Conn::new(self.opts.clone()).map_err(|e| self.error("connecting", &e))?;
        match conn.query_drop(format!("KILL QUERY {}", self.connection_id)) {
            Ok(()) => Ok(()),
            Err(Error::MySqlError(server)) if server.code == NO_SUCH_THREAD => Ok(()),
            Err(error) => Err(self.error("sending KILL QUERY", &error)),
        }
    }
}
