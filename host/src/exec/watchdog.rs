//! The timeout: when time is up, the statement is cancelled through the plugin, and a plugin
//! that does not answer the cancel is given up on. SIGINT and SIGTERM fire every watchdog at
//! once ([`stop_on_signals`]), so an interrupted call rolls back like a timed-out one.
//!
//! The process's one timekeeping thread ([`crate::supervisor`]) watches the deadline; a
//! watchdog that fires answers on a thread of its own, because a cancel may wait on the network
//! and the timekeeper must stay free for the other calls (`plenum mcp` runs several at once).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use plenum_plugin_api::CancelHandleBox;

use crate::supervisor::{self, TimerId};

/// What to do when a plugin does not return even after it was asked to cancel.
pub type OnStuck = Box<dyn FnOnce() + Send>;

/// How long a plugin gets to return after a cancel before the host stops waiting.
pub const CANCEL_GRACE: Duration = Duration::from_millis(1500);

/// What the timekeeper and the watchdog share.
struct Alarm {
    fired: AtomicBool,
    cancel: Mutex<Option<CancelHandleBox>>,
    /// Run if the call is still running [`CANCEL_GRACE`] after the cancel.
    on_stuck: Mutex<Option<OnStuck>>,
    /// Disconnected when the call ended.
    ended: Mutex<Option<Receiver<()>>>,
    /// The thread that cancels and then waits for the call to end.
    responder: Mutex<Option<JoinHandle<()>>>,
}

impl Alarm {
    /// Fires once: cancels the statement and starts the grace period, on a thread of its own.
    fn fire(self: &Arc<Self>) {
        if self.fired.swap(true, Ordering::SeqCst) {
            return;
        }
        let alarm = Arc::clone(self);
        let responder = std::thread::Builder::new()
            .name("plenum-cancel".into())
            .spawn(move || {
                if let Ok(guard) = alarm.cancel.lock() {
                    if let Some(handle) = guard.as_ref() {
                        // The error of a failed cancel changes nothing: the grace period below
                        // still bounds the wait.
                        let _ = handle.cancel();
                    }
                }
                let ended = alarm.ended.lock().ok().and_then(|mut ended| ended.take());
                let Some(ended) = ended else { return };
                if ended.recv_timeout(CANCEL_GRACE) == Err(RecvTimeoutError::Timeout) {
                    let on_stuck = alarm.on_stuck.lock().ok().and_then(|mut slot| slot.take());
                    if let Some(on_stuck) = on_stuck {
                        on_stuck();
                    }
                }
            });
        if let (Ok(responder), Ok(mut slot)) = (responder, self.responder.lock()) {
            *slot = Some(responder);
        }
    }
}

/// A running timeout. Dropping it (or calling [`Watchdog::disarm`]) stops it.
pub struct Watchdog {
    timeout: Duration,
    alarm: Arc<Alarm>,
    timer: Option<TimerId>,
    done: Option<Sender<()>>,
}

impl Watchdog {
    /// Starts a watchdog that fires after `timeout`. `on_stuck` runs if the call is still
    /// running [`CANCEL_GRACE`] after the cancel.
    pub fn start(timeout: Duration, on_stuck: OnStuck) -> Self {
        let (done, ended) = mpsc::channel::<()>();
        let alarm = Arc::new(Alarm {
            fired: AtomicBool::new(false),
            cancel: Mutex::new(None),
            on_stuck: Mutex::new(Some(on_stuck)),
            ended: Mutex::new(Some(ended)),
            responder: Mutex::new(None),
        });
        let action = {
            let alarm = Arc::clone(&alarm);
            Arc::new(move || alarm.fire())
        };
        // A timeout too large for the clock never comes; a stop signal still fires it.
        let timer = supervisor::schedule(Instant::now().checked_add(timeout), true, action);
        Watchdog {
            timeout,
            alarm,
            timer,
            done: Some(done),
        }
    }

    /// Gives the watchdog the handle that cancels the current session's statement.
    pub fn arm(&self, handle: CancelHandleBox) {
        if let Ok(mut guard) = self.alarm.cancel.lock() {
            *guard = Some(handle);
        }
    }

    /// Whether the timeout was reached (or a stop signal came).
    pub fn fired(&self) -> bool {
        self.alarm.fired.load(Ordering::SeqCst)
    }

    /// The timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Stops the watchdog. If it fired, waits for its cancel to return (and, when the plugin
    /// is stuck, for the report); otherwise the call does not wait for any thread. After this
    /// the cancel handle is never used again.
    pub fn disarm(&mut self) {
        if let Some(timer) = self.timer.take() {
            supervisor::unschedule(timer);
        }
        self.done.take();
        if self.fired() {
            let responder = self
                .alarm
                .responder
                .lock()
                .ok()
                .and_then(|mut slot| slot.take());
            if let Some(responder) = responder {
                let _ = responder.join();
            }
        }
        if let Ok(mut guard) = self.alarm.cancel.lock() {
            guard.take();
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
