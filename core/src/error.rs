//! The host's error type and the stable error codes of the output contract.

use plenum_gate::GateError;
use plenum_plugin_api::{ErrorKind, PluginError};
use schemars::JsonSchema;
use serde::Serialize;

/// The stable error codes agents can match on. Never renamed, only added to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The statement needs a higher tier than granted, or is never allowed.
    CapabilityViolation,
    /// The SQL did not parse (or was empty).
    ParseError,
    /// The database could not be reached or opened.
    ConnectionFailed,
    /// The database refused or failed the statement.
    QueryFailed,
    /// The statement ran past `--timeout-ms` and was cancelled.
    Timeout,
    /// The command line or tool arguments were wrong.
    InvalidInput,
    /// A configuration file or saved connection is broken.
    ConfigError,
    /// A plugin is missing, broken or misbehaved.
    PluginError,
    /// A bug in Plenum.
    InternalError,
}

/// A failure on its way to becoming an error envelope.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct Failure {
    /// Stable error code.
    pub code: ErrorCode,
    /// Message for the agent (sanitized before output).
    pub message: String,
    /// SQLSTATE reported by the engine, when there is one.
    pub sqlstate: Option<String>,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            sqlstate: None,
        }
    }

    /// An [`ErrorCode::InvalidInput`] failure.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }

    /// An [`ErrorCode::PluginError`] failure.
    pub fn plugin(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PluginError, message)
    }

    /// An [`ErrorCode::ConfigError`] failure.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ConfigError, message)
    }

    /// An [`ErrorCode::InternalError`] failure.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }

    /// An [`ErrorCode::CapabilityViolation`] failure.
    pub fn capability(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::CapabilityViolation, message)
    }

    /// Maps an error a plugin returned to the code of its class.
    pub fn from_plugin(error: PluginError) -> Self {
        let code = match error.kind {
            ErrorKind::Connection => ErrorCode::ConnectionFailed,
            ErrorKind::Query => ErrorCode::QueryFailed,
            ErrorKind::Timeout => ErrorCode::Timeout,
            ErrorKind::Unsupported => ErrorCode::InvalidInput,
            ErrorKind::Internal => ErrorCode::PluginError,
        };
        // Checked at the boundary: valid UTF-8, bounded, a SQLSTATE of the standard form only.
        // (Secrets are scrubbed from both when the envelope is built.)
        Failure {
            code,
            message: crate::sanitize::plugin_text(
                &error.message,
                crate::sanitize::MAX_RAW_MESSAGE_BYTES,
            ),
            sqlstate: error
                .sqlstate
                .as_ref()
                .into_option()
                .and_then(|state| crate::sanitize::sqlstate(state)),
        }
    }
}

impl From<GateError> for Failure {
    fn from(error: GateError) -> Self {
        let code = match &error {
            GateError::Parse { .. } | GateError::Empty => ErrorCode::ParseError,
            GateError::Parameters { .. } => ErrorCode::InvalidInput,
            GateError::Refused { .. } | GateError::NeedsTier { .. } => {
                ErrorCode::CapabilityViolation
            }
            // A verdict this host does not know yet stops the input like a refusal: the gate
            // said no, and not knowing why is no reason to run anything.
            _ => ErrorCode::CapabilityViolation,
        };
        Failure::new(code, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plenum_gate::{check, Dialect, Tier};

    fn failure(sql: &str, granted: Tier) -> Failure {
        match check(sql, Dialect::Sqlite, granted) {
            Ok(_) => panic!("{sql}: allowed"),
            Err(error) => Failure::from(error),
        }
    }

    #[test]
    fn gate_errors_keep_their_envelope_codes() {
        for (sql, granted, code) in [
            ("SELEC 1", Tier::Read, ErrorCode::ParseError),
            (" ; -- nothing", Tier::Read, ErrorCode::ParseError),
            ("SELECT :name", Tier::Read, ErrorCode::InvalidInput),
            ("BEGIN", Tier::Ddl, ErrorCode::CapabilityViolation),
            ("DELETE FROM t", Tier::Read, ErrorCode::CapabilityViolation),
        ] {
            assert_eq!(failure(sql, granted).code, code, "{sql}");
        }
    }
}
