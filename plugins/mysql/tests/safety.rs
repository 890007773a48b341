//! The engine-side backstops: read-only sessions, one statement per call, bound parameters
//! and transactions, checked by the rows left in the tables.

mod common;

use common::{query, run, scalar_int, text, TestDb};
use plenum_plugin_api::{AccessMode, ErrorKind, Value};

const SEED: [&str; 2] = [
    "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(100))",
    "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')",
];

fn count(db: &TestDb, table: &str) -> i64 {
    let mut conn = db.connect(AccessMode::Read);
    scalar_int(conn.as_mut(), &format!("SELECT COUNT(*) FROM `{table}`"))
}

fn table_exists(db: &TestDb, table: &str) -> bool {
    let mut conn = db.connect(AccessMode::Read);
    let (_, rows) = query(
        conn.as_mut(),
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
        &[text(&db.name), text(table)],
    )
    .expect("catalog query");
    rows == vec![vec![Value::Int(1)]]
}

#[test]
fn read_session_refuses_writes_at_the_engine() {
    let Some(db) = TestDb::new("ro") else { return };
    db.setup(&SEED);
    let writes = [
        "DELETE FROM t",
        "UPDATE t SET v = 'x'",
        "INSERT INTO t VALUES (9, 'z')",
        "REPLACE INTO t VALUES (1, 'r')",
        "TRUNCATE TABLE t",
        "DROP TABLE t",
        "CREATE TABLE t2 (a INT)",
        "ALTER TABLE t ADD COLUMN w INT",
        "/*! DELETE FROM t */",
        "/*!50000 DROP TABLE t */",
    ];
    // Inside the host's read-only transaction, and on a session where the host never began
    // one (the session default is read-only too).
    for begin in [true, false] {
        let mut conn = db.connect(AccessMode::Read);
        if begin {
            conn.begin().expect("begin");
        }
        for sql in writes {
            let error = run(conn.as_mut(), sql, &[]).expect_err(sql);
            assert_eq!(error.kind, ErrorKind::Query, "{sql}: {error}");
        }
        conn.rollback().expect("rollback");
    }
    assert_eq!(count(&db, "t"), 3);
    assert!(!table_exists(&db, "t2"));
    let rows = db.read("SELECT v FROM t ORDER BY id");
    assert_eq!(
        rows,
        vec![vec![text("a")], vec![text("b")], vec![text("c")]]
    );
}

#[test]
fn read_only_error_carries_the_sqlstate() {
    let Some(db) = TestDb::new("rostate") else {
        return;
    };
    db.setup(&SEED);
    let mut conn = db.connect(AccessMode::Read);
    conn.begin().expect("begin");
    let error = run(conn.as_mut(), "DELETE FROM t", &[]).expect_err("read-only delete");
    assert_eq!(
        error.sqlstate.as_ref().map(|s| s.as_str()).into_option(),
        Some("25006")
    );
    assert!(error.message.contains("READ ONLY"), "{error}");
}

#[test]
fn stacked_statements_fail_at_prepare() {
    let Some(db) = TestDb::new("stack") else {
        return;
    };
    db.setup(&SEED);
    let stacked = [
        "SELECT 1; DELETE FROM t",
        "SELECT 1;DELETE FROM t",
        "DELETE FROM t WHERE id = 1; DELETE FROM t",
        "SELECT 1; COMMIT; DROP TABLE t",
        "SELECT 1 /*! ; DELETE FROM t */",
        "SELECT 1--1;DELETE FROM t",
        "SELECT '--'; DELETE FROM t",
    ];
    // A write session is the worst case: each statement alone would be allowed to run.
    for access in [AccessMode::Write, AccessMode::Read] {
        let mut conn = db.connect(access);
        conn.begin().expect("begin");
        for sql in stacked {
            let error = run(conn.as_mut(), sql, &[]).expect_err(sql);
            assert_eq!(error.kind, ErrorKind::Query, "{sql}: {error}");
            assert_eq!(
                error.sqlstate.as_ref().map(|s| s.as_str()).into_option(),
                Some("42000"),
                "{sql}: {error}"
            );
        }
        conn.commit().expect("commit");
    }
    assert_eq!(count(&db, "t"), 3);
    assert!(table_exists(&db, "t"));
}

#[test]
fn executable_comment_cannot_smuggle_a_second_statement() {
    let Some(db) = TestDb::new("hint") else {
        return;
    };
    db.setup(&SEED);
    let mut conn = db.connect(AccessMode::Read);
    conn.begin().expect("begin");
    // Harmless alone: the comment's content is part of the one prepared statement.
    let (_, rows) = query(conn.as_mut(), "SELECT 1 /*!, 2 */", &[]).expect("hint select");
    assert_eq!(rows, vec![vec![Value::Int(1), Value::Int(2)]]);
    for sql in [
        "SELECT 1 /*!; DELETE FROM t */",
        "/*! SELECT 1; DELETE FROM t */",
    ] {
        assert!(run(conn.as_mut(), sql, &[]).is_err(), "{sql}");
    }
    conn.rollback().expect("rollback");
    assert_eq!(count(&db, "t"), 3);
}

