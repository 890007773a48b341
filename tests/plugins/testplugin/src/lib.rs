//! A plugin for Plenum's own tests. Each engine name selects a behaviour:
//!
//! * `test-recorder`: appends every statement it receives to the file given with `--file`
//!   (one JSON string per line) and returns it as a one-row result.
//! * `test-rows`: returns an endless stream of rows and records, in `--file`, how many rows
//!   the host asked for in total (so tests can prove the host stops at its limit).
//! * `test-panic`: panics inside `execute`.
//! * `test-hang`: sleeps forever in `execute` and ignores cancel.
//! * `test-liar`: declares one column and returns rows of two.
//! * `test-connect-panic`: panics inside `connect`.
//! * `test-leaky`: keeps none of the safety contract (see `leaky`), for the conformance kit's
//!   own tests.
//! * the engines of `hostile::ENGINES`: one misbehaviour each (printing, hanging in
//!   `cancel()` or in the close, panicking in a `Drop`, `exit`, secrets in side fields, strings
//!   that are not UTF-8, values and lists beyond every limit).
//! * `test-crash`: ends the process the ways no Rust error handling sees (see `crash`).
//!
//! With `PLENUM_TESTPLUGIN_BAD_INFO=1` its description is not valid UTF-8; with
//! `PLENUM_TESTPLUGIN_INFO=print` its `info` prints to stdout, with `=exit` it calls `exit(0)`.
// `unsafe` only in `raw`, which makes strings that are not UTF-8 on purpose, and in `crash`.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use plenum_plugin_api::abi_stable::std_types::RVec;
mod crash;
mod hostile;
mod leaky;
mod raw;

use plenum_plugin_api::{
    Capabilities, Column, ConnectParams, Connection, Cursor, NoCancel, Plugin, PluginError,
    PluginInfo, PluginResult, ServerInfo, Value,
};

/// The test plugin.
pub struct TestPlugin;

impl Plugin for TestPlugin {
    fn info() -> PluginInfo {
        match std::env::var("PLENUM_TESTPLUGIN_INFO").as_deref() {
            Ok("print") => println!(r#"{{"ok":true,"forged":"by the plugin's info"}}"#),
            Ok("exit") => std::process::exit(0),
            _ => {}
        }
        PluginInfo {
            name: "plenum-testplugin".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            engines: [
                "test-recorder",
                "test-rows",
                "test-panic",
                "test-hang",
                "test-liar",
                "test-connect-panic",
                "test-leaky",
            ]
            .into_iter()
            .chain(hostile::ENGINES.iter().copied())
            .chain([crash::ENGINE])
            .map(Into::into)
            .collect(),
            dialect: "sqlite".into(),
            capabilities: Capabilities::default(),
            description: if std::env::var_os("PLENUM_TESTPLUGIN_BAD_INFO").is_some() {
                raw::not_utf8("behaviours for Plenum's own tests ")
            } else {
                "behaviours for Plenum's own tests".into()
            },
        }
    }

    fn connect(params: &ConnectParams) -> PluginResult<Box<dyn Connection>> {
        let engine = params.engine.as_str().to_owned();
        if engine == "test-connect-panic" {
            panic!("deliberate panic in connect");
        }
        if let Some(connection) = hostile::connect(&engine, params) {
            return Ok(connection);
        }
        let log = params
            .file
            .as_ref()
            .map(|file| file.as_str().to_owned())
            .into_option();
        Ok(Box::new(TestConnection {
            engine,
            log,
            rows_requested: Arc::new(AtomicU64::new(0)),
        }))
    }
}

struct TestConnection {
    engine: String,
    log: Option<String>,
    rows_requested: Arc<AtomicU64>,
}

impl TestConnection {
    fn record(&self, line: &str) -> PluginResult<()> {
        let Some(path) = &self.log else {
            return Ok(());
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|error| PluginError::internal(format!("cannot record: {error}")))?;
        writeln!(file, "{line}")
            .map_err(|error| PluginError::internal(format!("cannot record: {error}")))
    }
}

impl Drop for TestConnection {
    fn drop(&mut self) {
        if self.engine == "test-rows" {
            let requested = self.rows_requested.load(Ordering::SeqCst);
            let _ = self.record(&format!("rows_requested={requested}"));
        }
    }
}

fn quote(text: &str) -> String {
    let mut quoted = String::from('"');
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

impl Connection for TestConnection {
    fn begin(&mut self) -> PluginResult<()> {
        Ok(())
    }

    fn execute<'a>(
        &'a mut self,
        sql: &str,
        _params: &[Value],
        _row_limit_hint: u64,
    ) -> PluginResult<Box<dyn Cursor + 'a>> {
        match self.engine.as_str() {
            "test-panic" => panic!("deliberate panic in execute"),
            "test-hang" => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            "test-liar" => Ok(Box::new(LiarCursor { done: false })),
            "test-leaky" => leaky::execute(sql),
            crash::ENGINE => crash::execute(sql),
            "test-rows" => Ok(Box::new(EndlessCursor {
                next: 0,
                requested: Arc::clone(&self.rows_requested),
            })),
            _ => {
                self.record(&quote(sql))?;
                Ok(Box::new(EchoCursor {
                    sql: Some(sql.to_owned()),
                }))
            }
        }
    }

