//! `plenum mcp` spoken to in raw JSON-RPC lines: the protocol lifecycle, the ceiling, and how
//! the server answers input that is wrong in every way a client can get it wrong.

mod live_support;
mod mcp_support;

use std::time::{Duration, Instant};

use live_support::{Server, TestDb};
use mcp_support::{error_code, sqlite, tool_result, McpServer};
use plenum_e2e::{unique_name, SqliteFixture};
use serde_json::{json, Value as Json};

const SETUP: &str = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
                     INSERT INTO items (name) VALUES ('apple'), ('pear');";

fn started(args: &[&str]) -> McpServer {
    let mut server = McpServer::start(args, &[]);
    let info = server.initialize("2025-06-18");
    assert_eq!(info["protocolVersion"], "2025-06-18");
    server
}

#[test]
fn initialize_negotiates_known_versions_and_answers_ping() {
    for (offered, expected) in [
        ("2025-11-25", "2025-11-25"),
        ("2025-06-18", "2025-06-18"),
        ("2025-03-26", "2025-03-26"),
        ("2024-11-05", "2024-11-05"),
        // An unknown version gets the server's newest handshake version as counter-offer.
        ("1999-01-01", "2025-11-25"),
    ] {
        let mut server = McpServer::start(&[], &[]);
        let info = server.initialize(offered);
        assert_eq!(
            info["protocolVersion"], expected,
            "offered {offered}: {info}"
        );
        assert_eq!(info["serverInfo"]["name"], "plenum");
        assert!(info["capabilities"]["tools"].is_object(), "{info}");
        assert!(info["instructions"]
            .as_str()
            .unwrap_or("")
            .contains("ceiling is read"));
        let pong = server.request("ping", json!({}));
        assert_eq!(pong["result"], json!({}), "{pong}");
    }
}

#[test]
fn tools_list_describes_four_tools_with_schemas_and_annotations() {
    let mut server = started(&[]);
    let answer = server.request("tools/list", json!({}));
    let tools = answer["result"]["tools"]
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
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
        // Short (the list is in every session's context) but enough to act on.
        assert!(
            tool["description"].as_str().unwrap_or("").len() > 60,
            "{tool}"
        );
        assert!(tool["annotations"]["readOnlyHint"].is_boolean(), "{tool}");
    }
    // Read ceiling: the query tool is read-only, and it takes no password.
    assert_eq!(tools[0]["annotations"]["readOnlyHint"], true);
    assert!(tools[0]["inputSchema"]["properties"]["password"].is_null());
    assert!(tools[0]["inputSchema"]["properties"]["password_env"].is_object());
}

#[test]
fn notifications_get_no_answer() {
    let mut server = McpServer::start(&[], &[]);
    // Before the session starts, a stray notification must not end the server.
    server.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    server.initialize("2025-06-18");
    for notification in [
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 424242}}),
        json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}),
        json!({"jsonrpc": "2.0", "method": "notifications/made_up", "params": [1, 2]}),
        json!({"jsonrpc": "2.0", "method": "not_even_mcp"}),
    ] {
        server.send(&notification);
    }
    let id = json!(server.fresh_id());
    server.send(&json!({"jsonrpc": "2.0", "id": id, "method": "ping"}));
    // The very next line must be the ping's answer: nothing was said to the notifications.
    let next = server
        .next_message(Duration::from_secs(10))
        .expect("an answer");
    assert_eq!(next["id"], id, "unexpected message: {next}");
}

