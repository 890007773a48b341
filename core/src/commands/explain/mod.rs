//! `--explain`: the engine's plan for one statement as an engine-neutral tree, without
//! executing the statement.
//!
//! The statement is wrapped in the engine's plan-only form (`EXPLAIN (FORMAT JSON)` on
//! PostgreSQL, `EXPLAIN FORMAT=JSON` on MySQL/MariaDB, `EXPLAIN QUERY PLAN` on SQLite; never
//! `ANALYZE`), the wrapped text goes through the gate again, and the rows the engine returns
//! are read into a tree of `PlanNode`s. For any other dialect the plugin is asked for the tree
//! itself (plugin API 1.2 `explain`, `declared.rs`). See `docs/EXPLAIN.md` for the output.

mod declared;
mod mysql;
mod postgres;
mod relations;
mod sqlite;
mod tree;

use std::time::Instant;

use plenum_gate::{Dialect, GateError, Statement, Tier};
use serde_json::value::RawValue;

use crate::pipeline::exec::{self, plugin_failure, Limits, OnStuck};
use crate::pipeline::plan::Plan;
use crate::pipeline::request::QueryRequest;
use crate::pipeline::session::open_session;
use crate::services::error::{ErrorCode, Failure};
use crate::services::output::data::{ExplainData, StatementOut};
use crate::services::output::{Meta, RowsOut};
use crate::services::plugins::LoadedPlugin;
use crate::services::words::option;

use relations::Tables;

/// Plan rows read at most (SQLite writes one row per plan step).
const PLAN_MAX_ROWS: u64 = 10_000;
/// Bytes of plan rows read at most (16 MiB). A larger plan is an error, never a cut tree.
const PLAN_MAX_BYTES: u64 = 16 << 20;

/// The engine's plan format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// PostgreSQL's `EXPLAIN (FORMAT JSON)`.
    Postgres,
    /// MySQL's and MariaDB's `EXPLAIN FORMAT=JSON`.
    Mysql,
    /// SQLite's `EXPLAIN QUERY PLAN`.
    Sqlite,
}

impl Format {
    fn of(dialect: Dialect) -> Option<Format> {
        match dialect {
            Dialect::PostgreSql => Some(Format::Postgres),
            Dialect::MySql => Some(Format::Mysql),
            Dialect::Sqlite => Some(Format::Sqlite),
            _ => None,
        }
    }

    /// The name `data.format` carries.
    fn name(self) -> &'static str {
        match self {
            Format::Postgres => "postgres-json",
            Format::Mysql => "mysql-json",
            Format::Sqlite => "sqlite-query-plan",
        }
    }

    /// The plan-only statement for `sql`. No form here takes `ANALYZE`: nothing runs.
    fn wrap(self, sql: &str) -> String {
        match self {
            Format::Postgres => format!("EXPLAIN (FORMAT JSON) {sql}"),
            Format::Mysql => format!("EXPLAIN FORMAT=JSON {sql}"),
            Format::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
        }
    }

    /// The kind the gate must give the wrapped statement.
    fn kind(self) -> &'static str {
        match self {
            Format::Postgres | Format::Mysql => "EXPLAIN",
            Format::Sqlite => "EXPLAIN QUERY PLAN",
        }
    }
}

