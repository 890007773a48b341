//! Running validated statements through a plugin, inside limits the host enforces.
//!
//! The host owns the transaction ([`crate::services::pool::Transaction`]): `begin`, every statement one
//! by one, then `commit` only if all succeeded and the session may write; read sessions are
//! always rolled back.

mod watchdog;

pub use watchdog::{stop_on_signals, stop_signal, Interrupt, OnStuck, Watchdog, CANCEL_GRACE};

use std::time::{Duration, Instant};

use plenum_gate::Statement;
use plenum_plugin_api::abi_stable::std_types::{RSlice, RStr, RVec};
use plenum_plugin_api::{AccessMode, Column, ConnectionBox, FenceOutcome, PluginError, Value};

use crate::services::error::{ErrorCode, Failure};
use crate::services::output::rows::{Count, Spill};
use crate::services::output::{RowWriter, RowsOut, Truncation};
use crate::services::pool::{Lease, Transaction};

pub use crate::services::limits::Limits;

/// What running the statements produced.
#[derive(Debug)]
pub struct Execution {
    /// Columns of the last statement that returned rows.
    pub columns: Vec<Column>,
    /// Its rows: a JSON array in memory, or already streamed to stdout.
    pub rows: RowsOut,
    /// Rows in `rows`.
    pub rows_returned: u64,
    /// Rows changed by writes, summed (saturating); `None` when nothing reported changes.
    pub rows_affected: Option<Count>,
    /// The limit that cut the rows, if any.
    pub truncated_by: Option<Truncation>,
    /// Time spent.
    pub elapsed: Duration,
}

/// Rows asked of a plugin in a statement's first fetch, and in every fetch of a write.
const FIRST_BATCH_ROWS: u64 = 512;
/// Bounds on the rows asked in later fetches of a read.
const MIN_BATCH_ROWS: u64 = 64;
const MAX_BATCH_ROWS: u64 = 8192;
/// Bytes of row JSON a batch of a read aims at. A fetch is a handoff to a plugin's thread or
/// a server round trip, so small rows come in larger batches; wide rows in smaller ones, which
/// keeps memory flat.
const BATCH_TARGET_BYTES: u64 = 1 << 20;
/// Values the batch buffer holds before its first fetch; it grows to what the plugin returns
/// and is reused for the statement's later fetches. Not `FIRST_BATCH_ROWS` times a guessed
/// width: that was 160 KiB per call whatever the result (10 rows of 3 columns use 1.2 KiB), an
/// allocation above glibc's mmap threshold that, freed, raises the threshold, so the next
/// ones land in the per-thread arenas and stay resident there (docs/PERFORMANCE.md, "Memory
/// over 100,000 calls").
const FIRST_BATCH_VALUES: usize = 256;

/// Rows to ask for next, from the JSON size of the rows of the last batch.
fn next_batch_rows(rows: u64, json_bytes: u64) -> u64 {
    if rows == 0 {
        return FIRST_BATCH_ROWS;
    }
    (BATCH_TARGET_BYTES / (json_bytes / rows).max(1)).clamp(MIN_BATCH_ROWS, MAX_BATCH_ROWS)
}

/// The failure for a plugin error: TIMEOUT when the watchdog fired (the error is then the
/// cancel's echo), else the error's own class.
pub fn plugin_failure(error: PluginError, watchdog: &Watchdog) -> Failure {
    if watchdog.fired() {
        return stopped(watchdog);
    }
    Failure::from_plugin(error)
}

/// The failure of a call its watchdog stopped: at the timeout, for a signal, or because the
/// client cancelled it (an [`Interrupt`]).
pub fn stopped(watchdog: &Watchdog) -> Failure {
    if watchdog.interrupted() {
        return Failure::new(
            ErrorCode::Timeout,
            "the client cancelled the call: the query was cancelled and nothing it did was \
             committed",
        );
    }
    let message = match watchdog::stop_signal() {
        Some(signal) => format!(
            "plenum received {signal}: the query was cancelled and nothing it did was committed"
        ),
        None => format!(
            "the query ran longer than the timeout of {} ms and was cancelled",
            watchdog.timeout().as_millis()
        ),
    };
    Failure::new(ErrorCode::Timeout, message)
}

/// Builds the envelope prefix for streaming a result with these columns.
pub type SpillPrefix<'a> = &'a dyn Fn(&[Column]) -> Spill;

