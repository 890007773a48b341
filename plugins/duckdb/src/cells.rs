//! One cell of a streamed chunk (an Arrow array DuckDB exported) as a Plenum value: scalars
//! read directly, nested values through duckdb-rs's `ValueRef` and [`crate::values`].

use duckdb::arrow::array::{
    self, Array, ArrayRef, DictionaryArray, FixedSizeBinaryArray, FixedSizeListArray, ListArray,
    MapArray, StructArray,
};
use duckdb::arrow::datatypes::{
    DataType, IntervalUnit, TimeUnit, UInt16Type, UInt32Type, UInt8Type,
};
use duckdb::types::{EnumType, ListType, TimeUnit as DuckUnit, Value as Duck, ValueRef};
use plenum_plugin_api::{PluginError, PluginResult, Value};

use crate::values::to_value;

/// What the DuckDB type says that the Arrow type does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    /// Nothing.
    Plain,
    /// `JSON` (a VARCHAR alias): the text is JSON.
    Json,
}

fn wrong(column: &ArrayRef) -> PluginError {
    PluginError::internal(format!(
        "DuckDB exported a {} array that does not match its type",
        column.data_type()
    ))
}

macro_rules! read {
    ($column:expr, $kind:ty, $row:expr) => {
        $column
            .as_any()
            .downcast_ref::<$kind>()
            .ok_or_else(|| wrong($column))?
            .value($row)
    };
}

/// An exact decimal text of `value` × 10^-`scale`.
fn decimal(value: i128, scale: i8) -> String {
    if scale <= 0 {
        return value.to_string();
    }
    let digits = value.unsigned_abs().to_string();
    let scale = scale as usize;
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = digits.split_at(digits.len() - scale);
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{whole}.{fraction}")
}

/// The value at `row` of `column`.
pub(crate) fn cell(column: &ArrayRef, row: usize, hint: Hint) -> PluginResult<Value> {
    if column.is_null(row) {
        return Ok(Value::Null);
    }
    Ok(match column.data_type() {
        DataType::Utf8 => text(read!(column, array::StringArray, row), hint),
        DataType::LargeUtf8 => text(read!(column, array::LargeStringArray, row), hint),
        DataType::Utf8View => text(read!(column, array::StringViewArray, row), hint),
        DataType::Binary => Value::Bytes(read!(column, array::BinaryArray, row).to_vec().into()),
        DataType::LargeBinary => {
            Value::Bytes(read!(column, array::LargeBinaryArray, row).to_vec().into())
        }
        DataType::FixedSizeBinary(_) => {
            Value::Bytes(read!(column, FixedSizeBinaryArray, row).to_vec().into())
        }
        DataType::Boolean => Value::Bool(read!(column, array::BooleanArray, row)),
        DataType::Int8 => Value::Int(read!(column, array::Int8Array, row).into()),
        DataType::Int16 => Value::Int(read!(column, array::Int16Array, row).into()),
        DataType::Int32 => Value::Int(read!(column, array::Int32Array, row).into()),
        DataType::Int64 => Value::Int(read!(column, array::Int64Array, row)),
        DataType::UInt8 => Value::Int(read!(column, array::UInt8Array, row).into()),
        DataType::UInt16 => Value::Int(read!(column, array::UInt16Array, row).into()),
        DataType::UInt32 => Value::Int(read!(column, array::UInt32Array, row).into()),
        DataType::UInt64 => Value::UInt(read!(column, array::UInt64Array, row)),
        DataType::Float32 => Value::Float(read!(column, array::Float32Array, row).into()),
        DataType::Float64 => Value::Float(read!(column, array::Float64Array, row)),
        // DECIMAL, and HUGEINT as DECIMAL(38,0): exact text, beyond what a JSON number keeps.
        DataType::Decimal128(_, scale) => {
            Value::Decimal(decimal(read!(column, array::Decimal128Array, row), *scale).into())
        }
        DataType::Date32 => to_value(Duck::Date32(read!(column, array::Date32Array, row))),
        DataType::Time64(TimeUnit::Microsecond) => to_value(Duck::Time64(
            DuckUnit::Microsecond,
            read!(column, array::Time64MicrosecondArray, row),
        )),
        DataType::Time64(TimeUnit::Nanosecond) => to_value(Duck::Time64(
            DuckUnit::Nanosecond,
            read!(column, array::Time64NanosecondArray, row),
        )),
        DataType::Timestamp(unit, _) => {
            let (unit, n) = match unit {
                TimeUnit::Second => (
                    DuckUnit::Second,
                    read!(column, array::TimestampSecondArray, row),
                ),
                TimeUnit::Millisecond => (
                    DuckUnit::Millisecond,
                    read!(column, array::TimestampMillisecondArray, row),
                ),
                TimeUnit::Microsecond => (
                    DuckUnit::Microsecond,
                    read!(column, array::TimestampMicrosecondArray, row),
                ),
                TimeUnit::Nanosecond => (
                    DuckUnit::Nanosecond,
                    read!(column, array::TimestampNanosecondArray, row),
                ),
            };
            to_value(Duck::Timestamp(unit, n))
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let value = read!(column, array::IntervalMonthDayNanoArray, row);
            to_value(Duck::Interval {
                months: value.months,
                days: value.days,
                nanos: value.nanoseconds,
            })
        }
        _ => to_value(nested(column, row)?),
    })
}

