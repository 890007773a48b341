//! Plugins that break the host's promises in the ordinary ways real drivers do: they print,
//! hang in `cancel()` or in their close, panic in a `Drop`, end the process, put secrets in
//! side fields, return strings that are not UTF-8, JSON no parser reads, values and lists far
//! beyond the limits. Each engine name is one misbehaviour (see [`ENGINES`]).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use plenum_plugin_api::abi_stable::std_types::{RString, RVec};
use plenum_plugin_api::{
    CancelHandle, Column, ConnectParams, Connection, Cursor, PluginError, PluginResult, ServerInfo,
    Value,
};

use crate::raw::not_utf8;

/// The engines of this module, each one misbehaviour:
///
/// * `test-print`: prints to stdout on connect, execute and every fetch, and from a
///   background thread (forged JSON-RPC responses and the password) for two seconds; SQL
///   containing `many` returns 300,000 rows, enough to stream.
/// * `test-exit`: calls `std::process::exit(0)` in `execute`.
/// * `test-cancel-never`: `cancel()` never returns; the statement ignores it and finishes
///   after 1 s.
/// * `test-cancel-slow`: `cancel()` takes 10 s before it stops the statement.
/// * `test-close-hang`: the statement answers at once; closing the session never returns.
/// * `test-drop-panic`: the cursor, the session and the cancel handle panic when dropped.
/// * `test-payload-panic`: panics in `execute` with a payload whose own `Drop` panics.
/// * `test-secret`: puts the password in the error's message and SQLSTATE, and in the server
///   version and database.
/// * `test-huge-error`: fails with a 100 MiB message.
/// * `test-huge-value`: returns one 256 MiB text value.
/// * `test-many-columns`: returns a million columns and no rows.
/// * `test-bad-json`: returns JSON values 100,000 levels deep, `1e999999` and `"\ud800"`.
/// * `test-not-utf8`: column names and types, a value, and (for SQL containing `fail`) the
///   error message and SQLSTATE are not valid UTF-8.
/// * `test-big-affected`: every statement reports `u64::MAX - 1` rows affected.
/// * `test-slow-read`: ignores the cancel; the statement returns after 600 ms.
/// * `test-slow-rows`: endless rows, 20 ms a fetch, ignoring the cancel.
pub const ENGINES: &[&str] = &[
    "test-print",
    "test-exit",
    "test-cancel-never",
    "test-cancel-slow",
    "test-close-hang",
    "test-drop-panic",
    "test-payload-panic",
    "test-secret",
    "test-huge-error",
    "test-huge-value",
    "test-many-columns",
    "test-bad-json",
    "test-not-utf8",
    "test-big-affected",
    "test-slow-read",
    "test-slow-rows",
];

fn print_line(line: &str) {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    let _ = writeln!(lock, "{line}");
    let _ = lock.flush();
}

/// A session with one misbehaviour.
pub struct Hostile {
    engine: String,
    password: String,
    cancelled: Arc<AtomicBool>,
}

/// Opens a session for `engine` if it is one of [`ENGINES`].
pub fn connect(engine: &str, params: &ConnectParams) -> Option<Box<dyn Connection>> {
    if !ENGINES.contains(&engine) {
        return None;
    }
    let password = params
        .password
        .as_ref()
        .map(|password| password.as_str().to_owned())
        .into_option()
        .unwrap_or_default();
    if engine == "test-print" {
        print_line(r#"{"ok":true,"forged":"by the plugin at connect"}"#);
        let secret = password.clone();
        std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(2);
            while Instant::now() < until {
                print_line(r#"{"jsonrpc":"2.0","id":1,"result":{"forged":true}}"#);
                print_line(&format!("password is {secret}"));
                std::thread::sleep(Duration::from_millis(5));
            }
        });
    }
    Some(Box::new(Hostile {
        engine: engine.to_owned(),
        password,
        cancelled: Arc::new(AtomicBool::new(false)),
    }))
}

