//! The arguments of each tool: one struct per tool, its JSON Schema (what `tools/list`
//! shows), and a check of the caller's arguments against that schema that names the argument
//! at fault, so a model can correct its call.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use crate::error::Failure;

/// Where to connect: a saved connection by name, or an engine and its non-secret fields.
/// There is deliberately no password field.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ConnectionFields {
    /// Name of a saved connection (see `list_connections`). When given, no other connection
    /// argument may be: the saved connection is used exactly as its owner saved it.
    pub connection: Option<String>,
    /// Engine name as a plugin declares it (see `list_engines`), e.g. `sqlite`, `postgres`,
    /// `mysql`.
    pub engine: Option<String>,
    /// Database file, for file engines such as SQLite. Relative paths are resolved against the
    /// server's working directory. In the read tier a missing file is an error, never created.
    pub file: Option<String>,
    /// Server host.
    pub host: Option<String>,
    /// Server port.
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    /// User name.
    pub user: Option<String>,
    /// Database name.
    pub database: Option<String>,
    /// Name of an environment variable of the server process that holds the password. Only
    /// variables the server was started with (`plenum mcp --password-env VAR`) are accepted.
    pub password_env: Option<String>,
    /// TLS mode: disable, prefer, require, verify-ca or verify-full.
    pub ssl_mode: Option<String>,
    /// PEM file with CA certificates to trust.
    pub ssl_ca: Option<String>,
    /// Milliseconds connecting may take (TCP, TLS, authentication) before CONNECTION_FAILED
    /// (default: the saved connection's, else 5000; never more than `timeout_ms`). Allowed
    /// with `connection`.
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

/// Arguments of the `query` tool.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct QueryArguments {
    /// The SQL to run: one statement, or several separated by `;` (run in one transaction,
    /// the rows of the last statement that returns rows are returned).
    pub sql: String,
    /// Where to connect.
    #[serde(flatten)]
    pub connection: ConnectionFields,
    /// Ask for the write tier: INSERT, UPDATE, DELETE, MERGE, REPLACE. Refused above the
    /// server's ceiling.
    #[serde(default)]
    pub allow_write: bool,
    /// Ask for the ddl tier: CREATE, DROP, ALTER, TRUNCATE, … (implies allow_write). Refused
    /// above the server's ceiling.
    #[serde(default)]
    pub allow_ddl: bool,
    /// Rows returned at most (default 500); beyond it `meta.truncated` is true.
    #[schemars(range(min = 0))]
    pub max_rows: Option<u64>,
    /// Bytes of row JSON returned at most (default 1048576).
    #[schemars(range(min = 0))]
    pub max_bytes: Option<u64>,
    /// Milliseconds before the query is cancelled on the server (default 30000); the answer is
    /// then TIMEOUT.
    #[schemars(range(min = 1))]
    pub timeout_ms: Option<u64>,
    /// Values bound to the statement's placeholders, in order (`?` for SQLite and MySQL,
    /// `$1`, `$2`, … for PostgreSQL): numbers, strings, booleans or null. They are sent apart
    /// from the SQL text, so they need no quoting or escaping. The count must match.
    #[serde(default)]
    #[schemars(schema_with = "params_schema")]
    pub params: Vec<serde_json::Value>,
    /// Rows of the result to skip: pass the `meta.next_offset` of a truncated result to get the
    /// next page. Each page re-runs the query (use an ORDER BY that makes the order total).
    #[schemars(range(min = 0))]
    pub offset: Option<u64>,
    /// Only check the SQL: the statements, their kind, the tier each needs and whether the
    /// arguments given allow them. Connects to nothing.
    #[serde(default)]
    pub check_only: bool,
    /// Return the engine's query plan for the one statement as a tree (node, relation,
    /// estimated rows and cost, children) instead of running it.
    #[serde(default)]
    pub explain: bool,
}

/// The schema of `params`: an array of JSON scalars.
fn params_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": { "type": ["number", "string", "boolean", "null"] },
        "maxItems": crate::params::MAX_PARAMS,
    })
}

/// Arguments of the `introspect` tool.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct IntrospectArguments {
    /// Where to connect.
    #[serde(flatten)]
    pub connection: ConnectionFields,
    /// List the schemas (namespaces) of the database.
    #[serde(default)]
    pub list_schemas: bool,
    /// List tables and views (name, kind, row estimate), optionally in `schema` and matching
    /// `pattern`.
    #[serde(default)]
    pub list_tables: bool,
    /// Describe one table or view: columns, primary key, foreign keys, indexes, view
    /// definition.
    pub table: Option<String>,
    /// The schema to look in (the engine's default when absent).
    pub schema: Option<String>,
    /// With `list_tables`: only names matching this SQL LIKE pattern (`%` and `_`).
    pub pattern: Option<String>,
    /// Bytes of result JSON at most (for the whole-schema summary).
    #[schemars(range(min = 0))]
    pub max_bytes: Option<u64>,
    /// Milliseconds before the introspection is cancelled (default 30000).
    #[schemars(range(min = 1))]
    pub timeout_ms: Option<u64>,
}

/// Arguments of tools that take none.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct NoArguments {}

/// The input schema of `T` as MCP wants it: an object that allows no other property.
pub fn input_schema<T: JsonSchema>() -> Map<String, Json> {
    let mut schema = schemars::schema_for!(T).to_value();
    let Some(object) = schema.as_object_mut() else {
        return Map::new();
    };
    object.remove("title");
    object.insert("type".into(), Json::from("object"));
    object.insert("additionalProperties".into(), Json::Bool(false));
    object
        .entry("properties")
        .or_insert_with(|| Json::Object(Map::new()));
    object.clone()
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
    for (name, value) in &arguments {
        let Some(property) = properties.get(name) else {
            return Err(unknown_argument(name, properties));
        };
        check_type(name, value, property)?;
    }
    if let Some(required) = schema.get("required").and_then(Json::as_array) {
        for name in required.iter().filter_map(Json::as_str) {
            if !arguments.contains_key(name) {
                return Err(Failure::invalid_input(format!("missing argument `{name}`")));
            }
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
        if minimum.is_some_and(|minimum| number < minimum)
            || maximum.is_some_and(|maximum| number > maximum)
        {
            return Err(Failure::invalid_input(format!(
                "argument `{name}` is {value}, outside {}..={}",
                minimum.map(|m| m.to_string()).unwrap_or_default(),
                maximum.map(|m| m.to_string()).unwrap_or_default()
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
}
