//! MySQL and MariaDB: `EXPLAIN FORMAT=JSON` returns one row, one text cell holding
//! `{"query_block": {…}}`.
//!
//! The document is walked generically, so keys one server version has and another lacks
//! (`nested_loop`, `table`, `subqueries`, `materialized`, `union_result`,
//! `query_specifications`, `filesort`, `temporary_table`, `ordering_operation`,
//! `grouping_operation`, `expression_cache`, `block-nl-join`, …) all end up in the tree:
//!
//! * an object (other than `cost_info`) becomes a node named by its key;
//! * an array of objects becomes a node named by its key, each element a child (an element
//!   `{"table": {…}}` is the node `table`, its other flat fields added to that node);
//! * flat fields (strings, numbers, booleans, arrays of them, and MySQL's `cost_info`, an
//!   object made only of those) describe their node: `table_name` is the relation (aliases
//!   resolved, internal names like `<derived2>` kept in `detail`), `key` the index, `rows`
//!   (MariaDB) or `rows_examined_per_scan` (MySQL) the estimated rows, `cost` (MariaDB 11) or
//!   `cost_info.query_cost` / `cost_info.prefix_cost` (MySQL) the cost; the rest goes to
//!   `detail` in document order.

use super::relations::Tables;
use super::tree::{document, Detail, Json, PlanNode};
use crate::services::error::Failure;

/// The plan tree from the rows of `EXPLAIN FORMAT=JSON …`.
pub fn plan(rows: &[Vec<Json>], tables: &Tables<'_>) -> Result<PlanNode, Failure> {
    let [row] = rows else {
        return Err(Failure::plugin(format!(
            "the server returned {} rows for EXPLAIN FORMAT=JSON; one was expected",
            rows.len()
        )));
    };
    let [cell] = row.as_slice() else {
        return Err(Failure::plugin("the MySQL plan row is not one column"));
    };
    let document = document(cell)?;
    let Json::Object(fields) = &document else {
        return Err(Failure::plugin("the MySQL plan is not a JSON object"));
    };
    // The usual document is `{"query_block": {…}}`: that block is the root.
    if let [(key, value @ Json::Object(_))] = fields.as_slice() {
        return Ok(node(key, value, &[], tables));
    }
    Ok(node("QUERY", &document, &[], tables))
}

/// The node named `name` for `value` (an object), with `inherited` flat fields of the array
/// element that wrapped it.
fn node(name: &str, value: &Json, inherited: &[(String, Json)], tables: &Tables<'_>) -> PlanNode {
    let mut node = PlanNode::named(name);
    let mut detail = Detail::default();
    let empty = Vec::new();
    let fields = match value {
        Json::Object(fields) => fields,
        _ => &empty,
    };
    for (key, value) in inherited.iter().chain(fields) {
        match value {
            Json::Object(inner) if is_attributes(key, value) => {
                for (inner_key, inner_value) in inner {
                    let cost = matches!(inner_key.as_str(), "query_cost" | "prefix_cost");
                    match inner_value.as_f64() {
                        Some(cost_value) if cost && node.estimated_cost.is_none() => {
                            node.estimated_cost = Some(cost_value);
                        }
                        _ => detail.push(&format!("{key}.{inner_key}"), inner_value),
                    }
                }
            }
            Json::Object(_) => node.children.push(self::node(key, value, &[], tables)),
            Json::Array(items) if !value.is_flat() => {
                let mut list = PlanNode::named(key.as_str());
                let mut list_detail = Detail::default();
                for item in items {
                    match item {
                        Json::Object(_) => list.children.push(element(key, item, tables)),
                        scalar => list_detail.push_text(scalar.to_string()),
                    }
                }
                list.detail = list_detail.finish();
                node.children.push(list);
            }
            flat => describe(&mut node, &mut detail, key, flat, tables),
        }
    }
    node.detail = detail.finish();
    node
}

/// One element of an array of objects: `{"table": {…}}` (with perhaps flat fields beside
/// it) is the node `table`; anything else is a node named by the array's key.
fn element(array_key: &str, item: &Json, tables: &Tables<'_>) -> PlanNode {
    let Json::Object(fields) = item else {
        return PlanNode::named(array_key);
    };
    let mut objects = fields
        .iter()
        .filter(|(key, value)| matches!(value, Json::Object(_)) && !is_attributes(key, value));
    if let (Some((key, value)), None) = (objects.next(), objects.next()) {
        let flat: Vec<(String, Json)> = fields
            .iter()
            .filter(|(other, _)| other != key)
            .cloned()
            .collect();
        return node(key, value, &flat, tables);
    }
    node(array_key, item, &[], tables)
}

