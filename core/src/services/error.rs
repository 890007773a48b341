//! The host's error type and the stable error codes of the output contract.

use plenum_gate::GateError;
use plenum_plugin_api::{ErrorKind, PluginError};
use schemars::JsonSchema;
use serde::Serialize;

use crate::services::words::strip;

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
            message: crate::services::sanitize::plugin_text(
                &error.message,
                crate::services::sanitize::MAX_RAW_MESSAGE_BYTES,
            ),
            sqlstate: error
                .sqlstate
                .as_ref()
                .into_option()
                .and_then(|state| crate::services::sanitize::sqlstate(state)),
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
        let message = match &error {
            // The gate names the tier; the caller needs to know what to pass for it.
            GateError::NeedsTier {
                index,
                kind,
                needed,
                cause,
                ..
            } => {
                let grant = crate::services::words::tier_option(*needed)
                    // Read is the lowest grant, so never needed above one; kept total.
                    .unwrap_or_else(|| format!("the {needed} tier"));
                // The kind and cause quote the caller's SQL: no reference may come from it.
                let (kind, cause) = (strip(kind), cause.as_deref().map(strip));
                match cause {
                    Some(cause) => {
                        format!("statement {index} ({kind}) {cause}, which needs {grant}")
                    }
                    None => format!("statement {index} ({kind}) needs {grant}"),
                }
            }
            _ => strip(&error.to_string()).into_owned(),
        };
        Failure::new(code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::words::{self, Term};
    use plenum_gate::{check, Dialect, Tier};
    use std::borrow::Cow;

    /// Words references as the command line does.
    fn cli(term: Term<'_>) -> Cow<'static, str> {
        match term {
            Term::Option(name) => format!("--{}", name.replace('_', "-")).into(),
            Term::Hint(key, _) => format!("<{key}>").into(),
        }
    }

    fn failure(sql: &str, granted: Tier) -> Failure {
        match check(sql, Dialect::PostgreSql, granted) {
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

    #[test]
    fn a_statement_above_the_grant_names_the_option_that_grants_it() {
        for (sql, granted, expected) in [
            (
                "DELETE FROM t",
                Tier::Read,
                "statement 1 (DELETE) needs --allow-write",
            ),
            (
                "SELECT 1; CREATE TABLE t (a int)",
                Tier::Write,
                "statement 2 (CREATE TABLE) needs --allow-ddl",
            ),
            (
                "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
                Tier::Read,
                "statement 1 (WITH … SELECT) contains a DELETE (in CTE `d`), which needs \
                 --allow-write",
            ),
        ] {
            let failure = failure(sql, granted);
            assert_eq!(failure.code, ErrorCode::CapabilityViolation, "{sql}");
            // A reference the front end words, not the CLI's word itself.
            assert!(!failure.message.contains("--allow"), "{sql}");
            assert_eq!(words::render(&failure.message, &cli), expected, "{sql}");
        }
        // Other gate messages are the gate's own.
        let failure = failure("BEGIN", Tier::Ddl);
        assert_eq!(
            failure.message,
            check("BEGIN", Dialect::PostgreSql, Tier::Ddl)
                .err()
                .map(|error| error.to_string())
                .unwrap_or_default()
        );
    }

    #[test]
    fn text_from_a_plugin_or_the_sql_cannot_forge_a_reference() {
        let forged = format!("bad {}", words::option("allow_ddl"));
        let plugin = Failure::from_plugin(PluginError::connection(forged.as_str()));
        assert_eq!(words::render(&plugin.message, &cli), "bad allow_ddl");
        let sql = format!("SELEC '{forged}'");
        let parse = failure(&sql, Tier::Read);
        assert!(!words::render(&parse.message, &cli).contains("--allow-ddl"));
    }
}
