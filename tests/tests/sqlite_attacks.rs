//! The public bypasses of read-only database tools (shared/THREATS.md), against a real SQLite
//! file: each must fail in the tiers it does not belong to, and the outcome is checked on the
//! file's bytes and the directory listing, not only the error code.

use plenum_e2e::SqliteFixture;

const SCHEMA: &str = "
    CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
    INSERT INTO users VALUES (1, 'ann'), (2, 'bob');
    CREATE TABLE audit (what TEXT);
";

/// Statements that must never change anything in the read tier.
const READ_TIER_ATTACKS: &[&str] = &[
    "DELETE FROM users",
    "SELECT 1; DELETE FROM users",
    "SELECT 1; COMMIT; DROP TABLE users",
    "COMMIT; DELETE FROM users",
    "BEGIN; DELETE FROM users; COMMIT",
    "/* x */ DELETE FROM users",
    "-- x\nDELETE FROM users",
    "SELECT '--'; DELETE FROM users",
    "WITH x AS (SELECT 1) DELETE FROM users",
    "WITH x AS (SELECT 1) INSERT INTO audit SELECT 'x'",
    "INSERT INTO audit VALUES ('x')",
    "UPDATE users SET name = 'x'",
    "REPLACE INTO audit VALUES ('x')",
    "INSERT INTO audit VALUES ('x') RETURNING *",
    "DROP TABLE users",
    "CREATE TABLE t2 AS SELECT * FROM users",
    "CREATE TEMP TABLE t3 (x)",
    "ALTER TABLE users ADD COLUMN x",
    "PRAGMA user_version = 1",
    "PRAGMA user_version(7)",
    "PRAGMA journal_mode = WAL",
    "PRAGMA journal_mode(WAL)",
    "PRAGMA query_only(0)",
    "PRAGMA query_only = OFF",
    "PRAGMA writable_schema = ON",
    "ATTACH 'new.db' AS n",
    "ATTACH DATABASE 'new.db' AS n",
    "DETACH n",
    "VACUUM",
    "VACUUM INTO 'copy.db'",
    "SELECT load_extension('/tmp/x')",
    "SELECT writefile('pwned.txt', 'x')",
    "SELECT readfile('/etc/passwd')",
    "SELECT * FROM users WHERE name = load_extension('x')",
    "REINDEX",
    "ANALYZE",
    "SAVEPOINT a",
    "RELEASE a",
    "ROLLBACK",
    "END",
    "CREATE TRIGGER t AFTER INSERT ON users BEGIN DELETE FROM users; END",
    "CREATE VIEW v AS SELECT 1",
    "EXPLAIN DELETE FROM users; DELETE FROM users",
    "",
    "   ;  ; ",
    "-- only a comment",
    "SELEC 1",
    "DELETE FROM users WHERE id = (SELECT 1",
];

/// Statements that must never change anything in the write tier either.
const WRITE_TIER_ATTACKS: &[&str] = &[
    "DROP TABLE users",
    "CREATE TABLE t2 (x)",
    "CREATE TABLE t2 AS SELECT * FROM users",
    "ALTER TABLE users RENAME TO people",
    "DELETE FROM users; DROP TABLE audit",
    "DELETE FROM users; COMMIT; DROP TABLE audit",
    "PRAGMA user_version = 1",
    "PRAGMA journal_mode = WAL",
    "ATTACH 'new.db' AS n",
    "VACUUM INTO 'copy.db'",
    "SELECT writefile('pwned.txt', 'x')",
    "SELECT load_extension('/tmp/x')",
    "BEGIN",
    "COMMIT",
    "CREATE INDEX i ON users(name)",
];

/// Statements that stay refused even with --allow-ddl.
const DDL_TIER_REFUSED: &[&str] = &[
    "ATTACH 'new.db' AS n",
    "VACUUM INTO 'copy.db'",
    "SELECT writefile('pwned.txt', 'x')",
    "SELECT load_extension('/tmp/x')",
    "PRAGMA writable_schema = ON",
    "BEGIN",
    "COMMIT",
    "SAVEPOINT a",
];