#[test]
fn parameters_are_bound_not_spliced() {
    let Some(db) = TestDb::new("bind") else {
        return;
    };
    db.setup(&SEED);
    let hostile = "x'); DELETE FROM t; --";
    let mut conn = db.connect(AccessMode::Write);
    conn.begin().expect("begin");
    let affected = run(
        conn.as_mut(),
        "INSERT INTO t (id, v) VALUES (?, ?)",
        &[Value::Int(10), text(hostile)],
    )
    .expect("insert");
    assert_eq!(affected, Some(1));
    conn.commit().expect("commit");
    assert_eq!(count(&db, "t"), 4);
    let rows = db.read("SELECT v FROM t WHERE id = 10");
    assert_eq!(rows, vec![vec![text(hostile)]]);

    let mut conn = db.connect(AccessMode::Read);
    let error = run(conn.as_mut(), "SELECT ?", &[]).expect_err("missing parameter");
    assert_eq!(error.kind, ErrorKind::Query);
}

#[test]
fn named_parameter_markers_are_refused_not_rewritten() {
    let Some(db) = TestDb::new("named") else {
        return;
    };
    let mut conn = db.connect(AccessMode::Read);
    let error = run(conn.as_mut(), "SELECT :a", &[Value::Int(1)]).expect_err("named marker");
    assert_eq!(error.kind, ErrorKind::Query);
    assert!(error.message.contains("named parameters"), "{error}");
    // Inside a string literal the marker is just text.
    let (_, rows) = query(conn.as_mut(), "SELECT ':a'", &[]).expect("literal");
    assert_eq!(rows, vec![vec![text(":a")]]);
}

#[test]
fn write_session_commits_only_when_asked() {
    let Some(db) = TestDb::new("tx") else { return };
    db.setup(&SEED);
    let mut conn = db.connect(AccessMode::Write);

    conn.begin().expect("begin");
    let affected = run(conn.as_mut(), "DELETE FROM t WHERE id >= 2", &[]).expect("delete");
    assert_eq!(affected, Some(2));
    conn.rollback().expect("rollback");
    assert_eq!(count(&db, "t"), 3);

    conn.begin().expect("begin");
    let affected = run(conn.as_mut(), "UPDATE t SET v = 'z'", &[]).expect("update");
    assert_eq!(affected, Some(3));
    // Another session must not see the change before the commit.
    assert_eq!(
        db.read("SELECT COUNT(*) FROM t WHERE v = 'z'"),
        vec![vec![Value::Int(0)]]
    );
    conn.commit().expect("commit");
    assert_eq!(
        db.read("SELECT COUNT(*) FROM t WHERE v = 'z'"),
        vec![vec![Value::Int(3)]]
    );

    // A session that disconnects without committing leaves nothing behind.
    conn.begin().expect("begin");
    run(conn.as_mut(), "INSERT INTO t VALUES (4, 'd')", &[]).expect("insert");
    drop(conn);
    assert_eq!(count(&db, "t"), 3);
}

#[test]
fn show_and_describe_forms_run_as_prepared_statements() {
    let Some(db) = TestDb::new("show") else {
        return;
    };
    db.setup(&SEED);
    let mut conn = db.connect(AccessMode::Read);
    conn.begin().expect("begin");
    for sql in [
        "SHOW TABLES",
        "SHOW FULL TABLES",
        "SHOW DATABASES",
        "SHOW COLUMNS FROM t",
        "SHOW INDEX FROM t",
        "SHOW CREATE TABLE t",
        "SHOW TABLE STATUS",
        "SHOW VARIABLES LIKE 'version%'",
        "SHOW STATUS LIKE 'Uptime'",
        "SHOW GRANTS",
        "SHOW PROCESSLIST",
        "SHOW ENGINES",
        "SHOW WARNINGS",
        "DESCRIBE t",
        "DESC t",
        "EXPLAIN SELECT * FROM t WHERE id = 1",
    ] {
        let (columns, rows) =
            query(conn.as_mut(), sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert!(!columns.is_empty(), "{sql}");
        if sql != "SHOW WARNINGS" {
            assert!(!rows.is_empty(), "{sql}");
        }
    }
    let (_, rows) = query(conn.as_mut(), "SHOW TABLES", &[]).expect("show tables");
    assert_eq!(rows, vec![vec![text("t")]]);
}