#[test]
fn malformed_and_unknown_input_gets_protocol_errors_and_the_server_goes_on() {
    let fixture = SqliteFixture::new(SETUP);
    let mut server = started(&[]);

    server.send_line("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ");
    let answer = server
        .next_message(Duration::from_secs(10))
        .expect("parse error");
    assert_eq!(answer["error"]["code"], -32700, "{answer}");

    server.send_bytes(b"\xff\xfe not utf-8\n");
    let answer = server
        .next_message(Duration::from_secs(10))
        .expect("parse error");
    assert_eq!(answer["error"]["code"], -32700, "{answer}");

    server.send_line("[1, 2, 3]");
    let answer = server
        .next_message(Duration::from_secs(10))
        .expect("invalid request");
    assert_eq!(answer["error"]["code"], -32600, "{answer}");

    let answer = server.request("no/such/method", json!({}));
    assert_eq!(answer["error"]["code"], -32601, "{answer}");

    let answer = server.call_tool("drop_everything", json!({}));
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("drop_everything"));

    // `arguments` that are not an object is a malformed request: answered with its id.
    let id = json!(server.fresh_id());
    server.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                        "params": {"name": "query", "arguments": "SELECT 1"}}));
    let answer = server.answer(&id);
    assert_eq!(answer["error"]["code"], -32602, "{answer}");

    // Wrong argument types are the model's to fix: a tool error that names the argument.
    for (arguments, argument) in [
        (sqlite(&fixture.file, json!({"sql": 42})), "sql"),
        (
            sqlite(&fixture.file, json!({"sql": "SELECT 1", "max_rows": "ten"})),
            "max_rows",
        ),
        (
            sqlite(&fixture.file, json!({"sql": "SELECT 1", "allow_write": 1})),
            "allow_write",
        ),
        (
            sqlite(&fixture.file, json!({"sql": "SELECT 1", "port": -5})),
            "port",
        ),
        (
            sqlite(&fixture.file, json!({"sql": "SELECT 1", "timeout_ms": 0})),
            "timeout_ms",
        ),
        (sqlite(&fixture.file, json!({})), "sql"),
    ] {
        let answer = server.call_tool("query", arguments);
        assert_eq!(error_code(&answer), "INVALID_INPUT", "{answer}");
        let message = tool_result(&answer)["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert!(message.contains(&format!("`{argument}`")), "{message}");
    }

    // A database error is a tool error too.
    let answer = server.call_tool(
        "query",
        sqlite(&fixture.file, json!({"sql": "SELECT * FROM nowhere"})),
    );
    assert_eq!(error_code(&answer), "QUERY_FAILED", "{answer}");

    // And after all that, the server still answers a good call.
    let answer = server.call_tool(
        "query",
        sqlite(
            &fixture.file,
            json!({"sql": "SELECT name FROM items ORDER BY id"}),
        ),
    );
    assert_eq!(
        tool_result(&answer)["data"]["rows"],
        json!([["apple"], ["pear"]])
    );
}

#[test]
fn an_oversized_message_is_refused_without_ending_the_session() {
    let fixture = SqliteFixture::new(SETUP);
    let mut server = started(&[]);
    // 24 MiB of SQL: over the 20 MiB message limit.
    let huge = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"tools/call\",\"params\":{{\"name\":\"query\",\"arguments\":{{\"sql\":\"SELECT '{}'\"}}}}}}\n",
        "x".repeat(24 << 20)
    );
    server.send_bytes(huge.as_bytes());
    let answer = server
        .next_message(Duration::from_secs(30))
        .expect("an answer");
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("longer than"));
    let answer = server.call_tool(
        "query",
        sqlite(&fixture.file, json!({"sql": "SELECT 1 AS n"})),
    );
    assert_eq!(tool_result(&answer)["data"]["rows"], json!([[1]]));
}

#[test]
fn many_calls_in_flight_each_get_their_own_answer() {
    let fixture = SqliteFixture::new(SETUP);
    let mut server = started(&[]);
    let ids: Vec<(u64, Json)> = (0..64u64)
        .map(|n| {
            let sql = format!("SELECT {n} AS n, name FROM items WHERE id = {}", n % 2 + 1);
            (
                n,
                server.send_call("query", sqlite(&fixture.file, json!({"sql": sql}))),
            )
        })
        .collect();
    for (n, id) in ids {
        let answer = server.answer(&id);
        let name = if n % 2 == 0 { "apple" } else { "pear" };
        assert_eq!(
            tool_result(&answer)["data"]["rows"],
            json!([[n, name]]),
            "call {n}"
        );
    }
}

#[test]
fn a_timeout_is_answered_and_the_server_keeps_serving() {
    let fixture = SqliteFixture::new(SETUP);
    let mut server = started(&[]);
    let endless =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
    let started = Instant::now();
    let slow = server.send_call(
        "query",
        sqlite(&fixture.file, json!({"sql": endless, "timeout_ms": 300})),
    );
    // A quick call sent behind the slow one is not held up by it.
    let quick = server.send_call(
        "query",
        sqlite(&fixture.file, json!({"sql": "SELECT 2 AS n"})),
    );
    let answer = server.answer(&quick);
    assert_eq!(tool_result(&answer)["data"]["rows"], json!([[2]]));
    let answer = server.answer(&slow);
    assert_eq!(error_code(&answer), "TIMEOUT", "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let answer = server.call_tool(
        "query",
        sqlite(&fixture.file, json!({"sql": "SELECT 3 AS n"})),
    );
    assert_eq!(tool_result(&answer)["data"]["rows"], json!([[3]]));
}

