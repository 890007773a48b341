//! Bad input everywhere, through the real binary and real SQLite files: each case gets one
//! clear error (or a correct answer), exactly one envelope, and leaves every file and row as it
//! was.

use std::time::{Duration, Instant};

use plenum_e2e::{Plenum, Run, SqliteFixture};

const SCHEMA: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);
    INSERT INTO t (name) VALUES ('a'), ('b'), ('c');";

fn count(db: &SqliteFixture) -> Vec<String> {
    db.direct("SELECT count(*) FROM t")
}

fn sql_file_query(db: &SqliteFixture, sql: &[u8], extra: &[&str]) -> Run {
    let path = db.dir.path().join("input.sql");
    std::fs::write(&path, sql).expect("write SQL file");
    let run = Plenum::new(["query", "--engine", "sqlite", "--file"])
        .args([db.file.as_os_str()])
        .args(["--sql-file"])
        .args([path.as_os_str()])
        .args(extra)
        .run();
    std::fs::remove_file(&path).expect("remove SQL file");
    run
}

#[test]
fn ten_megabytes_of_sql_are_answered_and_seventeen_are_refused() {
    let db = SqliteFixture::new(SCHEMA);
    let before = db.snapshot();
    let literal = "x".repeat(10 << 20);
    let sql = format!("SELECT length('{literal}') AS n");
    let started = Instant::now();
    let run = sql_file_query(&db, sql.as_bytes(), &[]);
    run.assert_ok();
    assert_eq!(run.rows(), vec![serde_json::json!([10 << 20])]);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );

    // The same through standard input.
    let run = Plenum::new(["query", "--engine", "sqlite", "--sql-file", "-", "--file"])
        .args([db.file.as_os_str()])
        .stdin(sql.into_bytes())
        .run();
    run.assert_ok();

    let too_big = format!("SELECT '{}'", "y".repeat(17 << 20));
    let run = sql_file_query(&db, too_big.as_bytes(), &["--allow-write"]);
    run.assert_error("INVALID_INPUT");
    assert!(run.error_message().contains("at most"), "{}", run.stdout);
    assert_eq!(db.snapshot(), before);
}

#[test]
fn a_nul_byte_anywhere_in_the_sql_is_a_parse_error_and_nothing_runs() {
    let db = SqliteFixture::new(SCHEMA);
    let before = db.snapshot();
    for sql in [
        &b"SELECT 1\0; DROP TABLE t"[..],
        b"DELETE FROM t WHERE name = 'a\0'",
        b"\0",
        b"SELECT 1; -- \0\nDELETE FROM t",
    ] {
        let run = sql_file_query(&db, sql, &["--allow-ddl"]);
        run.assert_error("PARSE_ERROR");
        assert!(run.error_message().contains("NUL"), "{}", run.stdout);
    }
    assert_eq!(count(&db), vec!["Integer(3)"]);
    assert_eq!(db.snapshot(), before);
}

#[cfg(unix)]
#[test]
fn invalid_utf8_in_argv_or_in_the_sql_is_invalid_input() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let db = SqliteFixture::new(SCHEMA);
    let before = db.snapshot();
    let bad = OsStr::from_bytes(b"DELETE FROM t WHERE name = '\xff'");
    let sqlite = OsStr::new("sqlite");
    for (engine, flag, value) in [
        (sqlite, "--sql", bad),
        (
            OsStr::from_bytes(b"sq\xfflite"),
            "--sql",
            OsStr::new("SELECT 1"),
        ),
        (sqlite, "--password-env", OsStr::from_bytes(b"PW\xff")),
    ] {
        let run = Plenum::new(["query", "--allow-write", "--engine"])
            .args([engine])
            .args([OsStr::new(flag), value])
            .args(["--file"])
            .args([db.file.as_os_str()])
            .run();
        run.assert_error("INVALID_INPUT");
        assert!(run.error_message().contains("UTF-8"), "{}", run.stdout);
    }
    // From a file and from standard input: the message gives the offset of the first bad byte.
    let run = sql_file_query(
        &db,
        b"DELETE FROM t WHERE name = '\xfe'",
        &["--allow-write"],
    );
    run.assert_error("INVALID_INPUT");
    assert!(run.error_message().contains("offset 28"), "{}", run.stdout);
    let run = Plenum::new([
        "query",
        "--engine",
        "sqlite",
        "--sql-file",
        "-",
        "--allow-write",
    ])
    .args(["--file"])
    .args([db.file.as_os_str()])
    .stdin(&b"DELETE FROM t; SELECT '\xc3'"[..])
    .run();
    run.assert_error("INVALID_INPUT");
    assert_eq!(count(&db), vec!["Integer(3)"]);
    assert_eq!(db.snapshot(), before);
}

