//! SIGINT and SIGTERM in the middle of a long SQLite write: the host turns the signal into a
//! cancel, the transaction rolls back, and the one envelope is still printed. A crash signal
//! before any plugin loaded is answered as Plenum's own.
#![cfg(unix)]

use std::time::{Duration, Instant};

use plenum_e2e::{finish, send_signal, Plenum, SqliteFixture};

const SCHEMA: &str = "CREATE TABLE t (x INTEGER);
    WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100)
    INSERT INTO t SELECT x FROM c;";

/// A write that runs for minutes unless stopped.
const LONG_WRITE: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
    LIMIT 500000000) INSERT INTO t SELECT x FROM c";

/// Waits until the write is under way: SQLite creates the rollback journal when it first
/// changes a page.
fn wait_for_journal(db: &SqliteFixture) {
    let journal = db.dir.path().join("app.db-journal");
    let started = Instant::now();
    while !journal.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the write never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Let it change a good number of pages first.
    std::thread::sleep(Duration::from_millis(300));
}

fn interrupted_write_rolls_back(signal: &str, name: &str) {
    let db = SqliteFixture::new(SCHEMA);
    let before = db.snapshot();
    let child = Plenum::new(["query", "--engine", "sqlite", "--allow-write", "--file"])
        .args([db.file.as_os_str()])
        .args(["--timeout-ms", "600000", "--sql", LONG_WRITE])
        .spawn();
    wait_for_journal(&db);
    let sent = Instant::now();
    send_signal(&child, signal);
    let run = finish(child);
    let took = sent.elapsed();
    run.assert_error("TIMEOUT");
    assert!(run.error_message().contains(name), "{}", run.stdout);
    assert!(
        run.error_message().contains("nothing it did was committed"),
        "{}",
        run.stdout
    );
    assert!(took < Duration::from_secs(5), "stopping took {took:?}");
    // The rows, and every byte of the file, are as before; the journal is gone.
    assert_eq!(db.direct("SELECT count(*) FROM t"), vec!["Integer(100)"]);
    assert_eq!(db.snapshot(), before);
}

#[test]
fn sigterm_during_a_long_write_rolls_it_back_and_prints_the_envelope() {
    interrupted_write_rolls_back("TERM", "SIGTERM");
}

#[test]
fn sigint_during_a_long_write_rolls_it_back_and_prints_the_envelope() {
    interrupted_write_rolls_back("INT", "SIGINT");
}

/// Sends `signal` to a write query that waits for its SQL on a standard input that never
/// ends (before any statement runs, and before the engine's plugin is loaded); its answer.
fn signalled_while_waiting_for_the_sql(db: &SqliteFixture, signal: &str) -> plenum_e2e::Run {
    let mut child = Plenum::new(["query", "--engine", "sqlite", "--allow-write", "--file"])
        .args([db.file.as_os_str()])
        .args(["--sql-file", "-"])
        .spawn_waiting_on_stdin();
    // Held open until plenum has answered (waiting on the child would close it).
    let stdin = child.stdin.take();
    std::thread::sleep(Duration::from_millis(300));
    send_signal(&child, signal);
    let run = finish(child);
    drop(stdin);
    run
}

#[test]
fn a_signal_while_nothing_can_be_cancelled_still_ends_in_one_envelope() {
    let db = SqliteFixture::new(SCHEMA);
    let before = db.snapshot();
    // No statement to cancel yet.
    let sent = Instant::now();
    let run = signalled_while_waiting_for_the_sql(&db, "TERM");
    run.assert_error("TIMEOUT");
    assert!(run.error_message().contains("SIGTERM"), "{}", run.stdout);
    assert!(
        sent.elapsed() < Duration::from_secs(6),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(db.snapshot(), before);
}

#[test]
fn a_crash_before_any_plugin_loads_is_plenums_own_internal_error() {
    for (signal, name) in [("ABRT", "SIGABRT"), ("SEGV", "SIGSEGV"), ("BUS", "SIGBUS")] {
        let db = SqliteFixture::new(SCHEMA);
        let before = db.snapshot();
        // The SQL is read before the engine's plugin is loaded.
        let run = signalled_while_waiting_for_the_sql(&db, signal);
        run.assert_error("INTERNAL_ERROR");
        // After the answer the signal ends the process (-1: no exit code).
        assert_eq!(run.code, -1, "{name}");
        assert!(
            run.error_message().contains("no plugin loaded"),
            "{name}: {}",
            run.stdout
        );
        assert_eq!(db.snapshot(), before);
    }
}

#[test]
fn a_write_whose_timeout_fired_is_never_committed() {
    let db = SqliteFixture::new(
        "CREATE TABLE t (x INTEGER);
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 10000)
         INSERT INTO t SELECT x FROM c;",
    );
    let before = db.snapshot();
    // A cancel reaches only a running statement, so one may finish after the timeout fired;
    // the 1 ms timeout fires long before the last of these (seconds of work). The statements
    // left are not run and nothing is committed.
    let sql = "UPDATE t SET x = x + 1;".repeat(1_000);
    let run = Plenum::new(["query", "--engine", "sqlite", "--allow-write", "--file"])
        .args([db.file.as_os_str()])
        .args(["--timeout-ms", "1", "--sql", &sql])
        .run();
    run.assert_error("TIMEOUT");
    assert!(
        run.error_message().contains("timeout of 1 ms"),
        "{}",
        run.stdout
    );
    assert_eq!(db.direct("SELECT sum(x) FROM t"), vec!["Integer(50005000)"]);
    assert_eq!(db.snapshot(), before);
}
