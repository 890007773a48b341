//! What every MCP client needs from `plenum mcp`, checked on the real binary in raw JSON-RPC:
//! argument schemas any client can fill in, a `tools/list` that fits its byte budget, answers
//! in MCP words (never a CLI flag), and exactly one correct answer to every request however
//! it is malformed.

mod mcp_support;

use std::time::Duration;

use mcp_support::{sqlite, tool_result, McpServer};
use plenum_e2e::SqliteFixture;
use serde_json::{json, Value as Json};

const SETUP: &str = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
                     INSERT INTO items (name) VALUES ('apple'), ('pear');";

/// The most bytes the whole `tools/list` answer may take (issue 17: about 1,000 tokens).
const LIST_BUDGET: usize = 4000;

/// JSON Schema formats every validator knows (draft 2020-12).
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

fn started(args: &[&str]) -> McpServer {
    let mut server = McpServer::start(args, &[]);
    server.initialize("2025-06-18");
    server
}

/// The raw `tools/list` answer the server writes (its size, and the result), with `params`.
fn tools_list_line(server: &mut McpServer, params: Json) -> (usize, Json) {
    let id = server.fresh_id();
    server.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": params}));
    let answer = server
        .next_message(Duration::from_secs(10))
        .expect("tools/list answer");
    assert_eq!(answer["id"], id, "{answer}");
    // Compact JSON, as the server writes it: the same bytes a client reads.
    let bytes = answer.to_string().len();
    (bytes, answer["result"].clone())
}

/// `tools/list` as a 2026-07-28 client sends it: no handshake, the revision in `_meta`.
fn tools_list_2026(args: &[&str]) -> (usize, Json) {
    let mut server = McpServer::start(args, &[]);
    tools_list_line(
        &mut server,
        json!({"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}
        }}),
    )
}

/// Every `format` anywhere in `schema`.
fn formats(schema: &Json, found: &mut Vec<String>) {
    match schema {
        Json::Object(object) => {
            if let Some(Json::String(format)) = object.get("format") {
                found.push(format.clone());
            }
            object.values().for_each(|value| formats(value, found));
        }
        Json::Array(items) => items.iter().for_each(|value| formats(value, found)),
        _ => {}
    }
}