#[test]
fn closing_stdin_ends_the_server_with_exit_code_zero() {
    let fixture = SqliteFixture::new(SETUP);
    let mut server = started(&[]);
    let answer = server.call_tool(
        "query",
        sqlite(&fixture.file, json!({"sql": "SELECT 1 AS n"})),
    );
    tool_result(&answer);
    server.close_stdin();
    assert_eq!(
        server.wait_exit(Duration::from_secs(10)),
        Some(0),
        "{}",
        server.stderr()
    );

    // Also before any session started.
    let mut idle = McpServer::start(&[], &[]);
    idle.close_stdin();
    assert_eq!(
        idle.wait_exit(Duration::from_secs(10)),
        Some(0),
        "{}",
        idle.stderr()
    );
}

#[test]
fn the_read_ceiling_refuses_writes_and_nothing_changes() {
    let fixture = SqliteFixture::new(SETUP);
    let before = fixture.snapshot();
    let mut server = started(&[]);
    for arguments in [
        json!({"sql": "DELETE FROM items", "allow_write": true}),
        json!({"sql": "DROP TABLE items", "allow_ddl": true}),
    ] {
        let answer = server.call_tool("query", sqlite(&fixture.file, arguments));
        assert_eq!(error_code(&answer), "CAPABILITY_VIOLATION", "{answer}");
        let message = tool_result(&answer)["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert!(message.contains("set by plenum mcp"), "{message}");
    }
    // Without a flag the gate (or, behind it, the read-only session) refuses the write.
    let answer = server.call_tool(
        "query",
        sqlite(&fixture.file, json!({"sql": "DELETE FROM items"})),
    );
    let code = error_code(&answer);
    assert!(
        code == "CAPABILITY_VIOLATION" || code == "QUERY_FAILED",
        "{answer}"
    );
    drop(server);
    assert_eq!(fixture.snapshot(), before, "the read tier changed a file");
}

#[test]
fn writes_within_the_ceiling_run_and_above_it_are_refused() {
    let fixture = SqliteFixture::new(SETUP);
    let mut server = started(&["--allow-write"]);
    let answer = server.call_tool(
        "query",
        sqlite(
            &fixture.file,
            json!({"sql": "INSERT INTO items (name) VALUES ('fig')", "allow_write": true}),
        ),
    );
    assert_eq!(tool_result(&answer)["data"]["rows_affected"], 1, "{answer}");
    assert_eq!(tool_result(&answer)["meta"]["access"], "write", "{answer}");
    let answer = server.call_tool(
        "query",
        sqlite(
            &fixture.file,
            json!({"sql": "CREATE TABLE t (x INTEGER)", "allow_ddl": true}),
        ),
    );
    assert_eq!(error_code(&answer), "CAPABILITY_VIOLATION", "{answer}");
    assert!(tool_result(&answer)["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("ceiling is write (set by plenum mcp)"));
    drop(server);
    assert_eq!(
        fixture.direct("SELECT name FROM items ORDER BY id").len(),
        3
    );
    assert!(fixture
        .direct("SELECT name FROM sqlite_master WHERE name = 't'")
        .is_empty());

    // The environment's ceiling binds a server started with a higher one.
    let mut server = McpServer::start(&["--allow-ddl"], &[("PLENUM_MAX_CAPABILITY", "read")]);
    server.initialize("2025-06-18");
    let answer = server.call_tool(
        "query",
        sqlite(
            &fixture.file,
            json!({"sql": "DELETE FROM items", "allow_write": true}),
        ),
    );
    assert_eq!(error_code(&answer), "CAPABILITY_VIOLATION", "{answer}");
    assert!(tool_result(&answer)["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("PLENUM_MAX_CAPABILITY"));
    drop(server);
    assert_eq!(
        fixture.direct("SELECT name FROM items ORDER BY id").len(),
        3
    );
}

#[test]
fn no_secret_passes_through_arguments_answers_or_logs() {
    const SECRET: &str = "Zq9-secret-PW";
    let fixture = SqliteFixture::new(SETUP);
    let mut server = McpServer::start(
        &["--password-env", "PLENUM_MCP_TEST_PW"],
        &[("PLENUM_MCP_TEST_PW", SECRET), ("OTHER_SECRET", SECRET)],
    );
    server.initialize("2025-11-25");
    let mut answers = Vec::new();

    // A password argument is refused without being echoed.
    let answer = server.call_tool(
        "query",
        sqlite(
            &fixture.file,
            json!({"sql": "SELECT 1", "password": SECRET}),
        ),
    );
    assert_eq!(error_code(&answer), "INVALID_INPUT", "{answer}");
    answers.push(answer);

    // A variable the server was not started with cannot be named.
    let answer = server.call_tool(
        "query",
        json!({"sql": "SELECT 1", "engine": "postgres",
        "host": "127.0.0.1", "port": 9, "user": "x", "password_env": "OTHER_SECRET"}),
    );
    assert_eq!(error_code(&answer), "INVALID_INPUT", "{answer}");
    assert!(tool_result(&answer)["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("only variables the human who started it named"));
    answers.push(answer);

    // An allowed one reaches the engine; the failure to connect says nothing of the secret.
    let answer = server.call_tool(
        "query",
        json!({"sql": "SELECT 1", "engine": "postgres",
        "host": "127.0.0.1", "port": 9, "user": "x", "database": "y",
        "password_env": "PLENUM_MCP_TEST_PW", "timeout_ms": 3000}),
    );
    let code = error_code(&answer);
    assert!(
        code == "CONNECTION_FAILED" || code == "PLUGIN_ERROR",
        "{answer}"
    );
    answers.push(answer);

    // A saved connection and direct fields do not mix (the saved one is used as saved).
    let answer = server.call_tool(
        "query",
        json!({"sql": "SELECT 1", "connection": "prod", "host": "elsewhere"}),
    );
    assert_eq!(error_code(&answer), "INVALID_INPUT", "{answer}");
    answers.push(answer);

    drop(server.request("ping", json!({})));
    let stderr = server.stderr();
    drop(server);
    for answer in &answers {
        assert!(!answer.to_string().contains(SECRET), "secret in {answer}");
    }
    assert!(!stderr.contains(SECRET), "secret in the log: {stderr}");
}

#[test]
fn list_engines_reports_the_sqlite_plugin() {
    let mut server = started(&[]);
    let answer = server.call_tool("list_engines", json!({}));
    let data = &tool_result(&answer)["data"];
    let sqlite = data["plugins"]
        .as_array()
        .and_then(|plugins| {
            plugins.iter().find(|p| {
                p["engines"]
                    .as_array()
                    .is_some_and(|e| e.contains(&json!("sqlite")))
            })
        })
        .cloned()
        .unwrap_or(Json::Null);
    assert_eq!(sqlite["status"], "ok", "{data}");
    assert!(data["search_path"].is_array(), "{data}");
    let answer = server.call_tool("list_engines", json!({"verbose": true}));
    assert_eq!(error_code(&answer), "INVALID_INPUT", "{answer}");
}

#[test]
fn introspection_describes_tables_in_a_read_session() {
    let fixture = SqliteFixture::new(SETUP);
    let before = fixture.snapshot();
    let mut server = started(&["--allow-ddl"]);
    let answer = server.call_tool(
        "introspect",
        sqlite(&fixture.file, json!({"list_tables": true})),
    );
    let listing = tool_result(&answer);
    assert!(listing.to_string().contains("\"items\""), "{listing}");
    let answer = server.call_tool(
        "introspect",
        sqlite(&fixture.file, json!({"table": "items"})),
    );
    let detail = tool_result(&answer);
    assert_eq!(
        detail["data"]["table"]["primary_key"],
        json!(["id"]),
        "{detail}"
    );
    assert_eq!(detail["meta"]["access"], "read", "{detail}");
    // Options that contradict each other are the caller's to fix.
    let answer = server.call_tool(
        "introspect",
        sqlite(
            &fixture.file,
            json!({"list_tables": true, "table": "items"}),
        ),
    );
    assert_eq!(error_code(&answer), "INVALID_INPUT", "{answer}");
    let answer = server.call_tool(
        "introspect",
        sqlite(&fixture.file, json!({"table": "no_such_table"})),
    );
    assert!(!error_code(&answer).is_empty(), "{answer}");
    drop(server);
    assert_eq!(
        fixture.snapshot(),
        before,
        "introspection changed the database file"
    );
}

#[test]
fn saved_connections_bind_calls_and_are_listed_without_secrets() {
    const SECRET: &str = "Zq9-secret-PW";
    let fixture = SqliteFixture::new(SETUP);
    let home = fixture.dir.path().join("home");
    let work = fixture.dir.path().join("work");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::create_dir_all(&work).expect("work");
    let home_env = home.to_str().expect("UTF-8").to_owned();
    let config_env = home.join(".config").to_str().expect("UTF-8").to_owned();
    let env = [
        ("HOME", home_env.as_str()),
        ("XDG_CONFIG_HOME", config_env.as_str()),
        ("SAVED_PW", SECRET),
    ];
    let save = |args: &[&str]| {
        let mut run = plenum_e2e::Plenum::new(["connect"])
            .args(args)
            .current_dir(&work);
        for (key, value) in env {
            run = run.env(key, value);
        }
        run.run().assert_ok();
    };
    let file = fixture.file.to_str().expect("UTF-8");
    save(&[
        "--name",
        "app",
        "--engine",
        "sqlite",
        "--file",
        file,
        "--max-capability",
        "read",
    ]);
    save(&[
        "--name",
        "pg",
        "--engine",
        "postgres",
        "--host",
        "127.0.0.1",
        "--port",
        "9",
        "--user",
        "u",
        "--database",
        "d",
        "--password-env",
        "SAVED_PW",
    ]);

    let mut server = McpServer::start_in(Some(&work), &["--allow-write"], &env);
    server.initialize("2025-06-18");
    let answer = server.call_tool("list_connections", json!({}));
    let listed = tool_result(&answer).clone();
    let names: Vec<&str> = listed["data"]["connections"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|entry| entry["name"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, ["app", "pg"], "{listed}");

    // The saved connection's ceiling (read) binds even though the server allows writes.
    let answer = server.call_tool(
        "query",
        json!({"sql": "DELETE FROM items", "connection": "app", "allow_write": true}),
    );
    assert_eq!(error_code(&answer), "CAPABILITY_VIOLATION", "{answer}");
    assert!(tool_result(&answer)["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("saved connection 'app'"));
    let answer = server.call_tool(
        "query",
        json!({"sql": "SELECT count(*) FROM items", "connection": "app"}),
    );
    assert_eq!(
        tool_result(&answer)["data"]["rows"],
        json!([[2]]),
        "{answer}"
    );

    // A saved password reaches only the saved server, and its failure names no secret.
    let answer = server.call_tool(
        "query",
        json!({"sql": "SELECT 1", "connection": "pg", "timeout_ms": 3000}),
    );
    let code = error_code(&answer);
    assert!(
        code == "CONNECTION_FAILED" || code == "PLUGIN_ERROR",
        "{answer}"
    );
    let unknown = server.call_tool("query", json!({"sql": "SELECT 1", "connection": "nope"}));
    assert!(!error_code(&unknown).is_empty(), "{unknown}");

    let stderr = server.stderr();
    drop(server);
    for text in [
        listed.to_string(),
        answer.to_string(),
        unknown.to_string(),
        stderr,
    ] {
        assert!(!text.contains(SECRET), "secret leaked: {text}");
    }
    assert_eq!(fixture.direct("SELECT count(*) FROM items"), ["Integer(2)"]);
}

#[test]
fn a_large_result_comes_back_inside_the_protocol() {
    // Past the CLI's 1 MiB streaming threshold: the MCP answer must still be one JSON-RPC
    // message, never rows written straight to stdout.
    let fixture = SqliteFixture::new(SETUP);
    let mut server = started(&[]);
    let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) \
               SELECT i, printf('%.1000c', 'x') AS filler FROM n";
    let answer = server.call_tool(
        "query",
        sqlite(
            &fixture.file,
            json!({"sql": sql, "max_rows": 5000, "max_bytes": 16_000_000}),
        ),
    );
    let envelope = tool_result(&answer);
    assert_eq!(
        envelope["data"]["rows"].as_array().map(Vec::len),
        Some(3000)
    );
    assert_eq!(envelope["meta"]["truncated"], false);
    let answer = server.request("ping", json!({}));
    assert_eq!(answer["result"], json!({}), "{answer}");
}

#[test]
fn params_paging_and_check_only_through_the_query_tool() {
    let fixture = SqliteFixture::new(SETUP);
    let mut server = started(&["--allow-write"]);

    // Bound values: a hostile string is stored verbatim, NULL and numbers bind as themselves.
    let answer = server.call_tool(
        "query",
        sqlite(
            &fixture.file,
            json!({"sql": "INSERT INTO items (id, name) VALUES (?, ?)",
                   "params": [10, "x'); DROP TABLE items; --"], "allow_write": true}),
        ),
    );
    assert_eq!(tool_result(&answer)["ok"], true, "{answer}");
    assert_eq!(
        fixture.direct("SELECT name FROM items WHERE id = 10"),
        vec![r#"Text("x'); DROP TABLE items; --")"#]
    );
    let answer = server.call_tool(
        "query",
        sqlite(
            &fixture.file,
            json!({"sql": "SELECT name FROM items WHERE id = ? OR ? IS NULL ORDER BY id",
                   "params": [10, 1]}),
        ),
    );
    assert_eq!(
        tool_result(&answer)["data"]["rows"],
        json!([["x'); DROP TABLE items; --"]])
    );

    // A wrong count and a non-scalar are INVALID_INPUT.
    for params in [json!([]), json!([1, 2, 3]), json!([[1], 2])] {
        let answer = server.call_tool(
            "query",
            sqlite(
                &fixture.file,
                json!({"sql": "SELECT ?, ?", "params": params}),
            ),
        );
        let code = error_code(&answer);
        assert!(code == "INVALID_INPUT", "{params}: {answer}");
    }

    // Paging: one row a page, every row once.
    let mut names = Vec::new();
    let mut offset = json!(0);
    loop {
        let answer = server.call_tool(
            "query",
            sqlite(
                &fixture.file,
                json!({"sql": "SELECT name FROM items ORDER BY id", "max_rows": 1,
                       "offset": offset}),
            ),
        );
        let result = tool_result(&answer);
        for row in result["data"]["rows"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            names.push(row[0].clone());
        }
        match result["meta"].get("next_offset") {
            Some(next) => offset = next.clone(),
            None => break,
        }
        assert!(names.len() <= 3, "{answer}");
    }
    assert_eq!(
        names,
        vec![
            json!("apple"),
            json!("pear"),
            json!("x'); DROP TABLE items; --")
        ]
    );

    // check_only: the verdict, and nothing runs.
    let before = fixture.snapshot();
    let answer = server.call_tool(
        "query",
        sqlite(
            &fixture.file,
            json!({"sql": "DELETE FROM items", "check_only": true}),
        ),
    );
    let result = tool_result(&answer);
    assert_eq!(result["ok"], true, "{answer}");
    assert_eq!(result["data"]["allowed"], false);
    assert_eq!(result["data"]["statements"][0]["tier"], "write");
    drop(server);
    assert_eq!(fixture.snapshot(), before);
}

/// What the server logs when a call's request was cancelled and the call has ended.
const CANCELLED_LOG: &str = "query: cancelled by the client";

/// An endless SQLite read (it ends only when cancelled).
const ENDLESS: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

/// Sends `notifications/cancelled` for the request `id`.
fn cancel(server: &mut McpServer, id: &Json) {
    server.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                        "params": {"requestId": id, "reason": "the user changed their mind"}}),
    );
}

/// Polls `done` every 20 ms until it holds or `limit` passed; whether it held.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (at most `limit`) for the log line of a cancelled call that has ended, then checks
/// that no answer follows: a cancelled request gets none.
fn assert_ended_without_an_answer(server: &mut McpServer, limit: Duration) {
    assert!(
        wait_until(limit, || server.stderr().contains(CANCELLED_LOG)),
        "the cancelled call had not ended {limit:?} after the cancel; stderr:\n{}",
        server.stderr()
    );
    let stray = server.next_message(Duration::from_millis(500));
    assert!(
        stray.is_none(),
        "a cancelled request was answered: {stray:?}"
    );
}

/// The environment variable that carries the live server's password, if it has one.
const LIVE_PASSWORD_ENV: &str = "PLENUM_MCP_CANCEL_PW";

/// `plenum mcp <args>` that may use `server`'s password, past its handshake.
fn started_for(server: &Server, args: &[&str]) -> McpServer {
    let mut args = args.to_vec();
    let mut env = Vec::new();
    if let Some(password) = &server.password {
        args.extend(["--password-env", LIVE_PASSWORD_ENV]);
        env.push((LIVE_PASSWORD_ENV, password.as_str()));
    }
    let mut mcp = McpServer::start(&args, &env);
    mcp.initialize("2025-06-18");
    mcp
}

/// Arguments that reach the database of `db`.
fn on_db(db: &TestDb, mut arguments: Json) -> Json {
    arguments["engine"] = json!(db.server.engine());
    arguments["host"] = json!(db.server.host);
    arguments["port"] = json!(db.server.port);
    arguments["user"] = json!(db.server.user);
    arguments["database"] = json!(db.name);
    if db.server.password.is_some() {
        arguments["password_env"] = json!(LIVE_PASSWORD_ENV);
    }
    arguments
}

/// Backends of the test database other than the admin's that are inside a transaction.
fn open_transactions(db: &mut TestDb) -> u64 {
    db.admin()
        .text(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND xact_start IS NOT NULL",
        )
        .parse()
        .unwrap_or(u64::MAX)
}

#[test]
fn a_cancelled_postgres_query_stops_on_the_server_and_the_session_goes_on() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut db = TestDb::create(&server, &[]);
    let mut mcp = started_for(&server, &[]);
    let marker = unique_name("plenum_cancel");
    let sql = format!("SELECT pg_sleep(30), '{marker}' AS marker");
    let id = mcp.send_call(
        "query",
        on_db(&db, json!({"sql": sql, "timeout_ms": 120_000})),
    );
    assert!(
        wait_until(Duration::from_secs(10), || db.running(&marker) > 0),
        "the statement was never seen running; stderr:\n{}",
        mcp.stderr()
    );
    let cancelled = Instant::now();
    cancel(&mut mcp, &id);
    assert!(
        wait_until(Duration::from_secs(2), || db.running(&marker) == 0),
        "the statement still runs on the server 2 s after the cancel"
    );
    let stopped_after = cancelled.elapsed();
    assert_ended_without_an_answer(&mut mcp, Duration::from_secs(3));
    assert_eq!(open_transactions(&mut db), 0, "a transaction was left open");

    // The same session answers the next call, on the same database.
    let answer = mcp.call_tool("query", on_db(&db, json!({"sql": "SELECT 41 + 1 AS n"})));
    assert_eq!(
        tool_result(&answer)["data"]["rows"],
        json!([[42]]),
        "{answer}"
    );
    let answer = mcp.request("ping", json!({}));
    assert_eq!(answer["result"], json!({}), "{answer}");
    eprintln!("the statement left pg_stat_activity {stopped_after:?} after the cancel");
}

#[test]
fn a_cancelled_postgres_write_is_rolled_back() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut db = TestDb::create(
        &server,
        &[
            "CREATE TABLE counters (id int PRIMARY KEY, x int NOT NULL)",
            "INSERT INTO counters VALUES (1, 10), (2, 20)",
        ],
    );
    let mut mcp = started_for(&server, &["--allow-write"]);
    let marker = unique_name("plenum_cancel_write");
    // One call: the UPDATE has run (uncommitted) by the time the sleep is seen running.
    let sql = format!("UPDATE counters SET x = x + 1; SELECT pg_sleep(30), '{marker}' AS marker");
    let id = mcp.send_call(
        "query",
        on_db(
            &db,
            json!({"sql": sql, "allow_write": true, "timeout_ms": 120_000}),
        ),
    );
    assert!(
        wait_until(Duration::from_secs(10), || db.running(&marker) > 0),
        "the statement was never seen running; stderr:\n{}",
        mcp.stderr()
    );
    // The UPDATE holds its row locks: the call's transaction is open.
    assert_eq!(open_transactions(&mut db), 1);
    cancel(&mut mcp, &id);
    assert!(
        wait_until(Duration::from_secs(2), || open_transactions(&mut db) == 0),
        "the call's transaction is still open 2 s after the cancel"
    );
    assert_eq!(db.running(&marker), 0);
    assert_ended_without_an_answer(&mut mcp, Duration::from_secs(3));
    assert_eq!(
        db.admin()
            .column("SELECT x::text FROM counters ORDER BY id"),
        ["10", "20"],
        "the cancelled UPDATE was committed"
    );

    // Nothing holds the rows any more: the next write runs at once and commits.
    let answer = mcp.call_tool(
        "query",
        on_db(
            &db,
            json!({"sql": "UPDATE counters SET x = x + 100 WHERE id = 1",
                   "allow_write": true, "timeout_ms": 5000}),
        ),
    );
    assert_eq!(tool_result(&answer)["data"]["rows_affected"], 1, "{answer}");
    assert_eq!(
        db.admin()
            .column("SELECT x::text FROM counters ORDER BY id"),
        ["110", "20"]
    );
}

#[test]
fn a_cancelled_sqlite_query_stops_promptly_and_the_server_keeps_serving() {
    let fixture = SqliteFixture::new(SETUP);
    let mut server = started(&[]);
    let id = server.send_call(
        "query",
        sqlite(
            &fixture.file,
            json!({"sql": ENDLESS, "timeout_ms": 120_000}),
        ),
    );
    // A quick call behind it is answered: the endless one is running, not queued.
    let answer = server.call_tool(
        "query",
        sqlite(&fixture.file, json!({"sql": "SELECT 2 AS n"})),
    );
    assert_eq!(tool_result(&answer)["data"]["rows"], json!([[2]]));
    std::thread::sleep(Duration::from_millis(200));
    cancel(&mut server, &id);
    assert_ended_without_an_answer(&mut server, Duration::from_secs(2));
    // It was stopped, not finished: the log names the cancel's failure.
    assert!(
        server
            .stderr()
            .contains(&format!("{CANCELLED_LOG}; stopped after")),
        "{}",
        server.stderr()
    );
    assert!(server.stderr().contains("(TIMEOUT)"), "{}", server.stderr());

    let answer = server.call_tool(
        "query",
        sqlite(&fixture.file, json!({"sql": "SELECT count(*) FROM items"})),
    );
    assert_eq!(tool_result(&answer)["data"]["rows"], json!([[2]]));
    // A cancel for a request that already ended, or that never existed, changes nothing.
    cancel(&mut server, &id);
    cancel(&mut server, &json!(987_654));
    let answer = server.call_tool(
        "query",
        sqlite(&fixture.file, json!({"sql": "SELECT 3 AS n"})),
    );
    assert_eq!(tool_result(&answer)["data"]["rows"], json!([[3]]));
}

#[test]
fn a_sqlite_write_cancelled_as_it_arrives_or_while_it_runs_changes_nothing() {
    for delay in [Duration::ZERO, Duration::from_millis(300)] {
        let fixture = SqliteFixture::new(SETUP);
        let before = fixture.snapshot();
        let mut server = started(&["--allow-write"]);
        let sql = format!("INSERT INTO items (name) VALUES ('fig'); {ENDLESS}");
        let id = json!(server.fresh_id());
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "query", "arguments": sqlite(&fixture.file,
                json!({"sql": sql, "allow_write": true, "timeout_ms": 120_000}))}});
        let cancellation = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                  "params": {"requestId": id}});
        if delay.is_zero() {
            // Both in one write: the cancel arrives before the work can have done much.
            server.send_bytes(format!("{call}\n{cancellation}\n").as_bytes());
        } else {
            server.send(&call);
            std::thread::sleep(delay);
            server.send(&cancellation);
        }
        assert_ended_without_an_answer(&mut server, Duration::from_secs(2));
        let answer = server.call_tool(
            "query",
            sqlite(&fixture.file, json!({"sql": "SELECT count(*) FROM items"})),
        );
        assert_eq!(
            tool_result(&answer)["data"]["rows"],
            json!([[2]]),
            "after {delay:?}"
        );
        drop(server);
        assert!(
            fixture.snapshot() == before,
            "the file changed (after {delay:?})"
        );
    }
}

#[test]
fn closing_stdin_during_a_long_write_rolls_it_back() {
    let fixture = SqliteFixture::new(SETUP);
    let before = fixture.snapshot();
    let mut server = started(&["--allow-write"]);
    let sql = format!("INSERT INTO items (name) VALUES ('fig'); {ENDLESS}");
    server.send_call(
        "query",
        sqlite(
            &fixture.file,
            json!({"sql": sql, "allow_write": true, "timeout_ms": 120_000}),
        ),
    );
    std::thread::sleep(Duration::from_millis(300));
    server.close_stdin();
    // rmcp waits up to 5 s for calls in flight to answer, then the session ends and the
    // call is stopped like a cancelled one.
    assert_eq!(
        server.wait_exit(Duration::from_secs(15)),
        Some(0),
        "{}",
        server.stderr()
    );
    assert!(
        fixture.snapshot() == before,
        "the file changed (a hot journal or the row was left)"
    );
}
