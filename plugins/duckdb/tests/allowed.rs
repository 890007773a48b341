//! Allowed directories at the engine layer (no gate in front): the files inside are read, the
//! files outside are not (absolute paths, `..`, globs, replacement scans, links), nothing is
//! written, and SQL cannot widen the setting. Checked by the rows, the error texts (no
//! content leaked) and the directory listings.

use std::path::{Path, PathBuf};

mod common;

use common::run;
use plenum_duckdb::DuckDbPlugin;
use plenum_plugin_api::abi_stable::std_types::{RString, RVec, Tuple2};
use plenum_plugin_api::{AccessMode, ConnectParams, Plugin, Value};

struct Layout {
    _dir: tempfile::TempDir,
    root: PathBuf,
    data: PathBuf,
    outside: PathBuf,
    database: PathBuf,
}

fn layout() -> Layout {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().canonicalize().expect("canonical");
    let data = root.join("data");
    let outside = root.join("outside");
    std::fs::create_dir_all(data.join("sub")).expect("mkdir");
    std::fs::create_dir(&outside).expect("mkdir");
    std::fs::write(data.join("x.csv"), "a,b\n1,x\n2,y\n").expect("write");
    std::fs::write(data.join("sub/y.csv"), "a,b\n3,z\n").expect("write");
    std::fs::write(outside.join("secret.csv"), "password\nhunter2\n").expect("write");
    let database = root.join("shop.duckdb");
    let mut session = DuckDbPlugin::connect(&params(&database, AccessMode::Ddl, None)).expect("db");
    session.begin().expect("begin");
    run(&mut *session, "CREATE TABLE items (id INTEGER)").expect("create");
    session.commit().expect("commit");
    drop(session);
    Layout {
        _dir: dir,
        root,
        data,
        outside,
        database,
    }
}

fn params(file: &Path, access: AccessMode, allowed: Option<&Path>) -> ConnectParams {
    let mut params = ConnectParams::new("duckdb", access);
    params.file = Some(RString::from(file.to_string_lossy().as_ref())).into();
    if let Some(allowed) = allowed {
        params.options.push(Tuple2(
            "allowed_directories".into(),
            allowed.to_string_lossy().as_ref().into(),
        ));
    }
    params
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = walk(dir)
        .iter()
        .map(|path| path.strip_prefix(dir).unwrap_or(path).display().to_string())
        .collect();
    names.sort();
    names
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list") {
        let path = entry.expect("entry").path();
        if path.is_dir() && !path.is_symlink() {
            found.extend(walk(&path));
        }
        found.push(path);
    }
    found
}

#[test]
fn files_inside_are_read_and_nothing_outside_is() {
    let layout = layout();
    let (data, outside) = (layout.data.display(), layout.outside.display());
    let before = listing(&layout.root);
    let mut session = DuckDbPlugin::connect(&params(
        &layout.database,
        AccessMode::Read,
        Some(&layout.data),
    ))
    .expect("open");
    session.begin().expect("begin");
    let rows = run(
        &mut *session,
        &format!("SELECT a, b FROM read_csv('{data}/x.csv') ORDER BY a"),
    )
    .expect("inside");
    assert_eq!(
        rows,
        vec![
            vec![Value::Int(1), Value::Text("x".into())],
            vec![Value::Int(2), Value::Text("y".into())]
        ]
    );
    let rows = run(
        &mut *session,
        &format!("SELECT count(*) FROM read_csv('{data}/**/*.csv')"),
    )
    .expect("glob inside");
    assert_eq!(rows, vec![vec![Value::Int(3)]]);
    let root = layout.root.display();
    for sql in [
        format!("SELECT * FROM read_csv('{outside}/secret.csv')"),
        format!("SELECT * FROM read_csv('{data}/../outside/secret.csv')"),
        format!("SELECT * FROM read_csv('{data}/sub/../../outside/secret.csv')"),
        format!("SELECT * FROM read_csv('{outside}/*.csv')"),
        format!("SELECT * FROM read_csv('{root}/*/secret.csv')"),
        format!("SELECT content FROM read_text('{outside}/secret.csv')"),
        format!("SELECT content FROM read_blob('{outside}/secret.csv')"),
        format!("SELECT * FROM glob('{outside}/*')"),
        format!("SELECT * FROM glob('{root}/*')"),
        format!("SELECT * FROM '{outside}/secret.csv'"),
        format!("SELECT * FROM \"{outside}/secret.csv\""),
        format!("SELECT * FROM read_csv('file://{outside}/secret.csv')"),
        "SELECT * FROM read_csv('outside/secret.csv')".to_owned(),
        "SELECT * FROM read_text('/etc/passwd')".to_owned(),
        // Writes into the allowed directory, in a read session.
        format!("COPY (SELECT 1) TO '{data}/out.csv'"),
        format!("COPY items TO '{data}/items.parquet' (FORMAT parquet)"),
        format!("EXPORT DATABASE '{data}/export'"),
        format!("ATTACH '{data}/new.duckdb' AS other"),
        // The setting cannot be widened from SQL.
        "SET allowed_directories = ['/']".to_owned(),
        "SET enable_external_access = true".to_owned(),
        "RESET lock_configuration".to_owned(),
    ] {
        let result = run(&mut *session, &sql);
        match result {
            Ok(rows) => panic!("{sql} ran: {rows:?}"),
            Err(message) => assert!(!message.contains("hunter2"), "{sql}: {message}"),
        }
    }
    session.rollback().expect("rollback");
    assert_eq!(listing(&layout.root), before);
}

