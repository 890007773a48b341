//! The database opened through DuckDB's C API, so that a second connection to it can stream
//! reads (duckdb-rs materializes every result and hides its handles).
//!
//! The session's duckdb-rs connection is made from this database (`open_from_raw`), so both
//! connections share one instance: its read-only access mode, external access, allowed
//! directories and locked configuration hold for both.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::ptr;
use std::sync::{Arc, Mutex};

use libduckdb_sys as ffi;
use plenum_plugin_api::{PluginError, PluginResult};

/// An open DuckDB database instance; closed on drop, after every connection made from it.
pub(crate) struct RawDatabase {
    handle: ffi::duckdb_database,
}

// SAFETY: a DuckDB database instance is thread-safe; the handle is owned by this value alone.
unsafe impl Send for RawDatabase {}

fn c_text(text: &str) -> PluginResult<CString> {
    CString::new(text).map_err(|_| PluginError::connection("a setting holds a NUL character"))
}

impl RawDatabase {
    /// Opens `path` (`None`: in memory) with `settings` applied before it starts.
    pub(crate) fn open(path: Option<&str>, settings: &[(&str, &str)]) -> PluginResult<Self> {
        let path = path.map(c_text).transpose()?;
        let settings = settings
            .iter()
            .map(|(name, value)| Ok((c_text(name)?, c_text(value)?)))
            .collect::<PluginResult<Vec<_>>>()?;
        let mut config: ffi::duckdb_config = ptr::null_mut();
        let mut handle: ffi::duckdb_database = ptr::null_mut();
        let mut error: *mut std::os::raw::c_char = ptr::null_mut();
        // SAFETY: every pointer passed is valid for the call (the CStrings outlive it); the
        // config is destroyed once whatever happens, and DuckDB's error text is copied and then
        // freed with `duckdb_free`, as its API asks.
        let outcome = unsafe {
            if ffi::duckdb_create_config(&mut config) != ffi::DuckDBSuccess {
                return Err(PluginError::connection(
                    "DuckDB could not create a configuration",
                ));
            }
            let mut outcome = Ok(());
            for (name, value) in &settings {
                if ffi::duckdb_set_config(config, name.as_ptr(), value.as_ptr())
                    != ffi::DuckDBSuccess
                {
                    outcome = Err(PluginError::connection(format!(
                        "DuckDB refused the setting {}",
                        name.to_string_lossy()
                    )));
                    break;
                }
            }
            if outcome.is_ok() {
                let path = path.as_ref().map_or(ptr::null(), |path| path.as_ptr());
                if ffi::duckdb_open_ext(path, &mut handle, config, &mut error) != ffi::DuckDBSuccess
                {
                    let message = if error.is_null() {
                        "DuckDB could not open the database".to_owned()
                    } else {
                        CStr::from_ptr(error).to_string_lossy().into_owned()
                    };
                    if !error.is_null() {
                        ffi::duckdb_free(error.cast());
                    }
                    outcome = Err(PluginError::connection(message));
                }
            }
            ffi::duckdb_destroy_config(&mut config);
            outcome
        };
        outcome.map(|()| RawDatabase { handle })
    }

    /// A duckdb-rs connection to this instance. It must be dropped before this value.
    pub(crate) fn rust_connection(&self) -> PluginResult<duckdb::Connection> {
        // SAFETY: the handle is an open database; duckdb-rs does not close a database it did
        // not open (`open_from_raw` leaves it to us), and the session drops this connection
        // before the database (field order).
        unsafe { duckdb::Connection::open_from_raw(self.handle) }
            .map_err(|error| PluginError::connection(error.to_string()))
    }

    /// A C API connection to this instance, for streamed reads.
    pub(crate) fn raw_connection(&self) -> PluginResult<RawConnection> {
        let mut connection: ffi::duckdb_connection = ptr::null_mut();
        // SAFETY: the handle is an open database and the out-pointer is valid.
        if unsafe { ffi::duckdb_connect(self.handle, &mut connection) } != ffi::DuckDBSuccess {
            return Err(PluginError::connection(
                "DuckDB could not open a connection",
            ));
        }
        Ok(RawConnection {
            handle: Arc::new(Mutex::new(Handle(connection))),
        })
    }
}

impl Drop for RawDatabase {
    fn drop(&mut self) {
        // SAFETY: opened in `open`, closed once, here, after the connections (field order).
        unsafe { ffi::duckdb_close(&mut self.handle) };
    }
}

/// A connection handle; null once disconnected.
struct Handle(ffi::duckdb_connection);

// SAFETY: DuckDB connections may be used from any thread, one call at a time for queries;
// `duckdb_interrupt` may be called from another thread while a query runs. The mutex keeps a
// cancel from racing the disconnect.
unsafe impl Send for Handle {}

/// A C API connection. Its [`Interrupter`]s may outlive it: they do nothing once it is closed.
pub(crate) struct RawConnection {
    handle: Arc<Mutex<Handle>>,
}

impl RawConnection {
    /// The handle for a call on this thread (the session is `&mut` while it runs).
    pub(crate) fn handle(&self) -> ffi::duckdb_connection {
        self.handle
            .lock()
            .map_or(ptr::null_mut(), |handle| handle.0)
    }

    /// Something that interrupts this connection's running query from another thread.
    pub(crate) fn interrupter(&self) -> Interrupter {
        Interrupter(Arc::clone(&self.handle))
    }
}

impl Drop for RawConnection {
    fn drop(&mut self) {
        let mut handle = match self.handle.lock() {
            Ok(handle) => handle,
            Err(poisoned) => poisoned.into_inner(),
        };
        // SAFETY: connected in `raw_connection`, disconnected once (it is null afterwards),
        // under the lock an interrupt takes.
        unsafe { ffi::duckdb_disconnect(&mut handle.0) };
        handle.0 = ptr::null_mut();
    }
}

/// Interrupts the query running on a [`RawConnection`], if it is still open.
pub(crate) struct Interrupter(Arc<Mutex<Handle>>);

impl Interrupter {
    pub(crate) fn interrupt(&self) {
        if let Ok(handle) = self.0.lock() {
            if !handle.0.is_null() {
                // SAFETY: the connection is open (it is nulled under this lock when closed).
                unsafe { ffi::duckdb_interrupt(handle.0) };
            }
        }
    }
}
