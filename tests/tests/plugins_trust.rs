//! Plugin trust: what the host refuses before a library's code runs, and the proof that it
//! did not run (the probe plugin records `dlopen` from its loader initialiser, `constructor`
//! and `info` in `PLENUM_PROBE_LOG`).

use std::path::{Path, PathBuf};

use plenum_e2e::{install_library, plugin_library, Plenum, Run};
use serde_json::Value as Json;

/// A query for the installation's sqlite plugin (on a file that does not exist: whether the
/// plugin loaded shows in the error code).
const SQLITE_QUERY: [&str; 7] = [
    "query",
    "--engine",
    "sqlite",
    "--file",
    "/nonexistent.db",
    "--sql",
    "SELECT 1",
];

/// A private folder holding a copy of the probe plugin, and a log file outside it.
struct ProbeCopy {
    dir: tempfile::TempDir,
    library: PathBuf,
    log: PathBuf,
}

impl ProbeCopy {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let plugins = dir.path().join("plugins");
        std::fs::create_dir(&plugins).expect("mkdir");
        set_mode(&plugins, 0o755);
        set_mode(dir.path(), 0o700);
        let library = install_library(&plugin_library("probe"), &plugins);
        let log = dir.path().join("probe.log");
        ProbeCopy { dir, library, log }
    }

    fn plugins(&self) -> &Path {
        self.library.parent().expect("plugins folder")
    }

    fn manifest(&self) -> PathBuf {
        self.library.with_extension("manifest.json")
    }

    /// `plenum` with the copy's folder first on the plugin path and the log switched on.
    fn plenum(&self, args: &[&str]) -> Plenum {
        Plenum::new(args)
            .env("PLENUM_PLUGIN_PATH", &self.plugins().to_string_lossy())
            .env("PLENUM_PROBE_LOG", &self.log.to_string_lossy())
            .env(
                "XDG_CONFIG_HOME",
                &self.dir.path().join("xdg").to_string_lossy(),
            )
    }

    /// `plenum query` on the probe's engine, without running it.
    fn query_plenum(&self) -> Plenum {
        self.plenum(&["query", "--engine", "test-probe", "--sql", "SELECT 1"])
    }

    fn query(&self) -> Run {
        self.query_plenum().run()
    }

    /// Runs [`Self::query`] and panics unless the host refused the library with a message
    /// holding each of `reasons`, before any of its code ran (`what` names the library in the
    /// failure message).
    fn assert_query_refused(&self, reasons: &[&str], what: &str) {
        let run = self.query();
        run.assert_error("PLUGIN_ERROR");
        for reason in reasons {
            assert_error_mentions(&run, "PLUGIN_ERROR", reason);
        }
        assert_eq!(self.take_log(), Vec::<String>::new(), "{what} ran");
    }

    /// What the probe recorded so far, and a fresh log for the next run.
    fn take_log(&self) -> Vec<String> {
        let lines = std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        let _ = std::fs::remove_file(&self.log);
        lines
    }

    /// Writes the manifest through `plenum plugins verify --write` (which loads the library)
    /// and forgets what the probe recorded meanwhile.
    fn write_manifest(&self) -> Json {
        let run = plugins_verify(&["--write"], &self.library);
        run.assert_ok();
        let _ = std::fs::remove_file(&self.log);
        run.json["data"].clone()
    }

    /// The probe's summary in `plenum plugins`.
    fn listed(&self) -> Json {
        let run = self.plenum(&["plugins"]).run();
        run.assert_ok();
        self.entry_in(&run)
    }

    /// The probe's summary in the `plenum plugins` listing `run`.
    fn entry_in(&self, run: &Run) -> Json {
        run.json["data"]["plugins"]
            .as_array()
            .and_then(|plugins| {
                plugins
                    .iter()
                    .find(|plugin| plugin["path"].as_str() == self.library.to_str())
                    .cloned()
            })
            .expect("the copy is listed")
    }
}

