//! The task that owns a session's client.
//!
//! A portal lives only inside a transaction, and the driver's `Transaction` borrows the
//! `Client`, so the host-owned transaction (open from `begin` to `commit`) cannot sit in a
//! struct next to its client. The worker task keeps both in its state instead: it owns the
//! client, holds the open transaction and the open portal in nested loops, and serves the
//! session's calls, which arrive as [`Request`]s over a channel and are answered one by one.
//! It runs on the session's own single-threaded runtime, on whichever thread is waiting for
//! an answer (see `session`): a request is not a hand-off to another thread.

use std::ops::ControlFlow;

use plenum_plugin_api::{
    AccessMode, Column, FenceOutcome, IntrospectRequest, IntrospectResult, PluginError,
    PluginResult, ReachReport, ReachRequest, ServerInfo, Value,
};
use postgres::{Client, GenericClient, SimpleQueryMessage, Transaction};
use tokio::sync::mpsc::UnboundedReceiver as Receiver;
use tokio::sync::oneshot;

use crate::errors::query_error;
use crate::introspect;
use crate::prepared::Prepared;
use crate::reach;
use crate::statement::{Batch, Chunk, OpenStatement};

/// Where a call's answer goes.
pub type Reply<T> = oneshot::Sender<PluginResult<T>>;

/// A call from the session to its worker.
pub enum Request {
    /// Start the host-owned transaction.
    Begin(Reply<()>),
    /// Prepare and bind one statement; answers with its columns.
    Execute {
        /// The statement.
        sql: String,
        /// Its bound parameters.
        params: Vec<Value>,
        /// The most rows the host will read (0 = unknown).
        row_limit_hint: u64,
        /// Where the columns go.
        reply: Reply<Vec<Column>>,
    },
    /// Read up to `max_rows` rows of the open statement.
    Fetch {
        /// Row limit for this batch.
        max_rows: usize,
        /// Where the rows go.
        reply: Reply<Batch>,
    },
    /// The cursor is gone: close the open statement's portal.
    Close,
    /// Commit the host-owned transaction.
    Commit(Reply<()>),
    /// Roll the host-owned transaction back.
    Rollback(Reply<()>),
    /// Server version, database and user.
    ServerInfo(Reply<ServerInfo>),
    /// A catalog question.
    Introspect(IntrospectRequest, Reply<IntrospectResult>),
    /// What names resolve to, and the login's powers.
    /// Answered with whether the worker now holds the check's transaction for the call (see
    /// [`held_reach`]).
    Reach(ReachRequest, Reply<(ReachReport, bool)>),
    /// The write tier's fence, before commit.
    Fence(Reply<FenceOutcome>),
    /// Return the session to its state at connect, for reuse (outside a transaction only).
    Reset(Reply<()>),
}

/// Ends the worker: the session dropped its end of the channel.
type Flow = ControlFlow<()>;

/// Serves `requests` with `client` until the session goes away; an open transaction is rolled
/// back then (the driver does it when the transaction is dropped).
pub async fn run(mut client: Client, access: AccessMode, mut requests: Receiver<Request>) {
    let requests = &mut requests;
    let mut prepared = Prepared::default();
    let mut pending: Option<Request> = None;
    loop {
        let request = match pending.take() {
            Some(request) => request,
            None => match requests.recv().await {
                Some(request) => request,
                None => return,
            },
        };
        match request {
            Request::Begin(reply) => match begin(&mut client, access).await {
                Ok(transaction) => {
                    answer(reply, Ok(()));
                    let flow =
                        serve_transaction(transaction, access, None, requests, &mut prepared).await;
                    if flow.is_break() {
                        return;
                    }
                }
                Err(error) => answer(reply, Err(error)),
            },
            // A statement without `begin` opens the session's transaction itself; it stays open
            // until `commit` or `rollback`, like one opened by `begin`.
            Request::Execute { .. } => match begin(&mut client, access).await {
                Ok(transaction) => {
                    let flow = serve_transaction(
                        transaction,
                        access,
                        Some(request),
                        requests,
                        &mut prepared,
                    )
                    .await;
                    if flow.is_break() {
                        return;
                    }
                }
                Err(error) => {
                    if let Request::Execute { reply, .. } = request {
                        answer(reply, Err(error));
                    }
                }
            },
            Request::Commit(reply) => {
                answer(reply, Err(PluginError::query("no transaction is open")))
            }
            Request::Rollback(reply) => answer(reply, Ok(())),
            Request::ServerInfo(reply) => answer(reply, server_info(&mut client).await),
            Request::Introspect(request, reply) => {
                let result = match begin_read_only(&mut client).await {
                    Ok(mut transaction) => {
                        let result = introspect::run(&mut transaction, &request).await;
                        rolled_back(transaction, result).await
                    }
                    Err(error) => Err(error),
                };
                answer(reply, result)
            }
            Request::Reach(request, reply) if access == AccessMode::Read => {
                match held_reach(&mut client, request, reply, requests, &mut prepared).await {
                    Held::Gone => return,
                    Held::Next(request) => pending = request,
                }
            }
            Request::Reach(request, reply) => {
                let result = match begin_read_only(&mut client).await {
                    Ok(mut transaction) => {
                        let result =
                            reach::reach(&mut transaction, &mut prepared, &request, access).await;
                        rolled_back(transaction, result).await
                    }
                    Err(error) => Err(error),
                };
                answer(reply, result.map(|report| (report, false)))
            }
            // Nothing ran outside a transaction: nothing changed.
            Request::Fence(reply) => answer(reply, Ok(FenceOutcome::Unchanged)),
            Request::Reset(reply) => answer(reply, reset(&mut client, &mut prepared).await),
            Request::Fetch { reply, .. } => answer(reply, Err(no_cursor())),
            Request::Close => {}
        }
    }
}