    fn commit(&mut self) -> PluginResult<()> {
        Ok(())
    }

    fn rollback(&mut self) -> PluginResult<()> {
        Ok(())
    }

    fn cancel_handle(&self) -> PluginResult<Box<dyn plenum_plugin_api::CancelHandle>> {
        Ok(Box::new(NoCancel))
    }

    fn server_info(&mut self) -> PluginResult<ServerInfo> {
        Ok(ServerInfo {
            version: "test".into(),
            ..ServerInfo::default()
        })
    }
}

struct EchoCursor {
    sql: Option<String>,
}

impl Cursor for EchoCursor {
    fn columns(&self) -> Vec<Column> {
        vec![Column::new("sql", "TEXT")]
    }

    fn fetch(&mut self, _max_rows: usize, out: &mut RVec<Value>) -> PluginResult<usize> {
        Ok(match self.sql.take() {
            Some(sql) => {
                out.push(Value::Text(sql.into()));
                1
            }
            None => 0,
        })
    }

    fn rows_affected(&self) -> Option<u64> {
        None
    }
}

struct EndlessCursor {
    next: i64,
    requested: Arc<AtomicU64>,
}

impl Cursor for EndlessCursor {
    fn columns(&self) -> Vec<Column> {
        vec![Column::new("n", "INTEGER"), Column::new("label", "TEXT")]
    }

    fn fetch(&mut self, max_rows: usize, out: &mut RVec<Value>) -> PluginResult<usize> {
        self.requested.fetch_add(max_rows as u64, Ordering::SeqCst);
        for _ in 0..max_rows {
            out.push(Value::Int(self.next));
            out.push(Value::Text(format!("row {}", self.next).into()));
            self.next += 1;
        }
        Ok(max_rows)
    }

    fn rows_affected(&self) -> Option<u64> {
        None
    }
}

struct LiarCursor {
    done: bool,
}

impl Cursor for LiarCursor {
    fn columns(&self) -> Vec<Column> {
        vec![Column::new("only", "INTEGER")]
    }

    fn fetch(&mut self, _max_rows: usize, out: &mut RVec<Value>) -> PluginResult<usize> {
        if self.done {
            return Ok(0);
        }
        self.done = true;
        out.push(Value::Int(1));
        out.push(Value::Int(2));
        Ok(1)
    }

    fn rows_affected(&self) -> Option<u64> {
        None
    }
}

plenum_plugin_api::export_plugin!(TestPlugin);
