//! SQLite: `EXPLAIN QUERY PLAN` returns rows `(id, parent, notused, detail)`; a row whose
//! `parent` is another row's `id` is its child, `parent = 0` is the top. SQLite gives no
//! estimates, so `estimated_rows` and `estimated_cost` are always null.

use std::collections::HashMap;

use super::relations::Tables;
use super::tree::{Json, PlanNode, MAX_DEPTH};
use crate::services::error::{ErrorCode, Failure};

/// Operations SQLite writes at the start of `detail`, longest first where one starts
/// another. Anything else is named by its first word.
const OPERATIONS: &[&str] = &[
    "CORRELATED SCALAR SUBQUERY",
    "CORRELATED LIST SUBQUERY",
    "REUSE LIST SUBQUERY",
    "REUSE SUBQUERY",
    "SCALAR SUBQUERY",
    "LIST SUBQUERY",
    "LEFT-MOST SUBQUERY",
    "USE TEMP B-TREE",
    "UNION USING TEMP B-TREE",
    "EXCEPT USING TEMP B-TREE",
    "INTERSECT USING TEMP B-TREE",
    "UNION ALL",
    "COMPOUND QUERY",
    "MULTI-INDEX OR",
    "RECURSIVE STEP",
    "CREATE BLOOM FILTER",
    "BLOOM FILTER ON",
    "SCAN CONSTANT ROW",
    "CO-ROUTINE",
    "MATERIALIZE",
    "MERGE",
    "SETUP",
    "INDEX",
    "LEFT",
    "RIGHT-JOIN",
    "RIGHT",
    "SCAN",
    "SEARCH",
];

/// The plan tree from the rows of `EXPLAIN QUERY PLAN …`: a node `QUERY` whose children are
/// the top-level rows.
pub fn plan(rows: &[Vec<Json>], tables: &Tables<'_>) -> Result<PlanNode, Failure> {
    // (id, parent, node) in SQLite's order, which lists a parent before its children.
    let mut entries: Vec<(i64, i64, PlanNode)> = Vec::with_capacity(rows.len());
    for row in rows {
        let [id, parent, _, detail] = row.as_slice() else {
            return Err(Failure::plugin(format!(
                "an EXPLAIN QUERY PLAN row has {} columns; 4 were expected",
                row.len()
            )));
        };
        let (Some(id), Some(parent), Some(detail)) =
            (id.as_i64(), parent.as_i64(), detail.as_str())
        else {
            return Err(Failure::plugin(
                "an EXPLAIN QUERY PLAN row is not (id, parent, notused, detail)",
            ));
        };
        entries.push((id, parent, node(detail, tables)));
    }
    // Each row's parent is the latest earlier row with that id; a row whose parent is
    // unknown hangs from the root. Rows list a parent before its children, so walking them
    // backwards completes every node before it moves into its parent (no recursion).
    let mut latest: HashMap<i64, usize> = HashMap::with_capacity(entries.len());
    let mut links: Vec<Option<usize>> = Vec::with_capacity(entries.len());
    let mut depths: Vec<usize> = Vec::with_capacity(entries.len());
    for (index, (id, parent, _)) in entries.iter().enumerate() {
        let link = latest.get(parent).copied();
        let depth = link.map_or(1, |parent| depths[parent] + 1);
        if depth > MAX_DEPTH {
            return Err(Failure::new(
                ErrorCode::QueryFailed,
                format!(
                    "the plan is nested deeper than {MAX_DEPTH} levels; plenum does not render it"
                ),
            ));
        }
        links.push(link);
        depths.push(depth);
        latest.insert(*id, index);
    }
    let mut slots: Vec<Option<PlanNode>> =
        entries.into_iter().map(|(_, _, node)| Some(node)).collect();
    let mut root = PlanNode::named("QUERY");
    for index in (0..slots.len()).rev() {
        let Some(mut node) = slots[index].take() else {
            continue;
        };
        // Its children arrived last first.
        node.children.reverse();
        match links[index].and_then(|parent| slots[parent].as_mut()) {
            Some(parent) => parent.children.push(node),
            None => root.children.push(node),
        }
    }
    root.children.reverse();
    Ok(root)
}

