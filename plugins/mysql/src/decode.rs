//! Turning result columns and values of the MySQL protocol into plugin-API values, and
//! parameters the other way.
//!
//! Decoding is driven by each column's type, flags and character set as the server reports
//! them, never by looking at the text of a value.

use mysql::consts::{ColumnFlags, ColumnType};
use plenum_plugin_api::abi_stable::std_types::{RString, RVec};
use plenum_plugin_api::{Column, Value};

/// The character set number MySQL uses for binary strings (`BINARY`, `VARBINARY`, `BLOB`).
const BINARY_CHARSET: u16 = 63;

/// How the values of one result column become plugin-API values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoding {
    /// Integer types and `YEAR`: signed or unsigned whole numbers.
    Integer,
    /// `DECIMAL`: an exact number kept as its text.
    Decimal,
    /// `FLOAT`: single precision, printed at its own precision before widening.
    Float32,
    /// `DOUBLE`.
    Float64,
    /// `DATE`.
    Date,
    /// `DATETIME` and `TIMESTAMP`, with the column's fractional digits.
    DateTime { fraction_digits: u8 },
    /// `TIME`, with the column's fractional digits.
    Time { fraction_digits: u8 },
    /// `BIT(n)`: a big-endian bit string read as an unsigned number.
    Bit,
    /// MySQL's native `JSON` type.
    Json,
    /// Character strings, `ENUM` and `SET`.
    Text,
    /// Binary strings, blobs and geometry.
    Bytes,
    /// The `NULL` type (e.g. `SELECT NULL`).
    Null,
}

/// A result column: its plugin-API description and how to decode its values.
#[derive(Debug, Clone)]
pub(crate) struct ColumnDecoder {
    /// Name and upper-case MySQL type name.
    pub(crate) column: Column,
    /// Value decoding.
    pub(crate) decoding: Decoding,
}

impl ColumnDecoder {
    /// Describes one column of a result set.
    pub(crate) fn new(column: &mysql::Column) -> Self {
        let (type_name, decoding) = classify(
            column.column_type(),
            column.flags(),
            column.character_set(),
            column.decimals(),
        );
        ColumnDecoder {
            column: Column::new(column.name_str().into_owned(), type_name),
            decoding,
        }
    }
}

/// The type name and decoding of a column with the given wire metadata.
fn classify(
    column_type: ColumnType,
    flags: ColumnFlags,
    charset: u16,
    decimals: u8,
) -> (String, Decoding) {
    use ColumnType::*;
    let unsigned = flags.contains(ColumnFlags::UNSIGNED_FLAG);
    let binary = charset == BINARY_CHARSET;
    // Servers report fractional digits 0..=6; other values (31 = "not fixed") mean "unknown".
    let fraction_digits = if decimals <= 6 { decimals } else { 0 };
    let integer = |name: &str| {
        let name = if unsigned {
            format!("{name} UNSIGNED")
        } else {
            name.to_owned()
        };
        (name, Decoding::Integer)
    };
    let fixed = |name: &str, decoding: Decoding| (name.to_owned(), decoding);
    match column_type {
        MYSQL_TYPE_TINY => integer("TINYINT"),
        MYSQL_TYPE_SHORT => integer("SMALLINT"),
        MYSQL_TYPE_INT24 => integer("MEDIUMINT"),
        MYSQL_TYPE_LONG => integer("INT"),
        MYSQL_TYPE_LONGLONG => integer("BIGINT"),
        MYSQL_TYPE_YEAR => fixed("YEAR", Decoding::Integer),
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => fixed("DECIMAL", Decoding::Decimal),
        MYSQL_TYPE_FLOAT => fixed("FLOAT", Decoding::Float32),
        MYSQL_TYPE_DOUBLE => fixed("DOUBLE", Decoding::Float64),
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => fixed("DATE", Decoding::Date),
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => {
            fixed("DATETIME", Decoding::DateTime { fraction_digits })
        }
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => {
            fixed("TIMESTAMP", Decoding::DateTime { fraction_digits })
        }
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => fixed("TIME", Decoding::Time { fraction_digits }),
        MYSQL_TYPE_BIT => fixed("BIT", Decoding::Bit),
        MYSQL_TYPE_JSON => fixed("JSON", Decoding::Json),
        MYSQL_TYPE_NULL => fixed("NULL", Decoding::Null),
        MYSQL_TYPE_ENUM => fixed("ENUM", Decoding::Text),
        MYSQL_TYPE_SET => fixed("SET", Decoding::Text),
        // ENUM and SET columns travel as strings marked by a flag.
        MYSQL_TYPE_STRING | MYSQL_TYPE_VAR_STRING | MYSQL_TYPE_VARCHAR
            if flags.contains(ColumnFlags::ENUM_FLAG) =>
        {
            fixed("ENUM", Decoding::Text)
        }
        MYSQL_TYPE_STRING | MYSQL_TYPE_VAR_STRING | MYSQL_TYPE_VARCHAR
            if flags.contains(ColumnFlags::SET_FLAG) =>
        {
            fixed("SET", Decoding::Text)
        }
        MYSQL_TYPE_STRING if binary => fixed("BINARY", Decoding::Bytes),
        MYSQL_TYPE_STRING => fixed("CHAR", Decoding::Text),
        MYSQL_TYPE_VAR_STRING | MYSQL_TYPE_VARCHAR if binary => fixed("VARBINARY", Decoding::Bytes),
        MYSQL_TYPE_VAR_STRING | MYSQL_TYPE_VARCHAR => fixed("VARCHAR", Decoding::Text),
        MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB | MYSQL_TYPE_BLOB
            if binary =>
        {
            fixed("BLOB", Decoding::Bytes)
        }
        MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB | MYSQL_TYPE_BLOB => {
            fixed("TEXT", Decoding::Text)
        }
        MYSQL_TYPE_GEOMETRY => fixed("GEOMETRY", Decoding::Bytes),
        MYSQL_TYPE_VECTOR => fixed("VECTOR", Decoding::Bytes),
        MYSQL_TYPE_TYPED_ARRAY | MYSQL_TYPE_UNKNOWN => fixed("", Decoding::Bytes),
    }
}

