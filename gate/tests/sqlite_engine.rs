//! The gate's verdicts against a real SQLite file, with no other layer in the way: every
//! statement text the gate passes is exactly one statement to SQLite, and every statement it
//! calls a read leaves the database file and its directory byte-for-byte unchanged when run
//! on a writable connection.

mod support;

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::Path;

use plenum_gate::{classify, Dialect, Tier};
use rusqlite::Connection;
use support::cases::{ALL_DIALECTS, SQLITE};

const SCHEMA: &str = "
    CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, age INTEGER);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), total REAL);
    CREATE TABLE docs (id INTEGER PRIMARY KEY, data TEXT, body TEXT);
    CREATE TABLE \"select\" (\"update\" TEXT, \"delete\" TEXT);
    CREATE TABLE ユーザー (émoji_naïve TEXT, 名前 TEXT);
    CREATE INDEX users_name ON users (name);
    CREATE VIEW v_users AS SELECT id, name FROM users;
    INSERT INTO users VALUES (1, 'ann', 30), (2, 'bob', 40), (3, NULL, NULL);
    INSERT INTO orders VALUES (1, 1, 10.5), (2, 1, 20), (3, 2, 5);
    INSERT INTO docs VALUES (1, '{\"a\": 1}', 'hello');
    INSERT INTO \"select\" VALUES ('u', 'd');
";

/// Every file in the directory with a hash of its bytes.
fn fingerprint(dir: &Path) -> BTreeMap<String, u64> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        let mut hasher = DefaultHasher::new();
        bytes.hash(&mut hasher);
        files.insert(
            entry.file_name().to_string_lossy().into_owned(),
            hasher.finish(),
        );
    }
    files
}

fn run_to_end(connection: &Connection, sql: &str) -> rusqlite::Result<()> {
    let mut statement = connection.prepare(sql)?;
    let mut rows = statement.raw_query();
    while rows.next()?.is_some() {}
    Ok(())
}

/// Extra inputs beyond the verdict tables: shapes whose effect only shows on a real file.
const EXTRA: &[&str] = &[
    "ATTACH 'attached.db' AS other",
    "VACUUM INTO 'copy.db'",
    "PRAGMA user_version = 7",
    "PRAGMA journal_mode = WAL",
    "PRAGMA query_only(0)",
    "SELECT 1; CREATE TABLE sneaky (a)",
    "SELECT 'x'; DELETE FROM users",
    "SELECT 1 --; DELETE FROM users\n",
    "SELECT 1 /* ; DELETE FROM users */",
    "SELECT \"x;y\" FROM (SELECT 1 AS \"x;y\")",
    "SELECT [a;b] FROM (SELECT 1 AS [a;b])",
    "PRAGMA table_info(users); PRAGMA index_list(users); PRAGMA foreign_key_list(orders)",
    "PRAGMA integrity_check; PRAGMA quick_check; PRAGMA database_list; PRAGMA compile_options",
    "SELECT * FROM pragma_table_info('users')",
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 100) SELECT sum(n) FROM c",
];

#[test]
fn verdicts_hold_on_a_real_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("main.db");
    let connection = Connection::open(&path).unwrap();
    connection.execute_batch(SCHEMA).unwrap();

    let inputs = ALL_DIALECTS
        .iter()
        .chain(SQLITE)
        .map(|(sql, _)| *sql)
        .chain(EXTRA.iter().copied());
    let mut reads_run = 0;
    let mut statements_prepared = 0;
    let mut problems = Vec::new();
    for input in inputs {
        let Ok(statements) = classify(input, Dialect::Sqlite) else {
            continue;
        };
        for statement in statements {
            // One statement, exactly: SQLite itself finds no second statement in the text.
            match connection.prepare(&statement.sql) {
                Err(rusqlite::Error::MultipleStatement) => {
                    problems.push(format!("{:?} holds several statements", statement.sql))
                }
                Err(_) => continue, // missing object or syntax SQLite lacks: it will not run
                Ok(_) => statements_prepared += 1,
            }
            if statement.tier != Tier::Read {
                continue;
            }
            let before = fingerprint(dir.path());
            let outcome = run_to_end(&connection, &statement.sql);
            let after = fingerprint(dir.path());
            if before != after {
                problems.push(format!(
                    "read {:?} changed the files ({outcome:?}): {before:?} -> {after:?}",
                    statement.sql
                ));
            }
            if outcome.is_ok() {
                reads_run += 1;
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The corpus really ran: most reads found their tables.
    assert!(reads_run >= 80, "only {reads_run} reads ran");
    assert!(
        statements_prepared >= 120,
        "only {statements_prepared} statements prepared"
    );
}

#[test]
fn refused_shapes_really_have_effects_on_sqlite() {
    // Run straight on SQLite (no gate), each of these changes the files; the gate refuses
    // them in every tier, so a read that let them through would have been caught above.
    for template in [
        "ATTACH '{dir}/attached.db' AS other",
        "VACUUM INTO '{dir}/copy.db'",
        "PRAGMA user_version = 7",
        "PRAGMA journal_mode = WAL",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let sql = template.replace("{dir}", &dir.path().to_string_lossy());
        let connection = Connection::open(dir.path().join("main.db")).unwrap();
        connection.execute_batch(SCHEMA).unwrap();
        let before = fingerprint(dir.path());
        run_to_end(&connection, &sql).unwrap();
        // ATTACH creates the file lazily; touching the schema makes SQLite write it.
        let _ = connection.execute_batch("CREATE TABLE IF NOT EXISTS other.t (a)");
        let after = fingerprint(dir.path());
        assert_ne!(before, after, "{sql} had no visible effect");
        assert!(
            matches!(
                classify(&sql, Dialect::Sqlite),
                Err(plenum_gate::GateError::Refused { .. })
            ),
            "{sql}"
        );
    }
}
