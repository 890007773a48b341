//! The credential-leak matrix: a distinctive password, given by environment variable, by DSN
//! (percent-encoded in the user part or form-encoded in the query) and by saved connection,
//! through every way a call can fail — unreachable host, wrong port, bad password, unknown
//! database or user, TLS failure, bad DSN, missing variable, broken config, timeout, plugin
//! panic — must not appear in any spelling on any surface: CLI stdout and stderr, MCP results
//! and the MCP server's stderr.
//!
//! The live-server cases create their own database and users and remove them afterwards;
//! skipped with a notice when a server or plugin is missing (under `CI=true` an unreachable
//! server fails).

mod live_support;
mod mcp_support;

use live_support::{Kind, Server, TestDb};
use mcp_support::{error_code, McpServer};
use plenum_e2e::{engine_available, unique_name, ConfigSandbox, Plenum, Run};
use serde_json::{json, Map, Value as Json};

/// Holds characters that URL-encode (`!`, `%`, space, `&`, `=`, `/`, `:`, `@`, `?`, `#`).
const PASSWORD: &str = "Zx9!leak-PW%40 &q=r/s:t@u?v#w";
/// The part of the password every spelling keeps as is: catches partial leaks too.
const PASSWORD_CORE: &str = "leak-PW";
const PASSWORD_VARIABLE: &str = "PLENUM_LEAK_PW";
const MISSING_VARIABLE: &str = "PLENUM_LEAK_MISSING_PW";

