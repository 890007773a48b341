//! Bound parameters: JSON values from `--param`, `--param-file` or the MCP `params` argument,
//! turned into the plugin API's [`Value`]s. They travel to the engine beside the SQL text and
//! are never spliced into it.

use std::path::Path;

use plenum_plugin_api::Value;
use serde_json::Value as Json;

use crate::services::error::Failure;
use crate::services::words::{hint, option};

/// The most parameters one call may bind (PostgreSQL's wire protocol allows 65,535).
pub const MAX_PARAMS: usize = 65_535;

/// What a parameter may be, for messages.
const ALLOWED: &str = "a parameter is a JSON number, string, boolean or null";

/// Converts one JSON value; `position` is 1-based, for messages.
pub fn from_json(value: &Json, position: usize) -> Result<Value, Failure> {
    Ok(match value {
        Json::Null => Value::Null,
        Json::Bool(flag) => Value::Bool(*flag),
        Json::Number(number) => {
            if let Some(integer) = number.as_i64() {
                Value::Int(integer)
            } else if let Some(integer) = number.as_u64() {
                Value::UInt(integer)
            } else if let Some(float) = number.as_f64() {
                Value::Float(float)
            } else {
                Value::Decimal(number.to_string().into())
            }
        }
        Json::String(text) => Value::Text(text.as_str().into()),
        Json::Array(_) | Json::Object(_) => {
            return Err(Failure::invalid_input(format!(
                "parameter {position} is a JSON {}; {ALLOWED} (pass JSON documents as a string)",
                if value.is_array() { "array" } else { "object" }
            )))
        }
    })
}

/// Parses one `--param` argument, which must be a JSON value: `42`, `-1.5`, `"text"`, `true`,
/// `null`. Integers beyond 64 bits keep every digit (bound as a decimal, not rounded to a
/// float). The text is never echoed: it may be a secret.
pub fn parse_cli(text: &str, position: usize) -> Result<Value, Failure> {
    let value: Json = serde_json::from_str(text).map_err(|_| {
        Failure::invalid_input(format!(
            "parameter {position} is not a JSON value; {ALLOWED}: strings need JSON quotes, \
             e.g. {param} '\"ann\"' (numbers: {param} 42)",
            param = option("params")
        ))
    })?;
    if matches!(&value, Json::Number(number) if number.as_i64().is_none() && number.as_u64().is_none())
        && is_integer_literal(text.trim())
    {
        return Ok(Value::Decimal(text.trim().into()));
    }
    from_json(&value, position)
}

/// Converts every element of a JSON array.
pub fn from_json_array(values: &[Json]) -> Result<Vec<Value>, Failure> {
    if values.len() > MAX_PARAMS {
        return Err(Failure::invalid_input(format!(
            "{} parameters given; at most {MAX_PARAMS} are accepted",
            values.len()
        )));
    }
    values
        .iter()
        .enumerate()
        .map(|(index, value)| from_json(value, index + 1))
        .collect()
}

/// Reads `--param-file`: a JSON array of parameters (`-` reads standard input).
pub fn read_file(path: &Path) -> Result<Vec<Value>, Failure> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|error| Failure::invalid_input(format!("cannot read {}: {error}", path.display())))?;
    let value: Json = serde_json::from_str(&text).map_err(|error| {
        Failure::invalid_input(format!(
            "{} is not JSON (line {}, column {}): it must hold one array of parameters",
            path.display(),
            error.line(),
            error.column()
        ))
    })?;
    let Json::Array(values) = value else {
        return Err(Failure::invalid_input(format!(
            "{} must hold a JSON array of parameters, e.g. [42, \"ann\", null]",
            path.display()
        )));
    };
    from_json_array(&values)
}

/// Whether the call's parameters fit its statements: a lone statement takes exactly as many
/// values as it has placeholders; several statements take none.
pub fn check_count(statements: &[plenum_gate::Statement], given: usize) -> Result<(), Failure> {
    let per_placeholder = format!("; {}", hint("param_per_placeholder"));
    match statements {
        [statement] if statement.parameters != given => Err(Failure::invalid_input(format!(
            "the statement has {} placeholder(s) but {given} parameter(s) were given{}",
            statement.parameters,
            if given > statement.parameters {
                ""
            } else {
                &per_placeholder
            }
        ))),
        [_] => Ok(()),
        _ if given > 0 => Err(Failure::invalid_input(
            "parameters can be bound only when the SQL is one statement",
        )),
        _ => match statements
            .iter()
            .position(|statement| statement.parameters > 0)
        {
            Some(index) => Err(Failure::invalid_input(format!(
                "statement {} has placeholders, but parameters can be bound only when the SQL is \
                 one statement",
                index + 1
            ))),
            None => Ok(()),
        },
    }
}

fn is_integer_literal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_json_scalar_becomes_its_value() {
        assert_eq!(parse_cli("42", 1).ok(), Some(Value::Int(42)));
        assert_eq!(parse_cli("-7", 1).ok(), Some(Value::Int(-7)));
        assert_eq!(
            parse_cli("18446744073709551615", 1).ok(),
            Some(Value::UInt(u64::MAX))
        );
        assert_eq!(parse_cli("1.5", 1).ok(), Some(Value::Float(1.5)));
        assert_eq!(parse_cli("true", 1).ok(), Some(Value::Bool(true)));
        assert_eq!(parse_cli("null", 1).ok(), Some(Value::Null));
        assert_eq!(
            parse_cli("\"'; DROP TABLE t; --\"", 1).ok(),
            Some(Value::Text("'; DROP TABLE t; --".into()))
        );
    }

    #[test]
    fn huge_integers_keep_their_digits() {
        assert_eq!(
            parse_cli("123456789012345678901234567890", 1).ok(),
            Some(Value::Decimal("123456789012345678901234567890".into()))
        );
    }

    #[test]
    fn bare_words_and_documents_are_refused_without_echo() {
        let error = parse_cli("hunter2", 3).err().map(|failure| failure.message);
        let message = error.unwrap_or_default();
        assert!(message.contains("parameter 3"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(parse_cli("[1,2]", 1).is_err());
        assert!(parse_cli("{\"a\":1}", 1).is_err());
    }
}
