//! JSON Schemas of the envelopes, generated from the same types the output is built from.

use schemars::{JsonSchema, Schema};
use serde_json::{json, Value as Json};

use super::data::{CheckReport, ExplainData, QueryData};
use super::{ErrorBody, Meta};

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
    data: CheckReport<'static>,
    meta: Meta,
}

#[derive(JsonSchema)]
#[allow(dead_code)] // exists only to describe the output
struct ExplainEnvelope {
    ok: bool,
    engine: Option<String>,
    command: String,
    data: ExplainData<'static>,
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
