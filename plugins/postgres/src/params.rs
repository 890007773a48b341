//! Bound parameters: plugin-API [`Value`]s as PostgreSQL parameters.
//!
//! The server infers each parameter's type when the statement is prepared, and the caller's
//! value may be of a different kind (a timestamp given as text, an integer for a `numeric`).
//! So every value except `bytea` travels in the **text format**: the server parses it with the
//! inferred type's input function, exactly as it would parse a literal, and a value that does
//! not fit fails on the server with its usual SQLSTATE (`22P02`, `22003`, …). Byte strings
//! bound to `bytea` travel in the binary format (the raw bytes); elsewhere they are sent as
//! `\x…` hex text.

use std::error::Error as StdError;

use bytes::{BufMut, BytesMut};
use plenum_plugin_api::Value;
use postgres::types::{Format, IsNull, ToSql, Type};

/// One bound parameter.
#[derive(Debug)]
pub struct Param<'a>(pub &'a Value);

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self.0 {
            Value::Null => return Ok(IsNull::Yes),
            Value::Bool(value) => out.put_slice(if *value { b"true" } else { b"false" }),
            Value::Int(value) => out.put_slice(value.to_string().as_bytes()),
            Value::UInt(value) => out.put_slice(value.to_string().as_bytes()),
            Value::Float(value) => out.put_slice(float_text(*value).as_bytes()),
            Value::Decimal(text) | Value::Text(text) | Value::Json(text) => {
                out.put_slice(text.as_bytes())
            }
            Value::Bytes(bytes) => {
                if is_bytea(ty) {
                    out.put_slice(bytes);
                } else {
                    out.put_slice(b"\\x");
                    for byte in bytes.iter() {
                        out.put_slice(format!("{byte:02x}").as_bytes());
                    }
                }
            }
        }
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        // Every type is accepted: the server checks the text against the parameter's type.
        self.to_sql(ty, out)
    }

    fn encode_format(&self, ty: &Type) -> Format {
        match self.0 {
            Value::Bytes(_) if is_bytea(ty) => Format::Binary,
            _ => Format::Text,
        }
    }
}

fn is_bytea(ty: &Type) -> bool {
    *ty == Type::BYTEA
}

/// The text PostgreSQL's float input accepts for `value`, with every digit needed to round-trip.
fn float_text(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "Infinity".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Infinity".to_owned()
    } else {
        format!("{value:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes sent and the format name (`text` or `binary`).
    fn encode(value: &Value, ty: &Type) -> (Option<Vec<u8>>, &'static str) {
        let param = Param(value);
        let mut out = BytesMut::new();
        let is_null = param
            .to_sql_checked(ty, &mut out)
            .map_err(|e| e.to_string());
        let bytes = match is_null {
            Ok(IsNull::Yes) => None,
            Ok(IsNull::No) => Some(out.to_vec()),
            Err(error) => panic!("encoding failed: {error}"),
        };
        let format = match param.encode_format(ty) {
            Format::Text => "text",
            Format::Binary => "binary",
        };
        (bytes, format)
    }

    #[test]
    fn values_travel_as_text_the_server_parses() {
        assert_eq!(
            encode(&Value::Int(-42), &Type::INT4),
            (Some(b"-42".to_vec()), "text")
        );
        assert_eq!(
            encode(&Value::Bool(true), &Type::BOOL),
            (Some(b"true".to_vec()), "text")
        );
        assert_eq!(
            encode(&Value::Float(0.1), &Type::FLOAT8),
            (Some(b"0.1".to_vec()), "text")
        );
        assert_eq!(
            encode(&Value::Float(1e300), &Type::FLOAT8).0,
            Some(b"1e300".to_vec())
        );
        assert_eq!(
            encode(&Value::Float(f64::NEG_INFINITY), &Type::FLOAT8).0,
            Some(b"-Infinity".to_vec())
        );
        assert_eq!(
            encode(&Value::Decimal("12.50".into()), &Type::NUMERIC).0,
            Some(b"12.50".to_vec())
        );
        assert_eq!(encode(&Value::Null, &Type::INT4).0, None);
    }

    #[test]
    fn bytes_are_binary_for_bytea_and_hex_text_elsewhere() {
        let value = Value::Bytes(vec![0u8, 0xff, 0x10].into());
        assert_eq!(
            encode(&value, &Type::BYTEA),
            (Some(vec![0, 0xff, 0x10]), "binary")
        );
        assert_eq!(
            encode(&value, &Type::TEXT),
            (Some(b"\\x00ff10".to_vec()), "text")
        );
    }
}
