//! Early stop with `row_limit_hint`: reading the first rows of a large table costs about the
//! same as reading them from a small one, and the hint never changes what writes do.

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{run, scalar_int, TestDb};
use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{AccessMode, Connection, Value};

/// The tests here measure time and memory, so they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const ROWS_WANTED: usize = 101;

fn build_tables(db: &TestDb) {
    db.setup(&[
        "CREATE TABLE digits (d INT NOT NULL)",
        "INSERT INTO digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)",
        "CREATE TABLE big (id INT NOT NULL, pad VARCHAR(40) NOT NULL)",
        "INSERT INTO big \
         SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d, \
                'padding padding padding padding' \
         FROM digits a, digits b, digits c, digits e, digits f, digits g",
        "CREATE TABLE small (id INT NOT NULL, pad VARCHAR(40) NOT NULL)",
        "INSERT INTO small SELECT id, pad FROM big WHERE id < 1000",
    ]);
}

/// Peak resident set size of this process since the last reset, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

fn reset_peak_rss() {
    // Writing 5 resets the peak RSS counter (Linux 4.0+); elsewhere the numbers are
    // process-wide peaks, still comparable across the runs below.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Reads the first rows the way the host does (batches, then dropping the cursor) and
/// returns how long it took and the peak RSS meanwhile.
fn read_first_rows(conn: &mut dyn Connection, table: &str, hint: u64) -> (Duration, u64, usize) {
    reset_peak_rss();
    let started = Instant::now();
    let mut values = 0;
    {
        let mut cursor = conn
            .execute(&format!("SELECT id, pad FROM {table}"), &[], hint)
            .expect("select");
        let mut out = RVec::new();
        while values / 2 < ROWS_WANTED {
            let fetched = cursor
                .fetch((ROWS_WANTED - values / 2).min(64), &mut out)
                .expect("fetch");
            if fetched == 0 {
                break;
            }
            values = out.len();
        }
    }
    (started.elapsed(), peak_rss_kib(), values / 2)
}

#[test]
fn hint_stops_the_server_early() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(db) = TestDb::new("stream") else {
        return;
    };
    build_tables(&db);
    let mut conn = db.connect(AccessMode::Read);
    conn.begin().expect("begin");
    assert_eq!(
        scalar_int(conn.as_mut(), "SELECT COUNT(*) FROM big"),
        1_000_000
    );

    // Warm the buffer pool so the runs compare streaming, not disk reads.
    let _ = read_first_rows(conn.as_mut(), "big", 0);
    let (small_time, small_rss, small_rows) = read_first_rows(conn.as_mut(), "small", 101);
    let (big_time, big_rss, big_rows) = read_first_rows(conn.as_mut(), "big", 101);
    let (drain_time, drain_rss, drain_rows) = read_first_rows(conn.as_mut(), "big", 0);
    eprintln!(
        "first {ROWS_WANTED} rows: 1k table with hint {small_time:?} (peak RSS {small_rss} KiB); \
         1M table with hint {big_time:?} (peak RSS {big_rss} KiB); \
         1M table without hint {drain_time:?} (peak RSS {drain_rss} KiB)"
    );
    assert_eq!((small_rows, big_rows, drain_rows), (101, 101, 101));
    // With the hint the server stops after 101 rows; without it the driver reads all
    // 1,000,000 rows when the cursor is dropped.
    assert!(
        big_time * 5 < drain_time,
        "hint {big_time:?} vs drain {drain_time:?}"
    );
    assert!(big_time < Duration::from_millis(500), "{big_time:?}");
    // Streaming keeps memory flat either way: the drain does not buffer the table.
    assert!(
        drain_rss < small_rss + 20 * 1024,
        "{drain_rss} KiB vs {small_rss} KiB"
    );
    conn.rollback().expect("rollback");
}

