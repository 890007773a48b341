//! One session with a MySQL or MariaDB server: connecting, the access-mode backstop,
//! statement execution and transactions.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use mysql::mysql_common::named_params::ParsedNamedParams;
use mysql::prelude::Queryable;
use mysql::{Conn, DriverError, Error, Opts, OptsBuilder, Params, SslOpts};
use plenum_plugin_api::{
    AccessMode, CancelHandle, ConnectParams, Connection, Cursor, FenceOutcome, IntrospectRequest,
    IntrospectResult, PluginError, PluginResult, ReachReport, ReachRequest, ServerInfo, SslMode,
    Value,
};

use crate::cancel::MysqlCancel;
use crate::cursor::{cancelled, MysqlCursor, Rows, SessionFlags};
use crate::decode::{decode, encode_param, Decoding};
use crate::error::{connect_error, query_error, Target};
use crate::fallback::{is_single_show_statement, UNSUPPORTED_IN_PREPARED};
use crate::introspect;
use crate::limits::Ceilings;
use crate::reach;

const DEFAULT_HOST: &str = "127.0.0.1";
const DEFAULT_PORT: u16 = 3306;
/// The connect timeout when the host gives none (`connect_timeout_ms`).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Added to the host's statement timeout for the socket's read and write timeouts: a server
/// that stops answering mid-statement ends the wait soon after the host's cancel (and within
/// its grace), and a connect that was given up on ends then too.
const SOCKET_TIMEOUT_MARGIN_MS: u64 = 1000;

/// Added to the host's statement timeout for the server-side backstop, so the host's own
/// watchdog (which cancels and reports) normally fires first.
const SERVER_TIMEOUT_MARGIN_MS: u64 = 500;

/// MariaDB's warning when a recursive query reached `max_recursive_iterations`.
const RECURSION_LIMIT_WARNING: u16 = 1931;

/// Which server family a session talks to; they name their statement timeout differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// MariaDB: `max_statement_time`, in seconds (fractional), for every statement.
    MariaDb,
    /// MySQL: `max_execution_time`, in milliseconds, for read-only `SELECT` only.
    MySql,
}

/// An open session.
pub struct MysqlConnection {
    conn: Conn,
    opts: Opts,
    password: Option<Arc<str>>,
    access: AccessMode,
    /// MariaDB: the role active at connect (the user's default role), which a reset does not
    /// restore by itself.
    initial_role: Option<String>,
    /// The host's statement timeout and the session ceilings, set again after a reset.
    statement_timeout_ms: u64,
    ceilings: Ceilings,
    server: ServerKind,
    connection_id: u32,
    in_transaction: bool,
    /// The session's `sql_select_limit` as this plugin last set it (`None` = server default).
    select_limit: Option<u64>,
    cancel_requested: Arc<AtomicBool>,
    /// Whether the last result ended with warnings, and whether the connection is lost.
    flags: Arc<SessionFlags>,
}

fn tls_options(mode: SslMode, ca: Option<&str>) -> Option<SslOpts> {
    let ca = ca.map(PathBuf::from);
    match mode {
        SslMode::Disable => None,
        SslMode::Prefer | SslMode::Require => Some(
            SslOpts::default()
                .with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true),
        ),
        SslMode::VerifyCa => Some(
            SslOpts::default()
                .with_root_cert_path(ca)
                .with_danger_skip_domain_validation(true),
        ),
        SslMode::VerifyFull => Some(SslOpts::default().with_root_cert_path(ca)),
    }
}

