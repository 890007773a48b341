//! Plugins that misbehave while loading: too slow, an unknown dialect, an API version the host
//! does not speak. Each ends in one clean `PLUGIN_ERROR`, promptly, and never stops
//! `plenum plugins` from listing the others or the other engines from working.
//! (Panicking, hanging and lying plugins are covered by `plugin_host.rs`.)

use std::time::{Duration, Instant};

use plenum_e2e::{Plenum, Run, SqliteFixture};
use serde_json::Value as Json;

fn probe_query(env: &[(&str, &str)]) -> Run {
    let mut plenum = Plenum::new(["query", "--engine", "test-probe", "--sql", "SELECT 1"]);
    for (key, value) in env {
        plenum = plenum.env(key, value);
    }
    plenum.run()
}

/// `plenum plugins` under `env`: the probe's entry and every other entry.
fn listing(env: &[(&str, &str)]) -> (Json, Vec<Json>) {
    let mut plenum = Plenum::new(["plugins"]);
    for (key, value) in env {
        plenum = plenum.env(key, value);
    }
    let run = plenum.run();
    run.assert_ok();
    let plugins = run.json["data"]["plugins"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let (probe, others): (Vec<Json>, Vec<Json>) = plugins.into_iter().partition(|plugin| {
        plugin["path"]
            .as_str()
            .is_some_and(|path| path.contains("plenum_probe"))
    });
    (probe.into_iter().next().expect("probe listed"), others)
}

fn assert_others_fine(others: &[Json]) {
    let sqlite = others
        .iter()
        .find(|plugin| plugin["name"] == "plenum-sqlite")
        .expect("sqlite listed");
    assert_eq!(sqlite["status"], "ok", "{sqlite}");
    let fixture = SqliteFixture::new("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (7);");
    let run = fixture.query("SELECT x FROM t", &[]);
    run.assert_ok();
    assert_eq!(run.rows(), vec![serde_json::json!([7])]);
}

#[test]
fn a_plugin_that_loads_too_slowly_is_given_up_on() {
    let slow = [
        ("PLENUM_PROBE_LOAD_DELAY_MS", "30000"),
        ("PLENUM_PLUGIN_LOAD_TIMEOUT_MS", "400"),
    ];
    let started = Instant::now();
    let run = probe_query(&slow);
    let took = started.elapsed();
    run.assert_error("PLUGIN_ERROR");
    assert!(
        run.error_message()
            .contains("did not finish loading within 400 ms"),
        "{}",
        run.error_message()
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");

    let started = Instant::now();
    let (probe, others) = listing(&slow);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(probe["status"], "error");
    assert!(
        probe["error"]
            .as_str()
            .unwrap_or("")
            .contains("did not finish loading"),
        "{probe}"
    );
    assert_others_fine(&others);

    // A slow load within the limit is fine.
    probe_query(&[
        ("PLENUM_PROBE_LOAD_DELAY_MS", "200"),
        ("PLENUM_PLUGIN_LOAD_TIMEOUT_MS", "5000"),
    ])
    .assert_ok();
}

/// A copy of `plenum` in a folder of its own, beside the probe and no other library: the probe
/// is then the last library a query for its engine can try, which a command-line query loads
/// on its own thread.
fn alone_with_the_probe() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let binary = dir.path().join("plenum");
    std::fs::copy(plenum_e2e::plenum_bin(), &binary).expect("copy plenum");
    let probe = plenum_e2e::plugin_library("probe");
    let name = probe.file_name().expect("library name");
    std::fs::copy(&probe, dir.path().join(name)).expect("copy the probe");
    (dir, binary)
}

/// A library whose load overruns its limit, the last one a command-line query can try: one
/// envelope, the same failure as before, and an exit code that agrees, at the limit. Also when
/// it is stuck inside `dlopen` (its ELF initialiser, with the dynamic linker's lock held).
#[cfg(unix)]
#[test]
fn a_load_that_overruns_on_the_commands_own_thread_ends_the_command_in_time() {
    let (_dir, binary) = alone_with_the_probe();
    for (delay, extra, command) in [
        ("PLENUM_PROBE_LOAD_DELAY_MS", None, "query"),
        ("PLENUM_PROBE_DLOPEN_DELAY_MS", None, "query"),
        ("PLENUM_PROBE_LOAD_DELAY_MS", Some("--check-only"), "check"),
    ] {
        if delay == "PLENUM_PROBE_DLOPEN_DELAY_MS" && !cfg!(target_os = "linux") {
            continue;
        }
        let started = Instant::now();
        let run = Plenum::new(["query", "--engine", "test-probe", "--sql", "SELECT 1"])
            .args(extra)
            .binary(&binary)
            .env(delay, "30000")
            .env("PLENUM_PLUGIN_LOAD_TIMEOUT_MS", "400")
            .run();
        let took = started.elapsed();
        run.assert_error("PLUGIN_ERROR");
        assert_eq!(run.code, 1);
        assert_eq!(run.json["engine"], "test-probe", "{}", run.stdout);
        assert_eq!(run.json["command"], command, "{}", run.stdout);
        let message = run.error_message();
        assert!(
            message.starts_with("no plugin serves engine 'test-probe' (searched: ")
                && message.contains("libplenum_probe")
                && message.contains(": it did not finish loading within 400 ms (")
                && message.ends_with("Run `plenum plugins` to see what is installed."),
            "{message}"
        );
        assert!(took < Duration::from_secs(5), "{delay}: took {took:?}");
    }
    // Within the limit, the same library serves the query.
    Plenum::new(["query", "--engine", "test-probe", "--sql", "SELECT 1"])
        .binary(&binary)
        .env("PLENUM_PROBE_LOAD_DELAY_MS", "200")
        .env("PLENUM_PLUGIN_LOAD_TIMEOUT_MS", "5000")
        .run()
        .assert_ok();
}

/// SIGTERM or SIGINT while the plugin loads on the command's own thread (slowly, or stuck
/// inside `dlopen`): one envelope that names the signal, exit code 1, within the signal's
/// grace period.
#[cfg(unix)]
#[test]
fn a_stop_signal_while_a_plugin_loads_ends_in_one_envelope() {
    let (dir, binary) = alone_with_the_probe();
    for (delay, signal, name) in [
        ("PLENUM_PROBE_LOAD_DELAY_MS", "TERM", "SIGTERM"),
        ("PLENUM_PROBE_LOAD_DELAY_MS", "INT", "SIGINT"),
        ("PLENUM_PROBE_DLOPEN_DELAY_MS", "TERM", "SIGTERM"),
    ] {
        if delay == "PLENUM_PROBE_DLOPEN_DELAY_MS" && !cfg!(target_os = "linux") {
            continue;
        }
        let log = dir.path().join(format!("probe-{delay}-{signal}.log"));
        let child = Plenum::new(["query", "--engine", "test-probe", "--sql", "SELECT 1"])
            .binary(&binary)
            .env(delay, "30000")
            .env("PLENUM_PLUGIN_LOAD_TIMEOUT_MS", "60000")
            .env("PLENUM_PROBE_LOG", &log.to_string_lossy())
            .spawn();
        // The library's code is running (and sleeping) once it logged.
        let started = Instant::now();
        while std::fs::read_to_string(&log).unwrap_or_default().is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the load never started"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let sent = Instant::now();
        plenum_e2e::send_signal(&child, signal);
        let run = plenum_e2e::finish(child);
        let took = sent.elapsed();
        run.assert_error("TIMEOUT");
        assert_eq!(run.code, 1);
        assert!(run.error_message().contains(name), "{}", run.stdout);
        assert!(
            took < Duration::from_secs(10),
            "{delay}: stopping took {took:?}"
        );
    }
}

#[test]
fn a_plugin_that_declares_an_unknown_dialect_is_refused() {
    let klingon = [("PLENUM_PROBE_DIALECT", "klingon")];
    let run = probe_query(&klingon);
    run.assert_error("PLUGIN_ERROR");
    assert!(
        run.error_message()
            .contains("dialect 'klingon', which the gate does not know"),
        "{}",
        run.error_message()
    );
    let (probe, others) = listing(&klingon);
    assert_eq!(probe["status"], "error");
    assert_others_fine(&others);
}

#[test]
fn a_plugin_built_for_another_api_is_refused_before_it_is_asked_anything() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("probe.log");
    let log_text = log.to_string_lossy().into_owned();
    let host_api = Plenum::new(["plugins", "info", "sqlite"]).run().json["data"]["plugin"]
        ["api_version"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let (major, minor) = host_api.split_once('.').expect("major.minor");
    let newer = format!("{major}.{}", minor.parse::<u32>().expect("minor") + 1);
    let other_major = format!("{}.0", major.parse::<u32>().expect("major") + 1);
    for (api, expected) in [
        (
            newer.as_str(),
            format!("needs plugin API {newer}, this host speaks {host_api}: upgrade plenum"),
        ),
        (other_major.as_str(), "major versions differ".to_owned()),
    ] {
        let run = probe_query(&[("PLENUM_PROBE_API", api), ("PLENUM_PROBE_LOG", &log_text)]);
        run.assert_error("PLUGIN_ERROR");
        assert!(
            run.error_message().contains(&expected),
            "{}",
            run.error_message()
        );
        // The library ran its constructor (that is how the version is read without a
        // manifest) but was never asked what it is or to connect.
        let recorded = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(
            recorded.lines().collect::<Vec<_>>(),
            vec!["dlopen", "constructor"]
        );
        std::fs::remove_file(&log).expect("reset log");
        let (probe, others) = listing(&[("PLENUM_PROBE_API", api)]);
        assert_eq!(probe["status"], "error");
        assert_others_fine(&others);
    }
}

#[test]
fn one_broken_library_never_hides_the_others() {
    // Junk named like a plugin, opted in so it is opened, next to a probe that hangs loading.
    let dir = tempfile::tempdir().expect("temp dir");
    let junk = dir.path().join(format!(
        "{}plenum_junk{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    std::fs::write(&junk, b"\x7fELF but not really").expect("write");
    let env = [
        (
            "PLENUM_PLUGIN_PATH",
            dir.path().to_str().unwrap_or_default(),
        ),
        ("PLENUM_ALLOW_UNVERIFIED_PLUGINS", "1"),
        ("PLENUM_PROBE_LOAD_DELAY_MS", "30000"),
        ("PLENUM_PLUGIN_LOAD_TIMEOUT_MS", "300"),
    ];
    let (probe, others) = listing(&env);
    assert_eq!(probe["status"], "error");
    let junk_entry = others
        .iter()
        .find(|plugin| plugin["path"].as_str() == junk.to_str())
        .expect("junk listed");
    assert_eq!(junk_entry["status"], "error");
    let working: Vec<&Json> = others
        .iter()
        .filter(|plugin| plugin["status"] == "ok")
        .collect();
    assert!(
        working
            .iter()
            .any(|plugin| plugin["name"] == "plenum-sqlite")
            && working
                .iter()
                .any(|plugin| plugin["name"] == "plenum-testplugin"),
        "{others:?}"
    );
    assert_others_fine(&others);
}

/// `--explain` on the probe with `env`: the plan the host answers.
fn probe_explain(env: &[(&str, &str)]) -> Run {
    let mut plenum = Plenum::new([
        "query",
        "--engine",
        "test-probe",
        "--sql",
        "SELECT a FROM t",
        "--explain",
    ]);
    for (key, value) in env {
        plenum = plenum.env(key, value);
    }
    plenum.run()
}

#[test]
fn a_plugin_of_a_dialect_the_host_cannot_read_plans_of_explains_itself() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("probe.log");
    let log_text = log.to_string_lossy().into_owned();
    let plan = r#"{"node": "PROJECTION", "detail": "{sql}", "children": [
        {"node": "SEQ_SCAN", "relation": "t", "estimated_rows": 3, "children": []}]}"#;
    // A dialect the host has no plan reader for: the plugin's own tree, checked and passed on.
    let run = probe_explain(&[
        ("PLENUM_PROBE_DIALECT", "duckdb"),
        ("PLENUM_PROBE_PLAN", plan),
        ("PLENUM_PROBE_LOG", &log_text),
    ]);
    run.assert_ok();
    assert_eq!(run.json["data"]["format"], "plugin", "{}", run.json);
    assert_eq!(run.json["data"]["plan"]["node"], "PROJECTION");
    assert_eq!(run.json["data"]["plan"]["detail"], "SELECT a FROM t");
    assert_eq!(run.json["data"]["plan"]["children"][0]["relation"], "t");
    assert_eq!(
        run.json["data"]["plan"]["children"][0]["estimated_rows"],
        3.0
    );
    assert!(std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("explain"));
    // A tree not in the host's form is the plugin's error, never passed on.
    let run = probe_explain(&[
        ("PLENUM_PROBE_DIALECT", "duckdb"),
        ("PLENUM_PROBE_PLAN", r#"{"node": "X", "cost": 1}"#),
    ]);
    run.assert_error("PLUGIN_ERROR");
    assert!(
        run.error_message().contains("not in the host's plan form"),
        "{}",
        run.error_message()
    );
    // A plugin that cannot explain says so.
    let run = probe_explain(&[("PLENUM_PROBE_DIALECT", "duckdb")]);
    assert_eq!(run.json["ok"], false);
    assert!(
        run.error_message().contains("cannot explain"),
        "{}",
        run.error_message()
    );
    // The gate still checks the statement first: a write is refused in the read tier and the
    // plugin is never asked.
    std::fs::remove_file(&log).ok();
    let mut plenum = Plenum::new([
        "query",
        "--engine",
        "test-probe",
        "--sql",
        "DELETE FROM t",
        "--explain",
    ]);
    for (key, value) in [
        ("PLENUM_PROBE_DIALECT", "duckdb"),
        ("PLENUM_PROBE_PLAN", plan),
        ("PLENUM_PROBE_LOG", log_text.as_str()),
    ] {
        plenum = plenum.env(key, value);
    }
    plenum.run().assert_error("CAPABILITY_VIOLATION");
    assert!(!std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("explain"));
    // A dialect the host reads itself: its own reader, not the plugin's (the probe's one row
    // is not a SQLite plan, so the host's reader refuses it).
    let run = probe_explain(&[("PLENUM_PROBE_PLAN", plan)]);
    assert_eq!(run.json["ok"], false, "{}", run.json);
}
