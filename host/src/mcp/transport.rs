//! Newline-delimited JSON-RPC over a byte stream, and the filter in front of `rmcp` that makes
//! every request get exactly one correct answer, which `rmcp` alone does not (it drops a
//! request whose id it cannot represent, answers a wrong `jsonrpc` as invalid params, accepts
//! a second `initialize`, and answers unoffered methods unevenly). Here: a line that is not
//! JSON gets a parse error (-32700, id null); a line longer than [`MAX_MESSAGE_BYTES`], a
//! batch, a wrong or missing `jsonrpc`, a missing method or an id that is not a string or a
//! 64-bit integer get an invalid-request error (-32600); a method this server does not offer
//! gets method-not-found (-32601); a request whose params do not fit its method gets
//! invalid-params (-32602) with its id. Notifications never get an answer.
//!
//! Output goes through one writer (a task for an async writer, a thread of its own for a file:
//! `stdio.rs`), so replies written here and responses written for `rmcp` never interleave,
//! and `receive` (which `rmcp` may cancel at any await) only ever queues a reply instead of
//! writing it.

use std::future::Future;
use std::io;

use rmcp::model::{
    CallToolRequestParams, ClientJsonRpcMessage, ClientRequest, ErrorCode, ErrorData,
    JsonRpcMessage, ServerJsonRpcMessage,
};
use rmcp::service::RoleServer;
use rmcp::transport::Transport;
use serde_json::{json, Value as Json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::jsonrpc::{triage, Triage, OFFERED_METHODS};
use super::log;
use super::stdio::{self, Outgoing};
use plenum_core::commands::query::MAX_SQL_BYTES;

/// The largest message accepted: room for the largest SQL the pipeline accepts, escaped.
pub const MAX_MESSAGE_BYTES: usize = MAX_SQL_BYTES + (4 << 20);

/// The stdio transport of `plenum mcp`.
pub struct LineTransport<R> {
    reader: BufReader<R>,
    line: Vec<u8>,
    /// Dropping the tail of an oversized line until its newline.
    discarding: bool,
    max_line: usize,
    /// Until the first request, other messages are dropped: `rmcp` would end the session.
    seen_request: bool,
    /// An `initialize` went to `rmcp`: another one is refused (it would change the
    /// negotiated protocol mid-session).
    initialized: bool,
    outgoing: Option<mpsc::UnboundedSender<Outgoing>>,
    writer: Option<Writer>,
}

/// What writes the lines, to wait for at close.
enum Writer {
    Task(JoinHandle<()>),
    /// Completes when the writer thread has ended (its sender is dropped).
    Thread(oneshot::Receiver<()>),
}

enum LineRead {
    Line,
    Oversized,
    Eof,
    Failed(io::Error),
}

impl<R: AsyncRead + Unpin + Send + 'static> LineTransport<R> {
    /// A transport reading lines from `reader` and writing to `writer`. Must be called inside
    /// a Tokio runtime (it starts the writer task).
    pub fn new<W>(reader: R, writer: W, max_line: usize) -> Self
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (outgoing, queue) = mpsc::unbounded_channel();
        let task = tokio::spawn(write_lines(writer, queue));
        Self::with(reader, outgoing, Writer::Task(task), max_line)
    }

    /// A transport reading lines from `reader` and writing them to `writer` (a blocking
    /// writer, such as a file or a pipe) on a thread of its own, several queued lines in one
    /// write. Fails only if the thread cannot be started.
    pub fn with_blocking_writer<W>(reader: R, writer: W, max_line: usize) -> io::Result<Self>
    where
        W: std::io::Write + Send + 'static,
    {
        let (outgoing, queue) = mpsc::unbounded_channel();
        let finished = stdio::spawn_writer(writer, queue)?;
        Ok(Self::with(
            reader,
            outgoing,
            Writer::Thread(finished),
            max_line,
        ))
    }

    fn with(
        reader: R,
        outgoing: mpsc::UnboundedSender<Outgoing>,
        writer: Writer,
        max_line: usize,
    ) -> Self {
        LineTransport {
            reader: BufReader::new(reader),
            line: Vec::new(),
            discarding: false,
            max_line,
            seen_request: false,
            initialized: false,
            outgoing: Some(outgoing),
            writer: Some(writer),
        }
    }

    /// Reads one line into `self.line` without letting it grow past `max_line`. Cancel-safe:
    /// bytes are moved from the reader's buffer to `self.line` with no await in between.
    async fn read_line(&mut self) -> LineRead {
        loop {
            let (consumed, newline) = {
                let available = match self.reader.fill_buf().await {
                    Ok(available) => available,
                    Err(error) => return LineRead::Failed(error),
                };
                if available.is_empty() {
                    return LineRead::Eof;
                }
                let newline = available.iter().position(|byte| *byte == b'\n');
                let take = newline.map_or(available.len(), |index| index + 1);
                if !self.discarding {
                    if self.line.len() + take > self.max_line {
                        self.line.clear();
                        self.discarding = true;
                    } else {
                        self.line.extend_from_slice(&available[..take]);
                    }
                }
                (take, newline.is_some())
            };
            self.reader.consume(consumed);
            if newline {
                if self.discarding {
                    self.discarding = false;
                    return LineRead::Oversized;
                }
                return LineRead::Line;
            }
        }
    }

    /// Queues a reply that nobody waits for.
    fn reply(&self, message: ServerJsonRpcMessage) {
        if let Ok(value) = serde_json::to_value(&message) {
            self.reply_raw(&value);
        }
    }

    /// Queues a JSON-RPC error answer written here, not by `rmcp`: its `id` may be one `rmcp`
    /// cannot represent (null, as the spec wants when the request's id is unknown, or a
    /// number outside 64-bit integers that the client still needs to match the answer).
    fn reply_error(&self, id: Json, code: ErrorCode, message: String) {
        self.reply_raw(&json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": code.0, "message": message},
        }));
    }

    fn reply_raw(&self, value: &Json) {
        if let (Some(outgoing), Ok(mut bytes)) = (&self.outgoing, serde_json::to_vec(value)) {
            bytes.push(b'\n');
            let _ = outgoing.send((bytes, None));
        }
    }

    /// What to do with one complete line: a message for `rmcp`, or nothing (after replying
    /// or ignoring it).
    fn interpret(&mut self) -> Option<ClientJsonRpcMessage> {
        let line = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let value: Json = match serde_json::from_slice(line) {
            Ok(value) => value,
            Err(error) => {
                self.reply_error(
                    Json::Null,
                    ErrorCode::PARSE_ERROR,
                    format!("Parse error: the message is not valid JSON ({error})"),
                );
                return None;
            }
        };
        match triage(&value, self.initialized) {
            Triage::Pass => {}
            Triage::Drop(why) => {
                log(why);
                return None;
            }
            Triage::Answer(id, code, message) => {
                self.reply_error(id, ErrorCode(code), message);
                return None;
            }
        }
        // Small copies: the message itself may be megabytes of SQL.
        let method = value["method"].as_str().map(str::to_owned);
        let request_id = value.get("id").filter(|_| method.is_some()).cloned();
        let message = match serde_json::from_value::<ClientJsonRpcMessage>(value) {
            Ok(message) => message,
            Err(error) => {
                // A request (it has a usable id, triage checked) whose params do not fit its
                // method; notifications and responses that do not parse are dropped.
                if let (Some(id), Some(method)) = (request_id, &method) {
                    self.reply_error(
                        id,
                        ErrorCode::INVALID_PARAMS,
                        format!("Invalid params for {method}: {error}"),
                    );
                } else {
                    log("ignored a notification or response that does not fit its method");
                }
                return None;
            }
        };
        if let Some(reply) = malformed_standard_request(&message) {
            self.reply(reply);
            return None;
        }
        if !self.seen_request {
            if !matches!(message, JsonRpcMessage::Request(_)) {
                log("ignored a notification or response sent before the first request");
                return None;
            }
            self.seen_request = true;
        }
        if method.as_deref() == Some("initialize") {
            self.initialized = true;
        }
        Some(message)
    }
}

