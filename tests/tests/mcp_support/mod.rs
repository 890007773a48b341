//! A `plenum mcp` child process spoken to in raw JSON-RPC lines, for the MCP tests.
#![allow(dead_code)] // each test file uses a different part

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plenum_e2e::plenum_bin;
use serde_json::{json, Value as Json};

/// How long a test waits for one answer before it fails.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `plenum mcp`.
pub struct McpServer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    /// Answers read while waiting for another id.
    pending: HashMap<String, Json>,
    next_id: u64,
}

impl McpServer {
    /// Starts `plenum mcp <args>` with `env` set and the outer ceiling variable cleared.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_in(None, args, env)
    }

    /// [`McpServer::start`] in the working directory `dir`.
    pub fn start_in(dir: Option<&std::path::Path>, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(plenum_bin());
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        command.arg("mcp").args(args);
        command
            .env_remove("PLENUM_MAX_CAPABILITY")
            .env_remove("PLENUM_PLUGIN_PATH");
        for (key, value) in env {
            command.env(key, value);
        }
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn plenum mcp");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut stderr_pipe = child.stderr.take().expect("stderr");
        let collected = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read) = stderr_pipe.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                if let Ok(mut text) = collected.lock() {
                    text.push_str(&String::from_utf8_lossy(&buffer[..read]));
                }
            }
        });
        McpServer {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            pending: HashMap::new(),
            next_id: 1000,
        }
    }

    /// The process id (for memory readings).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes raw bytes to the server's stdin.
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(bytes).expect("write to plenum mcp");
        stdin.flush().expect("flush");
    }

    /// Writes one line.
    pub fn send_line(&mut self, line: &str) {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.send_bytes(&bytes);
    }

    /// Writes a JSON value as one line.
    pub fn send(&mut self, message: &Json) {
        self.send_line(&message.to_string());
    }

    /// The next line the server writes, parsed, or `None` after `timeout`.
    pub fn next_message(&mut self, timeout: Duration) -> Option<Json> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Some(
                serde_json::from_str(&line)
                    .unwrap_or_else(|error| panic!("stdout line is not JSON ({error}): {line}")),
            ),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// A fresh request id.
    pub fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Waits for the answer with `id`, keeping others for later.
    pub fn answer(&mut self, id: &Json) -> Json {
        let key = id.to_string();
        if let Some(found) = self.pending.remove(&key) {
            return found;
        }
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self
                .next_message(left)
                .unwrap_or_else(|| panic!("no answer for id {key}; stderr:\n{}", self.stderr()));
            let message_id = message["id"].to_string();
            if message_id == key {
                return message;
            }
            self.pending.insert(message_id, message);
        }
    }

    /// Sends a request and waits for its answer.
    pub fn request(&mut self, method: &str, params: Json) -> Json {
        let id = json!(self.fresh_id());
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.answer(&id)
    }

    /// Runs the initialize handshake offering `version`; returns the initialize result.
    pub fn initialize(&mut self, version: &str) -> Json {
        let answer = self.request(
            "initialize",
            json!({"protocolVersion": version, "capabilities": {},
                   "clientInfo": {"name": "plenum-e2e", "version": "0"}}),
        );
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        answer["result"].clone()
    }

    /// Calls a tool and returns the whole JSON-RPC answer.
    pub fn call_tool(&mut self, name: &str, arguments: Json) -> Json {
        self.request("tools/call", json!({"name": name, "arguments": arguments}))
    }

    /// Sends a `tools/call` without waiting; returns its id.
    pub fn send_call(&mut self, name: &str, arguments: Json) -> Json {
        let id = json!(self.fresh_id());
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": name, "arguments": arguments}}));
        id
    }

    /// Closes stdin (the client is done).
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Waits for the process to exit; its exit code, or `None` if it is still running after
    /// `timeout` (it is then killed).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        self.wait_status(timeout).and_then(|status| status.code())
    }

    /// How the process ended, or `None` if it is still running after `timeout` (it is then
    /// killed).
    pub fn wait_status(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .map(|text| text.clone())
            .unwrap_or_default()
    }

    /// Resident memory of the server process in KiB (Linux), or 0.
    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|line| line.starts_with("VmRSS:"))
                    .and_then(|line| line.split_whitespace().nth(1))
                    .and_then(|kib| kib.parse().ok())
            })
            .unwrap_or(0)
    }

    /// CPU time the server process has used so far (user + system, all its threads; Linux),
    /// in clock ticks of `ticks_per_second`, or 0.
    pub fn cpu_ticks(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .ok()
            .and_then(|stat| {
                // The fields after the command name, which is in parentheses and may hold
                // spaces: utime and stime are the 14th and 15th fields of the line.
                let rest = stat.rsplit_once(')')?.1;
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let user: u64 = fields.get(11)?.parse().ok()?;
                let system: u64 = fields.get(12)?.parse().ok()?;
                Some(user + system)
            })
            .unwrap_or(0)
    }
}

/// Clock ticks per second of `/proc/*/stat` times: 100 on Linux (`USER_HZ`, fixed by the
/// kernel's ABI whatever `CONFIG_HZ` is).
pub const TICKS_PER_SECOND: u64 = 100;

impl Drop for McpServer {
    fn drop(&mut self) {
        self.stdin.take();
        if self.wait_exit(Duration::from_secs(5)).is_none() {
            eprintln!("plenum mcp did not exit after stdin closed; killed it");
        }
    }
}

/// The tool result of a `tools/call` answer, checked to be a result (not a protocol error)
/// whose text content is the same JSON as its structured content.
pub fn tool_result(answer: &Json) -> &Json {
    let result = &answer["result"];
    assert!(result.is_object(), "expected a tool result, got {answer}");
    let structured = &result["structuredContent"];
    assert!(structured.is_object(), "no structuredContent: {answer}");
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    let parsed: Json = serde_json::from_str(text).unwrap_or(Json::Null);
    assert_eq!(
        &parsed, structured,
        "text content and structuredContent differ"
    );
    let ok = structured["ok"] == Json::Bool(true);
    assert_eq!(
        result["isError"],
        Json::Bool(!ok),
        "isError disagrees with ok: {answer}"
    );
    structured
}

/// `error.code` of a tool result's envelope ("" when ok).
pub fn error_code(answer: &Json) -> String {
    tool_result(answer)["error"]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// Arguments that reach the SQLite database `file`.
pub fn sqlite(file: &std::path::Path, mut arguments: Json) -> Json {
    arguments["engine"] = json!("sqlite");
    arguments["file"] = json!(file.to_str().expect("UTF-8 path"));
    arguments
}