/// Decodes one value of a column described by `decoding`.
///
/// Values from the binary protocol arrive typed; values from the text protocol (used only for
/// the few `SHOW` forms a server cannot prepare) arrive as text and are parsed here.
pub(crate) fn decode(decoding: Decoding, value: mysql::Value) -> Value {
    use mysql::Value as My;
    match (decoding, value) {
        (_, My::NULL) | (Decoding::Null, _) => Value::Null,
        (_, My::Int(int)) => Value::Int(int),
        (_, My::UInt(uint)) => unsigned(uint),
        (Decoding::Float32, My::Float(float)) => Value::Float(widen(float)),
        (_, My::Float(float)) => Value::Float(f64::from(float)),
        (_, My::Double(double)) => Value::Float(double),
        (Decoding::Date, My::Date(year, month, day, ..)) => {
            Value::Text(format!("{year:04}-{month:02}-{day:02}").into())
        }
        (
            Decoding::DateTime { fraction_digits },
            My::Date(year, month, day, hour, minute, second, micros),
        ) => Value::Text(
            format_datetime(
                [year, u16::from(month), u16::from(day)],
                [hour, minute, second],
                micros,
                fraction_digits,
            )
            .into(),
        ),
        (_, My::Date(year, month, day, hour, minute, second, micros)) => Value::Text(
            format_datetime(
                [year, u16::from(month), u16::from(day)],
                [hour, minute, second],
                micros,
                6,
            )
            .into(),
        ),
        (decoding, My::Time(negative, days, hours, minutes, seconds, micros)) => {
            let fraction_digits = match decoding {
                Decoding::Time { fraction_digits } => fraction_digits,
                _ => 6,
            };
            let hours = u64::from(days) * 24 + u64::from(hours);
            let mut text = format!(
                "{}{hours:02}:{minutes:02}:{seconds:02}",
                if negative { "-" } else { "" }
            );
            push_fraction(&mut text, micros, fraction_digits);
            Value::Text(text.into())
        }
        (decoding, My::Bytes(bytes)) => decode_bytes(decoding, bytes),
    }
}

/// Decodes a value that arrived as bytes: always the case for strings, decimals, bits and
/// JSON, and for every type in the text protocol.
fn decode_bytes(decoding: Decoding, bytes: Vec<u8>) -> Value {
    match decoding {
        Decoding::Bytes => Value::Bytes(RVec::from(bytes)),
        Decoding::Bit => bit_value(&bytes),
        Decoding::Decimal => Value::Decimal(text(bytes)),
        Decoding::Json => Value::Json(text(bytes)),
        Decoding::Integer => {
            let text = text(bytes);
            if let Ok(int) = text.parse::<i64>() {
                Value::Int(int)
            } else if let Ok(uint) = text.parse::<u64>() {
                Value::UInt(uint)
            } else {
                Value::Text(text)
            }
        }
        Decoding::Float32 | Decoding::Float64 => {
            let text = text(bytes);
            match text.parse::<f64>() {
                Ok(float) => Value::Float(float),
                Err(_) => Value::Text(text),
            }
        }
        Decoding::DateTime { .. } => {
            // Text protocol: "YYYY-MM-DD HH:MM:SS[.f]"; ISO 8601 wants a `T`, except for the
            // zero date, which is not a date and stays as the server wrote it.
            let text = text(bytes);
            if text.starts_with("0000-00-00") || text.len() < 11 {
                Value::Text(text)
            } else {
                let mut iso = text.to_string();
                iso.replace_range(10..11, "T");
                Value::Text(iso.into())
            }
        }
        Decoding::Date | Decoding::Time { .. } | Decoding::Text | Decoding::Null => {
            Value::Text(text(bytes))
        }
    }
}