impl MysqlConnection {
    /// Opens a session in the access mode of `params`, read-only at the engine for
    /// [`AccessMode::Read`], with the server-side statement timeout and the session ceilings
    /// set, all within the connect timeout (`connect_timeout_ms`). The driver bounds each
    /// socket read, not the whole handshake, so connecting runs on a thread of its own that
    /// is given up on at the deadline.
    pub fn open(params: &ConnectParams) -> PluginResult<Self> {
        let limit = connect_timeout(params)?;
        let owned = params.clone();
        let (sender, receiver) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("plenum-mysql-connect".to_owned())
            .spawn(move || {
                // Given up on at the deadline, nobody listens any more: the session just closes.
                let _ = sender.send(Self::open_now(&owned));
            })
            .map_err(|e| PluginError::internal(format!("cannot start the connect thread: {e}")))?;
        match receiver.recv_timeout(limit) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(PluginError::connection(format!(
                "the server at {}:{} did not answer within {} ms",
                params
                    .host
                    .as_ref()
                    .map_or(DEFAULT_HOST, |host| host.as_str()),
                params.port.into_option().unwrap_or(DEFAULT_PORT),
                limit.as_millis()
            ))),
            Err(RecvTimeoutError::Disconnected) => Err(PluginError::internal(
                "the connect thread stopped without an answer",
            )),
        }
    }

    fn open_now(params: &ConnectParams) -> PluginResult<Self> {
        let limit = connect_timeout(params)?;
        let ceilings = Ceilings::from_params(params)?;
        let host = params
            .host
            .as_ref()
            .map_or(DEFAULT_HOST, |host| host.as_str());
        let port = params.port.into_option().unwrap_or(DEFAULT_PORT);
        let user = params.user.as_ref().map(|user| user.as_str()).into_option();
        let password = params
            .password
            .as_ref()
            .map(|password| password.as_str())
            .into_option();
        let database = params.database.as_ref().map(|db| db.as_str()).into_option();
        let ssl_ca = params.ssl_ca.as_ref().map(|ca| ca.as_str()).into_option();
        let target = Target {
            host,
            port,
            user,
            database,
            password,
            tls: params.ssl_mode != SslMode::Disable,
        };
        if let Some(ca) = ssl_ca {
            if let Err(error) = std::fs::metadata(ca) {
                return Err(PluginError::connection(format!(
                    "TLS failure: cannot read the ssl_ca file '{ca}': {error}"
                )));
            }
        }

        // Built field by field, never from a URL, so no driver message can echo a DSN.
        let base = OptsBuilder::new()
            .ip_or_hostname(Some(host))
            .tcp_port(port)
            .user(user)
            .pass(password)
            .db_name(database)
            // The driver would otherwise switch loopback sessions to the Unix socket, where
            // it skips TLS; the session goes where the user said.
            .prefer_socket(false)
            .tcp_connect_timeout(Some(limit))
            .read_timeout(socket_timeout(params.statement_timeout_ms, limit))
            .write_timeout(socket_timeout(params.statement_timeout_ms, limit));
        let with_tls = base.clone().ssl_opts(tls_options(params.ssl_mode, ssl_ca));
        let (conn, opts) = match Conn::new(with_tls.clone()) {
            Ok(conn) => (conn, Opts::from(with_tls)),
            Err(Error::DriverError(DriverError::TlsNotSupported))
                if params.ssl_mode == SslMode::Prefer =>
            {
                let conn = Conn::new(base.clone()).map_err(|e| connect_error(&e, &target))?;
                (conn, Opts::from(base))
            }
            Err(error) => return Err(connect_error(&error, &target)),
        };

        let mut session = MysqlConnection {
            connection_id: conn.connection_id(),
            conn,
            opts,
            password: password.map(Arc::from),
            access: params.access,
            initial_role: None,
            statement_timeout_ms: params.statement_timeout_ms,
            ceilings,
            server: ServerKind::MySql,
            in_transaction: false,
            select_limit: None,
            cancel_requested: Arc::new(AtomicBool::new(false)),
            flags: Arc::default(),
        };
        session.server = session.detect_server()?;
        if session.server == ServerKind::MariaDb {
            session.initial_role = session.current_role()?;
        }
        session.set_up()?;
        Ok(session)
    }

    /// The session settings that make the access-mode backstop, the statement timeout and
    /// the ceilings: run after connecting and again after every reset, which clears them.
    ///
    /// One `SET SESSION` for all of them: a warm session runs this before every call.
    fn set_up(&mut self) -> PluginResult<()> {
        match self.session_settings() {
            Some(statement) => self.fixed(&statement),
            None => Ok(()),
        }
    }

    /// The `SET SESSION` statement of [`Self::set_up`], if there is anything to set.
    fn session_settings(&self) -> Option<String> {
        let mut assignments = Vec::new();
        if self.access == AccessMode::Read {
            // What `SET SESSION TRANSACTION READ ONLY` sets, by each server's name for it.
            assignments.push(match self.server {
                ServerKind::MariaDb => "tx_read_only = 1".to_owned(),
                ServerKind::MySql => "transaction_read_only = 1".to_owned(),
            });
            // A read transaction then starts with the call's first statement, read-only by
            // the setting above, and lasts until the `ROLLBACK` that ends every call: `begin`
            // costs no round trip of its own (see `Connection::begin`).
            assignments.push("autocommit = 0".to_owned());
        }
        if self.statement_timeout_ms > 0 {
            let limit_ms = self
                .statement_timeout_ms
                .saturating_add(SERVER_TIMEOUT_MARGIN_MS);
            assignments.push(match self.server {
                ServerKind::MariaDb => format!(
                    "max_statement_time = {}.{:03}",
                    limit_ms / 1000,
                    limit_ms % 1000
                ),
                ServerKind::MySql => format!("max_execution_time = {limit_ms}"),
            });
        }
        assignments.extend(self.ceilings.assignments(self.server));
        // After a reset: the row limit the last call had, which the next call most likely
        // wants too (the host's limit), so it costs that call no statement of its own.
        if let Some(rows) = self.select_limit {
            assignments.push(format!("sql_select_limit = {rows}"));
        }
        (!assignments.is_empty()).then(|| format!("SET SESSION {}", assignments.join(", ")))
    }

    /// The server family, from `VERSION()`.
    pub fn server_kind(&self) -> ServerKind {
        self.server
    }

    fn detect_server(&mut self) -> PluginResult<ServerKind> {
        let rows = self.fixed_rows("SELECT VERSION()", Params::Empty)?;
        let version = rows
            .first()
            .and_then(|row| row.first())
            .and_then(|value| match value {
                mysql::Value::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
                _ => None,
            })
            .unwrap_or_default();
        Ok(if version.contains("MariaDB") {
            ServerKind::MariaDb
        } else {
            ServerKind::MySql
        })
    }

    fn current_role(&mut self) -> PluginResult<Option<String>> {
        let rows = self.fixed_rows("SELECT CURRENT_ROLE()", Params::Empty)?;
        Ok(rows
            .first()
            .and_then(|row| row.first())
            .and_then(|value| match value {
                mysql::Value::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
                _ => None,
            }))
    }

    /// The statement that puts back the role of the session's start: MariaDB's
    /// `COM_RESET_CONNECTION` keeps whatever `SET ROLE` chose; MySQL goes back to the
    /// account's default roles.
    fn restore_role(&self) -> String {
        match (self.server, &self.initial_role) {
            (ServerKind::MariaDb, Some(role)) => format!("SET ROLE `{}`", role.replace('`', "``")),
            (ServerKind::MariaDb, None) => "SET ROLE NONE".to_owned(),
            (ServerKind::MySql, _) => "SET ROLE DEFAULT".to_owned(),
        }
    }

    fn error(&self, error: &Error) -> PluginError {
        self.flags.note(error);
        query_error(error, self.password.as_deref())
    }

    /// Runs SQL this plugin wrote itself (never user text): transaction control and session
    /// settings, which the text protocol is fine for.
    fn fixed(&mut self, sql: &str) -> PluginResult<()> {
        self.check_connection()?;
        let result = run_all(&mut self.conn, sql);
        result.map_err(|error| self.error(&error))
    }

    /// A connection that failed is not used again: the next read would wait for the socket's
    /// whole timeout once more.
    fn check_connection(&self) -> PluginResult<()> {
        if self.flags.lost.load(Ordering::SeqCst) {
            return Err(PluginError::connection(
                "the connection to the server was lost; nothing more was sent on it",
            ));
        }
        Ok(())
    }

    /// MariaDB stops a recursive query at `max_recursive_iterations` with only a warning and
    /// a result that is cut short; this turns that warning of the last result into an error,
    /// before anything else runs on the session (which would clear the warnings).
    fn check_warnings(&mut self) -> PluginResult<()> {
        // The cursor's flag, or the last OK packet (the result iterator forgets it at the end).
        let warned = self.flags.warned.swap(false, Ordering::SeqCst);
        if !warned && self.conn.warnings() == 0 {
            return Ok(());
        }
        self.check_connection()?;
        // The text protocol: preparing a statement would clear the warnings first.
        let warnings: Vec<(String, u16, String)> = match self.conn.query("SHOW WARNINGS") {
            Ok(warnings) => warnings,
            Err(error) => return Err(self.error(&error)),
        };
        if let Some((_, code, text)) = warnings
            .into_iter()
            .find(|(_, code, _)| *code == RECURSION_LIMIT_WARNING)
        {
            return Err(PluginError::query(format!(
                "{text} (warning {code}): the recursive query was stopped at the session's \
                 ceiling (max_recursive_iterations, set from the connection's max_recursion), \
                 so its result is refused as incomplete"
            )));
        }
        Ok(())
    }

    /// Runs a fixed catalog query with bound parameters and collects its rows.
    pub(crate) fn fixed_rows(
        &mut self,
        sql: &str,
        params: Params,
    ) -> PluginResult<Vec<Vec<mysql::Value>>> {
        self.check_connection()?;
        let password = self.password.clone();
        let flags = Arc::clone(&self.flags);
        let to_error = |error: Error| {
            flags.note(&error);
            query_error(&error, password.as_deref())
        };
        let result = self.conn.exec_iter(sql, params).map_err(to_error)?;
        let mut rows = Vec::new();
        for row in result {
            let values = row.map_err(to_error)?.unwrap_raw();
            rows.push(
                values
                    .into_iter()
                    .map(|value| value.unwrap_or(mysql::Value::NULL))
                    .collect(),
            );
        }
        Ok(rows)
    }

    /// Sets `sql_select_limit` to `hint` rows (0 = the server's default) when it differs from
    /// what the session has, so the server stops sending rows the host will never read.
    ///
    /// The reset to `DEFAULT` happens before the next statement that needs it rather than
    /// when a cursor is dropped: the cursor borrows the connection until then.
    fn set_select_limit(&mut self, hint: u64) -> PluginResult<()> {
        let wanted = (hint > 0).then_some(hint);
        if wanted == self.select_limit {
            return Ok(());
        }
        let statement = match wanted {
            Some(rows) => format!("SET SESSION sql_select_limit = {rows}"),
            None => "SET SESSION sql_select_limit = DEFAULT".to_owned(),
        };
        // Unknown until the statement succeeds, so a failure makes the next call set it again.
        self.select_limit = Some(0);
        self.fixed(&statement)?;
        self.select_limit = wanted;
        Ok(())
    }

    /// Runs `work` inside a read-only transaction, or inside the host's transaction when one
    /// is open (starting another would commit it implicitly).
    fn read_only<T>(&mut self, work: impl FnOnce(&mut Self) -> PluginResult<T>) -> PluginResult<T> {
        self.set_select_limit(0)?;
        if self.in_transaction {
            return work(self);
        }
        self.fixed("START TRANSACTION READ ONLY")?;
        let outcome = work(self);
        let rolled_back = self.fixed("ROLLBACK");
        let value = outcome?;
        rolled_back?;
        Ok(value)
    }
}

