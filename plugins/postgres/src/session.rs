//! The plugin-API objects: [`PgSession`], [`PgCursor`] and [`PgCancelHandle`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{
    CancelHandle, Column, ConnectParams, Connection, Cursor, FenceOutcome, IntrospectRequest,
    IntrospectResult, PluginError, PluginResult, ReachReport, ReachRequest, ServerInfo, Value,
};
use postgres::CancelToken;
use tokio::runtime::Runtime;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::connect::connect;
use crate::worker::{self, Reply, Request};

/// One PostgreSQL session in the access mode it was opened with.
///
/// The client lives in a worker task (see the `worker` module) on the session's own
/// single-threaded runtime; each call is a request to it, and the calling thread runs the
/// runtime until the answer is there (no other thread is involved). `execute` without `begin`
/// opens the session's transaction itself, and it stays open until `commit` or `rollback`.
/// Dropping the session rolls back an open transaction and closes the connection.
pub struct PgSession {
    /// `None` only while dropping.
    runtime: Option<Runtime>,
    requests: Option<UnboundedSender<Request>>,
    worker: Option<JoinHandle<()>>,
    connection: Option<JoinHandle<()>>,
    cancel: Arc<CancelTarget>,
    /// How long one call waits for the worker: a little past the host's timeout, so a server
    /// that stopped answering ends the call before the host's grace runs out (`None` without
    /// a timeout).
    answer_limit: Option<Duration>,
    /// Set when a call gave up on the worker: it is stuck on a server that does not answer,
    /// and is neither asked anything again nor waited for.
    stuck: AtomicBool,
    /// Where the worker is between calls, as far as `begin` is concerned.
    held: Held,
}

/// Whether the worker holds a read session's reach transaction (see `worker::held_reach`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Held {
    /// No, or not known.
    Nothing,
    /// Yes: the last request was a reach check of a read session, and it passed.
    Reach,
    /// Yes, and `begin` was answered here without asking the worker: the worker treats a
    /// statement or a rollback in its held transaction as if `begin` had come first, and is
    /// sent the `begin` before anything else (a request per call saved).
    ReachBegun,
}

/// Added to the host's timeout for [`PgSession::answer_limit`]: the host cancels at its
/// timeout, and gives up on the plugin 1.5 s later.
const ANSWER_MARGIN_MS: u64 = 1000;

/// How long dropping a session waits for its rollback and goodbye to reach the server.
const CLOSE_LIMIT: Duration = Duration::from_millis(1000);

struct CancelTarget {
    token: CancelToken,
    connector: MakeRustlsConnect,
}

impl PgSession {
    /// Connects and starts the session's worker.
    pub fn open(params: &ConnectParams) -> PluginResult<PgSession> {
        let connected = connect(params)?;
        let (requests, inbox) = unbounded_channel();
        let access = params.access;
        let worker = connected
            .runtime
            .spawn(worker::run(connected.client, access, inbox));
        let answer_limit = (params.statement_timeout_ms > 0).then(|| {
            Duration::from_millis(params.statement_timeout_ms.saturating_add(ANSWER_MARGIN_MS))
        });
        Ok(PgSession {
            runtime: Some(connected.runtime),
            requests: Some(requests),
            worker: Some(worker),
            connection: Some(connected.connection),
            answer_limit,
            stuck: AtomicBool::new(false),
            held: Held::Nothing,
            cancel: Arc::new(CancelTarget {
                token: connected.cancel_token,
                connector: connected.connector,
            }),
        })
    }

    /// Queues `request` for the worker; it is served when the runtime next runs.
    fn send(&self, request: Request) -> PluginResult<()> {
        self.requests
            .as_ref()
            .and_then(|requests| requests.send(request).ok())
            .ok_or_else(worker_gone)
    }

    /// Sends `request` and runs the session's runtime on this thread until it is answered, at
    /// most [`PgSession::answer_limit`].
    fn call<T>(&self, request: impl FnOnce(Reply<T>) -> Request) -> PluginResult<T> {
        if self.stuck.load(Ordering::SeqCst) {
            return Err(server_silent(self.answer_limit));
        }
        let runtime = self.runtime.as_ref().ok_or_else(worker_gone)?;
        let (reply, answer) = oneshot::channel();
        self.send(request(reply))?;
        let answered = match self.answer_limit {
            None => runtime.block_on(answer),
            Some(limit) => {
                match runtime.block_on(async { tokio::time::timeout(limit, answer).await }) {
                    Ok(answered) => answered,
                    Err(_) => {
                        self.stuck.store(true, Ordering::SeqCst);
                        return Err(server_silent(self.answer_limit));
                    }
                }
            }
        };
        answered.map_err(|_| worker_gone())?
    }
}

fn worker_gone() -> PluginError {
    PluginError::internal("the session's worker stopped")
}

fn server_silent(limit: Option<Duration>) -> PluginError {
    let waited = limit.map_or(0, |limit| limit.as_millis());
    PluginError::connection(format!(
        "the server stopped answering: no answer within {waited} ms"
    ))
}

impl Drop for PgSession {
    fn drop(&mut self) {
        // Closing the channel ends the worker, which drops an open transaction (its rollback
        // is queued) and the client; the connection then sends them and says goodbye.
        self.requests.take();
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        // A session stuck on a silent server is not waited for: its socket just closes.
        if !self.stuck.load(Ordering::SeqCst) {
            let worker = self.worker.take();
            let connection = self.connection.take();
            runtime.block_on(async {
                let _ = tokio::time::timeout(CLOSE_LIMIT, async {
                    if let Some(worker) = worker {
                        let _ = worker.await;
                    }
                    if let Some(connection) = connection {
                        let _ = connection.await;
                    }
                })
                .await;
            });
        }
        runtime.shutdown_background();
    }
}

