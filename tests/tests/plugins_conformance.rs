//! The built-in engine plugins pass the conformance kit (`plenum-plugin-conformance`): SQLite
//! always, PostgreSQL and MySQL/MariaDB against the live servers (skipped with a notice when a
//! server is down, failed under `CI=true`).

use std::time::Duration;

use plenum_e2e::{mysql_url, plugin_library, postgres_url, server_available, unique_name};
use plenum_plugin_conformance::api::abi_stable::std_types::ROption;
use plenum_plugin_conformance::api::{AccessMode, ConnectParams, SslMode, Value};
use plenum_plugin_conformance::{run, ConformanceTarget, Outcome, TypeProbe};

fn some(text: &str) -> ROption<plenum_plugin_conformance::api::abi_stable::std_types::RString> {
    ROption::RSome(text.into())
}

/// Host, port, user and database of a `scheme://user@host:port/database` URL.
fn server_params(engine: &str, url: &str) -> ConnectParams {
    let rest = url.split("://").nth(1).unwrap_or_default();
    let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, host_port) = authority.rsplit_once('@').unwrap_or(("", authority));
    let user = user.split(':').next().unwrap_or_default();
    let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, ""));
    let mut params = ConnectParams::new(engine, AccessMode::Read);
    params.host = some(host);
    params.port = port.parse().ok().into();
    if !user.is_empty() {
        params.user = some(user);
    }
    let database = database.split('?').next().unwrap_or_default();
    if !database.is_empty() {
        params.database = some(database);
    }
    params.ssl_mode = SslMode::Disable;
    params.statement_timeout_ms = 60_000;
    params
}

/// A server on a port where nothing listens.
fn unreachable(engine: &str) -> ConnectParams {
    let mut params = ConnectParams::new(engine, AccessMode::Read);
    params.host = some("127.0.0.1");
    params.port = ROption::RSome(1);
    params.user = some("nobody");
    params.ssl_mode = SslMode::Disable;
    params
}

#[test]
fn sqlite_passes_the_conformance_kit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("conformance.db");
    rusqlite::Connection::open(&file).expect("create database");
    let mut params = ConnectParams::new("sqlite", AccessMode::Read);
    params.file = some(&file.to_string_lossy());
    let mut target = ConformanceTarget::new(plugin_library("sqlite"), "sqlite", params);
    target.setup_sql = vec!["CREATE TABLE items (id INTEGER, label TEXT)".into()];
    target.cleanup_sql = vec!["DROP TABLE items".into()];
    target.insert_sql = "INSERT INTO items (id, label) VALUES (1, 'one')".into();
    target.count_sql = "SELECT count(*) FROM items".into();
    target.many_rows_sql =
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 5000) SELECT x, 'row ' || x FROM n"
            .into();
    target.slow_query_sql =
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
            .into();
    target.invalid_sql = "SELEC 1".into();
    target.type_probes = vec![
        TypeProbe::new("SELECT 42", vec![Value::Int(42)]),
        TypeProbe::new("SELECT -9223372036854775808", vec![Value::Int(i64::MIN)]),
        TypeProbe::new("SELECT 1.5", vec![Value::Float(1.5)]),
        TypeProbe::new("SELECT 'héllo'", vec![Value::Text("héllo".into())]),
        TypeProbe::new("SELECT x'00ff'", vec![Value::Bytes(vec![0, 255].into())]),
        TypeProbe::new("SELECT NULL", vec![Value::Null]),
        TypeProbe::echo("SELECT ?", Value::Int(-7)),
        TypeProbe::echo("SELECT ?", Value::Text("a'b\"c".into())),
        TypeProbe::echo("SELECT ?", Value::Bytes(vec![1, 2, 3].into())),
    ];
    let mut missing = ConnectParams::new("sqlite", AccessMode::Read);
    missing.file = some(&dir.path().join("missing.db").to_string_lossy());
    target.unreachable_params = Some(missing);
    target.cancel_within = Duration::from_secs(3);

    let report = run(&target);
    eprintln!("{report}");
    report.assert_passed();
    // The kit's writes in read sessions reached the file as refusals, not as rows.
    let connection = rusqlite::Connection::open(&file).expect("open");
    let tables: i64 = connection
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'items'",
            [],
            |row| row.get(0),
        )
        .expect("query");
    assert_eq!(tables, 0, "cleanup dropped the table");
    assert!(
        !dir.path().join("missing.db").exists(),
        "a read session never creates a database file"
    );
}

