//! Saved connections end to end, in a temporary HOME and project: where the files go and
//! their permissions, precedence (flags > saved, local > global), ceilings, secrets, and the
//! errors of broken files. SQLite only, so these always run.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use plenum_e2e::{ConfigSandbox, Plenum, Run, SqliteFixture};
use serde_json::{json, Value as Json};

const SECRET: &str = "Zq9-secret-PW";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

fn assert_no_secret(run: &Run) {
    assert!(
        !run.stdout.contains(SECRET),
        "secret in stdout: {}",
        run.stdout
    );
    assert!(
        !run.stderr.contains(SECRET),
        "secret in stderr: {}",
        run.stderr
    );
}

fn db(rows: &[&str]) -> SqliteFixture {
    let inserts: String = rows
        .iter()
        .map(|name| format!("INSERT INTO t VALUES ('{name}');"))
        .collect();
    SqliteFixture::new(&format!("CREATE TABLE t (name TEXT); {inserts}"))
}

fn save_sqlite(sandbox: &ConfigSandbox, name: &str, file: &Path, extra: &[&str]) -> Run {
    let run = sandbox
        .plenum(["connect", "--name", name, "--engine", "sqlite", "--file"])
        .args([file.as_os_str()])
        .args(extra)
        .run();
    run.assert_ok();
    run
}

/// Runs `plenum`, which must succeed, and returns the first column of each row.
fn names(plenum: Plenum) -> Vec<Json> {
    let run = plenum.run();
    run.assert_ok();
    run.rows().into_iter().map(|row| row[0].clone()).collect()
}

/// `plenum query` reading the names in `t` through saved connection `connection`.
fn select_names(sandbox: &ConfigSandbox, connection: &str) -> Plenum {
    sandbox.plenum([
        "query",
        "--connection",
        connection,
        "--sql",
        "SELECT name FROM t",
    ])
}

