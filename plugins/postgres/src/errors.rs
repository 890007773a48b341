//! Turning driver errors into [`PluginError`]s of the right kind, with the server's message and
//! SQLSTATE.
//!
//! Nothing here sees the password: messages are built from the driver error and the target's
//! host, port, user and database only.

use std::error::Error as StdError;

use plenum_plugin_api::{ErrorKind, PluginError};
use postgres::error::{DbError, ErrorPosition, SqlState};

/// Where a connection attempt went, for messages that say which server refused.
#[derive(Debug, Clone)]
pub struct Target {
    /// Host name, address or socket directory.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name.
    pub user: String,
    /// Database name.
    pub database: String,
    /// The `sslmode` name in use.
    pub ssl_mode: &'static str,
}

// tokio-postgres displays only the error's class; the cause is in `source()`. These are the
// class texts the connect path can produce.
const TLS_CLASS: &str = "error performing TLS handshake";
const CONNECT_CLASS: &str = "error connecting to server";
const TIMEOUT_CLASS: &str = "timeout waiting for server";
const AUTH_CLASS: &str = "authentication error";
const CONFIG_CLASSES: [&str; 2] = ["invalid configuration", "invalid connection string"];

/// Maps a failed connection attempt to an [`ErrorKind::Connection`] error whose message tells
/// unreachable server, failed authentication, missing database and TLS failure apart.
pub fn connect_error(error: &postgres::Error, target: &Target) -> PluginError {
    let Target {
        host,
        port,
        user,
        database,
        ssl_mode,
    } = target;
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        let what = if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            format!("authentication failed for user \"{user}\"")
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            format!("database \"{database}\" does not exist")
        } else if *code == SqlState::TOO_MANY_CONNECTIONS {
            "the server has no free connection slots".to_owned()
        } else {
            "the server refused the connection".to_owned()
        };
        return PluginError::connection(format!("{what} on {host}:{port}: {}", server_message(db)))
            .with_sqlstate(code.code());
    }
    let class = error.to_string();
    let detail = cause_chain(error);
    let message = if class == TLS_CLASS {
        format!("TLS failure (sslmode={ssl_mode}) with {host}:{port}: {detail}")
    } else if class == CONNECT_CLASS || class == TIMEOUT_CLASS {
        format!("cannot reach the PostgreSQL server at {host}:{port}: {class}: {detail}")
    } else if class == AUTH_CLASS {
        format!("authentication failed for user \"{user}\" on {host}:{port}: {detail}")
    } else if CONFIG_CLASSES.contains(&class.as_str()) {
        format!("invalid connection settings: {detail}")
    } else {
        format!("connection to {host}:{port} failed: {class}: {detail}")
    };
    PluginError::connection(message)
}

/// Maps an error of a running session: server errors keep their SQLSTATE; cancellation and
/// `statement_timeout` (SQLSTATE 57014) become [`ErrorKind::Timeout`]; a lost connection
/// becomes [`ErrorKind::Connection`].
pub fn query_error(error: &postgres::Error) -> PluginError {
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        let kind = if *code == SqlState::QUERY_CANCELED {
            ErrorKind::Timeout
        } else if code.code().starts_with("08") || code.code().starts_with("57P") {
            // Connection exceptions and operator intervention (shutdown, terminated backend).
            ErrorKind::Connection
        } else {
            ErrorKind::Query
        };
        return PluginError::new(kind, server_message(db)).with_sqlstate(code.code());
    }
    if error.is_closed() {
        return PluginError::connection("the connection to the server was closed");
    }
    let class = error.to_string();
    let cause = cause_chain(error);
    if cause.is_empty() {
        PluginError::query(class)
    } else {
        PluginError::query(format!("{class}: {cause}"))
    }
}

/// The server's message with its detail, hint and position, as psql would show them.
fn server_message(db: &DbError) -> String {
    let mut message = format!("{}: {}", db.severity(), db.message());
    if let Some(ErrorPosition::Original(at)) = db.position() {
        message.push_str(&format!(" (at character {at})"));
    }
    if let Some(detail) = db.detail() {
        message.push_str(&format!("; DETAIL: {detail}"));
    }
    if let Some(hint) = db.hint() {
        message.push_str(&format!("; HINT: {hint}"));
    }
    message
}

/// The messages of `error`'s causes, outermost first, without repeats.
fn cause_chain(error: &postgres::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && !parts.contains(&text) {
            parts.push(text);
        }
        next = cause.source();
    }
    parts.join(": ")
}
