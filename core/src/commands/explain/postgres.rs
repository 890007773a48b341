//! PostgreSQL: `EXPLAIN (FORMAT JSON)` returns one row, one `json` cell holding
//! `[{"Plan": {…}}]`; every plan node names its children under `"Plans"`.

use super::tree::{document, Detail, Json, PlanNode};
use crate::services::error::Failure;

/// Fields that become the node's own keys, or that say nothing to a reader of the tree.
const NOT_DETAIL: &[&str] = &[
    "Node Type",
    "Relation Name",
    "Alias",
    "Index Name",
    "Plan Rows",
    "Total Cost",
    "Plans",
    "Plan Width",
    "Parent Relationship",
    "Async Capable",
];

/// The plan tree from the rows of `EXPLAIN (FORMAT JSON) …`.
pub fn plan(rows: &[Vec<Json>]) -> Result<PlanNode, Failure> {
    let [row] = rows else {
        return Err(Failure::plugin(format!(
            "PostgreSQL returned {} rows for EXPLAIN (FORMAT JSON); one was expected",
            rows.len()
        )));
    };
    let [cell] = row.as_slice() else {
        return Err(Failure::plugin("the PostgreSQL plan row is not one column"));
    };
    let document = document(cell)?;
    let Json::Array(statements) = &document else {
        return Err(Failure::plugin("the PostgreSQL plan is not a JSON array"));
    };
    let mut plans = statements
        .iter()
        .map(|statement| {
            statement
                .get("Plan")
                .map(node)
                .ok_or_else(|| Failure::plugin("a PostgreSQL plan has no \"Plan\""))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // A rule can turn one statement into several, each with its plan.
    if plans.len() == 1 {
        Ok(plans.remove(0))
    } else {
        let mut root = PlanNode::named("QUERY");
        root.children = plans;
        Ok(root)
    }
}

fn node(plan: &Json) -> PlanNode {
    let text = |key: &str| plan.get(key).and_then(Json::as_str).map(str::to_owned);
    let relation = text("Relation Name");
    let alias = text("Alias").filter(|alias| Some(alias) != relation.as_ref());
    let mut detail = Detail::default();
    if let Json::Object(fields) = plan {
        for (key, value) in fields {
            let noise = matches!(value, Json::Bool(false) | Json::Null)
                || (key == "Partial Mode" && value.as_str() == Some("Simple"));
            if value.is_flat() && !noise && !NOT_DETAIL.contains(&key.as_str()) {
                detail.push(key, value);
            }
        }
    }
    let children = match plan.get("Plans") {
        Some(Json::Array(children)) => children.iter().map(node).collect(),
        _ => Vec::new(),
    };
    PlanNode {
        node: text("Node Type").unwrap_or_else(|| "Unknown".to_owned()),
        relation,
        alias,
        index: text("Index Name"),
        estimated_rows: plan.get("Plan Rows").and_then(Json::as_f64),
        estimated_cost: plan.get("Total Cost").and_then(Json::as_f64),
        detail: detail.finish(),
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows as the row writer renders them: one row, the `json` cell embedded.
    fn rows(captured: &str) -> Vec<Vec<Json>> {
        vec![vec![Json::parse(captured).expect("captured JSON")]]
    }

    // Captured from PostgreSQL 15.20 (`EXPLAIN (FORMAT JSON)`, tables of 1,000 users and
    // 5,000 orders, analyzed).
    const JOIN: &str = r#"[{"Plan": {"Node Type": "Hash Join", "Parallel Aware": false, "Async Capable": false, "Join Type": "Inner", "Startup Cost": 28.50, "Total Cost": 132.15, "Plan Rows": 4990, "Plan Width": 9, "Inner Unique": true, "Hash Cond": "(o.user_id = u.id)", "Plans": [{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Parallel Aware": false, "Async Capable": false, "Relation Name": "xpl_orders", "Alias": "o", "Startup Cost": 0.00, "Total Cost": 90.50, "Plan Rows": 4990, "Plan Width": 9, "Filter": "(total > '10'::numeric)"}, {"Node Type": "Hash", "Parent Relationship": "Inner", "Parallel Aware": false, "Async Capable": false, "Startup Cost": 16.00, "Total Cost": 16.00, "Plan Rows": 1000, "Plan Width": 8, "Plans": [{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Parallel Aware": false, "Async Capable": false, "Relation Name": "xpl_users", "Alias": "u", "Startup Cost": 0.00, "Total Cost": 16.00, "Plan Rows": 1000, "Plan Width": 8}]}]}}]"#;

    const SUBQUERY: &str = r#"[{"Plan": {"Node Type": "Hash Join", "Parallel Aware": false, "Async Capable": false, "Join Type": "Semi", "Startup Cost": 90.62, "Total Cost": 1014.64, "Plan Rows": 10, "Plan Width": 36, "Inner Unique": false, "Hash Cond": "(u.id = xpl_orders.user_id)", "Plans": [{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Parallel Aware": false, "Async Capable": false, "Relation Name": "xpl_users", "Alias": "u", "Startup Cost": 0.0, "Total Cost": 16.0, "Plan Rows": 1000, "Plan Width": 8}, {"Node Type": "Hash", "Parent Relationship": "Inner", "Parallel Aware": false, "Async Capable": false, "Startup Cost": 90.5, "Total Cost": 90.5, "Plan Rows": 10, "Plan Width": 4, "Plans": [{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Parallel Aware": false, "Async Capable": false, "Relation Name": "xpl_orders", "Alias": "xpl_orders", "Startup Cost": 0.0, "Total Cost": 90.5, "Plan Rows": 10, "Plan Width": 4, "Filter": "(total > '4990'::numeric)"}]}, {"Node Type": "Aggregate", "Strategy": "Plain", "Partial Mode": "Simple", "Parent Relationship": "SubPlan", "Subplan Name": "SubPlan 1", "Parallel Aware": false, "Async Capable": false, "Startup Cost": 90.51, "Total Cost": 90.52, "Plan Rows": 1, "Plan Width": 32, "Plans": [{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Parallel Aware": false, "Async Capable": false, "Relation Name": "xpl_orders", "Alias": "o", "Startup Cost": 0.0, "Total Cost": 90.5, "Plan Rows": 5, "Plan Width": 5, "Filter": "(user_id = u.id)"}]}]}}]"#;

    const UNION: &str = r#"[{"Plan": {"Node Type": "Aggregate", "Strategy": "Hashed", "Partial Mode": "Simple", "Parallel Aware": false, "Async Capable": false, "Startup Cost": 16.73, "Total Cost": 16.78, "Plan Rows": 5, "Plan Width": 4, "Group Key": ["xpl_users.id"], "Planned Partitions": 0, "Plans": [{"Node Type": "Append", "Parent Relationship": "Outer", "Parallel Aware": false, "Async Capable": false, "Startup Cost": 0.28, "Total Cost": 16.72, "Plan Rows": 5, "Plan Width": 4, "Subplans Removed": 0, "Plans": [{"Node Type": "Index Only Scan", "Parent Relationship": "Member", "Parallel Aware": false, "Async Capable": false, "Scan Direction": "Forward", "Index Name": "xpl_users_pkey", "Relation Name": "xpl_users", "Alias": "xpl_users", "Startup Cost": 0.28, "Total Cost": 8.35, "Plan Rows": 4, "Plan Width": 4, "Index Cond": "(id < 5)"}, {"Node Type": "Index Scan", "Parent Relationship": "Member", "Parallel Aware": false, "Async Capable": false, "Scan Direction": "Forward", "Index Name": "xpl_orders_pkey", "Relation Name": "xpl_orders", "Alias": "xpl_orders", "Startup Cost": 0.28, "Total Cost": 8.3, "Plan Rows": 1, "Plan Width": 4, "Index Cond": "(id = 7)"}]}]}}]"#;

    const DELETE: &str = r#"[{"Plan": {"Node Type": "ModifyTable", "Operation": "Delete", "Parallel Aware": false, "Async Capable": false, "Relation Name": "xpl_orders", "Alias": "xpl_orders", "Startup Cost": 0.28, "Total Cost": 8.3, "Plan Rows": 0, "Plan Width": 0, "Plans": [{"Node Type": "Index Scan", "Parent Relationship": "Outer", "Parallel Aware": false, "Async Capable": false, "Scan Direction": "Forward", "Index Name": "xpl_orders_pkey", "Relation Name": "xpl_orders", "Alias": "xpl_orders", "Startup Cost": 0.28, "Total Cost": 8.3, "Plan Rows": 1, "Plan Width": 6, "Index Cond": "(id = 5)"}]}}]"#;

    const INIT_PLAN: &str = r#"[{"Plan": {"Node Type": "Limit", "Parallel Aware": false, "Async Capable": false, "Startup Cost": 90.51, "Total Cost": 90.68, "Plan Rows": 3, "Plan Width": 13, "Plans": [{"Node Type": "Aggregate", "Strategy": "Plain", "Partial Mode": "Simple", "Parent Relationship": "InitPlan", "Subplan Name": "InitPlan 1 (returns $0)", "Parallel Aware": false, "Async Capable": false, "Startup Cost": 90.5, "Total Cost": 90.51, "Plan Rows": 1, "Plan Width": 32, "Plans": [{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Parallel Aware": false, "Async Capable": false, "Relation Name": "xpl_orders", "Alias": "xpl_orders_1", "Startup Cost": 0.0, "Total Cost": 78.0, "Plan Rows": 5000, "Plan Width": 5}]}, {"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Parallel Aware": false, "Async Capable": false, "Relation Name": "xpl_orders", "Alias": "xpl_orders", "Startup Cost": 0.0, "Total Cost": 90.5, "Plan Rows": 1667, "Plan Width": 13, "Filter": "(total > $0)"}]}}]"#;

    #[test]
    fn join_maps_every_node() {
        let root = plan(&rows(JOIN)).expect("plan");
        assert_eq!(root.node, "Hash Join");
        assert_eq!(root.estimated_rows, Some(4990.0));
        assert_eq!(root.estimated_cost, Some(132.15));
        assert_eq!(root.relation, None);
        assert_eq!(
            root.detail.as_deref(),
            Some("Join Type: Inner; Startup Cost: 28.5; Inner Unique: true; Hash Cond: (o.user_id = u.id)")
        );
        let [orders, hash] = root.children.as_slice() else {
            panic!("two children: {root:?}");
        };
        assert_eq!(orders.node, "Seq Scan");
        assert_eq!(orders.relation.as_deref(), Some("xpl_orders"));
        assert_eq!(orders.alias.as_deref(), Some("o"));
        assert_eq!(
            orders.detail.as_deref(),
            Some("Startup Cost: 0.0; Filter: (total > '10'::numeric)")
        );
        assert_eq!(hash.node, "Hash");
        assert_eq!(hash.children[0].relation.as_deref(), Some("xpl_users"));
        assert_eq!(hash.children[0].alias.as_deref(), Some("u"));
        assert!(hash.children[0].children.is_empty());
    }

    #[test]
    fn sub_plans_init_plans_and_unions_are_children() {
        let root = plan(&rows(SUBQUERY)).expect("plan");
        assert_eq!(root.count(), 6);
        let sub_plan = &root.children[2];
        assert_eq!(sub_plan.node, "Aggregate");
        assert_eq!(
            sub_plan.detail.as_deref(),
            Some("Strategy: Plain; Subplan Name: SubPlan 1; Startup Cost: 90.51")
        );
        assert_eq!(sub_plan.children[0].alias.as_deref(), Some("o"));

        let root = plan(&rows(INIT_PLAN)).expect("plan");
        let init = &root.children[0];
        assert!(init
            .detail
            .as_deref()
            .is_some_and(|detail| detail.contains("InitPlan 1 (returns $0)")));
        assert_eq!(init.children[0].alias.as_deref(), Some("xpl_orders_1"));
        // PostgreSQL repeats the table name as the alias when there is none: left out.
        assert_eq!(root.children[1].alias, None);

        let root = plan(&rows(UNION)).expect("plan");
        let append = &root.children[0];
        assert_eq!(append.node, "Append");
        let indexes: Vec<_> = append
            .children
            .iter()
            .map(|child| (child.relation.as_deref(), child.index.as_deref()))
            .collect();
        assert_eq!(
            indexes,
            [
                (Some("xpl_users"), Some("xpl_users_pkey")),
                (Some("xpl_orders"), Some("xpl_orders_pkey"))
            ]
        );
        assert!(root
            .detail
            .as_deref()
            .is_some_and(|detail| detail.contains("Group Key: xpl_users.id")));
    }

    #[test]
    fn writes_plan_as_modify_table() {
        let root = plan(&rows(DELETE)).expect("plan");
        assert_eq!(root.node, "ModifyTable");
        assert_eq!(root.relation.as_deref(), Some("xpl_orders"));
        assert!(root
            .detail
            .as_deref()
            .is_some_and(|detail| detail.starts_with("Operation: Delete")));
        assert_eq!(root.children[0].node, "Index Scan");
    }

    #[test]
    fn a_plan_as_text_and_several_plans_are_read() {
        let text = vec![vec![Json::String(DELETE.to_owned())]];
        assert_eq!(plan(&text).expect("plan").node, "ModifyTable");
        let two = format!(
            "[{}, {}]",
            &DELETE[1..DELETE.len() - 1],
            &JOIN[1..JOIN.len() - 1]
        );
        let root = plan(&rows(&two)).expect("plan");
        assert_eq!(root.node, "QUERY");
        assert_eq!(root.children.len(), 2);
    }

    #[test]
    fn unexpected_shapes_fail() {
        assert!(plan(&[]).is_err());
        assert!(plan(&rows(r#"{"Plan": {}}"#)).is_err());
        assert!(plan(&rows(r#"[{"NoPlan": 1}]"#)).is_err());
    }
}
