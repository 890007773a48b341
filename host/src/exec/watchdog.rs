//! The timeout: a thread that cancels the running statement through the plugin when time is
//! up, and gives up on a plugin that does not answer the cancel.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

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
                    if wait.recv_timeout(timeout) != Err(RecvTimeoutError::Timeout) {
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
