//! Live-server plumbing: where the servers are, and what to do when one is not reachable.

use std::time::{SystemTime, UNIX_EPOCH};

/// The URL from `variable`, or `default`.
pub fn url(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_owned())
}

/// Called when a server cannot be reached: under CI the test fails, elsewhere it is skipped
/// with a notice on stderr. Returns normally only when skipping.
pub fn unreachable(server: &str, why: &dyn std::fmt::Display) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{server} is not reachable and CI=true: {why}");
    }
    eprintln!("skipped: {server} is not reachable ({why})");
}

/// A name no other test run uses: prefix, process id, clock, counter.
pub fn unique_name(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    // Tests of one binary run at once and may read the same clock value: a counter keeps
    // their names apart.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let next = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "{prefix}_{}_{}_{next}",
        std::process::id(),
        nanos % 1_000_000_000_000
    )
}