/// Explains the one statement of `plan` (the gate's verdict on `request.sql`, already checked
/// against the grant and the parameter count) on `plugin`, and returns the plan tree as
/// `data`.
pub fn explain(
    plugin: &LoadedPlugin,
    request: &QueryRequest,
    plan: &Plan,
    on_stuck: OnStuck,
) -> Result<(Box<RawValue>, Meta), Failure> {
    let started = Instant::now();
    let [statement] = plan.statements.as_slice() else {
        return Err(Failure::invalid_input(format!(
            "{} takes one statement; the SQL holds {}",
            option("explain"),
            plan.statements.len()
        )));
    };
    refuse_explain_forms(statement)?;
    if plan.offset > 0 {
        return Err(Failure::invalid_input(format!(
            "{} pages through the rows of a result; {} returns a plan, not rows",
            option("offset"),
            option("explain")
        )));
    }
    let dialect = plugin.dialect();
    // Dialects the host reads plans of itself; any other plugin reads its own.
    let format = Format::of(dialect);
    let wrapped = format
        .map(|format| wrap_checked(format, dialect, statement))
        .transpose()?;

    // The session is opened for the statement's own tier: MariaDB refuses to plan a write in
    // a READ ONLY transaction, and SQLite's read sessions refuse to prepare one (PostgreSQL
    // would plan it read-only). The grant was checked against that tier already. (The plan's
    // access mode is that tier's: the statement is its only one.)
    let access = plan.access;
    let limits = Limits {
        max_rows: PLAN_MAX_ROWS,
        max_bytes: PLAN_MAX_BYTES,
        timeout: request.limits.timeout,
    };
    let mut session = open_session(
        plugin,
        &request.connection,
        access,
        limits.timeout,
        on_stuck,
    )?;
    // Planning can run code: PostgreSQL folds immutable functions into constants. The
    // statement is vetted as a run would be.
    crate::pipeline::reach::vet(
        &mut session.connection,
        std::slice::from_ref(statement),
        dialect,
        &plan.policy,
        access,
        &request.connection.allowed_routines,
    )?;
    let mut transaction = session
        .connection
        .begin()
        .map_err(|error| plugin_failure(error, &session.watchdog))?;
    let (Some(format), Some(wrapped)) = (format, wrapped) else {
        let answer = transaction.explain(
            statement.sql.as_str().into(),
            request.params.as_slice().into(),
        );
        // Rolled back whatever the plugin did while planning, as below.
        transaction
            .rollback()
            .map_err(|error| plugin_failure(error, &session.watchdog))?;
        let text = answer
            .into_result()
            .map_err(|error| plugin_failure(error, &session.watchdog))?;
        drop(session);
        if text.len() as u64 > PLAN_MAX_BYTES {
            return Err(plan_too_large());
        }
        return finish(plan, started, declared::plan(&text)?, "plugin", statement);
    };
    let execution = exec::run_in(
        &mut transaction,
        std::slice::from_ref(&wrapped),
        &request.params,
        0,
        limits,
        &session.watchdog,
        None,
    )?;
    // Whatever the tier, the transaction is rolled back, never committed: an EXPLAIN without
    // ANALYZE changes nothing, and if an engine ran anything while planning (a function folded
    // as a constant, MySQL evaluating a subquery early), that is undone too.
    transaction
        .rollback()
        .map_err(|error| plugin_failure(error, &session.watchdog))?;
    drop(session);
    if execution.truncated_by.is_some() {
        return Err(plan_too_large());
    }
    let RowsOut::Buffered(rows_json) = execution.rows else {
        return Err(Failure::internal(
            "a plan was streamed where it must not be",
        ));
    };
    let rows = tree::parse_rows(&rows_json)?;
    let tree = match format {
        Format::Postgres => postgres::plan(&rows)?,
        Format::Mysql => mysql::plan(&rows, &Tables(&statement.tables))?,
        Format::Sqlite => sqlite::plan(&rows, &Tables(&statement.tables))?,
    };
    finish(plan, started, tree, format.name(), statement)
}

/// The answer: the plan tree as `data`, in the format named `format`.
fn finish(
    plan: &Plan,
    started: Instant,
    tree: tree::PlanNode,
    format: &'static str,
    statement: &Statement,
) -> Result<(Box<RawValue>, Meta), Failure> {
    let data = ExplainData {
        plan: tree,
        format,
        statement: StatementOut {
            kind: &statement.kind,
            tier: statement.tier.as_str(),
        },
    };
    let data = serde_json::value::to_raw_value(&data)
        .map_err(|error| Failure::internal(format!("cannot render the plan: {error}")))?;
    // The result is a plan, not rows of the statement.
    let meta = plan.meta(started, 0, None);
    Ok((data, meta))
}

fn plan_too_large() -> Failure {
    Failure::new(
        ErrorCode::QueryFailed,
        format!(
            "the plan is larger than plenum renders ({PLAN_MAX_ROWS} rows or {PLAN_MAX_BYTES} \
             bytes); explain a smaller part of the statement"
        ),
    )
}

/// Refuses a statement that is itself an EXPLAIN (or a DESCRIBE, which MySQL reads as one):
/// `--explain` takes the bare statement and adds the plan-only form itself.
fn refuse_explain_forms(statement: &Statement) -> Result<(), Failure> {
    let first = statement
        .kind
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    if matches!(first.as_str(), "EXPLAIN" | "DESCRIBE" | "DESC") {
        return Err(Failure::invalid_input(format!(
            "{} takes the bare statement and explains it without running it; this is \
             already {} (pass the statement without it)",
            option("explain"),
            statement.kind
        )));
    }
    Ok(())
}