/// The connect timeout: the host's `connect_timeout_ms`, else [`DEFAULT_CONNECT_TIMEOUT`].
fn connect_timeout(params: &ConnectParams) -> PluginResult<Duration> {
    match params.option("connect_timeout_ms") {
        None => Ok(DEFAULT_CONNECT_TIMEOUT),
        Some(text) => text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|&millis| millis > 0)
            .map(Duration::from_millis)
            .ok_or_else(|| {
                PluginError::connection(format!(
                    "connect_timeout_ms must be a positive number of milliseconds, not {text:?}"
                ))
            }),
    }
}

/// The socket's read and write timeout: past the host's statement timeout (none without one),
/// and never shorter than the connect timeout, which the handshake's reads need.
fn socket_timeout(statement_timeout_ms: u64, connect: Duration) -> Option<Duration> {
    (statement_timeout_ms > 0).then(|| {
        Duration::from_millis(
            statement_timeout_ms
                .saturating_add(SOCKET_TIMEOUT_MARGIN_MS)
                .min(i32::MAX as u64),
        )
        .max(connect)
    })
}

/// Refuses SQL the driver would rewrite before sending: it turns `:name` into `?` for its
/// named-parameter feature, and the host validated the statement as written.
fn refuse_named_params(sql: &str) -> PluginResult<()> {
    let rewritten = match ParsedNamedParams::parse(sql.as_bytes()) {
        Ok(parsed) => !parsed.params().is_empty(),
        Err(_) => true,
    };
    if rewritten {
        return Err(PluginError::query(
            "named parameters (`:name`) are not supported; use `?` placeholders",
        ));
    }
    Ok(())
}