/// Whether an object describes its node rather than being one: MySQL's `cost_info`, made
/// only of flat fields. Every other object is a node, so nothing nested is lost.
fn is_attributes(key: &str, value: &Json) -> bool {
    key == "cost_info"
        && matches!(value, Json::Object(inner) if inner.iter().all(|(_, value)| value.is_flat()))
}

/// Applies one flat field to `node`.
fn describe(
    node: &mut PlanNode,
    detail: &mut Detail,
    key: &str,
    value: &Json,
    tables: &Tables<'_>,
) {
    match (key, value) {
        ("table_name", Json::String(name)) if node.relation.is_none() && !name.starts_with('<') => {
            let resolved = tables.resolve(name);
            node.relation = resolved.relation;
            node.alias = resolved.alias;
        }
        ("key", Json::String(index)) if node.index.is_none() => node.index = Some(index.clone()),
        ("rows" | "rows_examined_per_scan", _)
            if node.estimated_rows.is_none() && value.as_f64().is_some() =>
        {
            node.estimated_rows = value.as_f64();
        }
        ("cost", _) if node.estimated_cost.is_none() && value.as_f64().is_some() => {
            node.estimated_cost = value.as_f64();
        }
        _ => detail.push(key, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(captured: &str) -> Vec<Vec<Json>> {
        // MySQL's EXPLAIN column is text: the row writer renders it as a JSON string.
        vec![vec![Json::String(captured.to_owned())]]
    }

    fn plain() -> Tables<'static> {
        Tables::default()
    }

    /// Node names from the root down, depth-first, with their relations.
    fn outline(node: &PlanNode, depth: usize, out: &mut Vec<String>) {
        out.push(format!(
            "{}{}{}",
            "  ".repeat(depth),
            node.node,
            node.relation
                .as_deref()
                .map(|relation| format!(" {relation}"))
                .unwrap_or_default()
        ));
        for child in &node.children {
            outline(child, depth + 1, out);
        }
    }

    fn outline_of(root: &PlanNode) -> Vec<String> {
        let mut out = Vec::new();
        outline(root, 0, &mut out);
        out
    }

    // Captured from MariaDB 10.11.19 (`EXPLAIN FORMAT=JSON`, tables of 1,000 users and 5,000
    // orders, analyzed).
    const JOIN: &str = r#"{"query_block": {"select_id": 1, "nested_loop": [{"table": {"table_name": "u", "access_type": "ALL", "possible_keys": ["PRIMARY"], "rows": 1000, "filtered": 100}}, {"table": {"table_name": "o", "access_type": "ref", "possible_keys": ["user_id"], "key": "user_id", "key_length": "4", "used_key_parts": ["user_id"], "ref": ["test.u.id"], "rows": 2, "filtered": 100, "attached_condition": "o.total > 10"}}]}}"#;

    const SUBQUERY: &str = r#"{"query_block": {"select_id": 1, "nested_loop": [{"table": {"table_name": "u", "access_type": "ALL", "possible_keys": ["PRIMARY"], "rows": 1000, "filtered": 100}}, {"table": {"table_name": "<subquery3>", "access_type": "eq_ref", "possible_keys": ["distinct_key"], "key": "distinct_key", "key_length": "4", "used_key_parts": ["user_id"], "ref": ["func"], "rows": 1, "filtered": 100, "materialized": {"unique": 1, "query_block": {"select_id": 3, "nested_loop": [{"table": {"table_name": "xpl_orders", "access_type": "ALL", "possible_keys": ["user_id"], "rows": 5000, "filtered": 100, "attached_condition": "xpl_orders.total > 4990"}}]}}}}], "subqueries": [{"expression_cache": {"state": "uninitialized", "query_block": {"select_id": 2, "nested_loop": [{"table": {"table_name": "o", "access_type": "ref", "possible_keys": ["user_id"], "key": "user_id", "key_length": "4", "used_key_parts": ["user_id"], "ref": ["test.u.id"], "rows": 2, "filtered": 100}}]}}}]}}"#;

    const UNION: &str = r#"{"query_block": {"union_result": {"table_name": "<union1,2>", "access_type": "ALL", "query_specifications": [{"query_block": {"select_id": 1, "nested_loop": [{"table": {"table_name": "xpl_users", "access_type": "range", "possible_keys": ["PRIMARY"], "key": "PRIMARY", "key_length": "4", "used_key_parts": ["id"], "rows": 4, "filtered": 100, "attached_condition": "xpl_users.`id` < 5", "using_index": true}}]}}, {"query_block": {"select_id": 2, "operation": "UNION", "nested_loop": [{"table": {"table_name": "xpl_orders", "access_type": "const", "possible_keys": ["PRIMARY"], "key": "PRIMARY", "key_length": "4", "used_key_parts": ["id"], "ref": ["const"], "rows": 1, "filtered": 100}}]}}]}}}"#;

    const DELETE: &str = r#"{"query_block": {"select_id": 1, "table": {"delete": 1, "table_name": "xpl_orders", "access_type": "range", "possible_keys": ["PRIMARY"], "key": "PRIMARY", "key_length": "4", "used_key_parts": ["id"], "rows": 1, "attached_condition": "xpl_orders.`id` = 5"}}}"#;

    const DERIVED: &str = r#"{"query_block": {"select_id": 1, "nested_loop": [{"table": {"table_name": "u", "access_type": "ALL", "possible_keys": ["PRIMARY"], "rows": 1000, "filtered": 100}}, {"table": {"table_name": "<derived2>", "access_type": "ref", "possible_keys": ["key0"], "key": "key0", "key_length": "4", "used_key_parts": ["user_id"], "ref": ["test.u.id"], "rows": 10, "filtered": 100, "attached_condition": "d.s > 100", "materialized": {"query_block": {"select_id": 2, "having_condition": "s > 100", "filesort": {"sort_key": "xpl_orders.user_id", "temporary_table": {"nested_loop": [{"table": {"table_name": "xpl_orders", "access_type": "ALL", "possible_keys": ["user_id"], "rows": 5000, "filtered": 100}}]}}}}}}]}}"#;

    const UPDATE: &str = r#"{"query_block": {"select_id": 1, "table": {"update": 1, "table_name": "xpl_users", "access_type": "index", "key": "PRIMARY", "key_length": "", "used_key_parts": ["id"], "rows": 1000, "attached_condition": "<in_optimizer>(xpl_users.`id`,<exists>(subquery#2))"}, "subqueries": [{"query_block": {"select_id": 2, "nested_loop": [{"table": {"table_name": "xpl_orders", "access_type": "index_subquery", "possible_keys": ["user_id"], "key": "user_id", "key_length": "4", "used_key_parts": ["user_id"], "ref": ["func"], "rows": 2, "filtered": 100}}]}}]}}"#;

    // A document in the shape of MySQL 8.0's format (version 1), not captured from a server:
    // costs as strings under `cost_info`, rows as `rows_examined_per_scan`, subquery
    // elements with flat fields beside their `query_block`.
    const MYSQL8: &str = r#"{"query_block": {"select_id": 1, "cost_info": {"query_cost": "2.75"}, "nested_loop": [{"table": {"table_name": "u", "access_type": "ALL", "rows_examined_per_scan": 10, "rows_produced_per_join": 10, "filtered": "100.00", "cost_info": {"read_cost": "0.25", "eval_cost": "1.00", "prefix_cost": "1.25", "data_read_per_join": "160"}, "used_columns": ["id", "name"]}}], "select_list_subqueries": [{"dependent": true, "cacheable": false, "query_block": {"select_id": 2, "cost_info": {"query_cost": "0.35"}, "table": {"table_name": "orders", "access_type": "ref", "key": "user_id", "rows_examined_per_scan": 1}}}]}}"#;

    #[test]
    fn join_names_both_tables_through_their_aliases() {
        let sql = "SELECT u.name, o.total FROM xpl_users u JOIN xpl_orders o ON o.user_id = u.id WHERE o.total > 10";
        let statements =
            plenum_gate::classify(sql, plenum_gate::Dialect::MySql).expect("classifies");
        let root = plan(&rows(JOIN), &Tables(&statements[0].tables)).expect("plan");
        assert_eq!(
            outline_of(&root),
            [
                "query_block",
                "  nested_loop",
                "    table xpl_users",
                "    table xpl_orders"
            ]
        );
        assert_eq!(root.detail.as_deref(), Some("select_id: 1"));
        let orders = &root.children[0].children[1];
        assert_eq!(orders.alias.as_deref(), Some("o"));
        assert_eq!(orders.index.as_deref(), Some("user_id"));
        assert_eq!(orders.estimated_rows, Some(2.0));
        assert_eq!(orders.estimated_cost, None);
        assert_eq!(
            orders.detail.as_deref(),
            Some("access_type: ref; possible_keys: user_id; key_length: 4; used_key_parts: user_id; ref: test.u.id; filtered: 100; attached_condition: o.total > 10")
        );
        // Without the statement's names, the engine's name stays.
        let root = plan(&rows(JOIN), &plain()).expect("plan");
        assert_eq!(root.children[0].children[0].relation.as_deref(), Some("u"));
    }

    #[test]
    fn subqueries_materializations_and_unions_are_walked() {
        let root = plan(&rows(SUBQUERY), &plain()).expect("plan");
        assert_eq!(
            outline_of(&root),
            [
                "query_block",
                "  nested_loop",
                "    table u",
                "    table",
                "      materialized",
                "        query_block",
                "          nested_loop",
                "            table xpl_orders",
                "  subqueries",
                "    expression_cache",
                "      query_block",
                "        nested_loop",
                "          table o",
            ]
        );
        let internal = &root.children[0].children[1];
        assert!(internal.detail.as_deref().is_some_and(
            |detail| detail.starts_with("table_name: <subquery3>; access_type: eq_ref")
        ));

        let root = plan(&rows(UNION), &plain()).expect("plan");
        assert_eq!(
            outline_of(&root),
            [
                "query_block",
                "  union_result",
                "    query_specifications",
                "      query_block",
                "        nested_loop",
                "          table xpl_users",
                "      query_block",
                "        nested_loop",
                "          table xpl_orders",
            ]
        );
        assert!(root.children[0].children[0].children[1]
            .detail
            .as_deref()
            .is_some_and(|detail| detail.contains("operation: UNION")));

        let root = plan(&rows(DERIVED), &plain()).expect("plan");
        let relations: Vec<String> = outline_of(&root);
        assert!(relations
            .iter()
            .any(|line| line.trim() == "temporary_table"));
        assert!(relations
            .iter()
            .any(|line| line.trim() == "table xpl_orders"));
    }

    #[test]
    fn writes_are_planned_on_their_table() {
        let root = plan(&rows(DELETE), &plain()).expect("plan");
        assert_eq!(outline_of(&root), ["query_block", "  table xpl_orders"]);
        assert!(root.children[0]
            .detail
            .as_deref()
            .is_some_and(|detail| detail.starts_with("delete: 1; access_type: range")));
        let root = plan(&rows(UPDATE), &plain()).expect("plan");
        assert_eq!(
            outline_of(&root),
            [
                "query_block",
                "  table xpl_users",
                "  subqueries",
                "    query_block",
                "      nested_loop",
                "        table xpl_orders"
            ]
        );
    }

    #[test]
    fn mysql8_costs_and_wrapped_elements() {
        let root = plan(&rows(MYSQL8), &plain()).expect("plan");
        assert_eq!(root.estimated_cost, Some(2.75));
        let table = &root.children[0].children[0];
        assert_eq!(table.estimated_rows, Some(10.0));
        assert_eq!(table.estimated_cost, Some(1.25));
        assert!(table
            .detail
            .as_deref()
            .is_some_and(|detail| detail.contains("cost_info.read_cost: 0.25")
                && detail.contains("used_columns: id, name")));
        let subquery = &root.children[1].children[0];
        assert_eq!(subquery.node, "query_block");
        assert_eq!(subquery.estimated_cost, Some(0.35));
        assert!(subquery
            .detail
            .as_deref()
            .is_some_and(|detail| detail.starts_with("dependent: true; cacheable: false")));
        assert_eq!(subquery.children[0].relation.as_deref(), Some("orders"));
    }

    #[test]
    fn other_documents_still_make_a_tree() {
        let root = plan(
            &rows(r#"{"query_block": {"select_id": 1, "table": {"message": "No tables used"}}}"#),
            &plain(),
        )
        .expect("plan");
        assert_eq!(
            root.children[0].detail.as_deref(),
            Some("message: No tables used")
        );
        let root = plan(&rows(r#"{"a": 1, "b": {"c": {"d": 2}}}"#), &plain()).expect("plan");
        assert_eq!(root.node, "QUERY");
        assert_eq!(outline_of(&root), ["QUERY", "  b", "    c"]);
        assert!(plan(&rows("[1]"), &plain()).is_err());
        assert!(plan(&rows("not json"), &plain()).is_err());
        assert!(plan(&[], &plain()).is_err());
    }
}