/// The wrapped statement, after the gate confirmed it is one plan-only EXPLAIN with the same
/// placeholders: the check fails closed if the wrapping ever read differently.
fn wrap_checked(
    format: Format,
    dialect: Dialect,
    statement: &Statement,
) -> Result<Statement, Failure> {
    let sql = format.wrap(&statement.sql);
    let statements = plenum_gate::check(&sql, dialect, Tier::Read).map_err(|error| {
        if matches!(error, GateError::Parse { .. } | GateError::Empty) {
            Failure::invalid_input(format!(
                "{} cannot be explained on this engine: {error}",
                statement.kind
            ))
        } else {
            Failure::from(error)
        }
    })?;
    match statements.as_slice() {
        [wrapped]
            if wrapped.kind == format.kind()
                && wrapped.tier == Tier::Read
                && wrapped.parameters == statement.parameters =>
        {
            Ok(wrapped.clone())
        }
        _ => Err(Failure::invalid_input(format!(
            "{} cannot be explained on this engine: the plan-only form did not read as one \
             EXPLAIN of the statement",
            statement.kind
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(sql: &str, dialect: Dialect) -> Statement {
        let statements = plenum_gate::classify(sql, dialect).expect("classifies");
        assert_eq!(statements.len(), 1, "{sql}");
        statements.into_iter().next().expect("one statement")
    }

    #[test]
    fn wrapped_statements_pass_the_gate_as_plan_only_explains() {
        for (dialect, sql) in [
            (
                Dialect::PostgreSql,
                "SELECT * FROM a JOIN b ON a.id = b.id WHERE a.x = $1",
            ),
            (Dialect::PostgreSql, "DELETE FROM t WHERE id = 1"),
            (
                Dialect::PostgreSql,
                "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            ),
            (Dialect::PostgreSql, "SELECT * FROM t FOR UPDATE"),
            (
                Dialect::MySql,
                "SELECT * FROM a JOIN b ON a.id = b.id WHERE a.x = ?",
            ),
            (Dialect::MySql, "UPDATE t SET a = 1 WHERE id = 2"),
            (Dialect::MySql, "INSERT INTO t VALUES (1)"),
            (
                Dialect::Sqlite,
                "SELECT * FROM a, b WHERE a.id = b.id AND a.x = ?",
            ),
            (Dialect::Sqlite, "DELETE FROM t"),
        ] {
            let statement = classify(sql, dialect);
            let format = Format::of(dialect).expect("supported");
            let wrapped = wrap_checked(format, dialect, &statement)
                .unwrap_or_else(|failure| panic!("{sql}: {failure}"));
            assert_eq!(wrapped.sql, format.wrap(sql));
            assert_eq!(wrapped.tier, Tier::Read, "{sql}");
            assert!(
                !wrapped.sql.to_ascii_uppercase().contains("ANALYZE"),
                "{sql}"
            );
        }
    }

    #[test]
    fn explain_statements_are_refused_with_a_hint() {
        for (dialect, sql) in [
            (Dialect::PostgreSql, "EXPLAIN SELECT 1"),
            (Dialect::PostgreSql, "EXPLAIN ANALYZE SELECT 1"),
            (
                Dialect::PostgreSql,
                "EXPLAIN (ANALYZE, FORMAT JSON) DELETE FROM t",
            ),
            (Dialect::MySql, "EXPLAIN FORMAT=JSON SELECT 1"),
            (Dialect::MySql, "DESCRIBE t"),
            (Dialect::Sqlite, "EXPLAIN QUERY PLAN SELECT 1"),
            (Dialect::Sqlite, "EXPLAIN SELECT 1"),
        ] {
            let statement = classify(sql, dialect);
            let failure = refuse_explain_forms(&statement).expect_err(sql);
            assert_eq!(failure.code, ErrorCode::InvalidInput, "{sql}");
            assert!(
                failure.message.contains("bare statement"),
                "{sql}: {failure}"
            );
        }
        let statement = classify("SELECT 1", Dialect::Sqlite);
        assert!(refuse_explain_forms(&statement).is_ok());
    }

    #[test]
    fn statements_an_engine_cannot_explain_fail_as_invalid_input() {
        // SQLite's PRAGMA is read by the gate's own recognizer; behind EXPLAIN it does not
        // parse, so it cannot be explained.
        let statement = classify("PRAGMA table_info(t)", Dialect::Sqlite);
        let failure =
            wrap_checked(Format::Sqlite, Dialect::Sqlite, &statement).expect_err("not explainable");
        assert_eq!(failure.code, ErrorCode::InvalidInput, "{failure}");
        assert!(Format::of(Dialect::MsSql).is_none());
    }
}
