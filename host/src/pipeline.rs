//! The one path every query takes, whichever front end asked:
//! ceiling → plugin → gate → session in the needed access mode → execute within limits.

use std::time::Instant;

use plenum_gate::Tier;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::capability::{access_mode, enforce};
use crate::error::{ErrorCode, Failure};
use crate::exec::{self, OnStuck, Watchdog};
use crate::output::schema::ColumnOut;
use crate::output::Meta;
use crate::plugins::Registry;
use crate::request::{QueryRequest, Response};
use crate::sanitize::Sanitizer;

/// The largest SQL text accepted (bytes).
pub const MAX_SQL_BYTES: usize = 16 << 20;

#[derive(Serialize)]
struct QueryDataOut<'a> {
    columns: Vec<ColumnOut>,
    rows: &'a RawValue,
    rows_affected: Option<u64>,
}

/// Runs one query request and returns its response (never panics on bad input).
pub fn run_query(request: QueryRequest, sanitizer: Sanitizer, on_stuck: OnStuck) -> Response {
    let engine = request.connection.engine.clone();
    match query(&request, on_stuck) {
        Ok((data, meta)) => Response {
            engine: Some(engine),
            command: "query",
            outcome: Ok((data, Some(meta))),
            sanitizer,
        },
        Err(failure) => Response::failure(Some(engine), "query", failure, sanitizer),
    }
}

fn query(request: &QueryRequest, on_stuck: OnStuck) -> Result<(Box<RawValue>, Meta), Failure> {
    let started = Instant::now();
    enforce(request.requested, &request.ceilings)?;
    if request.sql.len() > MAX_SQL_BYTES {
        return Err(Failure::invalid_input(format!(
            "the SQL is {} bytes; at most {MAX_SQL_BYTES} are accepted",
            request.sql.len()
        )));
    }
    let plugin = Registry::discover().load_engine(&request.connection.engine)?;
    let statements = plenum_gate::check(&request.sql, plugin.dialect(), request.requested)?;
    if !request.params.is_empty() && statements.len() != 1 {
        return Err(Failure::invalid_input(
            "parameters can be bound only when the SQL is one statement",
        ));
    }
    // Least privilege: the session gets the tier the statements need, not the one granted.
    let needed = statements
        .iter()
        .map(|statement| statement.tier)
        .max()
        .unwrap_or(Tier::Read);
    let access = access_mode(needed);
    let limits = request.limits;
    let watchdog = Watchdog::start(limits.timeout, on_stuck);
    let timeout_ms = u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX);
    let params = request.connection.to_params(access, timeout_ms);
    let mut connection = plugin.connect(&params).map_err(|error| {
        if watchdog.fired() {
            Failure::new(
                ErrorCode::Timeout,
                format!("connecting took longer than the timeout of {timeout_ms} ms"),
            )
        } else {
            Failure::from_plugin(error)
        }
    })?;
    drop(params);
    if let Ok(handle) = connection.cancel_handle().into_result() {
        watchdog.arm(handle);
    }
    let execution = exec::execute(
        &mut connection,
        &statements,
        &request.params,
        access,
        limits,
        &watchdog,
    )?;
    drop(watchdog);
    drop(connection);

    let rows_json = String::from_utf8(execution.rows_json)
        .map_err(|_| Failure::internal("row JSON is not UTF-8"))?;
    let rows = RawValue::from_string(rows_json)
        .map_err(|error| Failure::internal(format!("row JSON is invalid: {error}")))?;
    let data = QueryDataOut {
        columns: execution
            .columns
            .iter()
            .map(|column| ColumnOut {
                name: column.name.to_string(),
                type_name: column.type_name.to_string(),
            })
            .collect(),
        rows: &rows,
        rows_affected: execution.rows_affected,
    };
    let data = serde_json::value::to_raw_value(&data)
        .map_err(|error| Failure::internal(format!("cannot render the result: {error}")))?;
    let meta = Meta {
        execution_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        rows_returned: execution.rows_returned,
        truncated: execution.truncated_by.is_some(),
        truncated_by: execution.truncated_by,
        statements: statements.len(),
        access: access.as_str().to_owned(),
    };
    Ok((data, meta))
}
