//! Newline-delimited JSON-RPC over a byte stream, with answers for input the protocol library
//! would drop in silence: a line that is not JSON gets a parse error (-32700), a line longer
//! than [`MAX_MESSAGE_BYTES`] an invalid-request error (-32600), a request whose shape is
//! wrong an invalid-params error (-32602) with its id. Notifications never get an answer.
//!
//! Output goes through one writer task, so replies written here and responses written for
//! `rmcp` never interleave, and `receive` (which `rmcp` may cancel at any await) only ever
//! queues a reply instead of writing it.

use std::future::Future;
use std::io;

use rmcp::model::{
    CallToolRequestParams, ClientJsonRpcMessage, ClientRequest, ErrorCode, ErrorData,
    JsonRpcMessage, RequestId, ServerJsonRpcMessage,
};
use rmcp::service::RoleServer;
use rmcp::transport::Transport;
use serde_json::Value as Json;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::log;
use crate::pipeline::MAX_SQL_BYTES;

/// The largest message accepted: room for the largest SQL the pipeline accepts, escaped.
pub const MAX_MESSAGE_BYTES: usize = MAX_SQL_BYTES + (4 << 20);

/// A line waiting for the writer, with whoever waits to hear it was written.
type Outgoing = (Vec<u8>, Option<oneshot::Sender<io::Result<()>>>);

/// The stdio transport of `plenum mcp`.
pub struct LineTransport<R> {
    reader: BufReader<R>,
    line: Vec<u8>,
    /// Dropping the tail of an oversized line until its newline.
    discarding: bool,
    max_line: usize,
    /// Until the first request, other messages are dropped: `rmcp` would end the session.
    seen_request: bool,
    outgoing: Option<mpsc::UnboundedSender<Outgoing>>,
    writer_task: Option<JoinHandle<()>>,
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
        let writer_task = tokio::spawn(write_lines(writer, queue));
        LineTransport {
            reader: BufReader::new(reader),
            line: Vec::new(),
            discarding: false,
            max_line,
            seen_request: false,
            outgoing: Some(outgoing),
            writer_task: Some(writer_task),
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
        if let (Some(outgoing), Ok(mut bytes)) = (&self.outgoing, serde_json::to_vec(&message)) {
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
        match serde_json::from_slice::<ClientJsonRpcMessage>(line) {
            Ok(message) => {
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
                Some(message)
            }
            Err(error) => {
                let reply = match error.classify() {
                    serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                        Some(ServerJsonRpcMessage::error(
                            ErrorData::new(
                                ErrorCode::PARSE_ERROR,
                                format!("Parse error: the message is not valid JSON ({error})"),
                                None,
                            ),
                            None,
                        ))
                    }
                    _ => shape_error(line, &error),
                };
                if let Some(reply) = reply {
                    self.reply(reply);
                }
                None
            }
        }
    }
}

/// MCP request methods. `rmcp` reads one whose params do not fit as a custom request and
/// would answer "method not found"; the truth is "invalid params".
const MCP_REQUEST_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "completion/complete",
    "logging/setLevel",
    "prompts/get",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "resources/directory/read",
    "subscriptions/listen",
    "tools/call",
    "tools/list",
    "tasks/get",
    "tasks/update",
    "tasks/cancel",
    "skills/list",
    "skills/get",
];

/// The invalid-params reply to a standard request whose params do not fit its method.
fn malformed_standard_request(message: &ClientJsonRpcMessage) -> Option<ServerJsonRpcMessage> {
    let JsonRpcMessage::Request(request) = message else {
        return None;
    };
    let ClientRequest::CustomRequest(custom) = &request.request else {
        return None;
    };
    if !MCP_REQUEST_METHODS.contains(&custom.method.as_str()) {
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

/// The reply to well-formed JSON that is not a message this server understands, or `None`
/// when it is a notification or a response (those are never answered).
fn shape_error(line: &[u8], error: &serde_json::Error) -> Option<ServerJsonRpcMessage> {
    let value: Json = serde_json::from_slice(line).ok()?;
    let object = value.as_object();
    let method = object
        .and_then(|object| object.get("method"))
        .and_then(Json::as_str);
    let id = object
        .and_then(|object| object.get("id"))
        .filter(|id| !id.is_null())
        .and_then(|id| serde_json::from_value::<RequestId>(id.clone()).ok());
    match (method, id) {
        (Some(method), Some(id)) => Some(ServerJsonRpcMessage::error(
            ErrorData::new(
                ErrorCode::INVALID_PARAMS,
                format!("Invalid params for {method}: {error}"),
                None,
            ),
            Some(id),
        )),
        (Some(_), None) => None,
        (None, _) if object.is_some_and(|object| object.contains_key("id")) => None,
        (None, _) => Some(ServerJsonRpcMessage::error(
            ErrorData::new(
                ErrorCode::INVALID_REQUEST,
                "Invalid request: expected one JSON-RPC 2.0 object with a method (batches are not supported)",
                None,
            ),
            None,
        )),
    }
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
                    self.reply(ServerJsonRpcMessage::error(
                        ErrorData::new(
                            ErrorCode::INVALID_REQUEST,
                            format!(
                                "Invalid request: the message is longer than {} bytes and was discarded",
                                self.max_line
                            ),
                            None,
                        ),
                        None,
                    ));
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
        if let Some(task) = self.writer_task.take() {
            let _ = task.await;
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
}
