//! Arrays as JSON: nested JSON arrays, one level per dimension, NULL elements as `null`.
//!
//! Elements follow the rules the host applies to top-level values: integers are numbers
//! (strings beyond ±2^53), non-finite floats are `null`, `numeric`/`money` are strings, `bytea`
//! is a base64 string, dates and times are ISO 8601 strings, `json`/`jsonb` elements are
//! embedded as JSON. Lower bounds other than 1 are not represented.

use base64::Engine as _;
use plenum_plugin_api::Value;
use serde_json::Value as Json;

use super::{DecodeError, Decoder, Reader};

/// PostgreSQL's `MAXDIM`.
const MAX_DIMENSIONS: i32 = 6;
/// Integers beyond this magnitude lose precision as JSON numbers in most readers.
const MAX_SAFE_INTEGER: u64 = 1 << 53;

/// Decodes a binary array whose elements `element` decodes, into [`Value::Json`].
///
/// Wire layout: dimension count, has-nulls flag, element type OID, (length, lower bound) per
/// dimension, then every element in row-major order as a length (-1 = NULL) and its bytes.
pub fn array_value(element: &Decoder, raw: &[u8]) -> Result<Value, DecodeError> {
    let mut reader = Reader::new(raw);
    let dimension_count = reader.i32()?;
    let _has_nulls = reader.i32()?;
    let _element_oid = reader.u32()?;
    if !(0..=MAX_DIMENSIONS).contains(&dimension_count) {
        return Err(DecodeError(format!(
            "array with {dimension_count} dimensions"
        )));
    }
    let mut lengths = Vec::new();
    for _ in 0..dimension_count {
        let length = usize::try_from(reader.i32()?)
            .map_err(|_| DecodeError("negative array dimension".to_owned()))?;
        let _lower_bound = reader.i32()?;
        lengths.push(length);
    }
    // Every element takes at least its 4-byte length, which bounds the work a corrupt header
    // can ask for.
    let element_count = lengths
        .iter()
        .try_fold(usize::from(!lengths.is_empty()), |count, &length| {
            count.checked_mul(length)
        })
        .filter(|&count| count <= reader.remaining() / 4)
        .ok_or_else(|| DecodeError("array dimensions larger than its data".to_owned()))?;
    let json = if element_count == 0 {
        Json::Array(Vec::new())
    } else {
        nested(&lengths, element, &mut reader)?
    };
    reader.finish()?;
    Ok(Value::Json(json.to_string().into()))
}

fn nested(
    lengths: &[usize],
    element: &Decoder,
    reader: &mut Reader<'_>,
) -> Result<Json, DecodeError> {
    let (&length, inner) = lengths
        .split_first()
        .ok_or_else(|| DecodeError("array without dimensions".to_owned()))?;
    let mut items = Vec::with_capacity(length);
    for _ in 0..length {
        let item = if inner.is_empty() {
            let size = reader.i32()?;
            let raw = if size < 0 {
                None
            } else {
                Some(reader.take(size as usize)?)
            };
            json_of(element.decode(raw)?)
        } else {
            nested(inner, element, reader)?
        };
        items.push(item);
    }
    Ok(Json::Array(items))
}

/// One element as JSON, by the host's rules for values.
fn json_of(value: Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(value) => Json::Bool(value),
        Value::Int(value) if value.unsigned_abs() <= MAX_SAFE_INTEGER => Json::from(value),
        Value::Int(value) => Json::String(value.to_string()),
        Value::UInt(value) if value <= MAX_SAFE_INTEGER => Json::from(value),
        Value::UInt(value) => Json::String(value.to_string()),
        Value::Float(value) => serde_json::Number::from_f64(value)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        Value::Decimal(text) | Value::Text(text) => Json::String(text.into()),
        Value::Bytes(bytes) => {
            Json::String(base64::engine::general_purpose::STANDARD.encode(bytes.as_slice()))
        }
        Value::Json(text) => {
            serde_json::from_str(text.as_str()).unwrap_or_else(|_| Json::String(text.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn array(dimensions: &[(i32, i32)], element_oid: u32, elements: &[Option<&[u8]>]) -> Vec<u8> {
        let mut raw = Vec::new();
        raw.extend_from_slice(&(dimensions.len() as i32).to_be_bytes());
        raw.extend_from_slice(&1i32.to_be_bytes());
        raw.extend_from_slice(&element_oid.to_be_bytes());
        for (length, lower) in dimensions {
            raw.extend_from_slice(&length.to_be_bytes());
            raw.extend_from_slice(&lower.to_be_bytes());
        }
        for element in elements {
            match element {
                None => raw.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(bytes) => {
                    raw.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                    raw.extend_from_slice(bytes);
                }
            }
        }
        raw
    }

    fn json(element: Decoder, raw: &[u8]) -> String {
        match array_value(&element, raw) {
            Ok(Value::Json(text)) => text.into(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn two_dimensions_with_nulls() {
        let one = 1i32.to_be_bytes();
        let two = 2i32.to_be_bytes();
        let three = 3i32.to_be_bytes();
        let raw = array(
            &[(2, 1), (2, 1)],
            23,
            &[Some(&one), None, Some(&two), Some(&three)],
        );
        assert_eq!(json(Decoder::Int4, &raw), "[[1,null],[2,3]]");
    }

    #[test]
    fn elements_follow_the_value_rules() {
        let big = (1i64 << 60).to_be_bytes();
        let raw = array(&[(1, 1)], 20, &[Some(&big)]);
        assert_eq!(json(Decoder::Int8, &raw), "[\"1152921504606846976\"]");
        let raw = array(&[(1, 1)], 17, &[Some(b"hi")]);
        assert_eq!(json(Decoder::Bytea, &raw), "[\"aGk=\"]");
        let nan = f64::NAN.to_be_bytes();
        let raw = array(&[(1, 1)], 701, &[Some(&nan)]);
        assert_eq!(json(Decoder::Float8, &raw), "[null]");
        let raw = array(&[(1, 1)], 114, &[Some(b"{\"a\": [1]}")]);
        assert_eq!(json(Decoder::Json, &raw), "[{\"a\":[1]}]");
        assert_eq!(json(Decoder::Int4, &array(&[], 23, &[])), "[]");
    }

    #[test]
    fn truncated_arrays_are_errors() {
        let raw = array(&[(3, 1)], 23, &[Some(&1i32.to_be_bytes())]);
        assert!(array_value(&Decoder::Int4, &raw).is_err());
        let raw = array(&[(1_000_000_000, 1)], 23, &[]);
        assert!(array_value(&Decoder::Int4, &raw).is_err());
        let raw = array(&[(1 << 30, 1), (0, 1)], 23, &[]);
        assert_eq!(json(Decoder::Int4, &raw), "[]");
    }
}
