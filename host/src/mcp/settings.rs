//! What every call of the server shares: the ceiling, approvals and password variables its
//! human set, its tools, and the slots and waits that run engine work off the async workers.

use std::sync::Arc;
use std::time::Duration;

use plenum_gate::Tier;
use rmcp::model::{JsonObject, Tool};
use rmcp::service::{RequestContext, RoleServer};
use tokio::sync::Semaphore;

use super::approval::{Approvals, Pending};
use super::tools;
use plenum_core::pipeline::exec::{Interrupt, CANCEL_GRACE};
use plenum_core::services::error::{ErrorCode, Failure};

/// Engine calls that may run at once; more wait their turn (the wait is not part of their
/// timeout, but it is bounded by it: a call that finds every slot held by a stuck plugin for
/// that long is answered TIMEOUT).
const MAX_ENGINE_CALLS: usize = 32;

/// How long a cancelled call is waited for: the plugin's grace to answer the cancel, and a
/// little. Its engine slot stays taken until then, so cancelled work never piles up beyond
/// [`MAX_ENGINE_CALLS`].
const CANCEL_WAIT: Duration = CANCEL_GRACE.saturating_add(Duration::from_millis(500));

/// What the human who started the server decided, and what every call shares.
pub struct Settings {
    ceiling: Tier,
    approvals: Option<Approvals>,
    /// Approvals asked for on protocol 2026-07-28 and not yet answered.
    pending: Pending,
    password_envs: Vec<String>,
    tools: Vec<Tool>,
    engine_slots: Arc<Semaphore>,
}

impl Settings {
    /// Settings for a server whose tier ceiling is `ceiling`, whose client's user may approve
    /// calls above it as `approvals` allows, and whose calls may name the environment
    /// variables `password_envs` as `password_env`.
    pub fn new(ceiling: Tier, approvals: Option<Approvals>, password_envs: Vec<String>) -> Self {
        Settings {
            ceiling,
            approvals,
            pending: Pending::default(),
            password_envs,
            tools: tools::all(ceiling, approvals.map(|approvals| approvals.up_to)),
            engine_slots: Arc::new(Semaphore::new(MAX_ENGINE_CALLS)),
        }
    }

    /// The tier ceiling set when the server was started.
    pub fn ceiling(&self) -> Tier {
        self.ceiling
    }

    /// Up to which tier, and how long waited for, a human may approve a call above the
    /// ceiling (`plenum mcp --approve-up-to`); `None`: no one is ever asked.
    pub fn approvals(&self) -> Option<Approvals> {
        self.approvals
    }

    /// The approvals asked for through an input-required result and not yet answered.
    pub fn pending(&self) -> &Pending {
        &self.pending
    }

    /// Whether a call may name `variable` as its `password_env`.
    pub fn allows_password_env(&self, variable: &str) -> bool {
        self.password_envs.iter().any(|allowed| allowed == variable)
    }

    /// The environment variables calls may name as `password_env`.
    pub fn password_envs(&self) -> &[String] {
        &self.password_envs
    }

    /// The tools `tools/list` shows.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    /// The input schema of the tool `name` (empty when there is no such tool). Shared, not
    /// copied: every call checks its arguments against it.
    pub fn input_schema(&self, name: &str) -> Arc<JsonObject> {
        self.tools
            .iter()
            .find(|tool| tool.name == name)
            .map(|tool| Arc::clone(&tool.input_schema))
            .unwrap_or_default()
    }

    /// Runs `work` on a blocking thread (engine code never runs on the runtime's workers) and
    /// waits for it at most `budget`. Past the budget the call is answered with TIMEOUT and
    /// the thread is left to finish on its own.
    ///
    /// When the client cancels the request (`notifications/cancelled`, which `rmcp` turns into
    /// `context.ct`), work that has not started never starts, and running work is stopped
    /// through its watchdog, as at its timeout: the statement is cancelled on the server and
    /// rolled back. The call still waits (at most `CANCEL_WAIT`) for the work to end; `rmcp`
    /// then drops the answer, as the protocol wants for a cancelled request.
    pub async fn run_blocking<F, T>(
        &self,
        context: &RequestContext<RoleServer>,
        budget: Duration,
        work: F,
    ) -> Result<T, Failure>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let cancelled = context.ct.cancelled();
        tokio::pin!(cancelled);
        // `biased`: a request cancelled already never takes a slot, even when one is free.
        let slot = tokio::select! {
            biased;
            () = &mut cancelled => return Err(cancelled_before_start()),
            slot = Arc::clone(&self.engine_slots).acquire_owned() => {
                slot.map_err(|_| Failure::internal("the server is shutting down"))?
            }
            // Slots held by plugins that never returned must not make every later call wait
            // for ever.
            () = tokio::time::sleep(budget) => return Err(Failure::new(
                ErrorCode::Timeout,
                format!(
                    "no engine slot became free within {} ms: {MAX_ENGINE_CALLS} calls are \
                     running, or stuck in a plugin that did not stop when cancelled",
                    budget.as_millis()
                ),
            )),
        };
        let interrupt = StopOnDrop(Interrupt::new());
        let bound = interrupt.0.clone();
        let mut task = super::engine_threads::spawn(move || {
            // The slot is held until the work really ends, also after its call was answered:
            // a plugin that never returns keeps one thread and one slot, never more.
            let _slot = slot;
            // Cancelled while waiting for a thread: nothing starts.
            (!bound.requested()).then(|| bound.scope(work))
        })
        .map_err(|error| Failure::internal(format!("cannot start an engine thread: {error}")))?;
        let joined = tokio::select! {
            biased;
            () = &mut cancelled => {
                interrupt.0.request();
                tokio::time::timeout(CANCEL_WAIT, &mut task).await
            }
            joined = tokio::time::timeout(budget, &mut task) => joined,
        };
        match joined {
            Ok(Ok(Ok(Some(response)))) => Ok(response),
            Ok(Ok(Ok(None))) => Err(cancelled_before_start()),
            Ok(Ok(Err(panic))) => Err(Failure::internal(format!(
                "plenum hit a bug while running the call ({panic}); please report it"
            ))),
            Ok(Err(_)) => Err(Failure::internal(
                "the engine thread ended without an answer; please report it",
            )),
            Err(_) if interrupt.0.requested() => Err(Failure::new(
                ErrorCode::Timeout,
                format!(
                    "the client cancelled the call and the engine did not stop within {} ms; \
                     its work was abandoned",
                    CANCEL_WAIT.as_millis()
                ),
            )),
            Err(_) => Err(Failure::new(
                ErrorCode::Timeout,
                format!(
                    "the call did not finish within {} ms and the engine did not stop when \
                     cancelled; its work was abandoned",
                    budget.as_millis()
                ),
            )),
        }
    }
}

/// Requests the interrupt when dropped. When the session ends, `rmcp` cancels the calls still
/// running and the runtime then shuts down; a call dropped before it saw that cancel still
/// stops its work (rolled back, not left running). After the work ended the request changes
/// nothing.
struct StopOnDrop(Interrupt);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.request();
    }
}

/// The failure of a call cancelled before its work started.
fn cancelled_before_start() -> Failure {
    Failure::new(
        ErrorCode::Timeout,
        "the client cancelled the call before it started; nothing ran",
    )
}
