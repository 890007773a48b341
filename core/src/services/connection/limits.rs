//! The connect timeout and the per-session resource ceilings, and how they reach a plugin
//! (as `ConnectParams::options`).
//!
//! A human sets the ceilings on a saved connection (`plenum connect --max-temp-mb …`); without
//! one, safe defaults apply. A call's own flags may lower a ceiling, never raise it, so an
//! agent that writes its own command lines cannot lift what the human set. The connect timeout
//! is not a ceiling: a call may set it either way, and it never exceeds the call's timeout.

use serde::{Deserialize, Serialize};

use crate::services::error::Failure;
use crate::services::words::option;

/// Milliseconds a connection may take to open (TCP, TLS, authentication, session setup)
/// when nothing says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5_000;
/// Temporary files (or on-disk temporary tables) one session may use, in MiB, by default.
pub const DEFAULT_MAX_TEMP_MB: u64 = 1_024;
/// Memory one sort, hash or in-memory temporary table may use (SQLite: the whole heap), in MiB,
/// by default.
pub const DEFAULT_MAX_MEMORY_MB: u64 = 256;
/// Iterations of one recursive query, by default.
pub const DEFAULT_MAX_RECURSION: u64 = 100_000;

/// The option keys a plugin receives (see `docs/plugin-authoring.md`). Keys of the same names
/// from a DSN or saved options are replaced, so a DSN cannot lift a ceiling.
pub const OPTION_CONNECT_TIMEOUT_MS: &str = "connect_timeout_ms";
/// Bytes of temporary files or on-disk temporary tables.
pub const OPTION_MAX_TEMP_BYTES: &str = "max_temp_bytes";
/// Bytes of memory for one sort, hash or temporary table (SQLite: the heap).
pub const OPTION_MAX_MEMORY_BYTES: &str = "max_memory_bytes";
/// Iterations of a recursive query.
pub const OPTION_MAX_RECURSION: &str = "max_recursion";

/// Every key the host owns.
pub const OPTION_KEYS: [&str; 4] = [
    OPTION_CONNECT_TIMEOUT_MS,
    OPTION_MAX_TEMP_BYTES,
    OPTION_MAX_MEMORY_BYTES,
    OPTION_MAX_RECURSION,
];

/// The connect timeout and ceilings a call gave (`plenum query`, `introspect`, `connect`).
#[derive(Debug, Clone, Default)]
pub struct LimitArgs {
    /// Milliseconds connecting may take.
    pub connect_timeout_ms: Option<u64>,
    /// MiB of temporary files per session; only lowers a saved ceiling.
    pub max_temp_mb: Option<u64>,
    /// MiB of memory per sort, hash or temporary table; only lowers a saved ceiling.
    pub max_memory_mb: Option<u64>,
    /// Iterations of a recursive query; only lowers a saved ceiling.
    pub max_recursion: Option<u64>,
}

/// The connect timeout and ceilings as a saved connection holds them (`"limits": {…}`);
/// what is left out takes the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionLimits {
    /// Milliseconds connecting may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,
    /// MiB of temporary files per session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_temp_mb: Option<u64>,
    /// MiB of memory per sort, hash or temporary table (SQLite: the heap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory_mb: Option<u64>,
    /// Iterations of a recursive query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_recursion: Option<u64>,
}

