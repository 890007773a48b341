//! The timeout: when time is up, the statement is cancelled through the plugin, and a plugin
//! that does not answer the cancel is given up on. SIGINT and SIGTERM fire every watchdog at
//! once ([`stop_on_signals`]), and whoever asked for a call can fire its watchdog through an
//! [`Interrupt`] (the MCP client's `notifications/cancelled`), so an interrupted call rolls
//! back like a timed-out one.
//!
//! The process's one timekeeping thread ([`crate::services::supervisor`]) watches the deadline and, from
//! the moment the watchdog fires, the grace period. The plugin's `cancel()` runs on a thread of
//! its own that nobody waits for: a cancel may wait on the network or never return, and
//! neither the answer nor the timekeeper (which serves every call of `plenum mcp`) may wait
//! with it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use plenum_plugin_api::CancelHandleBox;

use crate::services::supervisor::{self, TimerId};

/// What to do when a plugin does not return even after it was asked to cancel.
pub type OnStuck = Box<dyn FnOnce() + Send>;

/// How long a call may go on after its timeout fired (or a signal or the client stopped it)
/// before the host stops waiting for the plugin. The clock starts when the alarm fires, not
/// when the plugin's `cancel()` returns.
pub const CANCEL_GRACE: Duration = Duration::from_millis(1500);

/// [`Alarm::cause`] before the alarm fired.
const NOT_FIRED: u8 = 0;
/// [`Alarm::cause`] once the timeout or a stop signal fired it.
const FIRED_BY_TIMER: u8 = 1;
/// [`Alarm::cause`] once an [`Interrupt`] fired it.
const FIRED_BY_CALLER: u8 = 2;

/// What the timekeeper, the watchdog and an [`Interrupt`] share.
struct Alarm {
    /// Why it fired ([`NOT_FIRED`] until it does); set once.
    cause: AtomicU8,
    /// Shared with a cancel thread, which may still be inside `cancel()` when the call ends.
    cancel: Mutex<Option<Arc<CancelHandleBox>>>,
    /// Run if the call is still running [`CANCEL_GRACE`] after the alarm fired.
    on_stuck: Mutex<Option<OnStuck>>,
    /// Set when the call ended (the watchdog was disarmed).
    ended: AtomicBool,
    /// The timer that gives up on the call at the end of the grace period.
    grace: Mutex<Option<TimerId>>,
}

/// Cancel threads running at once, at most: a plugin whose `cancel()` never returns keeps its
/// thread, so a long-running server bounds how many it lets a plugin take.
const MAX_CANCEL_THREADS: usize = 16;
static CANCEL_THREADS: AtomicUsize = AtomicUsize::new(0);