/// What follows a held reach transaction.
enum Held {
    /// The session is gone.
    Gone,
    /// The transaction was ended; this request (if any) is still to be served.
    Next(Option<Request>),
}

/// A read session's reach check, in a read-only transaction that is held for the call that
/// asked it: the host begins its transaction next, and gets this one, whose snapshot the
/// catalog queries already took (no `BEGIN`, snapshot query or `ROLLBACK` of its own). More
/// reach questions (views) are answered in it too; anything else rolls it back first, so a
/// held transaction never serves what would have run outside one.
async fn held_reach(
    client: &mut Client,
    request: ReachRequest,
    reply: Reply<(ReachReport, bool)>,
    requests: &mut Receiver<Request>,
    prepared: &mut Prepared,
) -> Held {
    let mut transaction = match begin_read_only(client).await {
        Ok(transaction) => transaction,
        Err(error) => {
            answer(reply, Err(error));
            return Held::Next(None);
        }
    };
    let mut asked = Some((request, reply));
    loop {
        if let Some((request, reply)) = asked.take() {
            let result = reach::reach(&mut transaction, prepared, &request, AccessMode::Read).await;
            let failed = result.is_err();
            answer(reply, result.map(|report| (report, true)));
            if failed {
                // The transaction is aborted: end it now rather than hand it to the call.
                let _ = transaction.rollback().await;
                return Held::Next(None);
            }
        }
        let Some(next) = requests.recv().await else {
            return Held::Gone;
        };
        match next {
            Request::Reach(request, reply) => asked = Some((request, reply)),
            Request::Begin(reply) => {
                answer(reply, Ok(()));
                let flow =
                    serve_transaction(transaction, AccessMode::Read, None, requests, prepared)
                        .await;
                return match flow {
                    Flow::Break(()) => Held::Gone,
                    Flow::Continue(()) => Held::Next(None),
                };
            }
            Request::Execute { .. } => {
                let flow = serve_transaction(
                    transaction,
                    AccessMode::Read,
                    Some(next),
                    requests,
                    prepared,
                )
                .await;
                return match flow {
                    Flow::Break(()) => Held::Gone,
                    Flow::Continue(()) => Held::Next(None),
                };
            }
            // As after `begin` (the session may answer `begin` itself, see `session::Held`):
            // the rollback's own outcome is the answer.
            Request::Rollback(reply) => {
                answer(
                    reply,
                    transaction.rollback().await.map_err(|e| query_error(&e)),
                );
                return Held::Next(None);
            }
            other => {
                // Served as if no transaction were open: a failed rollback leaves the
                // connection broken, which the request then reports.
                let _ = transaction.rollback().await;
                return Held::Next(Some(other));
            }
        }
    }
}

fn answer<T>(reply: Reply<T>, result: PluginResult<T>) {
    // The session waits for every answer; if it is gone, there is no one left to tell.
    let _ = reply.send(result);
}

fn no_cursor() -> PluginError {
    PluginError::internal("no statement is open")
}

/// A read-only transaction, without a query yet.
async fn begin_read_only(client: &mut Client) -> PluginResult<Transaction<'_>> {
    client
        .build_transaction()
        .read_only(true)
        .start()
        .await
        .map_err(|e| query_error(&e))
}

