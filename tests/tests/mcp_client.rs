//! `plenum mcp` driven by a client we did not write: the official MCP Python SDK
//! (`tests/mcp/client.py`). Needs `python3` with the `mcp` package (`pip install mcp==2.3.0`);
//! without it the test is skipped with a notice, unless CI=true, where it fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use plenum_e2e::{live_required, plenum_bin, SqliteFixture};
use serde_json::{json, Value as Json};

const SETUP: &str = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
                     INSERT INTO items (name) VALUES ('apple'), ('pear');";

fn python() -> String {
    std::env::var("PLENUM_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Whether the SDK can be imported; prints the skip notice (or fails under CI) when not.
fn sdk_available() -> bool {
    let probe = Command::new(python())
        .args(["-c", "import mcp, mcp.client.stdio"])
        .output();
    let available = probe.as_ref().is_ok_and(|output| output.status.success());
    if !available {
        let why = match &probe {
            Ok(output) => String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .to_owned(),
            Err(error) => error.to_string(),
        };
        if live_required() {
            panic!("the MCP Python SDK is required under CI=true ({why}); pip install mcp==2.3.0");
        }
        eprintln!(
            "skipped: the MCP Python SDK is not importable by {} ({why}); pip install mcp==2.3.0",
            python()
        );
    }
    available
}

fn client_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("mcp")
        .join("client.py")
}

/// Runs the client scenario; returns each step's output by name, and the combined stderr.
fn run_scenario(
    fixture: &SqliteFixture,
    mode: &str,
    server_args: &[&str],
) -> (BTreeMap<String, Json>, String) {
    run_client(fixture, mode, server_args, None)
}

/// [`run_scenario`] with the client over Streamable HTTP to `url`, sending `token`.
fn run_client(
    fixture: &SqliteFixture,
    mode: &str,
    server_args: &[&str],
    http: Option<(&str, Option<&str>)>,
) -> (BTreeMap<String, Json>, String) {
    let home = fixture.dir.path().join("home");
    let work = fixture.dir.path().join("work");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::create_dir_all(&work).expect("work dir");
    let mut command = Command::new(python());
    command
        .arg(client_script())
        .arg("--plenum")
        .arg(plenum_bin())
        .arg("--db")
        .arg(&fixture.file)
        .args(["--mode", mode])
        .arg("--cwd")
        .arg(&work)
        .arg(format!("--env=HOME={}", home.display()))
        .arg(format!(
            "--env=XDG_CONFIG_HOME={}",
            home.join(".config").display()
        ));
    for arg in server_args {
        command.arg(format!("--server-arg={arg}"));
    }
    command.env_remove("PLENUM_TEST_TOKEN");
    if let Some((url, token)) = http {
        command.arg(format!("--http={url}"));
        if let Some(token) = token {
            command.env("PLENUM_TEST_TOKEN", token);
        }
    }
    let output = command.output().expect("run the Python MCP client");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "client failed:\n{stdout}\nstderr:\n{stderr}"
    );
    let steps = stdout
        .lines()
        .map(|line| {
            serde_json::from_str::<Json>(line).unwrap_or_else(|e| panic!("bad line ({e}): {line}"))
        })
        .map(|step| (step["step"].as_str().unwrap_or("").to_owned(), step))
        .collect::<BTreeMap<_, _>>();
    assert!(
        steps.contains_key("done"),
        "scenario did not finish:\n{stdout}\nstderr:\n{stderr}"
    );
    (steps, stderr)
}

/// The envelope of a step's tool result, checked: no client complaint, text = structured.
fn envelope<'a>(steps: &'a BTreeMap<String, Json>, step: &str) -> &'a Json {
    let output = &steps[step];
    assert!(
        output.get("client_error").is_none(),
        "{step}: the SDK rejected the answer: {output}"
    );
    let result = &output["result"];
    let structured = &result["structuredContent"];
    let text: Json = serde_json::from_str(result["content"][0]["text"].as_str().unwrap_or(""))
        .unwrap_or(Json::Null);
    assert_eq!(
        &text, structured,
        "{step}: text and structuredContent differ"
    );
    assert_eq!(
        result["isError"],
        json!(structured["ok"] != json!(true)),
        "{step}: {output}"
    );
    structured
}

fn code<'a>(steps: &'a BTreeMap<String, Json>, step: &str) -> &'a str {
    envelope(steps, step)["error"]["code"]
        .as_str()
        .unwrap_or("")
}

/// What a client that asked the server about itself (`server/discover` or `initialize`) heard.
fn introduced(steps: &BTreeMap<String, Json>) {
    assert_eq!(steps["initialize"]["server_name"], "plenum");
    assert_eq!(steps["initialize"]["tools_capability"], true);
}