impl PgSession {
    /// Before any request but a statement or a rollback: a `begin` answered here is sent.
    fn send_deferred_begin(&mut self) -> PluginResult<()> {
        let held = std::mem::replace(&mut self.held, Held::Nothing);
        if held == Held::ReachBegun {
            self.call(Request::Begin)?;
        }
        Ok(())
    }
}

impl Connection for PgSession {
    fn begin(&mut self) -> PluginResult<()> {
        match self.held {
            Held::Reach => {
                self.held = Held::ReachBegun;
                Ok(())
            }
            Held::ReachBegun => Err(PluginError::query("a transaction is already open")),
            Held::Nothing => self.call(Request::Begin),
        }
    }

    fn execute<'a>(
        &'a mut self,
        sql: &str,
        params: &[Value],
        row_limit_hint: u64,
    ) -> PluginResult<Box<dyn Cursor + 'a>> {
        // The worker serves a statement in its held transaction as after `begin`.
        self.held = Held::Nothing;
        let columns = self.call(|reply| Request::Execute {
            sql: sql.to_owned(),
            params: params.to_vec(),
            row_limit_hint,
            reply,
        })?;
        Ok(Box::new(PgCursor {
            session: self,
            columns,
            done: false,
            rows_affected: None,
        }))
    }

    fn commit(&mut self) -> PluginResult<()> {
        self.send_deferred_begin()?;
        self.call(Request::Commit)
    }

    fn rollback(&mut self) -> PluginResult<()> {
        // The worker rolls its held transaction back as it would after `begin`.
        self.held = Held::Nothing;
        self.call(Request::Rollback)
    }

    fn cancel_handle(&self) -> PluginResult<Box<dyn CancelHandle>> {
        Ok(Box::new(PgCancelHandle(Arc::clone(&self.cancel))))
    }

    fn server_info(&mut self) -> PluginResult<ServerInfo> {
        self.send_deferred_begin()?;
        self.call(Request::ServerInfo)
    }

    fn introspect(&mut self, request: &IntrospectRequest) -> PluginResult<IntrospectResult> {
        self.send_deferred_begin()?;
        let request = request.clone();
        self.call(|reply| Request::Introspect(request, reply))
    }

    fn reach(&mut self, request: &ReachRequest) -> PluginResult<ReachReport> {
        self.send_deferred_begin()?;
        let request = request.clone();
        let (report, held) = self.call(|reply| Request::Reach(request, reply))?;
        if held {
            self.held = Held::Reach;
        }
        Ok(report)
    }

    fn write_fence(&mut self) -> PluginResult<FenceOutcome> {
        self.send_deferred_begin()?;
        self.call(Request::Fence)
    }

    fn reset(&mut self) -> PluginResult<()> {
        self.send_deferred_begin()?;
        self.call(Request::Reset)
    }
}

/// The rows of one statement, read from its portal batch by batch.
pub struct PgCursor<'a> {
    session: &'a PgSession,
    columns: Vec<Column>,
    done: bool,
    rows_affected: Option<u64>,
}

impl Cursor for PgCursor<'_> {
    fn columns(&self) -> Vec<Column> {
        self.columns.clone()
    }

    fn fetch(&mut self, max_rows: usize, out: &mut RVec<Value>) -> PluginResult<usize> {
        if self.done || max_rows == 0 {
            return Ok(0);
        }
        let batch = self
            .session
            .call(|reply| Request::Fetch { max_rows, reply });
        let batch = match batch {
            Ok(batch) => batch,
            Err(error) => {
                self.done = true;
                return Err(error);
            }
        };
        self.done = batch.done;
        // Statements that return rows report them as rows; the count is for writes.
        if batch.done && self.columns.is_empty() {
            self.rows_affected = batch.rows_affected;
        }
        // The host hands in an emptied buffer: taking over the batch's saves moving every value.
        if out.is_empty() {
            *out = RVec::from(batch.values);
        } else {
            out.extend(batch.values);
        }
        Ok(batch.rows)
    }

    fn rows_affected(&self) -> Option<u64> {
        self.rows_affected
    }
}

impl Drop for PgCursor<'_> {
    fn drop(&mut self) {
        // Closes the portal: the server drops whatever rows were not read. A portal read to
        // its end needs no word: the worker takes the next request as the cursor's close.
        if !self.done {
            let _ = self.session.send(Request::Close);
        }
    }
}

/// Sends PostgreSQL's cancel request for the session's running statement.
pub struct PgCancelHandle(Arc<CancelTarget>);

/// How long a cancel request may take. A server that stopped answering never answers the TLS
/// request that opens it, and the driver would wait for ever; the host's grace after a cancel
/// is longer than this.
const CANCEL_LIMIT: Duration = Duration::from_millis(1000);

impl CancelHandle for PgCancelHandle {
    fn cancel(&self) -> PluginResult<()> {
        let target = Arc::clone(&self.0);
        let (sender, receiver) = mpsc::sync_channel(1);
        thread::Builder::new()
            .name("plenum-postgres-cancel".to_owned())
            .spawn(move || {
                let result = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())
                    .and_then(|runtime| {
                        runtime
                            .block_on(target.token.cancel_query(target.connector.clone()))
                            .map_err(|e| e.to_string())
                    });
                let _ = sender.send(result);
            })
            .map_err(|e| PluginError::internal(format!("cannot start the cancel thread: {e}")))?;
        match receiver.recv_timeout(CANCEL_LIMIT) {
            Ok(result) => result.map_err(|e| {
                PluginError::connection(format!("cannot send the cancel request: {e}"))
            }),
            Err(_) => Err(PluginError::connection(format!(
                "the server did not take the cancel request within {} ms",
                CANCEL_LIMIT.as_millis()
            ))),
        }
    }
}
