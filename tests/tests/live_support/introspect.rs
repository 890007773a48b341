//! Reading `plenum introspect` envelopes, for the introspection tests of every engine (the
//! SQLite one included, though it needs no live server).

use plenum_e2e::{ConfigSandbox, Run};
use serde_json::Value as Json;

/// A table name shaped like SQL injection, which each introspection fixture creates.
pub const INJECTION: &str = "x'); DROP TABLE orders; --";

/// The names of a described table's columns, in order.
pub fn column_names(table: &Json) -> Vec<String> {
    table["columns"]
        .as_array()
        .map(|columns| {
            columns
                .iter()
                .filter_map(|column| column["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Panics unless `table` describes the [`INJECTION`] table of the fixtures, by its exact
/// name: columns `a"b` (the primary key) and `c;d`.
pub fn assert_describes_the_injection_table(table: &Json) {
    assert_eq!(table["name"], INJECTION);
    assert_eq!(column_names(table), vec!["a\"b", "c;d"]);
    assert_eq!(table["primary_key"], serde_json::json!(["a\"b"]));
}

/// The `data.tables` entries of a listing or a summary (none when absent).
pub fn listed_tables(run: &Run) -> Vec<Json> {
    run.json["data"]["tables"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The names of the `data.tables` entries, in order.
pub fn listed_table_names(run: &Run) -> Vec<&str> {
    run.json["data"]["tables"]
        .as_array()
        .map(|tables| tables.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default()
}

/// The entry named `name` among `tables`.
pub fn find_table(tables: &[Json], name: &str) -> Option<Json> {
    tables.iter().find(|t| t["name"] == name).cloned()
}

/// Panics unless the described `table` lists `index` among its indexes.
pub fn assert_has_index(table: &Json, index: &Json) {
    let indexes = table["indexes"].as_array().cloned().unwrap_or_default();
    assert!(indexes.contains(index), "{index} not in {indexes:?}");
}

/// Saves `dsn` as connection `name`, capped at read and tested on the way; panics unless that
/// worked, and returns the run (its `data.server` describes the server).
pub fn save_tested_read_only_connection(sandbox: &ConfigSandbox, name: &str, dsn: &str) -> Run {
    let run = sandbox
        .plenum([
            "connect",
            "--name",
            name,
            "--dsn",
            dsn,
            "--max-capability",
            "read",
            "--test",
        ])
        .run();
    run.assert_ok();
    run
}
