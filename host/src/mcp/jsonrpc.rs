//! The JSON-RPC 2.0 envelope check `plenum mcp` applies on stdio before `rmcp` sees a
//! message: which messages are answered here, with which code and id, and which pass. Pure (a
//! JSON value in, a verdict out) so that a fuzz target can drive it (fuzz/, `mcp_message`).

use serde_json::Value as Json;

/// JSON-RPC's "Invalid Request".
pub const INVALID_REQUEST: i32 = -32600;
/// JSON-RPC's "Method not found".
pub const METHOD_NOT_FOUND: i32 = -32601;

/// Request methods this server answers. Everything else is "Method not found", the same way
/// for every method: no capability but tools is offered, so listing resources or prompts is
/// no more answerable than a made-up method.
pub const OFFERED_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
];

/// What to do with a parsed JSON value before `rmcp` sees it.
pub enum Triage {
    /// A well-formed message for an offered method (or a notification or response).
    Pass,
    /// Not answered: a notification never is, even a malformed one.
    Drop(&'static str),
    /// Answered here with this id, code and message.
    Answer(Json, i32, String),
}

/// Checks the JSON-RPC 2.0 envelope of `value`: every request gets exactly one answer, with
/// the request's id where it has a usable one and null where it has none.
pub fn triage(value: &Json, initialized: bool) -> Triage {
    let Some(object) = value.as_object() else {
        return Triage::Answer(
            Json::Null,
            INVALID_REQUEST,
            "Invalid request: expected one JSON-RPC 2.0 object (batches are not supported)"
                .to_owned(),
        );
    };
    let invalid = |id: Json, why: &str| {
        Triage::Answer(id, INVALID_REQUEST, format!("Invalid request: {why}"))
    };
    // The id to answer with: the client's when it is a number or string (even one this
    // server cannot take, so the client can match the answer), null otherwise.
    let echo = match object.get("id") {
        Some(id @ (Json::Number(_) | Json::String(_))) => id.clone(),
        _ => Json::Null,
    };
    let notification = object.contains_key("method") && !object.contains_key("id");
    if object.get("jsonrpc").and_then(Json::as_str) != Some("2.0") {
        if notification {
            return Triage::Drop("ignored a notification without \"jsonrpc\": \"2.0\"");
        }
        return invalid(echo, "\"jsonrpc\" must be \"2.0\"");
    }
    let Some(method) = object.get("method") else {
        if object.contains_key("result") || object.contains_key("error") {
            return Triage::Pass;
        }
        return invalid(echo, "a request needs a \"method\"");
    };
    let Some(method) = method.as_str() else {
        if notification {
            return Triage::Drop("ignored a notification whose method is not a string");
        }
        return invalid(echo, "\"method\" must be a string");
    };
    if notification {
        return Triage::Pass;
    }
    let usable_id = match &object["id"] {
        Json::String(_) => true,
        Json::Number(number) => number.is_i64(),
        _ => false,
    };
    if !usable_id {
        return invalid(
            echo,
            "\"id\" must be a string or an integer between -2^63 and 2^63-1 (null, \
             fractions, booleans, arrays and objects are not request ids)",
        );
    }
    if !OFFERED_METHODS.contains(&method) {
        return Triage::Answer(
            echo,
            METHOD_NOT_FOUND,
            format!(
                "Method not found: {method}. This server offers tools only; its methods are {}",
                OFFERED_METHODS.join(", ")
            ),
        );
    }
    if method == "initialize" && initialized {
        return invalid(
            echo,
            "the session is already initialized; a second initialize is refused (the \
             protocol version cannot change mid-session)",
        );
    }
    Triage::Pass
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    /// Every combination of the envelope's parts, present or absent, right or wrong: the
    /// properties the fuzz target `mcp_message` checks, on the shapes that matter.
    #[test]
    fn every_shape_of_envelope_is_answered_or_passed_as_the_spec_says() {
        let versions = [None, Some(json!("2.0")), Some(json!("1.0")), Some(json!(2))];
        let ids = [
            None,
            Some(json!(null)),
            Some(json!(1)),
            Some(json!(-7)),
            Some(json!("s")),
            Some(json!(1.5)),
            Some(json!(9_223_372_036_854_775_808u64)),
            Some(json!(true)),
            Some(json!([1])),
        ];
        let methods = [
            None,
            Some(json!("ping")),
            Some(json!("initialize")),
            Some(json!("resources/list")),
            Some(json!(3)),
        ];
        let results = [None, Some(json!({}))];
        let mut checked = 0;
        for version in &versions {
            for id in &ids {
                for method in &methods {
                    for result in &results {
                        let mut object = Map::new();
                        for (key, part) in [
                            ("jsonrpc", version),
                            ("id", id),
                            ("method", method),
                            ("result", result),
                        ] {
                            if let Some(part) = part {
                                object.insert(key.into(), part.clone());
                            }
                        }
                        let value = Json::Object(object);
                        for initialized in [false, true] {
                            check(&value, initialized);
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 4 * 9 * 5 * 2 * 2);
    }

    fn check(value: &Json, initialized: bool) {
        let has = |key: &str| value.get(key).is_some();
        let notification = has("method") && !has("id");
        match triage(value, initialized) {
            Triage::Answer(id, code, message) => {
                assert!(!notification, "answered a notification: {value}");
                assert!(code == INVALID_REQUEST || code == METHOD_NOT_FOUND);
                assert!(message.len() > 20, "{message}");
                if !id.is_null() {
                    assert_eq!(value.get("id"), Some(&id), "{value}");
                }
            }
            Triage::Drop(_) => assert!(notification, "dropped a request: {value}"),
            Triage::Pass if notification => {}
            Triage::Pass => {
                assert_eq!(value["jsonrpc"], "2.0", "{value}");
                match value.get("method") {
                    Some(method) => {
                        let method = method.as_str().unwrap_or_default();
                        assert!(OFFERED_METHODS.contains(&method), "{value}");
                        assert!(value["id"].is_string() || value["id"].is_i64(), "{value}");
                        assert!(!(initialized && method == "initialize"), "{value}");
                    }
                    None => assert!(has("result") || has("error"), "{value}"),
                }
            }
        }
    }
}
