//! The SQLite engine end to end: the built binary, the real plugin, real files.

use std::path::Path;

use plenum_e2e::{Plenum, Run, SqliteFixture};
use serde_json::json;

const SCHEMA: &str = "
    CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, avatar BLOB);
    INSERT INTO users VALUES (1, 'ann', 1.5, x'00ff10'), (2, 'bob', NULL, NULL), (3, 'c''d', -0.25, x'');
    CREATE TABLE \"update\" (\"select\" INTEGER);
    INSERT INTO \"update\" VALUES (7);
";

/// `plenum query` on the SQLite file `file`; the SQL and other flags come after.
fn query_file(file: &Path) -> Plenum {
    Plenum::new(["query", "--engine", "sqlite", "--file"]).args([file.as_os_str()])
}

/// Panics unless `run` failed with `code` and a message that contains `part`.
fn assert_error_mentions(run: &Run, code: &str, part: &str) {
    run.assert_error(code);
    assert!(
        run.error_message().contains(part),
        "{part:?} not in {}",
        run.error_message()
    );
}

#[test]
fn read_query_returns_typed_positional_rows() {
    let db = SqliteFixture::new(SCHEMA);
    let run = db.query("SELECT id, name, score, avatar FROM users ORDER BY id", &[]);
    run.assert_ok();
    assert_eq!(run.json["engine"], "sqlite");
    assert_eq!(run.json["command"], "query");
    assert_eq!(
        run.json["data"]["columns"],
        json!([
            {"name": "id", "type": "INTEGER"},
            {"name": "name", "type": "TEXT"},
            {"name": "score", "type": "REAL"},
            {"name": "avatar", "type": "BLOB"}
        ])
    );
    assert_eq!(
        run.rows(),
        vec![
            json!([1, "ann", 1.5, "AP8Q"]),
            json!([2, "bob", null, null]),
            json!([3, "c'd", -0.25, ""]),
        ]
    );
    assert_eq!(run.json["meta"]["rows_returned"], 3);
    assert_eq!(run.json["meta"]["truncated"], false);
    assert_eq!(run.json["meta"]["access"], "read");
}

#[test]
fn big_integers_become_strings_and_infinity_null() {
    let db = SqliteFixture::new("CREATE TABLE t (x);");
    let run = db.query(
        "SELECT 9007199254740993, -9007199254740992, 9e999, -9e999, 0.1",
        &[],
    );
    run.assert_ok();
    assert_eq!(
        run.rows(),
        vec![json!([
            "9007199254740993",
            -9007199254740992_i64,
            null,
            null,
            0.1
        ])]
    );
}

#[test]
fn read_only_introspection_forms_work_in_the_read_tier() {
    let db = SqliteFixture::new(SCHEMA);
    let before = db.snapshot();
    let info = db.query("PRAGMA table_info(users)", &[]);
    info.assert_ok();
    let names: Vec<_> = info.rows().iter().map(|row| row[1].clone()).collect();
    assert_eq!(
        names,
        vec![json!("id"), json!("name"), json!("score"), json!("avatar")]
    );
    db.query("PRAGMA index_list(users)", &[]).assert_ok();
    db.query("PRAGMA user_version", &[]).assert_ok();
    let plan = db.query("EXPLAIN QUERY PLAN SELECT * FROM users WHERE id = 1", &[]);
    plan.assert_ok();
    assert!(!plan.rows().is_empty());
    assert_eq!(
        db.snapshot(),
        before,
        "introspection must not change any file"
    );
}

#[test]
fn legitimate_reads_agents_run_are_allowed() {
    let db = SqliteFixture::new(SCHEMA);
    for sql in [
        "SELECT name FROM users WHERE name = '; DELETE FROM users' ",
        "/* leading comment */ SELECT 1 -- trailing comment",
        "SELECT \"select\" FROM \"update\";",
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) SELECT sum(n) FROM c",
        "SELECT u.name, row_number() OVER (ORDER BY u.id) FROM users u JOIN users v ON u.id = v.id",
        "SELECT 1; SELECT 2;",
    ] {
        let run = db.query(sql, &[]);
        run.assert_ok();
    }
    assert_eq!(db.direct("SELECT count(*) FROM users"), vec!["Integer(3)"]);
}