/// Starts a transaction in the session's access mode.
///
/// Read transactions are `READ ONLY`, and a first fixed query takes their snapshot: PostgreSQL
/// lets `SET TRANSACTION READ WRITE` switch a transaction back only before its first query.
async fn begin(client: &mut Client, access: AccessMode) -> PluginResult<Transaction<'_>> {
    let read_only = access == AccessMode::Read;
    let transaction = client
        .build_transaction()
        .read_only(read_only)
        .start()
        .await
        .map_err(|e| query_error(&e))?;
    if read_only {
        transaction
            .batch_execute("SELECT 1")
            .await
            .map_err(|e| query_error(&e))?;
    }
    Ok(transaction)
}

async fn serve_transaction(
    mut transaction: Transaction<'_>,
    access: AccessMode,
    first: Option<Request>,
    requests: &mut Receiver<Request>,
    prepared: &mut Prepared,
) -> Flow {
    let mut pending = first;
    let mut failed = false;
    loop {
        let request = match pending.take() {
            Some(request) => request,
            None => match requests.recv().await {
                Some(request) => request,
                None => return Flow::Break(()),
            },
        };
        match request {
            Request::Execute {
                sql,
                params,
                row_limit_hint,
                reply,
            } => {
                let statement = OpenStatement::open(&mut transaction, &sql, &params).await;
                let statement = match statement {
                    Ok(statement) => statement,
                    Err(error) => {
                        failed = true;
                        answer(reply, Err(error));
                        continue;
                    }
                };
                answer(reply, Ok(statement.columns().to_vec()));
                let cursor =
                    serve_cursor(&mut transaction, &statement, row_limit_hint, requests).await;
                failed |= cursor.failed;
                cursor.flow?;
                pending = cursor.next;
            }
            Request::Commit(reply) => {
                let result = if failed {
                    // PostgreSQL would answer COMMIT on a failed transaction with a rollback.
                    let _ = transaction.rollback().await;
                    Err(PluginError::query(
                        "a statement of this transaction failed; it was rolled back",
                    ))
                } else {
                    transaction.commit().await.map_err(|e| query_error(&e))
                };
                answer(reply, result);
                return Flow::Continue(());
            }
            Request::Rollback(reply) => {
                answer(
                    reply,
                    transaction.rollback().await.map_err(|e| query_error(&e)),
                );
                return Flow::Continue(());
            }
            Request::Begin(reply) => answer(
                reply,
                Err(PluginError::query("a transaction is already open")),
            ),
            Request::ServerInfo(reply) => answer(reply, server_info(&mut transaction).await),
            Request::Introspect(request, reply) => {
                answer(reply, introspect::run(&mut transaction, &request).await)
            }
            Request::Reach(request, reply) => {
                let result = reach::reach(&mut transaction, prepared, &request, access).await;
                failed |= result.is_err();
                answer(reply, result.map(|report| (report, false)))
            }
            Request::Fence(reply) => {
                let result = reach::write_fence(&mut transaction).await;
                failed |= result.is_err();
                answer(reply, result)
            }
            // A session is reset between calls, never inside one.
            Request::Reset(reply) => answer(
                reply,
                Err(PluginError::query("a transaction is still open; not reset")),
            ),
            Request::Fetch { reply, .. } => answer(reply, Err(no_cursor())),
            Request::Close => {}
        }
    }
}

struct CursorEnd {
    flow: Flow,
    failed: bool,
    /// The request that closed a cursor read to its end, still to be served.
    next: Option<Request>,
}