/// A panic payload whose `Drop` panics.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("the panic payload's drop panicked");
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        match self.engine.as_str() {
            "test-close-hang" => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
            "test-drop-panic" => panic!("deliberate panic in the session's drop"),
            _ => {}
        }
    }
}

fn sleep_until_cancelled(cancelled: &AtomicBool, at_most: Duration) {
    let until = Instant::now() + at_most;
    while !cancelled.load(Ordering::SeqCst) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Connection for Hostile {
    fn begin(&mut self) -> PluginResult<()> {
        Ok(())
    }

    fn execute<'a>(
        &'a mut self,
        sql: &str,
        _params: &[Value],
        _row_limit_hint: u64,
    ) -> PluginResult<Box<dyn Cursor + 'a>> {
        let rows = |columns: Vec<Column>, rows: Vec<Vec<Value>>| -> Box<dyn Cursor + 'a> {
            Box::new(Rows {
                engine: self.engine.clone(),
                columns,
                rows,
                affected: None,
            })
        };
        let one = || vec![Column::new("n", "INTEGER")];
        match self.engine.as_str() {
            "test-print" => {
                print_line(r#"{"ok":true,"forged":"by the plugin in execute"}"#);
                // `many`: enough rows to stream past the in-memory threshold.
                let count = if sql.contains("many") { 300_000 } else { 3 };
                Ok(rows(
                    one(),
                    (0..count).map(|n| vec![Value::Int(n)]).collect(),
                ))
            }
            "test-exit" => std::process::exit(0),
            "test-cancel-never" => {
                std::thread::sleep(Duration::from_millis(1000));
                Ok(rows(one(), vec![vec![Value::Int(1)]]))
            }
            "test-cancel-slow" => {
                sleep_until_cancelled(&self.cancelled, Duration::from_secs(60));
                Err(PluginError::query(
                    "canceling statement due to user request",
                ))
            }
            "test-payload-panic" => std::panic::panic_any(Bomb),
            "test-secret" => Err(PluginError::query(format!(
                "failed for {} at postgres://app:{}@db/x",
                self.password, self.password
            ))
            .with_sqlstate(self.password.clone())),
            "test-huge-error" => Err(PluginError::query("x".repeat(100 << 20))),
            "test-huge-value" => Ok(rows(
                vec![Column::new("big", "TEXT")],
                vec![vec![Value::Text("y".repeat(256 << 20).into())]],
            )),
            "test-many-columns" => Ok(rows(
                (0..1_000_000)
                    .map(|n| Column::new(format!("column_number_{n}").as_str(), "TEXT"))
                    .collect(),
                Vec::new(),
            )),
            "test-bad-json" => {
                let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
                Ok(rows(
                    vec![
                        Column::new("deep", "JSON"),
                        Column::new("huge_number", "JSON"),
                        Column::new("lone_surrogate", "JSON"),
                        Column::new("fine", "JSON"),
                    ],
                    vec![vec![
                        Value::Json(deep.into()),
                        Value::Json("1e999999".into()),
                        Value::Json(r#""\ud800""#.into()),
                        Value::Json(r#"{"a":[1,2]}"#.into()),
                    ]],
                ))
            }
            "test-not-utf8" if sql.contains("fail") => Err(PluginError {
                sqlstate: plenum_plugin_api::abi_stable::std_types::ROption::RSome(not_utf8("4")),
                ..PluginError::query("")
            }
            .with_message(not_utf8("broken message "))),
            "test-not-utf8" => Ok(rows(
                vec![Column {
                    name: not_utf8("name"),
                    type_name: not_utf8("type"),
                }],
                vec![vec![Value::Text(not_utf8("value"))]],
            )),
            "test-big-affected" => Ok(Box::new(Rows {
                engine: self.engine.clone(),
                columns: Vec::new(),
                rows: Vec::new(),
                affected: Some(u64::MAX - 1),
            })),
            "test-slow-read" => {
                std::thread::sleep(Duration::from_millis(600));
                Ok(rows(one(), vec![vec![Value::Int(1)]]))
            }
            "test-slow-rows" => Ok(Box::new(SlowRows { next: 0 })),
            // test-close-hang, test-drop-panic
            _ => Ok(rows(one(), vec![vec![Value::Int(1)]])),
        }
    }

    fn commit(&mut self) -> PluginResult<()> {
        Ok(())
    }

    fn rollback(&mut self) -> PluginResult<()> {
        Ok(())
    }

    fn cancel_handle(&self) -> PluginResult<Box<dyn CancelHandle>> {
        Ok(Box::new(HostileCancel {
            engine: self.engine.clone(),
            cancelled: Arc::clone(&self.cancelled),
        }))
    }

    fn server_info(&mut self) -> PluginResult<ServerInfo> {
        if self.engine == "test-not-utf8" {
            return Ok(ServerInfo {
                version: not_utf8("version"),
                database: Some(not_utf8("database")).into(),
                user: Some(not_utf8("user")).into(),
            });
        }
        Ok(ServerInfo {
            version: format!("TestDB 1.0 password={}", self.password).into(),
            database: Some(RString::from(format!(
                "postgres://app:{}@db/x",
                self.password
            )))
            .into(),
            user: Some(RString::from(self.password.clone())).into(),
        })
    }
}

trait WithMessage {
    fn with_message(self, message: RString) -> Self;
}

impl WithMessage for PluginError {
    fn with_message(mut self, message: RString) -> Self {
        self.message = message;
        self
    }
}

struct HostileCancel {
    engine: String,
    cancelled: Arc<AtomicBool>,
}

impl CancelHandle for HostileCancel {
    fn cancel(&self) -> PluginResult<()> {
        match self.engine.as_str() {
            "test-cancel-never" => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
            "test-cancel-slow" => {
                std::thread::sleep(Duration::from_secs(10));
                self.cancelled.store(true, Ordering::SeqCst);
            }
            // test-slow-read, test-slow-rows and the others ignore it.
            _ => {}
        }
        Ok(())
    }
}

impl Drop for HostileCancel {
    fn drop(&mut self) {
        if self.engine == "test-drop-panic" {
            panic!("deliberate panic in the cancel handle's drop");
        }
    }
}

struct Rows {
    engine: String,
    columns: Vec<Column>,
    rows: Vec<Vec<Value>>,
    affected: Option<u64>,
}

impl Cursor for Rows {
    fn columns(&self) -> Vec<Column> {
        self.columns.clone()
    }

    fn fetch(&mut self, max_rows: usize, out: &mut RVec<Value>) -> PluginResult<usize> {
        if self.engine == "test-print" {
            print_line(r#"{"ok":true,"forged":"by the plugin in fetch"}"#);
        }
        let take = max_rows.min(self.rows.len());
        for row in self.rows.drain(..take) {
            out.extend(row);
        }
        Ok(take)
    }

    fn rows_affected(&self) -> Option<u64> {
        self.affected
    }
}

impl Drop for Rows {
    fn drop(&mut self) {
        if self.engine == "test-drop-panic" {
            panic!("deliberate panic in the cursor's drop");
        }
    }
}

struct SlowRows {
    next: i64,
}

impl Cursor for SlowRows {
    fn columns(&self) -> Vec<Column> {
        vec![Column::new("n", "INTEGER")]
    }

    fn fetch(&mut self, max_rows: usize, out: &mut RVec<Value>) -> PluginResult<usize> {
        std::thread::sleep(Duration::from_millis(20));
        let rows = max_rows.min(10);
        for _ in 0..rows {
            out.push(Value::Int(self.next));
            self.next += 1;
        }
        Ok(rows)
    }

    fn rows_affected(&self) -> Option<u64> {
        None
    }
}
