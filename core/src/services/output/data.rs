//! The shapes of `data` in the envelopes of `query`, `--check-only` and `--explain`. The
//! commands build them; the JSON Schemas ([`super::schema`]) are generated from them, so the
//! output and its schema cannot drift apart.

use plenum_plugin_api::Column;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value as Json;

use super::rows::Count;

/// A result column as printed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ColumnOut {
    /// Column name.
    pub name: String,
    /// The engine's type name; empty when the engine does not know it.
    #[serde(rename = "type")]
    pub type_name: String,
}

/// `data` of a `query` envelope (the rows are written separately, as raw JSON).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct QueryData {
    /// Columns of the last statement that returned rows.
    pub columns: Vec<ColumnOut>,
    /// Rows, positional, in column order. Integers beyond 2^53 and decimals are strings,
    /// bytes are base64, JSON columns are JSON, NULL is null.
    pub rows: Vec<Vec<Json>>,
    /// Rows changed by write statements (summed, saturating), or null when nothing was
    /// written; beyond 2^53 a string, like integers in rows.
    pub rows_affected: Option<Count>,
}

impl From<&Column> for ColumnOut {
    fn from(column: &Column) -> Self {
        ColumnOut {
            name: column.name.to_string(),
            type_name: column.type_name.to_string(),
        }
    }
}

/// [`QueryData`] as it is written: the rows are already JSON text.
#[derive(Serialize)]
pub struct QueryDataOut<'a> {
    /// Columns of the last statement that returned rows.
    pub columns: Vec<ColumnOut>,
    /// The rows, as the row writer wrote them.
    pub rows: &'a RawValue,
    /// Rows changed by write statements.
    pub rows_affected: Option<Count>,
}

/// One statement as `--check-only` reports it.
// Closed schema: a field added here without its schema fails the contract tests.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CheckedStatement<'a> {
    /// 1-based position in the input.
    pub index: usize,
    /// The statement's text as it would be sent to the engine.
    pub sql: &'a str,
    /// Upper-case label: `SELECT`, `DELETE`, `CREATE TABLE`, …
    pub kind: &'a str,
    /// The tier it needs: `read`, `write` or `ddl`.
    pub tier: &'static str,
    /// What inside it raised its tier above what its kind needs, as words that follow the
    /// kind: ``contains a DELETE (in CTE `d`)``, `calls nextval()`, `takes row locks with FOR
    /// UPDATE or FOR SHARE`, `runs a DELETE` (under `EXPLAIN ANALYZE`). Absent when the kind
    /// alone explains the tier (`DELETE`, `CREATE TABLE`, any read). Never repeats a literal
    /// of the SQL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'a str>,
    /// Line of its first token (1-based).
    pub line: u64,
    /// Column of its first token (1-based, in characters).
    pub column: u64,
    /// How many bound values its placeholders take.
    pub parameters: usize,
    /// Whether the tier granted covers it.
    pub allowed: bool,
    /// The flag that would allow it, when it is not allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs: Option<String>,
}

/// What `--check-only` reports.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CheckReport<'a> {
    /// Whether a run with the same flags would pass the gate and the parameter checks.
    pub allowed: bool,
    /// The tier the flags ask for.
    pub granted: &'static str,
    /// The highest tier among the statements: the session a run would open.
    pub needed: &'static str,
    /// Every statement, in order.
    pub statements: Vec<CheckedStatement<'a>>,
    /// How many parameters were given.
    pub params_given: usize,
    /// Why a run would be refused, in the words a run's error would use; empty when
    /// `allowed`.
    pub problems: Vec<String>,
}

/// `data` of an explain envelope.
#[derive(Serialize, JsonSchema)]
pub struct ExplainData<'a> {
    /// The root of the plan.
    pub plan: PlanNode,
    /// Which engine format the tree was read from.
    pub format: &'static str,
    /// The statement explained, as the gate saw it.
    pub statement: StatementOut<'a>,
}

/// The statement a plan is for.
#[derive(Serialize, JsonSchema)]
pub struct StatementOut<'a> {
    /// Upper-case label: `SELECT`, `DELETE`, …
    pub kind: &'a str,
    /// The tier running it would need.
    pub tier: &'static str,
}

/// One node of a plan. Every key is always present (`null` when the engine does not say).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PlanNode {
    /// The engine's name for the operation: `Hash Join`, `Seq Scan` (PostgreSQL), `table`,
    /// `nested_loop`, `query_block` (MySQL/MariaDB), `SCAN`, `SEARCH` (SQLite), …
    pub node: String,
    /// The table (or view, CTE) the node reads, when it reads one.
    pub relation: Option<String>,
    /// The name the statement gives the relation, when it differs from `relation`.
    pub alias: Option<String>,
    /// The index used, when one is.
    pub index: Option<String>,
    /// Rows the planner expects the node to produce (or, for MySQL/MariaDB, to examine).
    pub estimated_rows: Option<f64>,
    /// The planner's cost for the node, in the engine's own units.
    pub estimated_cost: Option<f64>,
    /// The rest of what the engine says about the node, compacted to one line.
    pub detail: Option<String>,
    /// Nodes that feed this one.
    pub children: Vec<PlanNode>,
}

impl PlanNode {
    /// A node named `node` with nothing else known.
    pub fn named(node: impl Into<String>) -> Self {
        PlanNode {
            node: node.into(),
            relation: None,
            alias: None,
            index: None,
            estimated_rows: None,
            estimated_cost: None,
            detail: None,
            children: Vec::new(),
        }
    }

    /// Nodes in this tree, this one included.
    #[cfg(test)]
    pub fn count(&self) -> usize {
        1 + self.children.iter().map(PlanNode::count).sum::<usize>()
    }
}