/// Serves `Fetch` calls for `statement` until the cursor closes.
///
/// Rows are asked of the server in chunks (one Execute each) that can be larger than the
/// host's fetches, so the server streams ahead instead of waiting for a round trip per fetch.
/// The first chunk is the host's first fetch; later ones double, bounded by
/// [`CHUNK_TARGET_BYTES`] of wire data and [`MAX_CHUNK_ROWS`], which also bounds what is thrown
/// away when the host stops early. `row_limit_hint` caps the rows asked of the server until
/// the host has that many: a host that will stop at 101 rows never makes the server produce
/// more.
async fn serve_cursor(
    transaction: &mut Transaction<'_>,
    statement: &OpenStatement,
    row_limit_hint: u64,
    requests: &mut Receiver<Request>,
) -> CursorEnd {
    let mut fetched: u64 = 0;
    let mut done = false;
    let mut failed = false;
    let mut chunk_rows: Option<usize> = None;
    loop {
        // A cursor read to its end is closed by whatever the session asks next (its `Close`
        // is not sent then: see `session::PgCursor`'s drop).
        let next = if done {
            next_after_end(requests).await
        } else {
            next_fetch(requests).await
        };
        let (max_rows, reply) = match next {
            NextFetch::Fetch(max_rows, reply) => (max_rows, reply),
            NextFetch::Then(request) => {
                return CursorEnd {
                    flow: Flow::Continue(()),
                    failed,
                    next: Some(request),
                }
            }
            NextFetch::Close => {
                return CursorEnd {
                    flow: Flow::Continue(()),
                    failed,
                    next: None,
                }
            }
            NextFetch::Gone => {
                return CursorEnd {
                    flow: Flow::Break(()),
                    failed,
                    next: None,
                }
            }
        };
        if done {
            answer(
                reply,
                Ok(Batch {
                    done: true,
                    ..Batch::default()
                }),
            );
            continue;
        }
        let size = *chunk_rows.get_or_insert(max_rows);
        let mut chunk = match statement
            .execute(transaction, batch_limit(size, row_limit_hint, fetched))
            .await
        {
            Ok(chunk) => chunk,
            Err(error) => {
                done = true;
                failed = true;
                answer(reply, Err(error));
                continue;
            }
        };
        // Serve fetches from this chunk until it ends. After each answer the next batch is read
        // ahead (when the session next runs the worker) from rows the server already sent.
        let width = statement.columns().len();
        let mut pending = Some((max_rows, reply));
        let mut ahead: Option<Read> = None;
        loop {
            let (max_rows, reply) = match pending.take() {
                Some(fetch) => fetch,
                None => match next_fetch(requests).await {
                    NextFetch::Fetch(max_rows, reply) => (max_rows, reply),
                    NextFetch::Then(request) => {
                        return CursorEnd {
                            flow: Flow::Continue(()),
                            failed,
                            next: Some(request),
                        }
                    }
                    NextFetch::Close => {
                        return CursorEnd {
                            flow: Flow::Continue(()),
                            failed,
                            next: None,
                        }
                    }
                    NextFetch::Gone => {
                        return CursorEnd {
                            flow: Flow::Break(()),
                            failed,
                            next: None,
                        }
                    }
                },
            };
            let mut current = match ahead.take() {
                Some(read) => read,
                None => Read::from(statement, &mut chunk, max_rows).await,
            };
            // The host may ask for fewer rows than were read ahead: keep the rest.
            ahead = current.split_off(max_rows, width);
            let ended = current.ended;
            match current.batch {
                Ok(batch) => {
                    fetched = fetched.saturating_add(batch.rows as u64);
                    done = batch.done;
                    answer(reply, Ok(batch));
                }
                Err(error) => {
                    done = true;
                    failed = true;
                    answer(reply, Err(error));
                }
            }
            if ahead.is_none() {
                if ended {
                    break;
                }
                ahead = Some(Read::from(statement, &mut chunk, max_rows).await);
            }
        }
        let (rows, bytes) = chunk.read_so_far();
        chunk_rows = Some(next_chunk_rows(size, rows, bytes));
    }
}

/// One read from a chunk: a batch (or the error that ended it) and whether the chunk ended.
struct Read {
    batch: PluginResult<Batch>,
    ended: bool,
}

impl Read {
    /// Reads up to `max_rows` rows of `chunk`.
    async fn from(statement: &OpenStatement, chunk: &mut Chunk, max_rows: usize) -> Read {
        let mut batch = Batch::default();
        match statement.read(chunk, max_rows, &mut batch).await {
            Ok(ended) => Read {
                batch: Ok(batch),
                ended,
            },
            Err(error) => Read {
                batch: Err(error),
                ended: true,
            },
        }
    }

    /// Keeps the first `max_rows` rows (of `width` values) and returns the rest, if any, as
    /// the read that follows; the end of the chunk and of the statement move with the rest.
    fn split_off(&mut self, max_rows: usize, width: usize) -> Option<Read> {
        let batch = self.batch.as_mut().ok()?;
        if batch.rows <= max_rows || width == 0 {
            return None;
        }
        let rest = Batch {
            values: batch.values.split_off(max_rows * width),
            rows: batch.rows - max_rows,
            done: batch.done,
            rows_affected: batch.rows_affected.take(),
        };
        batch.rows = max_rows;
        batch.done = false;
        let ended = std::mem::replace(&mut self.ended, false);
        Some(Read {
            batch: Ok(rest),
            ended,
        })
    }
}