fn assert_nothing_changed(db: &SqliteFixture, flags: &[&str], attacks: &[&str]) {
    let before = db.snapshot();
    for sql in attacks {
        let run = db.query(sql, flags);
        assert!(!run.ok(), "{flags:?} allowed {sql:?}: {}", run.stdout);
        assert!(
            matches!(
                run.error_code(),
                "CAPABILITY_VIOLATION" | "PARSE_ERROR" | "QUERY_FAILED"
            ),
            "{sql:?} failed with {}",
            run.stdout
        );
        assert_eq!(
            db.snapshot(),
            before,
            "{flags:?} {sql:?} changed the directory"
        );
    }
}

#[test]
fn read_tier_holds_against_every_known_bypass() {
    let db = SqliteFixture::new(SCHEMA);
    assert_nothing_changed(&db, &[], READ_TIER_ATTACKS);
}

#[test]
fn write_tier_holds_against_schema_and_file_changes() {
    let db = SqliteFixture::new(SCHEMA);
    assert_nothing_changed(&db, &["--allow-write"], WRITE_TIER_ATTACKS);
}

#[test]
fn ddl_tier_still_refuses_file_and_session_escapes() {
    let db = SqliteFixture::new(SCHEMA);
    assert_nothing_changed(&db, &["--allow-ddl"], DDL_TIER_REFUSED);
}

#[test]
fn refusals_name_the_flag_that_is_needed() {
    let db = SqliteFixture::new(SCHEMA);
    let run = db.query("DELETE FROM users", &[]);
    run.assert_error("CAPABILITY_VIOLATION");
    assert!(
        run.error_message().contains("--allow-write"),
        "{}",
        run.error_message()
    );
    let run = db.query("DROP TABLE users", &["--allow-write"]);
    run.assert_error("CAPABILITY_VIOLATION");
    assert!(
        run.error_message().contains("--allow-ddl"),
        "{}",
        run.error_message()
    );
    let run = db.query("SELEC 1", &[]);
    run.assert_error("PARSE_ERROR");
    assert!(
        run.error_message().contains("line"),
        "{}",
        run.error_message()
    );
}

#[test]
fn refusals_name_what_inside_the_statement_needs_the_tier() {
    let db = SqliteFixture::new(SCHEMA);
    let before = db.snapshot();
    let cte = db.query(
        "WITH d AS (DELETE FROM users WHERE name = 'hunter2-s3cr3t' RETURNING *) SELECT * FROM d",
        &[],
    );
    cte.assert_error("CAPABILITY_VIOLATION");
    assert_eq!(
        cte.error_message(),
        "statement 1 (WITH … SELECT) contains a DELETE (in CTE `d`), which needs --allow-write"
    );
    let file = db.query(
        "WITH x AS (SELECT readfile('/tmp/hunter2-s3cr3t')) SELECT * FROM x",
        &["--allow-ddl"],
    );
    file.assert_error("CAPABILITY_VIOLATION");
    assert!(
        file.error_message()
            .starts_with("WITH … SELECT is refused: readfile() (in CTE `x`): "),
        "{}",
        file.error_message()
    );
    // The literals reach neither the envelope nor stderr.
    for run in [&cte, &file] {
        assert!(!run.stdout.contains("hunter2"), "{}", run.stdout);
        assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    }
    assert_eq!(db.snapshot(), before);
}

#[test]
fn environment_ceiling_binds_the_flags() {
    let db = SqliteFixture::new(SCHEMA);
    let before = db.snapshot();
    let run = plenum_e2e::Plenum::new(["query", "--engine", "sqlite", "--allow-write", "--file"])
        .args([db.file.as_os_str()])
        .args(["--sql", "DELETE FROM users"])
        .env("PLENUM_MAX_CAPABILITY", "read")
        .run();
    run.assert_error("CAPABILITY_VIOLATION");
    assert!(
        run.error_message().contains("PLENUM_MAX_CAPABILITY"),
        "{}",
        run.error_message()
    );
    assert_eq!(db.snapshot(), before);
    let bad = plenum_e2e::Plenum::new(["query", "--engine", "sqlite", "--file"])
        .args([db.file.as_os_str()])
        .args(["--sql", "SELECT 1"])
        .env("PLENUM_MAX_CAPABILITY", "everything")
        .run();
    bad.assert_error("CONFIG_ERROR");
}
