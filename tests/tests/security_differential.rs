//! A differential property test against SQLite: SQL generated from a grammar that mixes reads
//! with the known attack shapes (stacked writes, data-modifying CTEs, pragma setters, ATTACH,
//! VACUUM INTO, file functions, transaction control, comments hiding keywords) runs through
//! `plenum` in the read tier. For every input:
//!
//! * the database folder is byte-identical afterwards, whatever plenum answered;
//! * if plenum accepted it, the same SQL run by SQLite itself, with no read-only connection or
//!   any other backstop, on a writable copy, changes nothing either. So the gate's "read"
//!   verdict holds on its own, not only thanks to the engine's read-only session.
//!
//! The generator is deterministic. `PLENUM_DIFFERENTIAL_CASES` (default 300) and
//! `PLENUM_DIFFERENTIAL_SEED` run more or other cases; a failure prints the SQL and the seed.

use std::collections::BTreeMap;
use std::path::Path;

use plenum_e2e::{snapshot_dir, SqliteFixture};

const SCHEMA: &str = "
    CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, v REAL);
    CREATE TABLE u (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t(id), note TEXT);
    CREATE TABLE audit (at TEXT, what TEXT);
    CREATE INDEX u_t ON u (t_id);
    CREATE VIEW tv AS SELECT t.id, t.name, count(u.id) AS n FROM t LEFT JOIN u ON u.t_id = t.id
        GROUP BY t.id;
    CREATE TRIGGER t_audit AFTER INSERT ON t BEGIN
        INSERT INTO audit VALUES (datetime('now'), 'insert ' || NEW.name);
    END;
    INSERT INTO t (name, v) VALUES ('ada', 1.5), ('grace', 2.5), ('edsger', NULL);
    INSERT INTO u (t_id, note) VALUES (1, 'a;b'), (1, '--'), (2, '/* x */');
    PRAGMA user_version = 7;";

/// xorshift64*: small, fast, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const COLUMNS: &[&str] = &[
    "id",
    "name",
    "v",
    "t.id",
    "upper(name)",
    "length(name)",
    "1",
    "NULL",
];
const TABLES: &[&str] = &[
    "t",
    "u",
    "audit",
    "tv",
    "sqlite_schema",
    "pragma_table_info('t')",
];
const CONDITIONS: &[&str] = &[
    "id = 1",
    "name LIKE 'a%'",
    "v IS NULL",
    "id IN (SELECT t_id FROM u)",
    "name = ';DELETE FROM t'",
    "EXISTS (SELECT 1 FROM u WHERE u.t_id = t.id)",
    "id BETWEEN 1 AND 2",
    "coalesce(v, 0) > 1",
];
const FUNCTIONS: &[&str] = &[
    "abs(-1)",
    "random()",
    "hex(randomblob(4))",
    "json_object('a', 1)",
    "printf('%d', 5)",
    "typeof(v)",
    "sqlite_version()",
    "changes()",
    "total_changes()",
    "last_insert_rowid()",
];

/// A statement that only reads, in one of the many shapes agents write.
fn read(rng: &mut Rng) -> String {
    match rng.below(12) {
        0 => format!("SELECT {} FROM t", rng.pick(COLUMNS)),
        1 => format!(
            "SELECT {}, {} FROM t WHERE {} ORDER BY id LIMIT {}",
            rng.pick(COLUMNS),
            rng.pick(FUNCTIONS),
            rng.pick(CONDITIONS),
            rng.below(5)
        ),
        2 => format!("SELECT count(*) FROM {}", rng.pick(TABLES)),
        3 => format!(
            "WITH r AS (SELECT id FROM t WHERE {}) SELECT * FROM r JOIN u ON u.t_id = r.id",
            rng.pick(CONDITIONS)
        ),
        4 => "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 50) \
              SELECT sum(x) FROM c"
            .to_owned(),
        5 => format!(
            "EXPLAIN QUERY PLAN SELECT * FROM t WHERE {}",
            rng.pick(CONDITIONS)
        ),
        6 => format!("EXPLAIN {}", write(rng)),
        7 => rng
            .pick(&[
                "PRAGMA table_info(t)",
                "PRAGMA user_version",
                "PRAGMA journal_mode",
                "PRAGMA integrity_check",
                "PRAGMA foreign_key_list(u)",
                "PRAGMA index_list('u')",
                "PRAGMA main.page_count",
                "PRAGMA query_only",
            ])
            .to_owned(),
        8 => format!(
            "VALUES (1, '{}'), (2, 'b')",
            rng.pick(&["a", "a;b", "--", "'"]).replace('\'', "''")
        ),
        9 => format!(
            "SELECT * FROM tv WHERE {}",
            rng.pick(&["n > 0", "name = 'ada'", "1"])
        ),
        10 => format!(
            "SELECT {} UNION ALL SELECT {}",
            rng.pick(FUNCTIONS),
            rng.pick(FUNCTIONS)
        ),
        _ => format!(
            "SELECT (SELECT max(id) FROM u), (SELECT {} FROM t LIMIT 1)",
            rng.pick(COLUMNS)
        ),
    }
}