/// Runs text of this plugin's own, which may hold several statements (the driver always
/// speaks the multi-statement protocol), and fails with the first statement that failed. The
/// driver's `query_drop` would not: it reads the results after the first on drop, and drops
/// their errors with them.
fn run_all(conn: &mut Conn, sql: &str) -> mysql::Result<()> {
    let mut result = conn.query_iter(sql)?;
    while let Some(set) = result.iter() {
        for row in set {
            row?;
        }
    }
    Ok(())
}

fn bound(params: &[Value]) -> Params {
    if params.is_empty() {
        Params::Empty
    } else {
        Params::Positional(params.iter().map(encode_param).collect())
    }
}

impl Connection for MysqlConnection {
    /// A read session runs with `autocommit = 0` and `tx_read_only = 1` (`set_up`): its
    /// transaction starts implicitly with the next statement, read-only, and ends with the
    /// `ROLLBACK` of `rollback` (or the reset's), so no statement is sent here. Write and DDL
    /// sessions start theirs explicitly.
    fn begin(&mut self) -> PluginResult<()> {
        match self.access {
            AccessMode::Read => self.check_connection()?,
            AccessMode::Write | AccessMode::Ddl => self.fixed("START TRANSACTION READ WRITE")?,
        }
        self.in_transaction = true;
        Ok(())
    }