impl SessionLimits {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == SessionLimits::default()
    }

    /// The values the flags set, as a saved connection would hold them.
    pub fn from_args(args: &LimitArgs) -> Result<Self, Failure> {
        if args.connect_timeout_ms == Some(0) {
            return Err(Failure::invalid_input(format!(
                "{} must be at least 1",
                option("connect_timeout_ms")
            )));
        }
        Ok(SessionLimits {
            connect_timeout_ms: args.connect_timeout_ms,
            max_temp_mb: args.max_temp_mb,
            max_memory_mb: args.max_memory_mb,
            max_recursion: args.max_recursion,
        })
    }

    /// The lower of each ceiling of `self` and `other` (one that sets none has no say);
    /// `other`'s connect timeout when it has one. Used for a saved name in both the local and
    /// the global file: every entry's ceiling is in force, as for `max_capability`.
    pub fn lowered_by(self, other: SessionLimits) -> SessionLimits {
        fn lower(a: Option<u64>, b: Option<u64>) -> Option<u64> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
        SessionLimits {
            connect_timeout_ms: other.connect_timeout_ms.or(self.connect_timeout_ms),
            max_temp_mb: lower(self.max_temp_mb, other.max_temp_mb),
            max_memory_mb: lower(self.max_memory_mb, other.max_memory_mb),
            max_recursion: lower(self.max_recursion, other.max_recursion),
        }
    }

    /// `self` with a call's own values: the connect timeout replaced, each ceiling lowered,
    /// never raised; where `self` sets no ceiling the default is the one a call may lower.
    pub fn limited_by_call(self, call: SessionLimits) -> SessionLimits {
        fn lower(base: Option<u64>, call: Option<u64>, default: u64) -> Option<u64> {
            match call {
                Some(call) => Some(call.min(base.unwrap_or(default))),
                None => base,
            }
        }
        SessionLimits {
            connect_timeout_ms: call.connect_timeout_ms.or(self.connect_timeout_ms),
            max_temp_mb: lower(self.max_temp_mb, call.max_temp_mb, DEFAULT_MAX_TEMP_MB),
            max_memory_mb: lower(
                self.max_memory_mb,
                call.max_memory_mb,
                DEFAULT_MAX_MEMORY_MB,
            ),
            max_recursion: lower(
                self.max_recursion,
                call.max_recursion,
                DEFAULT_MAX_RECURSION,
            ),
        }
    }

    /// The options handed to the plugin: every value, defaults filled in, the connect timeout
    /// no longer than the call's (`call_timeout_ms`, 0 = none).
    pub fn options(&self, call_timeout_ms: u64) -> Vec<(String, String)> {
        let mib = |value: Option<u64>, default: u64| {
            value
                .unwrap_or(default)
                .saturating_mul(1024 * 1024)
                .to_string()
        };
        let mut connect = self
            .connect_timeout_ms
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT_MS);
        if call_timeout_ms > 0 {
            connect = connect.min(call_timeout_ms);
        }
        vec![
            (OPTION_CONNECT_TIMEOUT_MS.into(), connect.max(1).to_string()),
            (
                OPTION_MAX_TEMP_BYTES.into(),
                mib(self.max_temp_mb, DEFAULT_MAX_TEMP_MB),
            ),
            (
                OPTION_MAX_MEMORY_BYTES.into(),
                mib(self.max_memory_mb, DEFAULT_MAX_MEMORY_MB),
            ),
            (
                OPTION_MAX_RECURSION.into(),
                self.max_recursion
                    .unwrap_or(DEFAULT_MAX_RECURSION)
                    .to_string(),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_lowers_ceilings_but_never_raises_them() {
        let saved = SessionLimits {
            connect_timeout_ms: Some(2_000),
            max_temp_mb: Some(64),
            max_memory_mb: None,
            max_recursion: Some(10),
        };
        let call = SessionLimits {
            connect_timeout_ms: Some(9_000),
            max_temp_mb: Some(4_096),
            max_memory_mb: Some(8),
            max_recursion: Some(5),
        };
        assert_eq!(
            saved.lowered_by(call),
            SessionLimits {
                connect_timeout_ms: Some(9_000),
                max_temp_mb: Some(64),
                max_memory_mb: Some(8),
                max_recursion: Some(5),
            }
        );
    }

    #[test]
    fn without_a_saved_ceiling_the_default_is_what_a_call_may_lower() {
        let call = SessionLimits {
            connect_timeout_ms: None,
            max_temp_mb: Some(1 << 20),
            max_memory_mb: Some(8),
            max_recursion: None,
        };
        assert_eq!(
            SessionLimits::default().limited_by_call(call),
            SessionLimits {
                connect_timeout_ms: None,
                max_temp_mb: Some(DEFAULT_MAX_TEMP_MB),
                max_memory_mb: Some(8),
                max_recursion: None,
            }
        );
        // A human's saved ceiling above the default stands, and still only lowers.
        let saved = SessionLimits {
            max_temp_mb: Some(8_192),
            ..SessionLimits::default()
        };
        assert_eq!(saved.limited_by_call(call).max_temp_mb, Some(8_192));
    }

    #[test]
    fn options_fill_in_defaults_and_keep_the_connect_timeout_within_the_call() {
        let options = SessionLimits::default().options(1_500);
        let get = |key: &str| {
            options
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get(OPTION_CONNECT_TIMEOUT_MS).as_deref(), Some("1500"));
        assert_eq!(get(OPTION_MAX_TEMP_BYTES).as_deref(), Some("1073741824"));
        assert_eq!(get(OPTION_MAX_MEMORY_BYTES).as_deref(), Some("268435456"));
        assert_eq!(get(OPTION_MAX_RECURSION).as_deref(), Some("100000"));
        let options = SessionLimits {
            max_temp_mb: Some(u64::MAX),
            ..SessionLimits::default()
        }
        .options(0);
        assert!(options.contains(&(OPTION_CONNECT_TIMEOUT_MS.into(), "5000".into())));
        assert!(options.contains(&(OPTION_MAX_TEMP_BYTES.into(), u64::MAX.to_string())));
    }
}