/// A statement that changes rows, the schema, files or the session.
fn write(rng: &mut Rng) -> String {
    rng.pick(&[
        "DELETE FROM t",
        "DELETE FROM u WHERE id = 1",
        "UPDATE t SET name = 'x' WHERE id = 1",
        "INSERT INTO t (name) VALUES ('mallory')",
        "REPLACE INTO t (id, name) VALUES (1, 'r')",
        "INSERT INTO t (id, name) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET name = 'up'",
        "INSERT INTO audit SELECT 'now', name FROM t",
        "WITH x AS (SELECT 1) INSERT INTO t (name) SELECT 'cte' FROM x",
        "WITH d AS (SELECT id FROM t) DELETE FROM t WHERE id IN (SELECT id FROM d)",
        "DELETE FROM t RETURNING *",
    ])
    .to_owned()
}

/// A statement that is never allowed, or needs ddl.
fn escape(rng: &mut Rng) -> String {
    rng.pick(&[
        "PRAGMA user_version = 1",
        "PRAGMA user_version(1)",
        "PRAGMA journal_mode = WAL",
        "PRAGMA journal_mode(DELETE)",
        "PRAGMA query_only(0)",
        "PRAGMA query_only = false",
        "PRAGMA writable_schema = 1",
        "PRAGMA schema_version = 1",
        "PRAGMA optimize",
        "PRAGMA incremental_vacuum",
        "PRAGMA wal_checkpoint",
        "ATTACH 'side.db' AS side",
        "ATTACH DATABASE 'file:side.db?mode=rwc' AS side",
        "DETACH side",
        "VACUUM",
        "VACUUM INTO 'copy.db'",
        "REINDEX",
        "ANALYZE",
        "CREATE TABLE z (a)",
        "CREATE TABLE z AS SELECT * FROM t",
        "CREATE TEMP TABLE z (a)",
        "CREATE INDEX z ON t (name)",
        "DROP TABLE u",
        "DROP VIEW tv",
        "ALTER TABLE t ADD COLUMN w",
        "CREATE TRIGGER z AFTER UPDATE ON t BEGIN DELETE FROM u; END",
        "BEGIN",
        "BEGIN IMMEDIATE",
        "COMMIT",
        "END",
        "ROLLBACK",
        "SAVEPOINT s",
        "RELEASE s",
        "SELECT load_extension('libevil')",
        "SELECT writefile('side.txt', 'x')",
        "SELECT readfile('app.db')",
        "SELECT fts3_tokenizer('simple')",
        "SELECT * FROM fsdir('.')",
        "CREATE VIRTUAL TABLE z USING fts5(a)",
    ])
    .to_owned()
}

