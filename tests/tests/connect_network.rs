//! Saved connections of network engines: the password never shows in an error, whatever its
//! source, and `connect --test` is bounded by its timeout. Uses addresses where nothing
//! listens, so no server is needed; skipped with a notice when the plugin is missing.

use plenum_e2e::{engine_available, ConfigSandbox, Run};

const SECRET: &str = "Zq9-secret-PW";

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
    assert!(
        !run.stdout.contains("Zq9"),
        "part of the secret in stdout: {}",
        run.stdout
    );
}

fn refused_everywhere(engine: &str) {
    if !engine_available(engine) {
        return;
    }
    let sandbox = ConfigSandbox::new();
    let base = [
        "--engine",
        engine,
        "--host",
        "127.0.0.1",
        "--port",
        "1",
        "--user",
        "app",
    ];
    sandbox
        .plenum(["connect", "--name", "stored", "--password", SECRET])
        .args(base)
        .run()
        .assert_ok();
    sandbox
        .plenum([
            "connect",
            "--name",
            "env",
            "--password-env",
            "PLENUM_TEST_PW",
        ])
        .args(base)
        .run()
        .assert_ok();
    let dsn = format!("{engine}://app:{SECRET}@127.0.0.1:1/db?password={SECRET}");
    let runs = [
        sandbox
            .plenum(["connect", "--test", "--connection", "stored"])
            .run(),
        sandbox
            .plenum(["connect", "--test", "--connection", "env"])
            .env("PLENUM_TEST_PW", SECRET)
            .run(),
        sandbox
            .plenum(["query", "--connection", "stored", "--sql", "SELECT 1"])
            .run(),
        sandbox
            .plenum(["introspect", "--connection", "env", "--list-tables"])
            .env("PLENUM_TEST_PW", SECRET)
            .run(),
        sandbox
            .plenum(["query", "--dsn", &dsn, "--sql", "SELECT 1"])
            .run(),
        sandbox
            .plenum(["connect", "--name", "bad", "--dsn", &dsn, "--test"])
            .run(),
        sandbox
            .plenum(["connect", "--list"])
            .env("PLENUM_TEST_PW", SECRET)
            .run(),
    ];
    for run in &runs[..6] {
        run.assert_error("CONNECTION_FAILED");
        assert_no_secret(run);
    }
    let list = &runs[6];
    list.assert_ok();
    assert_no_secret(list);
    // The failed --test saved nothing.
    let names: Vec<&str> = list.json["data"]["connections"]
        .as_array()
        .map(|all| all.iter().filter_map(|e| e["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, vec!["env", "stored"]);
}

#[test]
fn postgres_connection_errors_never_carry_the_password() {
    refused_everywhere("postgres");
}

#[test]
fn mysql_connection_errors_never_carry_the_password() {
    refused_everywhere("mysql");
}

#[test]
fn connect_test_is_bounded_by_its_timeout() {
    for engine in ["postgres", "mysql"] {
        if !engine_available(engine) {
            continue;
        }
        let sandbox = ConfigSandbox::new();
        let started = std::time::Instant::now();
        // A non-routable address: the TCP connect hangs until someone gives up.
        let run = sandbox
            .plenum([
                "connect",
                "--test",
                "--engine",
                engine,
                "--host",
                "10.255.255.1",
            ])
            .args(["--user", "app", "--timeout-ms", "500"])
            .run();
        let elapsed = started.elapsed();
        assert!(!run.ok(), "{}", run.stdout);
        assert!(
            ["TIMEOUT", "CONNECTION_FAILED"].contains(&run.error_code()),
            "{}",
            run.stdout
        );
        assert!(elapsed.as_secs() < 10, "{engine}: took {elapsed:?}");
    }
}
