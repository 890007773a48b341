//! DuckDB values as Plenum values: nothing rounded, nested values as JSON.

use duckdb::types::{TimeUnit, Value as Duck};
use plenum_plugin_api::{PluginError, Value};
use serde_json::{json, Value as Json};

/// A DuckDB error as a query error (DuckDB's messages hold no credentials of ours).
pub(crate) fn query_error(error: duckdb::Error) -> PluginError {
    PluginError::query(error.to_string())
}

/// One value of a result row.
pub(crate) fn to_value(value: Duck) -> Value {
    match value {
        Duck::Null => Value::Null,
        Duck::Boolean(b) => Value::Bool(b),
        Duck::TinyInt(i) => Value::Int(i.into()),
        Duck::SmallInt(i) => Value::Int(i.into()),
        Duck::Int(i) => Value::Int(i.into()),
        Duck::BigInt(i) => Value::Int(i),
        Duck::UTinyInt(i) => Value::Int(i.into()),
        Duck::USmallInt(i) => Value::Int(i.into()),
        Duck::UInt(i) => Value::Int(i.into()),
        Duck::UBigInt(i) => Value::UInt(i),
        // Exact, as text: beyond what a JSON number keeps.
        Duck::HugeInt(i) => Value::Decimal(i.to_string().into()),
        Duck::Float(f) => Value::Float(f.into()),
        Duck::Double(f) => Value::Float(f),
        Duck::Decimal(d) => Value::Decimal(d.to_string().into()),
        Duck::Text(text) => Value::Text(text.into()),
        Duck::Enum(text) => Value::Text(text.into()),
        Duck::Blob(bytes) => Value::Bytes(bytes.into()),
        Duck::Timestamp(unit, n) => Value::Text(timestamp(unit, n).into()),
        Duck::Date32(days) => Value::Text(date(days.into()).into()),
        Duck::Time64(unit, n) => Value::Text(time_of_day(micros(unit, n)).into()),
        Duck::Interval {
            months,
            days,
            nanos,
        } => Value::Text(interval(months, days, nanos).into()),
        nested @ (Duck::List(_)
        | Duck::Array(_)
        | Duck::Struct(_)
        | Duck::Map(_)
        | Duck::Union(_)) => Value::Json(to_json(nested).to_string().into()),
    }
}

/// A value inside a LIST, STRUCT, MAP or UNION, as JSON (exact numbers beyond 2^53 as text).
fn to_json(value: Duck) -> Json {
    match to_value_nested(value) {
        Ok(json) => json,
        Err(value) => match to_value(value) {
            Value::Null => Json::Null,
            Value::Bool(b) => json!(b),
            Value::Int(i) if i.unsigned_abs() <= 1 << 53 => json!(i),
            Value::Int(i) => json!(i.to_string()),
            Value::UInt(u) if u <= 1 << 53 => json!(u),
            Value::UInt(u) => json!(u.to_string()),
            Value::Float(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
            Value::Decimal(text) | Value::Text(text) => json!(text.as_str()),
            Value::Json(text) => serde_json::from_str(&text).unwrap_or(Json::Null),
            Value::Bytes(bytes) => {
                use base64::Engine;
                json!(base64::engine::general_purpose::STANDARD.encode(bytes.as_slice()))
            }
        },
    }
}

/// Nested values become JSON directly; others come back to be converted as scalars.
fn to_value_nested(value: Duck) -> Result<Json, Duck> {
    match value {
        Duck::List(items) | Duck::Array(items) => {
            Ok(Json::Array(items.into_iter().map(to_json).collect()))
        }
        Duck::Struct(fields) => Ok(Json::Object(
            fields
                .iter()
                .map(|(name, value)| (name.clone(), to_json(value.clone())))
                .collect(),
        )),
        // Keys may be any type: a list of {key, value} objects keeps them all.
        Duck::Map(entries) => Ok(Json::Array(
            entries
                .iter()
                .map(|(key, value)| json!({"key": to_json(key.clone()), "value": to_json(value.clone())}))
                .collect(),
        )),
        Duck::Union(inner) => Ok(to_json(*inner)),
        other => Err(other),
    }
}

fn micros(unit: TimeUnit, n: i64) -> i64 {
    match unit {
        TimeUnit::Second => n.saturating_mul(1_000_000),
        TimeUnit::Millisecond => n.saturating_mul(1_000),
        TimeUnit::Microsecond => n,
        TimeUnit::Nanosecond => n.div_euclid(1_000),
    }
}

/// ISO 8601 (UTC for TIMESTAMP WITH TIME ZONE, which DuckDB hands over in UTC).
fn timestamp(unit: TimeUnit, n: i64) -> String {
    let micros = micros(unit, n);
    let days = micros.div_euclid(86_400_000_000);
    let rest = micros.rem_euclid(86_400_000_000);
    format!("{}T{}", date(days), time_of_day(rest))
}

fn time_of_day(micros: i64) -> String {
    let seconds = micros / 1_000_000;
    let fraction = micros % 1_000_000;
    let clock = format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    if fraction == 0 {
        clock
    } else {
        format!("{clock}.{fraction:06}")
    }
}

/// The civil date of a day count since 1970-01-01 (proleptic Gregorian).
fn date(days: i64) -> String {
    // Howard Hinnant's days_from_civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// ISO 8601 duration: `P1Y2M3DT4H5M6.5S`, `P0D` for zero.
fn interval(months: i32, days: i32, nanos: i64) -> String {
    let mut text = String::from("P");
    let (years, months) = (months / 12, months % 12);
    if years != 0 {
        text.push_str(&format!("{years}Y"));
    }
    if months != 0 {
        text.push_str(&format!("{months}M"));
    }
    if days != 0 {
        text.push_str(&format!("{days}D"));
    }
    if nanos != 0 {
        let micros = nanos / 1_000;
        let (hours, rest) = (micros / 3_600_000_000, micros % 3_600_000_000);
        let (minutes, rest) = (rest / 60_000_000, rest % 60_000_000);
        text.push('T');
        if hours != 0 {
            text.push_str(&format!("{hours}H"));
        }
        if minutes != 0 {
            text.push_str(&format!("{minutes}M"));
        }
        if rest != 0 {
            let (seconds, fraction) = (rest / 1_000_000, (rest % 1_000_000).abs());
            if fraction == 0 {
                text.push_str(&format!("{seconds}S"));
            } else {
                text.push_str(&format!("{seconds}.{fraction:06}S"));
            }
        }
    }
    if text == "P" {
        text.push_str("0D");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_times_and_intervals() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(19_723), "2024-01-01");
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(
            timestamp(TimeUnit::Microsecond, 1_704_067_200_500_000),
            "2024-01-01T00:00:00.500000"
        );
        assert_eq!(interval(14, 3, 3_723_000_000_000), "P1Y2M3DT1H2M3S");
        assert_eq!(interval(0, 0, 0), "P0D");
    }
}
