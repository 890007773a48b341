//! Each built-in plugin declares its engine's policy through the plugin API, and the gate
//! enforces it together with the dialect's default (the host's own tables): a declaration
//! adds refusals, a plugin that tries to allow what the default refuses is still refused, and
//! a plugin that declares nothing still gets its dialect's default.
//!
//! The gate refuses before anything reaches the engine, so the PostgreSQL and MySQL cases
//! need no live server; each is checked by its error class and by the absence of rows, and
//! the probe plugin (which answers every statement it receives with one row) shows that no
//! statement reached it.

use plenum_e2e::{Plenum, Run, SqliteFixture};

/// `plenum query` on the probe plugin, which declares `dialect` and, with `allow`, tries to
/// allow those functions at the read tier.
fn probe(dialect: &str, allow: &str, sql: &str) -> Run {
    probe_with(dialect, allow, sql, &[])
}

fn probe_with(dialect: &str, allow: &str, sql: &str, extra: &[&str]) -> Run {
    Plenum::new(["query", "--engine", "test-probe", "--sql", sql])
        .args(extra)
        .env("PLENUM_PROBE_DIALECT", dialect)
        .env("PLENUM_PROBE_ALLOW", allow)
        .run()
}

/// A refusal by the gate, with no rows: nothing ran.
fn assert_refused(run: &Run, reason: &str) {
    run.assert_error("CAPABILITY_VIOLATION");
    assert!(
        run.error_message().contains(reason),
        "{}",
        run.error_message()
    );
    assert!(run.json["data"]["rows"].is_null(), "{}", run.json);
}

#[test]
fn the_sqlite_plugin_declaration_refuses_raw_pages_beyond_the_default() {
    let sql = "SELECT * FROM sqlite_dbpage";
    // The dialect's default alone allows it: only the plugin's declaration refuses it.
    assert!(plenum_gate::classify(sql, plenum_gate::Dialect::Sqlite).is_ok());
    let fixture = SqliteFixture::new("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);");
    let before = std::fs::read(&fixture.file).expect("read the database");
    assert_refused(&fixture.query(sql, &[]), "raw pages");
    let write = "INSERT INTO sqlite_dbpage VALUES (1, zeroblob(4096))";
    assert_refused(&fixture.query(write, &["--allow-write"]), "raw pages");
    assert_eq!(
        std::fs::read(&fixture.file).expect("read the database"),
        before
    );
    // The defaults still hold beside the declaration.
    assert_refused(
        &fixture.query("SELECT load_extension('x')", &[]),
        "native code",
    );
    // A plugin of the same dialect that declares nothing passes the gate with it.
    probe_with("sqlite", "", sql, &["--check-only"]).assert_ok();
}

#[test]
fn the_postgres_plugin_declaration_refuses_the_statement_text_function() {
    let sql = "SELECT query FROM pg_stat_statements(true) AS s";
    let call = "SELECT pg_stat_statements(true)";
    assert!(plenum_gate::classify(call, plenum_gate::Dialect::PostgreSql).is_ok());
    let dsn = "postgres://postgres@127.0.0.1:5432/postgres";
    for sql in [sql, call] {
        let run = Plenum::new(["query", "--dsn", dsn, "--sql", sql]).run();
        assert_refused(&run, "SQL text of other sessions");
    }
    // Declared file functions with `*`: refused under any suffix, in any schema.
    let run = Plenum::new([
        "query",
        "--dsn",
        dsn,
        "--sql",
        "SELECT pg_catalog.pg_read_binary_file('/etc/passwd')",
    ])
    .run();
    assert_refused(&run, "files on the database server");
}

#[test]
fn the_mysql_plugin_declaration_refuses_the_query_cache_listing() {
    let sql = "SELECT * FROM information_schema.query_cache_info";
    assert!(plenum_gate::classify(sql, plenum_gate::Dialect::MySql).is_ok());
    let run = Plenum::new([
        "query",
        "--dsn",
        "mysql://root@127.0.0.1:3306/mysql",
        "--sql",
        sql,
    ])
    .run();
    assert_refused(&run, "SQL text of other sessions");
    // The schema-only defaults stay the host's: `threads` alone is a user's table name.
    assert!(plenum_gate::classify("SELECT * FROM threads", plenum_gate::Dialect::MySql).is_ok());
}

#[test]
fn a_plugin_cannot_allow_what_the_dialect_default_refuses() {
    let allow = "pg_read_file,lo_export,pg_ls_dir,nextval,dblink";
    for (sql, reason) in [
        ("SELECT pg_read_file('/etc/passwd')", "files"),
        ("SELECT lo_export(1, '/tmp/x')", "large objects"),
        ("SELECT * FROM pg_ls_dir('.')", "files"),
        ("SELECT dblink('host=x', 'DELETE FROM t')", "SQL text"),
    ] {
        assert_refused(&probe("postgresql", allow, sql), reason);
    }
    // A tier stays raised: nextval needs the write tier however it is declared.
    let run = probe("postgresql", allow, "SELECT nextval('s')");
    run.assert_error("CAPABILITY_VIOLATION");
    assert!(
        run.error_message().contains("write"),
        "{}",
        run.error_message()
    );
    assert!(run.json["data"]["rows"].is_null());
}

#[test]
fn a_plugin_that_declares_nothing_gets_its_dialects_default() {
    for (dialect, sql, reason) in [
        ("postgresql", "SELECT pg_read_file('/etc/passwd')", "files"),
        (
            "postgresql",
            "SELECT lo_import('/etc/passwd')",
            "large objects",
        ),
        (
            "postgresql",
            "SELECT pg_create_logical_replication_slot('s', 'p')",
            "replication",
        ),
        ("postgres", "SELECT * FROM pg_stat_activity", "SQL text"),
        ("mysql", "SELECT LOAD_FILE('/etc/passwd')", "files"),
        (
            "mysql",
            "SELECT * FROM performance_schema.threads",
            "SQL text",
        ),
        ("sqlite", "SELECT readfile('/etc/passwd')", "files"),
    ] {
        assert_refused(&probe(dialect, "", sql), reason);
    }
    // The probe itself answers what the gate lets through.
    let run = probe("postgresql", "", "SELECT 1");
    run.assert_ok();
    assert_eq!(run.json["data"]["rows"][0][0], "probe");
}
