//! Letting go of what a plugin returned (its session, its cancel handle) where the plugin's
//! drop cannot hold up the answer: a session's close may wait on the network or never return.
//!
//! In the CLI the drops wait until the envelope is out ([`after_answer`]) and get a bounded
//! time there; a close that does not finish in it is abandoned as the process exits with the
//! envelope's code. In `plenum mcp` a drop is queued for the closing thread (most drops,
//! such as every call's cancel handle, take microseconds); when `CLOSER_QUEUE` drops already
//! wait there (the closer is stuck or far behind), the drop runs on a thread of its own, and
//! at most `MAX_CLOSE_THREADS` of those at once: past that, the value is leaked rather than
//! letting a plugin that never closes take threads without bound.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::services::supervisor;

/// How long the CLI waits for the closes after the envelope is out.
pub const CLOSE_GRACE: Duration = Duration::from_millis(1000);

/// Closes running at once on their own threads, at most.
const MAX_CLOSE_THREADS: usize = 16;

/// Drops waiting for the closing thread, at most. A queue rather than a hand-over to an idle
/// closer: with 16 calls in flight the closer was often busy with the previous drop, and
/// each miss started a thread. Small, because what waits behind a drop stuck in a plugin
/// (sessions among them, holding server connections) waits as long as it does.
const CLOSER_QUEUE: usize = 32;

static DEFER: AtomicBool = AtomicBool::new(false);
static DEFERRED: Mutex<Vec<Box<dyn Send>>> = Mutex::new(Vec::new());
static CLOSE_THREADS: AtomicUsize = AtomicUsize::new(0);

/// The way to the closing thread: a bounded queue (`None` when the thread could not be
/// started).
static CLOSER: OnceLock<Option<Mutex<Handover>>> = OnceLock::new();

/// What the closing thread is handed: anything to drop.
type Handover = SyncSender<Box<dyn Send>>;

/// From now on, drops wait until [`after_answer`] (the CLI: one call per process).
pub fn defer_until_answered() {
    DEFER.store(true, Ordering::SeqCst);
}

/// Lets go of `value` where its drop cannot delay the answer.
pub fn later<T: Send + 'static>(value: T) {
    if DEFER.load(Ordering::SeqCst) {
        if let Ok(mut deferred) = DEFERRED.lock() {
            deferred.push(Box::new(value));
            return;
        }
    }
    let value: Box<dyn Send> = Box::new(value);
    let value = match hand_to_closer(value) {
        Ok(()) => return,
        Err(value) => value,
    };
    if CLOSE_THREADS.fetch_add(1, Ordering::SeqCst) >= MAX_CLOSE_THREADS {
        CLOSE_THREADS.fetch_sub(1, Ordering::SeqCst);
        // Every close thread is stuck in a plugin already: leak this one instead of another
        // thread.
        std::mem::forget(value);
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("plenum-close".into())
        .spawn(move || {
            drop(value);
            CLOSE_THREADS.fetch_sub(1, Ordering::SeqCst);
        });
    if spawned.is_err() {
        CLOSE_THREADS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Gives `value` to the closing thread if it is waiting for work; otherwise gives it back.
fn hand_to_closer(value: Box<dyn Send>) -> Result<(), Box<dyn Send>> {
    let closer = CLOSER.get_or_init(|| {
        let (sender, receiver) = mpsc::sync_channel::<Box<dyn Send>>(CLOSER_QUEUE);
        std::thread::Builder::new()
            .name("plenum-closer".into())
            .spawn(move || receiver.into_iter().for_each(drop))
            .ok()
            .map(|_| Mutex::new(sender))
    });
    let Some(closer) = closer else {
        return Err(value);
    };
    match closer.lock() {
        // `try_send`: a full queue (a stuck closer) never makes the caller wait.
        Ok(sender) => sender.try_send(value).map_err(|error| match error {
            mpsc::TrySendError::Full(value) | mpsc::TrySendError::Disconnected(value) => value,
        }),
        Err(_) => Err(value),
    }
}

/// Runs the deferred drops now that the envelope is out. If they take longer than
/// [`CLOSE_GRACE`], the process exits with `code` (the envelope's) and abandons them.
pub fn after_answer(code: i32) {
    let deferred = match DEFERRED.lock() {
        Ok(mut deferred) => std::mem::take(&mut *deferred),
        Err(_) => return,
    };
    if deferred.is_empty() {
        return;
    }
    let abandon: supervisor::Action = Arc::new(move || crate::services::output::stdio::exit(code));
    let timer = supervisor::schedule(Instant::now().checked_add(CLOSE_GRACE), false, abandon);
    drop(deferred);
    if let Some(timer) = timer {
        supervisor::unschedule(timer);
    }
}