/// What the session asked for next while a cursor is open.
enum NextFetch {
    /// Rows, at most this many.
    Fetch(usize, Reply<Batch>),
    /// The cursor was dropped.
    Close,
    /// The cursor, read to its end, was dropped, and this came next.
    Then(Request),
    /// The session is gone.
    Gone,
}

/// After the cursor's end: the next request, a `Fetch` (answered by the caller with no rows),
/// `Close`, or anything else, which closes the cursor and is served next.
async fn next_after_end(requests: &mut Receiver<Request>) -> NextFetch {
    match requests.recv().await {
        Some(Request::Fetch { max_rows, reply }) => NextFetch::Fetch(max_rows, reply),
        Some(Request::Close) => NextFetch::Close,
        Some(request) => NextFetch::Then(request),
        None => NextFetch::Gone,
    }
}

/// Waits for the next `Fetch` or `Close`, answering anything else as busy.
async fn next_fetch(requests: &mut Receiver<Request>) -> NextFetch {
    loop {
        let Some(request) = requests.recv().await else {
            return NextFetch::Gone;
        };
        match request {
            Request::Fetch { max_rows, reply } => return NextFetch::Fetch(max_rows, reply),
            Request::Close => return NextFetch::Close,
            // The cursor borrows the session mutably, so nothing else can be asked while it
            // is open; answer anyway rather than leave a caller waiting.
            Request::Begin(reply) | Request::Commit(reply) | Request::Rollback(reply) => {
                answer(reply, Err(busy()))
            }
            Request::Execute { reply, .. } => answer(reply, Err(busy())),
            Request::ServerInfo(reply) => answer(reply, Err(busy())),
            Request::Introspect(_, reply) => answer(reply, Err(busy())),
            Request::Reach(_, reply) => answer(reply, Err(busy())),
            Request::Fence(reply) => answer(reply, Err(busy())),
            Request::Reset(reply) => answer(reply, Err(busy())),
        }
    }
}

/// Wire bytes of rows one chunk aims at.
const CHUNK_TARGET_BYTES: usize = 4 << 20;
/// The most rows one chunk asks for.
const MAX_CHUNK_ROWS: usize = 65_536;

/// The size of the chunk after one of `previous` rows that read `rows` rows of `bytes` bytes.
fn next_chunk_rows(previous: usize, rows: usize, bytes: usize) -> usize {
    let per_row = (bytes / rows.max(1)).max(1);
    previous
        .saturating_mul(2)
        .min(CHUNK_TARGET_BYTES / per_row)
        .clamp(1, MAX_CHUNK_ROWS)
}

fn busy() -> PluginError {
    PluginError::internal("a statement is still open on this session")
}

/// Rows to ask the server for: what the host asked, but no more than it still wants.
fn batch_limit(max_rows: usize, row_limit_hint: u64, fetched: u64) -> usize {
    if row_limit_hint > fetched {
        let wanted = usize::try_from(row_limit_hint - fetched).unwrap_or(usize::MAX);
        max_rows.min(wanted)
    } else {
        max_rows
    }
}

/// What `DISCARD ALL` does, in one round trip, but keeping the plugin's own prepared catalog
/// statements (see [`Prepared`]): cursors, the role and session authorization, settings (back
/// to the startup packet's, which keep `default_transaction_read_only` and
/// `statement_timeout`), `LISTEN`s, session advisory locks, temporary tables and sequence
/// state; the last statement counts the statements SQL `PREPARE` made (see [`reset`]). Run
/// outside a transaction only (the worker serves `Reset` there; inside one it refuses).
const RESET: &str = "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; \
     SELECT pg_catalog.pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES; \
     SELECT pg_catalog.count(*) FROM pg_catalog.pg_prepared_statements WHERE from_sql";

