//! The limits of one call: rows, bytes and time, with the defaults every front end declares.

use std::time::Duration;

/// Limits the host enforces while it pulls rows.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Rows returned at most.
    pub max_rows: u64,
    /// Bytes of row JSON at most.
    pub max_bytes: u64,
    /// Time for the whole call.
    pub timeout: Duration,
}

impl Limits {
    /// Rows returned when the caller does not say.
    pub const DEFAULT_MAX_ROWS: u64 = 500;
    /// Bytes of row JSON returned when the caller does not say (1 MiB).
    pub const DEFAULT_MAX_BYTES: u64 = 1 << 20;
    /// Milliseconds a call may take when the caller does not say.
    pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
}
