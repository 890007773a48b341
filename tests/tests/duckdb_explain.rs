//! `--explain` on DuckDB: the engine's JSON plan as Plenum's tree, and nothing executed.

mod duckdb_support;

use duckdb_support::Installed;
use serde_json::{json, Value as Json};

/// Every node's `relation`, depth first.
fn relations(node: &Json, out: &mut Vec<String>) {
    if let Some(relation) = node["relation"].as_str() {
        out.push(relation.to_owned());
    }
    for child in node["children"].as_array().into_iter().flatten() {
        relations(child, out);
    }
}

#[test]
fn explain_returns_duckdbs_plan_and_runs_nothing() {
    let installed = Installed::new();
    let run = installed.query(
        "SELECT a.label, count(*) FROM items a JOIN items b ON a.id = b.id WHERE a.id > ? GROUP BY a.label",
        &["--explain", "--param", "0"],
    );
    run.assert_ok();
    assert_eq!(run.json["command"], "explain", "{}", run.json);
    assert_eq!(run.json["data"]["format"], "plugin");
    assert_eq!(run.json["data"]["statement"]["tier"], "read");
    let plan = &run.json["data"]["plan"];
    assert!(plan["node"].is_string(), "{plan}");
    let mut found = Vec::new();
    relations(plan, &mut found);
    assert_eq!(
        found,
        vec!["items".to_owned(), "items".to_owned()],
        "{plan}"
    );

    // A write is planned in a write session, never run.
    let run = installed.query(
        "DELETE FROM items WHERE id = 1",
        &["--explain", "--allow-write"],
    );
    run.assert_ok();
    assert_eq!(run.json["data"]["statement"]["tier"], "write");
    assert_eq!(installed.count(), json!(2));
    // Without the grant, the tier is still the gate's.
    installed
        .query("DELETE FROM items", &["--explain"])
        .assert_error("CAPABILITY_VIOLATION");
    // The plan-only form is added by plenum; an EXPLAIN ANALYZE is refused.
    installed
        .query("EXPLAIN ANALYZE SELECT 1", &["--explain"])
        .assert_error("INVALID_INPUT");
}
