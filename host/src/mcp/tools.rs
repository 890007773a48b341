//! The tools `tools/list` shows: names, descriptions a model can act on, input and output
//! schemas, and annotations. The output schemas are the CLI's envelope schemas, so a tool
//! result and a CLI run are checked against the same contract.

use std::sync::Arc;

use plenum_gate::Tier;
use rmcp::model::{Tool, ToolAnnotations};
use serde_json::{json, Map, Value as Json};

use super::arguments::{input_schema, IntrospectArguments, NoArguments, QueryArguments};
use crate::output::schema;

/// Tool names.
pub const QUERY: &str = "query";
/// Tool names.
pub const INTROSPECT: &str = "introspect";
/// Tool names.
pub const LIST_CONNECTIONS: &str = "list_connections";
/// Tool names.
pub const LIST_ENGINES: &str = "list_engines";

const ERROR_CODES: &str = "CAPABILITY_VIOLATION (the SQL needs a tier this call or server does \
not allow), PARSE_ERROR, CONNECTION_FAILED, QUERY_FAILED, TIMEOUT, INVALID_INPUT (fix the \
arguments), CONFIG_ERROR, PLUGIN_ERROR, INTERNAL_ERROR";

const CONNECTING: &str = "Connect with `connection` (a saved connection from list_connections) \
or with `engine` (from list_engines) plus its fields: `file` for file engines such as SQLite; \
`host`, `port`, `user`, `database` and `password_env` for servers. Passwords are never tool \
arguments.";

/// Every tool, for a server whose ceiling is `ceiling`.
pub fn all(ceiling: Tier) -> Vec<Tool> {
    vec![
        query(ceiling),
        introspect(),
        list_connections(),
        list_engines(),
    ]
}

fn ceiling_sentence(ceiling: Tier) -> &'static str {
    match ceiling {
        Tier::Read => "This server's ceiling is read: only reads run here, and allow_write / allow_ddl are refused (a human can restart the server with --allow-write or --allow-ddl).",
        Tier::Write => "This server's ceiling is write: allow_write is available, allow_ddl is refused.",
        Tier::Ddl => "This server's ceiling is ddl: allow_write and allow_ddl are both available.",
    }
}

fn query(ceiling: Tier) -> Tool {
    let description = format!(
        "Run SQL against a database and get the result as JSON. Read-only by default: set \
         allow_write for INSERT/UPDATE/DELETE/MERGE, allow_ddl for CREATE/DROP/ALTER (implies \
         write). {} A saved connection may set a lower ceiling. Every statement is parsed and \
         checked before it runs; one needing a higher tier than granted is refused and nothing \
         runs. {CONNECTING} Result (structuredContent): {{ok, engine, command, data: {{columns: \
         [{{name, type}}], rows: [[values in column order]], rows_affected}}, meta: \
         {{execution_ms, rows_returned, truncated, truncated_by, statements, access}}}}. Rows \
         stop at max_rows (default 500) and max_bytes (default 1 MiB) with meta.truncated = \
         true: narrow the query (WHERE, LIMIT, fewer columns) rather than raising the limits, \
         or page with offset = meta.next_offset. Pass values as params (placeholders ? or $1) \
         instead of quoting them into the SQL. check_only reports each statement's kind, tier \
         and cause (what inside it needs that tier, e.g. a DELETE in a CTE) without \
         connecting (command: check); explain returns the plan tree (command: \
         explain). On failure isError is true and error.code is one of: {ERROR_CODES}.",
        ceiling_sentence(ceiling)
    );
    let annotations = ToolAnnotations::with_title("Run SQL")
        .read_only(ceiling == Tier::Read)
        .destructive(ceiling != Tier::Read)
        .idempotent(ceiling == Tier::Read)
        .open_world(false);
    Tool::new(QUERY, description, input_schema::<QueryArguments>())
        .with_title("Run SQL")
        .with_raw_output_schema(Arc::new(output_schema(query_results())))
        .with_annotations(annotations)
}

/// What the `query` tool answers: rows, a check (`check_only`) or a plan (`explain`).
fn query_results() -> Vec<Json> {
    vec![
        schema::query_envelope(),
        schema::check_envelope(),
        schema::explain_envelope(),
    ]
}

fn introspect() -> Tool {
    let description = format!(
        "Describe a database without writing catalog SQL; always read-only. Options: \
         list_schemas; list_tables (with optional schema and LIKE pattern) for names, kinds and \
         row estimates; table (with optional schema) for columns (name, type, nullable, \
         default, comment), primary key, foreign keys, indexes and a view's definition; none of \
         these for a summary of the whole schema, capped by max_bytes. Start with list_tables \
         on an unknown database. {CONNECTING} The result is the envelope of `plenum \
         introspect` in structuredContent; on failure isError is true and error.code is one \
         of: {ERROR_CODES}."
    );
    read_only_tool(
        INTROSPECT,
        "Describe the schema",
        description,
        input_schema::<IntrospectArguments>(),
    )
}

