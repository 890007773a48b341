//! Result values: PostgreSQL's binary wire format, decoded by type into [`Value`]s.
//!
//! | PostgreSQL type                                   | value                                  |
//! |---------------------------------------------------|----------------------------------------|
//! | `int2`, `int4`, `int8`, `oid`, `xid`, `cid`       | `Int`                                  |
//! | `float4`, `float8`                                | `Float` (NaN and ±Infinity stay floats)|
//! | `numeric`                                         | `Decimal`, exact (`NaN`, `Infinity`, `-Infinity` as text) |
//! | `money`                                           | `Decimal` with 2 fractional digits (assumes `lc_monetary` has 2, as `C`/`en_US` do) |
//! | `bool`                                            | `Bool`                                 |
//! | `text`, `varchar`, `bpchar`, `name`, `"char"`, `unknown`, `citext`, `xml`, enums | `Text` |
//! | `bytea`                                           | `Bytes`                                |
//! | `date`, `time`, `timetz`, `timestamp`, `timestamptz` | `Text`, ISO 8601 (see [`datetime`]) |
//! | `interval`                                        | `Text`, ISO 8601 duration (`P1Y2M3DT4H5M6.5S`) |
//! | `uuid`                                            | `Text`, lower-case hyphenated          |
//! | `json`, `jsonb`                                   | `Json`                                 |
//! | `inet`, `cidr`                                    | `Text` (`192.168.0.1/24`; `inet` with a full mask omits it, as PostgreSQL does) |
//! | `macaddr`, `macaddr8`                             | `Text` (`08:00:2b:01:02:03`)           |
//! | `bit`, `varbit`                                   | `Text` (`0101`)                        |
//! | `void`                                            | `Null`                                 |
//! | domains                                           | as their base type                     |
//! | arrays of any of these                            | `Json`: nested JSON arrays (see [`mod@array`]) |
//!
//! Every other type (ranges, geometry, `tsvector`, composites, `reg*`, extension types, arrays
//! of those) has no decoder here: [`Decoder::for_type`] returns `None` and the statement layer
//! asks the server to cast the column to `text` instead.

pub mod array;
pub mod datetime;
pub mod numeric;
mod reader;

pub use reader::Reader;

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use plenum_plugin_api::Value;
use postgres::types::{FromSql, Kind, Type};

/// A malformed value on the wire (a bug in the server or in this decoder, never user error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// A column's raw bytes as the server sent them, for every type (`None` = SQL NULL).
#[derive(Debug, Clone, Copy)]
pub struct RawValue<'a>(pub Option<&'a [u8]>);

impl<'a> FromSql<'a> for RawValue<'a> {
    fn from_sql(
        _ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawValue(Some(raw)))
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawValue(None))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// Built-in type OIDs (`pg_type.oid`, fixed across versions).
mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const XID: u32 = 28;
    pub const CID: u32 = 29;
    pub const JSON: u32 = 114;
    pub const XML: u32 = 142;
    pub const CIDR: u32 = 650;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const MACADDR8: u32 = 774;
    pub const MONEY: u32 = 790;
    pub const MACADDR: u32 = 829;
    pub const INET: u32 = 869;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const TIMETZ: u32 = 1266;
    pub const BIT: u32 = 1560;
    pub const VARBIT: u32 = 1562;
    pub const NUMERIC: u32 = 1700;
    pub const VOID: u32 = 2278;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
}

/// How to decode one column, chosen once per statement from the column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoder {
    /// `bool`.
    Bool,
    /// `int2`.
    Int2,
    /// `int4`.
    Int4,
    /// `int8`.
    Int8,
    /// `oid`, `xid`, `cid`: unsigned 32-bit.
    UInt4,
    /// `float4`.
    Float4,
    /// `float8`.
    Float8,
    /// `numeric`.
    Numeric,
    /// `money`.
    Money,
    /// Types whose binary form is their UTF-8 text: `text`, `varchar`, `xml`, enums, ….
    Text,
    /// `"char"`: one byte.
    Char,
    /// `bytea`.
    Bytea,
    /// `date`.
    Date,
    /// `time`.
    Time,
    /// `timetz`.
    TimeTz,
    /// `timestamp`.
    Timestamp,
    /// `timestamptz`.
    TimestampTz,
    /// `interval`.
    Interval,
    /// `uuid`.
    Uuid,
    /// `json`.
    Json,
    /// `jsonb`: a version byte, then the text.
    Jsonb,
    /// `inet` and `cidr`.
    Inet,
    /// `macaddr`.
    MacAddr,
    /// `macaddr8`.
    MacAddr8,
    /// `bit` and `varbit`.
    Bits,
    /// `void`.
    Void,
    /// An array of the inner decoder's type.
    Array(Box<Decoder>),
}

