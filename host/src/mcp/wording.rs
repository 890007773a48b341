//! The core's messages in MCP words.
//!
//! The core (gate, pipeline, connection resolution) words what a call needs in the CLI's
//! vocabulary (`--allow-write`, `--param`, `plenum introspect --list-tables`), which an MCP
//! caller cannot use. Until the core reports these as data, the MCP front end rewrites the
//! messages of its answers with a fixed table: whole phrases first (a CLI hint whose MCP
//! counterpart is worded differently), then each CLI flag to the tool argument it stands for.
//! Only messages are rewritten (errors, a check's problems, plugin statuses), never rows or
//! SQL, so a value that looks like a flag comes back as it was.

use serde_json::Value as Json;

/// CLI hints whose MCP counterpart is a different sentence. Longest first where one contains
/// another.
const PHRASES: &[(&str, &str)] = &[
    (
        "pass --engine NAME (see `plenum plugins`), --dsn URL, or --connection NAME (see \
         `plenum connect --list`)",
        "pass `engine` (see list_engines) or `connection` (see list_connections)",
    ),
    (
        "pass --engine NAME (see `plenum plugins`) or --dsn URL",
        "pass `engine` (see list_engines) or `connection` (see list_connections)",
    ),
    (
        "run `plenum introspect --list-tables` to see them",
        "call the introspect tool with list_tables to see them",
    ),
    (
        "save one with `plenum connect --name NAME …`",
        "a human saves them with `plenum connect`",
    ),
    (
        "pass one --param (or one `params` element) per placeholder",
        "pass one `params` element per placeholder",
    ),
    ("use `plenum query` with", "use the query tool with"),
    (
        "write one with `plenum plugins verify ",
        "a human writes one with `plenum plugins verify ",
    ),
    (" --write`", "` (its write option)"),
    ("`plenum connect --list`", "list_connections"),
    ("`plenum plugins`", "list_engines"),
];

/// CLI flags and the tool argument each stands for.
const FLAGS: &[(&str, &str)] = &[
    ("--allow-write", "allow_write"),
    ("--allow-ddl", "allow_ddl"),
    ("--max-rows", "max_rows"),
    ("--max-bytes", "max_bytes"),
    ("--connect-timeout-ms", "connect_timeout_ms"),
    ("--timeout-ms", "timeout_ms"),
    ("--offset", "offset"),
    ("--explain", "explain"),
    ("--check-only", "check_only"),
    ("--param", "params"),
    ("--engine", "engine"),
    ("--connection", "connection"),
    ("--file", "file"),
    ("--host", "host"),
    ("--port", "port"),
    ("--user", "user"),
    ("--database", "database"),
    ("--password-env", "password_env"),
    ("--ssl-mode", "ssl_mode"),
    ("--ssl-ca", "ssl_ca"),
    ("--list-tables", "list_tables"),
    ("--list-schemas", "list_schemas"),
    ("--table", "table"),
    ("--schema", "schema"),
    ("--pattern", "pattern"),
];

/// `message` in MCP words.
pub fn mcp_words(message: &str) -> String {
    let mut text = message.to_owned();
    for (cli, mcp) in PHRASES {
        if text.contains(cli) {
            text = text.replace(cli, mcp);
        }
    }
    for (flag, argument) in FLAGS {
        if text.contains(flag) {
            text = replace_flag(&text, flag, argument);
        }
    }
    text
}