/// Text from the server, which sends UTF-8 (utf8mb4) for every non-binary column; anything
/// else is replaced rather than dropped.
fn text(bytes: Vec<u8>) -> RString {
    match String::from_utf8(bytes) {
        Ok(text) => text.into(),
        Err(error) => String::from_utf8_lossy(error.as_bytes())
            .into_owned()
            .into(),
    }
}

/// An unsigned integer as `Int` when it fits, `UInt` beyond `i64::MAX`.
fn unsigned(uint: u64) -> Value {
    match i64::try_from(uint) {
        Ok(int) => Value::Int(int),
        Err(_) => Value::UInt(uint),
    }
}

/// Widens a `FLOAT` through its shortest decimal form, so `1.1` stays `1.1` rather than
/// becoming `1.100000023841858`.
fn widen(float: f32) -> f64 {
    float.to_string().parse().unwrap_or(f64::from(float))
}

/// `BIT(n)` values are big-endian bit strings of up to 8 bytes.
fn bit_value(bytes: &[u8]) -> Value {
    if bytes.len() > 8 {
        return Value::Bytes(RVec::from(bytes.to_vec()));
    }
    let number = bytes
        .iter()
        .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte));
    unsigned(number)
}

/// ISO 8601 `YYYY-MM-DDTHH:MM:SS[.ffffff]`; the zero date is kept in MySQL's own text.
fn format_datetime(date: [u16; 3], time: [u8; 3], micros: u32, fraction_digits: u8) -> String {
    let [year, month, day] = date;
    let [hour, minute, second] = time;
    // Written digit by digit: a large result holds one of these per row and column.
    let mut text = String::with_capacity(26);
    push_padded(&mut text, u64::from(year), 4);
    text.push('-');
    push_padded(&mut text, u64::from(month), 2);
    text.push('-');
    push_padded(&mut text, u64::from(day), 2);
    // The zero date is not a date: it keeps the server's space instead of ISO 8601's `T`.
    text.push(if year == 0 && month == 0 && day == 0 {
        ' '
    } else {
        'T'
    });
    push_padded(&mut text, u64::from(hour), 2);
    text.push(':');
    push_padded(&mut text, u64::from(minute), 2);
    text.push(':');
    push_padded(&mut text, u64::from(second), 2);
    push_fraction(&mut text, micros, fraction_digits);
    text
}

/// Appends `.` and the first `digits` digits of the microseconds; with no declared digits the
/// fraction appears only when it is not zero.
fn push_fraction(text: &mut String, micros: u32, digits: u8) {
    let shown = match digits {
        0 if micros != 0 => 6,
        0 => return,
        digits => u32::from(digits.min(6)),
    };
    text.push('.');
    push_padded(
        text,
        u64::from(micros / 10u32.pow(6 - shown)),
        shown as usize,
    );
}

/// Appends `value` in decimal, zero-padded to at least `width` digits.
fn push_padded(text: &mut String, value: u64, width: usize) {
    // Zeros first, so the padding is already in place left of the digits.
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    let mut rest = value;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let start = start.min(digits.len().saturating_sub(width));
    // Only ASCII digits were written, so this is always valid UTF-8.
    text.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
}

