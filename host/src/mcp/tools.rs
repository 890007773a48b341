//! The tools `tools/list` shows: names, descriptions a model can act on, input and output
//! schemas, and annotations.
//!
//! The list is in the context of every session, so it is kept within [`LIST_BUDGET`] bytes:
//! descriptions say what a model needs to act and no more, and the four tools share one
//! compact output schema (what every envelope has: `ok`, `data`, `meta`, `error`). The full
//! envelope schemas, one per command, stay in `plenum schema`, and every envelope the tools
//! return is one of them (tested there).
//!
//! The list depends only on the ceiling set at start, so a 2026-07-28 client is told it may
//! reuse it for [`LIST_TTL_MS`], in any authorization context (SEP-2549 cache hints).

use std::sync::Arc;

use plenum_gate::Tier;
use rmcp::model::{CacheScope, ListToolsResult, Tool, ToolAnnotations};
use serde_json::{json, Map, Value as Json};

use plenum_core::services::options::{self, CONNECTION};

use super::arguments::{input_schema, options_schema, ListConnectionsArguments, NoArguments};

/// Tool names.
pub const QUERY: &str = "query";
/// Tool names.
pub const INTROSPECT: &str = "introspect";
/// Tool names.
pub const LIST_CONNECTIONS: &str = "list_connections";
/// Tool names.
pub const LIST_ENGINES: &str = "list_engines";

/// The most bytes the whole `tools/list` answer may take (about 1,000 tokens).
#[cfg(test)]
const LIST_BUDGET: usize = 4000;

// Which tool names the connections and engines is said by those tools ("for `connection`"),
// not here: the 2026-07-28 answer's cache hints need the room.
const CONNECTING: &str = "Connect with `connection` or `engine` plus file, or host, port, user, \
database, password_env (a server-allowed env var).";

/// How long a 2026-07-28 client may reuse `tools/list`, in milliseconds. The list never
/// changes while the server runs, but a restart with another ceiling changes it (the query
/// tool's `readOnlyHint` among others), so a cached copy is kept minutes, not days.
pub const LIST_TTL_MS: u64 = 5 * 60 * 1000;

/// The `tools/list` answer. Only 2026-07-28 defines cache hints (`ttlMs`, `cacheScope`):
/// older peers would carry them as dead bytes, so they get them only with `cache_hints`.
pub fn list(tools: &[Tool], cache_hints: bool) -> ListToolsResult {
    let list = ListToolsResult::with_all_items(tools.to_vec());
    if cache_hints {
        // Public: the list is the same for every client and token of this server.
        list.with_ttl_ms(LIST_TTL_MS)
            .with_cache_scope(CacheScope::Public)
    } else {
        list
    }
}

/// Every tool, for a server whose ceiling is `ceiling` and whose client's user may approve
/// calls up to `approve_up_to`.
pub fn all(ceiling: Tier, approve_up_to: Option<Tier>) -> Vec<Tool> {
    let output = Arc::new(output_schema());
    vec![
        query(ceiling, approve_up_to, &output),
        introspect(&output),
        list_connections(&output),
        list_engines(&output),
    ]
}

/// What the server allows, and what a human may approve beyond it: one sentence, since the
/// list is within its budget by a few dozen bytes.
fn ceiling_sentence(ceiling: Tier, approve_up_to: Option<Tier>) -> &'static str {
    match (ceiling, approve_up_to) {
        (Tier::Read, Some(Tier::Write)) => "Reads only; writes need the user's OK.",
        (Tier::Read, Some(Tier::Ddl)) => "Reads only; writes/DDL need the user's OK.",
        (Tier::Write, Some(Tier::Ddl)) => "Writes allowed; DDL needs the user's OK.",
        (Tier::Read, _) => "This server allows reads only.",
        (Tier::Write, _) => "This server allows allow_write, not allow_ddl.",
        (Tier::Ddl, _) => "This server allows allow_write and allow_ddl.",
    }
}

fn query(ceiling: Tier, approve_up_to: Option<Tier>, output: &Arc<Map<String, Json>>) -> Tool {
    let description = format!(
        "Run SQL. Reads only unless allow_write \
         (INSERT/UPDATE/DELETE) or allow_ddl (CREATE/DROP/ALTER). {} A statement needing more \
         is refused; nothing runs. {CONNECTING} Bind values with params. Rows stop at \
         max_rows/max_bytes (meta.truncated): narrow the query or page with \
         offset=meta.next_offset. check_only checks without connecting; explain gives the \
         plan. Failures carry error.code.",
        ceiling_sentence(ceiling, approve_up_to)
    );
    // A call the user approves may write: the hints follow the highest tier reachable.
    let reachable = approve_up_to.map_or(ceiling, |up_to| up_to.max(ceiling));
    // openWorld: it connects to whatever host the call names.
    let mut annotations = ToolAnnotations::with_title("Run SQL").read_only(reachable == Tier::Read);
    // Destructive and idempotent hints mean something only for a tool that may write.
    if reachable != Tier::Read {
        annotations = annotations.destructive(true).idempotent(false);
    }
    annotations.open_world_hint = Some(true);
    Tool::new(
        QUERY,
        description,
        options_schema(&[CONNECTION, options::QUERY], &["sql"]),
    )
    .with_raw_output_schema(Arc::clone(output))
    .with_annotations(annotations)
}