/// One row's node: the operation, the table and index it names, and the whole text.
fn node(detail: &str, tables: &Tables<'_>) -> PlanNode {
    let operation = OPERATIONS
        .iter()
        .find(|operation| {
            detail == **operation
                || detail
                    .strip_prefix(**operation)
                    .is_some_and(|rest| rest.starts_with(' '))
        })
        .map_or_else(
            || detail.split(' ').next().unwrap_or(detail).to_owned(),
            |operation| (*operation).to_owned(),
        );
    let mut node = PlanNode::named(operation.as_str());
    let rest = detail[operation.len().min(detail.len())..].trim_start();
    let reported = match operation.as_str() {
        "SCAN" | "SEARCH" | "RIGHT-JOIN" => Some(before_any(rest, &[" USING ", " VIRTUAL TABLE"])),
        "BLOOM FILTER ON" => Some(before_any(rest, &[" ("])),
        _ => None,
    };
    // A subquery without a name is written `(subquery-2)`, `(join-3)`: not a relation.
    if let Some(reported) = reported.filter(|name| !name.is_empty() && !name.starts_with('(')) {
        let resolved = tables.resolve(reported);
        node.relation = resolved.relation;
        node.alias = resolved.alias;
    }
    node.index = index(detail);
    node.detail = Some(detail.to_owned());
    node
}

/// `text` up to the first of `ends`, or all of it.
fn before_any<'a>(text: &'a str, ends: &[&str]) -> &'a str {
    let cut = ends
        .iter()
        .filter_map(|end| text.find(end))
        .min()
        .unwrap_or(text.len());
    &text[..cut]
}

