//! Memory of long-lived sessions: what `plenum mcp` keeps warm must not grow with the calls it
//! serves. The driver's read buffer used to walk through its whole 4 MiB capacity over a
//! session's life, each call's bytes landing on pages not touched before, so every pooled
//! session ended up holding 4 MiB (vendor/README.md; docs/PERFORMANCE.md, "Memory over
//! 100,000 calls").

mod common;

use common::{query, TestDb};
use plenum_plugin_api::{AccessMode, Connection, Value};

/// Sessions kept open at once, as a pool keeps them.
const SESSIONS: usize = 4;
/// Statements per session: enough for each session to receive well over 4 MiB.
const STATEMENTS: usize = 2500;
/// Bytes of text each statement returns.
const PAD: usize = 2000;

/// This process's resident set size, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

fn one_call(session: &mut dyn Connection, call: usize) {
    let (_, rows) = query(
        session,
        &format!("SELECT REPEAT('x', {PAD}) AS pad, ? AS call_number"),
        &[Value::Int(call as i64)],
    )
    .expect("the statement runs");
    assert_eq!(rows.len(), 1);
}

#[test]
fn long_lived_sessions_stay_flat() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Some(db) = TestDb::new("memory") else {
        return;
    };
    let mut sessions: Vec<Box<dyn Connection>> = (0..SESSIONS)
        .map(|_| db.connect(AccessMode::Read))
        .collect();
    // Warm up: the allocator's arenas, the driver's statement cache and buffer pool.
    for call in 0..50 {
        for session in &mut sessions {
            one_call(session.as_mut(), call);
        }
    }
    let before = rss_kib();
    for call in 0..STATEMENTS {
        for session in &mut sessions {
            one_call(session.as_mut(), call);
        }
    }
    let after = rss_kib();
    let received_kib = (SESSIONS * STATEMENTS * PAD / 1024) as u64;
    println!(
        "{SESSIONS} sessions, {STATEMENTS} statements each ({received_kib} KiB of text \
         received): RSS {before} KiB before, {after} KiB after"
    );
    // With the driver's buffer walking, each session's 4 MiB would become resident (16 MiB
    // here: every session receives more than 4 MiB). Flat is within 4 MiB.
    assert!(
        after <= before + 4096,
        "memory grew from {before} KiB to {after} KiB over {} statements",
        SESSIONS * STATEMENTS
    );
}
