//! The JSON reading the engine formats share; the plan node they build is an output shape
//! ([`PlanNode`], in `crate::services::output::data`).
//!
//! Plans are read into [`Json`], which keeps object keys in the engine's order (the
//! workspace's `serde_json` does not), so `detail` lists fields as the engine wrote them.

use std::fmt;

use crate::services::error::{ErrorCode, Failure};
pub use crate::services::output::data::PlanNode;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Deepest nesting of plan nodes rendered. `serde_json` stops at 128 levels of JSON anyway;
/// SQLite's rows, which are not nested JSON, are held to the same bound.
pub const MAX_DEPTH: usize = 128;

/// A JSON value whose objects keep their keys in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as `serde_json` holds it.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, in document order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses JSON text. Nesting deeper than `serde_json`'s limit (128) is an error.
    pub fn parse(text: &str) -> Result<Json, Failure> {
        serde_json::from_str(text).map_err(|error| {
            if error.to_string().contains("recursion limit") {
                Failure::new(
                    ErrorCode::QueryFailed,
                    format!("the plan is nested deeper than {MAX_DEPTH} levels; plenum does not render it"),
                )
            } else {
                Failure::plugin(format!("the engine's plan is not valid JSON: {error}"))
            }
        })
    }

    /// The value of `key`, when this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value),
            _ => None,
        }
    }

    /// The text of a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    /// A number, or a string that holds one (MySQL writes its costs as strings).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(number) => number.as_f64(),
            Json::String(text) => text.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
            _ => None,
        }
    }

    /// An integer (SQLite's plan ids).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(number) => number.as_i64(),
            _ => None,
        }
    }

    /// Whether this is a string, number, boolean or null.
    pub fn is_scalar(&self) -> bool {
        !matches!(self, Json::Array(_) | Json::Object(_))
    }

    /// Whether this is a scalar or an array of scalars: something `detail` can show inline.
    pub fn is_flat(&self) -> bool {
        match self {
            Json::Array(items) => items.iter().all(Json::is_scalar),
            other => other.is_scalar(),
        }
    }
}

/// Shows a flat value the way `detail` lists it: strings bare, arrays joined with `, `.
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(flag) => write!(f, "{flag}"),
            Json::Number(number) => write!(f, "{number}"),
            Json::String(text) => f.write_str(text),
            Json::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                Ok(())
            }
            Json::Object(fields) => {
                f.write_str("{")?;
                for (index, (key, value)) in fields.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key}: {value}")?;
                }
                f.write_str("}")
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        Json::deserialize(deserializer)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Json, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Json, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Json, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Json, E> {
        Ok(serde_json::Number::from_f64(value).map_or(Json::Null, Json::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Json, E> {
        Ok(Json::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Json, E> {
        Ok(Json::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut fields = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            fields.push((key, value));
        }
        Ok(Json::Object(fields))
    }
}

/// Collects `key: value` pairs into one `detail` line.
#[derive(Debug, Default)]
pub struct Detail(Vec<String>);

impl Detail {
    /// Adds `key: value`.
    pub fn push(&mut self, key: &str, value: &Json) {
        self.0.push(format!("{key}: {value}"));
    }

    /// Adds text as it is.
    pub fn push_text(&mut self, text: String) {
        self.0.push(text);
    }

    /// The line, or `None` when nothing was added.
    pub fn finish(self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.0.join("; "))
    }
}

/// The plan rows a statement returned: the JSON array of arrays the row writer produced.
pub fn parse_rows(rows_json: &[u8]) -> Result<Vec<Vec<Json>>, Failure> {
    let text = std::str::from_utf8(rows_json)
        .map_err(|_| Failure::internal("the plan rows are not UTF-8"))?;
    match Json::parse(text)? {
        Json::Array(rows) => rows
            .into_iter()
            .map(|row| match row {
                Json::Array(cells) => Ok(cells),
                _ => Err(Failure::internal("a plan row is not an array")),
            })
            .collect(),
        _ => Err(Failure::internal("the plan rows are not an array")),
    }
}

/// A cell that holds a JSON document: embedded (PostgreSQL's `json` column) or as text
/// (MySQL's `EXPLAIN` column).
pub fn document(cell: &Json) -> Result<Json, Failure> {
    match cell {
        Json::String(text) => Json::parse(text),
        other => Ok(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_keep_their_order_and_values_show_flat() {
        let value = Json::parse(r#"{"z": 1, "a": [1, "x", true], "m": null, "f": 1.5}"#)
            .expect("valid JSON");
        let Json::Object(fields) = &value else {
            panic!("an object");
        };
        let keys: Vec<&str> = fields.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["z", "a", "m", "f"]);
        assert_eq!(
            value.get("a").map(ToString::to_string).as_deref(),
            Some("1, x, true")
        );
        assert_eq!(value.get("f").and_then(Json::as_f64), Some(1.5));
        assert_eq!(Json::String(" 12.5 ".into()).as_f64(), Some(12.5));
        assert_eq!(Json::String("nan".into()).as_f64(), None);
    }

    #[test]
    fn too_deep_json_is_a_clear_error() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let failure = Json::parse(&deep).expect_err("too deep");
        assert_eq!(failure.code, ErrorCode::QueryFailed);
        assert!(
            failure.message.contains("nested deeper"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn rows_and_documents_parse() {
        let rows = parse_rows(br#"[[1, "{\"a\": 2}"], [[{"b": 3}], null]]"#).expect("rows");
        assert_eq!(rows.len(), 2);
        let text_cell = document(&rows[0][1]).expect("document");
        assert_eq!(text_cell.get("a").and_then(Json::as_i64), Some(2));
        let embedded = document(&rows[1][0]).expect("document");
        assert!(matches!(embedded, Json::Array(_)));
        assert!(parse_rows(b"{}").is_err());
    }
}