/// `plenum plugins verify` with `extra` flags on `library`.
fn plugins_verify(extra: &[&str], library: &Path) -> Run {
    Plenum::new(["plugins", "verify"])
        .args(extra)
        .args([library.as_os_str()])
        .run()
}

/// Panics unless `run` failed with `code` and a message that contains `part`.
fn assert_error_mentions(run: &Run, code: &str, part: &str) {
    run.assert_error(code);
    assert!(
        run.error_message().contains(part),
        "{part:?} not in {}",
        run.error_message()
    );
}

/// Runs [`SQLITE_QUERY`] with a copied `plenum` binary, which finds its plugins next to
/// itself, and returns its envelope.
#[cfg(unix)]
fn query_sqlite_with_copied_binary(binary: &Path) -> Json {
    let output = std::process::Command::new(binary)
        .args(SQLITE_QUERY)
        .env_remove("PLENUM_PLUGIN_PATH")
        .output()
        .expect("run copied plenum");
    serde_json::from_slice(&output.stdout).expect("one envelope")
}

fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}

#[test]
fn a_library_without_a_manifest_outside_the_installation_never_runs() {
    let probe = ProbeCopy::new();
    probe.assert_query_refused(&["no manifest", "plugins verify"], "the refused library");

    let listed = probe.listed();
    assert_eq!(listed["status"], "error");
    assert_eq!(listed["trust"]["status"], "refused");
    assert_eq!(
        probe.take_log(),
        Vec::<String>::new(),
        "listing ran the refused library"
    );

    // The explicit opt-in loads it, and says so.
    let run = probe
        .query_plenum()
        .env("PLENUM_ALLOW_UNVERIFIED_PLUGINS", "1")
        .run();
    run.assert_ok();
    assert_eq!(run.rows(), vec![serde_json::json!(["probe"])]);
    assert!(probe.take_log().contains(&"dlopen".to_owned()));
    let listed = probe
        .plenum(&["plugins"])
        .env("PLENUM_ALLOW_UNVERIFIED_PLUGINS", "1")
        .run();
    let entry = probe.entry_in(&listed);
    assert_eq!(entry["status"], "ok");
    assert_eq!(entry["trust"]["status"], "unverified");
    assert!(entry["trust"]["reason"]
        .as_str()
        .unwrap_or("")
        .contains("PLENUM_ALLOW_UNVERIFIED_PLUGINS"));
}

#[test]
fn a_written_manifest_lets_the_library_load_and_a_changed_library_is_refused() {
    let probe = ProbeCopy::new();
    let verified = probe.write_manifest();
    assert_eq!(verified["written"], true);
    let manifest: Json =
        serde_json::from_str(&std::fs::read_to_string(probe.manifest()).expect("manifest written"))
            .expect("manifest is JSON");
    assert_eq!(manifest, verified["manifest"]);
    assert_eq!(manifest["name"], "plenum-probe");
    assert_eq!(manifest["engines"], serde_json::json!(["test-probe"]));
    assert_eq!(
        manifest["library"],
        probe
            .library
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
    );
    assert_eq!(manifest["sha256"].as_str().map(str::len), Some(64));

    let run = probe.query();
    run.assert_ok();
    assert_eq!(probe.take_log(), vec!["dlopen", "constructor", "info"]);
    let listed = probe.listed();
    assert_eq!(listed["trust"]["status"], "verified");
    assert_eq!(listed["trust"]["sha256"], manifest["sha256"]);
    probe.take_log();

    // One more byte: still a loadable library, but not the one the manifest describes.
    let mut bytes = std::fs::read(&probe.library).expect("read library");
    bytes.push(0);
    std::fs::write(&probe.library, bytes).expect("change library");
    probe.assert_query_refused(&["sha256", "changed"], "the changed library");
}