#[test]
fn write_tier_changes_rows_but_not_the_schema() {
    let db = SqliteFixture::new(SCHEMA);
    let run = db.query(
        "UPDATE users SET score = 9 WHERE id = 2; DELETE FROM users WHERE id = 3",
        &["--allow-write"],
    );
    run.assert_ok();
    assert_eq!(run.json["data"]["rows_affected"], 2);
    assert_eq!(run.json["meta"]["access"], "write");
    assert_eq!(
        db.direct("SELECT score FROM users ORDER BY id"),
        vec!["Real(1.5)", "Real(9.0)"]
    );
    let schema_before = db.direct("SELECT sql FROM sqlite_schema ORDER BY name");
    db.query("CREATE TABLE x (y)", &["--allow-write"])
        .assert_error("CAPABILITY_VIOLATION");
    db.query("DROP TABLE users", &["--allow-write"])
        .assert_error("CAPABILITY_VIOLATION");
    assert_eq!(
        db.direct("SELECT sql FROM sqlite_schema ORDER BY name"),
        schema_before
    );
}

#[test]
fn ddl_tier_changes_the_schema() {
    let db = SqliteFixture::new(SCHEMA);
    let run = db.query(
        "CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT); INSERT INTO audit (what) VALUES ('x')",
        &["--allow-ddl"],
    );
    run.assert_ok();
    assert_eq!(run.json["meta"]["access"], "ddl");
    assert_eq!(db.direct("SELECT what FROM audit"), vec!["Text(\"x\")"]);
}

#[test]
fn a_failing_statement_rolls_back_the_whole_call() {
    let db = SqliteFixture::new(SCHEMA);
    let run = db.query(
        "DELETE FROM users WHERE id = 1; INSERT INTO users (id, name) VALUES (2, 'duplicate')",
        &["--allow-write"],
    );
    run.assert_error("QUERY_FAILED");
    assert!(
        run.error_message().starts_with("statement 2:"),
        "{}",
        run.error_message()
    );
    assert_eq!(db.direct("SELECT count(*) FROM users"), vec!["Integer(3)"]);
}

#[test]
fn read_tier_never_creates_a_missing_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("missing.db");
    let run = query_file(&file).args(["--sql", "SELECT 1"]).run();
    assert_error_mentions(&run, "CONNECTION_FAILED", "does not exist");
    assert!(!file.exists());
    assert_eq!(
        std::fs::read_dir(dir.path())
            .map(|d| d.count())
            .unwrap_or(99),
        0
    );
    // Not even the write tier creates it; only DDL may.
    query_file(&file)
        .args(["--allow-write", "--sql", "SELECT 1"])
        .run()
        .assert_error("CONNECTION_FAILED");
    assert!(!file.exists());
}

#[test]
fn row_limit_truncates_and_flags() {
    let db = SqliteFixture::new(SCHEMA);
    let run = db.query("SELECT id FROM users ORDER BY id", &["--max-rows", "2"]);
    run.assert_ok();
    assert_eq!(run.rows(), vec![json!([1]), json!([2])]);
    assert_eq!(run.json["meta"]["truncated"], true);
    assert_eq!(run.json["meta"]["truncated_by"], "max_rows");
    let exact = db.query("SELECT id FROM users ORDER BY id", &["--max-rows", "3"]);
    assert_eq!(
        exact.json["meta"]["truncated"], false,
        "probe row must not flag an exact fit"
    );
}

#[test]
fn byte_limit_truncates_and_flags() {
    let db = SqliteFixture::new(
        "CREATE TABLE t (s TEXT); WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n < 100) INSERT INTO t SELECT printf('%050d', n) FROM c;",
    );
    let run = db.query("SELECT s FROM t", &["--max-bytes", "1000"]);
    run.assert_ok();
    let rows = run.rows();
    assert!(!rows.is_empty() && rows.len() < 100, "{} rows", rows.len());
    let bytes = serde_json::to_string(&run.json["data"]["rows"])
        .map(|s| s.len())
        .unwrap_or(0);
    assert!(bytes <= 1000, "{bytes} bytes of rows");
    assert_eq!(run.json["meta"]["truncated_by"], "max_bytes");
}

#[test]
fn runaway_recursive_cte_times_out_quickly() {
    let db = SqliteFixture::new(SCHEMA);
    let started = std::time::Instant::now();
    let run = db.query(
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c",
        &["--timeout-ms", "300"],
    );
    let elapsed = started.elapsed();
    run.assert_error("TIMEOUT");
    assert!(elapsed.as_millis() < 1500, "took {elapsed:?}");
}

#[test]
fn sql_from_a_file_and_from_stdin() {
    let db = SqliteFixture::new(SCHEMA);
    let sql_file = db.dir.path().join("q.sql");
    std::fs::write(&sql_file, "SELECT count(*) FROM users").expect("write");
    let run = query_file(&db.file)
        .args(["--sql-file"])
        .args([sql_file.as_os_str()])
        .run();
    assert_eq!(run.assert_ok().rows(), vec![json!([3])]);
    let run = query_file(&db.file)
        .args(["--sql-file", "-"])
        .stdin("SELECT max(id) FROM users")
        .run();
    assert_eq!(run.assert_ok().rows(), vec![json!([3])]);
}