#[cfg(unix)]
#[test]
fn an_existing_database_under_a_non_utf8_path_is_refused_untouched() {
    use std::os::unix::ffi::OsStrExt;
    let db = SqliteFixture::new(SCHEMA);
    let folder = db.dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir(&folder).expect("mkdir");
    let file = folder.join("app.db");
    std::fs::copy(&db.file, &file).expect("copy database");
    let before = std::fs::read(&file).expect("read");
    for extra in [&[][..], &["--allow-ddl"][..]] {
        let run = Plenum::new(["query", "--engine", "sqlite", "--sql", "DELETE FROM t"])
            .args(["--file"])
            .args([file.as_os_str()])
            .args(extra)
            .run();
        run.assert_error("INVALID_INPUT");
        assert!(run.error_message().contains("UTF-8"), "{}", run.stdout);
    }
    // Percent-encoded in a DSN, the same path is just as refused.
    let run = Plenum::new(["query", "--allow-write", "--sql", "DELETE FROM t", "--dsn"])
        .args([format!(
            "sqlite://{}/caf%E9/app.db",
            db.dir.path().display()
        )])
        .run();
    run.assert_error("INVALID_INPUT");
    let run = Plenum::new(["introspect", "--engine", "sqlite", "--file"])
        .args([file.as_os_str()])
        .run();
    run.assert_error("INVALID_INPUT");
    assert_eq!(std::fs::read(&file).expect("read"), before);
    assert_eq!(std::fs::read_dir(&folder).expect("list").count(), 1);
}

#[test]
fn ten_thousand_statements_run_as_one_call() {
    let db = SqliteFixture::new(SCHEMA);
    let reads = "SELECT 1;".repeat(10_000);
    let run = sql_file_query(&db, reads.as_bytes(), &[]);
    run.assert_ok();
    assert_eq!(run.json["meta"]["statements"], 10_000);

    let inserts = "INSERT INTO t (name) VALUES ('n');".repeat(10_000);
    let run = sql_file_query(&db, inserts.as_bytes(), &["--allow-write"]);
    run.assert_ok();
    assert_eq!(run.json["data"]["rows_affected"], 10_000);
    assert_eq!(count(&db), vec!["Integer(10003)"]);

    // One statement above the grant at the very end: nothing of the 10,000 before it runs.
    let before = db.snapshot();
    let sneaky = format!("{inserts}DROP TABLE t;");
    let run = sql_file_query(&db, sneaky.as_bytes(), &["--allow-write"]);
    run.assert_error("CAPABILITY_VIOLATION");
    assert!(
        run.error_message().contains("statement 10001"),
        "{}",
        run.stdout
    );
    // One that fails at the engine at the end rolls back all 10,000 before it.
    let failing = format!("{inserts}INSERT INTO missing VALUES (1);");
    let run = sql_file_query(&db, failing.as_bytes(), &["--allow-write"]);
    run.assert_error("QUERY_FAILED");
    assert_eq!(count(&db), vec!["Integer(10003)"]);
    assert_eq!(db.snapshot(), before);
}

