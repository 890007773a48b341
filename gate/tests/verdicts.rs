//! Table-driven verdicts: every shape of THREATS.md per dialect, and the reads agents run.
//! Each case is checked with `classify` and with `check` at every grant, so a shape that
//! belongs to a higher tier is shown to fail in every lower one.

mod support;

use plenum_gate::Dialect;
use support::cases::{ALL_DIALECTS, GENERIC, MYSQL, POSTGRES, SQLITE};
use support::{kind_of, run_table};

#[test]
fn every_dialect() {
    for dialect in [
        Dialect::Sqlite,
        Dialect::PostgreSql,
        Dialect::MySql,
        Dialect::Generic,
    ] {
        run_table(dialect, ALL_DIALECTS);
    }
}

#[test]
fn sqlite() {
    run_table(Dialect::Sqlite, SQLITE);
}

#[test]
fn postgres() {
    run_table(Dialect::PostgreSql, POSTGRES);
}

#[test]
fn mysql() {
    run_table(Dialect::MySql, MYSQL);
}

#[test]
fn generic() {
    run_table(Dialect::Generic, GENERIC);
}

#[test]
fn case_count() {
    let total =
        ALL_DIALECTS.len() * 4 + SQLITE.len() + POSTGRES.len() + MYSQL.len() + GENERIC.len();
    assert!(total >= 300, "only {total} cases");
}

#[test]
fn kinds() {
    let cases: &[(Dialect, &str, &str)] = &[
        (Dialect::Sqlite, "SELECT 1", "SELECT"),
        (Dialect::Sqlite, "  /* c */ select 1", "SELECT"),
        (Dialect::Sqlite, "VALUES (1)", "VALUES"),
        (Dialect::Sqlite, "INSERT INTO t VALUES (1)", "INSERT"),
        (Dialect::Sqlite, "REPLACE INTO t VALUES (1)", "REPLACE"),
        (Dialect::Sqlite, "UPDATE t SET a = 1", "UPDATE"),
        (Dialect::Sqlite, "DELETE FROM t", "DELETE"),
        (Dialect::Sqlite, "CREATE TABLE t (a)", "CREATE TABLE"),
        (
            Dialect::Sqlite,
            "CREATE TEMP TABLE IF NOT EXISTS t (a)",
            "CREATE TABLE",
        ),
        (
            Dialect::Sqlite,
            "CREATE UNIQUE INDEX i ON t (a)",
            "CREATE INDEX",
        ),
        (
            Dialect::Sqlite,
            "CREATE VIRTUAL TABLE v USING fts5(a)",
            "CREATE VIRTUAL TABLE",
        ),
        (Dialect::Sqlite, "DROP TABLE IF EXISTS t", "DROP TABLE"),
        (Dialect::Sqlite, "ALTER TABLE t ADD COLUMN b", "ALTER TABLE"),
        (Dialect::Sqlite, "PRAGMA table_info(t)", "PRAGMA"),
        (Dialect::Sqlite, "PRAGMA user_version = 1", "PRAGMA"),
        (
            Dialect::Sqlite,
            "EXPLAIN QUERY PLAN SELECT 1",
            "EXPLAIN QUERY PLAN",
        ),
        (Dialect::Sqlite, "BEGIN", "BEGIN"),
        (Dialect::Sqlite, "ATTACH 'x' AS y", "ATTACH"),
        (
            Dialect::PostgreSql,
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            "WITH … SELECT",
        ),
        (
            Dialect::PostgreSql,
            "WITH x AS (SELECT 1) DELETE FROM t",
            "WITH … DELETE",
        ),
        (
            Dialect::PostgreSql,
            "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
            "WITH … INSERT",
        ),
        (Dialect::PostgreSql, "SELECT * INTO n FROM t", "SELECT INTO"),
        (Dialect::PostgreSql, "SELECT 1 UNION SELECT 2", "SELECT"),
        (
            Dialect::PostgreSql,
            "EXPLAIN ANALYZE DELETE FROM t",
            "EXPLAIN ANALYZE",
        ),
        (
            Dialect::PostgreSql,
            "EXPLAIN (ANALYZE) DELETE FROM t",
            "EXPLAIN ANALYZE",
        ),
        (Dialect::PostgreSql, "EXPLAIN DELETE FROM t", "EXPLAIN"),
        (Dialect::PostgreSql, "TABLE t", "TABLE"),
        (Dialect::PostgreSql, "DO $$ BEGIN END $$", "DO"),
        (Dialect::PostgreSql, "CALL p()", "CALL"),
        (
            Dialect::PostgreSql,
            "CREATE OR REPLACE FUNCTION f() RETURNS int AS 'SELECT 1' LANGUAGE sql",
            "CREATE FUNCTION",
        ),
        (
            Dialect::PostgreSql,
            "CREATE MATERIALIZED VIEW v AS SELECT 1",
            "CREATE MATERIALIZED VIEW",
        ),
        (
            Dialect::PostgreSql,
            "COMMENT ON TABLE t IS 'x'",
            "COMMENT ON",
        ),
        (Dialect::PostgreSql, "SET ROLE x", "SET ROLE"),
        (
            Dialect::PostgreSql,
            "SET TRANSACTION READ WRITE",
            "SET TRANSACTION",
        ),
        (
            Dialect::PostgreSql,
            "START TRANSACTION",
            "START TRANSACTION",
        ),
        (Dialect::PostgreSql, "COPY t TO STDOUT", "COPY"),
        (Dialect::PostgreSql, "SELECT lo_export(1, 'x')", "SELECT"),
        (
            Dialect::PostgreSql,
            "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE",
            "MERGE",
        ),
        (
            Dialect::MySql,
            "SHOW FULL PROCESSLIST",
            "SHOW FULL PROCESSLIST",
        ),
        (Dialect::MySql, "SHOW TABLES", "SHOW TABLES"),
        (Dialect::MySql, "SHOW INDEX FROM t", "SHOW INDEX"),
        (Dialect::MySql, "DESCRIBE t", "DESCRIBE"),
        (Dialect::MySql, "(SELECT 1) INTO OUTFILE '/tmp/x'", "SELECT"),
        (
            Dialect::MySql,
            "LOAD DATA INFILE 'x' INTO TABLE t",
            "LOAD DATA",
        ),
        (Dialect::MySql, "LOCK TABLES t READ", "LOCK TABLES"),
        (Dialect::MySql, "/*! DROP TABLE t */", "EXECUTABLE COMMENT"),
        (Dialect::MySql, "RENAME TABLE a TO b", "RENAME TABLE"),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(dialect, sql, expected)| {
            let got = kind_of(*dialect, sql);
            (got != *expected)
                .then(|| format!("[{dialect}] {sql:?}: expected {expected:?}, got {got:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
