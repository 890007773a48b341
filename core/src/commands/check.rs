//! `--check-only`: the gate's verdict on every statement and whether the grant, the
//! parameters and the paging flags fit, without connecting to anything.

use std::time::Instant;

use crate::pipeline::plan::Plan;
use crate::pipeline::request::QueryRequest;
use crate::services::error::Failure;
use crate::services::output::data::{CheckReport, CheckedStatement};
use crate::services::output::Meta;

/// `--check-only`: the gate's verdict for every statement of `plan`, and whether the grant,
/// the parameters and the paging flags fit (the plan's problems), without connecting.
pub fn check_only(
    plan: &Plan,
    request: &QueryRequest,
    started: Instant,
) -> Result<(Box<serde_json::value::RawValue>, Meta), Failure> {
    let report = CheckReport {
        allowed: plan.problems.is_empty(),
        granted: request.requested.as_str(),
        needed: plan.needed.as_str(),
        statements: plan
            .statements
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
                    .then(|| crate::services::words::tier_option(statement.tier))
                    .flatten(),
            })
            .collect(),
        params_given: request.params.len(),
        problems: plan.problems.clone(),
    };
    let data = serde_json::value::to_raw_value(&report)
        .map_err(|error| Failure::internal(format!("cannot render the check: {error}")))?;
    Ok((data, plan.meta(started, 0, None)))
}