#[test]
fn tools_list_fits_the_budget_with_plain_schemas_at_every_ceiling() {
    for args in [
        &[][..],
        &["--allow-write"],
        &["--allow-ddl"],
        // With approvals the query tool says what needs the user's OK.
        &["--approve-up-to", "write"],
        &["--approve-up-to", "ddl"],
        &["--allow-write", "--approve-up-to", "ddl"],
    ] {
        let mut server = started(args);
        let (bytes, result) = tools_list_line(&mut server, json!({}));
        eprintln!("tools/list with {args:?}, 2025-06-18: {bytes} bytes");
        assert!(
            bytes <= LIST_BUDGET,
            "{args:?}: tools/list is {bytes} bytes"
        );
        // Cache hints are 2026-07-28's: an older peer does not pay for them.
        assert!(
            result.get("ttlMs").is_none() && result.get("cacheScope").is_none(),
            "{result}"
        );
        // The newest revision's answer is the largest (resultType and the cache hints).
        let (modern_bytes, modern) = tools_list_2026(args);
        eprintln!("tools/list with {args:?}, 2026-07-28: {modern_bytes} bytes");
        assert!(
            modern_bytes <= LIST_BUDGET,
            "{args:?}: tools/list is {modern_bytes} bytes at 2026-07-28"
        );
        // The list is fixed for the server's life and the same for every client.
        assert_eq!(modern["ttlMs"], 300_000, "{modern}");
        assert_eq!(modern["cacheScope"], "public", "{modern}");
        assert_eq!(modern["tools"], result["tools"]);
        let tools = result["tools"].as_array().cloned().unwrap_or_default();
        assert_eq!(tools.len(), 4);
        for tool in &tools {
            let name = tool["name"].as_str().unwrap_or_default();
            let mut found = Vec::new();
            formats(tool, &mut found);
            for format in found {
                assert!(
                    STANDARD_FORMATS.contains(&format.as_str()),
                    "{name}: non-standard format {format}"
                );
            }
            let properties = tool["inputSchema"]["properties"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (argument, property) in &properties {
                // A union with null is what the MCP Inspector cannot fill in.
                assert!(
                    property["type"].is_string(),
                    "{name}.{argument}: {property}"
                );
                if property["type"] == "integer" {
                    assert!(
                        property.get("minimum").is_some() || property.get("default").is_some(),
                        "{name}.{argument}: {property}"
                    );
                }
            }
            let annotations = &tool["annotations"];
            // list_connections connects when asked to `test` a connection.
            let reaches_out = name == "query" || name == "introspect" || name == "list_connections";
            assert_eq!(annotations["openWorldHint"], reaches_out, "{tool}");
        }
    }
}

#[test]
fn every_argument_takes_the_plain_value_a_form_sends() {
    let fixture = SqliteFixture::new(SETUP);
    let mut server = started(&[]);
    // Every optional integer and flag set at once, as plain JSON values; nulls for fields a
    // form left empty.
    let answer = server.call_tool(
        "query",
        sqlite(
            &fixture.file,
            json!({"sql": "SELECT name FROM items WHERE id > ? ORDER BY id", "params": [0],
                   "max_rows": 1, "max_bytes": 100000, "timeout_ms": 5000, "offset": 1,
                   "connect_timeout_ms": 2000, "allow_write": false, "allow_ddl": false,
                   "check_only": false, "explain": false, "host": null, "port": null}),
        ),
    );
    assert_eq!(
        tool_result(&answer)["data"]["rows"],
        json!([["pear"]]),
        "{answer}"
    );
    let answer = server.call_tool(
        "introspect",
        sqlite(
            &fixture.file,
            json!({"list_tables": true, "pattern": "it%", "max_bytes": 100000,
                   "timeout_ms": 5000, "connect_timeout_ms": 2000, "table": null}),
        ),
    );
    assert!(
        tool_result(&answer).to_string().contains("\"items\""),
        "{answer}"
    );
}

/// Every `--flag` in `text` (a flag: two dashes and a letter).
fn cli_flags(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for at in 0..bytes.len().saturating_sub(2) {
        if &bytes[at..at + 2] == b"--" && bytes[at + 2].is_ascii_alphabetic() {
            let end = bytes[at + 2..]
                .iter()
                .position(|byte| !(byte.is_ascii_alphanumeric() || *byte == b'-'))
                .map_or(bytes.len(), |offset| at + 2 + offset);
            found.push(text[at..end].to_owned());
        }
    }
    found
}

#[test]
fn no_refusal_or_input_error_names_a_cli_flag() {
    let fixture = SqliteFixture::new(SETUP);
    let file = &fixture.file;
    // (server flags, tool, arguments, words the answer must use instead of the CLI's)
    let corpus: Vec<(&[&str], &str, Json, &[&str])> = vec![
        (
            &[],
            "query",
            sqlite(file, json!({"sql": "DELETE FROM items"})),
            &["allow_write"],
        ),
        (
            &[],
            "query",
            sqlite(
                file,
                json!({"sql": "DELETE FROM items", "allow_write": true}),
            ),
            &["allow_write", "plenum mcp"],
        ),
        (
            &["--allow-write"],
            "query",
            sqlite(
                file,
                json!({"sql": "DROP TABLE items", "allow_write": true}),
            ),
            &["allow_ddl"],
        ),
        (
            &["--allow-write"],
            "query",
            sqlite(
                file,
                json!({"sql": "CREATE TABLE t (x INT)", "allow_ddl": true}),
            ),
            &["allow_ddl"],
        ),
        (
            &[],
            "query",
            sqlite(
                file,
                json!({"sql": "WITH d AS (DELETE FROM items RETURNING id) SELECT * FROM d"}),
            ),
            &["allow_write"],
        ),
        (
            &[],
            "query",
            sqlite(file, json!({"sql": "SELECT 1; SELECT 2", "explain": true})),
            &["explain"],
        ),
        (
            &[],
            "query",
            sqlite(
                file,
                json!({"sql": "SELECT 1", "explain": true, "offset": 1}),
            ),
            &["offset", "explain"],
        ),
        (
            &["--allow-write"],
            "query",
            sqlite(
                file,
                json!({"sql": "UPDATE items SET name = 'x'", "allow_write": true, "offset": 2}),
            ),
            &["offset"],
        ),
        (
            &[],
            "query",
            sqlite(file, json!({"sql": "SELECT 1; SELECT 2", "offset": 2})),
            &["offset"],
        ),
        (
            &[],
            "query",
            sqlite(file, json!({"sql": "SELECT ?, ?", "params": [1]})),
            &["`params` element"],
        ),
        (
            &[],
            "query",
            sqlite(file, json!({"sql": "SELECT ?", "params": [1, 2]})),
            &[],
        ),
        (
            &[],
            "introspect",
            sqlite(file, json!({"table": "no_such_table"})),
            &["introspect tool with list_tables"],
        ),
        (
            &[],
            "query",
            json!({"sql": "SELECT 1", "connection": "nope"}),
            &[],
        ),
        (
            &[],
            "query",
            json!({"sql": "SELECT 1", "engine": "nope"}),
            &["list_engines"],
        ),
        (
            &[],
            "query",
            json!({"sql": "SELECT 1", "engine": "postgres", "host": "127.0.0.1", "port": 9,
                   "password_env": "HOME"}),
            &["password_env"],
        ),
        (
            &[],
            "query",
            sqlite(file, json!({"sql": "SELECT 1", "connect_timeout_ms": 0})),
            &["connect_timeout_ms"],
        ),
        (
            &[],
            "query",
            sqlite(file, json!({"sql": "SELECT 1", "max_rows": -1})),
            &["max_rows"],
        ),
        (
            &[],
            "query",
            sqlite(file, json!({"sql": "SELECT 1", "colour": 1})),
            &["colour"],
        ),
        (
            &[],
            "list_engines",
            json!({"verbose": true}),
            &["no arguments"],
        ),
        (&[], "query", sqlite(file, json!({"sql": "SELEC 1"})), &[]),
        (
            &[],
            "query",
            sqlite(file, json!({"sql": "ATTACH 'x.db' AS x"})),
            &[],
        ),
        (
            &[],
            "query",
            sqlite(file, json!({"sql": "PRAGMA journal_mode = WAL"})),
            &[],
        ),
        (
            &[],
            "query",
            sqlite(
                file,
                json!({"sql": "SELECT * FROM items", "check_only": true, "explain": true}),
            ),
            &[],
        ),
    ];
    let mut failures = 0;
    for (flags, tool, arguments, words) in corpus {
        let mut server = started(flags);
        let answer = server.call_tool(tool, arguments.clone());
        let result = tool_result(&answer);
        assert_eq!(result["ok"], false, "{arguments}: {answer}");
        failures += 1;
        let text = answer.to_string();
        assert!(
            cli_flags(&text).is_empty(),
            "{arguments} names CLI flags {:?}: {answer}",
            cli_flags(&text)
        );
        let message = result["error"]["message"].as_str().unwrap_or_default();
        for word in words {
            assert!(message.contains(word), "{arguments}: {message}");
        }
    }
    // A check's verdict speaks the same words as the refusal it predicts.
    let mut server = started(&[]);
    let answer = server.call_tool(
        "query",
        sqlite(
            file,
            json!({"sql": "DELETE FROM items; SELECT ?", "check_only": true}),
        ),
    );
    let result = tool_result(&answer);
    assert_eq!(
        result["data"]["statements"][0]["needs"], "allow_write",
        "{answer}"
    );
    assert!(cli_flags(&answer.to_string()).is_empty(), "{answer}");
    assert!(failures >= 20);
}

/// Sends `line` and returns the one answer, checking nothing else comes before a ping's.
fn one_answer(server: &mut McpServer, line: &str) -> Json {
    server.send_line(line);
    let answer = server
        .next_message(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no answer to {line}"));
    let id = server.fresh_id();
    server.send(&json!({"jsonrpc": "2.0", "id": id, "method": "ping"}));
    let next = server
        .next_message(Duration::from_secs(10))
        .expect("ping answer");
    assert_eq!(next["id"], id, "a second answer to {line}: {next}");
    answer
}

#[test]
fn every_request_gets_exactly_one_correct_answer() {
    let mut server = started(&[]);
    for (line, code, id) in [
        (
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            -32600,
            json!(null),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
            -32600,
            json!(1.5),
        ),
        (
            r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"tools/list"}"#,
            -32600,
            json!(9_223_372_036_854_775_808u64),
        ),
        (r#"{"jsonrpc":"2.0","id":12}"#, -32600, json!(12)),
        (
            r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#,
            -32600,
            json!(null),
        ),
        (
            r#"{"jsonrpc":"1.0","id":13,"method":"ping"}"#,
            -32600,
            json!(13),
        ),
        (r#"{"id":14,"method":"ping"}"#, -32600, json!(14)),
        (
            r#"{"jsonrpc":"2.0","id":15,"method":"tools/list""#,
            -32700,
            json!(null),
        ),
        ("[]", -32600, json!(null)),
        (r#""ping""#, -32600, json!(null)),
        (
            r#"{"jsonrpc":"2.0","id":16,"method":"resources/list"}"#,
            -32601,
            json!(16),
        ),
        (
            r#"{"jsonrpc":"2.0","id":17,"method":"prompts/list"}"#,
            -32601,
            json!(17),
        ),
        (
            r#"{"jsonrpc":"2.0","id":18,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"x"},"argument":{"name":"a","value":"b"}}}"#,
            -32601,
            json!(18),
        ),
        (
            r#"{"jsonrpc":"2.0","id":19,"method":"logging/setLevel","params":{"level":"info"}}"#,
            -32601,
            json!(19),
        ),
        (
            r#"{"jsonrpc":"2.0","id":"x","method":"no/such"}"#,
            -32601,
            json!("x"),
        ),
        (
            r#"{"jsonrpc":"2.0","id":20,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"again","version":"0"}}}"#,
            -32600,
            json!(20),
        ),
    ] {
        let answer = one_answer(&mut server, line);
        assert_eq!(answer["jsonrpc"], "2.0", "{line}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{line}: {answer}");
        // The key is there, null included: the spec's "id": null, not a missing id.
        assert_eq!(answer.get("id"), Some(&id), "{line}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.len() > 20, "{line}: {answer}");
        if code == -32601 {
            assert!(message.starts_with("Method not found"), "{message}");
            assert!(message.contains("tools/call"), "{message}");
        }
    }
    // The second initialize changed nothing: the session still speaks 2025-06-18, and its
    // tools still answer.
    let answer = server.request("tools/list", json!({}));
    assert!(answer["result"]["tools"].is_array(), "{answer}");
    // Notifications, even malformed ones, get no answer (checked by the ping after each).
    for line in [
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"1.0","method":"notifications/whatever"}"#,
        r#"{"jsonrpc":"2.0","method":"resources/list"}"#,
        r#"{"jsonrpc":"2.0","method":5}"#,
    ] {
        server.send_line(line);
    }
    let id = server.fresh_id();
    server.send(&json!({"jsonrpc": "2.0", "id": id, "method": "ping"}));
    let next = server
        .next_message(Duration::from_secs(10))
        .expect("ping answer");
    assert_eq!(next["id"], id, "a notification was answered: {next}");
    assert!(next.get("error").is_none(), "{next}");
}
