//! Writes result rows straight to JSON text while enforcing the row and byte limits.

use base64::Engine as _;
use plenum_plugin_api::Value;

use super::Truncation;

/// The largest integer JSON readers represent exactly (2^53); larger ones become strings.
const MAX_SAFE_INTEGER: u64 = 1 << 53;

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

/// Appends one value's JSON: big integers and decimals as strings, bytes as base64,
/// non-finite floats as null, JSON documents embedded.
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
        Value::Decimal(text) | Value::Text(text) => write_string(out, text.as_str()),
        Value::Bytes(bytes) => write_string(
            out,
            &base64::engine::general_purpose::STANDARD.encode(bytes),
        ),
        Value::Json(text) => {
            match serde_json::from_str::<&serde_json::value::RawValue>(text.as_str()) {
                Ok(raw) => write_compact_json(out, raw.get().trim()),
                // A plugin that sends invalid JSON still gets its text through, as a string.
                Err(_) => write_string(out, text.as_str()),
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
