//! The timeout: a thread that cancels the running statement through the plugin when time is
//! up, and gives up on a plugin that does not answer the cancel. SIGINT and SIGTERM fire every
//! watchdog at once ([`stop_on_signals`]), so an interrupted call rolls back like a timed-out one.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use plenum_plugin_api::CancelHandleBox;

/// What to do when a plugin does not return even after it was asked to cancel.
pub type OnStuck = Box<dyn FnOnce() + Send>;

/// How long a plugin gets to return after a cancel before the host stops waiting.
pub const CANCEL_GRACE: Duration = Duration::from_millis(1500);

/// A running timeout. Dropping it (or calling [`Watchdog::disarm`]) stops it.
pub struct Watchdog {
    timeout: Duration,
    fired: Arc<AtomicBool>,
    cancel: Arc<Mutex<Option<CancelHandleBox>>>,
    done: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts a watchdog that fires after `timeout`. `on_stuck` runs if the call is still
    /// running [`CANCEL_GRACE`] after the cancel.
    pub fn start(timeout: Duration, on_stuck: OnStuck) -> Self {
        let fired = Arc::new(AtomicBool::new(false));
        let cancel: Arc<Mutex<Option<CancelHandleBox>>> = Arc::new(Mutex::new(None));
        let (done, wait) = mpsc::channel::<()>();
        let thread = {
            let fired = Arc::clone(&fired);
            let cancel = Arc::clone(&cancel);
            std::thread::Builder::new()
                .name("plenum-watchdog".into())
                .spawn(move || {
                    if !wait_for_timeout_or_signal(&wait, timeout) {
                        return;
                    }
                    fired.store(true, Ordering::SeqCst);
                    if let Ok(guard) = cancel.lock() {
                        if let Some(handle) = guard.as_ref() {
                            // The error of a failed cancel changes nothing: the grace period
                            // below still bounds the wait.
                            let _ = handle.cancel();
                        }
                    }
                    if wait.recv_timeout(CANCEL_GRACE) == Err(RecvTimeoutError::Timeout) {
                        on_stuck();
                    }
                })
                .ok()
        };
        Watchdog {
            timeout,
            fired,
            cancel,
            done: Some(done),
            thread,
        }
    }

    /// Gives the watchdog the handle that cancels the current session's statement.
    pub fn arm(&self, handle: CancelHandleBox) {
        if let Ok(mut guard) = self.cancel.lock() {
            *guard = Some(handle);
        }
    }

    /// Whether the timeout was reached.
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    /// The timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Stops the watchdog. Its thread is waited for only if the timeout fired, when it may be
    /// cancelling or about to report a stuck plugin. Otherwise it can no longer do either (it
    /// sees the call ended the moment it wakes), so the call does not wait for it to be
    /// scheduled, which on a busy machine costs milliseconds.
    pub fn disarm(&mut self) {
        self.done.take();
        if let Some(thread) = self.thread.take() {
            if self.fired() {
                let _ = thread.join();
            }
        }
        if let Ok(mut guard) = self.cancel.lock() {
            guard.take();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.disarm();
    }
}

/// The signal that asked this process to stop (SIGINT, SIGTERM), 0 while none has.
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// How often a waiting watchdog looks for a stop signal.
const SIGNAL_POLL: Duration = Duration::from_millis(25);

/// Waits until `timeout` passes or a stop signal came (true), or the call ended (false).
fn wait_for_timeout_or_signal(wait: &mpsc::Receiver<()>, timeout: Duration) -> bool {
    // A timeout too large for the clock never comes.
    let deadline = Instant::now().checked_add(timeout);
    loop {
        if STOP_SIGNAL.load(Ordering::SeqCst) != 0 {
            return true;
        }
        let left = deadline.map_or(SIGNAL_POLL, |deadline| {
            deadline.saturating_duration_since(Instant::now())
        });
        if left.is_zero() {
            return true;
        }
        if wait.recv_timeout(left.min(SIGNAL_POLL)) != Err(RecvTimeoutError::Timeout) {
            return false;
        }
    }
}

/// The name of the signal that asked this process to stop, if one did.
pub fn stop_signal() -> Option<&'static str> {
    match STOP_SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        2 => Some("SIGINT"),
        15 => Some("SIGTERM"),
        _ => Some("a signal"),
    }
}

/// Turns SIGINT and SIGTERM into a stop: every running watchdog (and any started later) fires
/// at once, so the statement is cancelled through the plugin and the call rolls back and ends
/// with its envelope. If the process is still running [`CANCEL_GRACE`] (and a little) later,
/// or at a second signal, `give_up` runs with the signal's name; it should end the process.
#[cfg(unix)]
pub fn stop_on_signals(give_up: fn(&'static str)) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        // Without the handler the signals keep their default action, which also stops.
        return;
    };
    let _ = std::thread::Builder::new()
        .name("plenum-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                let first = STOP_SIGNAL.swap(signal, Ordering::SeqCst) == 0;
                let name = stop_signal().unwrap_or("a signal");
                if !first {
                    give_up(name);
                    continue;
                }
                let _ = std::thread::Builder::new()
                    .name("plenum-signal-grace".into())
                    .spawn(move || {
                        std::thread::sleep(SIGNAL_POLL + CANCEL_GRACE + Duration::from_millis(500));
                        give_up(name);
                    });
            }
        });
}

/// Signals are not handled on this platform: they keep their default action.
#[cfg(not(unix))]
pub fn stop_on_signals(_give_up: fn(&'static str)) {}
