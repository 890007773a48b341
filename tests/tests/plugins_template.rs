//! The template plugin (`examples/plugin-template`, engine `minidb`), built the way a third
//! party builds a plugin: outside the workspace, against the plugin API only. It loads through
//! `PLENUM_PLUGIN_PATH` with a manifest written by `plenum plugins verify --write`, and the gate
//! still stands in front of it. (Its own `tests/conformance.rs` runs the conformance kit on it,
//! from a copy outside the checkout: `scripts/check-author-kit`.)

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use plenum_e2e::{build_external, install_library, Plenum, Run};

fn template_library() -> PathBuf {
    build_external("examples/plugin-template/Cargo.toml").join(format!(
        "{}plenum_minidb{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

struct Installed {
    dir: tempfile::TempDir,
    plugins: PathBuf,
    database: PathBuf,
}

impl Installed {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let plugins = dir.path().join("plugins");
        std::fs::create_dir(&plugins).expect("mkdir");
        let library = install_library(&template_library(), &plugins);
        Plenum::new(["plugins", "verify", "--write"])
            .args([library.as_os_str()])
            .run()
            .assert_ok();
        let database = dir.path().join("shop.minidb");
        Installed {
            dir,
            plugins,
            database,
        }
    }

    fn query(&self, sql: &str, flags: &[&str]) -> Run {
        Plenum::new(["query", "--engine", "minidb", "--file"])
            .args([self.database.as_os_str()])
            .args(["--sql", sql])
            .args(flags)
            .env("PLENUM_PLUGIN_PATH", &self.plugins.to_string_lossy())
            .run()
    }
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read database")
}

#[test]
fn the_template_loads_through_the_plugin_path_with_its_manifest() {
    let installed = Installed::new();
    let info = Plenum::new(["plugins", "info", "minidb"])
        .env("PLENUM_PLUGIN_PATH", &installed.plugins.to_string_lossy())
        .run();
    info.assert_ok();
    assert_eq!(info.json["data"]["plugin"]["trust"]["status"], "verified");
    assert_eq!(info.json["data"]["plugin"]["dialect"], "sqlite");

    // A read never creates the database.
    installed
        .query("SELECT 1", &[])
        .assert_error("CONNECTION_FAILED");
    assert!(!installed.database.exists());

    installed
        .query(
            "CREATE TABLE items (id INTEGER, label TEXT)",
            &["--allow-ddl"],
        )
        .assert_ok();
    let run = installed.query(
        "INSERT INTO items VALUES (1, 'one'), (2, 'two')",
        &["--allow-write"],
    );
    run.assert_ok();
    assert_eq!(run.json["data"]["rows_affected"], 2);
    let run = installed.query("SELECT * FROM items", &[]);
    run.assert_ok();
    assert_eq!(
        run.rows(),
        vec![serde_json::json!([1, "one"]), serde_json::json!([2, "two"])]
    );
    assert_eq!(run.json["meta"]["access"], "read");
    let run = installed.query("SELECT * FROM items", &["--max-rows", "1"]);
    assert_eq!(run.rows().len(), 1);
    assert_eq!(run.json["meta"]["truncated"], true);

    // The host's timeout cancels a slow statement through the plugin's cancel handle.
    let started = Instant::now();
    installed
        .query("SELECT sleep(60000)", &["--timeout-ms", "300"])
        .assert_error("TIMEOUT");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    drop(installed.dir);
}

#[test]
fn the_gate_stands_in_front_of_the_template() {
    let installed = Installed::new();
    installed
        .query(
            "CREATE TABLE items (id INTEGER, label TEXT)",
            &["--allow-ddl"],
        )
        .assert_ok();
    installed
        .query("INSERT INTO items VALUES (1, 'one')", &["--allow-write"])
        .assert_ok();
    let before = bytes(&installed.database);
    // CAPABILITY_VIOLATION comes from the gate; the plugin's own refusal would be
    // QUERY_FAILED. Either way the file must not change.
    for (sql, flags) in [
        ("DELETE FROM items", &[][..]),
        ("INSERT INTO items VALUES (2, 'two')", &[][..]),
        ("SELECT 1; DROP TABLE items", &["--allow-write"][..]),
        ("DROP TABLE items", &["--allow-write"][..]),
        ("CREATE TABLE other (x INTEGER)", &["--allow-write"][..]),
    ] {
        let run = installed.query(sql, flags);
        run.assert_error("CAPABILITY_VIOLATION");
        assert_eq!(
            bytes(&installed.database),
            before,
            "{sql:?} changed the database"
        );
    }
    let run = installed.query("SELECT * FROM items", &[]);
    assert_eq!(run.rows(), vec![serde_json::json!([1, "one"])]);
}
