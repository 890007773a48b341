//! `--check-only`: the gate's verdict on every statement and whether the grant, the
//! parameters and the paging flags fit, without connecting to anything.

use std::time::Instant;

use schemars::JsonSchema;
use serde::Serialize;

use crate::capability::access_mode;
use crate::error::Failure;
use crate::output::Meta;
use crate::params;
use crate::pipeline::{check_paging, elapsed_ms, needed_tier};
use crate::plugins::LoadedPlugin;
use crate::request::QueryRequest;

/// One statement as `--check-only` reports it.
// Closed schema: a field added here without its schema fails the contract tests.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CheckedStatement<'a> {
    /// 1-based position in the input.
    index: usize,
    /// The statement's text as it would be sent to the engine.
    sql: &'a str,
    /// Upper-case label: `SELECT`, `DELETE`, `CREATE TABLE`, …
    kind: &'a str,
    /// The tier it needs: `read`, `write` or `ddl`.
    tier: &'static str,
    /// What inside it raised its tier above what its kind needs, as words that follow the
    /// kind: ``contains a DELETE (in CTE `d`)``, `calls nextval()`, `takes row locks with FOR
    /// UPDATE or FOR SHARE`, `runs a DELETE` (under `EXPLAIN ANALYZE`). Absent when the kind
    /// alone explains the tier (`DELETE`, `CREATE TABLE`, any read). Never repeats a literal
    /// of the SQL.
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<&'a str>,
    /// Line of its first token (1-based).
    line: u64,
    /// Column of its first token (1-based, in characters).
    column: u64,
    /// How many bound values its placeholders take.
    parameters: usize,
    /// Whether the tier granted covers it.
    allowed: bool,
    /// The flag that would allow it, when it is not allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    needs: Option<&'static str>,
}

/// What `--check-only` reports.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CheckReport<'a> {
    /// Whether a run with the same flags would pass the gate and the parameter checks.
    allowed: bool,
    /// The tier the flags ask for.
    granted: &'static str,
    /// The highest tier among the statements: the session a run would open.
    needed: &'static str,
    /// Every statement, in order.
    statements: Vec<CheckedStatement<'a>>,
    /// How many parameters were given.
    params_given: usize,
    /// Why a run would be refused, in the words a run's error would use; empty when
    /// `allowed`.
    problems: Vec<String>,
}

/// `--check-only`: the gate's verdict for every statement, and whether the grant, the
/// parameters and the paging flags fit, without connecting. Input that no flag could make
/// runnable (a parse error, a statement that is never allowed, bad placeholders) fails as a
/// run would.
pub fn check_only(
    plugin: &LoadedPlugin,
    request: &QueryRequest,
    started: Instant,
) -> Result<(Box<serde_json::value::RawValue>, Meta), Failure> {
    let statements = plenum_gate::classify_with(&request.sql, plugin.dialect(), plugin.policy())?;
    let needed = needed_tier(&statements);
    let mut problems = Vec::new();
    if let Err(error) = plenum_gate::check_with(
        &request.sql,
        plugin.dialect(),
        request.requested,
        plugin.policy(),
    ) {
        // Worded as a run would word it (the host names the option that grants a tier).
        problems.push(Failure::from(error).message);
    }
    for check in [
        params::check_count(&statements, request.params.len()),
        check_paging(&statements, request.offset),
    ] {
        if let Err(failure) = check {
            problems.push(failure.message);
        }
    }
    let report = CheckReport {
        allowed: problems.is_empty(),
        granted: request.requested.as_str(),
        needed: needed.as_str(),
        statements: statements
            .iter()
            .enumerate()
            .map(|(index, statement)| CheckedStatement {
                index: index + 1,
                sql: &statement.sql,
                kind: &statement.kind,
                tier: statement.tier.as_str(),
                cause: statement.cause.as_deref(),
                line: statement.line,
                column: statement.column,
                parameters: statement.parameters,
                allowed: statement.tier <= request.requested,
                needs: (statement.tier > request.requested)
                    .then(|| crate::capability::cli_flag(statement.tier))
                    .flatten(),
            })
            .collect(),
        params_given: request.params.len(),
        problems,
    };
    let data = serde_json::value::to_raw_value(&report)
        .map_err(|error| Failure::internal(format!("cannot render the check: {error}")))?;
    let meta = Meta {
        execution_ms: elapsed_ms(started),
        rows_returned: 0,
        truncated: false,
        truncated_by: None,
        statements: statements.len(),
        access: access_mode(needed).as_str().to_owned(),
        offset: None,
        next_offset: None,
    };
    Ok((data, meta))
}