/// The invalid-params reply to a standard request whose params do not fit its method.
fn malformed_standard_request(message: &ClientJsonRpcMessage) -> Option<ServerJsonRpcMessage> {
    let JsonRpcMessage::Request(request) = message else {
        return None;
    };
    let ClientRequest::CustomRequest(custom) = &request.request else {
        return None;
    };
    if !OFFERED_METHODS.contains(&custom.method.as_str()) {
        return None;
    }
    let detail = match custom.method.as_str() {
        "tools/call" => serde_json::from_value::<CallToolRequestParams>(
            custom.params.clone().unwrap_or(Json::Null),
        )
        .err()
        .map(|error| error.to_string()),
        _ => None,
    }
    .unwrap_or_else(|| "the params do not match the method's schema".to_owned());
    Some(ServerJsonRpcMessage::error(
        ErrorData::new(
            ErrorCode::INVALID_PARAMS,
            format!("Invalid params for {}: {detail}", custom.method),
            None,
        ),
        Some(request.id.clone()),
    ))
}

async fn write_lines<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
) {
    while let Some((bytes, done)) = queue.recv().await {
        let mut result = writer.write_all(&bytes).await;
        // Flush once the queue is drained, not after every line of a burst.
        if result.is_ok() && queue.is_empty() {
            result = writer.flush().await;
        }
        let failed = result.is_err();
        if let Some(done) = done {
            let _ = done.send(result);
        }
        if failed {
            log("stdout is closed; no more replies can be sent");
            return;
        }
    }
    let _ = writer.flush().await;
}

