//! One SQLite session.

use std::path::Path;
use std::time::Duration;

use plenum_plugin_api::{
    AccessMode, CancelHandle, Connection, Cursor, FenceOutcome, IntrospectRequest,
    IntrospectResult, PluginError, PluginResult, ReachReport, ReachRequest, ServerInfo, Value,
};
use rusqlite::{InterruptHandle, OpenFlags};

use crate::authorizer::authorize;
use crate::cursor::{DoneCursor, RowCursor};
use crate::values::{bind_value, query_error};

/// An open SQLite database file in one access mode.
pub(crate) struct SqliteConnection {
    connection: rusqlite::Connection,
    access: AccessMode,
    file: String,
    /// `schema_version` of main and temp when the write transaction began (the fence).
    schema_at_begin: Option<(i64, i64)>,
    /// The file the session opened, by identity: a session kept warm must notice when the
    /// path now names another file (replaced or deleted), and not read the old one.
    identity: Option<FileIdentity>,
}

/// Device and inode of a file (Unix); elsewhere nothing, and the check is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity(u64, u64);

fn file_identity(path: &Path) -> Option<FileIdentity> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path)
            .ok()
            .map(|metadata| FileIdentity(metadata.dev(), metadata.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

impl SqliteConnection {
    /// Opens `file` for `access`: read-only for reads (a missing file is an error and is never
    /// created), read-write for writes, and created if missing only for DDL.
    pub(crate) fn open(
        file: &str,
        access: AccessMode,
        timeout_ms: u64,
        max_memory: Option<u64>,
    ) -> PluginResult<Self> {
        let path = Path::new(file);
        if access < AccessMode::Ddl && !path.exists() {
            return Err(PluginError::connection(format!(
                "database file does not exist: {file} (only a session in the ddl tier creates a new database)"
            )));
        }
        if path.is_dir() {
            return Err(PluginError::connection(format!(
                "database path is a directory, not a file: {file}"
            )));
        }
        let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX;
        flags |= match access {
            AccessMode::Read => OpenFlags::SQLITE_OPEN_READ_ONLY,
            AccessMode::Write => OpenFlags::SQLITE_OPEN_READ_WRITE,
            AccessMode::Ddl => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        };
        let connection = rusqlite::Connection::open_with_flags(path, flags)
            .map_err(|error| PluginError::connection(format!("cannot open {file}: {error}")))?;
        let mut session = SqliteConnection {
            connection,
            access,
            file: file.to_owned(),
            schema_at_begin: None,
            identity: file_identity(path),
        };
        session.configure(timeout_ms, max_memory)?;
        Ok(session)
    }

    fn configure(&mut self, timeout_ms: u64, max_memory: Option<u64>) -> PluginResult<()> {
        let connection = &mut self.connection;
        let setup = |error: rusqlite::Error| {
            PluginError::connection(format!("cannot configure the session: {error}"))
        };
        // Opening does not read the header; a file that is not a database fails here instead
        // of on the first statement.
        connection
            .query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
            .map_err(|error| match error.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase) => {
                    PluginError::connection(format!("not a SQLite database: {}", self.file))
                }
                _ => setup(error),
            })?;
        if timeout_ms > 0 {
            // SQLite takes the busy timeout as a C int of milliseconds (rusqlite panics beyond).
            let busy_ms = timeout_ms.min(i32::MAX as u64);
            connection
                .busy_timeout(Duration::from_millis(busy_ms))
                .map_err(setup)?;
        }
        // Temporary data stays in memory, under the heap limit, instead of in files no
        // ceiling bounds.
        connection
            .pragma_update(None, "temp_store", "MEMORY")
            .map_err(setup)?;
        if let Some(bytes) = max_memory {
            // SQLite takes a signed 64-bit count; 0 would mean "no limit", so 1 byte is the least.
            let bytes = i64::try_from(bytes).unwrap_or(i64::MAX).max(1);
            connection
                .pragma_update(None, "hard_heap_limit", bytes)
                .map_err(setup)?;
        }
        // Views and triggers from the file must not call functions with side effects.
        connection
            .pragma_update(None, "trusted_schema", "OFF")
            .map_err(setup)?;
        if self.access == AccessMode::Read {
            connection
                .pragma_update(None, "query_only", "ON")
                .map_err(setup)?;
        }
        let access = self.access;
        connection
            .authorizer(Some(move |context: rusqlite::hooks::AuthContext<'_>| {
                authorize(access, &context)
            }))
            .map_err(setup)?;
        Ok(())
    }
}

/// Runs one of the plugin's own fixed statements (`BEGIN`, `COMMIT`, `ROLLBACK`). Kept prepared
/// in the connection's statement cache: a warm session would otherwise parse them on every
/// call. The cache holds only the plugin's fixed texts; a user's statement is never cached.
fn command(connection: &rusqlite::Connection, sql: &str) -> PluginResult<()> {
    connection
        .prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(|_| ())
        .map_err(query_error)
}

