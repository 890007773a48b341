//! JSON Schemas of the envelopes, generated from the same types the output is built from.

use schemars::{JsonSchema, Schema};
use serde::Serialize;
use serde_json::{json, Value as Json};

use super::{ErrorBody, Meta};

/// A result column as printed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ColumnOut {
    /// Column name.
    pub name: String,
    /// The engine's type name; empty when the engine does not know it.
    #[serde(rename = "type")]
    pub type_name: String,
}

/// `data` of a `query` envelope (the rows are written separately, as raw JSON).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct QueryData {
    /// Columns of the last statement that returned rows.
    pub columns: Vec<ColumnOut>,
    /// Rows, positional, in column order. Integers beyond 2^53 and decimals are strings,
    /// bytes are base64, JSON columns are JSON, NULL is null.
    pub rows: Vec<Vec<Json>>,
    /// Rows changed by write statements (summed, saturating), or null when nothing was
    /// written; beyond 2^53 a string, like integers in rows.
    pub rows_affected: Option<super::rows::Count>,
}

#[derive(JsonSchema)]
#[allow(dead_code)] // exists only to describe the output
struct QueryEnvelope {
    ok: bool,
    engine: Option<String>,
    command: String,
    data: QueryData,
    meta: Meta,
}

#[derive(JsonSchema)]
#[allow(dead_code)] // exists only to describe the output
struct CheckEnvelope {
    ok: bool,
    engine: Option<String>,
    command: String,
    data: crate::check::CheckReport<'static>,
    meta: Meta,
}

#[derive(JsonSchema)]
#[allow(dead_code)] // exists only to describe the output
struct ExplainEnvelope {
    ok: bool,
    engine: Option<String>,
    command: String,
    data: crate::explain::ExplainData<'static>,
    meta: Meta,
}

#[derive(JsonSchema)]
#[allow(dead_code)] // exists only to describe the output
struct ErrorEnvelope {
    ok: bool,
    engine: Option<String>,
    command: String,
    error: ErrorBody,
    /// Rows already streamed before a large result failed part-way.
    data: Option<Json>,
}

#[derive(JsonSchema)]
#[allow(dead_code)] // exists only to describe the output
struct GenericEnvelope {
    ok: bool,
    engine: Option<String>,
    command: String,
    data: Json,
    /// Present for commands that read from a database (e.g. `introspect`).
    meta: Option<Meta>,
}

fn with_ok(schema: Schema, ok: bool, title: &str) -> Json {
    let mut value = schema.to_value();
    if let Some(object) = value.as_object_mut() {
        object.insert("title".into(), json!(title));
        object.insert("additionalProperties".into(), json!(false));
        if let Some(properties) = object.get_mut("properties").and_then(Json::as_object_mut) {
            properties.insert("ok".into(), json!({ "const": ok }));
        }
    }
    value
}

/// The schema of a successful `query` envelope.
pub fn query_envelope() -> Json {
    with_ok(
        schemars::schema_for!(QueryEnvelope),
        true,
        "plenum query result",
    )
}

/// The schema of a successful `query --check-only` envelope (`command` is `check`).
pub fn check_envelope() -> Json {
    with_ok(
        schemars::schema_for!(CheckEnvelope),
        true,
        "plenum check result",
    )
}

/// The schema of a successful `query --explain` envelope (`command` is `explain`).
pub fn explain_envelope() -> Json {
    with_ok(
        schemars::schema_for!(ExplainEnvelope),
        true,
        "plenum explain result",
    )
}

/// The schema of every failed envelope.
pub fn error_envelope() -> Json {
    with_ok(schemars::schema_for!(ErrorEnvelope), false, "plenum error")
}

/// The schema of a successful envelope of any other command.
pub fn generic_envelope() -> Json {
    with_ok(
        schemars::schema_for!(GenericEnvelope),
        true,
        "plenum result",
    )
}

/// All schemas by name, as `plenum schema` prints them.
pub fn all() -> Json {
    json!({
        "query": query_envelope(),
        "check": check_envelope(),
        "explain": explain_envelope(),
        "error": error_envelope(),
        "result": generic_envelope(),
    })
}