/// Dresses a statement the way attacks hide keywords: comments before it, odd case, spaces.
fn disguise(rng: &mut Rng, statement: String) -> String {
    let mut text = statement;
    if rng.chance(20) {
        text = text
            .split(' ')
            .map(|word| {
                if word.chars().all(|c| c.is_ascii_alphabetic()) && word.len() > 2 {
                    let mut mixed = String::new();
                    for (index, c) in word.chars().enumerate() {
                        mixed.push(if index % 2 == 0 {
                            c.to_ascii_lowercase()
                        } else {
                            c.to_ascii_uppercase()
                        });
                    }
                    mixed
                } else {
                    word.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    match rng.below(8) {
        0 => format!("/* read only */ {text}"),
        1 => format!("-- SELECT 1\n{text}"),
        2 => format!("\n\t {text} \n"),
        3 => format!("/* ; */{text}/* ; */"),
        _ => text,
    }
}

/// One input: one to four statements of any kind, joined the ways SQL allows.
fn input(rng: &mut Rng) -> String {
    let count = 1 + rng.below(4);
    let mut statements = Vec::new();
    for _ in 0..count {
        // Mostly reads, so that many inputs pass the gate and really run.
        let statement = match rng.below(10) {
            0..=5 => read(rng),
            6 | 7 => write(rng),
            _ => escape(rng),
        };
        statements.push(disguise(rng, statement));
    }
    let separator = rng.pick(&[";", "; ", ";\n", " ; -- x\n", ";/* */"]);
    let mut sql = statements.join(separator);
    if rng.chance(30) {
        sql.push(';');
    }
    sql
}

fn folder_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot_dir(dir)
}

/// Runs `sql` with SQLite itself (its own statement splitter, a writable connection, no
/// backstops) on a copy of the database, and says whether any file of the copy changed.
fn sqlite_alone_changes_something(db: &SqliteFixture, sql: &str) -> Option<String> {
    let copy = tempfile::tempdir().expect("temp dir");
    let file = copy.path().join("app.db");
    std::fs::copy(&db.file, &file).expect("copy database");
    let before = folder_bytes(copy.path());
    let connection = rusqlite::Connection::open(&file).expect("open copy");
    // Relative paths in ATTACH / VACUUM INTO / writefile land in the copy's folder, where the
    // check below sees them.
    let cwd_files = std::env::current_dir().ok().map(|dir| folder_bytes(&dir));
    let _ = connection.execute_batch(sql);
    drop(connection);
    let after = folder_bytes(copy.path());
    if let (Some(cwd_before), Ok(dir)) = (cwd_files, std::env::current_dir()) {
        if folder_bytes(&dir) != cwd_before {
            return Some("a file changed in the current directory".into());
        }
    }
    (after != before).then(|| {
        let changed: Vec<&String> = after
            .keys()
            .chain(before.keys())
            .filter(|name| after.get(*name) != before.get(*name))
            .collect();
        format!("files changed: {changed:?}")
    })
}

#[test]
fn whatever_passes_the_read_tier_leaves_the_database_byte_identical() {
    let cases: usize = std::env::var("PLENUM_DIFFERENTIAL_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(300);
    let seed: u64 = std::env::var("PLENUM_DIFFERENTIAL_SEED")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(0x5eed_d1ff);
    let db = SqliteFixture::new(SCHEMA);
    let before = db.snapshot();
    let mut rng = Rng(seed | 1);
    let (mut accepted, mut refused) = (0usize, 0usize);
    for case in 0..cases {
        let sql = input(&mut rng);
        let run = db.query(&sql, &["--max-rows", "20", "--timeout-ms", "5000"]);
        assert_eq!(
            db.snapshot(),
            before,
            "case {case} (seed {seed}) changed the database folder: {sql:?}\n{}",
            run.stdout
        );
        if run.ok() {
            accepted += 1;
            assert_eq!(run.json["meta"]["access"], "read", "{}", run.stdout);
            if let Some(change) = sqlite_alone_changes_something(&db, &sql) {
                panic!(
                    "case {case} (seed {seed}) passed the read tier, but SQLite alone would \
                     change the database ({change}): {sql:?}"
                );
            }
        } else {
            refused += 1;
            assert!(
                ["CAPABILITY_VIOLATION", "PARSE_ERROR", "QUERY_FAILED"].contains(&run.error_code()),
                "case {case} (seed {seed}): unexpected error for {sql:?}: {}",
                run.stdout
            );
        }
    }
    eprintln!("{cases} cases: {accepted} passed the read tier and ran, {refused} refused");
    // The mix must exercise both sides, or the property says little.
    assert!(accepted * 5 >= cases, "only {accepted} of {cases} passed");
    assert!(
        refused * 5 >= cases,
        "only {refused} of {cases} were refused"
    );
    assert_eq!(db.direct("SELECT count(*) FROM t"), vec!["Integer(3)"]);
}
