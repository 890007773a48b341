//! The one JSON document every invocation prints: whole envelopes, and the pieces of a
//! streamed one (its prefix and its tails). Every byte of envelope JSON is written here.

use std::time::Instant;

use plenum_plugin_api::AccessMode;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::value::RawValue;

use super::data::{ColumnOut, QueryDataOut};
use super::rows::Count;
use crate::services::error::{ErrorCode, Failure};
use crate::services::sanitize::Sanitizer;
use crate::services::words::{self, Vocabulary};

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

impl Meta {
    /// The meta of a call that started at `started`, ran `statements` in an `access` session
    /// and returned no rows; [`Meta::rows`] and [`Meta::page`] add the rest. Every `meta`
    /// block is made here.
    pub fn new(started: Instant, access: AccessMode, statements: usize) -> Meta {
        Meta {
            execution_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            rows_returned: 0,
            truncated: false,
            truncated_by: None,
            statements,
            access: access.as_str().to_owned(),
            offset: None,
            next_offset: None,
        }
    }

    /// The same meta with `returned` rows, cut by `truncated_by` if a limit cut them.
    pub fn rows(mut self, returned: u64, truncated_by: Option<Truncation>) -> Meta {
        self.rows_returned = returned;
        self.truncated = truncated_by.is_some();
        self.truncated_by = truncated_by;
        self
    }

    /// The same meta for a page that skipped `offset` rows (shown when not 0), with the
    /// offset of the next page when there is one.
    pub fn page(mut self, offset: u64, next_offset: Option<u64>) -> Meta {
        self.offset = (offset > 0).then_some(offset);
        self.next_offset = next_offset;
        self
    }
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
                message: sanitizer.field(
                    &failure.message,
                    crate::services::sanitize::MAX_MESSAGE_BYTES,
                ),
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

/// `data` of a `query` envelope whose rows are the JSON array `rows`.
pub fn query_data(
    columns: Vec<ColumnOut>,
    rows: &RawValue,
    rows_affected: Option<Count>,
) -> Result<Box<RawValue>, Failure> {
    let data = QueryDataOut {
        columns,
        rows,
        rows_affected,
    };
    serde_json::value::to_raw_value(&data)
        .map_err(|error| Failure::internal(format!("cannot render the result: {error}")))
}

// A streamed `query` envelope is `streamed_prefix`, the rows, `]`, then one tail. `ok` comes
// last since it is known last; otherwise it holds the same document as `Envelope::success`
// with `query_data` (JSON key order carries no meaning).

/// The start of a streamed `query` envelope, up to and including `"rows":[`.
pub fn streamed_prefix(engine: &str, columns: &[ColumnOut]) -> String {
    format!(
        r#"{{"engine":{},"command":"query","data":{{"columns":{},"rows":["#,
        serde_json::to_string(engine).unwrap_or_else(|_| "null".into()),
        serde_json::to_string(columns).unwrap_or_else(|_| "[]".into()),
    )
}

/// The end of a streamed envelope whose rows were all written (after the rows' `]`).
pub fn streamed_success_tail(rows_affected: Option<Count>, meta: &Meta) -> String {
    format!(
        r#","rows_affected":{}}},"meta":{},"ok":true}}"#,
        serde_json::to_string(&rows_affected).unwrap_or_else(|_| "null".into()),
        serde_json::to_string(meta).unwrap_or_else(|_| "{}".into()),
    )
}

/// The end of a streamed envelope whose query failed after rows were written.
pub fn streamed_failure_tail(failure: &Failure, sanitizer: &Sanitizer) -> String {
    let envelope = Envelope::failure(None, "query", failure, sanitizer);
    format!(
        r#","rows_affected":null}},"error":{},"ok":false}}"#,
        serde_json::to_string(&envelope.error).unwrap_or_else(|_| "null".into())
    )
}

/// What a command produced, before it becomes an envelope.
pub struct Response {
    /// The engine involved.
    pub engine: Option<String>,
    /// The command name.
    pub command: &'static str,
    /// Data and meta, or the failure.
    pub outcome: Result<(Box<RawValue>, Option<Meta>), Failure>,
    /// Scrubs the failure message.
    pub sanitizer: Sanitizer,
}

impl Response {
    /// A response that carries `data`.
    pub fn data(
        engine: Option<String>,
        command: &'static str,
        data: &impl serde::Serialize,
        meta: Option<Meta>,
        sanitizer: Sanitizer,
    ) -> Self {
        let outcome = serde_json::value::to_raw_value(data)
            .map(|raw| (raw, meta))
            .map_err(|error| Failure::internal(format!("cannot render the result: {error}")));
        Response {
            engine,
            command,
            outcome,
            sanitizer,
        }
    }