/// Returns the session to its state at connect (see [`RESET`]). The simple-query protocol
/// runs the statements as one implicit transaction: all take effect or none.
///
/// Statements SQL `PREPARE` made are rare (the gate refuses `PREPARE` in every tier), so they
/// are only counted on the way; when there are any, `DEALLOCATE ALL` removes them in a second
/// round trip, with the plugin's own, which are then prepared again. A `DO` block that
/// deallocated them by name on every reset cost the server more than the rest of the reset
/// together (`pgbench`, 16 clients: 8,100 against 11,400 resets with a read-only call per second).
async fn reset(client: &mut Client, prepared: &mut Prepared) -> PluginResult<()> {
    let failed = |prepared: &mut Prepared, error: &postgres::Error| {
        prepared.forget();
        query_error(error)
    };
    let messages = client
        .simple_query(RESET)
        .await
        .map_err(|e| failed(prepared, &e))?;
    // The count is the last row: `pg_advisory_unlock_all()` answers one too.
    let sql_prepared = messages
        .iter()
        .rev()
        .find_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(row.get(0).and_then(|n| n.parse::<u64>().ok())),
            _ => None,
        })
        .flatten();
    match sql_prepared {
        Some(0) => Ok(()),
        Some(_) => {
            prepared.forget();
            client
                .batch_execute("DEALLOCATE ALL")
                .await
                .map_err(|e| failed(prepared, &e))
        }
        None => {
            prepared.forget();
            Err(PluginError::internal(
                "the reset did not say how many prepared statements are left; not reused",
            ))
        }
    }
}

async fn server_info(client: &mut impl GenericClient) -> PluginResult<ServerInfo> {
    let row = client
        .query_one(
            "SELECT version(), current_database()::text, current_user::text",
            &[],
        )
        .await
        .map_err(|e| query_error(&e))?;
    let text = |index: usize| -> PluginResult<String> {
        row.try_get(index)
            .map_err(|e| PluginError::internal(format!("unexpected server_info column: {e}")))
    };
    Ok(ServerInfo {
        version: text(0)?.into(),
        database: plenum_plugin_api::abi_stable::std_types::ROption::RSome(text(1)?.into()),
        user: plenum_plugin_api::abi_stable::std_types::ROption::RSome(text(2)?.into()),
    })
}

/// Catalog questions asked outside a host transaction (names to resolve, introspection) run in
/// a read-only one ([`begin_read_only`]) that is rolled back here, after `result`.
async fn rolled_back<T>(transaction: Transaction<'_>, result: PluginResult<T>) -> PluginResult<T> {
    transaction.rollback().await.map_err(|e| query_error(&e))?;
    result
}

#[cfg(test)]
mod tests {
    use super::{batch_limit, next_chunk_rows, Batch, Read, MAX_CHUNK_ROWS};
    use plenum_plugin_api::Value;

    #[test]
    fn a_read_ahead_larger_than_the_fetch_is_split_and_keeps_the_end() {
        let mut read = Read {
            batch: Ok(Batch {
                values: (1..=10).map(Value::Int).collect(),
                rows: 5,
                done: true,
                rows_affected: Some(5),
            }),
            ended: true,
        };
        let rest = read.split_off(3, 2).map(|rest| (rest.batch, rest.ended));
        let Some((Ok(rest), true)) = rest else {
            panic!("expected the rest of the rows, ending the chunk: {rest:?}");
        };
        assert_eq!(rest.rows, 2);
        assert_eq!(rest.values, (7..=10).map(Value::Int).collect::<Vec<_>>());
        assert!(rest.done);
        assert_eq!(rest.rows_affected, Some(5));
        let Ok(first) = &read.batch else {
            panic!("the first part is a batch");
        };
        assert_eq!(
            (first.rows, first.done, first.rows_affected),
            (3, false, None)
        );
        assert_eq!(first.values, (1..=6).map(Value::Int).collect::<Vec<_>>());
        assert!(!read.ended);
        // A read that fits is left whole.
        assert!(read.split_off(3, 2).is_none());
    }

    #[test]
    fn chunks_double_up_to_their_byte_and_row_bounds() {
        assert_eq!(next_chunk_rows(512, 512, 512 * 70), 1024);
        assert_eq!(next_chunk_rows(32_768, 32_768, 32_768 * 40), MAX_CHUNK_ROWS);
        // 1 MiB rows: four per chunk.
        assert_eq!(next_chunk_rows(512, 3, 3 << 20), 4);
        // 100 MiB rows: one at a time.
        assert_eq!(next_chunk_rows(512, 1, 100 << 20), 1);
    }

    #[test]
    fn batches_stop_at_the_hint_until_it_is_reached() {
        assert_eq!(batch_limit(1000, 101, 0), 101);
        assert_eq!(batch_limit(50, 101, 100), 1);
        assert_eq!(batch_limit(1000, 101, 101), 1000);
        assert_eq!(batch_limit(1000, 0, 0), 1000);
        assert_eq!(batch_limit(10, 101, 0), 10);
    }
}
