//! Mapping driver errors to plugin errors, and keeping the password out of every message.

use mysql::{DriverError, Error, MySqlError};
use plenum_plugin_api::{ErrorKind, PluginError};

/// Server error codes that mean the statement was stopped: `KILL QUERY` (1317,
/// ER_QUERY_INTERRUPTED), MariaDB's `max_statement_time` (1969, ER_STATEMENT_TIMEOUT) and
/// MySQL's `max_execution_time` (3024, ER_QUERY_TIMEOUT).
const TIMEOUT_CODES: [u16; 3] = [1317, 1969, 3024];

/// ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR.
const ACCESS_DENIED_CODES: [u16; 3] = [1045, 1044, 1698];

/// ER_BAD_DB_ERROR.
const UNKNOWN_DATABASE_CODE: u16 = 1049;

/// Replaces every occurrence of the password (and of its URL-encoded form) in `message`.
///
/// The driver never formats the password itself, but a server or a future driver version
/// might echo it, so every message passes through here before it leaves the plugin.
pub(crate) fn scrub(message: &str, password: Option<&str>) -> String {
    let Some(password) = password.filter(|password| !password.is_empty()) else {
        return message.to_owned();
    };
    let mut clean = message.replace(password, "***");
    let encoded = percent_encode(password);
    if encoded != password {
        clean = clean.replace(&encoded, "***");
    }
    clean
}

fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn server_error(kind: ErrorKind, message: String, error: &MySqlError) -> PluginError {
    PluginError::new(kind, message).with_sqlstate(error.state.clone())
}

/// An error from running a statement (or the plugin's own fixed SQL).
/// ER_RECORD_FILE_FULL: "The table '…' is full".
const RECORD_FILE_FULL: u16 = 1114;

pub(crate) fn query_error(error: &Error, password: Option<&str>) -> PluginError {
    match error {
        Error::MySqlError(server) => {
            let kind = if TIMEOUT_CODES.contains(&server.code) {
                ErrorKind::Timeout
            } else {
                ErrorKind::Query
            };
            let mut message = scrub(
                &format!("{} (error {})", server.message, server.code),
                password,
            );
            if server.code == RECORD_FILE_FULL && server.message.contains("(temporary)") {
                // The server names no limit; on a temporary table it is the session's ceiling.
                message.push_str(
                    ": a temporary table reached the session's ceiling (tmp_disk_table_size, \
                     set from the connection's max_temp_mb), or the server's disk is full",
                );
            }
            server_error(kind, message, server)
        }
        Error::DriverError(DriverError::MismatchedStmtParams(expected, given)) => {
            PluginError::query(format!(
                "the statement has {expected} parameter placeholder(s) but {given} value(s) \
                 were bound"
            ))
        }
        Error::IoError(_) | Error::CodecError(_) => PluginError::query(scrub(
            &format!("lost the connection to the server: {error}"),
            password,
        )),
        other => PluginError::query(scrub(&other.to_string(), password)),
    }
}

/// Where a session was going, for connection error messages (never the password).
pub(crate) struct Target<'a> {
    /// Host name or address.
    pub(crate) host: &'a str,
    /// TCP port.
    pub(crate) port: u16,
    /// User name, if any.
    pub(crate) user: Option<&'a str>,
    /// Database, if any.
    pub(crate) database: Option<&'a str>,
    /// The password, only to scrub it from messages.
    pub(crate) password: Option<&'a str>,
    /// Whether the session asked for TLS.
    pub(crate) tls: bool,
}

/// The I/O error under a driver error, if that is what it is.
fn io_error(error: &Error) -> Option<&std::io::Error> {
    match error {
        Error::IoError(io) => Some(io),
        Error::CodecError(codec) => {
            std::error::Error::source(codec).and_then(|source| source.downcast_ref())
        }
        _ => None,
    }
}

/// An error from opening a session, told apart by cause: unreachable server, access denied,
/// unknown database, TLS failure.
pub(crate) fn connect_error(error: &Error, target: &Target<'_>) -> PluginError {
    let Target {
        host,
        port,
        user,
        database,
        password,
        tls,
    } = *target;
    let user = user.unwrap_or("");
    let error_kind = ErrorKind::Connection;
    let message = match error {
        Error::MySqlError(server) if ACCESS_DENIED_CODES.contains(&server.code) => {
            let message = format!(
                "access denied for user '{user}' at {host}:{port}: {} (error {})",
                server.message, server.code
            );
            return server_error(error_kind, scrub(&message, password), server);
        }
        Error::MySqlError(server) if server.code == UNKNOWN_DATABASE_CODE => {
            let message = format!(
                "unknown database '{}' at {host}:{port}: {} (error {})",
                database.unwrap_or(""),
                server.message,
                server.code
            );
            return server_error(error_kind, scrub(&message, password), server);
        }
        Error::MySqlError(server) => {
            let message = format!(
                "the server at {host}:{port} refused the session: {} (error {})",
                server.message, server.code
            );
            return server_error(error_kind, scrub(&message, password), server);
        }
        Error::DriverError(DriverError::TlsNotSupported) => format!(
            "TLS failure: the server at {host}:{port} does not support TLS, and the ssl mode \
             requires it"
        ),
        Error::TlsError(tls) => format!("TLS failure with {host}:{port}: {tls}"),
        Error::DriverError(DriverError::ConnectTimeout) => {
            format!("cannot reach the server at {host}:{port}: connection timed out")
        }
        Error::DriverError(DriverError::CouldNotConnect(Some((_, description, _)))) => {
            format!("cannot reach the server at {host}:{port}: {description}")
        }
        // rustls reports handshake and certificate failures as InvalidData I/O errors.
        _ if tls
            && io_error(error).map(|io| io.kind()) == Some(std::io::ErrorKind::InvalidData) =>
        {
            let io = io_error(error).map(ToString::to_string).unwrap_or_default();
            format!("TLS failure with {host}:{port}: {io}")
        }
        _ if io_error(error).is_some() => {
            let io = io_error(error).map(ToString::to_string).unwrap_or_default();
            format!("cannot reach the server at {host}:{port}: {io}")
        }
        other => format!("cannot connect to {host}:{port}: {other}"),
    };
    PluginError::new(error_kind, scrub(&message, password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_plain_and_encoded_passwords() {
        let message = "pw p@ss:w/rd and p%40ss%3Aw%2Frd";
        assert_eq!(scrub(message, Some("p@ss:w/rd")), "pw *** and ***");
        assert_eq!(scrub(message, None), message);
        assert_eq!(scrub(message, Some("")), message);
    }

    #[test]
    fn interrupted_statements_are_timeouts() {
        for code in TIMEOUT_CODES {
            let error = Error::MySqlError(MySqlError {
                state: "70100".into(),
                message: "Query execution was interrupted".into(),
                code,
            });
            let mapped = query_error(&error, None);
            assert_eq!(mapped.kind, ErrorKind::Timeout);
            assert_eq!(
                mapped.sqlstate.as_ref().map(|s| s.as_str()).into_option(),
                Some("70100")
            );
        }
    }
}