#[test]
fn invalid_utf8_sql_file_is_a_clear_error() {
    let db = SqliteFixture::new(SCHEMA);
    let sql_file = db.dir.path().join("bad.sql");
    std::fs::write(&sql_file, b"SELECT '\xff\xfe'").expect("write");
    let run = query_file(&db.file)
        .args(["--sql-file"])
        .args([sql_file.as_os_str()])
        .run();
    assert_error_mentions(&run, "INVALID_INPUT", "not valid UTF-8");
    assert_error_mentions(&run, "INVALID_INPUT", "offset 8");
}

#[cfg(unix)]
#[test]
fn non_utf8_database_path_is_a_clear_error() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"bad\xffname.db"));
    let run = query_file(&path).args(["--sql", "SELECT 1"]).run();
    assert_error_mentions(&run, "INVALID_INPUT", "not valid UTF-8");
}

#[test]
fn a_file_that_is_not_a_database_fails_cleanly_and_is_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("notes.db");
    std::fs::write(&file, b"this is not a database, just text\n".repeat(200)).expect("write");
    let before = std::fs::read(&file).expect("read");
    for extra in [&[][..], &["--allow-ddl"][..]] {
        let run = query_file(&file)
            .args(["--sql", "SELECT 1"])
            .args(extra)
            .run();
        assert_error_mentions(&run, "CONNECTION_FAILED", "not a SQLite database");
    }
    assert_eq!(std::fs::read(&file).expect("read"), before);
}

#[test]
fn bad_flags_and_help_are_json() {
    Plenum::new(["query", "--no-such-flag"])
        .run()
        .assert_error("INVALID_INPUT");
    Plenum::new(["frobnicate"])
        .run()
        .assert_error("INVALID_INPUT");
    Plenum::new([
        "query",
        "--engine",
        "sqlite",
        "--max-rows",
        "many",
        "--sql",
        "x",
    ])
    .run()
    .assert_error("INVALID_INPUT");
    let help = Plenum::new(["--help"]).run();
    help.assert_ok();
    assert!(help.json["data"]["text"]
        .as_str()
        .unwrap_or("")
        .contains("query"));
    Plenum::new(["query", "--engine", "sqlite"])
        .run()
        .assert_error("INVALID_INPUT");
}

#[test]
fn the_shipped_example_answers_the_quick_start_query_and_stays_untouched() {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo.db");
    let before = std::fs::read(&demo).expect("examples/demo.db is in the repository");
    let run = query_file(&demo)
        .args(["--sql", "SELECT id, name FROM users", "--max-rows", "50"])
        .run();
    run.assert_ok();
    assert_eq!(run.rows().len(), 4);
    assert_eq!(run.rows()[0], json!([1, "Ada Lovelace"]));
    assert_eq!(std::fs::read(&demo).expect("read"), before);
}

#[test]
fn a_zero_timeout_is_refused() {
    let db = SqliteFixture::new(SCHEMA);
    let run = db.query("SELECT 1", &["--timeout-ms", "0"]);
    // Worded as the caller gave it: the flag, not the MCP argument.
    assert_error_mentions(&run, "INVALID_INPUT", "--timeout-ms");
}

/// A cold `plenum query` maps every library the plugin needs: the SQLite plugin brings its own
/// `log` (FTS5's one maths call, `plugins/sqlite/src/math.rs`) so it needs no `libm.so.6`. A
/// library it needs is named in its dynamic string table; a new maths call would bring one.
#[test]
fn the_sqlite_plugin_needs_no_maths_library() {
    let library = std::fs::read(plenum_e2e::plugin_library("sqlite")).expect("read the plugin");
    assert!(
        !library
            .windows(b"libm.so".len())
            .any(|bytes| bytes == b"libm.so"),
        "the SQLite plugin needs libm again: see plugins/sqlite/src/math.rs"
    );
    let fixture = SqliteFixture::new(
        "CREATE VIRTUAL TABLE docs USING fts5(body); \
         INSERT INTO docs(rowid, body) VALUES (1, 'apple pear'), (2, 'plum'), (3, 'kiwi');",
    );
    let run = fixture.query(
        "SELECT rowid, bm25(docs) < 0 AS ranked FROM docs WHERE docs MATCH 'apple' ORDER BY rank",
        &[],
    );
    run.assert_ok();
    assert_eq!(run.rows(), vec![json!([1, 1])], "{}", run.stdout);
}