impl Decoder {
    /// The decoder for `ty`, or `None` when this plugin does not know its binary format.
    pub fn for_type(ty: &Type) -> Option<Decoder> {
        match ty.kind() {
            Kind::Enum(_) => return Some(Decoder::Text),
            Kind::Domain(base) => return Decoder::for_type(base),
            Kind::Array(element) => {
                return Decoder::for_type(element).map(|inner| Decoder::Array(Box::new(inner)))
            }
            Kind::Simple if ty.name() == "citext" => return Some(Decoder::Text),
            _ => {}
        }
        let decoder = match ty.oid() {
            oid::BOOL => Decoder::Bool,
            oid::INT2 => Decoder::Int2,
            oid::INT4 => Decoder::Int4,
            oid::INT8 => Decoder::Int8,
            oid::OID | oid::XID | oid::CID => Decoder::UInt4,
            oid::FLOAT4 => Decoder::Float4,
            oid::FLOAT8 => Decoder::Float8,
            oid::NUMERIC => Decoder::Numeric,
            oid::MONEY => Decoder::Money,
            oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::UNKNOWN | oid::XML => {
                Decoder::Text
            }
            oid::CHAR => Decoder::Char,
            oid::BYTEA => Decoder::Bytea,
            oid::DATE => Decoder::Date,
            oid::TIME => Decoder::Time,
            oid::TIMETZ => Decoder::TimeTz,
            oid::TIMESTAMP => Decoder::Timestamp,
            oid::TIMESTAMPTZ => Decoder::TimestampTz,
            oid::INTERVAL => Decoder::Interval,
            oid::UUID => Decoder::Uuid,
            oid::JSON => Decoder::Json,
            oid::JSONB => Decoder::Jsonb,
            oid::INET | oid::CIDR => Decoder::Inet,
            oid::MACADDR => Decoder::MacAddr,
            oid::MACADDR8 => Decoder::MacAddr8,
            oid::BIT | oid::VARBIT => Decoder::Bits,
            oid::VOID => Decoder::Void,
            _ => return None,
        };
        Some(decoder)
    }

    /// Decodes one value (`None` = SQL NULL).
    pub fn decode(&self, raw: Option<&[u8]>) -> Result<Value, DecodeError> {
        let Some(raw) = raw else {
            return Ok(Value::Null);
        };
        let mut reader = Reader::new(raw);
        let value = match self {
            Decoder::Bool => Value::Bool(reader.u8()? != 0),
            Decoder::Int2 => Value::Int(reader.i16()?.into()),
            Decoder::Int4 => Value::Int(reader.i32()?.into()),
            Decoder::Int8 => Value::Int(reader.i64()?),
            Decoder::UInt4 => Value::Int(reader.u32()?.into()),
            Decoder::Float4 => Value::Float(f32_to_f64(f32::from_bits(reader.u32()?))),
            Decoder::Float8 => Value::Float(f64::from_bits(reader.u64()?)),
            Decoder::Numeric => return numeric::numeric_value(raw),
            Decoder::Money => Value::Decimal(numeric::money_text(reader.i64()?).into()),
            Decoder::Text => Value::Text(utf8(reader.rest())?.into()),
            Decoder::Char => Value::Text(char::from(reader.u8()?).to_string().into()),
            Decoder::Bytea => Value::Bytes(reader.rest().to_vec().into()),
            Decoder::Date => Value::Text(datetime::date_text(reader.i32()?).into()),
            Decoder::Time => Value::Text(datetime::time_text(reader.i64()?).into()),
            Decoder::TimeTz => {
                let micros = reader.i64()?;
                let zone_west = reader.i32()?;
                Value::Text(datetime::timetz_text(micros, zone_west).into())
            }
            Decoder::Timestamp => {
                Value::Text(datetime::timestamp_text(reader.i64()?, false).into())
            }
            Decoder::TimestampTz => {
                Value::Text(datetime::timestamp_text(reader.i64()?, true).into())
            }
            Decoder::Interval => {
                let micros = reader.i64()?;
                let days = reader.i32()?;
                let months = reader.i32()?;
                Value::Text(datetime::interval_text(micros, days, months).into())
            }
            Decoder::Uuid => Value::Text(uuid_text(reader.take(16)?).into()),
            Decoder::Json => Value::Json(utf8(reader.rest())?.into()),
            Decoder::Jsonb => {
                let version = reader.u8()?;
                if version != 1 {
                    return Err(DecodeError(format!("unknown jsonb version {version}")));
                }
                Value::Json(utf8(reader.rest())?.into())
            }
            Decoder::Inet => Value::Text(inet_text(&mut reader)?.into()),
            Decoder::MacAddr => Value::Text(mac_text(reader.take(6)?).into()),
            Decoder::MacAddr8 => Value::Text(mac_text(reader.take(8)?).into()),
            Decoder::Bits => Value::Text(bits_text(&mut reader)?.into()),
            Decoder::Void => Value::Null,
            Decoder::Array(element) => return array::array_value(element, raw),
        };
        reader.finish()?;
        Ok(value)
    }
}

/// `float4` values widened through their shortest decimal form, so `1.1::float4` reads as 1.1
/// rather than 1.100000023841858.
fn f32_to_f64(value: f32) -> f64 {
    if value.is_finite() {
        value.to_string().parse().unwrap_or(f64::from(value))
    } else {
        f64::from(value)
    }
}

