//! `--pretty`: the same JSON document, indented for a person.
//!
//! The envelope is rendered compact (some of it straight from row bytes, some of it streamed in
//! chunks), so indenting is a pass over the finished text rather than a second serializer: it
//! keeps key order and number spelling exactly, and works chunk by chunk on a streamed result.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static PRETTY: AtomicBool = AtomicBool::new(false);

/// The indenter of a streamed envelope: one per process, fed in the order chunks are written.
static STREAM: Mutex<Indenter> = Mutex::new(Indenter::new());

/// Turns indenting on for everything this process prints as its envelope.
pub fn enable() {
    PRETTY.store(true, Ordering::SeqCst);
}

fn enabled() -> bool {
    PRETTY.load(Ordering::SeqCst)
}

/// `json` as it should be printed: indented when `--pretty` was given, as is otherwise.
pub fn document(json: &str) -> std::borrow::Cow<'_, str> {
    if !enabled() {
        return json.into();
    }
    let mut indenter = Indenter::new();
    let mut out = Vec::with_capacity(json.len() * 2);
    indenter.feed(json.as_bytes(), &mut out);
    // Only ASCII is inserted, between tokens, so the bytes stay UTF-8.
    String::from_utf8(out)
        .map(Into::into)
        .unwrap_or_else(|_| json.into())
}

/// A chunk of a streamed envelope as it should be written.
pub fn stream_chunk(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !enabled() {
        return bytes.into();
    }
    let Ok(mut indenter) = STREAM.lock() else {
        return bytes.into();
    };
    let mut out = Vec::with_capacity(bytes.len() * 2);
    indenter.feed(bytes, &mut out);
    out.into()
}

/// Indents compact JSON text fed in any number of pieces. An array inside an array (a row of
/// `rows`, a row of `--check-only`'s table) stays on one line, so a result reads as a table.
#[derive(Debug, Default)]
pub struct Indenter {
    /// The open `{` and `[`, outermost first.
    open: Vec<u8>,
    /// While inside an array of an array: the nesting depth at which that array opened.
    inline_from: Option<usize>,
    in_string: bool,
    escaped: bool,
    /// A `{` or `[` was written and nothing after it yet: `{}` and `[]` stay on one line.
    opened: bool,
}

impl Indenter {
    /// An indenter at the start of a document.
    pub const fn new() -> Self {
        Indenter {
            open: Vec::new(),
            inline_from: None,
            in_string: false,
            escaped: false,
            opened: false,
        }
    }

    fn newline(&self, out: &mut Vec<u8>) {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', self.open.len() * 2));
    }

    fn settle(&mut self, out: &mut Vec<u8>) {
        if self.opened {
            self.opened = false;
            self.newline(out);
        }
    }

    /// Appends the indented form of `bytes` to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        for &byte in bytes {
            if self.in_string {
                out.push(byte);
                if self.escaped {
                    self.escaped = false;
                } else if byte == b'\\' {
                    self.escaped = true;
                } else if byte == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            let inline = self.inline_from.is_some();
            match byte {
                b'{' | b'[' => {
                    self.settle(out);
                    if !inline && byte == b'[' && self.open.last() == Some(&b'[') {
                        self.inline_from = Some(self.open.len());
                    }
                    self.open.push(byte);
                    out.push(byte);
                    self.opened = self.inline_from.is_none();
                }
                b'}' | b']' => {
                    self.open.pop();
                    if inline {
                        if self.inline_from == Some(self.open.len()) {
                            self.inline_from = None;
                        }
                    } else if self.opened {
                        self.opened = false;
                    } else {
                        self.newline(out);
                    }
                    out.push(byte);
                }
                b',' if inline => out.extend_from_slice(b", "),
                b',' => {
                    out.push(b',');
                    self.newline(out);
                }
                b':' => out.extend_from_slice(b": "),
                // Between documents (the newline that ends a streamed one) it stays.
                b' ' | b'\t' | b'\r' | b'\n' if self.open.is_empty() => out.push(byte),
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ => {
                    self.settle(out);
                    if byte == b'"' {
                        self.in_string = true;
                    }
                    out.push(byte);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Indenter;

    fn indent(pieces: &[&str]) -> String {
        let mut indenter = Indenter::new();
        let mut out = Vec::new();
        for piece in pieces {
            indenter.feed(piece.as_bytes(), &mut out);
        }
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn indents_objects_and_arrays_keeping_order_and_spelling() {
        let compact = r#"{"ok":true,"data":{"rows":[[1,"a, b: [c]"],[2.50,null],[3,{"k":[1,{}]}]],"empty":[],"none":{}},"z":"é\"}"}"#;
        let expected = r#"{
  "ok": true,
  "data": {
    "rows": [
      [1, "a, b: [c]"],
      [2.50, null],
      [3, {"k": [1, {}]}]
    ],
    "empty": [],
    "none": {}
  },
  "z": "é\"}"
}"#;
        assert_eq!(indent(&[compact]), expected);
        // The same text in pieces split anywhere, as a streamed result arrives.
        let pieces: Vec<String> = compact.chars().map(String::from).collect();
        let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
        assert_eq!(indent(&pieces), expected);
        assert_eq!(indent(&[compact, "\n"]), format!("{expected}\n"));
        let value: serde_json::Value = serde_json::from_str(expected).unwrap_or_default();
        assert_eq!(
            value,
            serde_json::from_str::<serde_json::Value>(compact).unwrap_or_default()
        );
    }
}