fn common_checks(steps: &BTreeMap<String, Json>, stderr: &str) {
    let tools = steps["tools"]["tools"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = tools
        .iter()
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["query", "introspect", "list_connections", "list_engines"]
    );
    for tool in &tools {
        assert!(
            tool["inputSchema"].is_object() && tool["outputSchema"].is_object(),
            "{tool}"
        );
        assert!(tool["annotations"]["readOnlyHint"].is_boolean(), "{tool}");
    }
    for read_only in &tools[1..] {
        assert_eq!(
            read_only["annotations"]["readOnlyHint"], true,
            "{read_only}"
        );
    }

    let read = envelope(steps, "read");
    assert_eq!(read["data"]["rows"][0], json!([1, "apple"]), "{read}");
    assert_eq!(read["meta"]["access"], "read");

    let engines = envelope(steps, "list_engines");
    let sqlite_ok = engines["data"]["plugins"]
        .as_array()
        .is_some_and(|plugins| {
            plugins.iter().any(|p| {
                p["status"] == "ok"
                    && p["engines"]
                        .as_array()
                        .is_some_and(|e| e.contains(&json!("sqlite")))
            })
        });
    assert!(sqlite_ok, "{engines}");

    // Bound values, a dry run and a plan all pass the SDK's check of the output schema.
    let with_params = envelope(steps, "with_params");
    assert_eq!(
        with_params["data"]["rows"],
        json!([["apple"]]),
        "{with_params}"
    );
    let check = envelope(steps, "check_only");
    assert_eq!(check["command"], "check", "{check}");
    assert_eq!(check["data"]["allowed"], false, "{check}");
    assert_eq!(check["data"]["statements"][1]["tier"], "write", "{check}");
    let explain = envelope(steps, "explain");
    assert_eq!(explain["command"], "explain", "{explain}");
    assert!(explain["data"]["plan"].is_object(), "{explain}");

    // The scenario's introspection lists the tables of the database.
    let introspect = envelope(steps, "introspect");
    assert_eq!(introspect["ok"], true, "{introspect}");
    assert!(introspect.to_string().contains("\"items\""), "{introspect}");

    let connections = envelope(steps, "list_connections");
    assert_eq!(connections["ok"], true, "{connections}");

    assert_eq!(code(steps, "bad_argument_type"), "INVALID_INPUT");
    assert!(envelope(steps, "bad_argument_type")["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("`sql`"));
    assert_eq!(code(steps, "password_argument"), "INVALID_INPUT");
    assert_eq!(
        steps["unknown_tool"]["protocol_error"]["code"], -32602,
        "{}",
        steps["unknown_tool"]
    );

    let everything = steps.values().map(Json::to_string).collect::<String>();
    assert!(
        !everything.contains("Zq9-secret-PW"),
        "the password argument was echoed"
    );
    assert!(
        !stderr.contains("Zq9-secret-PW"),
        "the password argument was logged"
    );
}

#[test]
fn official_client_with_a_write_ceiling_negotiating_the_newest_protocol() {
    if !sdk_available() {
        return;
    }
    let fixture = SqliteFixture::new(SETUP);
    let (steps, stderr) = run_scenario(&fixture, "auto", &["--allow-write"]);
    assert_eq!(steps["initialize"]["protocol_version"], "2026-07-28");
    introduced(&steps);
    common_checks(&steps, &stderr);
    assert_eq!(
        steps["tools"]["tools"][0]["annotations"]["readOnlyHint"],
        false
    );
    assert_eq!(
        steps["tools"]["cache"],
        json!({"ttl_ms": 300_000, "cache_scope": "public"})
    );

    // No flag: refused by the gate, or by the read-only session behind it.
    let refused = code(&steps, "write_without_flag");
    assert!(
        refused == "CAPABILITY_VIOLATION" || refused == "QUERY_FAILED",
        "{}",
        steps["write_without_flag"]
    );
    assert_eq!(
        envelope(&steps, "write_with_flag")["data"]["rows_affected"],
        1
    );
    assert_eq!(code(&steps, "ddl_with_flag"), "CAPABILITY_VIOLATION");
    assert!(envelope(&steps, "ddl_with_flag")["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("set by plenum mcp"));
    assert_eq!(
        envelope(&steps, "after_errors")["data"]["rows"],
        json!([[3]])
    );

    // The database holds exactly what the allowed call wrote.
    let names = fixture.direct("SELECT name FROM items ORDER BY id");
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names[2].contains("with flag"), "{names:?}");
    assert!(fixture
        .direct("SELECT name FROM sqlite_master WHERE name = 'made_by_agent'")
        .is_empty());
}

/// A `plenum mcp --http 127.0.0.1:0` server, killed when dropped.
struct HttpServer {
    child: std::process::Child,
    url: String,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl HttpServer {
    fn start(fixture: &SqliteFixture, args: &[&str], env: &[(&str, &str)]) -> Self {
        use std::io::{BufRead, BufReader};
        let home = fixture.dir.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        let mut command = Command::new(plenum_bin());
        command
            .args(["mcp", "--http", "127.0.0.1:0"])
            .args(args)
            .env_remove("PLENUM_MAX_CAPABILITY")
            .env_remove("PLENUM_MCP_TOKEN")
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start plenum mcp --http");
        let stderr = child.stderr.take().expect("stderr");
        let (sender, receiver) = std::sync::mpsc::channel();
        let collected = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let log = std::sync::Arc::clone(&collected);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line
                    .split("at ")
                    .nth(1)
                    .and_then(|rest| rest.split(';').next())
                    .filter(|url| url.starts_with("http://"))
                {
                    let _ = sender.send(url.to_owned());
                }
                if let Ok(mut text) = log.lock() {
                    text.push_str(&line);
                    text.push('\n');
                }
            }
        });
        let url = receiver
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the server says where it listens");
        HttpServer {
            child,
            url,
            stderr: collected,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TOKEN: &str = "test-token-0123456789abcdef";

/// The protocol revisions a client may speak, each with the SDK mode that speaks it: the newest
/// pinned (adopted without a probe, as a client that knows the server does), the others
/// through the initialize handshake.
const REVISIONS: [(&str, &str); 3] = [
    ("2026-07-28", "2026-07-28"),
    ("legacy", "2025-11-25"),
    ("2025-06-18", "2025-06-18"),
];

/// Each revision over stdio and over Streamable HTTP (with a token), at the default read
/// ceiling: the version agreed on, the tool list (with cache hints only at 2026-07-28), reads
/// and every tool working, and writes refused with the database file untouched.
#[test]
fn official_client_in_every_protocol_revision_over_stdio_and_http() {
    if !sdk_available() {
        return;
    }
    for (mode, version) in REVISIONS {
        for http in [false, true] {
            let fixture = SqliteFixture::new(SETUP);
            let before = fixture.snapshot();
            let (steps, stderr) = if http {
                let server = HttpServer::start(&fixture, &[], &[("PLENUM_MCP_TOKEN", TOKEN)]);
                let (steps, client_stderr) =
                    run_client(&fixture, mode, &[], Some((&server.url, Some(TOKEN))));
                (steps, format!("{client_stderr}{}", server.stderr()))
            } else {
                run_scenario(&fixture, mode, &[])
            };
            let case = format!("{version} over {}", if http { "HTTP" } else { "stdio" });
            assert_eq!(steps["initialize"]["protocol_version"], version, "{case}");
            if version == "2026-07-28" {
                // Pinned, the client skips server/discover: it learns no name or capabilities.
                assert_eq!(steps["initialize"]["server_name"], Json::Null, "{case}");
                assert_eq!(
                    steps["tools"]["cache"],
                    json!({"ttl_ms": 300_000, "cache_scope": "public"}),
                    "{case}"
                );
            } else {
                introduced(&steps);
                assert_eq!(steps["ping"]["ok"], true, "{case}");
                assert_eq!(steps["tools"]["cache"], json!({}), "{case}");
            }
            common_checks(&steps, &stderr);
            assert_eq!(
                steps["tools"]["tools"][0]["annotations"]["readOnlyHint"], true,
                "{case}"
            );
            for step in ["write_without_flag", "write_with_flag", "ddl_with_flag"] {
                let refused = code(&steps, step);
                // Without the flag the read-only session refuses it if the gate did not.
                assert!(
                    refused == "CAPABILITY_VIOLATION"
                        || (step == "write_without_flag" && refused == "QUERY_FAILED"),
                    "{case}: {}",
                    steps[step]
                );
            }
            for step in ["write_with_flag", "ddl_with_flag"] {
                assert!(
                    envelope(&steps, step)["error"]["message"]
                        .as_str()
                        .unwrap_or("")
                        .contains("ceiling is read (set by plenum mcp)"),
                    "{case}: {}",
                    steps[step]
                );
            }
            assert_eq!(
                envelope(&steps, "after_errors")["data"]["rows"],
                json!([[2]]),
                "{case}"
            );
            assert_eq!(
                fixture.snapshot(),
                before,
                "{case}: a read-ceiling session changed the database file"
            );
        }
    }
}

#[test]
fn streamable_http_refuses_a_missing_token_and_listening_beyond_loopback_without_one() {
    if !sdk_available() {
        return;
    }
    let fixture = SqliteFixture::new(SETUP);
    let server = HttpServer::start(&fixture, &[], &[("PLENUM_MCP_TOKEN", TOKEN)]);
    for token in [None, Some("wrong-token-0123456789abcdef")] {
        let mut command = Command::new(python());
        command
            .arg(client_script())
            .arg("--plenum")
            .arg(plenum_bin())
            .arg("--db")
            .arg(&fixture.file)
            .arg(format!("--http={}", server.url))
            .env_remove("PLENUM_TEST_TOKEN");
        if let Some(token) = token {
            command.env("PLENUM_TEST_TOKEN", token);
        }
        let output = command.output().expect("run the client");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(!output.status.success(), "{token:?}: {stdout}");
        assert!(stdout.contains("crashed"), "{token:?}: {stdout}");
        assert!(
            !stdout.contains("\"step\": \"read\""),
            "{token:?}: {stdout}"
        );
    }
    // Beyond loopback without a token the server does not start at all.
    let refused = Command::new(plenum_bin())
        .args(["mcp", "--http", "0.0.0.0:0"])
        .env_remove("PLENUM_MCP_TOKEN")
        .output()
        .expect("run plenum mcp");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("without a bearer token"));
}

/// Sends one raw HTTP/1.1 request to `url`'s server; returns the status code.
fn raw_status(url: &str, path: &str, headers: &[(&str, &str)]) -> u16 {
    use std::io::{Read, Write};
    let authority = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#;
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if !headers.iter().any(|(name, _)| *name == "Host") {
        request.push_str(&format!("Host: {authority}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    let mut stream = std::net::TcpStream::connect(&authority).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).expect("status line");
    String::from_utf8_lossy(&head[9..12]).parse().unwrap_or(0)
}

#[test]
fn streamable_http_checks_token_host_and_origin_on_every_request() {
    let fixture = SqliteFixture::new(SETUP);
    let server = HttpServer::start(&fixture, &[], &[("PLENUM_MCP_TOKEN", TOKEN)]);
    let bearer = format!("Bearer {TOKEN}");
    let url = server.url.clone();
    assert_eq!(raw_status(&url, "/mcp", &[("Authorization", &bearer)]), 200);
    assert_eq!(raw_status(&url, "/mcp", &[]), 401);
    assert_eq!(
        raw_status(
            &url,
            "/mcp",
            &[("Authorization", "Bearer test-token-0123456789abcdeX")]
        ),
        401
    );
    // DNS rebinding: a page on another name that resolves here, or another origin.
    assert_eq!(
        raw_status(
            &url,
            "/mcp",
            &[("Authorization", &bearer), ("Host", "evil.example")]
        ),
        403
    );
    assert_eq!(
        raw_status(
            &url,
            "/mcp",
            &[
                ("Authorization", &bearer),
                ("Origin", "http://evil.example")
            ]
        ),
        403
    );
    assert_eq!(
        raw_status(
            &url,
            "/mcp",
            &[
                ("Authorization", &bearer),
                ("Origin", "http://localhost:3000")
            ]
        ),
        200
    );
    assert_eq!(
        raw_status(&url, "/other", &[("Authorization", &bearer)]),
        404
    );
}

#[test]
fn several_clients_share_one_http_server_each_in_its_own_session() {
    if !sdk_available() {
        return;
    }
    let fixtures: Vec<SqliteFixture> = (0..3).map(|_| SqliteFixture::new(SETUP)).collect();
    let server = HttpServer::start(&fixtures[0], &["--allow-write"], &[]);
    let url = server.url.clone();
    std::thread::scope(|scope| {
        let runs: Vec<_> = fixtures
            .iter()
            .map(|fixture| {
                let url = url.clone();
                scope.spawn(move || run_client(fixture, "auto", &[], Some((&url, None))))
            })
            .collect();
        for run in runs {
            let (steps, stderr) = run.join().expect("a client thread");
            assert_eq!(steps["initialize"]["protocol_version"], "2026-07-28");
            introduced(&steps);
            common_checks(&steps, &stderr);
            // The write ceiling holds over HTTP as on stdio: DDL refused, naming who set it.
            assert_eq!(code(&steps, "ddl_with_flag"), "CAPABILITY_VIOLATION");
            assert!(envelope(&steps, "ddl_with_flag")["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("set by plenum mcp"));
            // Each client's write landed in its own database, once.
            assert_eq!(
                envelope(&steps, "after_errors")["data"]["rows"],
                json!([[3]])
            );
        }
    });
    for fixture in &fixtures {
        assert_eq!(fixture.direct("SELECT count(*) FROM items"), ["Integer(3)"]);
    }
    assert!(
        server.stderr().contains("tier ceiling write"),
        "{}",
        server.stderr()
    );
}

// ---------------------------------------------------------------------------------------------
// A human in the loop: `plenum mcp --approve-up-to`, with the SDK's elicitation callback as the
// human (`tests/mcp/approval.py`).

/// Runs the approval scenario's `steps`; returns each step's output by name, and stderr.
fn run_approval(
    fixture: &SqliteFixture,
    mode: &str,
    server_args: &[&str],
    client_args: &[&str],
    steps: &str,
) -> (BTreeMap<String, Json>, String) {
    let home = fixture.dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("mcp")
        .join("approval.py");
    let mut command = Command::new(python());
    command
        .arg(script)
        .arg("--plenum")
        .arg(plenum_bin())
        .arg("--db")
        .arg(&fixture.file)
        .args(["--mode", mode, "--steps", steps])
        .args(client_args)
        .arg(format!("--env=HOME={}", home.display()))
        .arg(format!(
            "--env=XDG_CONFIG_HOME={}",
            home.join(".config").display()
        ));
    for arg in server_args {
        command.arg(format!("--server-arg={arg}"));
    }
    let output = command.output().expect("run the Python MCP client");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "client failed:\n{stdout}\nstderr:\n{stderr}"
    );
    let steps: BTreeMap<String, Json> = stdout
        .lines()
        .map(|line| serde_json::from_str::<Json>(line).expect("a JSON line"))
        .map(|step| (step["step"].as_str().unwrap_or("").to_owned(), step))
        .collect();
    assert!(steps.contains_key("done"), "{stdout}\nstderr:\n{stderr}");
    (steps, stderr)
}

/// How many approval requests the server sent during `step`.
fn asked(steps: &BTreeMap<String, Json>, step: &str) -> usize {
    steps[step]["asked"].as_array().map_or(0, Vec::len)
}

fn message<'a>(steps: &'a BTreeMap<String, Json>, step: &str) -> &'a str {
    envelope(steps, step)["error"]["message"]
        .as_str()
        .unwrap_or("")
}

/// Each step was put to the user once and refused with the ceiling's code, saying why and
/// that nothing ran.
fn refused_after_asking(steps: &BTreeMap<String, Json>, cases: &[(&str, &str)]) {
    for (step, why) in cases {
        assert_eq!(
            code(steps, step),
            "CAPABILITY_VIOLATION",
            "{}",
            steps[*step]
        );
        assert_eq!(asked(steps, step), 1, "{step}");
        let text = message(steps, step);
        assert!(
            text.contains("ceiling is read (set by plenum mcp)"),
            "{text}"
        );
        assert!(text.contains(why) && text.contains("nothing ran"), "{text}");
    }
}

const APPROVE_WRITE: &[&str] = &["--approve-up-to", "write", "--approve-wait-secs", "2"];

#[test]
fn a_write_above_the_ceiling_runs_only_when_the_user_approves_it() {
    if !sdk_available() {
        return;
    }
    let fixture = SqliteFixture::new(SETUP);
    let (steps, stderr) = run_approval(
        &fixture,
        "legacy",
        APPROVE_WRITE,
        &[],
        "approve,decline,cancel,approve_false,extra_field,approve_string,no_content,\
         client_error,too_late,ddl,check_only,gate_refused,spoof,cancel_call,count",
    );
    assert_eq!(steps["initialize"]["protocol_version"], "2025-11-25");

    // The approved call ran, once, and the request showed what it ran and where.
    let approved = envelope(&steps, "approve");
    assert_eq!(approved["data"]["rows_affected"], 1, "{approved}");
    assert_eq!(asked(&steps, "approve"), 1);
    let request = &steps["approve"]["asked"][0];
    let shown = request["message"].as_str().unwrap_or("");
    for expected in [
        "with the write tier (allow_write)",
        "allows the read tier",
        &format!("Target: sqlite, file \"{}\"", fixture.file.display()),
        "1. INSERT (tier write)",
        "\"INSERT INTO items (name) VALUES (?)\"",
        "Bound values: [\"approved\"]",
    ] {
        assert!(shown.contains(expected), "{expected}: {shown}");
    }
    // The form is one boolean.
    assert_eq!(
        request["requestedSchema"]["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["approve".to_owned()]),
        "{request}"
    );
    assert_eq!(
        request["requestedSchema"]["properties"]["approve"]["type"],
        "boolean"
    );

    // A multi-statement call shows every statement with the gate's verdict.
    let declined = steps["decline"]["asked"][0]["message"]
        .as_str()
        .unwrap_or("");
    assert!(declined.contains("1. UPDATE (tier write)"), "{declined}");
    assert!(declined.contains("2. DELETE (tier write)"), "{declined}");

    // Anything but an exact approval refuses the call with the ceiling's own code.
    refused_after_asking(
        &steps,
        &[
            ("decline", "the human declined"),
            ("cancel", "cancelled the approval request"),
            ("approve_false", "did not approve"),
            ("extra_field", "did not approve"),
            ("approve_string", "did not approve"),
            ("no_content", "did not approve"),
            ("client_error", "could not ask its user"),
            ("too_late", "within 2 s"),
        ],
    );
    // DDL beyond --approve-up-to write: refused without asking anyone.
    assert_eq!(code(&steps, "ddl"), "CAPABILITY_VIOLATION");
    assert_eq!(asked(&steps, "ddl"), 0);
    assert!(message(&steps, "ddl").contains("up to the write tier only, so no one was asked"));
    // A check runs nothing and never asks; nor does a call the gate refuses anyway.
    assert_eq!(asked(&steps, "check_only"), 0);
    assert_eq!(code(&steps, "check_only"), "CAPABILITY_VIOLATION");
    assert_eq!(asked(&steps, "gate_refused"), 0);
    assert_eq!(code(&steps, "gate_refused"), "CAPABILITY_VIOLATION");
    assert!(message(&steps, "gate_refused").contains("ATTACH"));

    // SQL cannot lay out a fake statement line or reverse text in the request.
    let spoof = steps["spoof"]["asked"][0]["message"].as_str().unwrap_or("");
    assert!(!spoof.contains("\n2. SELECT"), "{spoof}");
    assert!(!spoof.contains('\u{202e}'), "{spoof}");
    assert!(
        spoof.contains("\\n2. SELECT (tier read)\\n\\u{202e}gnp"),
        "{spoof}"
    );

    // The client gave up on the call while its user was being asked: the server stopped
    // waiting, told the client to close the request, and ran nothing.
    assert_eq!(asked(&steps, "cancel_call"), 1);
    assert!(
        steps["cancel_call"]["gave_up"].is_string(),
        "{}",
        steps["cancel_call"]
    );
    assert_eq!(
        steps["cancel_call"]["interrupted"], true,
        "{}",
        steps["cancel_call"]
    );
    assert!(
        stderr.contains("not approved: the client cancelled the call while its user was asked"),
        "{stderr}"
    );

    // The database holds exactly the approved row.
    assert_eq!(envelope(&steps, "count")["data"]["rows"], json!([[3]]));
    assert_eq!(
        fixture.direct("SELECT name FROM items ORDER BY id"),
        ["Text(\"apple\")", "Text(\"pear\")", "Text(\"approved\")"]
    );
    assert!(fixture
        .direct("SELECT name FROM sqlite_master WHERE name = 'made_by_agent'")
        .is_empty());
    // Tool arguments never reach the log.
    assert!(!stderr.contains("INSERT INTO"), "{stderr}");
}

#[test]
fn no_one_is_asked_without_the_flag_or_without_a_client_that_can_ask() {
    if !sdk_available() {
        return;
    }
    let cases: [(&str, &[&str], &[&str], &str); 4] = [
        // No --approve-up-to: the ceiling is the ceiling, as before.
        ("legacy", &[], &[], "only a human can raise it"),
        // Another ceiling in force binds an approvable call: refused before asking.
        (
            "legacy",
            APPROVE_WRITE,
            &["--env=PLENUM_MAX_CAPABILITY=read"],
            "ceiling is read (set by PLENUM_MAX_CAPABILITY)",
        ),
        // A client that declared no elicitation capability.
        (
            "legacy",
            APPROVE_WRITE,
            &["--no-elicitation"],
            "did not declare the elicitation capability",
        ),
        // The same on protocol 2026-07-28, where capabilities come with each request.
        (
            "auto",
            APPROVE_WRITE,
            &["--no-elicitation"],
            "did not declare the elicitation capability",
        ),
    ];
    for (mode, server_args, client_args, why) in cases {
        let fixture = SqliteFixture::new(SETUP);
        let before = fixture.snapshot();
        let (steps, _) = run_approval(&fixture, mode, server_args, client_args, "approve,count");
        assert_eq!(code(&steps, "approve"), "CAPABILITY_VIOLATION", "{why}");
        assert_eq!(asked(&steps, "approve"), 0, "{why}");
        assert!(
            message(&steps, "approve").contains(why),
            "{}",
            message(&steps, "approve")
        );
        assert_eq!(envelope(&steps, "count")["data"]["rows"], json!([[2]]));
        assert_eq!(fixture.snapshot(), before, "{why}: the database changed");
        // The query tool says what the server allows, and whether the user is asked.
        let description = steps["tools"]["tools"][0]["description"]
            .as_str()
            .unwrap_or("");
        let asks = description.contains("writes need the user's OK.");
        assert_eq!(asks, !server_args.is_empty(), "{description}");
    }
}

/// The error message of the envelope in `result`, a tool result as the client dumped it.
fn refusal_in(result: &Json) -> (&str, &str) {
    let envelope = &result["structuredContent"];
    (
        envelope["error"]["code"].as_str().unwrap_or(""),
        envelope["error"]["message"].as_str().unwrap_or(""),
    )
}

#[test]
fn on_protocol_2026_07_28_the_user_is_asked_through_an_input_required_result() {
    if !sdk_available() {
        return;
    }
    let fixture = SqliteFixture::new(SETUP);
    let (steps, stderr) = run_approval(
        &fixture,
        "auto",
        APPROVE_WRITE,
        &[],
        "approve,decline,cancel,approve_false,extra_field,approve_string,no_content,\
         client_error,too_late,ddl,check_only,gate_refused,spoof,tampered,replay,forged,\
         no_state,count",
    );
    assert_eq!(steps["initialize"]["protocol_version"], "2026-07-28");

    // The SDK's own driver: the call came back input-required, the client asked its user and
    // retried; the approved call ran once, and its user saw what it ran and where.
    let approved = envelope(&steps, "approve");
    assert_eq!(approved["data"]["rows_affected"], 1, "{approved}");
    assert_eq!(asked(&steps, "approve"), 1);
    let shown = steps["approve"]["asked"][0]["message"]
        .as_str()
        .unwrap_or("");
    for expected in [
        "with the write tier (allow_write)",
        "1. INSERT (tier write)",
        "Bound values: [\"approved\"]",
    ] {
        assert!(shown.contains(expected), "{expected}: {shown}");
    }
    assert_eq!(
        steps["approve"]["asked"][0]["requestedSchema"]["properties"]["approve"]["type"],
        "boolean"
    );
    // Anything but an exact approval refuses the retry with the ceiling's own code.
    refused_after_asking(
        &steps,
        &[
            ("decline", "the human declined"),
            ("cancel", "cancelled the approval request"),
            ("approve_false", "did not approve"),
            ("extra_field", "did not approve"),
            ("approve_string", "did not approve"),
            ("no_content", "did not approve"),
            ("too_late", "within 2 s"),
        ],
    );
    // A client whose user interface failed never retries: the SDK reports it, nothing ran.
    assert!(
        steps["client_error"]["protocol_error"].is_object(),
        "{}",
        steps["client_error"]
    );
    // Refused before anyone is asked, as on older revisions.
    for step in ["ddl", "check_only", "gate_refused"] {
        assert_eq!(code(&steps, step), "CAPABILITY_VIOLATION", "{step}");
        assert_eq!(asked(&steps, step), 0, "{step}");
    }
    let spoof = steps["spoof"]["asked"][0]["message"].as_str().unwrap_or("");
    assert!(
        !spoof.contains("\n2. SELECT") && !spoof.contains('\u{202e}'),
        "{spoof}"
    );

    // By hand: the first round is an input-required result whose state is an opaque handle.
    let first = &steps["tampered"]["first"];
    assert_eq!(first["resultType"], "input_required", "{first}");
    assert!(
        first["requestState"]
            .as_str()
            .is_some_and(|state| state.starts_with("plenum-approval-") && state.len() == 48),
        "{first}"
    );
    assert_eq!(
        first["inputRequests"]["approval"]["method"], "elicitation/create",
        "{first}"
    );
    // An approval sent back with other arguments approves nothing, and spends the handle.
    let (code_of, text) = refusal_in(&steps["tampered"]["result"]);
    assert_eq!(code_of, "CAPABILITY_VIOLATION");
    assert!(
        text.contains("arguments differ from the call its user was asked about"),
        "{text}"
    );
    let (code_of, text) = refusal_in(&steps["tampered"]["then_shown"]);
    assert_eq!(code_of, "CAPABILITY_VIOLATION");
    assert!(text.contains("unknown or was already used"), "{text}");
    // An approval is used once.
    assert_eq!(
        steps["replay"]["result"]["structuredContent"]["data"]["rows_affected"], 1,
        "{}",
        steps["replay"]
    );
    let (code_of, text) = refusal_in(&steps["replay"]["again"]);
    assert_eq!(code_of, "CAPABILITY_VIOLATION");
    assert!(text.contains("already used"), "{text}");
    // A made-up state, or answers with no state, approve nothing.
    let (code_of, text) = refusal_in(&steps["forged"]["result"]);
    assert_eq!(code_of, "CAPABILITY_VIOLATION");
    assert!(text.contains("unknown"), "{text}");
    let (code_of, text) = refusal_in(&steps["no_state"]["result"]);
    assert_eq!(code_of, "CAPABILITY_VIOLATION");
    assert!(text.contains("not the request state"), "{text}");

    // The database holds exactly the two approved rows: no DELETE, no DDL, nothing else.
    assert_eq!(envelope(&steps, "count")["data"]["rows"], json!([[4]]));
    assert_eq!(
        fixture.direct("SELECT name FROM items ORDER BY id"),
        [
            "Text(\"apple\")",
            "Text(\"pear\")",
            "Text(\"approved\")",
            "Text(\"replayed\")"
        ]
    );
    assert!(fixture
        .direct("SELECT name FROM sqlite_master WHERE name = 'made_by_agent'")
        .is_empty());
    assert!(stderr.contains("(input required"), "{stderr}");
    assert!(!stderr.contains("INSERT INTO"), "{stderr}");
}

#[test]
fn approvals_over_streamable_http_and_ddl_when_approvals_reach_it() {
    if !sdk_available() {
        return;
    }
    let fixture = SqliteFixture::new(SETUP);
    let server = HttpServer::start(&fixture, &["--allow-write", "--approve-up-to", "ddl"], &[]);
    let (steps, _) = run_client_approval_http(&fixture, &server.url, "approve,ddl,decline");
    // The write needs no approval at this ceiling; the DDL does, and ran once approved.
    assert_eq!(asked(&steps, "approve"), 0);
    assert_eq!(envelope(&steps, "approve")["ok"], true);
    assert_eq!(asked(&steps, "ddl"), 1);
    assert_eq!(envelope(&steps, "ddl")["ok"], true, "{}", steps["ddl"]);
    let shown = steps["ddl"]["asked"][0]["message"].as_str().unwrap_or("");
    assert!(shown.contains("1. CREATE TABLE (tier ddl)"), "{shown}");
    assert!(shown.contains("allows the write tier"), "{shown}");
    // The decline step's write is within the ceiling: it runs without asking.
    assert_eq!(asked(&steps, "decline"), 0);
    assert_eq!(
        fixture.direct("SELECT count(*) FROM sqlite_master WHERE name = 'made_by_agent'"),
        ["Integer(1)"]
    );
    assert!(
        server
            .stderr()
            .contains("a human may approve calls up to ddl"),
        "{}",
        server.stderr()
    );
}

#[test]
fn approvals_on_protocol_2026_07_28_over_streamable_http() {
    if !sdk_available() {
        return;
    }
    let fixture = SqliteFixture::new(SETUP);
    let server = HttpServer::start(&fixture, &["--approve-up-to", "write"], &[]);
    let http = format!("--http={}", server.url);
    let (steps, _) = run_approval(&fixture, "auto", &[], &[&http], "approve,tampered,decline");
    assert_eq!(steps["initialize"]["protocol_version"], "2026-07-28");
    assert_eq!(asked(&steps, "approve"), 1);
    assert_eq!(envelope(&steps, "approve")["data"]["rows_affected"], 1);
    assert_eq!(
        refusal_in(&steps["tampered"]["result"]).0,
        "CAPABILITY_VIOLATION"
    );
    assert_eq!(code(&steps, "decline"), "CAPABILITY_VIOLATION");
    assert_eq!(
        fixture.direct("SELECT name FROM items ORDER BY id"),
        ["Text(\"apple\")", "Text(\"pear\")", "Text(\"approved\")"]
    );
}

fn run_client_approval_http(
    fixture: &SqliteFixture,
    url: &str,
    steps: &str,
) -> (BTreeMap<String, Json>, String) {
    let http = format!("--http={url}");
    run_approval(fixture, "legacy", &[], &[&http], steps)
}

#[test]
fn approve_up_to_below_the_ceiling_is_a_usage_error() {
    let output = Command::new(plenum_bin())
        .args(["mcp", "--allow-ddl", "--approve-up-to", "write"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run plenum mcp");
    // Answered like any usage error of a program reading stdout: one envelope, exit code 1.
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("below the server's ceiling"), "{text}");
    assert!(text.contains("INVALID_INPUT"), "{text}");
    let help = Command::new(plenum_bin())
        .args(["mcp", "--help"])
        .output()
        .expect("run plenum mcp --help");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--approve-up-to <TIER>"), "{help}");
    assert!(help.contains("--approve-wait-secs <SECS>"), "{help}");
}
