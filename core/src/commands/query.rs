//! The one path every query takes, whichever front end asked:
//! ceiling → plugin → gate → [`Plan`] → a check, an explain, or a session in the needed
//! access mode that executes within limits.
//!
//! The commands it dispatches to and the modules they share ([`crate::pipeline::plan`],
//! [`crate::pipeline::session`], [`crate::services::output`]) never call back into it.

use std::sync::Arc;
use std::time::Instant;

use plenum_gate::Statement;
use plenum_plugin_api::{AccessMode, Column};
use serde_json::value::RawValue;

use crate::pipeline::exec::{self, OnStuck};
use crate::pipeline::plan::Plan;
use crate::pipeline::request::{QueryMode, QueryRequest};
use crate::pipeline::session::open_session;
use crate::services::capability::enforce;
use crate::services::error::Failure;
use crate::services::output::data::ColumnOut;
use crate::services::output::envelope::{query_data, streamed_prefix, streamed_success_tail};
use crate::services::output::rows::{Count, Spill};
use crate::services::output::stream::{self, SPILL_THRESHOLD};
use crate::services::output::{Meta, Response, RowsOut};
use crate::services::plugins::{kept, LoadedPlugin};
use crate::services::sanitize::Sanitizer;

/// The largest SQL text accepted (bytes).
pub const MAX_SQL_BYTES: usize = 16 << 20;

/// What a query produced.
enum QueryOutput {
    /// The whole `data` value and `meta`.
    Data(Box<RawValue>, Meta),
    /// The rows were streamed to stdout; what is left to write.
    Streamed(Meta, Option<Count>),
}

/// How a query that may stream ended.
pub enum StreamedOutcome {
    /// Nothing was streamed: print this response.
    Respond(Response),
    /// The envelope was written to stdout already; this is its `ok`.
    Printed(bool),
}

/// Runs one query request and returns its response, held in memory (never panics on bad
/// input). For the MCP server and other callers that need the whole result.
pub fn run_query(request: QueryRequest, sanitizer: Sanitizer, on_stuck: OnStuck) -> Response {
    let engine = request.connection.engine.clone();
    let command = request.mode.command();
    match query(&request, on_stuck, false) {
        Ok(QueryOutput::Data(data, meta)) => Response {
            engine: Some(engine),
            command,
            outcome: Ok((data, Some(meta))),
            sanitizer,
        },
        // Not reachable without streaming; reported rather than assumed.
        Ok(QueryOutput::Streamed(..)) => Response::failure(
            Some(engine),
            command,
            Failure::internal("a result was streamed where it must not be"),
            sanitizer,
        ),
        Err(failure) => Response::failure(Some(engine), command, failure, sanitizer),
    }
}

/// Runs one query request for the CLI: a result too large to hold streams to stdout. A failure
/// after rows went out ends the streamed envelope with its message worded by `vocabulary`.
pub fn run_query_to_stdout(
    request: QueryRequest,
    sanitizer: Sanitizer,
    on_stuck: OnStuck,
    vocabulary: &dyn crate::words::Vocabulary,
) -> StreamedOutcome {
    let engine = request.connection.engine.clone();
    let command = request.mode.command();
    match query(&request, on_stuck, true) {
        Ok(QueryOutput::Data(data, meta)) => StreamedOutcome::Respond(Response {
            engine: Some(engine),
            command,
            outcome: Ok((data, Some(meta))),
            sanitizer,
        }),
        Ok(QueryOutput::Streamed(meta, rows_affected)) => {
            StreamedOutcome::Printed(stream::finish(&streamed_success_tail(rows_affected, &meta)))
        }
        Err(mut failure) if stream::started() => {
            failure.message = crate::words::render(&failure.message, vocabulary).into_owned();
            stream::finish(&crate::services::output::envelope::streamed_failure_tail(
                &failure, &sanitizer,
            ));
            StreamedOutcome::Printed(false)
        }
        Err(failure) => {
            StreamedOutcome::Respond(Response::failure(Some(engine), command, failure, sanitizer))
        }
    }
}