/// `plenum query` adding a row to `t` through saved connection `connection`, with the write
/// tier asked for.
fn insert_row(sandbox: &ConfigSandbox, connection: &str) -> Plenum {
    sandbox
        .plenum(["query", "--connection", connection, "--allow-write"])
        .args(["--sql", "INSERT INTO t VALUES ('x')"])
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

/// The project's connections file, parsed.
fn local_config_json(sandbox: &ConfigSandbox) -> Json {
    serde_json::from_slice(&std::fs::read(sandbox.local_config()).expect("read")).expect("json")
}

/// The `data.connections` entries of `plenum connect --list`.
fn listed_connections(list: &Run) -> Vec<Json> {
    list.json["data"]["connections"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn saved_files_and_folders_are_owner_only() {
    let sandbox = ConfigSandbox::new();
    let data = db(&["a"]);
    let run = save_sqlite(&sandbox, "dev", &data.file, &[]);
    assert_eq!(run.json["data"]["connection"]["scope"], "local");
    let local = sandbox.local_config();
    assert_eq!(mode(&local), 0o600);
    assert_eq!(mode(local.parent().expect("dir")), 0o700);

    save_sqlite(&sandbox, "shared", &data.file, &["--save", "global"]);
    let global = sandbox.global_config();
    assert_eq!(mode(&global), 0o600);
    assert_eq!(mode(global.parent().expect("dir")), 0o700);
    // XDG_CONFIG_HOME did not exist: it was created private too.
    assert_eq!(mode(&sandbox.xdg), 0o700);

    // Rewriting keeps the mode, whatever the umask and the old file's mode were.
    std::fs::set_permissions(&local, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    save_sqlite(&sandbox, "dev2", &data.file, &[]);
    assert_eq!(mode(&local), 0o600);
}

#[test]
fn global_config_falls_back_to_home_without_xdg() {
    let sandbox = ConfigSandbox::new();
    let data = db(&["a"]);
    sandbox
        .plenum([
            "connect", "--name", "g", "--engine", "sqlite", "--save", "global", "--file",
        ])
        .args([data.file.as_os_str()])
        .env("XDG_CONFIG_HOME", "")
        .run()
        .assert_ok();
    let path = sandbox.home.join(".config/plenum/connections.json");
    assert_eq!(mode(&path), 0o600, "{}", path.display());
    assert!(!sandbox.global_config().exists());
}

#[test]
fn the_nearest_project_with_a_plenum_folder_is_used() {
    let sandbox = ConfigSandbox::new();
    let data = db(&["a"]);
    std::fs::create_dir(sandbox.project.join(".plenum")).expect("mkdir");
    let deep = sandbox.project.join("src/deep");
    std::fs::create_dir_all(&deep).expect("mkdir");
    sandbox
        .plenum(["connect", "--name", "dev", "--engine", "sqlite", "--file"])
        .args([data.file.as_os_str()])
        .current_dir(&deep)
        .run()
        .assert_ok();
    assert!(sandbox.local_config().is_file());
    assert!(!deep.join(".plenum").exists());
    // And a command in the deep folder finds it.
    assert_eq!(
        names(select_names(&sandbox, "dev").current_dir(&deep)),
        vec![json!("a")]
    );
}

#[test]
fn flags_override_the_saved_connection() {
    let sandbox = ConfigSandbox::new();
    let saved = db(&["saved"]);
    let other = db(&["flag"]);
    save_sqlite(&sandbox, "dev", &saved.file, &[]);
    assert_eq!(names(select_names(&sandbox, "dev")), vec![json!("saved")]);
    let with_file_flag = select_names(&sandbox, "dev")
        .args(["--file"])
        .args([other.file.as_os_str()]);
    assert_eq!(names(with_file_flag), vec![json!("flag")]);
}

#[test]
fn local_overrides_global_and_the_default_applies_only_without_engine_flags() {
    let sandbox = ConfigSandbox::new();
    let local = db(&["local"]);
    let global = db(&["global"]);
    let adhoc = db(&["adhoc"]);
    save_sqlite(
        &sandbox,
        "dev",
        &global.file,
        &["--save", "global", "--default"],
    );
    let query = |args: &[&str]| {
        names(
            sandbox
                .plenum(["query", "--sql", "SELECT name FROM t"])
                .args(args),
        )
    };
    // Only the global file: its default is used.
    assert_eq!(query(&[]), vec![json!("global")]);
    save_sqlite(&sandbox, "dev", &local.file, &[]);
    assert_eq!(query(&["--connection", "dev"]), vec![json!("local")]);
    assert_eq!(
        query(&[]),
        vec![json!("local")],
        "global default names dev; local dev wins"
    );
    let adhoc_file = adhoc.file.to_string_lossy().into_owned();
    assert_eq!(
        query(&["--engine", "sqlite", "--file", &adhoc_file]),
        vec![json!("adhoc")],
        "--engine means an ad-hoc connection, not the default"
    );

    let list = sandbox.plenum(["connect", "--list"]).run();
    list.assert_ok();
    let entries = listed_connections(&list);
    assert_eq!(entries.len(), 2);
    let global_entry = entries
        .iter()
        .find(|e| e["scope"] == "global")
        .expect("global");
    assert_eq!(global_entry["shadowed"], true);
    assert_eq!(global_entry["default"], false);
    let local_entry = entries
        .iter()
        .find(|e| e["scope"] == "local")
        .expect("local");
    assert_eq!(local_entry["default"], true);
}

#[test]
fn connect_default_sets_the_project_default() {
    let sandbox = ConfigSandbox::new();
    let a = db(&["a"]);
    let b = db(&["b"]);
    save_sqlite(&sandbox, "a", &a.file, &["--default"]);
    save_sqlite(&sandbox, "b", &b.file, &[]);
    let run = sandbox
        .plenum(["connect", "--default", "--connection", "b"])
        .run();
    run.assert_ok();
    let config = local_config_json(&sandbox);
    assert_eq!(config["default"], "b");
    let query = sandbox.plenum(["query", "--sql", "SELECT name FROM t"]);
    assert_eq!(names(query), vec![json!("b")]);
    sandbox
        .plenum(["connect", "--default", "--connection", "nope"])
        .run()
        .assert_error("CONFIG_ERROR");
}

#[test]
fn a_saved_ceiling_binds_the_flags() {
    let sandbox = ConfigSandbox::new();
    let data = db(&["a"]);
    save_sqlite(&sandbox, "ro", &data.file, &["--max-capability", "read"]);
    let expected = format!(
        "saved connection 'ro' in {}",
        sandbox.local_config().display()
    );
    assert_error_mentions(
        &insert_row(&sandbox, "ro").run(),
        "CAPABILITY_VIOLATION",
        &expected,
    );
    assert_eq!(data.direct("SELECT count(*) FROM t"), vec!["Integer(1)"]);

    // A write ceiling lets writes through and stops DDL.
    save_sqlite(&sandbox, "rw", &data.file, &["--max-capability", "write"]);
    insert_row(&sandbox, "rw").run().assert_ok();
    assert_eq!(data.direct("SELECT count(*) FROM t"), vec!["Integer(2)"]);
    sandbox
        .plenum([
            "query",
            "--connection",
            "rw",
            "--allow-ddl",
            "--sql",
            "DROP TABLE t",
        ])
        .run()
        .assert_error("CAPABILITY_VIOLATION");
    assert_eq!(data.direct("SELECT count(*) FROM t"), vec!["Integer(2)"]);
}

#[test]
fn the_lowest_ceiling_of_environment_local_and_global_wins() {
    let sandbox = ConfigSandbox::new();
    let data = db(&["a"]);
    save_sqlite(
        &sandbox,
        "prod",
        &data.file,
        &["--save", "global", "--max-capability", "read"],
    );
    // A local entry of the same name without a ceiling does not lift the global one.
    save_sqlite(&sandbox, "prod", &data.file, &[]);
    assert_error_mentions(
        &insert_row(&sandbox, "prod").run(),
        "CAPABILITY_VIOLATION",
        &sandbox.global_config().display().to_string(),
    );

    save_sqlite(&sandbox, "w", &data.file, &["--max-capability", "ddl"]);
    let run = insert_row(&sandbox, "w")
        .env("PLENUM_MAX_CAPABILITY", "read")
        .run();
    assert_error_mentions(&run, "CAPABILITY_VIOLATION", "PLENUM_MAX_CAPABILITY");
    assert_eq!(data.direct("SELECT count(*) FROM t"), vec!["Integer(1)"]);
}

#[test]
fn secrets_never_appear_in_listings_or_errors() {
    let sandbox = ConfigSandbox::new();
    let data = db(&["a"]);
    let stored = save_sqlite(&sandbox, "stored", &data.file, &["--password", SECRET]);
    assert_no_secret(&stored);
    assert_eq!(stored.json["data"]["connection"]["password"], "stored");
    let env = save_sqlite(
        &sandbox,
        "env",
        &data.file,
        &["--password-env", "PLENUM_TEST_PW"],
    );
    assert_eq!(
        env.json["data"]["connection"]["password"],
        "env:PLENUM_TEST_PW"
    );
    save_sqlite(&sandbox, "none", &data.file, &[]);
    // Only the explicit --password is in the file, and the file is private.
    let text = std::fs::read_to_string(sandbox.local_config()).expect("read");
    assert_eq!(text.matches(SECRET).count(), 1, "{text}");
    assert_eq!(mode(&sandbox.local_config()), 0o600);

    let list = sandbox
        .plenum(["connect", "--list"])
        .env("PLENUM_TEST_PW", SECRET)
        .run();
    list.assert_ok();
    assert_no_secret(&list);
    let entries = listed_connections(&list);
    let by_name = |name: &str| {
        entries
            .iter()
            .find(|entry| entry["name"] == name)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(by_name("stored")["password"], "stored");
    assert_eq!(by_name("env")["password"], "env:PLENUM_TEST_PW");
    assert_eq!(by_name("none")["password"], Json::Null);

    // Errors after the secret was loaded: a failing query, a failing test, a bad flag.
    for args in [
        vec![
            "query",
            "--connection",
            "stored",
            "--sql",
            "SELECT nope FROM t",
        ],
        vec![
            "query",
            "--connection",
            "env",
            "--sql",
            "SELECT nope FROM t",
        ],
        vec![
            "query",
            "--connection",
            "stored",
            "--sql",
            &format!("SELECT '{SECRET}' FROM nope"),
        ],
        vec![
            "connect",
            "--test",
            "--connection",
            "stored",
            "--engine",
            "nope",
        ],
        vec![
            "connect",
            "--name",
            "bad name",
            "--engine",
            "sqlite",
            "--password",
            SECRET,
        ],
    ] {
        let run = sandbox.plenum(&args).env("PLENUM_TEST_PW", SECRET).run();
        assert!(!run.ok(), "{args:?}: {}", run.stdout);
        assert_no_secret(&run);
    }
}

#[test]
fn a_dsn_password_is_not_saved() {
    let sandbox = ConfigSandbox::new();
    let dsn = format!("postgres://app:{SECRET}@127.0.0.1:1/shop");
    let run = sandbox
        .plenum(["connect", "--name", "pg", "--dsn", &dsn])
        .run();
    run.assert_ok();
    assert_no_secret(&run);
    assert!(
        run.json["data"]["warnings"][0]
            .as_str()
            .unwrap_or("")
            .contains("not saved"),
        "{}",
        run.stdout
    );
    let text = std::fs::read_to_string(sandbox.local_config()).expect("read");
    assert!(!text.contains(SECRET), "{text}");
    let saved: Json = serde_json::from_str(&text).expect("json");
    assert_eq!(
        saved["connections"]["pg"],
        json!({"engine": "postgres", "host": "127.0.0.1", "port": 1, "user": "app", "database": "shop"})
    );
}

#[test]
fn a_missing_password_variable_is_named_without_any_value() {
    let sandbox = ConfigSandbox::new();
    let data = db(&["a"]);
    save_sqlite(
        &sandbox,
        "envpw",
        &data.file,
        &["--password-env", "PLENUM_TEST_MISSING_PW"],
    );
    assert_error_mentions(
        &select_names(&sandbox, "envpw").run(),
        "CONFIG_ERROR",
        "PLENUM_TEST_MISSING_PW",
    );
    let run = select_names(&sandbox, "envpw")
        .env("PLENUM_TEST_MISSING_PW", SECRET)
        .run();
    run.assert_ok();
    assert_no_secret(&run);
}

#[test]
fn an_unknown_name_lists_the_known_ones() {
    let sandbox = ConfigSandbox::new();
    let data = db(&["a"]);
    save_sqlite(&sandbox, "alpha", &data.file, &[]);
    save_sqlite(&sandbox, "beta", &data.file, &["--save", "global"]);
    let run = sandbox
        .plenum(["query", "--connection", "gamma", "--sql", "SELECT 1"])
        .run();
    run.assert_error("CONFIG_ERROR");
    let message = run.error_message();
    assert!(message.contains("'gamma'"), "{message}");
    assert!(message.contains("alpha (local)"), "{message}");
    assert!(message.contains("beta (global)"), "{message}");
}

fn write_local(sandbox: &ConfigSandbox, bytes: &[u8]) {
    std::fs::create_dir_all(sandbox.project.join(".plenum")).expect("mkdir");
    std::fs::write(sandbox.local_config(), bytes).expect("write");
}

#[test]
fn a_broken_config_names_the_file_and_the_line() {
    let sandbox = ConfigSandbox::new();
    write_local(
        &sandbox,
        b"{\n  \"connections\": {\n    \"dev\": {\"engine\": \"sqlite\",}\n  }\n}\n",
    );
    for args in [
        vec!["query", "--connection", "dev", "--sql", "SELECT 1"],
        vec!["connect", "--list"],
        vec!["introspect", "--connection", "dev"],
    ] {
        let run = sandbox.plenum(&args).run();
        assert_error_mentions(
            &run,
            "CONFIG_ERROR",
            &sandbox.local_config().display().to_string(),
        );
        assert_error_mentions(&run, "CONFIG_ERROR", "line 3");
    }
}

#[test]
fn a_secret_in_the_wrong_field_is_not_quoted_back() {
    let sandbox = ConfigSandbox::new();
    let text = format!(
        "{{\"connections\": {{\"dev\": {{\"engine\": \"sqlite\",\n \"port\": \"{SECRET}\"}}}}}}"
    );
    write_local(&sandbox, text.as_bytes());
    let run = sandbox.plenum(["connect", "--list"]).run();
    assert_error_mentions(&run, "CONFIG_ERROR", "line 2");
    assert_no_secret(&run);
}

#[test]
fn garbage_or_a_directory_instead_of_a_config_is_a_config_error() {
    let sandbox = ConfigSandbox::new();
    write_local(&sandbox, &[0xff, 0x00, 0xfe, 0x13, 0x37, b'{', 0x80]);
    sandbox
        .plenum(["query", "--connection", "dev", "--sql", "SELECT 1"])
        .run()
        .assert_error("CONFIG_ERROR");

    std::fs::remove_file(sandbox.local_config()).expect("rm");
    std::fs::create_dir(sandbox.local_config()).expect("mkdir");
    for args in [
        vec!["connect", "--list"],
        vec![
            "connect", "--name", "x", "--engine", "sqlite", "--file", "x.db",
        ],
        vec!["query", "--sql", "SELECT 1"],
    ] {
        assert_error_mentions(&sandbox.plenum(&args).run(), "CONFIG_ERROR", "directory");
    }
}

#[test]
fn a_misspelt_or_unknown_ceiling_fails_closed() {
    let sandbox = ConfigSandbox::new();
    let data = db(&["a"]);
    let file = data.file.display();
    for entry in [
        format!(r#"{{"engine": "sqlite", "file": "{file}", "max_capabilty": "read"}}"#),
        format!(r#"{{"engine": "sqlite", "file": "{file}", "max_capability": "everything"}}"#),
    ] {
        write_local(
            &sandbox,
            format!(r#"{{"connections": {{"dev": {entry}}}}}"#).as_bytes(),
        );
        insert_row(&sandbox, "dev")
            .run()
            .assert_error("CONFIG_ERROR");
    }
    assert_eq!(data.direct("SELECT count(*) FROM t"), vec!["Integer(1)"]);
}

#[test]
fn remove_deletes_the_entry_and_its_default() {
    let sandbox = ConfigSandbox::new();
    let data = db(&["a"]);
    save_sqlite(&sandbox, "dev", &data.file, &["--default"]);
    save_sqlite(&sandbox, "dev", &data.file, &["--save", "global"]);
    let run = sandbox.plenum(["connect", "--remove", "dev"]).run();
    run.assert_ok();
    assert_eq!(run.json["data"]["scope"], "local");
    assert_eq!(run.json["data"]["was_default"], true);
    assert_eq!(run.json["data"]["still_saved_in"], json!(["global"]));
    let config = local_config_json(&sandbox);
    assert_eq!(config["connections"], json!({}));
    assert!(config.get("default").is_none(), "{config}");
    sandbox
        .plenum(["connect", "--remove", "dev", "--save", "global"])
        .run()
        .assert_ok();
    assert_error_mentions(
        &sandbox.plenum(["connect", "--remove", "dev"]).run(),
        "CONFIG_ERROR",
        "none are saved",
    );
}

#[test]
fn connect_test_reports_the_server_and_saves_only_what_works() {
    let sandbox = ConfigSandbox::new();
    let data = db(&["a"]);
    let run = save_sqlite(&sandbox, "dev", &data.file, &["--test"]);
    let server = &run.json["data"]["server"];
    assert!(
        server["version"]
            .as_str()
            .unwrap_or("")
            .starts_with("SQLite 3."),
        "{server}"
    );
    assert_eq!(server["database"], data.file.display().to_string());

    let run = sandbox
        .plenum(["connect", "--test", "--connection", "dev"])
        .run();
    run.assert_ok();
    assert_eq!(run.json["data"]["connection"], "dev");

    let missing = sandbox.project.join("missing.db");
    let run = sandbox
        .plenum([
            "connect", "--name", "broken", "--engine", "sqlite", "--test", "--file",
        ])
        .args([missing.as_os_str()])
        .run();
    run.assert_error("CONNECTION_FAILED");
    assert!(
        !missing.exists(),
        "a read-only test must not create the file"
    );
    let list = sandbox.plenum(["connect", "--list"]).run();
    let names: Vec<Json> = listed_connections(&list)
        .iter()
        .map(|entry| entry["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("dev")]);
}

#[test]
fn connect_needs_an_action_and_valid_flags() {
    let sandbox = ConfigSandbox::new();
    sandbox
        .plenum(["connect"])
        .run()
        .assert_error("INVALID_INPUT");
    sandbox
        .plenum(["connect", "--list", "--remove", "x"])
        .run()
        .assert_error("INVALID_INPUT");
    sandbox
        .plenum([
            "connect",
            "--name",
            "x",
            "--engine",
            "sqlite",
            "--max-capability",
            "all",
        ])
        .run()
        .assert_error("INVALID_INPUT");
    // Without a terminal, --password with no value cannot prompt.
    sandbox
        .plenum(["connect", "--name", "x", "--engine", "pg", "--password"])
        .run()
        .assert_error("INVALID_INPUT");
    assert!(!sandbox.local_config().exists());
}

#[test]
fn without_a_terminal_and_a_password_source_none_is_stored() {
    let sandbox = ConfigSandbox::new();
    let run = sandbox
        .plenum([
            "connect",
            "--name",
            "pg",
            "--engine",
            "postgres",
            "--host",
            "127.0.0.1",
        ])
        .stdin("typed-but-ignored\n")
        .run();
    run.assert_ok();
    assert_eq!(run.json["data"]["connection"]["password"], Json::Null);
    let text = std::fs::read_to_string(sandbox.local_config()).expect("read");
    assert!(!text.contains("typed-but-ignored"), "{text}");
}

#[test]
fn the_password_prompt_on_a_terminal_does_not_echo() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    // `script` (util-linux) gives the command a pseudo-terminal, as a person would have.
    let has_script = Command::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false);
    if !has_script {
        eprintln!("skipped: `script` (util-linux) is not installed, so no terminal can be faked");
        return;
    }
    let sandbox = ConfigSandbox::new();
    let command_line = format!(
        "{} connect --name typed --engine postgres --host 127.0.0.1 --user app",
        plenum_e2e::plenum_bin().display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &command_line, "/dev/null"])
        .env("HOME", &sandbox.home)
        .env("XDG_CONFIG_HOME", &sandbox.xdg)
        .current_dir(&sandbox.project)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn script");
    // Give the prompt time to switch echo off before typing, as a person would.
    std::thread::sleep(std::time::Duration::from_millis(700));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(format!("{SECRET}\n").as_bytes())
            .expect("type");
    }
    let output = child.wait_with_output().expect("wait");
    let terminal = String::from_utf8_lossy(&output.stdout);
    assert!(terminal.contains("Password for 'typed'"), "{terminal}");
    assert!(terminal.contains(r#""password":"stored""#), "{terminal}");
    assert!(
        !terminal.contains(SECRET),
        "the password was echoed: {terminal}"
    );
    let text = std::fs::read_to_string(sandbox.local_config()).expect("read");
    assert!(text.contains(SECRET), "{text}");
    assert_eq!(mode(&sandbox.local_config()), 0o600);
}