fn utf8(raw: &[u8]) -> Result<&str, DecodeError> {
    // The session's client_encoding is UTF8, so text from the server is always valid UTF-8.
    std::str::from_utf8(raw).map_err(|error| DecodeError(format!("text is not UTF-8: {error}")))
}

fn uuid_text(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn mac_text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `inet`/`cidr`: family, mask bits, is-cidr flag, address length, address bytes.
fn inet_text(reader: &mut Reader<'_>) -> Result<String, DecodeError> {
    const FAMILY_V4: u8 = 2;
    const FAMILY_V6: u8 = 3;
    let family = reader.u8()?;
    let bits = reader.u8()?;
    let is_cidr = reader.u8()? != 0;
    let length = reader.u8()?;
    let (address, full) = match (family, length) {
        (FAMILY_V4, 4) => {
            let b = reader.take(4)?;
            (Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(), 32)
        }
        (FAMILY_V6, 16) => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(reader.take(16)?);
            (Ipv6Addr::from(octets).to_string(), 128)
        }
        _ => {
            return Err(DecodeError(format!(
                "unknown inet family {family} with {length} address bytes"
            )))
        }
    };
    Ok(if is_cidr || bits != full {
        format!("{address}/{bits}")
    } else {
        address
    })
}

/// `bit`/`varbit`: the bit count, then the bits, most significant first.
fn bits_text(reader: &mut Reader<'_>) -> Result<String, DecodeError> {
    let count = usize::try_from(reader.i32()?)
        .map_err(|_| DecodeError("negative bit string length".to_owned()))?;
    let bytes = reader.take(count.div_ceil(8))?;
    Ok((0..count)
        .map(|bit| {
            if bytes[bit / 8] & (0x80 >> (bit % 8)) != 0 {
                '1'
            } else {
                '0'
            }
        })
        .collect())
}

/// The PostgreSQL name of `ty` as users write it: `int4`, `numeric`, `int4[]` for arrays.
pub fn type_name(ty: &Type) -> String {
    match ty.kind() {
        Kind::Array(element) => format!("{}[]", type_name(element)),
        _ => ty.name().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(ty: &Type, raw: &[u8]) -> Value {
        Decoder::for_type(ty)
            .map(|decoder| decoder.decode(Some(raw)))
            .unwrap_or_else(|| Err(DecodeError("no decoder".into())))
            .unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn scalars_decode_from_their_binary_form() {
        assert_eq!(decode(&Type::INT2, &[0xff, 0xfe]), Value::Int(-2));
        assert_eq!(decode(&Type::OID, &[0xff; 4]), Value::Int(4_294_967_295));
        assert_eq!(
            decode(&Type::FLOAT4, &1.1f32.to_be_bytes()),
            Value::Float(1.1)
        );
        assert_eq!(
            decode(&Type::UUID, &(0u8..16).collect::<Vec<_>>()),
            Value::Text("00010203-0405-0607-0809-0a0b0c0d0e0f".into())
        );
        assert_eq!(
            decode(&Type::INET, &[2, 24, 0, 4, 192, 168, 0, 1]),
            Value::Text("192.168.0.1/24".into())
        );
        assert_eq!(
            decode(&Type::INET, &[2, 32, 0, 4, 10, 0, 0, 1]),
            Value::Text("10.0.0.1".into())
        );
        assert_eq!(
            decode(&Type::CIDR, &[2, 32, 1, 4, 10, 0, 0, 1]),
            Value::Text("10.0.0.1/32".into())
        );
        assert_eq!(
            decode(&Type::VARBIT, &[0, 0, 0, 10, 0b0101_0000, 0b1100_0000]),
            Value::Text("0101000011".into())
        );
        assert_eq!(
            decode(&Type::JSONB, b"\x01{\"a\": 1}"),
            Value::Json("{\"a\": 1}".into())
        );
    }

    #[test]
    fn short_or_long_values_are_errors_not_panics() {
        let int4 = Decoder::Int4;
        assert!(int4.decode(Some(&[0, 0, 1])).is_err());
        assert!(int4.decode(Some(&[0, 0, 0, 1, 2])).is_err());
        assert!(Decoder::Inet.decode(Some(&[2, 24, 0, 16, 1])).is_err());
        assert!(Decoder::Bits
            .decode(Some(&[0xff, 0xff, 0xff, 0xff]))
            .is_err());
    }

    #[test]
    fn unknown_types_have_no_decoder() {
        assert_eq!(Decoder::for_type(&Type::TS_VECTOR), None);
        assert_eq!(Decoder::for_type(&Type::INT4_RANGE), None);
        assert_eq!(Decoder::for_type(&Type::POINT_ARRAY), None);
        assert_eq!(
            Decoder::for_type(&Type::INT4_ARRAY),
            Some(Decoder::Array(Box::new(Decoder::Int4)))
        );
        assert_eq!(type_name(&Type::INT4_ARRAY), "int4[]");
        assert_eq!(type_name(&Type::NUMERIC), "numeric");
    }
}
