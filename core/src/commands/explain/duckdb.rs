//! The `duckdb` dialect: `EXPLAIN (FORMAT JSON)` returns one row `(explain_key,
//! explain_value)` whose text is `[{"name": …, "children": […], "extra_info": {…}}]`.

use super::tree::{document, Detail, Json, PlanNode};
use crate::services::error::Failure;

/// The plan tree from the rows of `EXPLAIN (FORMAT JSON) …`.
pub fn plan(rows: &[Vec<Json>]) -> Result<PlanNode, Failure> {
    let [row] = rows else {
        return Err(Failure::plugin(format!(
            "the engine returned {} rows for EXPLAIN (FORMAT JSON); one was expected",
            rows.len()
        )));
    };
    let Some(cell) = row.last() else {
        return Err(Failure::plugin("the plan row has no columns"));
    };
    let Json::Array(roots) = document(cell)? else {
        return Err(Failure::plugin("the plan is not a JSON array"));
    };
    let mut plans: Vec<PlanNode> = roots.iter().map(node).collect();
    if plans.len() == 1 {
        Ok(plans.remove(0))
    } else {
        let mut root = PlanNode::named("QUERY");
        root.children = plans;
        Ok(root)
    }
}

fn node(plan: &Json) -> PlanNode {
    let info = plan.get("extra_info");
    let text = |key: &str| {
        info.and_then(|info| info.get(key))
            .and_then(Json::as_str)
            .map(str::to_owned)
    };
    let mut detail = Detail::default();
    if let Some(Json::Object(fields)) = info {
        for (key, value) in fields {
            if !matches!(key.as_str(), "Table" | "Estimated Cardinality") {
                detail.push(key, value);
            }
        }
    }
    let children = match plan.get("children") {
        Some(Json::Array(children)) => children.iter().map(node).collect(),
        _ => Vec::new(),
    };
    PlanNode {
        node: plan
            .get("name")
            .and_then(Json::as_str)
            .map_or("Unknown", str::trim)
            .to_owned(),
        relation: text("Table"),
        alias: None,
        index: None,
        estimated_rows: text("Estimated Cardinality").and_then(|rows| rows.trim().parse().ok()),
        estimated_cost: None,
        detail: detail.finish(),
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from DuckDB 1.4.4 (`EXPLAIN (FORMAT JSON)` of a join with a filter and a
    // GROUP BY), as the row writer renders the row: two text cells.
    const JOIN: &str = r##"[{"name": "PROJECTION", "children": [{"name": "HASH_GROUP_BY", "children": [{"name": "HASH_JOIN", "children": [{"name": "SEQ_SCAN ", "children": [], "extra_info": {"Table": "orders", "Type": "Sequential Scan", "Projections": ["user_id", "total"], "Estimated Cardinality": "5000"}}, {"name": "SEQ_SCAN ", "children": [], "extra_info": {"Table": "users", "Type": "Sequential Scan", "Projections": ["id", "name"], "Filters": "id>3", "Estimated Cardinality": "200"}}], "extra_info": {"Join Type": "INNER", "Conditions": "user_id = id", "Estimated Cardinality": "1000"}}], "extra_info": {"Groups": "#0", "Aggregates": "sum(#1)"}}], "extra_info": {"Projections": ["name", "sum(o.total)"]}}]"##;

    #[test]
    fn every_node_keeps_its_table_estimate_and_details() {
        let rows = vec![vec![
            Json::String("physical_plan".into()),
            Json::String(JOIN.into()),
        ]];
        let root = plan(&rows).expect("plan");
        assert_eq!(root.node, "PROJECTION");
        assert_eq!(root.count(), 5);
        let join = &root.children[0].children[0];
        assert_eq!(join.node, "HASH_JOIN");
        assert_eq!(join.estimated_rows, Some(1000.0));
        assert_eq!(
            join.detail.as_deref(),
            Some("Join Type: INNER; Conditions: user_id = id")
        );
        let users = &join.children[1];
        assert_eq!(users.node, "SEQ_SCAN");
        assert_eq!(users.relation.as_deref(), Some("users"));
        assert_eq!(users.estimated_rows, Some(200.0));
        assert_eq!(
            users.detail.as_deref(),
            Some("Type: Sequential Scan; Projections: id, name; Filters: id>3")
        );
    }

    #[test]
    fn a_plan_that_is_not_one_row_of_a_json_array_is_an_error() {
        assert!(plan(&[]).is_err());
        let rows = vec![vec![
            Json::String("physical_plan".into()),
            Json::String("{}".into()),
        ]];
        assert!(plan(&rows).is_err());
    }
}