/// The index a `USING …` clause names.
fn index(detail: &str) -> Option<String> {
    let using = &detail[detail.find(" USING ")? + " USING ".len()..];
    for key in ["INTEGER PRIMARY KEY", "PRIMARY KEY"] {
        if using.starts_with(key) {
            return Some(key.to_owned());
        }
    }
    let after = ["COVERING INDEX ", "INDEX "]
        .iter()
        .find_map(|prefix| using.strip_prefix(prefix))?;
    let name = before_any(after, &[" (", " "]);
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, parent: i64, notused: i64, detail: &str) -> Vec<Json> {
        vec![
            Json::Number(id.into()),
            Json::Number(parent.into()),
            Json::Number(notused.into()),
            Json::String(detail.to_owned()),
        ]
    }

    /// `node relation [alias] [index]` lines, indented by depth.
    fn outline(node: &PlanNode, depth: usize, out: &mut Vec<String>) {
        let mut line = format!("{}{}", "  ".repeat(depth), node.node);
        for part in [&node.relation, &node.alias, &node.index]
            .into_iter()
            .flatten()
        {
            line.push(' ');
            line.push_str(part);
        }
        out.push(line);
        for child in &node.children {
            outline(child, depth + 1, out);
        }
    }

    fn outline_of(rows: &[Vec<Json>], sql: &str) -> Vec<String> {
        let statements =
            plenum_gate::classify(sql, plenum_gate::Dialect::Sqlite).expect("classifies");
        let root = plan(rows, &Tables(&statements[0].tables)).expect("plan");
        assert!(root
            .children
            .iter()
            .all(|child| child.estimated_rows.is_none()));
        let mut out = Vec::new();
        outline(&root, 0, &mut out);
        out
    }

    // The rows below were captured from SQLite 3.54.1 (the version the plugin bundles)
    // through `plenum query --sql "EXPLAIN QUERY PLAN …"`.

    #[test]
    fn join_names_both_tables() {
        let sql = "SELECT u.name, o.total FROM xpl_users u JOIN xpl_orders o ON o.user_id = u.id WHERE o.total > 10";
        let rows = [
            row(3, 0, 216, "SCAN o"),
            row(5, 0, 45, "SEARCH u USING INTEGER PRIMARY KEY (rowid=?)"),
        ];
        assert_eq!(
            outline_of(&rows, sql),
            [
                "QUERY",
                "  SCAN xpl_orders o",
                "  SEARCH xpl_users u INTEGER PRIMARY KEY"
            ]
        );
    }

    #[test]
    fn subqueries_nest_under_their_rows() {
        let sql = "SELECT u.name, (SELECT max(o.total) FROM xpl_orders o WHERE o.user_id = u.id) AS top FROM xpl_users u WHERE u.id IN (SELECT user_id FROM xpl_orders WHERE total > 4990)";
        let rows = [
            row(2, 0, 91, "SEARCH u USING INTEGER PRIMARY KEY (rowid=?)"),
            row(6, 0, 0, "LIST SUBQUERY 2"),
            row(8, 6, 216, "SCAN xpl_orders"),
            row(25, 0, 0, "CORRELATED SCALAR SUBQUERY 1"),
            row(
                31,
                25,
                62,
                "SEARCH o USING INDEX xpl_orders_user (user_id=?)",
            ),
        ];
        assert_eq!(
            outline_of(&rows, sql),
            [
                "QUERY",
                "  SEARCH xpl_users u INTEGER PRIMARY KEY",
                "  LIST SUBQUERY",
                "    SCAN xpl_orders",
                "  CORRELATED SCALAR SUBQUERY",
                "    SEARCH xpl_orders o xpl_orders_user",
            ]
        );
        let sql = "SELECT * FROM xpl_users WHERE id IN (SELECT user_id FROM xpl_orders) AND name IN (SELECT name FROM xpl_users WHERE id > (SELECT count(*) FROM xpl_orders))";
        let rows = [
            row(
                2,
                0,
                91,
                "SEARCH xpl_users USING INTEGER PRIMARY KEY (rowid=?)",
            ),
            row(6, 0, 0, "LIST SUBQUERY 1"),
            row(
                8,
                6,
                213,
                "SCAN xpl_orders USING COVERING INDEX xpl_orders_user",
            ),
            row(23, 0, 0, "LIST SUBQUERY 3"),
            row(
                26,
                23,
                196,
                "SEARCH xpl_users USING INTEGER PRIMARY KEY (rowid>?)",
            ),
            row(29, 23, 0, "SCALAR SUBQUERY 2"),
            row(
                35,
                29,
                0,
                "SCAN xpl_orders USING COVERING INDEX xpl_orders_user",
            ),
            row(44, 23, 0, "CREATE BLOOM FILTER"),
        ];
        assert_eq!(
            outline_of(&rows, sql),
            [
                "QUERY",
                "  SEARCH xpl_users INTEGER PRIMARY KEY",
                "  LIST SUBQUERY",
                "    SCAN xpl_orders xpl_orders_user",
                "  LIST SUBQUERY",
                "    SEARCH xpl_users INTEGER PRIMARY KEY",
                "    SCALAR SUBQUERY",
                "      SCAN xpl_orders xpl_orders_user",
                "    CREATE BLOOM FILTER",
            ]
        );
    }

    #[test]
    fn unions_or_and_temp_trees() {
        let sql = "SELECT id FROM xpl_users WHERE id < 5 UNION SELECT user_id FROM xpl_orders WHERE id = 7 ORDER BY 1";
        let rows = [
            row(2, 0, 0, "MERGE (UNION)"),
            row(4, 2, 0, "LEFT"),
            row(
                7,
                4,
                196,
                "SEARCH xpl_users USING INTEGER PRIMARY KEY (rowid<?)",
            ),
            row(17, 2, 0, "RIGHT"),
            row(
                20,
                17,
                33,
                "SEARCH xpl_orders USING INTEGER PRIMARY KEY (rowid=?)",
            ),
        ];
        assert_eq!(
            outline_of(&rows, sql),
            [
                "QUERY",
                "  MERGE",
                "    LEFT",
                "      SEARCH xpl_users INTEGER PRIMARY KEY",
                "    RIGHT",
                "      SEARCH xpl_orders INTEGER PRIMARY KEY",
            ]
        );
        let rows = [
            row(1, 0, 0, "COMPOUND QUERY"),
            row(2, 1, 0, "LEFT-MOST SUBQUERY"),
            row(4, 2, 216, "SCAN xpl_users"),
            row(9, 1, 0, "UNION ALL"),
            row(
                11,
                9,
                213,
                "SCAN xpl_orders USING COVERING INDEX xpl_orders_user",
            ),
        ];
        assert_eq!(
            outline_of(
                &rows,
                "SELECT id FROM xpl_users UNION ALL SELECT user_id FROM xpl_orders"
            ),
            [
                "QUERY",
                "  COMPOUND QUERY",
                "    LEFT-MOST SUBQUERY",
                "      SCAN xpl_users",
                "    UNION ALL",
                "      SCAN xpl_orders xpl_orders_user",
            ]
        );
        let rows = [
            row(5, 0, 0, "MULTI-INDEX OR"),
            row(6, 5, 0, "INDEX 1"),
            row(
                12,
                6,
                62,
                "SEARCH xpl_orders USING INDEX xpl_orders_user (user_id=?)",
            ),
            row(17, 5, 0, "INDEX 2"),
            row(
                20,
                17,
                45,
                "SEARCH xpl_orders USING INTEGER PRIMARY KEY (rowid=?)",
            ),
            row(32, 0, 0, "USE TEMP B-TREE FOR ORDER BY"),
        ];
        let sql = "SELECT * FROM xpl_orders WHERE user_id = 3 OR id = 9 ORDER BY total";
        assert_eq!(
            outline_of(&rows, sql),
            [
                "QUERY",
                "  MULTI-INDEX OR",
                "    INDEX",
                "      SEARCH xpl_orders xpl_orders_user",
                "    INDEX",
                "      SEARCH xpl_orders INTEGER PRIMARY KEY",
                "  USE TEMP B-TREE",
            ]
        );
    }

    #[test]
    fn co_routines_constant_rows_and_writes() {
        let rows = [
            row(2, 0, 0, "CO-ROUTINE c"),
            row(5, 2, 0, "SETUP"),
            row(6, 5, 0, "SCAN CONSTANT ROW"),
            row(17, 2, 0, "RECURSIVE STEP"),
            row(18, 17, 216, "SCAN c"),
            row(28, 0, 216, "SCAN c"),
        ];
        let sql = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n < 5) SELECT * FROM c";
        assert_eq!(
            outline_of(&rows, sql),
            [
                "QUERY",
                "  CO-ROUTINE",
                "    SETUP",
                "      SCAN CONSTANT ROW",
                "    RECURSIVE STEP",
                "      SCAN c",
                "  SCAN c",
            ]
        );
        let rows = [
            row(2, 0, 0, "CO-ROUTINE d"),
            row(9, 2, 225, "SCAN xpl_orders USING INDEX xpl_orders_user"),
            row(43, 0, 82, "SCAN d"),
            row(48, 0, 45, "SEARCH u USING INTEGER PRIMARY KEY (rowid=?)"),
        ];
        let sql = "SELECT * FROM (SELECT user_id, sum(total) s FROM xpl_orders GROUP BY user_id) d JOIN xpl_users u ON u.id = d.user_id WHERE d.s > 100";
        assert_eq!(
            outline_of(&rows, sql),
            [
                "QUERY",
                "  CO-ROUTINE",
                "    SCAN xpl_orders xpl_orders_user",
                "  SCAN d",
                "  SEARCH xpl_users u INTEGER PRIMARY KEY",
            ]
        );
        let rows = [row(
            2,
            0,
            62,
            "SEARCH xpl_orders USING INDEX xpl_orders_user (user_id=?)",
        )];
        assert_eq!(
            outline_of(&rows, "DELETE FROM xpl_orders WHERE user_id = 5"),
            ["QUERY", "  SEARCH xpl_orders xpl_orders_user"]
        );
        // A statement with no plan rows (e.g. an INSERT … VALUES) is the bare root.
        assert_eq!(outline_of(&[], "INSERT INTO t VALUES (1)"), ["QUERY"]);
    }

    #[test]
    fn unknown_rows_are_kept_with_their_text() {
        let rows = [
            row(2, 0, 0, "SCAN (subquery-1)"),
            row(3, 99, 0, "SOMETHING NEW here"),
            row(4, 0, 0, "SCAN t VIRTUAL TABLE INDEX 0:"),
            row(5, 0, 0, "BLOOM FILTER ON t (a=?)"),
        ];
        let root = plan(&rows, &Tables::default()).expect("plan");
        assert_eq!(root.children[0].relation, None);
        assert_eq!(root.children[1].node, "SOMETHING");
        assert_eq!(
            root.children[1].detail.as_deref(),
            Some("SOMETHING NEW here")
        );
        assert_eq!(root.children[2].relation.as_deref(), Some("t"));
        assert_eq!(root.children[3].relation.as_deref(), Some("t"));
        assert!(plan(&[vec![Json::Null]], &Tables::default()).is_err());
    }

    #[test]
    fn depth_is_bounded() {
        let rows: Vec<_> = (1..=200).map(|id| row(id, id - 1, 0, "SCAN t")).collect();
        let failure = plan(&rows, &Tables::default()).expect_err("too deep");
        assert_eq!(failure.code, ErrorCode::QueryFailed);
        let rows: Vec<_> = (1..=100).map(|id| row(id, id - 1, 0, "SCAN t")).collect();
        assert!(plan(&rows, &Tables::default()).is_ok());
    }
}
