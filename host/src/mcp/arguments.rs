//! The arguments of each tool: one struct per tool, its JSON Schema (what `tools/list`
//! shows), and a check of the caller's arguments against that schema that names the argument
//! at fault, so a model can correct its call.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use plenum_core::error::Failure;
use plenum_core::exec::Limits;

/// Where to connect: a saved connection by name, or an engine and its non-secret fields.
/// There is deliberately no password field. Field docs would be descriptions in `tools/list`,
/// which every session pays for in context: the tool description explains connecting once,
/// so the fields have none.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ConnectionFields {
    // A saved connection (list_connections), used exactly as saved: no other field with it.
    pub connection: Option<String>,
    // An engine a plugin declares (list_engines).
    pub engine: Option<String>,
    // Database file of a file engine; never created in the read tier.
    pub file: Option<String>,
    pub host: Option<String>,
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    pub user: Option<String>,
    pub database: Option<String>,
    // An environment variable of the server holding the password; only those the server
    // was started with (`plenum mcp --password-env VAR`).
    pub password_env: Option<String>,
    pub ssl_mode: Option<String>,
    pub ssl_ca: Option<String>,
    // Connect time limit in ms (default: the saved connection's, else 5000).
    #[schemars(range(min = 1))]
    pub connect_timeout_ms: Option<u64>,
}

impl ConnectionFields {
    /// Whether any field other than `connection` is set.
    pub fn has_direct_fields(&self) -> bool {
        self.engine.is_some()
            || self.file.is_some()
            || self.host.is_some()
            || self.port.is_some()
            || self.user.is_some()
            || self.database.is_some()
            || self.password_env.is_some()
            || self.ssl_mode.is_some()
            || self.ssl_ca.is_some()
    }
}

/// Arguments of the `query` tool. Only what the tool description does not already say is a
/// `///` doc (a description in `tools/list`); the rest are `//` notes.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct QueryArguments {
    /// One statement, or several split by `;` (one transaction).
    pub sql: String,
    /// Where to connect.
    #[serde(flatten)]
    pub connection: ConnectionFields,
    // Ask for the write tier (INSERT, UPDATE, DELETE, MERGE).
    #[serde(default)]
    pub allow_write: bool,
    // Ask for the ddl tier (CREATE, DROP, ALTER; implies allow_write).
    #[serde(default)]
    pub allow_ddl: bool,
    #[schemars(range(min = 0), extend("default" = Limits::DEFAULT_MAX_ROWS))]
    pub max_rows: Option<u64>,
    #[schemars(range(min = 0), extend("default" = Limits::DEFAULT_MAX_BYTES))]
    pub max_bytes: Option<u64>,
    #[schemars(range(min = 1), extend("default" = Limits::DEFAULT_TIMEOUT_MS))]
    pub timeout_ms: Option<u64>,
    /// Values for the placeholders (? or $1), in order.
    #[serde(default)]
    #[schemars(schema_with = "params_schema")]
    pub params: Vec<serde_json::Value>,
    // Rows to skip: meta.next_offset of a truncated result.
    #[schemars(range(min = 0), extend("default" = 0))]
    pub offset: Option<u64>,
    // Only check the SQL (kinds, tiers, causes); connects to nothing.
    #[serde(default)]
    pub check_only: bool,
    // Return the plan tree instead of running the statement.
    #[serde(default)]
    pub explain: bool,
}

/// The schema of `params`: an array of JSON scalars.
fn params_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": { "type": ["number", "string", "boolean", "null"] },
    })
}

/// Arguments of the `introspect` tool.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct IntrospectArguments {
    /// Where to connect.
    #[serde(flatten)]
    pub connection: ConnectionFields,
    // List the schemas.
    #[serde(default)]
    pub list_schemas: bool,
    // List tables and views (name, kind, row estimate).
    #[serde(default)]
    pub list_tables: bool,
    // Describe this table or view: columns, keys, indexes.
    pub table: Option<String>,
    // Schema to look in (default: the engine's).
    pub schema: Option<String>,
    // With list_tables: a LIKE pattern.
    pub pattern: Option<String>,
    #[schemars(range(min = 0), extend("default" = Limits::DEFAULT_MAX_BYTES))]
    pub max_bytes: Option<u64>,
    #[schemars(range(min = 1), extend("default" = Limits::DEFAULT_TIMEOUT_MS))]
    pub timeout_ms: Option<u64>,
}