fn percent_encoded(text: &str, lower_hex: bool) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else if lower_hex {
            encoded.push_str(&format!("%{byte:02x}"));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `application/x-www-form-urlencoded`: space is `+`.
fn form_encoded(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        match byte {
            b' ' => encoded.push('+'),
            b'*' | b'-' | b'.' | b'_' => encoded.push(char::from(byte)),
            _ if byte.is_ascii_alphanumeric() => encoded.push(char::from(byte)),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

/// Every spelling checked: raw, percent-encoded (both hex cases), form-encoded, and the core.
fn spellings() -> Vec<(&'static str, String)> {
    vec![
        ("raw", PASSWORD.to_owned()),
        ("percent-encoded", percent_encoded(PASSWORD, false)),
        (
            "percent-encoded, lower-case hex",
            percent_encoded(PASSWORD, true),
        ),
        ("form-encoded", form_encoded(PASSWORD)),
        ("partial", PASSWORD_CORE.to_owned()),
    ]
}

/// What a run is expected to end with; the leak check is the point, this proves the run
/// reached the failure it is meant to exercise.
#[derive(Debug, Clone, Copy)]
enum Expected {
    Ok,
    Code(&'static str),
    OneOf(&'static [&'static str]),
    Any,
}

impl Expected {
    fn accepts(self, code: &str) -> bool {
        match self {
            Expected::Ok => code.is_empty(),
            Expected::Code(expected) => code == expected,
            Expected::OneOf(codes) => codes.contains(&code),
            Expected::Any => true,
        }
    }
}

/// Problems found across a matrix, reported together.
#[derive(Default)]
struct Findings {
    problems: Vec<String>,
    checked: usize,
}

impl Findings {
    fn scan(&mut self, label: &str, surface: &str, text: &str) {
        self.checked += 1;
        let lower = text.to_lowercase();
        for (spelling, needle) in spellings() {
            if lower.contains(&needle.to_lowercase()) {
                self.problems.push(format!(
                    "{label}: the password ({spelling}) is in {surface}: {}",
                    text.trim()
                ));
            }
        }
    }

    fn outcome(&mut self, label: &str, code: &str, expected: Expected, output: &str) {
        if !expected.accepts(code) {
            self.problems.push(format!(
                "{label}: expected {expected:?}, got {}",
                output.trim()
            ));
        }
    }

    fn cli(&mut self, label: &str, run: &Run, expected: Expected) {
        self.scan(label, "CLI stdout", &run.stdout);
        self.scan(label, "CLI stderr", &run.stderr);
        self.outcome(label, run.error_code(), expected, &run.stdout);
    }

    fn mcp(&mut self, label: &str, answer: &Json, expected: Expected) {
        let text = answer.to_string();
        self.scan(label, "an MCP result", &text);
        self.outcome(label, &error_code(answer), expected, &text);
    }

    fn assert_clean(self, what: &str) {
        assert!(
            self.checked > 0,
            "{what}: nothing was checked (all skipped?)"
        );
        assert!(
            self.problems.is_empty(),
            "{what}: {} problem(s) in {} surfaces:\n{}",
            self.problems.len(),
            self.checked,
            self.problems.join("\n")
        );
    }
}

/// Where a call goes.
#[derive(Debug, Clone)]
struct Target {
    engine: String,
    host: String,
    port: u16,
    user: String,
    database: Option<String>,
    ssl_mode: Option<&'static str>,
}

impl Target {
    fn flags(&self) -> Vec<String> {
        let mut flags = vec![
            "--engine".to_owned(),
            self.engine.clone(),
            "--host".to_owned(),
            self.host.clone(),
            "--port".to_owned(),
            self.port.to_string(),
            "--user".to_owned(),
            self.user.clone(),
        ];
        if let Some(database) = &self.database {
            flags.extend(["--database".to_owned(), database.clone()]);
        }
        if let Some(mode) = self.ssl_mode {
            flags.extend(["--ssl-mode".to_owned(), mode.to_owned()]);
        }
        flags
    }

    /// A DSN with the password percent-encoded in the user part.
    fn dsn(&self) -> String {
        self.dsn_with(
            &format!("{}:{}", self.user, percent_encoded(PASSWORD, false)),
            "",
        )
    }

    /// A DSN with the password form-encoded in the query.
    fn dsn_with_query_password(&self) -> String {
        self.dsn_with(&self.user, &format!("password={}", form_encoded(PASSWORD)))
    }

    fn dsn_with(&self, user_info: &str, query: &str) -> String {
        let mut parameters: Vec<String> = Vec::new();
        if let Some(mode) = self.ssl_mode {
            parameters.push(format!("sslmode={mode}"));
        }
        if !query.is_empty() {
            parameters.push(query.to_owned());
        }
        let mut dsn = format!(
            "{}://{user_info}@{}:{}/{}",
            self.engine,
            self.host,
            self.port,
            self.database.as_deref().unwrap_or("")
        );
        if !parameters.is_empty() {
            dsn.push('?');
            dsn.push_str(&parameters.join("&"));
        }
        dsn
    }

    /// The MCP connection arguments (no password: `password_env` names the variable).
    fn mcp_arguments(&self, password_env: &str) -> Map<String, Json> {
        let mut arguments = Map::new();
        arguments.insert("engine".into(), json!(self.engine));
        arguments.insert("host".into(), json!(self.host));
        arguments.insert("port".into(), json!(self.port));
        arguments.insert("user".into(), json!(self.user));
        if let Some(database) = &self.database {
            arguments.insert("database".into(), json!(database));
        }
        if let Some(mode) = self.ssl_mode {
            arguments.insert("ssl_mode".into(), json!(mode));
        }
        arguments.insert("password_env".into(), json!(password_env));
        arguments
    }
}

/// One way a call fails, with where it goes and what it runs.
struct Failure {
    kind: String,
    target: Target,
    sql: String,
    timeout_ms: Option<u64>,
    expected: Expected,
}

impl Failure {
    fn new(kind: &str, target: Target, expected: Expected) -> Failure {
        Failure {
            kind: kind.to_owned(),
            target,
            sql: "SELECT 1".to_owned(),
            timeout_ms: None,
            expected,
        }
    }

    fn query_flags(&self) -> Vec<String> {
        let mut flags = vec!["--sql".to_owned(), self.sql.clone()];
        if let Some(timeout) = self.timeout_ms {
            flags.extend(["--timeout-ms".to_owned(), timeout.to_string()]);
        }
        flags
    }

    fn mcp_query(&self, mut arguments: Map<String, Json>) -> Json {
        arguments.insert("sql".into(), json!(self.sql));
        if let Some(timeout) = self.timeout_ms {
            arguments.insert("timeout_ms".into(), json!(timeout));
        }
        Json::Object(arguments)
    }
}

/// The failures reachable on a live server from `base`, whose user's password is
/// [`PASSWORD`]; `other` is a user whose password is different.
fn server_failures(server: &Server, base: &Target, other: &str) -> Vec<Failure> {
    let with = |change: &dyn Fn(&mut Target)| {
        let mut target = base.clone();
        change(&mut target);
        target
    };
    let failed = Expected::Code("CONNECTION_FAILED");
    let mut failures = vec![
        Failure::new(
            "unreachable_host",
            with(&|target| target.host = "plenum-unreachable.invalid".into()),
            failed,
        ),
        Failure::new("wrong_port", with(&|target| target.port = 1), failed),
        Failure::new(
            "unknown_database",
            with(&|target| target.database = Some(unique_name("plenum_nodb"))),
            failed,
        ),
        Failure::new(
            "unknown_user",
            with(&|target| target.user = unique_name("plenum_nouser")),
            failed,
        ),
    ];
    match server.kind {
        Kind::Postgres => {
            // Trust authentication on the test server accepts any password: the call
            // succeeds, and must not show the password either.
            failures.push(Failure::new(
                "bad_password",
                with(&|target| target.user = other.to_owned()),
                Expected::Ok,
            ));
            failures.push(Failure::new(
                "tls_failure",
                with(&|target| target.ssl_mode = Some("verify-full")),
                failed,
            ));
        }
        Kind::Mysql => {
            failures.push(Failure::new(
                "bad_password",
                with(&|target| target.user = other.to_owned()),
                failed,
            ));
            if server.admin(None).text("SELECT @@have_ssl") == "YES" {
                eprintln!("notice: the server offers TLS; the TLS failure case is not exercised");
            } else {
                failures.push(Failure::new(
                    "tls_failure",
                    with(&|target| target.ssl_mode = Some("require")),
                    failed,
                ));
            }
        }
    }
    let mut timeout = Failure::new("timeout", base.clone(), Expected::Code("TIMEOUT"));
    timeout.sql = match server.kind {
        Kind::Postgres => "SELECT pg_sleep(5)".to_owned(),
        Kind::Mysql => "SELECT SLEEP(5)".to_owned(),
    };
    timeout.timeout_ms = Some(300);
    failures.push(timeout);
    failures
}

/// Users that know [`PASSWORD`] (`<db>_leak`) and that do not (`<db>_other`); the test
/// database's drop removes them (they carry its name as a prefix).
fn create_users(db: &mut TestDb) -> (String, String) {
    let good = format!("{}_leak", db.name);
    let other = format!("{}_other", db.name);
    let name = db.name.clone();
    match db.server.kind {
        Kind::Postgres => db.admin().exec(&[
            &format!("CREATE ROLE \"{good}\" LOGIN PASSWORD '{PASSWORD}'"),
            &format!("CREATE ROLE \"{other}\" LOGIN PASSWORD 'a different one'"),
        ]),
        Kind::Mysql => {
            for host in ["%", "localhost", "127.0.0.1"] {
                db.admin().exec(&[
                    &format!("CREATE USER '{good}'@'{host}' IDENTIFIED BY '{PASSWORD}'"),
                    &format!("GRANT ALL ON `{name}`.* TO '{good}'@'{host}'"),
                    &format!("CREATE USER '{other}'@'{host}' IDENTIFIED BY 'a different one'"),
                ]);
            }
        }
    }
    (good, other)
}

/// Saves `target` as `name` in the sandbox with the password stored, and checks the save's
/// own answer and the listing.
fn save(sandbox: &ConfigSandbox, findings: &mut Findings, name: &str, target: &Target) {
    let run = sandbox
        .plenum(["connect", "--name", name, "--password", PASSWORD])
        .args(target.flags())
        .run();
    findings.cli(&format!("connect --name {name}"), &run, Expected::Ok);
}

/// The CLI with each password source, for each failure.
fn cli_matrix(
    sandbox: &ConfigSandbox,
    findings: &mut Findings,
    failures: &[Failure],
    prefix: &str,
) {
    for failure in failures {
        let label = |source: &str| format!("{prefix} {} via {source}", failure.kind);
        let run = sandbox
            .plenum(["query"])
            .args(failure.target.flags())
            .args(["--password-env", PASSWORD_VARIABLE])
            .args(failure.query_flags())
            .env(PASSWORD_VARIABLE, PASSWORD)
            .run();
        findings.cli(&label("--password-env"), &run, failure.expected);

        for (source, dsn) in [
            ("a DSN's user part", failure.target.dsn()),
            ("a DSN's query", failure.target.dsn_with_query_password()),
        ] {
            let run = sandbox
                .plenum(["query", "--dsn", &dsn])
                .args(failure.query_flags())
                .run();
            findings.cli(&label(source), &run, failure.expected);
        }

        let saved = format!("{prefix}_{}", failure.kind);
        save(sandbox, findings, &saved, &failure.target);
        let run = sandbox
            .plenum(["query", "--connection", &saved])
            .args(failure.query_flags())
            .run();
        findings.cli(&label("a saved connection"), &run, failure.expected);
        let run = sandbox
            .plenum(["connect", "--test", "--connection", &saved])
            .run();
        findings.cli(&label("connect --test"), &run, Expected::Any);
        let run = sandbox
            .plenum(["introspect", "--list-tables", "--connection", &saved])
            .args(
                failure
                    .timeout_ms
                    .map(|ms| vec!["--timeout-ms".to_owned(), ms.to_string()])
                    .unwrap_or_default(),
            )
            .run();
        findings.cli(&label("introspect"), &run, Expected::Any);
    }
}

/// Failures that happen before any connection: a bad DSN and a missing variable, with the
/// password present through each source.
fn cli_early_failures(sandbox: &ConfigSandbox, findings: &mut Findings, target: &Target) {
    let engine = &target.engine;
    let saved = format!("early_{engine}");
    save(sandbox, findings, &saved, target);
    let invalid = Expected::Code("INVALID_INPUT");
    let config = Expected::Code("CONFIG_ERROR");
    let raw_in_dsn = format!(
        "{engine}://{}:{PASSWORD}@{}:{}/db",
        target.user, target.host, target.port
    );
    let cases: Vec<(String, Vec<String>, Expected)> = vec![
        (
            "bad DSN with --password-env".into(),
            vec![
                "--dsn".into(),
                format!("{engine}://u@[bad/db"),
                "--password-env".into(),
                PASSWORD_VARIABLE.into(),
            ],
            invalid,
        ),
        (
            "bad DSN host with the password in it".into(),
            vec![
                "--dsn".into(),
                format!(
                    "{engine}://{}:{}@[bad/db",
                    target.user,
                    percent_encoded(PASSWORD, false)
                ),
            ],
            invalid,
        ),
        (
            "bad DSN port with the password in it".into(),
            vec![
                "--dsn".into(),
                format!(
                    "{engine}://{}:{}@{}:notaport/db",
                    target.user,
                    percent_encoded(PASSWORD, false),
                    target.host
                ),
            ],
            invalid,
        ),
        (
            "bad percent-escape next to the password".into(),
            vec![
                "--dsn".into(),
                format!(
                    "{engine}://{}:{}%zz@{}:{}/db",
                    target.user,
                    percent_encoded(PASSWORD, false),
                    target.host,
                    target.port
                ),
            ],
            invalid,
        ),
        (
            "the password unencoded in a DSN".into(),
            vec!["--dsn".into(), raw_in_dsn],
            Expected::Any,
        ),
        (
            "bad DSN with a saved connection".into(),
            vec![
                "--connection".into(),
                saved.clone(),
                "--dsn".into(),
                format!("{engine}://u@[bad/db"),
            ],
            invalid,
        ),
        (
            "missing variable with flags".into(),
            [
                target.flags(),
                vec!["--password-env".into(), MISSING_VARIABLE.into()],
            ]
            .concat(),
            config,
        ),
        (
            "missing variable with a DSN".into(),
            vec![
                "--dsn".into(),
                target.dsn(),
                "--password-env".into(),
                MISSING_VARIABLE.into(),
            ],
            config,
        ),
        (
            "missing variable with a saved connection".into(),
            vec![
                "--connection".into(),
                saved.clone(),
                "--password-env".into(),
                MISSING_VARIABLE.into(),
            ],
            config,
        ),
    ];
    for (label, args, expected) in cases {
        let run = sandbox
            .plenum(["query", "--sql", "SELECT 1"])
            .args(args)
            .env(PASSWORD_VARIABLE, PASSWORD)
            .run();
        findings.cli(&format!("{engine}: {label}"), &run, expected);
    }
}

/// `plenum mcp` with the password from the server's environment and from saved connections.
fn mcp_matrix(
    sandbox: &ConfigSandbox,
    findings: &mut Findings,
    failures: &[Failure],
    prefix: &str,
) {
    let mut server = McpServer::start_in(
        Some(&sandbox.project),
        &[
            "--password-env",
            PASSWORD_VARIABLE,
            "--password-env",
            MISSING_VARIABLE,
        ],
        &[
            ("HOME", &sandbox.home.to_string_lossy()),
            ("XDG_CONFIG_HOME", &sandbox.xdg.to_string_lossy()),
            (PASSWORD_VARIABLE, PASSWORD),
        ],
    );
    server.initialize("2025-06-18");
    for failure in failures {
        let label = |source: &str| format!("MCP {prefix} {} via {source}", failure.kind);
        let answer = server.call_tool(
            "query",
            failure.mcp_query(failure.target.mcp_arguments(PASSWORD_VARIABLE)),
        );
        findings.mcp(&label("password_env"), &answer, failure.expected);
        let mut saved = Map::new();
        saved.insert(
            "connection".into(),
            json!(format!("{prefix}_{}", failure.kind)),
        );
        let answer = server.call_tool("query", failure.mcp_query(saved.clone()));
        findings.mcp(&label("a saved connection"), &answer, failure.expected);
        let answer = server.call_tool("introspect", Json::Object(saved));
        findings.mcp(&label("introspect"), &answer, Expected::Any);
        let answer = server.call_tool(
            "query",
            failure.mcp_query(failure.target.mcp_arguments(MISSING_VARIABLE)),
        );
        findings.mcp(
            &label("a missing variable"),
            &answer,
            Expected::Code("CONFIG_ERROR"),
        );
    }
    let answer = server.call_tool("list_connections", json!({}));
    findings.mcp(
        &format!("MCP {prefix} list_connections"),
        &answer,
        Expected::Ok,
    );
    server.close_stdin();
    server.wait_exit(std::time::Duration::from_secs(10));
    findings.scan(
        &format!("MCP {prefix}"),
        "the MCP server's stderr",
        &server.stderr(),
    );
}

fn live_matrix(server: Option<Server>) {
    let Some(server) = server else {
        return;
    };
    let mut db = TestDb::create(&server, &[]);
    let (good, other) = create_users(&mut db);
    let base = Target {
        engine: server.engine().to_owned(),
        host: server.host.clone(),
        port: server.port,
        user: good,
        database: Some(db.name.clone()),
        ssl_mode: None,
    };
    let failures = server_failures(&server, &base, &other);
    let sandbox = ConfigSandbox::new();
    let mut findings = Findings::default();
    let prefix = server.engine();

    cli_matrix(&sandbox, &mut findings, &failures, prefix);
    cli_early_failures(&sandbox, &mut findings, &base);
    // A host that never answers: the connect is abandoned at the timeout (CLI only, it costs
    // the cancel grace).
    let mut silent = base.clone();
    silent.host = "10.255.255.1".into();
    let run = sandbox
        .plenum(["query", "--timeout-ms", "500", "--sql", "SELECT 1"])
        .args(silent.flags())
        .args(["--password-env", PASSWORD_VARIABLE])
        .env(PASSWORD_VARIABLE, PASSWORD)
        .run();
    findings.cli(
        &format!("{prefix} silent host via --password-env"),
        &run,
        Expected::OneOf(&["TIMEOUT", "CONNECTION_FAILED"]),
    );
    let run = sandbox.plenum(["connect", "--list"]).run();
    findings.cli("connect --list", &run, Expected::Ok);

    mcp_matrix(&sandbox, &mut findings, &failures, prefix);
    findings.assert_clean(prefix);
}

#[test]
fn postgres_failures_never_show_the_password() {
    live_matrix(Server::postgres());
}

#[test]
fn mysql_failures_never_show_the_password() {
    live_matrix(Server::mysql());
}

#[test]
fn a_panicking_plugin_never_shows_the_password() {
    if !engine_available("test-panic") {
        return;
    }
    let target = Target {
        engine: "test-panic".into(),
        host: "127.0.0.1".into(),
        port: 1,
        user: "app".into(),
        database: Some("db".into()),
        ssl_mode: None,
    };
    let failures = [Failure::new(
        "plugin_panic",
        target,
        Expected::Code("PLUGIN_ERROR"),
    )];
    let sandbox = ConfigSandbox::new();
    let mut findings = Findings::default();
    cli_matrix(&sandbox, &mut findings, &failures, "panic");
    mcp_matrix(&sandbox, &mut findings, &failures, "panic");
    findings.assert_clean("plugin panic");
}

/// Config files that do not load, each holding the password where a password belongs.
fn broken_configs() -> Vec<(&'static str, String)> {
    let entry = format!(
        r#""leak": {{"engine": "postgres", "host": "127.0.0.1", "port": 5432, "user": "app", "password": "{PASSWORD}""#
    );
    vec![
        (
            "truncated",
            format!(r#"{{"version": 1, "connections": {{{entry}"#),
        ),
        (
            "a wrong type next to the password",
            format!(r#"{{"version": 1, "connections": {{{entry}, "database": 5}}}}}}"#),
        ),
        (
            "a syntax error after the password",
            format!("{{\"version\": 1, \"connections\": {{{entry}\n \"database\": \"x\"}}}}}}"),
        ),
        (
            "a misspelt key holding the password",
            format!(
                r#"{{"version": 1, "connections": {{"leak": {{"engine": "postgres", "pasword": "{PASSWORD}"}}}}}}"#
            ),
        ),
        (
            "an unknown top-level key",
            format!(r#"{{"version": 1, "secret": 1, "connections": {{{entry}}}}}}}"#),
        ),
    ]
}

#[test]
fn a_broken_config_never_shows_the_password() {
    let mut findings = Findings::default();
    let config = Expected::Code("CONFIG_ERROR");
    for (variant, content) in broken_configs() {
        let sandbox = ConfigSandbox::new();
        let local = sandbox.local_config();
        std::fs::create_dir_all(local.parent().expect("config folder")).expect("mkdir");
        std::fs::write(&local, &content).expect("write config");
        let dsn = format!(
            "postgres://app:{}@127.0.0.1:1/db",
            percent_encoded(PASSWORD, false)
        );
        for (source, args, env) in [
            ("a saved connection", vec!["--connection", "leak"], None),
            (
                "--password-env",
                vec!["--connection", "leak", "--password-env", PASSWORD_VARIABLE],
                Some(PASSWORD),
            ),
            ("a DSN", vec!["--connection", "leak", "--dsn", &dsn], None),
        ] {
            let mut plenum = sandbox.plenum(["query", "--sql", "SELECT 1"]).args(&args);
            if let Some(value) = env {
                plenum = plenum.env(PASSWORD_VARIABLE, value);
            }
            findings.cli(
                &format!("{variant}, query via {source}"),
                &plenum.run(),
                config,
            );
        }
        for args in [
            &["connect", "--test", "--connection", "leak"][..],
            &["introspect", "--connection", "leak"][..],
            &["connect", "--list"][..],
        ] {
            let run = sandbox.plenum(args).run();
            findings.cli(&format!("{variant}, {}", args.join(" ")), &run, config);
        }
        // The same file as the global one, with a valid local file naming the connection.
        let global = sandbox.global_config();
        std::fs::create_dir_all(global.parent().expect("config folder")).expect("mkdir");
        std::fs::write(&global, &content).expect("write config");
        std::fs::write(
            &local,
            r#"{"version": 1, "connections": {"leak": {"engine": "postgres", "host": "127.0.0.1", "port": 1}}}"#,
        )
        .expect("write config");
        let run = sandbox
            .plenum(["query", "--connection", "leak", "--sql", "SELECT 1"])
            .run();
        findings.cli(
            &format!("{variant} (global file), query"),
            &run,
            Expected::OneOf(&["CONFIG_ERROR", "CONNECTION_FAILED"]),
        );
        std::fs::write(&local, &content).expect("write config");

        let mut server = McpServer::start_in(
            Some(&sandbox.project),
            &["--password-env", PASSWORD_VARIABLE],
            &[
                ("HOME", &sandbox.home.to_string_lossy()),
                ("XDG_CONFIG_HOME", &sandbox.xdg.to_string_lossy()),
                (PASSWORD_VARIABLE, PASSWORD),
            ],
        );
        server.initialize("2025-06-18");
        let answer = server.call_tool("query", json!({"connection": "leak", "sql": "SELECT 1"}));
        findings.mcp(&format!("MCP {variant}, query"), &answer, config);
        let answer = server.call_tool("introspect", json!({"connection": "leak"}));
        findings.mcp(&format!("MCP {variant}, introspect"), &answer, config);
        let answer = server.call_tool("list_connections", json!({}));
        findings.mcp(&format!("MCP {variant}, list_connections"), &answer, config);
        server.close_stdin();
        server.wait_exit(std::time::Duration::from_secs(10));
        findings.scan(
            &format!("MCP {variant}"),
            "the MCP server's stderr",
            &server.stderr(),
        );
    }
    findings.assert_clean("broken config");
}

/// A value put in the wrong field of a config file (here the password as `ssl_mode`) is not
/// quoted back: the documented message names the connection and the file, never a value.
#[test]
fn a_config_value_in_the_wrong_field_is_not_quoted() {
    let sandbox = ConfigSandbox::new();
    let local = sandbox.local_config();
    std::fs::create_dir_all(local.parent().expect("config folder")).expect("mkdir");
    std::fs::write(
        &local,
        format!(
            r#"{{"version": 1, "connections": {{"leak": {{"engine": "postgres", "ssl_mode": "{PASSWORD}"}}}}}}"#
        ),
    )
    .expect("write config");
    let mut findings = Findings::default();
    let run = Plenum::new(["query", "--connection", "leak", "--sql", "SELECT 1"])
        .env("HOME", &sandbox.home.to_string_lossy())
        .env("XDG_CONFIG_HOME", &sandbox.xdg.to_string_lossy())
        .current_dir(&sandbox.project)
        .run();
    findings.cli(
        "ssl_mode holding the password",
        &run,
        Expected::Code("CONFIG_ERROR"),
    );
    findings.assert_clean("misplaced value");
}