impl Alarm {
    /// Fires once, for `cause`: starts the grace clock now, and asks the plugin to cancel on a
    /// thread of its own, so a `cancel()` that blocks delays neither the answer nor the end
    /// of the grace period.
    fn fire(self: &Arc<Self>, cause: u8) {
        if self
            .cause
            .compare_exchange(NOT_FIRED, cause, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return;
        }
        let give_up: supervisor::Action = {
            let alarm = Arc::clone(self);
            Arc::new(move || alarm.give_up())
        };
        let timer = supervisor::schedule(Instant::now().checked_add(CANCEL_GRACE), false, give_up);
        if let Ok(mut slot) = self.grace.lock() {
            *slot = timer;
        }
        // The lock is held only to clone the handle, never across the plugin's `cancel()`.
        let handle = self.cancel.lock().ok().and_then(|slot| slot.clone());
        if let Some(handle) = handle {
            if CANCEL_THREADS.fetch_add(1, Ordering::SeqCst) >= MAX_CANCEL_THREADS {
                // Too many cancels stuck already: the grace period still bounds the call.
                CANCEL_THREADS.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            let spawned = std::thread::Builder::new()
                .name("plenum-cancel".into())
                .spawn(move || {
                    // The error of a failed cancel changes nothing: the grace period bounds
                    // the wait either way.
                    let _ = handle.cancel();
                    drop(handle);
                    CANCEL_THREADS.fetch_sub(1, Ordering::SeqCst);
                });
            if spawned.is_err() {
                CANCEL_THREADS.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// The end of the grace period: gives up on a call that has not ended.
    fn give_up(&self) {
        if self.ended.load(Ordering::SeqCst) {
            return;
        }
        let on_stuck = self.on_stuck.lock().ok().and_then(|mut slot| slot.take());
        if let Some(on_stuck) = on_stuck {
            on_stuck();
        }
    }
}

/// A way to stop one call from outside it, for whoever asked for the call (the MCP client's
/// `notifications/cancelled`): it fires the call's watchdog as its timeout would, so the
/// statement is cancelled through the plugin, a write is rolled back, and the plugin that does
/// not answer is given up on after [`CANCEL_GRACE`].
///
/// It reaches the watchdogs started on the thread that runs the call inside
/// [`Interrupt::scope`], so the pipeline and every command that opens a session need no extra
/// argument. Requested before the call's watchdog starts, the watchdog fires as it starts and
/// no statement runs; requested after the watchdog stopped, it changes nothing.
#[derive(Clone, Default)]
pub struct Interrupt(Arc<Mutex<Link>>);

#[derive(Default)]
struct Link {
    requested: bool,
    /// The alarm of the watchdog now bounding the call, if one is.
    alarm: Option<Arc<Alarm>>,
}

thread_local! {
    /// The interrupt of the call running on this thread (see [`Interrupt::scope`]).
    static CURRENT: RefCell<Option<Interrupt>> = const { RefCell::new(None) };
}

impl Interrupt {
    /// An interrupt not yet requested.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops the call: fires the watchdog now bounding it, or the next one it starts.
    pub fn request(&self) {
        let mut link = self.link();
        link.requested = true;
        if let Some(alarm) = link.alarm.take() {
            alarm.fire(FIRED_BY_CALLER);
        }
    }

    /// Whether [`Interrupt::request`] was called.
    pub fn requested(&self) -> bool {
        self.link().requested
    }

    /// Runs `work` with this interrupt bound to every watchdog started on this thread
    /// meanwhile (engine work runs on a pool's thread, which is then bound to nothing again).
    pub fn scope<T>(&self, work: impl FnOnce() -> T) -> T {
        /// Puts the previous binding back, also when `work` panics.
        struct Restore(Option<Interrupt>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0.take();
                CURRENT.with(|current| *current.borrow_mut() = previous);
            }
        }
        let previous = CURRENT.with(|current| current.replace(Some(self.clone())));
        let _restore = Restore(previous);
        work()
    }

    /// The interrupt bound to this thread, if any.
    fn current() -> Option<Interrupt> {
        CURRENT.with(|current| current.borrow().clone())
    }

    /// A request must never be lost, so a poisoned lock is used as it is (the state is two
    /// fields, each always valid).
    fn link(&self) -> MutexGuard<'_, Link> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets [`Interrupt::request`] fire `alarm`, or fires it at once if that came already.
    fn attach(&self, alarm: &Arc<Alarm>) {
        let mut link = self.link();
        if link.requested {
            alarm.fire(FIRED_BY_CALLER);
        } else {
            link.alarm = Some(Arc::clone(alarm));
        }
    }

    /// Undoes [`Interrupt::attach`]. A request in progress finishes firing first (it holds the
    /// lock).
    fn detach(&self, alarm: &Arc<Alarm>) {
        let mut link = self.link();
        if link
            .alarm
            .as_ref()
            .is_some_and(|attached| Arc::ptr_eq(attached, alarm))
        {
            link.alarm = None;
        }
    }
}

/// A running timeout. Dropping it (or calling [`Watchdog::disarm`]) stops it.
pub struct Watchdog {
    timeout: Duration,
    alarm: Arc<Alarm>,
    timer: Option<TimerId>,
    /// The interrupt of the call, bound when the watchdog started.
    interrupt: Option<Interrupt>,
}

impl Watchdog {
    /// Starts a watchdog that fires after `timeout`, or when the [`Interrupt`] bound to this
    /// thread is requested (at once if it was already). `on_stuck` runs if the call is still
    /// running [`CANCEL_GRACE`] after the watchdog fired.
    pub fn start(timeout: Duration, on_stuck: OnStuck) -> Self {
        let alarm = Arc::new(Alarm {
            cause: AtomicU8::new(NOT_FIRED),
            cancel: Mutex::new(None),
            on_stuck: Mutex::new(Some(on_stuck)),
            ended: AtomicBool::new(false),
            grace: Mutex::new(None),
        });
        let action = {
            let alarm = Arc::clone(&alarm);
            Arc::new(move || alarm.fire(FIRED_BY_TIMER))
        };
        // A timeout too large for the clock never comes; a stop signal still fires it.
        let timer = supervisor::schedule(Instant::now().checked_add(timeout), true, action);
        let interrupt = Interrupt::current();
        if let Some(interrupt) = &interrupt {
            interrupt.attach(&alarm);
        }
        Watchdog {
            timeout,
            alarm,
            timer,
            interrupt,
        }
    }

    /// Gives the watchdog the handle that cancels the current session's statement.
    pub fn arm(&self, handle: CancelHandleBox) {
        if let Ok(mut guard) = self.alarm.cancel.lock() {
            *guard = Some(Arc::new(handle));
        }
    }

    /// Whether the timeout was reached, a stop signal came or the call was interrupted.
    pub fn fired(&self) -> bool {
        self.alarm.cause.load(Ordering::SeqCst) != NOT_FIRED
    }

    /// Whether it fired because the call's [`Interrupt`] was requested.
    pub fn interrupted(&self) -> bool {
        self.alarm.cause.load(Ordering::SeqCst) == FIRED_BY_CALLER
    }

    /// The timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Stops the watchdog; waits for no thread. A cancel still running goes on on its own
    /// thread; the host never uses the cancel handle again, and lets go of it where its drop
    /// cannot hold up the answer.
    pub fn disarm(&mut self) {
        self.alarm.ended.store(true, Ordering::SeqCst);
        if let Some(timer) = self.timer.take() {
            supervisor::unschedule(timer);
        }
        if let Some(interrupt) = self.interrupt.take() {
            interrupt.detach(&self.alarm);
        }
        let grace = self
            .alarm
            .grace
            .lock()
            .ok()
            .and_then(|mut slot| slot.take());
        if let Some(grace) = grace {
            supervisor::unschedule(grace);
        }
        let handle = self
            .alarm
            .cancel
            .lock()
            .ok()
            .and_then(|mut slot| slot.take());
        if let Some(handle) = handle {
            crate::services::release::later(handle);
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.disarm();
    }
}

/// The name of the signal that asked this process to stop, if one did.
pub fn stop_signal() -> Option<&'static str> {
    match supervisor::stop_signal()? {
        2 => Some("SIGINT"),
        15 => Some("SIGTERM"),
        _ => Some("a signal"),
    }
}

/// Turns SIGINT and SIGTERM into a stop: every running watchdog (and any started later) fires
/// at once, so the statement is cancelled through the plugin and the call rolls back and ends
/// with its envelope. If the process is still running [`CANCEL_GRACE`] (and a little) later,
/// or at a second signal, `give_up` runs with the signal's name; it should end the process.
///
/// The handler itself only records the signal and writes a byte to the timekeeping thread's
/// socket; that thread does the rest.
pub fn stop_on_signals(give_up: fn(&'static str)) {
    supervisor::stop_on_signals(give_up);
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(600);

    fn quiet() -> OnStuck {
        Box::new(|| {})
    }

    #[test]
    fn an_interrupt_fires_the_watchdog_of_its_call() {
        let interrupt = Interrupt::new();
        let (mut watchdog, before) = interrupt.scope(|| {
            let watchdog = Watchdog::start(LONG, quiet());
            let before = watchdog.fired();
            (watchdog, before)
        });
        assert!(!before);
        interrupt.request();
        assert!(watchdog.fired());
        assert!(watchdog.interrupted());
        watchdog.disarm();
    }

    #[test]
    fn an_interrupt_requested_before_the_call_fires_its_watchdog_as_it_starts() {
        let interrupt = Interrupt::new();
        interrupt.request();
        let watchdog = interrupt.scope(|| Watchdog::start(LONG, quiet()));
        assert!(watchdog.fired());
        assert!(watchdog.interrupted());
    }

    #[test]
    fn an_interrupt_after_the_call_ended_changes_nothing() {
        let interrupt = Interrupt::new();
        let mut watchdog = interrupt.scope(|| Watchdog::start(LONG, quiet()));
        watchdog.disarm();
        interrupt.request();
        assert!(!watchdog.fired());
        assert!(interrupt.requested());
    }

    #[test]
    fn an_interrupt_reaches_only_watchdogs_started_in_its_scope() {
        let interrupt = Interrupt::new();
        let inside = interrupt.scope(|| Watchdog::start(LONG, quiet()));
        // The scope ended: the thread is bound to nothing again.
        let after = Watchdog::start(LONG, quiet());
        interrupt.request();
        assert!(inside.fired());
        assert!(!after.fired());
    }

    #[test]
    fn the_timeout_is_not_an_interrupt() {
        let interrupt = Interrupt::new();
        let watchdog = interrupt.scope(|| Watchdog::start(Duration::from_millis(20), quiet()));
        let deadline = Instant::now() + Duration::from_secs(5);
        while !watchdog.fired() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(watchdog.fired());
        assert!(!watchdog.interrupted());
        // A request after the timeout fired keeps the cause.
        interrupt.request();
        assert!(!watchdog.interrupted());
    }
}