fn text(text: &str, hint: Hint) -> Value {
    match hint {
        Hint::Json => Value::Json(text.into()),
        Hint::Plain => Value::Text(text.into()),
    }
}

/// LIST, ARRAY, STRUCT, MAP, UNION and ENUM, owned through duckdb-rs's `ValueRef`.
fn nested(column: &ArrayRef, row: usize) -> PluginResult<Duck> {
    let any = column.as_any();
    let value = match column.data_type() {
        DataType::List(_) => ValueRef::List(
            ListType::Regular(
                any.downcast_ref::<ListArray>()
                    .ok_or_else(|| wrong(column))?,
            ),
            row,
        ),
        DataType::LargeList(_) => ValueRef::List(
            ListType::Large(
                any.downcast_ref::<array::LargeListArray>()
                    .ok_or_else(|| wrong(column))?,
            ),
            row,
        ),
        DataType::FixedSizeList(..) => ValueRef::Array(
            any.downcast_ref::<FixedSizeListArray>()
                .ok_or_else(|| wrong(column))?,
            row,
        ),
        DataType::Struct(_) => ValueRef::Struct(
            any.downcast_ref::<StructArray>()
                .ok_or_else(|| wrong(column))?,
            row,
        ),
        DataType::Map(..) => ValueRef::Map(
            any.downcast_ref::<MapArray>()
                .ok_or_else(|| wrong(column))?,
            row,
        ),
        DataType::Union(..) => ValueRef::Union(column, row),
        DataType::Dictionary(key, _) => ValueRef::Enum(
            match key.as_ref() {
                DataType::UInt8 => EnumType::UInt8(
                    any.downcast_ref::<DictionaryArray<UInt8Type>>()
                        .ok_or_else(|| wrong(column))?,
                ),
                DataType::UInt16 => EnumType::UInt16(
                    any.downcast_ref::<DictionaryArray<UInt16Type>>()
                        .ok_or_else(|| wrong(column))?,
                ),
                DataType::UInt32 => EnumType::UInt32(
                    any.downcast_ref::<DictionaryArray<UInt32Type>>()
                        .ok_or_else(|| wrong(column))?,
                ),
                _ => return Err(wrong(column)),
            },
            row,
        ),
        other => {
            return Err(PluginError::unsupported(format!(
                "DuckDB values of Arrow type {other} are not supported"
            )))
        }
    };
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal(110, 2), "1.10");
        assert_eq!(decimal(-5, 3), "-0.005");
        assert_eq!(decimal(0, 2), "0.00");
        assert_eq!(decimal(i128::MAX, 0), i128::MAX.to_string());
        assert_eq!(
            decimal(-12_345_678_901_234_567_890_123_456_789_012_345_678, 10),
            "-1234567890123456789012345678.9012345678"
        );
    }
}
