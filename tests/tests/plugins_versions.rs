//! Plugin API versioning, with real builds on both sides: `tests/compat/plugin-v1-0` is built
//! against a frozen copy of plugin API 1.0 (`tests/compat/plugin-api-1.0`), while this host is
//! built against the live API, which appended a prefix field (`about`) as 1.1 and two methods
//! of the connection object (`reach`, `write_fence`) as 1.2.
//!
//! The other direction (a plugin that needs a newer minor than the host speaks) is refused
//! with a message saying which: `plugins_misbehaving.rs` (the version the library reports) and
//! `plugins_trust.rs` (the version its manifest states, refused before loading).

use plenum_e2e::{build_external, install_library, Plenum};

#[test]
fn a_plugin_built_against_api_1_0_loads_in_a_newer_host() {
    let built = build_external("tests/compat/Cargo.toml");
    let library = built.join(format!(
        "{}plenum_compat_v1_0{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let dir = tempfile::tempdir().expect("temp dir");
    let installed = install_library(&library, dir.path());
    let plugin_path = dir.path().to_string_lossy().into_owned();

    let host_api = Plenum::new(["plugins", "info", "sqlite"]).run().json["data"]["plugin"]
        ["api_version"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert_ne!(
        host_api, "1.0",
        "the host must speak a newer minor for this test to mean anything"
    );
    assert!(host_api.starts_with("1."), "{host_api}");

    let verified = Plenum::new(["plugins", "verify", "--write"])
        .args([installed.as_os_str()])
        .run();
    verified.assert_ok();
    assert_eq!(verified.json["data"]["manifest"]["api_version"], "1.0");

    let run = Plenum::new(["query", "--engine", "test-compat-v1-0", "--sql", "SELECT 1"])
        .env("PLENUM_PLUGIN_PATH", &plugin_path)
        .run();
    run.assert_ok();
    // The library itself says which API it was built against.
    assert_eq!(run.rows(), vec![serde_json::json!(["1.0", "SELECT 1"])]);

    // API 1.2 appended `reach` and `write_fence` to the connection object; a 1.0 library's
    // lacks them, and the host's calls fall back to their defaults: names it cannot resolve
    // are vetted by the gate alone, a function the gate does not know is refused, and a write
    // has no fence to ask.
    let query = |sql: &str, flags: &[&str]| {
        Plenum::new(["query", "--engine", "test-compat-v1-0", "--sql", sql])
            .args(flags)
            .env("PLENUM_PLUGIN_PATH", &plugin_path)
            .run()
    };
    let read = query("SELECT abs(x) FROM t", &[]);
    read.assert_ok();
    assert_eq!(
        read.rows(),
        vec![serde_json::json!(["1.0", "SELECT abs(x) FROM t"])]
    );
    query("SELECT my_function(x) FROM t", &[]).assert_error("CAPABILITY_VIOLATION");
    query("INSERT INTO t VALUES (1)", &["--allow-write"]).assert_ok();

    let info = Plenum::new(["plugins", "info", "test-compat-v1-0"])
        .env("PLENUM_PLUGIN_PATH", &plugin_path)
        .run();
    info.assert_ok();
    let plugin = &info.json["data"]["plugin"];
    assert_eq!(plugin["api_version"], "1.0");
    assert_eq!(plugin["trust"]["status"], "verified");
    // The 1.1 field is absent from a 1.0 library, and the host copes.
    assert!(plugin["about"].is_null(), "{plugin}");
    let sqlite = Plenum::new(["plugins", "info", "sqlite"]).run();
    assert!(sqlite.json["data"]["plugin"]["about"].is_object());
}