/// Runs `statements` on `connection` in one host-owned transaction, committed only when the
/// session may write and everything succeeded. With `spill`, a single read statement with a
/// large result streams its rows to stdout. `offset` rows of a lone read are skipped before
/// the returned ones (paging).
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename the list
pub fn execute(
    connection: &mut Lease,
    statements: &[Statement],
    params: &[Value],
    offset: u64,
    access: AccessMode,
    limits: Limits,
    watchdog: &Watchdog,
    spill: Option<SpillPrefix<'_>>,
) -> Result<Execution, Failure> {
    let started = Instant::now();
    // Every early return below drops the guard, which rolls the transaction back.
    let mut transaction = connection
        .begin()
        .map_err(|error| plugin_failure(error, watchdog))?;
    let mut execution = run_in(
        &mut transaction,
        statements,
        params,
        offset,
        limits,
        watchdog,
        spill,
    )?;
    // The write tier changes data, never the schema: what functions, triggers and rules did
    // behind the statements is checked at the engine before anything commits.
    if access == AccessMode::Write {
        write_fence(&mut transaction, watchdog)?;
    }
    let end = match access {
        AccessMode::Write | AccessMode::Ddl => transaction.commit(),
        _ => transaction.rollback(),
    };
    end.map_err(|error| plugin_failure(error, watchdog))?;
    execution.elapsed = started.elapsed();
    Ok(execution)
}

/// Runs `statements` inside `transaction`, which the caller ends. Once the watchdog fired
/// (timeout or signal), the call is a TIMEOUT: a write is not committed even when its
/// statements finished before the cancel reached them, and a read that ignored the cancel but
/// returned inside the grace period is not reported as a success.
pub fn run_in(
    transaction: &mut Transaction<'_>,
    statements: &[Statement],
    params: &[Value],
    offset: u64,
    limits: Limits,
    watchdog: &Watchdog,
    spill: Option<SpillPrefix<'_>>,
) -> Result<Execution, Failure> {
    let execution = run_statements(
        transaction,
        statements,
        params,
        offset,
        limits,
        watchdog,
        spill,
    )?;
    if watchdog.fired() {
        return Err(stopped(watchdog));
    }
    Ok(execution)
}

/// Refuses a write-tier transaction that changed the schema or a system catalog (see
/// [`plenum_plugin_api::Connection::write_fence`]). A plugin that cannot tell is believed:
/// its documentation says why its engine cannot run DDL from functions and triggers.
fn write_fence(connection: &mut ConnectionBox, watchdog: &Watchdog) -> Result<(), Failure> {
    match connection
        .write_fence()
        .into_result()
        .map_err(|error| plugin_failure(error, watchdog))?
    {
        FenceOutcome::Unchanged | FenceOutcome::Unknown(_) => Ok(()),
        FenceOutcome::Changed(what) => {
            let what = crate::services::sanitize::plugin_text(
                &what,
                crate::services::sanitize::MAX_FIELD_BYTES,
            );
            Err(Failure::capability(format!(
                "a function, trigger or rule the statements ran changed the schema or a system \
                 catalog ({what}), which needs {}; the transaction was rolled back",
                crate::services::words::option("allow_ddl")
            )))
        }
    }
}

/// A column as printed: valid UTF-8, names and types of bounded length. (Column names are
/// data the SQL chose, so they are not scrubbed.)
fn checked_column(column: Column) -> Column {
    let name = crate::services::sanitize::plugin_text(
        &column.name,
        crate::services::sanitize::MAX_FIELD_BYTES,
    );
    let type_name = crate::services::sanitize::plugin_text(
        &column.type_name,
        crate::services::sanitize::MAX_FIELD_BYTES,
    );
    Column::new(name.as_str(), type_name.as_str())
}