fn introspect(output: &Arc<Map<String, Json>>) -> Tool {
    let description = "Describe a database (read-only): list_schemas; list_tables (schema, \
        pattern) for names, kinds, row estimates; table (schema) for columns, keys, indexes; \
        none for a summary. Connect as for query."
        .to_owned();
    read_only_tool(
        INTROSPECT,
        "Describe schema",
        description,
        options_schema(&[CONNECTION, options::INTROSPECT], &[]),
        output,
        true,
    )
}

fn list_connections(output: &Arc<Map<String, Json>>) -> Tool {
    read_only_tool(
        LIST_CONNECTIONS,
        "Saved connections",
        "Saved connections (for `connection`); `test`: NAME reports its login's powers.".to_owned(),
        input_schema::<ListConnectionsArguments>(),
        output,
        // With `test` it connects to the saved connection's server.
        true,
    )
}

fn list_engines(output: &Arc<Map<String, Json>>) -> Tool {
    read_only_tool(
        LIST_ENGINES,
        "Database engines",
        "Engine plugins: engines (for `engine`), dialect, capabilities, status.".to_owned(),
        input_schema::<NoArguments>(),
        output,
        false,
    )
}

fn read_only_tool(
    name: &'static str,
    title: &str,
    description: String,
    input: Map<String, Json>,
    output: &Arc<Map<String, Json>>,
    open_world: bool,
) -> Tool {
    // Destructive and idempotent hints mean nothing for a read-only tool: left out.
    let mut annotations = ToolAnnotations::with_title(title).read_only(true);
    annotations.open_world_hint = Some(open_world);
    Tool::new(name, description, input)
        .with_raw_output_schema(Arc::clone(output))
        .with_annotations(annotations)
}

/// What every envelope has, shared by the four tools: enough for a client to check a result
/// and for a model to know where to look; the full schemas are `plenum schema`'s.
fn output_schema() -> Map<String, Json> {
    let schema = json!({
        "type": "object",
        "properties": {
            "ok": {"type": "boolean"},
            "data": {"type": "object"},
            "error": {"type": "object"}
        },
        "required": ["ok"]
    });
    match schema {
        Json::Object(object) => object,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_annotations_follow_the_ceiling() {
        let output = Arc::new(output_schema());
        let read = query(Tier::Read, None, &output)
            .annotations
            .unwrap_or_default();
        assert_eq!(read.read_only_hint, Some(true));
        assert_eq!(read.destructive_hint, None);
        assert_eq!(read.open_world_hint, Some(true));
        let ddl = query(Tier::Ddl, None, &output)
            .annotations
            .unwrap_or_default();
        assert_eq!(ddl.read_only_hint, Some(false));
        assert_eq!(ddl.destructive_hint, Some(true));
        // A read ceiling whose user may approve writes is not a read-only tool.
        let approved = query(Tier::Read, Some(Tier::Write), &output)
            .annotations
            .unwrap_or_default();
        assert_eq!(approved.read_only_hint, Some(false));
        assert_eq!(approved.destructive_hint, Some(true));
    }

    #[test]
    fn every_tool_has_description_schemas_and_annotations() {
        for tool in all(Tier::Write, None) {
            assert!(
                tool.description.as_deref().is_some_and(|d| d.len() > 60),
                "{}",
                tool.name
            );
            assert_eq!(
                tool.input_schema.get("type"),
                Some(&json!("object")),
                "{}",
                tool.name
            );
            let output = tool.output_schema.clone().unwrap_or_default();
            assert_eq!(output.get("type"), Some(&json!("object")), "{}", tool.name);
            assert!(tool.annotations.is_some(), "{}", tool.name);
        }
    }

    #[test]
    fn the_list_fits_its_budget_at_every_ceiling() {
        for (ceiling, approvals) in [
            (Tier::Read, None),
            (Tier::Write, None),
            (Tier::Ddl, None),
            (Tier::Read, Some(Tier::Write)),
            (Tier::Read, Some(Tier::Ddl)),
            (Tier::Write, Some(Tier::Ddl)),
        ] {
            // With the cache hints: the largest shape, the one 2026-07-28 clients get.
            let list = list(&all(ceiling, approvals), true);
            let bytes = serde_json::to_vec(&list)
                .map(|b| b.len())
                .unwrap_or(usize::MAX);
            // Room for the JSON-RPC wrapper around the result.
            assert!(
                bytes <= LIST_BUDGET - 50,
                "{ceiling:?} {approvals:?}: {bytes} bytes"
            );
        }
    }

    #[test]
    fn the_output_schema_accepts_every_envelope_kind_and_rejects_others() {
        let schema = Json::Object(output_schema());
        let validator = match jsonschema::validator_for(&schema) {
            Ok(validator) => validator,
            Err(error) => panic!("the output schema does not compile: {error}"),
        };
        for envelope in [
            json!({"ok": true, "engine": "sqlite", "command": "query",
                "data": {"columns": [{"name": "n", "type": "INTEGER"}], "rows": [[1]], "rows_affected": null},
                "meta": {"execution_ms": 1, "rows_returned": 1, "truncated": false}}),
            json!({"ok": false, "engine": "sqlite", "command": "query",
                "error": {"code": "CAPABILITY_VIOLATION", "message": "no"}}),
            json!({"ok": true, "engine": null, "command": "plugins", "data": {"plugins": []}}),
        ] {
            assert!(validator.is_valid(&envelope), "{envelope}");
        }
        for bogus in [
            json!({"engine": "sqlite", "command": "query"}),
            json!({"ok": "yes", "command": "query"}),
            json!({"ok": true, "command": "query", "data": [1]}),
            json!({"ok": false, "command": "query", "error": "X"}),
        ] {
            assert!(!validator.is_valid(&bogus), "{bogus}");
        }
    }
}
