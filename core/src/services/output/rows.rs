//! Writes result rows straight to JSON text while enforcing the row and byte limits.

use base64::Engine as _;
use plenum_plugin_api::Value;

use super::Truncation;

/// The largest integer JSON readers represent exactly (2^53); larger ones become strings.
const MAX_SAFE_INTEGER: u64 = 1 << 53;

/// A count that follows the number rules of row values: a JSON number up to 2^53, a string
/// beyond (`rows_affected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub u64);

impl serde::Serialize for Count {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 > MAX_SAFE_INTEGER {
            serializer.collect_str(&self.0)
        } else {
            serializer.serialize_u64(self.0)
        }
    }
}

impl schemars::JsonSchema for Count {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Count".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A count: a number up to 2^53, a string of digits beyond.",
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^[0-9]+$"}
            ]
        })
    }
}

/// Where a writer may stream its rows once they grow past the in-memory threshold.
#[derive(Debug, Clone)]
pub struct Spill {
    /// The envelope up to and including `"rows":[`.
    pub prefix: Vec<u8>,
    /// Bytes held before streaming starts.
    pub threshold: usize,
}

/// The rows a writer produced.
#[derive(Debug)]
pub enum RowsOut {
    /// The JSON array, in memory.
    Buffered(Vec<u8>),
    /// The rows went to stdout; the array is closed.
    Streamed,
}

/// Accumulates rows as a JSON array (`[[…],[…]]`) within `max_rows` and `max_bytes`,
/// optionally streaming them to stdout when they outgrow memory.
#[derive(Debug)]
pub struct RowWriter {
    json: Vec<u8>,
    /// Bytes of the array so far, streamed or held.
    length: u64,
    rows: u64,
    max_rows: u64,
    max_bytes: u64,
    truncated_by: Option<Truncation>,
    spill: Option<Spill>,
    streaming: bool,
}

impl RowWriter {
    /// A writer that accepts at most `max_rows` rows and `max_bytes` bytes of row JSON.
    pub fn new(max_rows: u64, max_bytes: u64) -> Self {
        let mut json = Vec::with_capacity(4096);
        json.push(b'[');
        RowWriter {
            json,
            length: 1,
            rows: 0,
            max_rows,
            max_bytes,
            truncated_by: None,
            spill: None,
            streaming: false,
        }
    }

    /// The same writer, allowed to stream through [`super::stream`].
    pub fn with_spill(mut self, spill: Option<Spill>) -> Self {
        self.spill = spill;
        self
    }

    /// Rows accepted so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Bytes of row JSON accepted so far, streamed or held.
    pub fn bytes(&self) -> u64 {
        self.length
    }

    /// Which limit stopped the writer, if one did.
    pub fn truncated_by(&self) -> Option<Truncation> {
        self.truncated_by
    }

    /// Whether the writer takes no more rows.
    pub fn is_full(&self) -> bool {
        self.truncated_by.is_some()
    }

    /// How many more rows the writer can take before it must report truncation by rows.
    pub fn rows_left(&self) -> u64 {
        self.max_rows.saturating_sub(self.rows)
    }

    /// Offers one row; returns false (and records why) when a limit refuses it.
    pub fn push(&mut self, values: &[Value]) -> bool {
        if self.is_full() {
            return false;
        }
        if self.rows >= self.max_rows {
            self.truncated_by = Some(Truncation::MaxRows);
            return false;
        }
        // Measured before anything is serialised: one huge value must not be rendered whole
        // only to be thrown away (the JSON of a value is never shorter than this).
        let least = values
            .iter()
            .fold(2u64 + values.len() as u64, |sum, value| {
                sum.saturating_add(least_json_len(value))
            });
        if self.length.saturating_add(least).saturating_add(1) > self.max_bytes {
            self.truncated_by = Some(Truncation::MaxBytes);
            return false;
        }
        // The row is written in place and taken back if it does not fit: no second copy.
        let start = self.json.len();
        if self.rows > 0 {
            self.json.push(b',');
        }
        self.json.push(b'[');
        for (index, value) in values.iter().enumerate() {
            if index > 0 {
                self.json.push(b',');
            }
            write_value(&mut self.json, value);
        }
        self.json.push(b']');
        let added = (self.json.len() - start) as u64;
        // +1 for the closing bracket of the array.
        if self.length + added + 1 > self.max_bytes {
            self.json.truncate(start);
            self.truncated_by = Some(Truncation::MaxBytes);
            return false;
        }
        self.length += added;
        self.rows += 1;
        self.flush_if_large();
        true
    }

    fn flush_if_large(&mut self) {
        if self.streaming {
            if self.json.len() >= super::stream::CHUNK {
                super::stream::write(&self.json);
                self.json.clear();
            }
            return;
        }
        let Some(spill) = &self.spill else {
            return;
        };
        if self.json.len() < spill.threshold {
            return;
        }
        if super::stream::begin(&spill.prefix) {
            // The prefix ends with the array's opening bracket.
            super::stream::write(&self.json[1..]);
            self.json.clear();
            self.streaming = true;
        } else {
            self.spill = None;
        }
    }