/// Arguments of tools that take none.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct NoArguments {}

/// Arguments of `list_connections`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ListConnectionsArguments {
    // A saved connection to open read-only: its server, and its login's powers beyond the
    // tiers. Described in the tool's description only: tools/list has a byte budget.
    #[serde(default)]
    pub test: Option<String>,
}

/// The input schema of `T` as MCP wants it: an object that allows no other property, in the
/// plainest JSON Schema every client handles. An optional integer is `"type": "integer"`
/// with its minimum or default, not a union with null (the MCP Inspector converts only plain
/// types and sends strings otherwise), and no non-standard `format` (`uint64`, `uint16`:
/// TypeScript clients warn on each one).
pub fn input_schema<T: JsonSchema>() -> Map<String, Json> {
    let mut schema = schemars::schema_for!(T).to_value();
    let Some(object) = schema.as_object_mut() else {
        return Map::new();
    };
    object.remove("title");
    object.remove("$schema");
    object.remove("description");
    object.insert("type".into(), Json::from("object"));
    let properties = object
        .entry("properties")
        .or_insert_with(|| Json::Object(Map::new()));
    let takes_arguments = match properties.as_object_mut() {
        Some(properties) => {
            properties.values_mut().for_each(plain_property);
            !properties.is_empty()
        }
        None => false,
    };
    // An empty `properties` already says "no arguments"; any sent are refused either way.
    if takes_arguments {
        object.insert("additionalProperties".into(), Json::Bool(false));
    }
    object.clone()
}

/// Rewrites one property schema into plain JSON Schema (see [`input_schema`]).
fn plain_property(property: &mut Json) {
    let Some(object) = property.as_object_mut() else {
        return;
    };
    object.remove("format");
    // `false`, `[]` and null go without saying; numeric defaults say what an absent limit is.
    if matches!(object.get("default"), Some(Json::Bool(false) | Json::Null))
        || object
            .get("default")
            .and_then(Json::as_array)
            .is_some_and(Vec::is_empty)
    {
        object.remove("default");
    }
    if object
        .get("description")
        .and_then(Json::as_str)
        .is_some_and(str::is_empty)
    {
        object.remove("description");
    }
    if let Some(Json::Array(types)) = object.get("type") {
        let kept: Vec<Json> = types
            .iter()
            .filter(|kind| kind.as_str() != Some("null"))
            .cloned()
            .collect();
        let plain = match <[Json; 1]>::try_from(kept) {
            Ok([single]) => single,
            Err(several) => Json::Array(several),
        };
        object.insert("type".into(), plain);
    }
}

/// Checks `arguments` against `schema` (the one [`input_schema`] made) and deserializes them.
/// Every message names the argument at fault and what it should be.
pub fn parse<T: DeserializeOwned>(
    schema: &Map<String, Json>,
    arguments: Option<Map<String, Json>>,
) -> Result<T, Failure> {
    let arguments = arguments.unwrap_or_default();
    let empty = Map::new();
    let properties = schema
        .get("properties")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Json::as_array)
        .map(|names| names.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    // Clients that fill every field of a form send null for the ones left empty: an optional
    // argument given as null is an argument not given.
    let mut arguments = arguments;
    arguments.retain(|name, value| !value.is_null() || required.contains(&name.as_str()));
    for (name, value) in &arguments {
        let Some(property) = properties.get(name) else {
            return Err(unknown_argument(name, properties));
        };
        check_type(name, value, property)?;
    }
    for name in required {
        if !arguments.contains_key(name) {
            return Err(Failure::invalid_input(format!("missing argument `{name}`")));
        }
    }
    serde_json::from_value(Json::Object(arguments))
        .map_err(|error| Failure::invalid_input(format!("invalid arguments: {error}")))
}

