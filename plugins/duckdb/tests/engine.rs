//! The engine layer on its own, without the host's gate: what a DuckDB session refuses by
//! itself (external access off, configuration locked, read-only opens, one statement per
//! call), checked by outcome: files on disk and rows.

mod common;

use common::run;
use plenum_duckdb::DuckDbPlugin;
use plenum_plugin_api::abi_stable::std_types::{RString, RVec};
use plenum_plugin_api::{AccessMode, ConnectParams, Plugin, Value};

fn params(file: &std::path::Path, access: AccessMode) -> ConnectParams {
    let mut params = ConnectParams::new("duckdb", access);
    params.file = Some(RString::from(file.to_string_lossy().as_ref())).into();
    params
}

fn database(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let file = dir.path().join("shop.duckdb");
    let mut session = DuckDbPlugin::connect(&params(&file, AccessMode::Ddl)).expect("open");
    session.begin().expect("begin");
    run(
        &mut *session,
        "CREATE TABLE items (id INTEGER, label VARCHAR)",
    )
    .expect("create");
    run(&mut *session, "INSERT INTO items VALUES (1, 'a'), (2, 'b')").expect("insert");
    session.commit().expect("commit");
    drop(session);
    file
}

#[test]
fn a_read_session_reaches_no_file_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = database(&dir);
    let secret = dir.path().join("secret.csv");
    std::fs::write(&secret, "password\nhunter2\n").expect("write secret");
    let out = dir.path().join("out.csv");
    let mut session = DuckDbPlugin::connect(&params(&file, AccessMode::Read)).expect("open");
    session.begin().expect("begin");
    let s = secret.display();
    let o = out.display();
    for sql in [
        format!("SELECT * FROM read_csv('{s}')"),
        format!("SELECT * FROM '{s}'"),
        format!("SELECT content FROM read_text('{s}')"),
        format!("SELECT * FROM glob('{}/*')", dir.path().display()),
        format!("COPY (SELECT 1) TO '{o}'"),
        format!("COPY items TO '{o}'"),
        format!("EXPORT DATABASE '{}'", dir.path().join("export").display()),
        format!(
            "ATTACH '{}' AS other",
            dir.path().join("new.duckdb").display()
        ),
        "INSERT INTO items VALUES (3, 'c')".to_owned(),
        "UPDATE items SET label = 'x'".to_owned(),
        "DELETE FROM items".to_owned(),
        "CREATE TABLE t2 (x INTEGER)".to_owned(),
        "SET enable_external_access = true".to_owned(),
        "SET lock_configuration = false".to_owned(),
        "INSTALL httpfs".to_owned(),
    ] {
        let result = run(&mut *session, &sql);
        assert!(result.is_err(), "{sql} ran: {result:?}");
    }
    session.rollback().expect("rollback");
    assert!(!out.exists(), "a file was written");
    assert!(!dir.path().join("export").exists());
    assert!(!dir.path().join("new.duckdb").exists());
    let mut session = DuckDbPlugin::connect(&params(&file, AccessMode::Read)).expect("open");
    let rows = run(&mut *session, "SELECT count(*) FROM items").expect("count");
    assert_eq!(rows, vec![vec![Value::Int(2)]]);
}

#[test]
fn a_write_session_still_reaches_no_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = database(&dir);
    let out = dir.path().join("out.csv");
    let mut session = DuckDbPlugin::connect(&params(&file, AccessMode::Ddl)).expect("open");
    session.begin().expect("begin");
    for sql in [
        format!("COPY items TO '{}'", out.display()),
        format!(
            "ATTACH '{}' AS other",
            dir.path().join("new.duckdb").display()
        ),
        "SET enable_external_access = true".to_owned(),
        "RESET lock_configuration".to_owned(),
    ] {
        assert!(run(&mut *session, &sql).is_err(), "{sql} ran");
    }
    session.rollback().expect("rollback");
    assert!(!out.exists());
    assert!(!dir.path().join("new.duckdb").exists());
}

#[test]
fn one_statement_per_call_by_duckdbs_own_reading() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = database(&dir);
    let mut session = DuckDbPlugin::connect(&params(&file, AccessMode::Ddl)).expect("open");
    session.begin().expect("begin");
    for sql in [
        "SELECT 1; DELETE FROM items",
        "SELECT E'\\''; DELETE FROM items; -- '",
        "SELECT $$a$$; DROP TABLE items",
    ] {
        assert!(run(&mut *session, sql).is_err(), "{sql} ran");
    }
    session.commit().expect("commit");
    let rows = run(&mut *session, "SELECT count(*) FROM items").expect("count");
    assert_eq!(rows, vec![vec![Value::Int(2)]]);
    // Writes report rows changed, not a `Count` row.
    let cursor = session
        .execute("CREATE TABLE copy AS SELECT * FROM items", &[], 0)
        .expect("ctas");
    assert!(cursor.columns().is_empty());
    assert_eq!(cursor.rows_affected(), Some(2));
    drop(cursor);
    let cursor = session
        .execute("UPDATE items SET label = 'z'", &[], 0)
        .expect("update");
    assert_eq!(cursor.rows_affected(), Some(2));
}

#[test]
fn a_read_never_creates_the_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.duckdb");
    assert!(DuckDbPlugin::connect(&params(&missing, AccessMode::Read)).is_err());
    assert!(!missing.exists());
}