fn list_connections() -> Tool {
    read_only_tool(
        LIST_CONNECTIONS,
        "List saved connections",
        "List the saved connections this server can use by name (the `connection` argument of \
         query and introspect): engine, non-secret fields, ceiling. Passwords are shown only as \
         where they come from, never their value."
            .to_owned(),
        input_schema::<NoArguments>(),
    )
}

fn list_engines() -> Tool {
    read_only_tool(
        LIST_ENGINES,
        "List database engines",
        "List the engine plugins this server found: engines each serves (the `engine` \
         argument), SQL dialect, capabilities, and status (`ok`, or `error` with why it cannot \
         be used), plus the directories searched."
            .to_owned(),
        input_schema::<NoArguments>(),
    )
}

fn read_only_tool(
    name: &'static str,
    title: &str,
    description: String,
    input: Map<String, Json>,
) -> Tool {
    Tool::new(name, description, input)
        .with_title(title)
        .with_raw_output_schema(Arc::new(output_schema(vec![schema::generic_envelope()])))
        .with_annotations(
            ToolAnnotations::with_title(title)
                .read_only(true)
                .destructive(false)
                .idempotent(true)
                .open_world(false),
        )
}

/// One of `successes` or the error envelope, as one self-contained schema: every schema's
/// definitions are moved to the root so their `$ref`s resolve there.
fn output_schema(successes: Vec<Json>) -> Map<String, Json> {
    let mut definitions = Map::new();
    let mut branches = Vec::new();
    for mut branch in successes
        .into_iter()
        .chain(std::iter::once(schema::error_envelope()))
    {
        if let Some(object) = branch.as_object_mut() {
            object.remove("$schema");
            for key in ["$defs", "definitions"] {
                if let Some(Json::Object(defs)) = object.remove(key) {
                    definitions.extend(defs);
                }
            }
        }
        branches.push(branch);
    }
    let mut root = Map::new();
    root.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    root.insert("type".into(), json!("object"));
    root.insert("oneOf".into(), Json::Array(branches));
    if !definitions.is_empty() {
        root.insert("$defs".into(), Json::Object(definitions));
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_annotations_follow_the_ceiling() {
        let read = query(Tier::Read).annotations.unwrap_or_default();
        assert_eq!(read.read_only_hint, Some(true));
        assert_eq!(read.destructive_hint, Some(false));
        let ddl = query(Tier::Ddl).annotations.unwrap_or_default();
        assert_eq!(ddl.read_only_hint, Some(false));
        assert_eq!(ddl.destructive_hint, Some(true));
    }

    #[test]
    fn every_tool_has_description_schemas_and_annotations() {
        for tool in all(Tier::Write) {
            assert!(
                tool.description.as_deref().is_some_and(|d| d.len() > 80),
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
    fn output_schemas_accept_real_envelopes_and_reject_others() {
        let query_schema = Json::Object(output_schema(query_results()));
        let validator = jsonschema::validator_for(&query_schema).map_err(|e| e.to_string());
        let validator = match validator {
            Ok(validator) => validator,
            Err(error) => panic!("query output schema does not compile: {error}"),
        };
        let success = json!({"ok": true, "engine": "sqlite", "command": "query",
            "data": {"columns": [{"name": "n", "type": "INTEGER"}], "rows": [[1]], "rows_affected": null},
            "meta": {"execution_ms": 1, "rows_returned": 1, "truncated": false, "statements": 1, "access": "read"}});
        assert!(validator.is_valid(&success));
        let failure = json!({"ok": false, "engine": "sqlite", "command": "query",
            "error": {"code": "CAPABILITY_VIOLATION", "message": "no"}});
        assert!(validator.is_valid(&failure));
        let bogus = json!({"ok": true, "engine": "sqlite", "command": "query", "error": {"code": "X", "message": ""}});
        assert!(!validator.is_valid(&bogus));

        let generic = Json::Object(output_schema(vec![schema::generic_envelope()]));
        let validator = match jsonschema::validator_for(&generic) {
            Ok(validator) => validator,
            Err(error) => panic!("generic output schema does not compile: {error}"),
        };
        assert!(
            validator.is_valid(&json!({"ok": true, "engine": null, "command": "plugins",
            "data": {"plugins": []}}))
        );
        assert!(!validator.is_valid(&json!({"ok": true, "engine": null, "command": "plugins"})));
    }
}