/// Replaces `flag` where it is a whole flag (`--param`, not the start of `--params-file`).
fn replace_flag(text: &str, flag: &str, argument: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(flag) {
        let after = &rest[at + flag.len()..];
        let whole = !after
            .chars()
            .next()
            .is_some_and(|next| next.is_ascii_alphanumeric() || next == '-' || next == '_');
        out.push_str(&rest[..at]);
        out.push_str(if whole { argument } else { flag });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Rewrites the messages of an envelope in MCP words; returns whether anything changed.
/// Messages are the error's, a check's `problems` and each statement's `needs`, and every
/// string of the `plugins` listing (statuses and reasons; it holds no user data).
pub fn reword_envelope(envelope: &mut Json) -> bool {
    let command = envelope["command"].as_str().unwrap_or_default().to_owned();
    let mut changed = false;
    if let Some(message) = envelope.pointer_mut("/error/message") {
        changed |= reword(message);
    }
    match command.as_str() {
        "check" => {
            if let Some(Json::Array(problems)) = envelope.pointer_mut("/data/problems") {
                for problem in problems {
                    changed |= reword(problem);
                }
            }
            if let Some(Json::Array(statements)) = envelope.pointer_mut("/data/statements") {
                for statement in statements {
                    for key in ["needs", "cause"] {
                        if let Some(value) = statement.get_mut(key) {
                            changed |= reword(value);
                        }
                    }
                }
            }
        }
        "plugins" => {
            if let Some(plugins) = envelope.pointer_mut("/data/plugins") {
                changed |= reword_all(plugins);
            }
        }
        _ => {}
    }
    changed
}

fn reword(value: &mut Json) -> bool {
    match value {
        Json::String(text) => {
            let worded = mcp_words(text);
            let changed = worded != *text;
            *text = worded;
            changed
        }
        _ => false,
    }
}

fn reword_all(value: &mut Json) -> bool {
    match value {
        Json::String(_) => reword(value),
        Json::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| reword_all(item) | changed),
        Json::Object(fields) => fields
            .values_mut()
            .fold(false, |changed, item| reword_all(item) | changed),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flags_become_arguments_and_hints_become_tools() {
        for (cli, mcp) in [
            (
                "statement 1 (DELETE) needs --allow-write",
                "statement 1 (DELETE) needs allow_write",
            ),
            (
                "--allow-ddl asks for the ddl tier, but the ceiling is read (set by plenum mcp)",
                "allow_ddl asks for the ddl tier, but the ceiling is read (set by plenum mcp)",
            ),
            (
                "--offset pages through the rows of a result; --explain returns a plan, not rows",
                "offset pages through the rows of a result; explain returns a plan, not rows",
            ),
            (
                "no table or view named 'x' in the default schema; names are exact (no quotes, \
                 case-sensitive): run `plenum introspect --list-tables` to see them",
                "no table or view named 'x' in the default schema; names are exact (no quotes, \
                 case-sensitive): call the introspect tool with list_tables to see them",
            ),
            (
                "the statement has 2 placeholder(s) but 0 parameter(s) were given; pass one \
                 --param (or one `params` element) per placeholder",
                "the statement has 2 placeholder(s) but 0 parameter(s) were given; pass one \
                 `params` element per placeholder",
            ),
            (
                "no engine given: pass --engine NAME (see `plenum plugins`), --dsn URL, or \
                 --connection NAME (see `plenum connect --list`)",
                "no engine given: pass `engine` (see list_engines) or `connection` (see \
                 list_connections)",
            ),
        ] {
            assert_eq!(mcp_words(cli), mcp);
        }
    }

    #[test]
    fn only_whole_flags_are_replaced() {
        assert_eq!(mcp_words("--params-file x"), "--params-file x");
        assert_eq!(mcp_words("(--param)"), "(params)");
        assert_eq!(mcp_words("--tables --table"), "--tables table");
    }

    #[test]
    fn messages_are_reworded_but_rows_and_sql_are_not() {
        let mut failure = json!({"ok": false, "command": "query",
            "error": {"code": "CAPABILITY_VIOLATION", "message": "x needs --allow-write"}});
        assert!(reword_envelope(&mut failure));
        assert_eq!(failure["error"]["message"], "x needs allow_write");
        let mut rows = json!({"ok": true, "command": "query",
            "data": {"rows": [["--allow-write"]]}});
        assert!(!reword_envelope(&mut rows));
        assert_eq!(rows["data"]["rows"][0][0], "--allow-write");
        let mut check = json!({"ok": true, "command": "check", "data": {
            "statements": [{"sql": "SELECT '--allow-write'", "needs": "--allow-write"}],
            "problems": ["statement 1 (DELETE) needs --allow-write"]}});
        assert!(reword_envelope(&mut check));
        assert_eq!(check["data"]["statements"][0]["needs"], "allow_write");
        assert_eq!(
            check["data"]["statements"][0]["sql"],
            "SELECT '--allow-write'"
        );
        assert_eq!(
            check["data"]["problems"][0],
            "statement 1 (DELETE) needs allow_write"
        );
    }
}
