//! `test-leaky`: an engine that keeps none of the safety contract, for the conformance kit's
//! own tests. It runs every `;`-separated part of a call (splitting naively, as an engine
//! with other lexing would), ignores the session's access mode and has no transactions, and
//! its `READ path` and `WRITE path` statements read and write files.
//!
//! Its one table lives in the process (the kit loads the plugin in-process): `CREATE …`,
//! `DROP …`, `ALTER …` (adds a column), `INSERT …` (one row), `UPDATE …` (every label),
//! `DELETE …`, and `SELECT * FROM items`. Any other `SELECT` returns the row `1`.

use std::sync::Mutex;

use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{Column, Cursor, PluginError, PluginResult, Value};

/// The table: its column names and each row's label.
struct Table {
    columns: Vec<&'static str>,
    labels: Vec<String>,
}

static TABLE: Mutex<Option<Table>> = Mutex::new(None);

/// Runs every part of `sql`; the last part's result is the call's.
pub fn execute(sql: &str) -> PluginResult<Box<dyn Cursor>> {
    let mut last = Rows::default();
    for part in sql.split(';').map(str::trim) {
        if part.is_empty() || part.starts_with("--") {
            continue;
        }
        last = statement(part)?;
    }
    Ok(Box::new(last))
}

fn statement(sql: &str) -> PluginResult<Rows> {
    let upper = sql.to_ascii_uppercase();
    let word = upper.split_whitespace().next().unwrap_or_default();
    let mut table = TABLE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let missing = || PluginError::query("no table items");
    let argument = sql
        .split_once(' ')
        .map(|(_, rest)| rest.trim())
        .unwrap_or("");
    match word {
        "CREATE" => {
            *table = Some(Table {
                columns: vec!["id", "label"],
                labels: Vec::new(),
            });
            Ok(Rows::affected(0))
        }
        "DROP" => {
            *table = None;
            Ok(Rows::affected(0))
        }
        "ALTER" => {
            table.as_mut().ok_or_else(missing)?.columns.push("extra");
            Ok(Rows::affected(0))
        }
        "INSERT" => {
            table
                .as_mut()
                .ok_or_else(missing)?
                .labels
                .push("one".into());
            Ok(Rows::affected(1))
        }
        "UPDATE" => {
            let table = table.as_mut().ok_or_else(missing)?;
            table
                .labels
                .iter_mut()
                .for_each(|label| *label = "changed".into());
            Ok(Rows::affected(table.labels.len() as u64))
        }
        "DELETE" => {
            let table = table.as_mut().ok_or_else(missing)?;
            let deleted = table.labels.len() as u64;
            table.labels.clear();
            Ok(Rows::affected(deleted))
        }
        "READ" => {
            let text = std::fs::read_to_string(argument)
                .map_err(|error| PluginError::query(format!("cannot read: {error}")))?;
            Ok(Rows::values(
                &["contents"],
                vec![vec![Value::Text(text.into())]],
            ))
        }
        "WRITE" => {
            std::fs::write(argument, "x")
                .map_err(|error| PluginError::query(format!("cannot write: {error}")))?;
            Ok(Rows::affected(1))
        }
        "SELECT" if upper == "SELECT * FROM ITEMS" => {
            let table = table.as_ref().ok_or_else(missing)?;
            let rows = table
                .labels
                .iter()
                .map(|label| {
                    let mut row = vec![Value::Int(1), Value::Text(label.as_str().into())];
                    row.resize(table.columns.len(), Value::Null);
                    row
                })
                .collect();
            Ok(Rows::values(&table.columns, rows))
        }
        "SELECT" => Ok(Rows::values(&["one"], vec![vec![Value::Int(1)]])),
        _ => Err(PluginError::query(format!("unknown statement: {sql}"))),
    }
}

/// A finished result.
#[derive(Default)]
struct Rows {
    columns: Vec<Column>,
    rows: std::vec::IntoIter<Vec<Value>>,
    affected: Option<u64>,
}

impl Rows {
    fn affected(count: u64) -> Self {
        Rows {
            affected: Some(count),
            ..Rows::default()
        }
    }

    fn values(names: &[&str], rows: Vec<Vec<Value>>) -> Self {
        Rows {
            columns: names.iter().map(|name| Column::new(*name, "")).collect(),
            rows: rows.into_iter(),
            affected: None,
        }
    }
}

impl Cursor for Rows {
    fn columns(&self) -> Vec<Column> {
        self.columns.clone()
    }

    fn fetch(&mut self, max_rows: usize, out: &mut RVec<Value>) -> PluginResult<usize> {
        let mut fetched = 0;
        while fetched < max_rows {
            let Some(row) = self.rows.next() else { break };
            out.extend(row);
            fetched += 1;
        }
        Ok(fetched)
    }

    fn rows_affected(&self) -> Option<u64> {
        self.affected
    }
}
