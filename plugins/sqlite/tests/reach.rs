//! Plugin API 1.2 on real files: what names resolve to, why triggers need no vetting, and
//! the write fence.

use plenum_plugin_api::abi_stable::std_types::{ROption, RString, RVec};
use plenum_plugin_api::{
    AccessMode, ConnectParams, Connection, FenceOutcome, Plugin, PluginError, ReachRequest,
    ResolvedRelation, SqlName,
};
use plenum_sqlite::SqlitePlugin;

fn connect(file: &std::path::Path, access: AccessMode) -> Box<dyn Connection> {
    let mut params = ConnectParams::new("sqlite", access);
    params.file = ROption::RSome(file.to_string_lossy().as_ref().into());
    SqlitePlugin::connect(&params).expect("open the database")
}

fn run(conn: &mut dyn Connection, sql: &str) -> Result<(), PluginError> {
    let mut cursor = conn.execute(sql, &[], 0)?;
    let mut out = RVec::new();
    while cursor.fetch(100, &mut out)? > 0 {}
    Ok(())
}

fn name(parts: &[&str]) -> SqlName {
    SqlName {
        parts: parts.iter().map(|part| RString::from(*part)).collect(),
        quoted: parts.iter().map(|_| false).collect(),
    }
}

fn names(list: &[&[&str]]) -> RVec<SqlName> {
    list.iter().map(|parts| name(parts)).collect()
}

fn schema(relation: &ResolvedRelation) -> Option<String> {
    relation
        .schema
        .as_ref()
        .map(|schema| schema.to_string())
        .into_option()
}

fn database() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("reach.db");
    let mut conn = connect(&file, AccessMode::Ddl);
    for sql in [
        "CREATE TABLE t (a INTEGER PRIMARY KEY AUTOINCREMENT, b TEXT)",
        "CREATE TABLE log (a INTEGER)",
        "CREATE VIEW \"my view\" (x, y) AS SELECT a, upper(b) FROM t WHERE a > 1",
        "CREATE VIEW vv AS SELECT x FROM \"my view\"",
        "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.a); END",
    ] {
        run(conn.as_mut(), sql).unwrap_or_else(|error| panic!("{sql}: {error}"));
    }
    (dir, file)
}

#[test]
fn a_file_has_no_login_powers_and_no_user_routines() {
    let (_dir, file) = database();
    let mut conn = connect(&file, AccessMode::Read);
    conn.begin().expect("begin");
    let report = conn.reach(&ReachRequest::default()).expect("reach");
    assert_eq!(report.login.as_str(), "");
    assert!(report.powers.is_empty());
    assert!(!report.privileged());
    let request = ReachRequest {
        functions: names(&[&["abs"], &["main", "f"], &["load_extension"]]),
        ..ReachRequest::default()
    };
    let report = conn.reach(&request).expect("reach");
    assert_eq!(report.functions.len(), 3);
    assert!(report.functions.iter().all(|f| f.routines.is_empty()));
    assert!(report.ambient.is_empty());

    // The read-only session (query_only, authorizer) resolves relations too.
    let request = ReachRequest {
        relations: names(&[&["t"], &["my view"], &["sqlite_master"]]),
        ..ReachRequest::default()
    };
    let report = conn.reach(&request).expect("reach");
    assert_eq!(schema(&report.relations[0]).as_deref(), Some("main"));
    assert!(report.relations[1].view_definition.is_some());
    assert!(report.relations[2].system);
    conn.rollback().expect("rollback");
}