    /// The rows: the JSON array in memory, or the note that they were streamed.
    pub fn finish(mut self) -> RowsOut {
        if self.streaming {
            super::stream::write(&self.json);
            super::stream::close_rows();
            RowsOut::Streamed
        } else {
            self.json.push(b']');
            RowsOut::Buffered(self.json)
        }
    }
}

/// The fewest bytes `value`'s JSON can take.
fn least_json_len(value: &Value) -> u64 {
    match value {
        Value::Decimal(text) | Value::Text(text) => text.len() as u64 + 2,
        Value::Json(text) => text.trim().len() as u64,
        Value::Bytes(bytes) => (bytes.len() as u64).div_ceil(3) * 4 + 2,
        _ => 1,
    }
}

/// The deepest nesting of a JSON value embedded as JSON; deeper ones become strings, since
/// common parsers refuse them (serde_json stops at 128).
const MAX_JSON_DEPTH: usize = 100;

/// Text from a plugin as valid UTF-8: a plugin built outside Rust's checks may hand over
/// bytes that are not, and those must never reach stdout raw.
pub fn valid_text(text: &str) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(text.as_bytes())
}

/// Appends one value's JSON: big integers and decimals as strings, bytes as base64,
/// non-finite floats as null, JSON documents embedded when every common parser reads them
/// (else as a string).
pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(flag) => out.extend_from_slice(if *flag { b"true" } else { b"false" }),
        // serde_json writes integers without allocating; one `to_string` per cell was a
        // measurable share of a large result.
        Value::Int(number) => write_integer(out, *number, number.unsigned_abs()),
        Value::UInt(number) => write_integer(out, *number, *number),
        Value::Float(number) => {
            if number.is_finite() {
                // serde_json writes the shortest representation that reads back exactly.
                let _ = serde_json::to_writer(&mut *out, number);
            } else {
                out.extend_from_slice(b"null");
            }
        }
        Value::Decimal(text) | Value::Text(text) => write_string(out, &valid_text(text)),
        Value::Bytes(bytes) => write_string(
            out,
            &base64::engine::general_purpose::STANDARD.encode(bytes),
        ),
        Value::Json(text) => {
            let text = valid_text(text);
            match serde_json::from_str::<&serde_json::value::RawValue>(&text) {
                Ok(raw) if portable_json(raw.get()) => write_compact_json(out, raw.get().trim()),
                // Invalid JSON, or JSON some readers refuse (too deep, a number beyond f64,
                // a lone surrogate), still gets its text through, as a string.
                _ => write_string(out, &text),
            }
        }
    }
}

/// An integer as a JSON number, or as a string beyond 2^53.
fn write_integer<N: serde::Serialize>(out: &mut Vec<u8>, number: N, magnitude: u64) {
    if magnitude > MAX_SAFE_INTEGER {
        out.push(b'"');
    }
    let _ = serde_json::to_writer(&mut *out, &number);
    if magnitude > MAX_SAFE_INTEGER {
        out.push(b'"');
    }
}

/// Whether valid JSON text is read alike by every common parser: nesting at most
/// [`MAX_JSON_DEPTH`], every number finite as a double, no unpaired surrogate escape.
fn portable_json(json: &str) -> bool {
    let bytes = json.as_bytes();
    let mut depth = 0usize;
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return false;
                }
                index += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                index += 1;
            }
            b'"' => match string_end(bytes, index + 1) {
                Some(end) => index = end,
                None => return false,
            },
            b'-' | b'0'..=b'9' => {
                let start = index;
                while bytes.get(index).is_some_and(|byte| {
                    matches!(byte, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                }) {
                    index += 1;
                }
                let finite = json
                    .get(start..index)
                    .and_then(|number| number.parse::<f64>().ok())
                    .is_some_and(f64::is_finite);
                if !finite {
                    return false;
                }
            }
            _ => index += 1,
        }
    }
    true
}

/// The index after the closing quote of the string whose content starts at `index`, or
/// `None` if it holds an unpaired surrogate escape.
fn string_end(bytes: &[u8], mut index: usize) -> Option<usize> {
    let hex = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .and_then(|digits| u16::from_str_radix(digits, 16).ok())
    };
    loop {
        match *bytes.get(index)? {
            b'"' => return Some(index + 1),
            b'\\' if bytes.get(index + 1) == Some(&b'u') => {
                let unit = hex(index + 2)?;
                index += 6;
                if (0xD800..0xDC00).contains(&unit) {
                    // A high surrogate must be followed by an escaped low one.
                    if bytes.get(index..index + 2) != Some(b"\\u") {
                        return None;
                    }
                    let low = hex(index + 2)?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return None;
                    }
                    index += 6;
                } else if (0xDC00..0xE000).contains(&unit) {
                    return None;
                }
            }
            b'\\' => index += 2,
            _ => index += 1,
        }
    }
}

