//! What the fuzz targets exercise, with the properties each input must keep.
//!
//! Each target calls the code under test through its crate: the gate (`plenum-gate`), the DSN
//! and saved-connection parsers and the sanitizer (`plenum-core`), and the MCP server's
//! JSON-RPC envelope check (`plenum`'s `mcp::jsonrpc`).
// Its own workspace (see Cargo.toml), so it does not take the main workspace's lints.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use plenum::mcp::jsonrpc;
use plenum_core::services::{connection, sanitize};
use plenum_gate::{check, classify, Dialect, Tier};
use sanitize::Sanitizer;
use secrecy::ExposeSecret;

/// Secrets shorter than this are not checked: a one-letter password occurs in any text.
const CHECKED_SECRET_LEN: usize = 4;

fn worth_checking(secret: &str) -> bool {
    // The mask itself is `***`; a secret made of it cannot be told from its mask.
    secret.len() >= CHECKED_SECRET_LEN && !secret.contains('*')
}

/// Classifies `data` (as UTF-8, invalid bytes replaced) in `dialect` and checks what the host
/// relies on:
///
/// * every statement text is a non-empty slice of the input;
/// * `check` at the read tier passes exactly when `classify` passes with only reads;
/// * a statement passed at the read tier, classified again on its own (as the engine receives
///   it), is still one read statement, or an error — never something else.
pub fn gate(data: &[u8], dialect: Dialect) {
    let sql = String::from_utf8_lossy(data);
    let classified = classify(&sql, dialect);
    let read_check = check(&sql, dialect, Tier::Read);
    if let Ok(statements) = &classified {
        for statement in statements {
            assert!(!statement.sql.is_empty(), "empty statement text");
            assert!(
                sql.contains(statement.sql.as_str()),
                "statement text {:?} is not part of the input",
                statement.sql
            );
        }
    }
    let only_reads = classified
        .as_ref()
        .map(|statements| statements.iter().all(|s| s.tier == Tier::Read))
        .unwrap_or(false);
    assert_eq!(
        read_check.is_ok(),
        only_reads,
        "check(read) and classify disagree: {read_check:?} / {classified:?}"
    );
    if let Ok(statements) = read_check {
        for statement in statements {
            if let Ok(again) = classify(&statement.sql, dialect) {
                assert!(
                    again.len() == 1 && again[0].tier == Tier::Read,
                    "{:?} passed as one read but alone is {again:?}",
                    statement.sql
                );
            }
        }
    }
}

/// Reads `data` as one line `plenum mcp` receives on stdio and checks the verdict of its
/// JSON-RPC envelope check, before and after `initialize`:
///
/// * a notification (a method and no `id`) is never answered, and nothing else is dropped;
/// * an answer is invalid-request or method-not-found, with a message, and its `id` is null or
///   exactly the id the client sent;
/// * a request that passes has `"jsonrpc": "2.0"`, a string or 64-bit integer id and a method
///   the server offers; anything else that passes is a response.
pub fn mcp_message(data: &[u8]) {
    use jsonrpc::{triage, Triage, OFFERED_METHODS};
    use serde_json::Value as Json;
    let Ok(value) = serde_json::from_slice::<Json>(data) else {
        return;
    };
    let object = value.as_object();
    let has = |key: &str| object.is_some_and(|object| object.contains_key(key));
    let notification = has("method") && !has("id");
    for initialized in [false, true] {
        match triage(&value, initialized) {
            Triage::Answer(id, code, message) => {
                assert!(!notification, "a notification was answered: {value}");
                assert!(code == -32600 || code == -32601, "code {code}");
                assert!(!message.is_empty());
                if !id.is_null() {
                    assert_eq!(value.get("id"), Some(&id), "the answer's id is not the request's");
                }
            }
            Triage::Drop(_) => assert!(notification, "a request was dropped: {value}"),
            Triage::Pass if notification => {}
            Triage::Pass => {
                assert_eq!(value["jsonrpc"], "2.0", "{value}");
                match value.get("method") {
                    Some(method) => {
                        let method = method.as_str().unwrap_or_default();
                        assert!(OFFERED_METHODS.contains(&method), "{value}");
                        let id = &value["id"];
                        assert!(id.is_string() || id.is_i64(), "{value}");
                        assert!(!(initialized && method == "initialize"), "{value}");
                    }
                    None => assert!(has("result") || has("error"), "{value}"),
                }
            }
        }
    }
}

/// Parses `data` as a DSN the way `--dsn` does, and checks that the password the URL carries
/// never survives the sanitizer, whether parsing succeeds or fails; also scrubs the text itself.
pub fn dsn(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut sanitizer = Sanitizer::new();
    // `--dsn` registers the whole DSN before parsing it; this checks the parser's own part.
    let parsed = connection::parse_dsn(&text, &mut sanitizer);
    let _ = sanitizer.scrub(&text);
    let mut secrets = Vec::new();
    if let Ok(url) = url::Url::parse(&text) {
        if let Some(password) = url.password() {
            secrets.push(password.to_owned());
        }
    }
    match parsed {
        Ok(spec) => {
            if let Some(password) = &spec.password {
                secrets.push(password.expose_secret().to_owned());
            }
            for secret in secrets.iter().filter(|secret| worth_checking(secret)) {
                let said = sanitizer.scrub(&format!("connection refused for {secret}"));
                assert!(
                    !said.contains(secret.as_str()),
                    "{secret:?} survives: {said}"
                );
            }
        }
        Err(failure) => {
            let said = sanitizer.scrub(&failure.message);
            for secret in secrets.iter().filter(|secret| worth_checking(secret)) {
                assert!(
                    !said.contains(secret.as_str()),
                    "{secret:?} in error: {said}"
                );
            }
        }
    }
}

fn passwords_in(value: &serde_json::Value, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match value {
                    serde_json::Value::String(text) if key == "password" => {
                        found.push(text.clone())
                    }
                    other => passwords_in(other, found),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| passwords_in(item, found)),
        _ => {}
    }
}

/// Parses `data` as a saved-connection file and checks that an error, once sanitized as the
/// host prints it, never holds a stored password.
pub fn config(data: &[u8]) {
    let mut sanitizer = Sanitizer::new();
    let parsed = connection::store::parse_config(data, &mut sanitizer);
    if let Err(message) = parsed {
        let mut passwords = Vec::new();
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
            passwords_in(&value, &mut passwords);
        }
        let said = sanitizer.scrub(&message);
        for password in passwords.iter().filter(|password| worth_checking(password)) {
            assert!(
                !said.contains(password.as_str()),
                "{password:?} in error: {said}"
            );
        }
    }
}