#[test]
fn deeply_nested_and_very_long_expressions_never_crash_the_process() {
    let db = SqliteFixture::new(SCHEMA);
    let before = db.snapshot();
    let cases = [
        format!("SELECT {}1{}", "(".repeat(100_000), ")".repeat(100_000)),
        format!("SELECT {}1{}", "abs(".repeat(50_000), ")".repeat(50_000)),
        format!(
            "SELECT * FROM t WHERE id IN {}SELECT 1{}",
            "(SELECT id FROM t WHERE id IN ".repeat(20_000),
            ")".repeat(20_000)
        ),
        format!("SELECT {}1", "-".repeat(100_000)),
        format!("SELECT 1{}", " + 1".repeat(200_000)),
        format!("SELECT 1{}", " UNION SELECT 1".repeat(20_000)),
        format!(
            "DELETE FROM t WHERE {}",
            vec!["id = 1"; 50_000].join(" OR ")
        ),
    ];
    for sql in &cases {
        let run = sql_file_query(&db, sql.as_bytes(), &[]);
        // Deep nesting is a parse error; long chains parse, and then the engine decides.
        if !run.ok() {
            assert!(
                ["PARSE_ERROR", "QUERY_FAILED", "CAPABILITY_VIOLATION"].contains(&run.error_code()),
                "{}: {}",
                &sql[..40],
                run.stdout
            );
        }
    }
    assert_eq!(count(&db), vec!["Integer(3)"]);
    assert_eq!(db.snapshot(), before);
}

#[test]
fn a_directory_where_a_file_is_expected_is_one_clear_error() {
    let db = SqliteFixture::new(SCHEMA);
    let before = db.snapshot();
    let folder = db.dir.path().join("folder.db");
    std::fs::create_dir(&folder).expect("mkdir");
    let dir = folder.as_os_str();

    let run = Plenum::new(["query", "--engine", "sqlite", "--sql", "SELECT 1", "--file"])
        .args([dir])
        .args(["--allow-ddl"])
        .run();
    run.assert_error("CONNECTION_FAILED");
    assert!(run.error_message().contains("directory"), "{}", run.stdout);

    let run = Plenum::new(["query", "--engine", "sqlite", "--file"])
        .args([db.file.as_os_str()])
        .args(["--sql-file"])
        .args([dir])
        .run();
    run.assert_error("INVALID_INPUT");
    assert!(run.error_message().contains("directory"), "{}", run.stdout);

    let run = Plenum::new(["introspect", "--engine", "sqlite", "--file"])
        .args([dir])
        .run();
    assert!(!run.ok(), "{}", run.stdout);

    // A folder as the saved-connection file is covered in connect_config.rs. A file where the
    // plugin path wants folders holds no plugins; the installed ones still load.
    let run = Plenum::new(["query", "--engine", "sqlite", "--sql", "SELECT 1", "--file"])
        .args([db.file.as_os_str()])
        .env("PLENUM_PLUGIN_PATH", &db.file.to_string_lossy())
        .run();
    run.assert_ok();
    assert_eq!(std::fs::read_dir(&folder).expect("list").count(), 0);
    let after = db.snapshot();
    assert_eq!(after, before);
}

/// A valid SQLite file whose pages after the first are overwritten with garbage.
fn corrupt_copy(db: &SqliteFixture) -> std::path::PathBuf {
    let connection = rusqlite::Connection::open(&db.file).expect("open");
    connection
        .execute_batch(
            "CREATE TABLE big (v TEXT);
             WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 2000)
             INSERT INTO big SELECT printf('%0200d', x) FROM c;",
        )
        .expect("fill");
    drop(connection);
    let mut bytes = std::fs::read(&db.file).expect("read");
    let page = 4096;
    for (index, byte) in bytes.iter_mut().enumerate().skip(page * 2) {
        *byte = (index as u8).wrapping_mul(31) ^ 0x5a;
    }
    let file = db.dir.path().join("corrupt.db");
    std::fs::write(&file, bytes).expect("write");
    file
}