#[test]
fn postgres_passes_the_conformance_kit() {
    let url = postgres_url();
    if !server_available(&url, "PostgreSQL") {
        return;
    }
    let schema = unique_name("plenum_conformance");
    let mut target = ConformanceTarget::new(
        plugin_library("postgres"),
        "postgres",
        server_params("postgres", &url),
    );
    target.setup_sql = vec![
        format!("CREATE SCHEMA {schema}"),
        format!("CREATE TABLE {schema}.items (id bigint, label text)"),
    ];
    target.cleanup_sql = vec![format!("DROP SCHEMA {schema} CASCADE")];
    target.insert_sql = format!("INSERT INTO {schema}.items (id, label) VALUES (1, 'one')");
    target.count_sql = format!("SELECT count(*) FROM {schema}.items");
    target.many_rows_sql = "SELECT n, 'row ' || n FROM generate_series(1, 5000) AS n".into();
    target.slow_query_sql = "SELECT pg_sleep(30)".into();
    target.invalid_sql = "SELEC 1".into();
    target.type_probes = vec![
        TypeProbe::new("SELECT 42::int8", vec![Value::Int(42)]),
        TypeProbe::new("SELECT 1.5::float8", vec![Value::Float(1.5)]),
        TypeProbe::new(
            "SELECT 12.50::numeric",
            vec![Value::Decimal("12.50".into())],
        ),
        TypeProbe::new("SELECT true", vec![Value::Bool(true)]),
        TypeProbe::new("SELECT 'héllo'::text", vec![Value::Text("héllo".into())]),
        TypeProbe::new(
            "SELECT '\\x00ff'::bytea",
            vec![Value::Bytes(vec![0, 255].into())],
        ),
        TypeProbe::new("SELECT NULL::int4", vec![Value::Null]),
        TypeProbe::echo("SELECT $1::int8", Value::Int(-7)),
        TypeProbe::echo("SELECT $1::text", Value::Text("a'b\"c".into())),
    ];
    target.unreachable_params = Some(unreachable("postgres"));

    let report = run(&target);
    eprintln!("{report}");
    report.assert_passed();
}

#[test]
fn mysql_passes_the_conformance_kit() {
    let url = mysql_url();
    if !server_available(&url, "MySQL/MariaDB") {
        return;
    }
    let database = unique_name("plenum_conformance");
    let mut target = ConformanceTarget::new(
        plugin_library("mysql"),
        "mysql",
        server_params("mysql", &url),
    );
    target.setup_sql = vec![
        format!("CREATE DATABASE {database}"),
        format!("CREATE TABLE {database}.items (id BIGINT, label TEXT)"),
    ];
    target.cleanup_sql = vec![format!("DROP DATABASE {database}")];
    target.insert_sql = format!("INSERT INTO {database}.items (id, label) VALUES (1, 'one')");
    target.count_sql = format!("SELECT count(*) FROM {database}.items");
    // MySQL stops recursion at 1000 levels by default.
    target.many_rows = 900;
    target.many_rows_sql =
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 900) SELECT x, CONCAT('row ', x) FROM n"
            .into();
    target.slow_query_sql = "SELECT SLEEP(30)".into();
    target.invalid_sql = "SELEC 1".into();
    target.type_probes = vec![
        TypeProbe::new("SELECT 42", vec![Value::Int(42)]),
        TypeProbe::new("SELECT 12.50", vec![Value::Decimal("12.50".into())]),
        TypeProbe::new("SELECT 'héllo'", vec![Value::Text("héllo".into())]),
        TypeProbe::new("SELECT NULL", vec![Value::Null]),
    ];
    target.unreachable_params = Some(unreachable("mysql"));

    let report = run(&target);
    eprintln!("{report}");
    report.assert_passed();
}

#[test]
fn the_kit_catches_a_plugin_that_breaks_the_contract() {
    // The test plugin's `test-liar` engine declares one column and returns two values a row:
    // the kit must say so rather than pass it.
    let mut target = ConformanceTarget::new(
        plugin_library("testplugin"),
        "test-liar",
        ConnectParams::new("test-liar", AccessMode::Read),
    );
    target.many_rows = 1;
    target.many_rows_sql = "SELECT 1".into();
    let report = run(&target);
    let streaming = report.check("streaming").expect("streaming ran");
    assert!(
        matches!(&streaming.outcome, Outcome::Failed(detail) if detail.contains("declared columns")),
        "{report}"
    );
    // `test-panic` panics in execute: the kit reports the panic, it does not die of it.
    let mut target = ConformanceTarget::new(
        plugin_library("testplugin"),
        "test-panic",
        ConnectParams::new("test-panic", AccessMode::Read),
    );
    target.invalid_sql = "SELEC 1".into();
    let report = run(&target);
    let panic_safety = report.check("panic_safety").expect("panic_safety ran");
    assert!(
        matches!(&panic_safety.outcome, Outcome::Failed(detail) if detail.contains("panicked")),
        "{report}"
    );
    assert!(!report.problems().is_empty());
}
