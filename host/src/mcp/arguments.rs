//! The arguments of each tool: one struct per tool, its JSON Schema (what `tools/list`
//! shows), and a check of the caller's arguments against that schema that names the argument
//! at fault, so a model can correct its call.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use plenum_core::services::error::Failure;
use plenum_core::services::options::{Given, Kind, Mcp, Opt, Values, CONNECTION};
use serde_json::json;

/// The input schema of a tool whose arguments are the options of `lists` that MCP offers
/// ([`plenum_core::services::options`]), in the plain JSON Schema [`input_schema`] describes; `required`
/// names the ones a call must give.
pub fn options_schema(lists: &[&[Opt]], required: &[&str]) -> Map<String, Json> {
    let mut properties = Map::new();
    for opt in lists.iter().flat_map(|list| list.iter()) {
        let description = match opt.mcp {
            Mcp::Absent => continue,
            Mcp::Bare => None,
            Mcp::Described(text) => Some(text),
        };
        let mut property = match opt.kind {
            Kind::Flag => json!({"type": "boolean"}),
            Kind::Text | Kind::Path | Kind::Choice(_) | Kind::OptionalSecret => {
                json!({"type": "string"})
            }
            Kind::Port => json!({"type": "integer", "minimum": 1, "maximum": 65535}),
            Kind::Count => json!({"type": "integer"}),
            Kind::Params => json!({
                "type": "array",
                "items": { "type": ["number", "string", "boolean", "null"] },
            }),
        };
        if let Some(object) = property.as_object_mut() {
            if let Some(min) = opt.min {
                object.insert("minimum".into(), Json::from(min));
            }
            if let Some(default) = opt.default {
                object.insert("default".into(), Json::from(default));
            }
            if let Some(description) = description {
                object.insert("description".into(), Json::from(description));
            }
        }
        properties.insert(opt.name.to_owned(), property);
    }
    let mut schema = Map::new();
    schema.insert("type".into(), Json::from("object"));
    schema.insert("additionalProperties".into(), Json::Bool(false));
    schema.insert("properties".into(), Json::Object(properties));
    if !required.is_empty() {
        schema.insert("required".into(), json!(required));
    }
    schema
}

/// Checks `arguments` against `schema` (one [`options_schema`] made of `lists`) and hands
/// them to the core as option values.
pub fn parse_options(
    schema: &Map<String, Json>,
    arguments: Option<Map<String, Json>>,
    lists: &[&[Opt]],
) -> Result<Values, Failure> {
    let arguments: Map<String, Json> = parse(schema, arguments)?;
    let mut values = Values::new();
    for opt in lists.iter().flat_map(|list| list.iter()) {
        let Some(value) = arguments.get(opt.name) else {
            continue;
        };
        // The types were checked against the schema above; anything else is not given.
        let given = match (opt.kind, value) {
            (Kind::Flag, Json::Bool(set)) => Given::Flag(*set),
            (Kind::Port | Kind::Count, value) => match value.as_u64() {
                Some(count) => Given::Count(count),
                None => continue,
            },
            (Kind::Params, Json::Array(items)) => Given::ParamValues(items.clone()),
            (_, Json::String(text)) => Given::Text(text.clone()),
            _ => continue,
        };
        values.set(opt.name, given);
    }
    Ok(values)
}

/// Whether `values` hold a connection field other than `connection` itself and the connect
/// timeout (which a saved connection may be used with).
pub fn has_direct_fields(values: &Values) -> bool {
    CONNECTION
        .iter()
        .filter(|opt| opt.in_mcp() && !matches!(opt.name, "connection" | "connect_timeout_ms"))
        .any(|opt| values.get(opt.name).is_some())
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

    const QUERY_LISTS: &[&[Opt]] = &[CONNECTION, plenum_core::services::options::QUERY];

    fn query_schema() -> Map<String, Json> {
        options_schema(QUERY_LISTS, &["sql"])
    }

    fn query(value: Json) -> Result<Values, Failure> {
        parse_options(&query_schema(), arguments(value), QUERY_LISTS)
    }

    #[test]
    fn schema_is_a_closed_object_with_flattened_connection_fields() {
        let schema = query_schema();
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
            matches!(&parsed, Ok(q) if q.text("sql").as_deref() == Some("SELECT 1")
            && q.flag("allow_write") && q.count("max_rows") == Some(3)
            && q.port("port") == Some(5432)),
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
            query_schema(),
            options_schema(
                &[CONNECTION, plenum_core::services::options::INTROSPECT],
                &[],
            ),
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
        let schema = query_schema();
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
            matches!(&parsed, Ok(q) if q.count("max_rows").is_none() && !q.flag("allow_write")
                && q.get("params").is_none()),
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