/// Appends valid JSON text without the whitespace between tokens, so the envelope stays on
/// one line whatever the engine's JSON looked like.
fn write_compact_json(out: &mut Vec<u8>, json: &str) {
    if !json
        .bytes()
        .any(|byte| matches!(byte, b'\n' | b'\r' | b'\t'))
    {
        out.extend_from_slice(json.as_bytes());
        return;
    }
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json.as_bytes() {
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
            if byte == b'"' {
                in_string = true;
            }
            out.push(byte);
        }
    }
}

fn write_string(out: &mut Vec<u8>, text: &str) {
    let _ = serde_json::to_writer(&mut *out, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffered(writer: RowWriter) -> String {
        match writer.finish() {
            RowsOut::Buffered(bytes) => String::from_utf8(bytes).unwrap_or_default(),
            RowsOut::Streamed => "streamed".to_owned(),
        }
    }

    fn json(value: Value) -> String {
        let mut out = Vec::new();
        write_value(&mut out, &value);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn values_keep_their_meaning() {
        assert_eq!(json(Value::Null), "null");
        assert_eq!(json(Value::Int(-42)), "-42");
        assert_eq!(json(Value::Int(1 << 53)), "9007199254740992");
        assert_eq!(json(Value::Int((1 << 53) + 1)), "\"9007199254740993\"");
        assert_eq!(json(Value::Int(i64::MIN)), "\"-9223372036854775808\"");
        assert_eq!(json(Value::UInt(u64::MAX)), "\"18446744073709551615\"");
        assert_eq!(json(Value::Float(1.5)), "1.5");
        assert_eq!(json(Value::Float(f64::NAN)), "null");
        assert_eq!(json(Value::Float(f64::NEG_INFINITY)), "null");
        assert_eq!(json(Value::Decimal("12.50".into())), "\"12.50\"");
        assert_eq!(json(Value::Text("a\"b\n".into())), "\"a\\\"b\\n\"");
        assert_eq!(json(Value::Bytes(vec![0u8, 255, 1].into())), "\"AP8B\"");
        assert_eq!(json(Value::Json(" {\"a\": [1]} ".into())), "{\"a\": [1]}");
        assert_eq!(json(Value::Json("{oops".into())), "\"{oops\"");
        assert_eq!(
            json(Value::Json(
                "{\n  \"a b\": [1,\n 2],\t\"c\": \"x\\\" \\n y\"\r\n}".into()
            )),
            "{\"a b\":[1,2],\"c\":\"x\\\" \\n y\"}"
        );
        assert_eq!(json(Value::Bool(true)), "true");
    }

    #[test]
    fn json_that_some_reader_refuses_becomes_a_string() {
        let deep = format!("{}{}", "[".repeat(101), "]".repeat(101));
        assert_eq!(
            json(Value::Json(deep.as_str().into())),
            format!("\"{deep}\"")
        );
        let fine = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(json(Value::Json(fine.as_str().into())), fine);
        assert_eq!(json(Value::Json("1e999999".into())), "\"1e999999\"");
        assert_eq!(json(Value::Json("[-1e400]".into())), "\"[-1e400]\"");
        assert_eq!(
            json(Value::Json("123456789012345678901234567890".into())),
            "123456789012345678901234567890"
        );
        for lone in [r#""\ud800""#, r#""\udc00 x""#, r#"{"a":"\ud800\u0041"}"#] {
            let out = json(Value::Json(lone.into()));
            assert!(
                out.starts_with('"') && serde_json::from_str::<String>(&out).is_ok(),
                "{lone} -> {out}"
            );
        }
        assert_eq!(
            json(Value::Json(r#""\ud83d\ude00""#.into())),
            r#""\ud83d\ude00""#
        );
    }

    #[test]
    fn a_huge_value_is_refused_before_it_is_serialised() {
        let mut writer = RowWriter::new(10, 1000);
        let huge = "x".repeat(5000);
        assert!(!writer.push(&[Value::Text(huge.as_str().into())]));
        assert_eq!(writer.truncated_by(), Some(Truncation::MaxBytes));
        assert_eq!(buffered(writer), "[]");
    }

    #[test]
    fn row_limit_stops_and_flags() {
        let mut writer = RowWriter::new(2, u64::MAX);
        assert!(writer.push(&[Value::Int(1)]));
        assert!(writer.push(&[Value::Int(2)]));
        assert!(!writer.push(&[Value::Int(3)]));
        assert_eq!(writer.truncated_by(), Some(Truncation::MaxRows));
        assert_eq!(buffered(writer), "[[1],[2]]");
    }

    #[test]
    fn byte_limit_keeps_output_within_budget() {
        let mut writer = RowWriter::new(100, 12);
        assert!(writer.push(&[Value::Int(1)])); // [[1]] = 5 bytes
        assert!(writer.push(&[Value::Int(2)])); // [[1],[2]] = 9 bytes
        assert!(!writer.push(&[Value::Int(33)])); // would be 14 bytes
        assert_eq!(writer.truncated_by(), Some(Truncation::MaxBytes));
        let out = buffered(writer);
        assert!(out.len() <= 12);
        assert_eq!(out, "[[1],[2]]");
    }
}