#[test]
fn values_keep_their_meaning() {
    let mut session =
        DuckDbPlugin::connect(&ConnectParams::new("duckdb", AccessMode::Read)).expect("memory");
    let rows = run(
        &mut *session,
        "SELECT 12345678901234567890.123::DECIMAL(38,3), 170141183460469231731687303715884105727::HUGEINT, \
         [1, 2, 3], {'a': 1, 'b': 'x'}, MAP {'k': 1}, '6f1b7e5c-3a4b-4c5d-9e8f-0123456789ab'::UUID, \
         INTERVAL 1 DAY + INTERVAL 2 HOUR, TIMESTAMPTZ '2024-01-02 03:04:05+00', '\\x41'::BLOB, \
         DATE '2024-02-29', 'x'::ENUM('x', 'y')",
    )
    .expect("types");
    let row = &rows[0];
    assert_eq!(row[0], Value::Decimal("12345678901234567890.123".into()));
    assert_eq!(
        row[1],
        Value::Decimal("170141183460469231731687303715884105727".into())
    );
    assert_eq!(row[2], Value::Json("[1,2,3]".into()));
    assert_eq!(row[3], Value::Json(r#"{"a":1,"b":"x"}"#.into()));
    assert_eq!(row[4], Value::Json(r#"[{"key":"k","value":1}]"#.into()));
    assert_eq!(
        row[5],
        Value::Text("6f1b7e5c-3a4b-4c5d-9e8f-0123456789ab".into())
    );
    assert_eq!(row[6], Value::Text("P1DT2H".into()));
    assert_eq!(row[7], Value::Text("2024-01-02T03:04:05".into()));
    assert_eq!(row[8], Value::Bytes(vec![0x41].into()));
    assert_eq!(row[9], Value::Text("2024-02-29".into()));
    assert_eq!(row[10], Value::Text("x".into()));
}

#[test]
fn json_unions_arrays_and_exact_numbers_keep_their_meaning() {
    let mut session =
        DuckDbPlugin::connect(&ConnectParams::new("duckdb", AccessMode::Read)).expect("memory");
    let mut cursor = session
        .execute(
            "SELECT '{\"k\": [1, 2], \"s\": \"x\"}'::JSON AS j, \
             union_value(num := 2)::UNION(num INTEGER, str VARCHAR) AS u, \
             [1, 2, 3]::INTEGER[3] AS a, -0.05::DECIMAL(5,2) AS d, \
             (-170141183460469231731687303715884105727)::HUGEINT AS h, \
             9007199254740993::UBIGINT AS big, \
             {'inner': [{'m': MAP {1: 'one'}}]} AS nested, NULL::JSON AS nothing",
            &[],
            0,
        )
        .expect("types");
    let types: Vec<String> = cursor
        .columns()
        .iter()
        .map(|column| column.type_name.to_string())
        .collect();
    assert_eq!(
        types,
        ["JSON", "UNION", "ARRAY", "DECIMAL", "HUGEINT", "UBIGINT", "STRUCT", "JSON"]
    );
    let mut row = RVec::new();
    assert_eq!(cursor.fetch(10, &mut row).expect("fetch"), 1);
    assert_eq!(row[0], Value::Json(r#"{"k": [1, 2], "s": "x"}"#.into()));
    assert_eq!(row[1], Value::Json("2".into()));
    assert_eq!(row[2], Value::Json("[1,2,3]".into()));
    assert_eq!(row[3], Value::Decimal("-0.05".into()));
    assert_eq!(
        row[4],
        Value::Decimal("-170141183460469231731687303715884105727".into())
    );
    assert_eq!(row[5], Value::UInt(9_007_199_254_740_993));
    assert_eq!(
        row[6],
        Value::Json(r#"{"inner":[{"m":[{"key":1,"value":"one"}]}]}"#.into())
    );
    assert_eq!(row[7], Value::Null);
}

#[test]
fn cancel_interrupts_a_running_query() {
    let mut session =
        DuckDbPlugin::connect(&ConnectParams::new("duckdb", AccessMode::Read)).expect("memory");
    let cancel = session.cancel_handle().expect("handle");
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        cancel.cancel().expect("cancel");
    });
    let started = std::time::Instant::now();
    let result = run(
        &mut *session,
        "SELECT count(*) FROM range(10000000000) a WHERE a.range % 7 = 3",
    );
    stopper.join().expect("join");
    assert!(result.is_err(), "{result:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn a_read_session_runs_only_what_duckdbs_parser_reads_as_a_query() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = database(&dir);
    let mut session = DuckDbPlugin::connect(&params(&file, AccessMode::Read)).expect("open");
    for sql in [
        "SELECT 1",
        "FROM items",
        "DESCRIBE items",
        "SUMMARIZE items",
        "WITH a AS (SELECT 1) SELECT * FROM a",
        "EXPLAIN SELECT * FROM items",
        "EXPLAIN (FORMAT JSON) SELECT * FROM items",
    ] {
        assert!(run(&mut *session, sql).is_ok(), "{sql} was refused");
    }
    // DuckDB's extraction cannot read this one at all: refused before its parser is asked.
    let sql = "WITH d AS (DELETE FROM items RETURNING *) SELECT * FROM d";
    assert!(run(&mut *session, sql).is_err(), "{sql} ran");
    for sql in [
        "EXPLAIN ANALYZE SELECT 1",
        "EXPLAIN (ANALYZE, FORMAT JSON) SELECT 1",
        "PRAGMA version",
        "CALL duckdb_tables()",
        "INSERT INTO items VALUES (9, 'z')",
    ] {
        let error = run(&mut *session, sql).expect_err(sql);
        assert!(error.contains("runs only queries"), "{sql}: {error}");
    }
    let rows = run(&mut *session, "SELECT count(*) FROM items").expect("count");
    assert_eq!(rows, vec![vec![Value::Int(2)]]);
}