fn unknown_argument(name: &str, properties: &Map<String, Json>) -> Failure {
    let known = properties
        .keys()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let lower = name.to_ascii_lowercase();
    if ["password", "pass", "passwd", "pwd", "dsn", "url", "secret"].contains(&lower.as_str()) {
        return Failure::invalid_input(format!(
            "argument `{name}` is not accepted: secrets never pass through tool arguments. Use a \
             saved connection (`connection`) or `password_env` naming an environment variable \
             the server was started with"
        ));
    }
    if known.is_empty() {
        return Failure::invalid_input(format!(
            "unknown argument `{name}`: this tool takes no arguments"
        ));
    }
    Failure::invalid_input(format!(
        "unknown argument `{name}`; accepted arguments: {known}"
    ))
}

/// Checks one argument's JSON type (and integer range) against its property schema.
fn check_type(name: &str, value: &Json, property: &Json) -> Result<(), Failure> {
    let Some(object) = property.as_object() else {
        return Ok(());
    };
    let types: Vec<&str> = match object.get("type") {
        Some(Json::String(single)) => vec![single.as_str()],
        Some(Json::Array(many)) => many.iter().filter_map(Json::as_str).collect(),
        _ => return Ok(()),
    };
    let matches = |wanted: &str| match wanted {
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "null" => value.is_null(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => true,
    };
    if !types.iter().any(|wanted| matches(wanted)) {
        let wanted = types
            .iter()
            .filter(|wanted| **wanted != "null")
            .copied()
            .collect::<Vec<_>>()
            .join(" or ");
        return Err(Failure::invalid_input(format!(
            "argument `{name}` must be {} {wanted}, not {}",
            article(&wanted),
            describe(value)
        )));
    }
    if let Some(number) = value
        .as_i64()
        .map(|n| n as f64)
        .or_else(|| value.as_u64().map(|n| n as f64))
    {
        let minimum = object.get("minimum").and_then(Json::as_f64);
        let maximum = object.get("maximum").and_then(Json::as_f64);
        let range = match (minimum, maximum) {
            (Some(low), Some(high)) if number < low || number > high => {
                Some(format!("between {low} and {high}"))
            }
            (Some(low), _) if number < low => Some(format!("at least {low}")),
            (_, Some(high)) if number > high => Some(format!("at most {high}")),
            _ => None,
        };
        if let Some(range) = range {
            return Err(Failure::invalid_input(format!(
                "argument `{name}` is {value}; it must be {range}"
            )));
        }
    }
    Ok(())
}

fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn describe(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(number) if number.is_f64() => "a fractional number",
        Json::Number(number) if number.is_i64() && number.as_i64().is_some_and(|n| n < 0) => {
            "a negative number"
        }
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn arguments(value: Json) -> Option<Map<String, Json>> {
        value.as_object().cloned()
    }

    fn query(value: Json) -> Result<QueryArguments, Failure> {
        parse(&input_schema::<QueryArguments>(), arguments(value))
    }

    #[test]
    fn schema_is_a_closed_object_with_flattened_connection_fields() {
        let schema = input_schema::<QueryArguments>();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        let properties = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for name in [
            "sql",
            "connection",
            "engine",
            "file",
            "password_env",
            "allow_write",
            "max_rows",
        ] {
            assert!(properties.contains_key(name), "{name} missing: {schema:?}");
        }
        assert!(!properties.contains_key("password"));
        assert_eq!(schema["required"], json!(["sql"]));
    }

    #[test]
    fn good_arguments_parse() {
        let parsed = query(
            json!({"sql": "SELECT 1", "engine": "sqlite", "file": "/x.db",
                                  "allow_write": true, "max_rows": 3, "port": 5432}),
        );
        let parsed = parsed.map_err(|f| f.message);
        assert!(
            matches!(&parsed, Ok(q) if q.sql == "SELECT 1" && q.allow_write && q.max_rows == Some(3)
            && q.connection.port == Some(5432)),
            "{parsed:?}"
        );
    }

    #[test]
    fn wrong_type_names_the_argument() {
        let message = query(json!({"sql": 5}))
            .err()
            .map(|f| f.message)
            .unwrap_or_default();
        assert_eq!(message, "argument `sql` must be a string, not a number");
        let message = query(json!({"sql": "x", "max_rows": -1}))
            .err()
            .map(|f| f.message)
            .unwrap_or_default();
        assert!(message.contains("`max_rows`"), "{message}");
        let message = query(json!({"sql": "x", "port": 70000}))
            .err()
            .map(|f| f.message)
            .unwrap_or_default();
        assert!(message.contains("`port`"), "{message}");
        let message = query(json!({"sql": "x", "allow_write": "yes"}))
            .err()
            .map(|f| f.message)
            .unwrap_or_default();
        assert!(
            message.contains("`allow_write` must be a boolean"),
            "{message}"
        );
    }

    #[test]
    fn missing_and_unknown_arguments_are_named() {
        let message = query(json!({}))
            .err()
            .map(|f| f.message)
            .unwrap_or_default();
        assert_eq!(message, "missing argument `sql`");
        let message = query(json!({"sql": "x", "colour": 1}))
            .err()
            .map(|f| f.message)
            .unwrap_or_default();
        assert!(
            message.starts_with("unknown argument `colour`; accepted arguments:"),
            "{message}"
        );
    }

    #[test]
    fn a_password_argument_is_refused_with_the_way_to_do_it() {
        let failure = query(json!({"sql": "x", "password": "hunter2"})).err();
        let message = failure.map(|f| f.message).unwrap_or_default();
        assert!(message.contains("password_env"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn optional_integers_are_plain_integers_with_standard_keywords_only() {
        for schema in [
            input_schema::<QueryArguments>(),
            input_schema::<IntrospectArguments>(),
        ] {
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                assert!(property["type"].is_string(), "{name}: {property}");
                assert!(property.get("format").is_none(), "{name}: {property}");
                if property["type"] == "integer" {
                    assert!(
                        property.get("minimum").is_some() || property.get("default").is_some(),
                        "{name}: {property}"
                    );
                }
            }
        }
        let schema = input_schema::<QueryArguments>();
        assert_eq!(schema["properties"]["max_rows"]["default"], 500);
        assert_eq!(schema["properties"]["timeout_ms"]["default"], 30000);
        assert_eq!(schema["properties"]["port"]["maximum"], 65535);
    }

    #[test]
    fn null_for_an_optional_argument_is_no_argument() {
        let parsed = query(json!({"sql": "x", "max_rows": null, "allow_write": null,
                                  "params": null, "engine": null}))
        .map_err(|f| f.message);
        assert!(
            matches!(&parsed, Ok(q) if q.max_rows.is_none() && !q.allow_write && q.params.is_empty()),
            "{parsed:?}"
        );
        let message = query(json!({"sql": null}))
            .err()
            .map(|f| f.message)
            .unwrap_or_default();
        assert!(message.contains("`sql` must be a string"), "{message}");
    }

    #[test]
    fn ranges_and_empty_argument_lists_are_worded_in_full() {
        let message = |value: Json| query(value).err().map(|f| f.message).unwrap_or_default();
        assert_eq!(
            message(json!({"sql": "x", "max_rows": -1})),
            "argument `max_rows` is -1; it must be at least 0"
        );
        assert_eq!(
            message(json!({"sql": "x", "port": 70000})),
            "argument `port` is 70000; it must be between 1 and 65535"
        );
        let none = parse::<NoArguments>(
            &input_schema::<NoArguments>(),
            arguments(json!({"verbose": true})),
        )
        .err()
        .map(|f| f.message)
        .unwrap_or_default();
        assert_eq!(
            none,
            "unknown argument `verbose`: this tool takes no arguments"
        );
    }
}
