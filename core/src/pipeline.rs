//! The one path every query takes, whichever front end asked:
//! ceiling → plugin → gate → session in the needed access mode → execute within limits.

use std::time::{Duration, Instant};

use plenum_gate::Tier;
use plenum_plugin_api::AccessMode;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::capability::{access_mode, enforce};
use crate::connection::ConnectionSpec;
use crate::error::{ErrorCode, Failure};
use crate::exec::{self, OnStuck, Watchdog};
use crate::output::rows::Spill;
use crate::output::schema::ColumnOut;
use crate::output::stream::{self, SPILL_THRESHOLD};
use crate::output::{Envelope, Meta, RowsOut};
use crate::params;
use crate::plugins::{LoadedPlugin, Registry};
use crate::pool;
use crate::request::{QueryMode, QueryRequest, Response};
use crate::sanitize::Sanitizer;
use crate::words::option;

/// The largest SQL text accepted (bytes).
pub const MAX_SQL_BYTES: usize = 16 << 20;

/// An open plugin session and the watchdog that bounds the call. The watchdog is the first
/// field so it stops (and lets go of the cancel handle) before the session closes.
pub struct Session {
    /// The call's timeout, armed with the session's cancel handle.
    pub watchdog: Watchdog,
    /// The plugin session; it is closed where its close cannot hold up the answer, or, in a
    /// long-running server, given back warm (see [`crate::pool`]).
    pub connection: pool::Lease,
}

impl Session {
    /// A read call ended cleanly (its transaction rolled back): stops the watchdog, and when
    /// it never fired, lets the session serve another call once reset. The watchdog is
    /// stopped first, so a cancel can never reach the session after it went back.
    pub fn finish_read(mut self) {
        self.watchdog.disarm();
        if !self.watchdog.fired() {
            self.connection.keep();
        }
    }
}

/// Starts the call's watchdog, opens a session on `plugin` in `access` mode and arms the
/// watchdog with the session's cancel handle. Every command that talks to a database opens
/// its session here.
pub fn open_session(
    plugin: &LoadedPlugin,
    target: &ConnectionSpec,
    access: AccessMode,
    timeout: Duration,
    on_stuck: OnStuck,
) -> Result<Session, Failure> {
    if timeout.is_zero() {
        // Engines disagree on what zero means (never, or at once); neither is worth guessing.
        return Err(Failure::invalid_input(
            "timeout_ms must be at least 1 (it is the time a call may take)",
        ));
    }
    let watchdog = Watchdog::start(timeout, on_stuck);
    // A call its client cancelled before it got here never connects.
    if watchdog.fired() {
        return Err(exec::stopped(&watchdog));
    }
    let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let params = target.to_params(access, timeout_ms);
    // A long-running server may hold a warm session for exactly this target and mode.
    let slot = match pool::checkout(&params, &target.allowed_routines) {
        pool::Checkout::Warm(lease) => return arm(watchdog, lease),
        pool::Checkout::Connect(slot) => slot,
    };
    let connection = plugin.connect(&params).map_err(|error| {
        if watchdog.interrupted() {
            exec::stopped(&watchdog)
        } else if error.kind == plenum_plugin_api::ErrorKind::Connection {
            // The plugin's connect timeout is never longer than the call's: a server that did
            // not answer is reported as such, even when the call's time ran out with it.
            Failure::from_plugin(error)
        } else if watchdog.fired() {
            Failure::new(
                ErrorCode::Timeout,
                format!("connecting took longer than the timeout of {timeout_ms} ms"),
            )
        } else {
            Failure::from_plugin(error)
        }
    })?;
    drop(params);
    arm(watchdog, slot.fill(connection))
}

/// Gives the watchdog the session's cancel handle.
fn arm(watchdog: Watchdog, connection: pool::Lease) -> Result<Session, Failure> {
    if let Ok(handle) = connection.cancel_handle().into_result() {
        watchdog.arm(handle);
    }
    let session = Session {
        watchdog,
        connection,
    };
    // Stopped while connecting, when there was no statement to cancel: nothing starts.
    if session.watchdog.fired() {
        return Err(exec::stopped(&session.watchdog));
    }
    Ok(session)
}