    /// A failed response.
    pub fn failure(
        engine: Option<String>,
        command: &'static str,
        failure: Failure,
        sanitizer: Sanitizer,
    ) -> Self {
        Response {
            engine,
            command,
            outcome: Err(failure),
            sanitizer,
        }
    }

    /// Whether the command succeeded.
    pub fn ok(&self) -> bool {
        self.outcome.is_ok()
    }

    /// The envelope's JSON, every reference in its messages worded by `vocabulary`. Only
    /// messages are worded: the error's, and the data of commands whose data is messages and
    /// names (`check`, `plugins`, `connect`), never rows or a schema's contents.
    pub fn to_json(mut self, vocabulary: &dyn Vocabulary) -> String {
        if let Err(failure) = &mut self.outcome {
            failure.message = words::render(&failure.message, vocabulary).into_owned();
        }
        let worded_data = matches!(self.command, "check" | "plugins" | "connect");
        let json = self.envelope().to_json();
        if worded_data {
            words::render(&json, vocabulary).into_owned()
        } else {
            json
        }
    }

    /// The envelope to print.
    pub fn envelope(self) -> Envelope {
        match self.outcome {
            Ok((data, meta)) => Envelope::success(self.engine, self.command, data, meta),
            Err(failure) => Envelope::failure(self.engine, self.command, &failure, &self.sanitizer),
        }
    }
}

/// The message of a crash once plugin code ran, as a literal for `concat!`.
macro_rules! crash_message {
    () => {
        "the process crashed (an abort or a memory fault, most likely in the plugin's native \
         code) before plenum answered"
    };
}

/// The message of a crash before any plugin's code ran, as a literal for `concat!`.
macro_rules! host_crash_message {
    () => {
        "plenum crashed (an abort or a memory fault) before it answered, with no plugin \
         loaded: a bug in plenum; please report it with the command line"
    };
}

/// The message of the document that answers for a crash (see `super::crash`).
pub const CRASH_MESSAGE: &str = crash_message!();

/// The whole document that answers for a crash, written by a signal handler that may not
/// build one: what [`Envelope::failure`] makes of [`CRASH_MESSAGE`] (a test holds them equal).
pub const CRASH_DOCUMENT: &str = concat!(
    r#"{"ok":false,"engine":null,"command":"unknown","error":{"code":"PLUGIN_ERROR","message":""#,
    crash_message!(),
    r#""}}"#
);

/// The end of a started stream, for a crash: [`streamed_failure_tail`] of [`CRASH_MESSAGE`].
pub const CRASH_STREAM_TAIL: &str = concat!(
    r#","rows_affected":null},"error":{"code":"PLUGIN_ERROR","message":""#,
    crash_message!(),
    r#""},"ok":false}"#
);

/// The message for a crash before any plugin's code ran: then it was Plenum's own.
pub const HOST_CRASH_MESSAGE: &str = host_crash_message!();

/// [`Envelope::failure`] of [`HOST_CRASH_MESSAGE`] as an internal error (a test holds them
/// equal).
pub const HOST_CRASH_DOCUMENT: &str = concat!(
    r#"{"ok":false,"engine":null,"command":"unknown","error":{"code":"INTERNAL_ERROR","#,
    r#""message":""#,
    host_crash_message!(),
    r#""}}"#
);

/// Prints the failure document for a plugin that ended the process with `message`: the end
/// of a streamed envelope, or a whole one.
pub fn answer_for_plugin_exit(message: &str) {
    let failure = Failure::plugin(message);
    let sanitizer = Sanitizer::new();
    if super::stream::started() {
        super::stream::finish(&streamed_failure_tail(&failure, &sanitizer));
    } else {
        super::print::print_once(
            &Envelope::failure(None, "unknown", &failure, &sanitizer).to_json(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    fn parse(json: &str) -> Json {
        serde_json::from_str(json).unwrap_or_else(|error| panic!("{error}: {json}"))
    }

    #[test]
    fn the_crash_answers_are_what_the_envelope_makes_of_their_message() {
        let failure = Failure::plugin(CRASH_MESSAGE);
        let sanitizer = Sanitizer::new();
        assert_eq!(
            CRASH_DOCUMENT,
            Envelope::failure(None, "unknown", &failure, &sanitizer).to_json()
        );
        assert_eq!(
            CRASH_STREAM_TAIL,
            streamed_failure_tail(&failure, &sanitizer)
        );
        assert_eq!(
            HOST_CRASH_DOCUMENT,
            Envelope::failure(
                None,
                "unknown",
                &Failure::internal(HOST_CRASH_MESSAGE),
                &sanitizer
            )
            .to_json()
        );
        parse(CRASH_DOCUMENT);
        // A stream's end completes `"data":{…,"rows":[…]`, whatever came before it.
        parse(&format!(r#"{{"data":{{"rows":[]{CRASH_STREAM_TAIL}"#));
    }

    fn meta() -> Meta {
        Meta::new(Instant::now(), AccessMode::Read, 1)
            .rows(2, Some(Truncation::MaxRows))
            .page(4, Some(6))
    }

    fn columns() -> Vec<ColumnOut> {
        vec![
            ColumnOut {
                name: "id".into(),
                type_name: "int4".into(),
            },
            ColumnOut {
                name: "n\u{e9}\"e".into(),
                type_name: String::new(),
            },
        ]
    }

    #[test]
    fn a_streamed_envelope_is_the_same_document_as_a_whole_one() {
        let rows = r#"[[1,"a"],[2,null]]"#;
        let meta = meta();
        for rows_affected in [None, Some(Count(3)), Some(Count(u64::MAX))] {
            let raw = RawValue::from_string(rows.to_owned()).unwrap_or_else(|e| panic!("{e}"));
            let data = query_data(columns(), &raw, rows_affected)
                .unwrap_or_else(|failure| panic!("{failure}"));
            let whole =
                Envelope::success(Some("postgres".into()), "query", data, Some(meta.clone()))
                    .to_json();
            // The row writer writes the rows after the prefix's `[` and closes the array.
            let streamed = format!(
                "{}{}]{}",
                streamed_prefix("postgres", &columns()),
                &rows[1..rows.len() - 1],
                streamed_success_tail(rows_affected, &meta)
            );
            assert_eq!(parse(&streamed), parse(&whole), "{streamed}");
        }
    }

    #[test]
    fn a_streamed_failure_ends_as_a_failed_envelope_does() {
        let failure = Failure::new(ErrorCode::Timeout, "too slow");
        let sanitizer = Sanitizer::new();
        let streamed = format!(
            "{}[1]]{}",
            streamed_prefix("sqlite", &columns()),
            streamed_failure_tail(&failure, &sanitizer)
        );
        let streamed = parse(&streamed);
        let whole = parse(&Envelope::failure(None, "query", &failure, &sanitizer).to_json());
        assert_eq!(streamed["ok"], whole["ok"]);
        assert_eq!(streamed["error"], whole["error"]);
        // The rows already written stay: the error schema allows `data` on a failure.
        assert_eq!(streamed["data"]["rows"], parse("[[1]]"));
        assert_eq!(streamed["data"]["rows_affected"], Json::Null);
    }
}