/// The gate's verdict on `request`'s statements at the tier it asks for — each statement's
/// text, kind, tier and cause — after every ceiling in force, the SQL's size and the plugin
/// were checked exactly as a run checks them, without connecting. For a front end that shows
/// a human what a call would run before asking them to allow it: what it shows is what the
/// same checks accept, so a call that would be refused anyway is never put to the human.
pub fn classify(request: &QueryRequest) -> Result<Vec<Statement>, Failure> {
    prepare(request).map(|(_, plan)| plan.statements)
}

/// The checks every query passes before anything connects: the ceilings, the SQL's size, the
/// plugin and the gate's plan.
fn prepare(request: &QueryRequest) -> Result<(Arc<LoadedPlugin>, Plan), Failure> {
    enforce(request.requested, &request.ceilings)?;
    if request.sql.len() > MAX_SQL_BYTES {
        return Err(Failure::invalid_input(format!(
            "the SQL is {} bytes; at most {MAX_SQL_BYTES} are accepted",
            request.sql.len()
        )));
    }
    let plugin = kept::engine(&request.connection.engine)?;
    let plan = Plan::new(request, &plugin)?;
    Ok((plugin, plan))
}

fn query(
    request: &QueryRequest,
    on_stuck: OnStuck,
    may_stream: bool,
) -> Result<QueryOutput, Failure> {
    let started = Instant::now();
    let (plugin, plan) = prepare(request)?;
    let (data, meta) = match plan.mode {
        QueryMode::CheckOnly => crate::commands::check::check_only(&plan, request, started)?,
        QueryMode::Explain => crate::commands::explain::explain(&plugin, request, &plan, on_stuck)?,
        QueryMode::Run => return run(&plugin, request, &plan, started, on_stuck, may_stream),
    };
    Ok(QueryOutput::Data(data, meta))
}

/// Runs the planned statements in a session of the plan's access mode.
fn run(
    plugin: &LoadedPlugin,
    request: &QueryRequest,
    plan: &Plan,
    started: Instant,
    on_stuck: OnStuck,
    may_stream: bool,
) -> Result<QueryOutput, Failure> {
    let access = plan.access;
    let limits = request.limits;
    let mut session = open_session(
        plugin,
        &request.connection,
        access,
        limits.timeout,
        on_stuck,
    )?;
    // What the names stand for at the engine (user code, views, triggers, catalogs), vetted
    // in the session that will run them, before anything runs.
    crate::pipeline::reach::vet(
        &mut session.connection,
        &plan.statements,
        plugin.dialect(),
        &plan.policy,
        access,
        &request.connection.allowed_routines,
    )
    .map_err(|failure| {
        if session.watchdog.fired() {
            exec::stopped(&session.watchdog)
        } else {
            failure
        }
    })?;
    let engine = request.connection.engine.as_str();
    let prefix = |columns: &[Column]| Spill {
        prefix: streamed_prefix(engine, &columns_out(columns)).into_bytes(),
        threshold: SPILL_THRESHOLD,
    };
    let execution = exec::execute(
        &mut session.connection,
        &plan.statements,
        &request.params,
        plan.offset,
        access,
        limits,
        &session.watchdog,
        may_stream.then_some(&prefix as exec::SpillPrefix<'_>),
    )?;
    // Only a read that ended cleanly may leave its session warm; writes and DDL close it.
    if access == AccessMode::Read {
        session.finish_read();
    } else {
        drop(session);
    }
    let meta = plan.meta(started, execution.rows_returned, execution.truncated_by);
    let rows_json = match execution.rows {
        RowsOut::Streamed => return Ok(QueryOutput::Streamed(meta, execution.rows_affected)),
        RowsOut::Buffered(bytes) => bytes,
    };
    let rows_json =
        String::from_utf8(rows_json).map_err(|_| Failure::internal("row JSON is not UTF-8"))?;
    let rows = RawValue::from_string(rows_json)
        .map_err(|error| Failure::internal(format!("row JSON is invalid: {error}")))?;
    let data = query_data(
        columns_out(&execution.columns),
        &rows,
        execution.rows_affected,
    )?;
    Ok(QueryOutput::Data(data, meta))
}

fn columns_out(columns: &[Column]) -> Vec<ColumnOut> {
    columns.iter().map(ColumnOut::from).collect()
}