#[derive(Serialize)]
struct QueryDataOut<'a> {
    columns: Vec<ColumnOut>,
    rows: &'a RawValue,
    rows_affected: Option<crate::output::rows::Count>,
}

/// What a query produced.
enum QueryOutput {
    /// The whole `data` value and `meta`.
    Data(Box<RawValue>, Meta),
    /// The rows were streamed to stdout; what is left to write.
    Streamed(Meta, Option<crate::output::rows::Count>),
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

/// Runs one query request for the CLI: a result too large to hold streams to stdout.
pub fn run_query_to_stdout(
    request: QueryRequest,
    sanitizer: Sanitizer,
    on_stuck: OnStuck,
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
            let tail = format!(
                r#","rows_affected":{}}},"meta":{},"ok":true}}"#,
                serde_json::to_string(&rows_affected).unwrap_or_else(|_| "null".into()),
                serde_json::to_string(&meta).unwrap_or_else(|_| "{}".into()),
            );
            StreamedOutcome::Printed(stream::finish(&tail))
        }
        Err(failure) if stream::started() => {
            stream::finish(&streamed_failure_tail(&failure, &sanitizer));
            StreamedOutcome::Printed(false)
        }
        Err(failure) => {
            StreamedOutcome::Respond(Response::failure(Some(engine), command, failure, sanitizer))
        }
    }
}

/// The end of a streamed envelope whose query failed after rows were written.
pub fn streamed_failure_tail(failure: &Failure, sanitizer: &Sanitizer) -> String {
    let envelope = Envelope::failure(None, "query", failure, sanitizer);
    format!(
        r#","rows_affected":null}},"error":{},"ok":false}}"#,
        serde_json::to_string(&envelope.error).unwrap_or_else(|_| "null".into())
    )
}

fn spill_prefix(engine: &str, columns: &[plenum_plugin_api::Column]) -> Spill {
    let columns: Vec<ColumnOut> = columns
        .iter()
        .map(|column| ColumnOut {
            name: column.name.to_string(),
            type_name: column.type_name.to_string(),
        })
        .collect();
    let prefix = format!(
        r#"{{"engine":{},"command":"query","data":{{"columns":{},"rows":["#,
        serde_json::to_string(engine).unwrap_or_else(|_| "null".into()),
        serde_json::to_string(&columns).unwrap_or_else(|_| "[]".into()),
    );
    Spill {
        prefix: prefix.into_bytes(),
        threshold: SPILL_THRESHOLD,
    }
}

