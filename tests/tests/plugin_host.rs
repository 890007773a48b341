//! The host's side of the plugin boundary: discovery, broken plugins, the gate standing in
//! front of every plugin, and limits enforced while pulling rows.

use plenum_e2e::{plugin_library, Plenum};

fn recorded(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn no_refused_statement_ever_reaches_a_plugin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("received.log");
    for sql in [
        "DELETE FROM users",
        "SELECT 1; DELETE FROM users",
        "SELECT 1; COMMIT; DROP TABLE users",
        "PRAGMA user_version = 1",
        "ATTACH 'x.db' AS x",
        "SELECT load_extension('x')",
        "WITH d AS (SELECT 1) DELETE FROM t",
        "BEGIN",
        "NOT SQL AT ALL",
    ] {
        let run = Plenum::new(["query", "--engine", "test-recorder", "--file"])
            .args([log.as_os_str()])
            .args(["--sql", sql])
            .run();
        assert!(!run.ok(), "{sql:?} was allowed: {}", run.stdout);
    }
    assert!(
        recorded(&log).is_empty(),
        "plugin received: {:?}",
        recorded(&log)
    );

    // Accepted statements arrive one per call, exactly as written.
    Plenum::new(["query", "--engine", "test-recorder", "--file"])
        .args([log.as_os_str()])
        .args(["--sql", "SELECT 1; SELECT 'a;b' ;"])
        .run()
        .assert_ok();
    let received = recorded(&log);
    assert_eq!(received.len(), 2, "{received:?}");
    assert_eq!(received[0], "\"SELECT 1\"");
    assert!(received[1].contains("SELECT 'a;b'"), "{received:?}");
}

#[test]
fn a_panicking_plugin_gives_a_clean_plugin_error() {
    for engine in ["test-panic", "test-connect-panic"] {
        let run = Plenum::new(["query", "--engine", engine, "--sql", "SELECT 1"]).run();
        run.assert_error("PLUGIN_ERROR");
        assert!(
            run.error_message().contains("panicked"),
            "{}",
            run.error_message()
        );
        assert!(
            run.stderr.is_empty(),
            "panic printed to stderr: {}",
            run.stderr
        );
    }
}

#[test]
fn a_plugin_that_lies_about_its_columns_is_caught() {
    let run = Plenum::new(["query", "--engine", "test-liar", "--sql", "SELECT 1"]).run();
    run.assert_error("PLUGIN_ERROR");
}

#[test]
fn a_plugin_that_ignores_cancel_still_ends_in_a_timeout_envelope() {
    let started = std::time::Instant::now();
    let run = Plenum::new([
        "query",
        "--engine",
        "test-hang",
        "--sql",
        "SELECT 1",
        "--timeout-ms",
        "200",
    ])
    .run();
    run.assert_error("TIMEOUT");
    assert!(
        started.elapsed().as_secs() < 5,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn the_host_stops_pulling_rows_at_the_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("rows.log");
    let run = Plenum::new([
        "query",
        "--engine",
        "test-rows",
        "--max-rows",
        "100",
        "--file",
    ])
    .args([log.as_os_str()])
    .args(["--sql", "SELECT n FROM endless"])
    .run();
    run.assert_ok();
    assert_eq!(run.rows().len(), 100);
    assert_eq!(run.json["meta"]["truncated"], true);
    // 100 rows plus the one probe row, never more.
    assert_eq!(recorded(&log), vec!["rows_requested=101".to_owned()]);
}

#[test]
fn a_missing_engine_is_one_plugin_error_naming_it() {
    let run = Plenum::new(["query", "--engine", "nosuchdb", "--sql", "SELECT 1"]).run();
    run.assert_error("PLUGIN_ERROR");
    assert!(
        run.error_message().contains("'nosuchdb'"),
        "{}",
        run.error_message()
    );
    assert!(
        run.error_message().contains("searched"),
        "{}",
        run.error_message()
    );
}

#[test]
fn plugins_lists_what_it_finds_and_reports_broken_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = dir.path().join(format!(
        "{}plenum_fake{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    std::fs::write(&fake, b"not a shared library").expect("write");
    // Opted in, so the file is opened (and found broken) rather than refused for lacking a
    // manifest; plugins_trust.rs covers the refusal.
    let run = Plenum::new(["plugins"])
        .env(
            "PLENUM_PLUGIN_PATH",
            dir.path().to_str().unwrap_or_default(),
        )
        .env("PLENUM_ALLOW_UNVERIFIED_PLUGINS", "1")
        .run();
    run.assert_ok();
    let plugins = run.json["data"]["plugins"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let sqlite = plugins
        .iter()
        .find(|plugin| {
            plugin["engines"]
                .as_array()
                .is_some_and(|e| e.contains(&"sqlite".into()))
        })
        .expect("sqlite plugin listed");
    assert_eq!(sqlite["status"], "ok");
    assert_eq!(sqlite["dialect"], "sqlite");
    assert_eq!(
        sqlite["path"].as_str().map(std::path::PathBuf::from),
        Some(plugin_library("sqlite"))
    );
    let broken = plugins
        .iter()
        .find(|plugin| plugin["path"].as_str() == fake.to_str())
        .expect("broken file listed");
    assert_eq!(broken["status"], "error");
    assert!(broken["error"]
        .as_str()
        .unwrap_or("")
        .contains("cannot open"));

    // Asking for its engine explains what is wrong with the file that looked like it.
    let run = Plenum::new(["query", "--engine", "fake", "--sql", "SELECT 1"])
        .env(
            "PLENUM_PLUGIN_PATH",
            dir.path().to_str().unwrap_or_default(),
        )
        .env("PLENUM_ALLOW_UNVERIFIED_PLUGINS", "1")
        .run();
    run.assert_error("PLUGIN_ERROR");
    assert!(
        run.error_message().contains(fake.to_str().unwrap_or("?")),
        "{}",
        run.error_message()
    );
}

#[test]
fn relative_plugin_paths_and_the_current_directory_are_never_searched() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A real plugin copied into the current directory under a new name.
    let copy = dir.path().join(format!(
        "{}plenum_sneaky{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    std::fs::copy(plugin_library("sqlite"), &copy).expect("copy plugin");
    let run = Plenum::new(["plugins"])
        .env("PLENUM_PLUGIN_PATH", ".")
        .current_dir(dir.path())
        .run();
    run.assert_ok();
    assert!(!run.stdout.contains("plenum_sneaky"), "{}", run.stdout);
    assert!(
        run.stdout.contains("relative paths are not searched"),
        "{}",
        run.stdout
    );
    let run = Plenum::new(["plugins"])
        .env(
            "PLENUM_PLUGIN_PATH",
            dir.path().to_str().unwrap_or_default(),
        )
        .current_dir(dir.path())
        .run();
    assert!(!run.stdout.contains("plenum_sneaky"), "{}", run.stdout);
    assert!(
        run.stdout.contains("current directory is not searched"),
        "{}",
        run.stdout
    );
}
