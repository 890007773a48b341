//! Cancelling through the cancel handle, and the server-side timeout backstop.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{query, scalar_int, text, TestDb};
use plenum_mysql::MysqlPlugin;
use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{AccessMode, Connection, ErrorKind, Plugin, PluginError, Value};

/// What the server runs for connection `id` right now (`None` when idle or gone).
fn running(observer: &mut dyn Connection, id: i64) -> Option<String> {
    let (_, rows) = query(
        observer,
        "SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = ?",
        &[Value::Int(id)],
    )
    .expect("processlist");
    match rows.first().and_then(|row| row.first()) {
        Some(Value::Text(info)) => Some(info.to_string()),
        _ => None,
    }
}

fn wait_until(deadline: Duration, mut condition: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < deadline {
        if condition() {
            return Some(started.elapsed());
        }
        thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Runs `sql` to the end on `conn` and returns its outcome.
fn run_to_end(mut conn: Box<dyn Connection>, sql: &str) -> Result<Vec<Value>, PluginError> {
    conn.begin()?;
    let mut cursor = conn.execute(sql, &[], 0)?;
    let mut out = RVec::new();
    while cursor.fetch(100, &mut out)? > 0 {}
    Ok(out.to_vec())
}

#[test]
fn cancel_stops_sleep_on_the_server() {
    let Some(db) = TestDb::new("cancel") else {
        return;
    };
    let mut sleeper = db.connect(AccessMode::Read);
    let id = scalar_int(sleeper.as_mut(), "SELECT CONNECTION_ID()");
    let handle = sleeper.cancel_handle().expect("cancel handle");
    let started = Instant::now();
    let worker = thread::spawn(move || run_to_end(sleeper, "SELECT SLEEP(30)"));

    let mut observer = db.connect(AccessMode::Read);
    let seen = wait_until(Duration::from_secs(10), || {
        running(observer.as_mut(), id).as_deref() == Some("SELECT SLEEP(30)")
    });
    assert!(
        seen.is_some(),
        "the sleep never showed up in the processlist"
    );

    let cancel_started = Instant::now();
    handle.cancel().expect("cancel");
    let cancel_took = cancel_started.elapsed();
    let gone = wait_until(Duration::from_secs(5), || {
        running(observer.as_mut(), id).is_none()
    });
    let outcome = worker.join().expect("worker thread");
    eprintln!("cancel returned after {cancel_took:?}; statement gone after {gone:?}");
    assert!(cancel_took < Duration::from_secs(1), "{cancel_took:?}");
    let gone = gone.expect("the sleep is still running on the server");
    assert!(gone < Duration::from_secs(1), "{gone:?}");
    let error = outcome.expect_err("a cancelled statement is an error");
    eprintln!("cancelled statement reported: {error}");
    assert_eq!(error.kind, ErrorKind::Timeout, "{error}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn cancel_stops_a_result_being_streamed() {
    let Some(db) = TestDb::new("cstream") else {
        return;
    };
    let mut conn = db.connect(AccessMode::Read);
    let handle = conn.cancel_handle().expect("cancel handle");
    // One row per second: the statement keeps streaming until it is stopped.
    let sql = "SELECT seq, SLEEP(1) FROM seq_1_to_30";
    if query(conn.as_mut(), "SELECT 1 FROM seq_1_to_1", &[]).is_err() {
        eprintln!("skipped: the server has no SEQUENCE engine");
        return;
    }
    let worker = thread::spawn(move || run_to_end(conn, sql));
    thread::sleep(Duration::from_millis(1500));
    handle.cancel().expect("cancel");
    let started = Instant::now();
    let error = worker.join().expect("worker").expect_err("cancelled");
    assert_eq!(error.kind, ErrorKind::Timeout, "{error}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn cancel_when_idle_is_harmless() {
    let Some(db) = TestDb::new("idle") else {
        return;
    };
    let mut conn = db.connect(AccessMode::Read);
    let handle = conn.cancel_handle().expect("cancel handle");
    let started = Instant::now();
    handle.cancel().expect("cancel");
    assert!(started.elapsed() < Duration::from_secs(1));
    // The next statement starts with a clean slate and runs normally.
    assert_eq!(scalar_int(conn.as_mut(), "SELECT 41 + 1"), 42);
}

#[test]
fn server_timeout_backstop_stops_a_statement_the_host_did_not() {
    let Some(db) = TestDb::new("backstop") else {
        return;
    };
    let mut params = db.params(AccessMode::Read);
    params.statement_timeout_ms = 300;
    let mut conn = MysqlPlugin::connect(&params).expect("connect");
    conn.begin().expect("begin");
    let started = Instant::now();
    let outcome = query(conn.as_mut(), "SELECT SLEEP(10)", &[]);
    let took = started.elapsed();
    let error = outcome.expect_err("the backstop stops the sleep");
    assert_eq!(error.kind, ErrorKind::Timeout, "{error}");
    assert_eq!(
        error.sqlstate.as_ref().map(|s| s.as_str()).into_option(),
        Some("70100")
    );
    // 300 ms plus the 500 ms margin, well before the statement's own 10 s.
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // The session stays usable and keeps the limit.
    assert_eq!(
        query(conn.as_mut(), "SELECT 'ok'", &[]).expect("after").1,
        vec![vec![text("ok")]]
    );
}
