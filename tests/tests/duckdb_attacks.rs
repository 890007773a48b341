//! DuckDB through the host, as an agent would reach it: the `duckdb` plugin (plugins/duckdb,
//! built outside the workspace against the plugin API only) installed with its manifest and
//! libduckdb beside it. Each attack is checked by its outcome: the files in the directory,
//! the database's bytes, the rows.
//!
//! Needs libduckdb: the test fetches the pinned build from the npm registry with
//! `plugins/duckdb/scripts/fetch-libduckdb` (npm on PATH) when it is not there yet.

mod duckdb_support;

use duckdb_support::{built_plugin, Installed};
use plenum_e2e::{install_library, snapshot_dir, Plenum};

#[test]
fn duckdb_is_listed_as_verified() {
    let installed = Installed::new();
    let info = Plenum::new(["plugins", "info", "duckdb"])
        .env("PLENUM_PLUGIN_PATH", &installed.plugins.to_string_lossy())
        .run();
    info.assert_ok();
    assert_eq!(info.json["data"]["plugin"]["trust"]["status"], "verified");
    assert_eq!(info.json["data"]["plugin"]["dialect"], "duckdb");
    drop(installed.dir);
}

#[test]
fn file_and_lexing_attacks_are_refused_and_leave_the_directory_alone() {
    let installed = Installed::new();
    let data = installed.data.display().to_string();
    let before = snapshot_dir(&installed.data);
    let attacks = [
        format!("SELECT * FROM read_csv('{data}/secret.csv')"),
        format!("SELECT * FROM read_csv_auto('{data}/secret.csv')"),
        format!("SELECT * FROM '{data}/secret.csv'"),
        format!("SELECT content FROM read_text('{data}/secret.csv')"),
        format!("SELECT * FROM read_blob('{data}/secret.csv')"),
        format!("SELECT * FROM glob('{data}/*')"),
        format!("SELECT E'\\''; COPY (SELECT 1) TO $${data}/out.csv$$; -- '"),
        format!("SELECT 1 /* /* */ ; COPY items TO '{data}/out.csv'; -- */"),
        format!("COPY (SELECT * FROM items) TO '{data}/out.csv'"),
        format!("COPY items FROM '{data}/secret.csv'"),
        format!("EXPORT DATABASE '{data}/export'"),
        format!("IMPORT DATABASE '{data}/export'"),
        format!("ATTACH '{data}/new.duckdb' AS other"),
        "INSTALL httpfs".to_owned(),
        "LOAD httpfs".to_owned(),
        "SET enable_external_access = true".to_owned(),
        "PRAGMA enable_profiling".to_owned(),
        "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 'v')".to_owned(),
        "SELECT * FROM duckdb_secrets()".to_owned(),
        "CHECKPOINT".to_owned(),
        "SELECT * FROM query('DELETE FROM items')".to_owned(),
        "SELECT getenv('HOME')".to_owned(),
    ];
    for sql in &attacks {
        for flags in [&[][..], &["--allow-ddl"][..]] {
            let run = installed.query(sql, flags);
            assert!(!run.ok(), "{sql} {flags:?} ran: {}", run.json);
        }
    }
    // Stacked and smuggled writes in the read tier.
    for sql in [
        "SELECT 1; DELETE FROM items",
        "SELECT E'\\''; DELETE FROM items; -- '",
        "SELECT $$;$$; DELETE FROM items",
        "WITH d AS (DELETE FROM items RETURNING *) SELECT * FROM d",
    ] {
        let run = installed.query(sql, &[]);
        assert!(!run.ok(), "{sql} ran: {}", run.json);
    }
    assert_eq!(
        snapshot_dir(&installed.data).keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    assert_eq!(installed.count(), serde_json::json!(2));
}

#[test]
fn tiers_hold_and_values_keep_their_meaning() {
    let installed = Installed::new();
    installed
        .query("DELETE FROM items", &[])
        .assert_error("CAPABILITY_VIOLATION");
    installed
        .query("CREATE TABLE t2 (x INTEGER)", &["--allow-write"])
        .assert_error("CAPABILITY_VIOLATION");
    assert_eq!(installed.count(), serde_json::json!(2));
    let run = installed.query(
        "SELECT 1.10::DECIMAL(10,2) AS d, [1, 2] AS l, {'a': 1} AS s, 'x' AS t, \
         '{\"k\": [1, 2]}'::JSON AS j, 170141183460469231731687303715884105727::HUGEINT AS h, \
         INTERVAL 90 MINUTE AS i, '\\x00\\xFF'::BLOB AS b",
        &[],
    );
    run.assert_ok();
    let row = &run.json["data"]["rows"][0];
    assert_eq!(row[0], serde_json::json!("1.10"));
    assert_eq!(row[1], serde_json::json!([1, 2]));
    assert_eq!(row[2], serde_json::json!({"a": 1}));
    assert_eq!(row[3], serde_json::json!("x"));
    // JSON as JSON, HUGEINT exact, INTERVAL as ISO 8601, BLOB as base64.
    assert_eq!(row[4], serde_json::json!({"k": [1, 2]}));
    assert_eq!(
        row[5],
        serde_json::json!("170141183460469231731687303715884105727")
    );
    assert_eq!(row[6], serde_json::json!("PT1H30M"));
    assert_eq!(row[7], serde_json::json!("AP8="));
    assert_eq!(run.json["data"]["columns"][4]["type"], "JSON");
    // A read never creates a database.
    let missing = installed.data.join("missing.duckdb");
    Plenum::new(["query", "--engine", "duckdb", "--file"])
        .args([missing.as_os_str()])
        .args(["--sql", "SELECT 1"])
        .env("PLENUM_PLUGIN_PATH", &installed.plugins.to_string_lossy())
        .run()
        .assert_error("CONNECTION_FAILED");
    assert!(!missing.exists());
}

#[test]
fn the_conformance_kit_passes() {
    use plenum_plugin_conformance::api::abi_stable::std_types::ROption;
    use plenum_plugin_conformance::api::{AccessMode, ConnectParams, Value};
    use plenum_plugin_conformance::{run, ConformanceTarget, SafetySql, TypeProbe};

    // Installed as a user installs it: libduckdb beside the plugin, found through `$ORIGIN`.
    let (plugin, libduckdb) = built_plugin();
    let dir = tempfile::tempdir().expect("temp dir");
    let plugin = install_library(&plugin, dir.path());
    install_library(&libduckdb, dir.path());
    let file = dir.path().join("kit.duckdb");
    let mut params = ConnectParams::new("duckdb", AccessMode::Read);
    params.file = ROption::RSome(file.to_string_lossy().as_ref().into());
    // Every way DuckDB reads or writes a file; the kit's folder is outside any allowed
    // directory (the session allows none).
    let safety = SafetySql {
        create_table: vec!["CREATE TABLE items (id INTEGER, label VARCHAR)".into()],
        drop_table: vec!["DROP TABLE items".into()],
        insert: "INSERT INTO items (id, label) VALUES (1, 'one')".into(),
        update: "UPDATE items SET label = 'changed'".into(),
        delete: "DELETE FROM items".into(),
        ddl: "ALTER TABLE items ADD COLUMN extra INTEGER".into(),
        contents: "SELECT * FROM items".into(),
        read_file: vec![
            "SELECT * FROM read_text('{path}')".into(),
            "SELECT * FROM read_blob('{path}')".into(),
            "SELECT * FROM read_csv('{path}', header = false)".into(),
            "SELECT * FROM '{path}'".into(),
            "ATTACH '{path}' AS other (READ_ONLY)".into(),
        ],
        write_file: vec![
            "COPY (SELECT 1) TO '{path}'".into(),
            "COPY items TO '{path}'".into(),
            "EXPORT DATABASE '{path}'".into(),
            "ATTACH '{path}' AS other".into(),
        ],
    };
    let mut target = ConformanceTarget::new(plugin, "duckdb", params, safety);
    target.setup_sql =
        vec!["CREATE TABLE numbers AS SELECT range::INTEGER AS n FROM range(5000)".into()];
    target.cleanup_sql = vec!["DROP TABLE numbers".into()];
    target.many_rows_sql = "SELECT * FROM numbers".into();
    target.slow_query_sql =
        "SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3".into();
    target.cancel_within = std::time::Duration::from_secs(3);
    target.invalid_sql = "SELEC 1".into();
    target.type_probes = vec![
        TypeProbe::new(
            "SELECT 42, 'x', NULL, 1.50::DECIMAL(5,2)",
            vec![
                Value::Int(42),
                Value::Text("x".into()),
                Value::Null,
                Value::Decimal("1.50".into()),
            ],
        ),
        TypeProbe::echo("SELECT ?::BLOB", Value::Bytes(vec![0, 1, 255].into())),
    ];
    let mut missing = ConnectParams::new("duckdb", AccessMode::Read);
    missing.file = ROption::RSome(
        dir.path()
            .join("missing.duckdb")
            .to_string_lossy()
            .as_ref()
            .into(),
    );
    target.unreachable_params = Some(missing);
    let report = run(&target);
    eprintln!("{report}");
    report.assert_passed();
}
