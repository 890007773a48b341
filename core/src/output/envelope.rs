//! The one JSON document every invocation prints.

use std::sync::atomic::{AtomicBool, Ordering};

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::{ErrorCode, Failure};
use crate::sanitize::Sanitizer;

/// Why a result was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Truncation {
    /// More rows existed than `max_rows`.
    MaxRows,
    /// The next row would have exceeded `max_bytes`.
    MaxBytes,
    /// Most of the call's time was used, so the rest was left out (the introspection summary
    /// stops early instead of failing with TIMEOUT).
    Timeout,
}

/// Facts about how a query ran.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Meta {
    /// Wall time from the first statement's start to the last row read, in milliseconds.
    pub execution_ms: u64,
    /// Rows in `data.rows`.
    pub rows_returned: u64,
    /// Whether rows were left out because of a limit.
    pub truncated: bool,
    /// Which limit cut the result, when `truncated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated_by: Option<Truncation>,
    /// Statements executed.
    pub statements: usize,
    /// The access mode the session was opened with (`read`, `write`, `ddl`).
    pub access: String,
    /// Rows of the result skipped before this page (`--offset`), when not 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// When a single read was cut by a limit: the `offset` that returns the next page. Paging
    /// re-runs the query, so pages are consistent only if the data does not change between
    /// calls and the query has an `ORDER BY` that makes the row order total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u64>,
}

/// The error part of a failed envelope.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorBody {
    /// Stable error code.
    pub code: ErrorCode,
    /// What went wrong and, where possible, what to do about it. Scrubbed of secrets.
    pub message: String,
    /// The engine's SQLSTATE, when it reported one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqlstate: Option<String>,
}

/// The envelope of any command. `data` and `meta` are present iff `ok`; `error` iff not.
#[derive(Debug, Serialize)]
pub struct Envelope {
    /// Whether the command succeeded. The exit code is 0 iff this is true.
    pub ok: bool,
    /// The engine the command ran against, when one was involved.
    pub engine: Option<String>,
    /// The command (`query`, `plugins`, `introspect`, …).
    pub command: String,
    /// The command's result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    /// Facts about the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// The failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

impl Envelope {
    /// A successful envelope.
    pub fn success(
        engine: Option<String>,
        command: &str,
        data: Box<RawValue>,
        meta: Option<Meta>,
    ) -> Self {
        Envelope {
            ok: true,
            engine,
            command: command.to_owned(),
            data: Some(data),
            meta,
            error: None,
        }
    }

    /// A failed envelope; the message is scrubbed with `sanitizer`.
    pub fn failure(
        engine: Option<String>,
        command: &str,
        failure: &Failure,
        sanitizer: &Sanitizer,
    ) -> Self {
        Envelope {
            ok: false,
            engine,
            command: command.to_owned(),
            data: None,
            meta: None,
            error: Some(ErrorBody {
                code: failure.code,
                message: sanitizer.field(&failure.message, crate::sanitize::MAX_MESSAGE_BYTES),
                sqlstate: failure
                    .sqlstate
                    .as_deref()
                    .and_then(|state| sanitizer.sqlstate(state)),
            }),
        }
    }

    /// The envelope as one line of JSON, always valid UTF-8: the last net under strings from a
    /// plugin that claimed to be UTF-8 and were not (every path checks them at the boundary;
    /// this catches one that was missed, e.g. a new field).
    pub fn to_json(&self) -> String {
        let json = self.render();
        if std::str::from_utf8(json.as_bytes()).is_ok() {
            json
        } else {
            String::from_utf8_lossy(json.as_bytes()).into_owned()
        }
    }

    fn render(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|error| {
            format!(
                r#"{{"ok":false,"engine":null,"command":"{}","error":{{"code":"INTERNAL_ERROR","message":"cannot render the result: {}"}}}}"#,
                self.command.escape_default(),
                error.to_string().escape_default()
            )
        })
    }
}

static PRINTED: AtomicBool = AtomicBool::new(false);

/// Claims stdout for the one document of this process; false if it was claimed before.
pub fn claim_stdout() -> bool {
    !PRINTED.swap(true, Ordering::SeqCst)
}

/// Prints `json` and a newline on stdout unless something was printed already, so a
/// watchdog and the main thread can never produce two documents. Returns whether it printed.
pub fn print_once(json: &str) -> bool {
    if !claim_stdout() {
        return false;
    }
    // The envelope starts with `ok`, which decides the exit code.
    let ok = json.starts_with(r#"{"ok":true"#);
    let json = super::pretty::document(json);
    let mut line = Vec::with_capacity(json.len() + 1);
    line.extend_from_slice(json.as_bytes());
    line.push(b'\n');
    // A closed stdout (e.g. `| head`) is not worth a second error.
    let _ = super::stdio::write_all(&line);
    super::stdio::document_printed(ok);
    true
}