/// A bound parameter in the driver's representation.
pub(crate) fn encode_param(value: &Value) -> mysql::Value {
    use mysql::Value as My;
    match value {
        Value::Null => My::NULL,
        Value::Bool(flag) => My::Int(i64::from(*flag)),
        Value::Int(int) => My::Int(*int),
        Value::UInt(uint) => My::UInt(*uint),
        Value::Float(float) => My::Double(*float),
        Value::Decimal(text) | Value::Text(text) | Value::Json(text) => {
            My::Bytes(text.as_bytes().to_vec())
        }
        Value::Bytes(bytes) => My::Bytes(bytes.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_type_names_carry_unsigned() {
        let (name, decoding) = classify(
            ColumnType::MYSQL_TYPE_LONGLONG,
            ColumnFlags::UNSIGNED_FLAG,
            BINARY_CHARSET,
            0,
        );
        assert_eq!(
            (name.as_str(), decoding),
            ("BIGINT UNSIGNED", Decoding::Integer)
        );
        let (name, _) = classify(ColumnType::MYSQL_TYPE_LONG, ColumnFlags::empty(), 63, 0);
        assert_eq!(name, "INT");
    }

    #[test]
    fn strings_split_on_the_binary_charset_and_flags() {
        let utf8mb4 = 45;
        let cases = [
            (
                ColumnType::MYSQL_TYPE_VAR_STRING,
                ColumnFlags::empty(),
                utf8mb4,
                "VARCHAR",
            ),
            (
                ColumnType::MYSQL_TYPE_VAR_STRING,
                ColumnFlags::empty(),
                63,
                "VARBINARY",
            ),
            (
                ColumnType::MYSQL_TYPE_STRING,
                ColumnFlags::empty(),
                63,
                "BINARY",
            ),
            (
                ColumnType::MYSQL_TYPE_STRING,
                ColumnFlags::ENUM_FLAG,
                utf8mb4,
                "ENUM",
            ),
            (
                ColumnType::MYSQL_TYPE_STRING,
                ColumnFlags::SET_FLAG,
                utf8mb4,
                "SET",
            ),
            (
                ColumnType::MYSQL_TYPE_BLOB,
                ColumnFlags::empty(),
                63,
                "BLOB",
            ),
            (
                ColumnType::MYSQL_TYPE_BLOB,
                ColumnFlags::empty(),
                utf8mb4,
                "TEXT",
            ),
        ];
        for (column_type, flags, charset, expected) in cases {
            assert_eq!(classify(column_type, flags, charset, 0).0, expected);
        }
    }

    #[test]
    fn temporal_values_are_iso_8601() {
        let datetime = Decoding::DateTime { fraction_digits: 3 };
        assert_eq!(
            decode(
                datetime,
                mysql::Value::Date(2024, 2, 29, 23, 59, 58, 123_000)
            ),
            Value::Text("2024-02-29T23:59:58.123".into())
        );
        assert_eq!(
            decode(
                Decoding::DateTime { fraction_digits: 0 },
                mysql::Value::Date(0, 0, 0, 0, 0, 0, 0)
            ),
            Value::Text("0000-00-00 00:00:00".into())
        );
        assert_eq!(
            decode(
                Decoding::Time { fraction_digits: 0 },
                mysql::Value::Time(true, 1, 2, 3, 4, 0)
            ),
            Value::Text("-26:03:04".into())
        );
        // Padding of small years, and a fraction shown in full when no digits are declared.
        assert_eq!(
            decode(
                Decoding::DateTime { fraction_digits: 0 },
                mysql::Value::Date(987, 6, 5, 4, 3, 2, 10)
            ),
            Value::Text("0987-06-05T04:03:02.000010".into())
        );
        assert_eq!(
            decode(
                Decoding::DateTime { fraction_digits: 2 },
                mysql::Value::Date(2024, 12, 31, 0, 0, 0, 0)
            ),
            Value::Text("2024-12-31T00:00:00.00".into())
        );
    }

    #[test]
    fn bits_and_wide_unsigned_numbers() {
        assert_eq!(
            decode(Decoding::Bit, mysql::Value::Bytes(vec![0x01, 0x02])),
            Value::Int(258)
        );
        assert_eq!(
            decode(Decoding::Bit, mysql::Value::Bytes(vec![0xff; 8])),
            Value::UInt(u64::MAX)
        );
        assert_eq!(
            decode(Decoding::Integer, mysql::Value::UInt(u64::MAX)),
            Value::UInt(u64::MAX)
        );
    }

    #[test]
    fn text_protocol_values_are_parsed_by_column_type() {
        assert_eq!(
            decode(Decoding::Integer, mysql::Value::Bytes(b"-42".to_vec())),
            Value::Int(-42)
        );
        assert_eq!(
            decode(
                Decoding::DateTime { fraction_digits: 0 },
                mysql::Value::Bytes(b"2024-01-02 03:04:05".to_vec())
            ),
            Value::Text("2024-01-02T03:04:05".into())
        );
    }

    #[test]
    fn float_columns_keep_their_printed_precision() {
        assert_eq!(
            decode(Decoding::Float32, mysql::Value::Float(1.1)),
            Value::Float(1.1)
        );
    }
}