impl Connection for SqliteConnection {
    fn begin(&mut self) -> PluginResult<()> {
        self.schema_at_begin = None;
        match self.access {
            AccessMode::Read => command(&self.connection, "BEGIN DEFERRED"),
            AccessMode::Write | AccessMode::Ddl => {
                command(&self.connection, "BEGIN IMMEDIATE")?;
                // Read inside the transaction: BEGIN IMMEDIATE holds the write lock, so no
                // other connection can change the schema before the fence looks again.
                self.schema_at_begin = Some(crate::reach::schema_versions(&self.connection)?);
                Ok(())
            }
        }
    }

    fn execute<'a>(
        &'a mut self,
        sql: &str,
        params: &[Value],
        _row_limit_hint: u64,
    ) -> PluginResult<Box<dyn Cursor + 'a>> {
        // `prepare` refuses a statement followed by another one.
        let mut statement = self.connection.prepare(sql).map_err(query_error)?;
        if self.access == AccessMode::Read && !statement.readonly() {
            return Err(PluginError::query(
                "refused by the read-only session: the statement would write",
            ));
        }
        let expected = statement.parameter_count();
        if expected != params.len() {
            return Err(PluginError::query(format!(
                "the statement has {expected} parameter(s) but {} were given",
                params.len()
            )));
        }
        for (index, value) in params.iter().enumerate() {
            bind_value(&mut statement, index + 1, value)?;
        }
        if statement.column_count() == 0 {
            statement.raw_execute().map_err(query_error)?;
            let changed = self.connection.changes();
            return Ok(Box::new(DoneCursor::new(Some(changed))));
        }
        Ok(Box::new(RowCursor::new(statement)))
    }

    fn commit(&mut self) -> PluginResult<()> {
        if self.connection.is_autocommit() {
            return Ok(());
        }
        command(&self.connection, "COMMIT")
    }

    fn rollback(&mut self) -> PluginResult<()> {
        if self.connection.is_autocommit() {
            return Ok(());
        }
        command(&self.connection, "ROLLBACK")
    }

    fn cancel_handle(&self) -> PluginResult<Box<dyn CancelHandle>> {
        Ok(Box::new(SqliteCancel(
            self.connection.get_interrupt_handle(),
        )))
    }

    fn server_info(&mut self) -> PluginResult<ServerInfo> {
        Ok(ServerInfo {
            version: format!("SQLite {}", rusqlite::version()).into(),
            database: plenum_plugin_api::abi_stable::std_types::ROption::RSome(
                self.file.as_str().into(),
            ),
            user: plenum_plugin_api::abi_stable::std_types::ROption::RNone,
        })
    }

    fn introspect(&mut self, request: &IntrospectRequest) -> PluginResult<IntrospectResult> {
        crate::introspect::introspect(&self.connection, request)
    }

    fn reach(&mut self, request: &ReachRequest) -> PluginResult<ReachReport> {
        crate::reach::run(&self.connection, request)
    }

    fn write_fence(&mut self) -> PluginResult<FenceOutcome> {
        crate::reach::write_fence(&self.connection, self.schema_at_begin)
    }

    /// Only a read session is reset: it cannot have changed the file, the pragmas or the
    /// temp schema (read-only open, `query_only`, the authorizer), so what is left to clear
    /// is an open transaction and cached statements, and what is left to prove is that no
    /// database was attached and the temp schema is empty. A write or DDL session may have
    /// changed pragmas no check could list, so it is never reused.
    fn reset(&mut self) -> PluginResult<()> {
        if self.access != AccessMode::Read {
            return Err(PluginError::unsupported(
                "only read sessions of SQLite are reset for reuse",
            ));
        }
        if file_identity(Path::new(&self.file)) != self.identity {
            return Err(PluginError::connection(format!(
                "{} is no longer the file this session opened",
                self.file
            )));
        }
        if !self.connection.is_autocommit() {
            command(&self.connection, "ROLLBACK")?;
        }
        // The statement cache is kept: it holds only the plugin's own fixed statements (the
        // user's are prepared uncached and finalized with their cursor), which the next call
        // would prepare again word for word.
        let (attached, temporary): (i64, i64) = self
            .connection
            .prepare_cached(
                "SELECT (SELECT count(*) FROM pragma_database_list \
                          WHERE name NOT IN ('main', 'temp')), \
                        (SELECT count(*) FROM temp.sqlite_schema)",
            )
            .and_then(|mut statement| statement.query_row([], |row| Ok((row.get(0)?, row.get(1)?))))
            .map_err(query_error)?;
        if attached > 0 || temporary > 0 {
            return Err(PluginError::query(
                "the session holds attached databases or temporary objects; not reused",
            ));
        }
        Ok(())
    }
}

struct SqliteCancel(InterruptHandle);

impl CancelHandle for SqliteCancel {
    fn cancel(&self) -> PluginResult<()> {
        self.0.interrupt();
        Ok(())
    }
}