#[test]
fn hint_is_reset_for_the_next_statement() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(db) = TestDb::new("reset") else {
        return;
    };
    db.setup(&[
        "CREATE TABLE s (id INT)",
        "INSERT INTO s VALUES (1), (2), (3), (4), (5)",
    ]);
    let mut conn = db.connect(AccessMode::Read);
    let rows = |conn: &mut dyn Connection, hint| {
        let mut cursor = conn
            .execute("SELECT id FROM s ORDER BY id", &[], hint)
            .expect("select");
        let mut out = RVec::new();
        while cursor.fetch(100, &mut out).expect("fetch") > 0 {}
        out.len()
    };
    // The same (cached) prepared statement follows the current limit on every run.
    assert_eq!(rows(conn.as_mut(), 2), 2);
    assert_eq!(rows(conn.as_mut(), 0), 5);
    assert_eq!(rows(conn.as_mut(), 3), 3);
    assert_eq!(rows(conn.as_mut(), 100), 5);
    let limit = |conn: &mut dyn Connection, hint| {
        let mut cursor = conn
            .execute("SELECT @@SESSION.sql_select_limit = @@GLOBAL.sql_select_limit, @@SESSION.sql_select_limit", &[], hint)
            .expect("select limit");
        let mut out = RVec::new();
        while cursor.fetch(10, &mut out).expect("fetch") > 0 {}
        out.to_vec()
    };
    assert_eq!(limit(conn.as_mut(), 7), vec![Value::Int(0), Value::Int(7)]);
    let default = limit(conn.as_mut(), 0);
    assert_eq!(default[0], Value::Int(1), "{default:?}");
    // Introspection and server_info also run with the server's default limit.
    let _ = rows(conn.as_mut(), 1);
    let info = conn.server_info().expect("server info");
    assert!(!info.version.is_empty());
    assert_eq!(rows(conn.as_mut(), 0), 5);
}

#[test]
fn hint_never_limits_what_a_write_changes() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(db) = TestDb::new("whint") else {
        return;
    };
    db.setup(&[
        "CREATE TABLE w (id INT)",
        "INSERT INTO w VALUES (1), (2), (3), (4), (5)",
        "CREATE TABLE copy (id INT)",
    ]);
    let mut conn = db.connect(AccessMode::Write);
    conn.begin().expect("begin");
    assert_eq!(
        run(conn.as_mut(), "INSERT INTO copy SELECT id FROM w", &[]).ok(),
        Some(Some(5))
    );
    let mut cursor = conn
        .execute("UPDATE w SET id = id + 10", &[], 1)
        .expect("update");
    let mut out = RVec::new();
    assert_eq!(cursor.fetch(10, &mut out).expect("fetch"), 0);
    assert_eq!(cursor.rows_affected(), Some(5));
    drop(cursor);
    let mut cursor = conn
        .execute("INSERT INTO copy SELECT id FROM w", &[], 1)
        .expect("insert select");
    while cursor.fetch(10, &mut out).expect("fetch") > 0 {}
    assert_eq!(cursor.rows_affected(), Some(5));
    drop(cursor);
    conn.commit().expect("commit");
    assert_eq!(
        db.read("SELECT COUNT(*) FROM copy"),
        vec![vec![Value::Int(10)]]
    );
    assert_eq!(db.read("SELECT MIN(id) FROM w"), vec![vec![Value::Int(11)]]);
}

#[test]
fn hint_does_not_limit_delete_returning() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(db) = TestDb::new("dret") else {
        return;
    };
    db.setup(&[
        "CREATE TABLE r (id INT)",
        "INSERT INTO r VALUES (1), (2), (3), (4), (5)",
    ]);
    let mut conn = db.connect(AccessMode::Write);
    conn.begin().expect("begin");
    match conn.execute("DELETE FROM r RETURNING id", &[], 2) {
        Ok(mut cursor) => {
            let mut out = RVec::new();
            while cursor.fetch(1, &mut out).expect("fetch") > 0 {}
        }
        // MySQL has no RETURNING; nothing to check there.
        Err(_) => return,
    }
    conn.commit().expect("commit");
    assert_eq!(db.read("SELECT COUNT(*) FROM r"), vec![vec![Value::Int(0)]]);
}
