//! No plugin can break the host's promises: whatever a plugin does short of corrupting memory
//! (an abort, a fault or a stack overflow included),
//! `plenum` prints exactly one valid, scrubbed, UTF-8 JSON document (one JSON-RPC message per
//! line in `plenum mcp`), exits non-zero unless `ok`, and ends within the timeout plus the
//! documented grace. Each misbehaviour is one engine of the test plugin
//! (`tests/plugins/testplugin/src/hostile.rs`).

mod mcp_support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mcp_support::{tool_result, McpServer};
use plenum_e2e::plenum_bin;
use serde_json::{json, Value as Json};

/// The grace the host documents: 1.5 s for a plugin to answer a cancel, and 1 s for a session
/// to close after the answer.
const GRACE: Duration = Duration::from_millis(2500);

/// Slack for a loaded machine (the tests share two cores with other work). The bounds are
/// about "ends in time rather than hanging", not speed.
const SLACK: Duration = Duration::from_secs(4);

const SECRET: &str = "Zq9-hostile-PW!";

/// One CLI run, checked against the promise in every way that does not depend on the outcome.
struct Checked {
    json: Json,
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

fn python_parses(bytes: &[u8]) -> bool {
    let Ok(mut child) = Command::new("python3")
        .args([
            "-c",
            "import json,sys; json.loads(sys.stdin.buffer.read().decode('utf-8'))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        // No python3 on this machine: serde_json's verdict stands alone.
        return true;
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(bytes);
    }
    child.wait().map(|status| status.success()).unwrap_or(false)
}

fn jq_parses(bytes: &[u8]) -> bool {
    let Ok(mut child) = Command::new("jq")
        .args(["-e", "."])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return true;
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(bytes);
    }
    child.wait().map(|status| status.success()).unwrap_or(false)
}

fn secret_spellings() -> Vec<String> {
    vec![
        SECRET.to_owned(),
        "Zq9-hostile-PW%21".to_owned(),
        "Zq9%2Dhostile%2DPW%21".to_owned(),
    ]
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Checked {
    let started = Instant::now();
    let mut command = Command::new(plenum_bin());
    command
        .args(args)
        .env_remove("PLENUM_MAX_CAPABILITY")
        .env("HOSTILE_PW", SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run plenum");
    let took = started.elapsed();
    let stdout = String::from_utf8(output.stdout.clone())
        .unwrap_or_else(|error| panic!("{args:?}: stdout is not UTF-8: {error}"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json: Json = serde_json::from_str(&stdout).unwrap_or_else(|error| {
        panic!("{args:?}: stdout is not one JSON document ({error}):\n{stdout:.2000}\nstderr: {stderr:.2000}")
    });
    assert_eq!(
        stdout.trim_end().lines().count(),
        1,
        "{args:?}: one line on stdout: {stdout:.2000}"
    );
    assert!(
        python_parses(&output.stdout),
        "{args:?}: python's json refuses: {stdout:.2000}"
    );
    assert!(
        jq_parses(&output.stdout),
        "{args:?}: jq refuses: {stdout:.2000}"
    );
    let code = output.status.code().unwrap_or(-1);
    let ok = json["ok"] == Json::Bool(true);
    assert_eq!(
        code == 0,
        ok,
        "{args:?}: exit code {code} disagrees with ok: {stdout:.2000}"
    );
    for spelling in secret_spellings() {
        assert!(
            !stdout.contains(&spelling),
            "{args:?}: secret on stdout: {stdout:.2000}"
        );
        assert!(
            !stderr.contains(&spelling),
            "{args:?}: secret on stderr: {stderr:.2000}"
        );
    }
    Checked {
        json,
        code,
        stdout,
        stderr,
        took,
    }
}

fn query(engine: &str, extra: &[&str]) -> Checked {
    let mut args = vec![
        "query",
        "--engine",
        engine,
        "--password-env",
        "HOSTILE_PW",
        "--sql",
        "SELECT 1",
    ];
    args.extend_from_slice(extra);
    run(&args, &[])
}

fn code_of(checked: &Checked) -> &str {
    checked.json["error"]["code"].as_str().unwrap_or("")
}

#[test]
fn a_plugin_that_prints_never_reaches_stdout() {
    let checked = query("test-print", &[]);
    assert_eq!(checked.code, 0, "{}", checked.stdout);
    assert_eq!(checked.json["data"]["rows"], json!([[0], [1], [2]]));
    assert!(!checked.stdout.contains("forged"), "{}", checked.stdout);
    // Nor stderr: what a plugin prints goes nowhere, so it cannot leak there either.
    assert!(!checked.stderr.contains("forged"), "{}", checked.stderr);
    let connect = run(
        &[
            "connect",
            "--test",
            "--engine",
            "test-print",
            "--password-env",
            "HOSTILE_PW",
        ],
        &[],
    );
    assert_eq!(connect.code, 0, "{}", connect.stdout);
    // While a large result streams to stdout, the plugin prints from every fetch and from
    // its own thread: the streamed envelope stays one document.
    let streamed = run(
        &[
            "query",
            "--engine",
            "test-print",
            "--sql",
            "SELECT many",
            "--max-rows",
            "1000000",
            "--max-bytes",
            "100000000",
        ],
        &[],
    );
    assert_eq!(streamed.code, 0, "{:.500}", streamed.stdout);
    assert_eq!(streamed.json["meta"]["rows_returned"], json!(300_000));
    assert!(!streamed.stdout.contains("forged"));
    // While plugins load and describe themselves (`plenum plugins`).
    let listing = run(&["plugins"], &[("PLENUM_TESTPLUGIN_INFO", "print")]);
    assert_eq!(listing.code, 0, "{:.500}", listing.stdout);
    assert!(!listing.stdout.contains("forged"));
}

#[test]
fn a_plugin_that_calls_exit_while_it_loads_is_a_plugin_error() {
    for args in [
        &["plugins"][..],
        &["query", "--engine", "test-recorder", "--sql", "SELECT 1"],
    ] {
        let checked = run(args, &[("PLENUM_TESTPLUGIN_INFO", "exit")]);
        assert_eq!(
            code_of(&checked),
            "PLUGIN_ERROR",
            "{args:?}: {}",
            checked.stdout
        );
    }
}

#[test]
fn a_plugin_that_calls_exit_cannot_end_the_process_with_success_and_no_document() {
    let checked = query("test-exit", &[]);
    assert_eq!(code_of(&checked), "PLUGIN_ERROR", "{}", checked.stdout);
    assert!(
        checked.json["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("called exit"),
        "{}",
        checked.stdout
    );
}

/// The crashes of the `test-crash` engine (tests/plugins/testplugin/src/crash.rs).
const CRASHES: [&str; 4] = ["abort", "fault", "overflow", "thread-exit"];

#[test]
fn a_plugin_that_crashes_the_process_still_gets_one_failure_document() {
    for crash in CRASHES {
        let sql = format!("SELECT '{crash}'");
        let whole = run(&["query", "--engine", "test-crash", "--sql", &sql], &[]);
        assert_eq!(code_of(&whole), "PLUGIN_ERROR", "{crash}: {}", whole.stdout);
        // After the answer the signal ends the process (-1: no exit code).
        assert_eq!(whole.code, -1, "{crash}");
        let message = whole.json["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains("crashed"), "{crash}: {message}");
        assert!(whole.took < SLACK, "{crash}: {:?}", whole.took);
        // In the middle of a streamed result: the rows sent stay, and the stream's end says
        // what happened.
        let sql = format!("SELECT 'stream', '{crash}'");
        let streamed = run(
            &[
                "query",
                "--engine",
                "test-crash",
                "--sql",
                &sql,
                "--max-rows",
                "1000000",
                "--max-bytes",
                "100000000",
            ],
            &[],
        );
        assert_eq!(
            code_of(&streamed),
            "PLUGIN_ERROR",
            "{crash}: {:.300}",
            streamed.stderr
        );
        assert_eq!(streamed.json["ok"], json!(false));
        let rows = streamed.json["data"]["rows"].as_array().map_or(0, Vec::len);
        // 4 MiB of 1 KiB rows went out before the crash.
        assert!(rows >= 4096, "{crash}: {rows} rows");
    }
}

#[test]
fn a_plugin_that_crashes_under_mcp_ends_the_server_with_a_failure_code() {
    use std::os::unix::process::ExitStatusExt;
    for crash in CRASHES {
        let mut server = McpServer::start(&[], &[]);
        server.initialize("2025-06-18");
        let sql = format!("SELECT '{crash}'");
        server.send_call("query", json!({"engine": "test-crash", "sql": sql}));
        let status = server.wait_status(Duration::from_secs(10));
        // Ended by the crash's own signal, after the line on stderr.
        assert!(
            status.is_some_and(|status| status.signal().is_some()),
            "{crash}: {status:?}"
        );
        assert_only_json_rpc(&mut server);
        assert!(
            server.stderr().contains("crashed"),
            "{crash}: {}",
            server.stderr()
        );
    }
}

#[test]
fn a_cancel_that_never_returns_or_is_slow_does_not_delay_the_answer() {
    // The statement itself finishes after 1 s, while cancel() never returns.
    let never = query("test-cancel-never", &["--timeout-ms", "300"]);
    assert_eq!(code_of(&never), "TIMEOUT", "{}", never.stdout);
    assert!(
        never.took < Duration::from_millis(300) + GRACE + SLACK,
        "{:?}",
        never.took
    );
    // cancel() takes 10 s: the grace clock started at the timeout, not when cancel returned.
    let slow = query("test-cancel-slow", &["--timeout-ms", "300"]);
    assert_eq!(code_of(&slow), "TIMEOUT", "{}", slow.stdout);
    assert!(
        slow.took < Duration::from_millis(300) + GRACE + SLACK,
        "{:?}",
        slow.took
    );
    assert!(slow.took < Duration::from_secs(9), "{:?}", slow.took);
}

#[test]
fn a_session_whose_close_never_returns_still_answers_and_exits() {
    let checked = query("test-close-hang", &[]);
    assert_eq!(checked.code, 0, "{}", checked.stdout);
    assert_eq!(checked.json["data"]["rows"], json!([[1]]));
    assert!(checked.took < GRACE + SLACK, "{:?}", checked.took);
}

#[test]
fn panics_in_drops_and_in_panic_payloads_never_abort_the_host() {
    // Drops panicking in the cursor, the session and the cancel handle are contained; the
    // statement's answer stands.
    let drops = query("test-drop-panic", &[]);
    assert_eq!(drops.code, 0, "{}", drops.stdout);
    // With a timeout that fires, the cancel handle is used and dropped too.
    let payload = query("test-payload-panic", &[]);
    assert_eq!(code_of(&payload), "PLUGIN_ERROR", "{}", payload.stdout);
    assert!(payload.stderr.is_empty(), "{}", payload.stderr);
}

#[test]
fn secrets_in_side_fields_never_leave() {
    let failed = query("test-secret", &[]);
    assert_eq!(code_of(&failed), "QUERY_FAILED", "{}", failed.stdout);
    // The SQLSTATE was the password: not a SQLSTATE, so dropped.
    assert!(
        failed.json["error"].get("sqlstate").is_none(),
        "{}",
        failed.stdout
    );
    let connect = run(
        &[
            "connect",
            "--test",
            "--engine",
            "test-secret",
            "--password-env",
            "HOSTILE_PW",
        ],
        &[],
    );
    assert_eq!(connect.code, 0, "{}", connect.stdout);
    assert!(connect.stdout.contains("***"), "{}", connect.stdout);
}

#[test]
fn strings_that_are_not_utf8_are_printed_as_utf8() {
    let rows = query("test-not-utf8", &[]);
    assert_eq!(rows.code, 0, "{}", rows.stdout);
    assert!(rows.json["data"]["columns"][0]["name"]
        .as_str()
        .unwrap_or("")
        .starts_with("name"));
    let failed = run(
        &[
            "query",
            "--engine",
            "test-not-utf8",
            "--sql",
            "SELECT 'fail'",
        ],
        &[],
    );
    assert_eq!(code_of(&failed), "QUERY_FAILED", "{}", failed.stdout);
    assert!(
        failed.json["error"].get("sqlstate").is_none(),
        "{}",
        failed.stdout
    );
    run(&["connect", "--test", "--engine", "test-not-utf8"], &[]);
    let listing = run(&["plugins"], &[("PLENUM_TESTPLUGIN_BAD_INFO", "1")]);
    assert_eq!(listing.code, 0, "{}", listing.stdout);
    run(
        &["plugins", "info", "test-not-utf8"],
        &[("PLENUM_TESTPLUGIN_BAD_INFO", "1")],
    );
}

#[test]
fn json_values_no_reader_accepts_become_strings() {
    let checked = query("test-bad-json", &[]);
    assert_eq!(checked.code, 0, "{}", checked.stdout);
    let row = &checked.json["data"]["rows"][0];
    assert!(row[0].is_string(), "deep JSON embedded raw");
    assert_eq!(row[1], json!("1e999999"));
    assert_eq!(row[2], json!("\"\\ud800\""));
    assert_eq!(row[3], json!({"a": [1, 2]}));
}

#[test]
fn limits_bound_everything_the_plugin_returns() {
    // One 256 MiB value against the default 1 MiB: refused before it is serialised.
    let value = query("test-huge-value", &[]);
    assert_eq!(value.code, 0, "{}", value.stdout);
    assert_eq!(value.json["meta"]["truncated_by"], json!("max_bytes"));
    assert!(value.stdout.len() < 4096, "{} bytes", value.stdout.len());
    // A million column names count toward max_bytes.
    let columns = query("test-many-columns", &[]);
    assert_eq!(
        code_of(&columns),
        "INVALID_INPUT",
        "{:.500}",
        columns.stdout
    );
    assert!(
        columns.stdout.len() < 4096,
        "{} bytes",
        columns.stdout.len()
    );
    // A 100 MiB error message is cut.
    let error = query("test-huge-error", &[]);
    assert_eq!(code_of(&error), "QUERY_FAILED");
    assert!(
        error.stdout.len() < 16 << 10,
        "{} bytes",
        error.stdout.len()
    );
    // Rows stop the moment the timeout fires, even from a plugin that ignores the cancel.
    let rows = query(
        "test-slow-rows",
        &["--timeout-ms", "300", "--max-rows", "1000000"],
    );
    assert_eq!(code_of(&rows), "TIMEOUT", "{:.500}", rows.stdout);
    assert!(
        rows.took < Duration::from_millis(300) + SLACK,
        "{:?}",
        rows.took
    );
    // A read that ignored the cancel and returned inside the grace is still a TIMEOUT.
    let late = query("test-slow-read", &["--timeout-ms", "200"]);
    assert_eq!(code_of(&late), "TIMEOUT", "{}", late.stdout);
}

#[test]
fn rows_affected_saturates_and_is_a_string_beyond_2_pow_53() {
    let checked = run(
        &[
            "query",
            "--engine",
            "test-big-affected",
            "--allow-write",
            "--sql",
            "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)",
        ],
        &[],
    );
    assert_eq!(checked.code, 0, "{}", checked.stdout);
    assert_eq!(
        checked.json["data"]["rows_affected"],
        json!(u64::MAX.to_string())
    );
}

/// Every line the server wrote is one JSON-RPC message.
fn assert_only_json_rpc(server: &mut McpServer) {
    while let Some(message) = server.next_message(Duration::from_millis(200)) {
        assert_eq!(message["jsonrpc"], json!("2.0"), "{message}");
        assert!(
            message.get("forged").is_none() && message["result"].get("forged").is_none(),
            "{message}"
        );
    }
}

#[test]
fn mcp_keeps_serving_while_plugins_hang_print_and_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("db.sqlite");
    let mut server = McpServer::start(&[], &[("HOSTILE_PW", SECRET)]);
    server.initialize("2025-06-18");
    // Stuck plugins: a cancel that never returns, a statement that never ends.
    let stuck: Vec<Json> = [
        "test-cancel-never",
        "test-cancel-slow",
        "test-hang",
        "test-close-hang",
    ]
    .iter()
    .map(|engine| {
        server.send_call(
            "query",
            json!({"engine": engine, "sql": "SELECT 1", "timeout_ms": 300}),
        )
    })
    .collect();
    // Meanwhile other calls are served, and what a plugin prints never reaches the stream.
    let started = Instant::now();
    let printed = server.call_tool("query", json!({"engine": "test-print", "sql": "SELECT 1"}));
    assert_eq!(
        tool_result(&printed)["data"]["rows"],
        json!([[0], [1], [2]])
    );
    let sqlite = server.call_tool(
        "query",
        json!({"engine": "sqlite", "file": db.to_str().expect("UTF-8"), "allow_write": false,
               "sql": "SELECT 42"}),
    );
    let sqlite = tool_result(&sqlite);
    assert!(
        sqlite["ok"] == json!(true) || sqlite["error"]["code"] == json!("CONNECTION_FAILED"),
        "{sqlite}"
    );
    let panicked = server.call_tool(
        "query",
        json!({"engine": "test-payload-panic", "sql": "SELECT 1"}),
    );
    assert_eq!(
        tool_result(&panicked)["error"]["code"],
        json!("PLUGIN_ERROR")
    );
    let secret = server.call_tool(
        "query",
        json!({"engine": "test-secret", "sql": "SELECT 1", "password_env": "HOSTILE_PW"}),
    );
    let secret_text = secret.to_string();
    assert!(!secret_text.contains(SECRET), "{secret_text}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // The stuck calls are answered within their timeout plus the grace and the wait margin.
    for id in stuck {
        let answer = server.answer(&id);
        let result = tool_result(&answer);
        let code = result["error"]["code"].as_str().unwrap_or("");
        assert!(code == "TIMEOUT" || result["ok"] == json!(true), "{answer}");
    }
    assert_only_json_rpc(&mut server);
    // And the server still answers after them.
    let again = server.call_tool(
        "query",
        json!({"engine": "test-recorder", "sql": "SELECT 7"}),
    );
    assert_eq!(tool_result(&again)["ok"], json!(true), "{again}");
    let stderr = server.stderr();
    assert!(!stderr.contains(SECRET), "{stderr}");
    assert!(!stderr.contains("forged"), "{stderr}");
}

#[test]
fn a_plugin_that_calls_exit_under_mcp_ends_the_server_with_a_failure_code() {
    let mut server = McpServer::start(&[], &[]);
    server.initialize("2025-06-18");
    server.send_call("query", json!({"engine": "test-exit", "sql": "SELECT 1"}));
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(1));
    assert_only_json_rpc(&mut server);
}

/// Threads of a process (Linux), or 0.
fn threads_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Threads:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|count| count.parse().ok())
        })
        .unwrap_or(0)
}

/// Each call stuck in a plugin keeps one thread and one of the 32 engine slots until the plugin
/// returns; calls that find every slot taken are answered TIMEOUT within their own budget
/// instead of waiting for ever, and the threads stay bounded.
#[test]
fn stuck_plugin_calls_in_mcp_take_a_bounded_number_of_threads() {
    let mut server = McpServer::start(&[], &[]);
    server.initialize("2025-06-18");
    // More calls that never return than the server has engine slots (32).
    let ids: Vec<Json> = (0..40)
        .map(|_| {
            server.send_call(
                "query",
                json!({"engine": "test-hang", "sql": "SELECT 1", "timeout_ms": 200}),
            )
        })
        .collect();
    let mut no_slot = 0;
    for id in ids {
        let answer = server.answer(&id);
        let result = tool_result(&answer);
        assert_eq!(result["error"]["code"], json!("TIMEOUT"), "{answer}");
        if result["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("no engine slot")
        {
            no_slot += 1;
        }
    }
    // The calls beyond the slots were answered without starting more stuck work.
    assert!(no_slot >= 8, "{no_slot} calls were told no slot was free");
    let threads = threads_of(server.pid());
    assert!(threads < 100, "{threads} threads after 40 stuck calls");
    assert_only_json_rpc(&mut server);
    // The server still ends when its client leaves, abandoning the stuck threads.
    server.close_stdin();
    assert_eq!(server.wait_exit(Duration::from_secs(15)), Some(0));
}
