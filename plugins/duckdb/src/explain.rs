//! `--explain` (plugin API 1.2 `explain`): DuckDB plans the statement with `EXPLAIN (FORMAT
//! JSON)`, never `ANALYZE`, and the plugin answers the tree in the host's plan form. The host
//! has no reader for DuckDB's plans; this is where a vendor puts one.

use serde_json::{json, Value};

/// The plan-only statement for `sql`: nothing runs.
pub fn wrap(sql: &str) -> String {
    format!("EXPLAIN (FORMAT JSON) {sql}")
}

/// The host's plan tree (JSON text) from what DuckDB's `EXPLAIN (FORMAT JSON)` answers in its
/// plan column: `[{"name": …, "children": […], "extra_info": {…}}, …]`.
pub fn tree(text: &str) -> Result<String, String> {
    let plans: Value = serde_json::from_str(text)
        .map_err(|error| format!("DuckDB's plan is not JSON: {error}"))?;
    let Value::Array(roots) = plans else {
        return Err("DuckDB's plan is not a JSON array".to_owned());
    };
    let mut nodes: Vec<Value> = roots.iter().map(node).collect();
    let root = match nodes.len() {
        0 => return Err("DuckDB's plan is empty".to_owned()),
        1 => nodes.remove(0),
        _ => json!({"node": "QUERY", "children": nodes}),
    };
    Ok(root.to_string())
}

fn node(plan: &Value) -> Value {
    let info = plan.get("extra_info").and_then(Value::as_object);
    let text = |key: &str| {
        info.and_then(|info| info.get(key))
            .and_then(Value::as_str)
            .map(str::trim)
    };
    // What DuckDB says beyond the table and the estimate, one line (keys in name order).
    let detail: Vec<String> = info
        .into_iter()
        .flatten()
        .filter(|(key, _)| !matches!(key.as_str(), "Table" | "Estimated Cardinality"))
        .map(|(key, value)| format!("{key}: {}", flat(value)))
        .collect();
    let children: Vec<Value> = plan
        .get("children")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(node)
        .collect();
    json!({
        "node": plan
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .unwrap_or("UNKNOWN"),
        "relation": text("Table"),
        "estimated_rows": text("Estimated Cardinality").and_then(|rows| rows.parse::<f64>().ok()),
        "detail": (!detail.is_empty()).then(|| detail.join("; ")),
        "children": children,
    })
}

fn flat(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(flat).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from DuckDB 1.4.4: `EXPLAIN (FORMAT JSON)` of a join with a filter and a
    // GROUP BY.
    const JOIN: &str = r##"[{"name": "PROJECTION", "children": [{"name": "HASH_GROUP_BY", "children": [{"name": "HASH_JOIN", "children": [{"name": "SEQ_SCAN ", "children": [], "extra_info": {"Table": "orders", "Type": "Sequential Scan", "Projections": ["user_id", "total"], "Estimated Cardinality": "5000"}}, {"name": "SEQ_SCAN ", "children": [], "extra_info": {"Table": "users", "Type": "Sequential Scan", "Projections": ["id", "name"], "Filters": "id>3", "Estimated Cardinality": "200"}}], "extra_info": {"Join Type": "INNER", "Conditions": "user_id = id", "Estimated Cardinality": "1000"}}], "extra_info": {"Groups": "#0", "Aggregates": "sum(#1)"}}], "extra_info": {"Projections": ["name", "sum(o.total)"]}}]"##;

    #[test]
    fn every_node_keeps_its_table_estimate_and_details() {
        let tree: Value = tree(JOIN)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        assert_eq!(tree["node"], "PROJECTION");
        let join = &tree["children"][0]["children"][0];
        assert_eq!(join["node"], "HASH_JOIN");
        assert_eq!(join["estimated_rows"], 1000.0);
        assert_eq!(join["detail"], "Conditions: user_id = id; Join Type: INNER");
        let users = &join["children"][1];
        assert_eq!(users["node"], "SEQ_SCAN");
        assert_eq!(users["relation"], "users");
        assert_eq!(users["estimated_rows"], 200.0);
        assert_eq!(
            users["detail"],
            "Filters: id>3; Projections: id, name; Type: Sequential Scan"
        );
    }

    #[test]
    fn a_plan_that_is_not_a_json_array_is_an_error() {
        assert!(tree("{}").is_err());
        assert!(tree("[]").is_err());
        assert!(tree("not json").is_err());
    }
}