fn sha256_of(path: &Path) -> String {
    let output = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn libraries_a_plugin_declares_it_loads_are_checked_like_the_plugin() {
    let probe = ProbeCopy::new();
    let verified = probe.write_manifest();
    probe.take_log();
    let dependency = probe.plugins().join("libvendor.so");
    std::fs::write(&dependency, b"vendor library, version 1").expect("write");
    set_mode(&dependency, 0o644);
    let mut manifest = verified["manifest"].clone();
    manifest["dependencies"] =
        serde_json::json!([{"path": "libvendor.so", "sha256": sha256_of(&dependency)}]);
    std::fs::write(probe.manifest(), manifest.to_string()).expect("write manifest");
    probe.query().assert_ok();
    probe.take_log();

    // `verify --write` keeps the declared dependency, with its current hash.
    let rewritten = probe.write_manifest();
    assert_eq!(
        rewritten["manifest"]["dependencies"],
        manifest["dependencies"]
    );
    probe.take_log();

    // Changed after the manifest was written: the plugin never runs.
    std::fs::write(&dependency, b"vendor library, version 2").expect("change");
    probe.assert_query_refused(
        &["libvendor.so", "sha256"],
        "a plugin with a changed dependency",
    );
    // Back as it was, but others can change it: refused too.
    std::fs::write(&dependency, b"vendor library, version 1").expect("restore");
    set_mode(&dependency, 0o666);
    probe.assert_query_refused(&["libvendor.so"], "a plugin with a writable dependency");
    set_mode(&dependency, 0o644);
    // Missing, or named with `..`: refused.
    std::fs::remove_file(&dependency).expect("remove");
    probe.assert_query_refused(&["libvendor.so"], "a plugin with a missing dependency");
    manifest["dependencies"] = serde_json::json!([{"path": "../libvendor.so", "sha256": "00"}]);
    std::fs::write(probe.manifest(), manifest.to_string()).expect("write manifest");
    probe.assert_query_refused(&["'..'"], "a plugin with a dependency outside its folder");
}

#[test]
fn a_manifest_for_an_api_this_host_does_not_speak_is_refused_before_loading() {
    let probe = ProbeCopy::new();
    let verified = probe.write_manifest();
    let host_api = verified["manifest"]["api_version"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let (major, minor) = host_api.split_once('.').expect("major.minor");
    let newer_minor = format!("{major}.{}", minor.parse::<u32>().expect("minor") + 1);
    let next_major = format!("{}.0", major.parse::<u32>().expect("major") + 1);
    for (api, expected) in [
        (
            newer_minor.as_str(),
            format!("needs plugin API {newer_minor}, this host speaks {host_api}"),
        ),
        (next_major.as_str(), "major versions differ".to_owned()),
    ] {
        let mut manifest = verified["manifest"].clone();
        manifest["api_version"] = api.into();
        std::fs::write(probe.manifest(), manifest.to_string()).expect("write manifest");
        probe.assert_query_refused(&[&expected], &format!("API {api}: the library"));
    }
}

#[test]
fn a_manifest_that_does_not_describe_the_library_is_refused() {
    let probe = ProbeCopy::new();
    let verified = probe.write_manifest();

    // The right hash, but the manifest claims another engine: refused once the library says
    // what it is, and the real sqlite plugin still serves sqlite.
    let mut manifest = verified["manifest"].clone();
    manifest["engines"] = serde_json::json!(["sqlite"]);
    std::fs::write(probe.manifest(), manifest.to_string()).expect("write manifest");
    let listed = probe.listed();
    assert_eq!(listed["status"], "error");
    assert!(
        listed["error"]
            .as_str()
            .unwrap_or("")
            .contains("engines 'sqlite' but the library reports 'test-probe'"),
        "{listed}"
    );
    probe
        .plenum(&SQLITE_QUERY)
        .run()
        .assert_error("CONNECTION_FAILED");
    probe.take_log();

    // A manifest copied from another library.
    let mut manifest = verified["manifest"].clone();
    manifest["library"] = "libplenum_other.so".into();
    std::fs::write(probe.manifest(), manifest.to_string()).expect("write manifest");
    probe.assert_query_refused(
        &["describes 'libplenum_other.so'"],
        "a library with another's manifest",
    );

    // Garbage.
    std::fs::write(probe.manifest(), "{\"name\": ").expect("write manifest");
    probe.assert_query_refused(&["invalid"], "a library with a garbage manifest");
}

#[cfg(unix)]
#[test]
fn libraries_and_folders_others_can_write_are_refused() {
    let probe = ProbeCopy::new();
    probe.write_manifest();
    probe.query().assert_ok();
    probe.take_log();

    set_mode(&probe.library, 0o757);
    probe.assert_query_refused(&["writable by every user"], "a world-writable library");
    // verify refuses to load it too.
    plugins_verify(&[], &probe.library).assert_error("PLUGIN_ERROR");
    set_mode(&probe.library, 0o755);

    set_mode(probe.plugins(), 0o777);
    probe.assert_query_refused(
        &["writable by every user"],
        "a library in a world-writable folder",
    );

    // Even the installation's libraries are refused when others could replace them: a copy
    // of the whole installation in a shared folder.
    let shared = probe.dir.path().join("shared-install");
    std::fs::create_dir(&shared).expect("mkdir");
    set_mode(&shared, 0o777);
    let binary = install_library(&plenum_e2e::plenum_bin(), &shared);
    install_library(&plugin_library("sqlite"), &shared);
    let json = query_sqlite_with_copied_binary(&binary);
    assert_eq!(json["error"]["code"], "PLUGIN_ERROR", "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("writable by every user"),
        "{json}"
    );
    set_mode(&shared, 0o755);
    let json = query_sqlite_with_copied_binary(&binary);
    assert_eq!(
        json["error"]["code"], "CONNECTION_FAILED",
        "installation trusted again: {json}"
    );
}

#[test]
fn the_allow_list_pins_exactly_which_libraries_load() {
    let probe = ProbeCopy::new();
    let verified = probe.write_manifest();
    let probe_hash = verified["sha256"].as_str().unwrap_or("").to_owned();
    let config = probe.dir.path().join("xdg").join("plenum");
    std::fs::create_dir_all(&config).expect("mkdir");
    let allow_list = config.join("plugins.json");
    std::fs::write(
        &allow_list,
        format!("{{\"allow_sha256\": [\"{probe_hash}\"]}}"),
    )
    .expect("write allow-list");
    set_mode(&allow_list, 0o600);

    probe.query().assert_ok();
    probe.take_log();
    // The installation's sqlite plugin is not on the list: even it does not load.
    let run = probe.plenum(&SQLITE_QUERY).run();
    assert_error_mentions(&run, "PLUGIN_ERROR", "not in the plugin allow-list");
    let listed = probe.plenum(&["plugins"]).run();
    assert_eq!(listed.json["data"]["policy"]["allowed_hashes"], 1);
    for plugin in listed.json["data"]["plugins"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let expected = if plugin["path"].as_str() == probe.library.to_str() {
            "ok"
        } else {
            "error"
        };
        assert_eq!(plugin["status"], expected, "{plugin}");
    }
    probe.take_log();

    // Without a manifest, the pinned hash alone is enough.
    std::fs::remove_file(probe.manifest()).expect("remove manifest");
    probe.query().assert_ok();
    assert_eq!(probe.listed()["trust"]["status"], "verified");
    probe.take_log();

    // A broken allow-list pins nothing and loads nothing (fail closed).
    std::fs::write(&allow_list, "{\"allow\": []}").expect("write allow-list");
    probe.assert_query_refused(&["allow-list"], "a library under a broken allow-list");
}

#[test]
fn verify_reports_the_checks_and_the_manifest_it_would_write() {
    let probe = ProbeCopy::new();
    let run = plugins_verify(&[], &probe.library);
    run.assert_ok();
    let data = &run.json["data"];
    assert_eq!(data["written"], false);
    assert!(
        !probe.manifest().exists(),
        "verify without --write wrote a manifest"
    );
    assert_eq!(data["trust"]["status"], "refused", "{data}");
    let checks = data["checks"].as_array().cloned().unwrap_or_default();
    let check = |name: &str| {
        checks
            .iter()
            .find(|check| check["check"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} check in {data}"))
    };
    assert_eq!(check("load")["ok"], true);
    assert_eq!(check("permissions")["ok"], true);
    assert_eq!(check("manifest")["ok"], false);
    assert_eq!(data["manifest"]["dialect"], "sqlite");

    // A file that is not a plugin: one clear error, exit 1.
    let junk = probe.plugins().join("libplenum_junk.so");
    std::fs::write(&junk, b"not a library").expect("write");
    let run = plugins_verify(&[], &junk);
    assert_error_mentions(&run, "PLUGIN_ERROR", "cannot open");
    let run = Plenum::new(["plugins", "verify", "/nonexistent/libplenum_x.so"]).run();
    run.assert_error("INVALID_INPUT");
}

/// The lines of the layout memo under the cache folder `cache`, empty when there is none.
fn memo_lines(cache: &Path) -> Vec<String> {
    std::fs::read_to_string(cache.join("plenum").join("layout-checked"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Longer than the memo waits before it records a file: times more than 2 s old, in whole
/// seconds.
const SETTLED: std::time::Duration = std::time::Duration::from_millis(3_100);

/// The file mode of `path`.
#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o7777
}

#[cfg(unix)]
#[test]
fn the_layout_memo_is_private_names_each_library_file_and_is_ignored_when_others_can_write_it() {
    let probe = ProbeCopy::new();
    probe.write_manifest();
    let cache = probe.dir.path().join("cache");
    let memo = cache.join("plenum").join("layout-checked");
    let cached_query = || {
        probe
            .query_plenum()
            .env("XDG_CACHE_HOME", &cache.to_string_lossy())
            .run()
    };

    // A library copied a moment ago has not settled: it is checked, and not remembered.
    cached_query().assert_ok();
    assert_eq!(probe.take_log(), vec!["dlopen", "constructor", "info"]);
    assert!(memo_lines(&cache).is_empty(), "{:?}", memo_lines(&cache));
    assert_eq!(mode_of(&cache.join("plenum")), 0o700);

    // Settled, it is remembered once, in a file only its owner can read or write.
    std::thread::sleep(SETTLED);
    cached_query().assert_ok();
    let first = memo_lines(&cache);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(mode_of(&memo), 0o600);
    let inode = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&probe.library).expect("library").ino()
    };
    assert!(
        first[0].starts_with("1 ") && first[0].contains(&format!(":{inode}:")),
        "the entry names the library file: {first:?}"
    );
    cached_query().assert_ok();
    assert_eq!(
        memo_lines(&cache),
        first,
        "a remembered library adds nothing"
    );

    // Rewritten in place (same inode and size, new content), it is another file to the memo:
    // its entry no longer matches, and it must pass the trust checks again (a new manifest).
    let mut bytes = std::fs::read(&probe.library).expect("read library");
    if let Some(last) = bytes.last_mut() {
        *last ^= 1;
    }
    std::fs::write(&probe.library, &bytes).expect("rewrite library");
    probe.write_manifest();
    std::thread::sleep(SETTLED);
    cached_query().assert_ok();
    let second = memo_lines(&cache);
    assert_eq!(second.len(), 2, "{second:?}");
    assert_eq!(second[0], first[0]);
    assert_ne!(second[1], first[0]);

    // A memo others can write is neither trusted nor rewritten; nor is one in a folder others
    // can write.
    set_mode(&memo, 0o666);
    std::fs::write(&memo, "1 forged\n").expect("forge memo");
    cached_query().assert_ok();
    assert_eq!(memo_lines(&cache), vec!["1 forged"]);
    assert_eq!(mode_of(&memo), 0o666);
    std::fs::remove_file(&memo).expect("remove memo");
    set_mode(&cache.join("plenum"), 0o777);
    cached_query().assert_ok();
    assert!(
        !memo.exists(),
        "no memo is created in a folder others can write"
    );
    set_mode(&cache.join("plenum"), 0o700);
}