#[test]
fn a_link_out_of_an_allowed_directory_refuses_the_session() {
    let layout = layout();
    std::os::unix::fs::symlink(&layout.outside, layout.data.join("sub/out")).expect("link");
    let error = DuckDbPlugin::connect(&params(
        &layout.database,
        AccessMode::Read,
        Some(&layout.data),
    ))
    .err()
    .expect("refused");
    assert!(
        error
            .message
            .contains("leads outside the allowed directories"),
        "{}",
        error.message
    );
    // A file link out is refused the same way.
    std::fs::remove_file(layout.data.join("sub/out")).expect("unlink");
    std::os::unix::fs::symlink(
        layout.outside.join("secret.csv"),
        layout.data.join("secret.csv"),
    )
    .expect("link");
    assert!(DuckDbPlugin::connect(&params(
        &layout.database,
        AccessMode::Read,
        Some(&layout.data)
    ))
    .is_err());
}

#[test]
fn without_the_setting_no_file_is_read() {
    let layout = layout();
    let mut session =
        DuckDbPlugin::connect(&params(&layout.database, AccessMode::Read, None)).expect("open");
    session.begin().expect("begin");
    let data = layout.data.display();
    for sql in [
        format!("SELECT * FROM read_csv('{data}/x.csv')"),
        format!("SELECT * FROM '{data}/x.csv'"),
        format!("SELECT * FROM glob('{data}/*')"),
    ] {
        assert!(run(&mut *session, &sql).is_err(), "{sql} ran");
    }
}

#[test]
fn a_large_result_is_read_in_parts() {
    let mut session =
        DuckDbPlugin::connect(&ConnectParams::new("duckdb", AccessMode::Read)).expect("memory");
    let mut cursor = session
        .execute("SELECT range AS n FROM range(10000000)", &[], 0)
        .expect("execute");
    let mut out = RVec::new();
    assert_eq!(cursor.fetch(100, &mut out).expect("fetch"), 100);
    assert_eq!(cursor.fetch(5000, &mut out).expect("fetch"), 5000);
    assert_eq!(out.len(), 5100);
    assert_eq!(out[5099], Value::Int(5099));
    drop(cursor);
    let rows = run(&mut *session, "SELECT 42").expect("the session goes on");
    assert_eq!(rows, vec![vec![Value::Int(42)]]);
}

#[test]
fn a_write_session_writes_no_file_into_an_allowed_directory() {
    let layout = layout();
    let data = layout.data.display();
    let before = listing(&layout.root);
    let mut session = DuckDbPlugin::connect(&params(
        &layout.database,
        AccessMode::Ddl,
        Some(&layout.data),
    ))
    .expect("open");
    session.begin().expect("begin");
    // Reading into a table is what a write session is for.
    let cursor = session
        .execute(
            &format!("CREATE TABLE imported AS SELECT * FROM read_csv('{data}/x.csv')"),
            &[],
            0,
        )
        .expect("import");
    assert_eq!(cursor.rows_affected(), Some(2));
    drop(cursor);
    for sql in [
        format!("COPY items TO '{data}/items.csv'"),
        format!("/* x */ COPY (SELECT 1) TO '{data}/one.parquet' (FORMAT parquet)"),
        format!("EXPORT DATABASE '{data}/export'"),
        format!("ATTACH '{data}/new.duckdb' AS other"),
        format!("EXPLAIN ANALYZE COPY items TO '{data}/items.csv'"),
    ] {
        assert!(run(&mut *session, &sql).is_err(), "{sql} ran");
    }
    session.rollback().expect("rollback");
    assert_eq!(listing(&layout.root), before);
}