#[test]
fn relations_resolve_like_sqlite_does() {
    let (_dir, file) = database();
    // A DDL session, so a temporary table can shadow `t` in this connection.
    let mut conn = connect(&file, AccessMode::Ddl);
    run(conn.as_mut(), "CREATE TEMP TABLE shadow (a INTEGER)").expect("temp table");
    run(conn.as_mut(), "CREATE TEMP TABLE T (a INTEGER)").expect("temp table");
    run(
        conn.as_mut(),
        "CREATE TEMPORARY VIEW tv AS SELECT a FROM shadow",
    )
    .expect("temp view");
    let request = ReachRequest {
        relations: names(&[
            &["log"],
            &["t"],
            &["MAIN", "T"],
            &["My View"],
            &["vv"],
            &["shadow"],
            &["missing"],
            &["other", "t"],
            &["sqlite_master"],
            &["SQLITE_SCHEMA"],
            &["temp", "sqlite_master"],
            &["sqlite_temp_schema"],
            &["sqlite_sequence"],
            &["temp", "tv"],
        ]),
        targets: names(&[&["log"], &["main", "t"]]),
        ..ReachRequest::default()
    };
    let report = conn.reach(&request).expect("reach");
    let r = &report.relations;
    assert_eq!(r.len(), 16);
    let expect = [
        (Some("main"), false),
        (Some("temp"), false),
        (Some("main"), false),
        (Some("main"), false),
        (Some("main"), false),
        (Some("temp"), false),
        (None, false),
        (None, false),
        (Some("main"), true),
        (Some("main"), true),
        (Some("temp"), true),
        (Some("temp"), true),
        (Some("main"), false),
        (Some("temp"), false),
        (Some("main"), false),
        (Some("main"), false),
    ];
    for (relation, (schema_name, system)) in r.iter().zip(expect) {
        assert_eq!(schema(relation).as_deref(), schema_name, "{relation:?}");
        assert_eq!(relation.system, system, "{relation:?}");
        assert!(relation.fires.is_empty(), "{relation:?}");
    }
    let definition = |index: usize| {
        r[index]
            .view_definition
            .as_ref()
            .map(|d| d.to_string())
            .into_option()
    };
    assert_eq!(
        definition(3).as_deref(),
        Some("SELECT a, upper(b) FROM t WHERE a > 1")
    );
    assert_eq!(definition(4).as_deref(), Some("SELECT x FROM \"my view\""));
    assert_eq!(definition(0), None);
    assert_eq!(definition(13).as_deref(), Some("SELECT a FROM shadow"));
}

/// Why a target fires nothing the gate must see: SQLite's trigger grammar holds only
/// INSERT, UPDATE, DELETE and SELECT, so a body with anything else does not even parse.
#[test]
fn trigger_bodies_cannot_change_the_schema() {
    let (_dir, file) = database();
    let mut conn = connect(&file, AccessMode::Ddl);
    for body in [
        "CREATE TABLE x (a INTEGER);",
        "DROP TABLE log;",
        "ALTER TABLE log ADD COLUMN c INTEGER;",
        "CREATE INDEX i ON log (a);",
        "CREATE VIEW w AS SELECT 1;",
        "CREATE TRIGGER inner_t AFTER INSERT ON log BEGIN SELECT 1; END;",
        "DROP VIEW vv;",
        "ATTACH 'other.db' AS o;",
        "DETACH main;",
        "PRAGMA writable_schema = 1;",
        "VACUUM;",
        "BEGIN;",
        "COMMIT;",
        "SAVEPOINT s;",
        "REINDEX;",
        "ANALYZE;",
    ] {
        let sql = format!("CREATE TRIGGER bad AFTER INSERT ON t BEGIN {body} END");
        let error = run(conn.as_mut(), &sql).expect_err(&sql);
        assert!(error.message.contains("syntax error"), "{sql}: {error}");
    }
}

#[test]
fn the_fence_sees_schema_changes_and_nothing_else() {
    let (_dir, file) = database();
    let mut write = connect(&file, AccessMode::Write);
    assert!(matches!(
        write.write_fence().expect("fence"),
        FenceOutcome::Unknown(_)
    ));
    write.begin().expect("begin");
    run(write.as_mut(), "INSERT INTO t (b) VALUES ('x')").expect("insert");
    run(write.as_mut(), "UPDATE log SET a = a + 1").expect("update");
    run(write.as_mut(), "DELETE FROM sqlite_sequence").expect("sqlite_sequence is data");
    assert_eq!(write.write_fence().expect("fence"), FenceOutcome::Unchanged);
    write.commit().expect("commit");

    // The write tier's authorizer already denies DDL; a DDL session shows the fence would
    // catch it all the same.
    let mut ddl = connect(&file, AccessMode::Ddl);
    ddl.begin().expect("begin");
    run(ddl.as_mut(), "CREATE TABLE made (a INTEGER)").expect("create");
    assert!(matches!(
        ddl.write_fence().expect("fence"),
        FenceOutcome::Changed(_)
    ));
    ddl.rollback().expect("rollback");

    ddl.begin().expect("begin");
    run(ddl.as_mut(), "CREATE TEMP TABLE tmp (a INTEGER)").expect("create temp");
    assert!(matches!(
        ddl.write_fence().expect("fence"),
        FenceOutcome::Changed(_)
    ));
    ddl.rollback().expect("rollback");
}