impl<R: AsyncRead + Unpin + Send + 'static> Transport<RoleServer> for LineTransport<R> {
    type Error = io::Error;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), io::Error>> + Send + 'static {
        let queued = match serde_json::to_vec(&item) {
            Ok(mut bytes) => {
                bytes.push(b'\n');
                let (done, written) = oneshot::channel();
                match &self.outgoing {
                    Some(outgoing) if outgoing.send((bytes, Some(done))).is_ok() => Ok(written),
                    _ => Err(io::Error::new(
                        io::ErrorKind::NotConnected,
                        "the transport is closed",
                    )),
                }
            }
            Err(error) => Err(io::Error::other(error)),
        };
        async move {
            match queued?.await {
                Ok(result) => result,
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the writer stopped",
                )),
            }
        }
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        loop {
            match self.read_line().await {
                LineRead::Line => {}
                LineRead::Eof => return None,
                LineRead::Failed(error) => {
                    log(&format!("cannot read stdin: {error}"));
                    return None;
                }
                LineRead::Oversized => {
                    log(&format!(
                        "discarded a message longer than {} bytes",
                        self.max_line
                    ));
                    self.reply_error(
                        Json::Null,
                        ErrorCode::INVALID_REQUEST,
                        format!(
                            "Invalid request: the message is longer than {} bytes and was discarded",
                            self.max_line
                        ),
                    );
                    continue;
                }
            }
            let message = self.interpret();
            self.line.clear();
            if let Some(message) = message {
                return Some(message);
            }
        }
    }

    async fn close(&mut self) -> Result<(), io::Error> {
        // Closing the queue lets the writer finish what is queued, then stop.
        self.outgoing.take();
        match self.writer.take() {
            Some(Writer::Task(task)) => {
                let _ = task.await;
            }
            Some(Writer::Thread(finished)) => {
                let _ = finished.await;
            }
            None => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(
        input: &[u8],
        max_line: usize,
    ) -> (
        LineTransport<std::io::Cursor<Vec<u8>>>,
        tokio::io::DuplexStream,
    ) {
        let (writer, output) = tokio::io::duplex(1 << 20);
        let transport = LineTransport::new(std::io::Cursor::new(input.to_vec()), writer, max_line);
        (transport, output)
    }

    async fn replies(
        mut transport: LineTransport<std::io::Cursor<Vec<u8>>>,
        output: tokio::io::DuplexStream,
    ) -> (Vec<String>, Vec<Json>) {
        let mut methods = Vec::new();
        while let Some(message) = transport.receive().await {
            let value = serde_json::to_value(&message).unwrap_or_default();
            methods.push(value["method"].as_str().unwrap_or("").to_owned());
        }
        let _ = transport.close().await;
        let mut lines = Vec::new();
        let mut reader = BufReader::new(output).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            lines.push(serde_json::from_str(&line).unwrap_or(Json::Null));
        }
        (methods, lines)
    }

    const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

    /// A blocking writer whose bytes the test reads afterwards.
    #[derive(Clone, Default)]
    struct Collected(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Collected {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if let Ok(mut bytes) = self.0.lock() {
                bytes.extend_from_slice(buf);
            }
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_stdio_threads_carry_lines_replies_and_the_end_of_input() {
        // As `plenum mcp` runs: stdin read on a thread, replies written on another.
        let input = format!("{{not json\n{}\n{PING}\n", "x".repeat(5000));
        let reader = stdio::ThreadReader::spawn(std::io::Cursor::new(input))
            .unwrap_or_else(|error| panic!("{error}"));
        let output = Collected::default();
        let mut transport = LineTransport::with_blocking_writer(reader, output.clone(), 1024)
            .unwrap_or_else(|error| panic!("{error}"));
        let mut methods = Vec::new();
        while let Some(message) = transport.receive().await {
            let value = serde_json::to_value(&message).unwrap_or_default();
            methods.push(value["method"].as_str().unwrap_or("").to_owned());
        }
        assert_eq!(methods, vec!["ping"]);
        let sent = transport.send(ServerJsonRpcMessage::response(
            rmcp::model::ServerResult::empty(()),
            rmcp::model::NumberOrString::Number(1),
        ));
        assert!(sent.await.is_ok());
        let _ = transport.close().await;
        let written = output
            .0
            .lock()
            .map(|bytes| bytes.clone())
            .unwrap_or_default();
        let lines: Vec<Json> = String::from_utf8_lossy(&written)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or(Json::Null))
            .collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0]["error"]["code"], -32700);
        assert_eq!(lines[1]["error"]["code"], -32600);
        assert_eq!(lines[2]["id"], 1);
        assert!(lines[2].get("result").is_some(), "{}", lines[2]);
    }

    #[tokio::test]
    async fn malformed_json_gets_a_parse_error_and_reading_goes_on() {
        let input = format!("{{not json\n{PING}\n");
        let (transport, output) = transport(input.as_bytes(), 1024);
        let (methods, replies) = replies(transport, output).await;
        assert_eq!(methods, vec!["ping"]);
        assert_eq!(replies.len(), 1, "{replies:?}");
        assert_eq!(replies[0]["error"]["code"], -32700);
    }

    #[tokio::test]
    async fn oversized_line_is_refused_without_buffering_it_and_the_next_one_is_read() {
        let input = format!("{}\n{PING}\n", "x".repeat(5000));
        let (transport, output) = transport(input.as_bytes(), 1024);
        let (methods, replies) = replies(transport, output).await;
        assert_eq!(methods, vec!["ping"]);
        assert_eq!(replies[0]["error"]["code"], -32600);
        assert!(replies[0]["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("1024"));
    }

    #[tokio::test]
    async fn bad_params_are_answered_with_the_request_id_and_notifications_are_not() {
        let input = format!(
            "{PING}\n{}\n{}\n{}\n",
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"query","arguments":"oops"}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/whatever","params":5}"#,
            r#"[1,2]"#
        );
        let (transport, output) = transport(input.as_bytes(), 1024);
        let (methods, replies) = replies(transport, output).await;
        assert_eq!(methods, vec!["ping"]);
        assert_eq!(replies.len(), 2, "{replies:?}");
        assert_eq!(replies[0]["id"], 7);
        assert_eq!(replies[0]["error"]["code"], -32602);
        assert_eq!(replies[1]["error"]["code"], -32600);
    }

    #[tokio::test]
    async fn notifications_before_the_first_request_are_dropped() {
        let input = format!(
            "{}\n{PING}\n",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#
        );
        let (transport, output) = transport(input.as_bytes(), 1024);
        let (methods, replies) = replies(transport, output).await;
        assert_eq!(methods, vec!["ping"]);
        assert!(replies.is_empty(), "{replies:?}");
    }

    #[tokio::test]
    async fn every_bad_request_gets_one_answer_with_the_right_code_and_id() {
        let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#;
        let cases: &[(&str, i64, Json)] = &[
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
                -32600,
                Json::Null,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
                -32600,
                json!(1.5),
            ),
            (
                r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"ping"}"#,
                -32600,
                json!(9_223_372_036_854_775_808u64),
            ),
            (
                r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#,
                -32600,
                Json::Null,
            ),
            (r#"{"jsonrpc":"2.0","id":3}"#, -32600, json!(3)),
            (
                r#"{"jsonrpc":"1.0","id":4,"method":"ping"}"#,
                -32600,
                json!(4),
            ),
            (r#"{"id":5,"method":"ping"}"#, -32600, json!(5)),
            (r#"{"jsonrpc":"2.0","id":6,"method":7}"#, -32600, json!(6)),
            (
                r#"{"jsonrpc":"2.0","id":"r","method":"resources/list"}"#,
                -32601,
                json!("r"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":8,"method":"prompts/list"}"#,
                -32601,
                json!(8),
            ),
            (
                r#"{"jsonrpc":"2.0","id":9,"method":"made/up"}"#,
                -32601,
                json!(9),
            ),
            (
                r#"{"jsonrpc":"2.0","id":10,"method":"tools/call","params":5}"#,
                -32602,
                json!(10),
            ),
            ("{oops", -32700, Json::Null),
            ("7", -32600, Json::Null),
        ];
        let mut input = format!("{init}\n");
        for (line, _, _) in cases {
            input.push_str(line);
            input.push('\n');
        }
        // Not answered: notifications, even malformed ones.
        input.push_str(r#"{"jsonrpc":"1.0","method":"notifications/initialized"}"#);
        input.push('\n');
        input.push_str(r#"{"jsonrpc":"2.0","method":"resources/list"}"#);
        input.push('\n');
        // A second initialize is refused; the first went to rmcp.
        input.push_str(&init.replace("\"id\":1", "\"id\":11"));
        input.push('\n');
        let (transport, output) = transport(input.as_bytes(), 1 << 16);
        let (methods, replies) = replies(transport, output).await;
        // The notification goes to rmcp, which never answers one.
        assert_eq!(methods, vec!["initialize", "resources/list"]);
        assert_eq!(replies.len(), cases.len() + 1, "{replies:#?}");
        for ((line, code, id), reply) in cases.iter().zip(&replies) {
            assert_eq!(reply["error"]["code"], *code, "{line}: {reply}");
            assert_eq!(reply.get("id"), Some(id), "{line}: {reply}");
            assert_eq!(reply["jsonrpc"], "2.0", "{line}: {reply}");
            let message = reply["error"]["message"].as_str().unwrap_or_default();
            assert!(message.len() > 20, "{line}: {reply}");
        }
        let last = &replies[cases.len()];
        assert_eq!(last["id"], 11, "{last}");
        assert_eq!(last["error"]["code"], -32600, "{last}");
        assert!(
            replies[8]["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("tools/call"),
            "{}",
            replies[8]
        );
    }
}