#[test]
fn files_that_are_not_sound_sqlite_databases_fail_cleanly_and_stay_untouched() {
    let db = SqliteFixture::new(SCHEMA);
    let corrupt = corrupt_copy(&db);
    let truncated = db.dir.path().join("truncated.db");
    let header = std::fs::read(&db.file).expect("read");
    std::fs::write(&truncated, &header[..100]).expect("write");
    let random = db.dir.path().join("random.db");
    let noise: Vec<u8> = (0u32..65_536)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&random, noise).expect("write");

    for file in [&corrupt, &truncated, &random] {
        let before = std::fs::read(file).expect("read");
        for (sql, extra) in [
            ("SELECT count(*) FROM big", &[][..]),
            ("DELETE FROM big", &["--allow-write"][..]),
            ("DROP TABLE big", &["--allow-ddl"][..]),
        ] {
            let run = Plenum::new(["query", "--engine", "sqlite", "--sql", sql, "--file"])
                .args([file.as_os_str()])
                .args(extra)
                .run();
            assert!(!run.ok(), "{}: {sql}: {}", file.display(), run.stdout);
            assert!(
                ["CONNECTION_FAILED", "QUERY_FAILED"].contains(&run.error_code()),
                "{}",
                run.stdout
            );
        }
        assert_eq!(
            std::fs::read(file).expect("read"),
            before,
            "{} changed",
            file.display()
        );
    }
    // No journal or WAL was left beside them.
    let names: Vec<String> = db.snapshot().into_keys().collect();
    assert!(
        names
            .iter()
            .all(|name| !name.contains("-journal") && !name.contains("-wal")),
        "{names:?}"
    );
}

#[test]
fn absurd_limits_are_answered_not_crashed_on() {
    let db = SqliteFixture::new(SCHEMA);
    let huge = u64::MAX.to_string();
    for flag in ["--max-rows", "--max-bytes", "--timeout-ms"] {
        let run = db.query("SELECT name FROM t ORDER BY id", &[flag, &huge]);
        run.assert_ok();
        assert_eq!(run.rows().len(), 3, "{flag}: {}", run.stdout);
    }
    let run = db.query("SELECT name FROM t", &["--max-rows", "0"]);
    run.assert_ok();
    assert_eq!(run.rows().len(), 0);
    assert_eq!(run.json["meta"]["truncated"], true);
    for bad in ["-1", "1e3", "", "99999999999999999999999"] {
        db.query("SELECT 1", &["--max-rows", bad])
            .assert_error("INVALID_INPUT");
    }
    let run = db.query(
        "UPDATE t SET name = 'z' WHERE id = 1",
        &["--allow-write", "--timeout-ms", &huge],
    );
    run.assert_ok();
    assert_eq!(
        db.direct("SELECT name FROM t WHERE id = 1"),
        vec!["Text(\"z\")"]
    );
}

#[test]
fn timeouts_beyond_what_an_engine_accepts_are_capped_on_live_servers() {
    use plenum_e2e::{engine_available, mysql_url, postgres_url, server_available};
    let huge = u64::MAX.to_string();
    for (engine, url) in [("postgres", postgres_url()), ("mysql", mysql_url())] {
        if !server_available(&url, engine) || !engine_available(engine) {
            continue;
        }
        let run = Plenum::new(["query", "--sql", "SELECT 1 AS one", "--timeout-ms", &huge])
            .args(["--dsn", &url])
            .run();
        run.assert_ok();
        assert_eq!(run.rows(), vec![serde_json::json!([1])], "{engine}");
    }
}

#[test]
fn sql_that_starts_like_a_flag_is_sql() {
    let db = SqliteFixture::new(SCHEMA);
    let run = db.query("-- the count\nSELECT count(*) FROM t", &[]);
    run.assert_ok();
    assert_eq!(run.rows(), vec![serde_json::json!([3])]);
    // A flag given where the SQL belongs is taken as the SQL (a comment), so it cannot
    // raise the tier: nothing runs.
    let run = Plenum::new(["query", "--engine", "sqlite", "--file"])
        .args([db.file.as_os_str()])
        .args(["--sql", "--allow-write"])
        .run();
    run.assert_error("PARSE_ERROR");
}