    fn execute<'a>(
        &'a mut self,
        sql: &str,
        params: &[Value],
        row_limit_hint: u64,
    ) -> PluginResult<Box<dyn Cursor + 'a>> {
        self.check_connection()?;
        self.check_warnings()?;
        refuse_named_params(sql)?;
        self.set_select_limit(row_limit_hint)?;
        self.cancel_requested.store(false, Ordering::SeqCst);
        // Prepared statements accept exactly one statement: stacked SQL fails here.
        let statement = match self.conn.prep(sql) {
            Ok(statement) => Some(statement),
            Err(Error::MySqlError(server))
                if server.code == UNSUPPORTED_IN_PREPARED
                    && params.is_empty()
                    && is_single_show_statement(sql) =>
            {
                None
            }
            Err(error) => return Err(self.error(&error)),
        };
        let cancel_requested = Arc::clone(&self.cancel_requested);
        let password = self.password.clone();
        let flags = Arc::clone(&self.flags);
        let to_error = |error: Error| {
            flags.note(&error);
            if cancel_requested.load(Ordering::SeqCst) {
                cancelled()
            } else {
                query_error(&error, password.as_deref())
            }
        };
        let rows = match statement {
            Some(statement) => Rows::Binary(
                self.conn
                    .exec_iter(&statement, bound(params))
                    .map_err(to_error)?,
            ),
            None => Rows::Text(self.conn.query_iter(sql).map_err(to_error)?),
        };
        Ok(Box::new(MysqlCursor::new(
            rows,
            Arc::clone(&self.cancel_requested),
            self.password.clone(),
            Arc::clone(&self.flags),
        )))
    }

    fn commit(&mut self) -> PluginResult<()> {
        if let Err(error) = self.check_warnings() {
            // Nothing of a call whose result was cut short is kept.
            let _ = self.rollback();
            return Err(error);
        }
        self.in_transaction = false;
        self.fixed("COMMIT")
    }

    fn rollback(&mut self) -> PluginResult<()> {
        if self.flags.lost.load(Ordering::SeqCst) {
            // The server rolls back the transaction of a connection that is gone.
            self.in_transaction = false;
            return Ok(());
        }
        let warnings = self.check_warnings();
        self.in_transaction = false;
        self.fixed("ROLLBACK")?;
        warnings
    }

    fn cancel_handle(&self) -> PluginResult<Box<dyn CancelHandle>> {
        Ok(Box::new(MysqlCancel::new(
            &self.opts,
            self.connection_id,
            Arc::clone(&self.cancel_requested),
        )))
    }

    fn server_info(&mut self) -> PluginResult<ServerInfo> {
        self.set_select_limit(0)?;
        let rows = self.fixed_rows(
            "SELECT VERSION(), DATABASE(), CURRENT_USER()",
            Params::Empty,
        )?;
        let text = |index: usize| {
            rows.first()
                .and_then(|row| row.get(index))
                .map(|value| decode(Decoding::Text, value.clone()))
                .and_then(|value| match value {
                    Value::Text(text) => Some(text),
                    _ => None,
                })
        };
        Ok(ServerInfo {
            version: text(0).unwrap_or_default(),
            database: text(1).into(),
            user: text(2).into(),
        })
    }

    fn introspect(&mut self, request: &IntrospectRequest) -> PluginResult<IntrospectResult> {
        self.read_only(|session| introspect::run(session, request))
    }

    fn reach(&mut self, request: &ReachRequest) -> PluginResult<ReachReport> {
        self.read_only(|session| reach::run(session, request))
    }

    fn write_fence(&mut self) -> PluginResult<FenceOutcome> {
        Ok(reach::write_fence())
    }

    /// `COM_RESET_CONNECTION` (the driver falls back to `COM_CHANGE_USER` on servers without
    /// it): rolls back, drops temporary tables, user variables, prepared statements (the
    /// driver's statement cache with them) and locks, and restores the session variables to
    /// the server's defaults; then the role of the session's start and the session's own
    /// settings are set again.
    fn reset(&mut self) -> PluginResult<()> {
        self.check_connection()?;
        if self.in_transaction {
            return Err(PluginError::query("a transaction is still open; not reset"));
        }
        if let Err(error) = self.conn.reset() {
            return Err(self.error(&error));
        }
        // Set again by `set_up`, unless it is unknown (a `SET` of it failed).
        self.select_limit = self.select_limit.filter(|rows| *rows > 0);
        self.flags.warned.store(false, Ordering::SeqCst);
        self.cancel_requested.store(false, Ordering::SeqCst);
        // The role and the settings in one round trip. The driver always speaks the
        // multi-statement protocol; only this plugin's own text is ever sent through it (user
        // SQL is prepared, which takes one statement, or is one checked `SHOW`).
        let mut statements = vec![self.restore_role()];
        statements.extend(self.session_settings());
        self.fixed(&statements.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The live server of `PLENUM_TEST_MYSQL_URL`; `None` (a notice) when it is unreachable,
    /// a failure under CI.
    fn live() -> Option<Conn> {
        let url = std::env::var("PLENUM_TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned());
        match Opts::from_url(&url)
            .map_err(Error::from)
            .and_then(Conn::new)
        {
            Ok(conn) => Some(conn),
            Err(error) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("the MySQL test server is unreachable (CI=true): {error}")
            }
            Err(error) => {
                eprintln!("skipped: the MySQL test server is unreachable ({error})");
                None
            }
        }
    }

    #[test]
    fn every_statement_of_the_plugins_own_text_must_succeed() {
        let Some(mut conn) = live() else {
            return;
        };
        // The driver's `query_drop` reports only the first statement's failure.
        assert!(conn
            .query_drop("SET @plenum_a = 1; SET SESSION plenum_no_such_variable = 1")
            .is_ok());
        let failed = run_all(
            &mut conn,
            "SET @plenum_a = 1; SET SESSION plenum_no_such_variable = 1",
        );
        assert!(failed.is_err(), "{failed:?}");
        assert!(run_all(&mut conn, "SET ROLE NONE; SET SESSION autocommit = 0").is_ok());
        // The connection is usable after a failure in the middle.
        let value: Option<String> = conn
            .query_first("SELECT @@SESSION.autocommit")
            .unwrap_or_default();
        assert_eq!(value.as_deref(), Some("0"));
        assert!(run_all(&mut conn, "SELECT 1; SELECT no_such_column").is_err());
        assert!(run_all(&mut conn, "SELECT 1").is_ok());
    }
}