fn query(
    request: &QueryRequest,
    on_stuck: OnStuck,
    may_stream: bool,
) -> Result<QueryOutput, Failure> {
    let started = Instant::now();
    enforce(request.requested, &request.ceilings)?;
    if request.sql.len() > MAX_SQL_BYTES {
        return Err(Failure::invalid_input(format!(
            "the SQL is {} bytes; at most {MAX_SQL_BYTES} are accepted",
            request.sql.len()
        )));
    }
    let plugin = Registry::discover().load_engine(&request.connection.engine)?;
    if request.mode == QueryMode::CheckOnly {
        let (data, meta) = crate::check::check_only(&plugin, request, started)?;
        return Ok(QueryOutput::Data(data, meta));
    }
    let statements = plenum_gate::check_with(
        &request.sql,
        plugin.dialect(),
        request.requested,
        plugin.policy(),
    )?;
    params::check_count(&statements, request.params.len())?;
    check_paging(&statements, request.offset)?;
    if request.mode == QueryMode::Explain {
        let [statement] = statements.as_slice() else {
            return Err(Failure::invalid_input(format!(
                "{} takes one statement; the SQL holds {}",
                option("explain"),
                statements.len()
            )));
        };
        let (data, meta) = crate::explain::explain(&plugin, request, statement, on_stuck)?;
        return Ok(QueryOutput::Data(data, meta));
    }
    // Least privilege: the session gets the tier the statements need, not the one granted.
    let needed = needed_tier(&statements);
    let access = access_mode(needed);
    let limits = request.limits;
    let mut session = open_session(
        &plugin,
        &request.connection,
        access,
        limits.timeout,
        on_stuck,
    )?;
    // What the names stand for at the engine (user code, views, triggers, catalogs), vetted
    // in the session that will run them, before anything runs.
    crate::reach::vet(
        &mut session.connection,
        &statements,
        plugin.dialect(),
        plugin.policy(),
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
    let prefix = |columns: &[plenum_plugin_api::Column]| spill_prefix(engine, columns);
    let execution = exec::execute(
        &mut session.connection,
        &statements,
        &request.params,
        request.offset,
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

    let pages = statements.len() == 1 && needed == Tier::Read;
    let meta = Meta {
        execution_ms: elapsed_ms(started),
        rows_returned: execution.rows_returned,
        truncated: execution.truncated_by.is_some(),
        truncated_by: execution.truncated_by,
        statements: statements.len(),
        access: access.as_str().to_owned(),
        offset: (request.offset > 0).then_some(request.offset),
        // A page that returned nothing (one row larger than max_bytes) has no next page to
        // offer: the same offset would return nothing again.
        next_offset: (pages && execution.truncated_by.is_some() && execution.rows_returned > 0)
            .then(|| request.offset.saturating_add(execution.rows_returned)),
    };
    let rows_json = match execution.rows {
        RowsOut::Streamed => return Ok(QueryOutput::Streamed(meta, execution.rows_affected)),
        RowsOut::Buffered(bytes) => bytes,
    };
    let rows_json =
        String::from_utf8(rows_json).map_err(|_| Failure::internal("row JSON is not UTF-8"))?;
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
    Ok(QueryOutput::Data(data, meta))
}

/// Milliseconds since `started`, for `meta.execution_ms`.
pub fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The highest tier among `statements`: what the session must be opened with.
pub fn needed_tier(statements: &[plenum_gate::Statement]) -> Tier {
    statements
        .iter()
        .map(|statement| statement.tier)
        .max()
        .unwrap_or(Tier::Read)
}

/// Paging re-runs the query and skips rows: only sound for one read. Re-running a write
/// would repeat its effect.
pub fn check_paging(statements: &[plenum_gate::Statement], offset: u64) -> Result<(), Failure> {
    if offset == 0 {
        return Ok(());
    }
    match statements {
        [statement] if statement.tier == Tier::Read => Ok(()),
        [statement] => Err(Failure::invalid_input(format!(
            "{} pages through the rows of a read; {} is a {} statement and re-running it \
             would repeat its effect",
            option("offset"),
            statement.kind,
            statement.tier
        ))),
        _ => Err(Failure::invalid_input(format!(
            "{} pages through the rows of one statement; the SQL holds several",
            option("offset")
        ))),
    }
}

/// For the CLI, a plugin that ignores a cancel ends the process with a TIMEOUT envelope of
/// `command`.
pub fn exit_on_stuck(
    engine: Option<String>,
    command: &'static str,
    timeout: Duration,
    sanitizer: Sanitizer,
) -> OnStuck {
    Box::new(move || {
        // Said as it happened: a signal or the timeout.
        let why = match crate::exec::stop_signal() {
            Some(signal) => format!("`plenum {command}` received {signal}"),
            None => format!(
                "`plenum {command}` ran longer than the timeout of {} ms",
                timeout.as_millis()
            ),
        };
        let failure = Failure::new(
            ErrorCode::Timeout,
            format!("{why} and the engine did not stop when cancelled"),
        );
        if stream::started() {
            stream::finish(&crate::pipeline::streamed_failure_tail(
                &failure, &sanitizer,
            ));
            std::process::exit(1);
        }
        let envelope = Envelope::failure(engine, command, &failure, &sanitizer);
        if crate::output::print_once(&envelope.to_json()) {
            std::process::exit(1);
        }
    })
}
