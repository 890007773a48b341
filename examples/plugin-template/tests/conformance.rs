//! Runs the Plenum conformance kit against the library `cargo test` just built.

use std::path::PathBuf;
use std::time::Duration;

use plenum_plugin_conformance::api::abi_stable::std_types::ROption;
use plenum_plugin_conformance::api::{AccessMode, ConnectParams, Value};
use plenum_plugin_conformance::{run, ConformanceTarget, SafetySql, TypeProbe};

/// `target/<profile>/libplenum_minidb.so`, next to this test's `deps/` folder.
fn built_library() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory");
    let library = profile_dir.join(format!(
        "{}plenum_minidb{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    // `cargo test` builds the crate's tests, not its cdylib.
    assert!(
        library.is_file(),
        "{} is missing: run `cargo build` before `cargo test`",
        library.display()
    );
    library
}

#[test]
fn minidb_passes_the_conformance_kit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("conformance.minidb");
    let mut params = ConnectParams::new("minidb", AccessMode::Read);
    params.file = ROption::RSome(file.to_string_lossy().as_ref().into());

    // What the safety checks need. minidb has no ALTER TABLE, so its schema change drops the
    // table; it has no SQL that touches other files either, so the file statements are what an
    // agent would try from other engines: the plugin must refuse them all.
    let safety = SafetySql {
        create_table: vec!["CREATE TABLE items (id INTEGER, label TEXT)".into()],
        drop_table: vec!["DROP TABLE items".into()],
        insert: "INSERT INTO items (id, label) VALUES (1, 'one')".into(),
        update: "UPDATE items SET label = 'changed'".into(),
        delete: "DELETE FROM items".into(),
        ddl: "DROP TABLE items".into(),
        contents: "SELECT * FROM items".into(),
        read_file: vec![
            "SELECT * FROM '{path}'".into(),
            "ATTACH DATABASE '{path}' AS other".into(),
        ],
        write_file: vec![
            "COPY items TO '{path}'".into(),
            "VACUUM INTO '{path}'".into(),
        ],
    };
    let mut target = ConformanceTarget::new(built_library(), "minidb", params, safety);
    // Fixtures for the other checks; the first also creates the database file.
    let numbers: Vec<String> = (1..=5000).map(|n| format!("({n})")).collect();
    target.setup_sql = vec![
        "CREATE TABLE numbers (n INTEGER)".into(),
        format!("INSERT INTO numbers VALUES {}", numbers.join(", ")),
    ];
    target.cleanup_sql = vec!["DROP TABLE numbers".into()];
    target.many_rows_sql = "SELECT * FROM numbers".into();
    target.slow_query_sql = "SELECT sleep(60000)".into();
    target.cancel_within = Duration::from_secs(2);
    target.invalid_sql = "SELEC 1".into();
    target.type_probes = vec![
        TypeProbe::new(
            "SELECT 42, 'x', NULL",
            vec![Value::Int(42), Value::Text("x".into()), Value::Null],
        ),
        TypeProbe::new("SELECT -1.5", vec![Value::Float(-1.5)]),
        TypeProbe::echo("SELECT ?", Value::Bytes(vec![0, 1, 255].into())),
        TypeProbe::echo("SELECT ?", Value::Decimal("12.50".into())),
    ];
    let mut missing = ConnectParams::new("minidb", AccessMode::Read);
    missing.file = ROption::RSome(
        dir.path()
            .join("missing.minidb")
            .to_string_lossy()
            .as_ref()
            .into(),
    );
    target.unreachable_params = Some(missing);

    let report = run(&target);
    eprintln!("{report}");
    report.assert_passed();
}
