//! The DuckDB plugin built against the fetched libduckdb and installed as a user installs it,
//! for the DuckDB end-to-end tests.
#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use plenum_e2e::{install_library, target_dir, Plenum, Run};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Fetches libduckdb (once) and builds the plugin against it, in target/external.
pub fn built_plugin() -> (PathBuf, PathBuf) {
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = BUILD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let lib_dir = root().join("plugins/duckdb/lib");
    let fetched = Command::new(root().join("plugins/duckdb/scripts/fetch-libduckdb"))
        .stdin(Stdio::null())
        .output()
        .expect("run fetch-libduckdb");
    assert!(
        fetched.status.success(),
        "fetch-libduckdb failed (needs npm or curl, and the npm registry):\n{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    let target = target_dir().parent().expect("target").join("external");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--quiet", "--manifest-path"])
        .arg(root().join("plugins/duckdb/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env("DUCKDB_LIB_DIR", &lib_dir)
        .stdin(Stdio::null())
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "building plugins/duckdb failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        target.join("debug").join("libplenum_duckdb.so"),
        lib_dir.join("libduckdb.so"),
    )
}

/// The plugin and libduckdb in a plugin folder, and a database `data/shop.duckdb` with a
/// table `items` of two rows and a file `data/secret.csv` beside it.
pub struct Installed {
    pub dir: tempfile::TempDir,
    pub plugins: PathBuf,
    pub data: PathBuf,
    pub database: PathBuf,
}

impl Installed {
    pub fn new() -> Self {
        let (plugin, libduckdb) = built_plugin();
        let dir = tempfile::tempdir().expect("temp dir");
        let plugins = dir.path().join("plugins");
        let data = dir.path().join("data");
        std::fs::create_dir(&plugins).expect("mkdir");
        std::fs::create_dir(&data).expect("mkdir");
        let library = install_library(&plugin, &plugins);
        install_library(&libduckdb, &plugins);
        // The manifest declares libduckdb beside the plugin; the second `verify --write`
        // fills in its sha256, and the host checks it before the plugin loads.
        let verify = || {
            Plenum::new(["plugins", "verify", "--write"])
                .args([library.as_os_str()])
                .run()
                .assert_ok();
        };
        verify();
        let manifest = library.with_extension("manifest.json");
        let mut json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&manifest).expect("manifest")).expect("json");
        json["dependencies"] = serde_json::json!([{"path": "libduckdb.so", "sha256": "0"}]);
        std::fs::write(&manifest, json.to_string()).expect("manifest");
        verify();
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&manifest).expect("manifest")).expect("json");
        assert_eq!(
            written["dependencies"][0]["sha256"].as_str().map(str::len),
            Some(64)
        );
        let database = data.join("shop.duckdb");
        let installed = Installed {
            dir,
            plugins,
            data,
            database,
        };
        installed
            .query(
                "CREATE TABLE items (id INTEGER, label VARCHAR)",
                &["--allow-ddl"],
            )
            .assert_ok();
        installed
            .query(
                "INSERT INTO items VALUES (1, 'a'), (2, 'b')",
                &["--allow-write"],
            )
            .assert_ok();
        std::fs::write(installed.data.join("secret.csv"), "password\nhunter2\n").expect("secret");
        installed
    }

    /// `plenum query --engine duckdb --file <database> --sql <sql> <flags>`.
    pub fn query(&self, sql: &str, flags: &[&str]) -> Run {
        Plenum::new(["query", "--engine", "duckdb", "--file"])
            .args([self.database.as_os_str()])
            .args(["--sql", sql])
            .args(flags)
            .env("PLENUM_PLUGIN_PATH", &self.plugins.to_string_lossy())
            .run()
    }

    /// `plenum <args>` with the plugin folder on the search path.
    pub fn plenum<I, S>(&self, args: I) -> Plenum
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Plenum::new(args).env("PLENUM_PLUGIN_PATH", &self.plugins.to_string_lossy())
    }

    /// The number of rows in `items`.
    pub fn count(&self) -> serde_json::Value {
        let run = self.query("SELECT count(*) AS n FROM items", &[]);
        run.assert_ok();
        run.json["data"]["rows"][0][0].clone()
    }
}