fn run_statements(
    connection: &mut ConnectionBox,
    statements: &[Statement],
    params: &[Value],
    offset: u64,
    limits: Limits,
    watchdog: &Watchdog,
    spill: Option<SpillPrefix<'_>>,
) -> Result<Execution, Failure> {
    let mut execution = Execution {
        columns: Vec::new(),
        rows: RowsOut::Buffered(b"[]".to_vec()),
        rows_returned: 0,
        rows_affected: None,
        truncated_by: None,
        elapsed: Duration::ZERO,
    };
    let mut batch: RVec<Value> = RVec::with_capacity(FIRST_BATCH_VALUES);
    for (index, statement) in statements.iter().enumerate() {
        // A cancel reaches only a running statement: one that fired earlier stops the rest here.
        if watchdog.fired() {
            return Err(stopped(watchdog));
        }
        // Parameters bind to the single statement of a call; several statements take none.
        let statement_params = if statements.len() == 1 { params } else { &[] };
        // Writes run to completion so their effect is whole; reads stop at the limit.
        let is_write = statement.tier > plenum_gate::Tier::Read;
        // Paging skips rows of a lone read only (the pipeline refuses it elsewhere).
        let mut skip = if statements.len() == 1 && !is_write {
            offset
        } else {
            0
        };
        let hint = if is_write {
            0
        } else {
            skip.saturating_add(limits.max_rows).saturating_add(1)
        };
        let mut cursor = connection
            .execute(
                RStr::from_str(&statement.sql),
                RSlice::from_slice(statement_params),
                hint,
            )
            .into_result()
            .map_err(|error| {
                let mut failure = plugin_failure(error, watchdog);
                if statements.len() > 1 {
                    failure.message = format!("statement {}: {}", index + 1, failure.message);
                }
                failure
            })?;
        let columns = cursor.columns();
        let width = columns.len();
        // The column list is printed too, so it counts toward the byte limit (measured before
        // anything is copied): a million column names must not make an envelope of 33 MB with
        // no rows.
        let columns_bytes = columns.iter().fold(0u64, |sum, column| {
            sum.saturating_add(column.name.len() as u64 + column.type_name.len() as u64 + 24)
        });
        if columns_bytes > limits.max_bytes {
            return Err(Failure::invalid_input(format!(
                "the result has {width} columns whose names and types alone take about \
                 {columns_bytes} bytes, more than {} ({}); select fewer columns or raise the \
                 limit",
                crate::services::words::option("max_bytes"),
                limits.max_bytes
            )));
        }
        let columns: Vec<Column> = columns.into_iter().map(checked_column).collect();
        // Only a lone read can stream: nothing after it can fail and nothing can replace it.
        let may_stream = statements.len() == 1 && !is_write && width > 0;
        let mut writer = RowWriter::new(limits.max_rows, limits.max_bytes - columns_bytes)
            .with_spill(spill.filter(|_| may_stream).map(|prefix| prefix(&columns)));
        let mut exhausted = false;
        let mut rows_seen = 0u64;
        let mut batch_rows = FIRST_BATCH_ROWS;
        loop {
            let wanted = if is_write {
                FIRST_BATCH_ROWS
            } else if skip > 0 {
                // Skipped rows are dropped batch by batch; their size is unknown, so the batch
                // stays small and memory flat.
                FIRST_BATCH_ROWS.min(skip.saturating_add(writer.rows_left()).saturating_add(1))
            } else {
                // Never ask for more than the limit plus the one probe row.
                batch_rows.min(writer.rows_left().saturating_add(1))
            };
            let (rows_before, bytes_before) = (writer.rows(), writer.bytes());
            // The moment the timeout fires, no more rows are pulled from the plugin.
            if watchdog.fired() {
                return Err(stopped(watchdog));
            }
            batch.clear();
            let fetched = cursor
                .fetch(wanted as u32, &mut batch)
                .into_result()
                .map_err(|error| plugin_failure(error, watchdog))?;
            if fetched == 0 {
                exhausted = true;
                break;
            }
            if width == 0 || batch.len() != fetched as usize * width {
                return Err(Failure::plugin(format!(
                    "the plugin returned {} values for {fetched} rows of {width} columns",
                    batch.len()
                )));
            }
            rows_seen = rows_seen.saturating_add(u64::from(fetched));
            let mut rows = batch.chunks(width);
            while skip > 0 && rows.next().is_some() {
                skip -= 1;
            }
            for row in rows {
                if !writer.push(row) {
                    break;
                }
            }
            if writer.is_full() && !is_write {
                break;
            }
            batch_rows =
                next_batch_rows(writer.rows() - rows_before, writer.bytes() - bytes_before);
        }
        let affected = if exhausted {
            cursor.rows_affected().into_option()
        } else {
            None
        };
        drop(cursor);
        let so_far = execution.rows_affected.map_or(0, |count| count.0);
        if let Some(affected) = affected {
            execution.rows_affected = Some(Count(so_far.saturating_add(affected)));
        } else if is_write && width > 0 {
            // A write with RETURNING: the rows it returned are the rows it changed.
            execution.rows_affected = Some(Count(so_far.saturating_add(rows_seen)));
        }
        if width > 0 {
            execution.columns = columns;
            execution.truncated_by = writer.truncated_by();
            execution.rows_returned = writer.rows();
            execution.rows = writer.finish();
        }
    }
    Ok(execution)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_grow_for_small_rows_and_shrink_for_wide_ones() {
        assert_eq!(next_batch_rows(0, 0), FIRST_BATCH_ROWS);
        // 80-byte rows: as many as the bound allows.
        assert_eq!(next_batch_rows(512, 512 * 80), MAX_BATCH_ROWS);
        // 4 KiB rows: 256 of them make the 1 MiB target.
        assert_eq!(next_batch_rows(512, 512 * 4096), 256);
        // 1 MiB rows: never fewer than the floor.
        assert_eq!(next_batch_rows(2, 2 << 20), MIN_BATCH_ROWS);
    }
}
