//! Letting go of what a plugin returned (its session, its cancel handle) where the plugin's
//! drop cannot hold up the answer: a session's close may wait on the network or never return.
//!
//! In the CLI the drops wait until the envelope is out ([`after_answer`]) and get a bounded
//! time there; a close that does not finish in it is abandoned as the process exits with the
//! envelope's code. In `plenum mcp` a drop is queued for the closing threads (most drops, such
//! as every call's cancel handle, take microseconds). One closing thread serves the queue;
//! when every closing thread has been inside one drop for `STUCK_AFTER` (a plugin whose
//! close hangs), or more than `BEHIND_PER_CLOSER` drops per closing thread wait, the next
//! drop queued starts another, up to `MAX_CLOSERS`, and a closing thread past the first
//! ends after `IDLE_EXIT` without work. Only when every closing thread is stuck and `QUEUE`
//! drops wait is a value leaked rather than taking threads without bound. After a drop, at
//! most once per `TRIM_EVERY`, a closing thread hands the memory the allocator holds free
//! back to the system. Under load a closing thread is not woken for each drop: once the queue
//! is empty it naps for `NAP` and looks again, and waits to be woken only when a nap brought
//! nothing (a napping thread is not behind).
//!
//! (Before, a drop the one closing thread could not take at once got a thread of its own, and
//! past 16 of those the value was leaked. Under load, at a few thousand calls per second with
//! a session per call, threads were started for more than one drop per call and, under
//! heaptrack, about one session in 350 was leaked whole: docs/PERFORMANCE.md, "Memory over
//! 100,000 calls".)

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::services::supervisor;

/// How long the CLI waits for the closes after the envelope is out.
pub const CLOSE_GRACE: Duration = Duration::from_millis(1000);

/// Drops waiting for a closing thread, at most.
const QUEUE: usize = 1024;
/// Closing threads at once, at most.
const MAX_CLOSERS: usize = 16;
/// A closing thread inside one drop for this long is taken as stuck.
const STUCK_AFTER: Duration = Duration::from_millis(250);
/// Drops waiting per closing thread before another is started: on a busy machine one thread
/// falls behind a load that opens a session per call, and every waiting session is memory.
const BEHIND_PER_CLOSER: usize = 8;
/// Free memory is handed back to the system at most this often, after a close.
const TRIM_EVERY: Duration = Duration::from_secs(1);
/// A closing thread past the first ends after this long without work.
const IDLE_EXIT: Duration = Duration::from_secs(10);
/// How long a closing thread that found work naps before it looks for more, rather than
/// waiting to be woken: at thousands of calls per second, each call's drop woke it (a futex
/// call and a context switch on each side) where a nap now takes a few calls' drops at once.
const NAP: Duration = Duration::from_millis(2);

static DEFER: AtomicBool = AtomicBool::new(false);
static DEFERRED: Mutex<Vec<Box<dyn Send>>> = Mutex::new(Vec::new());

/// The closing threads and their queue (`None` when the first could not be started).
static CLOSERS: OnceLock<Option<Closers>> = OnceLock::new();

/// Anything to drop.
type Item = Box<dyn Send>;

struct Closers {
    sender: SyncSender<Item>,
    receiver: Mutex<Receiver<Item>>,
    /// Closing threads running.
    threads: AtomicUsize,
    /// Closing threads inside a drop.
    busy: AtomicUsize,
    /// Closing threads napping between drops (see [`NAP`]).
    napping: AtomicUsize,
    /// Drops queued and not yet taken.
    waiting: AtomicUsize,
    /// When a closing thread last took or finished a drop, in ms since `epoch`.
    moved_ms: AtomicU64,
    /// When free memory was last handed back, in ms since `epoch`.
    trimmed_ms: AtomicU64,
    epoch: Instant,
}

impl Closers {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn note_movement(&self) {
        self.moved_ms.store(self.now_ms(), Ordering::SeqCst);
    }

    /// Starts a closing thread when every one is stuck inside a drop, or when they fall
    /// behind.
    fn add_if_needed(&'static self) {
        let threads = self.threads.load(Ordering::SeqCst);
        let stuck = self.busy.load(Ordering::SeqCst) >= threads
            && self
                .now_ms()
                .saturating_sub(self.moved_ms.load(Ordering::SeqCst))
                >= STUCK_AFTER.as_millis() as u64;
        // Drops pile up while a closing thread naps, and it takes them when it wakes.
        let behind = self.waiting.load(Ordering::SeqCst) > threads * BEHIND_PER_CLOSER
            && self.napping.load(Ordering::SeqCst) == 0;
        if !(stuck || behind) || threads >= MAX_CLOSERS {
            return;
        }
        // One new thread at a time, even when several drops see the need at once.
        if self
            .threads
            .compare_exchange(threads, threads + 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return;
        }
        self.note_movement();
        if !self.spawn() {
            self.threads.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn spawn(&'static self) -> bool {
        std::thread::Builder::new()
            .name("plenum-closer".into())
            .spawn(move || self.serve())
            .is_ok()
    }

    /// After a drop, hands the allocator's free memory back to the system, at most once per
    /// [`TRIM_EVERY`] (one thread at a time): sessions opened and closed by the thousand leave
    /// it spread over glibc's arenas (see [`return_free_memory`]).
    ///
    /// [`return_free_memory`]: crate::services::output::stdio::return_free_memory
    fn trim_now_and_then(&self) {
        let now = self.now_ms();
        let last = self.trimmed_ms.load(Ordering::SeqCst);
        if now.saturating_sub(last) < TRIM_EVERY.as_millis() as u64 {
            return;
        }
        if self
            .trimmed_ms
            .compare_exchange(last, now, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            crate::services::output::stdio::return_free_memory();
        }
    }

    fn close(&self, item: Item) {
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        self.busy.fetch_add(1, Ordering::SeqCst);
        self.note_movement();
        drop(item);
        self.busy.fetch_sub(1, Ordering::SeqCst);
        self.note_movement();
        self.trim_now_and_then();
    }

    /// The next drop queued, if one is there now. None also when another closing thread
    /// holds the queue: it waits on it and takes what comes.
    fn take_now(&self) -> Option<Item> {
        self.receiver.try_lock().ok()?.try_recv().ok()
    }

    /// Drops what is queued, naps [`NAP`] and does it again, until a nap brought nothing.
    fn close_while_busy(&self) {
        loop {
            while let Some(item) = self.take_now() {
                self.close(item);
            }
            self.napping.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(NAP);
            self.napping.fetch_sub(1, Ordering::SeqCst);
            match self.take_now() {
                Some(item) => self.close(item),
                None => return,
            }
        }
    }

    /// A closing thread: drops what is queued until it has been idle for [`IDLE_EXIT`] and is
    /// not the last one.
    fn serve(&self) {
        loop {
            // The lock is held while waiting, never across a drop.
            let next = match self.receiver.lock() {
                Ok(receiver) => receiver.recv_timeout(IDLE_EXIT),
                Err(_) => Err(RecvTimeoutError::Disconnected),
            };
            match next {
                Ok(item) => {
                    self.close(item);
                    self.close_while_busy();
                }
                Err(RecvTimeoutError::Timeout) => {
                    let threads = self.threads.load(Ordering::SeqCst);
                    if threads > 1
                        && self
                            .threads
                            .compare_exchange(
                                threads,
                                threads - 1,
                                Ordering::SeqCst,
                                Ordering::SeqCst,
                            )
                            .is_ok()
                    {
                        return;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.threads.fetch_sub(1, Ordering::SeqCst);
                    return;
                }
            }
        }
    }
}

/// The closing threads, the first started on first use.
fn closers() -> Option<&'static Closers> {
    CLOSERS
        .get_or_init(|| {
            let (sender, receiver) = mpsc::sync_channel::<Item>(QUEUE);
            Some(Closers {
                sender,
                receiver: Mutex::new(receiver),
                threads: AtomicUsize::new(0),
                busy: AtomicUsize::new(0),
                napping: AtomicUsize::new(0),
                waiting: AtomicUsize::new(0),
                moved_ms: AtomicU64::new(0),
                trimmed_ms: AtomicU64::new(0),
                epoch: Instant::now(),
            })
        })
        .as_ref()
        .and_then(|closers| {
            if closers.threads.load(Ordering::SeqCst) == 0
                && closers
                    .threads
                    .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                && !closers.spawn()
            {
                closers.threads.store(0, Ordering::SeqCst);
                return None;
            }
            Some(closers)
        })
}

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
    let item: Item = Box::new(value);
    let Some(closers) = closers() else {
        // No thread can be started at all: leaking is all that does not block the caller.
        std::mem::forget(item);
        return;
    };
    // Counted before it is sent, so the closing thread that takes it never counts below zero.
    closers.waiting.fetch_add(1, Ordering::SeqCst);
    let refused = match closers.sender.try_send(item) {
        Ok(()) => None,
        Err(TrySendError::Full(item) | TrySendError::Disconnected(item)) => {
            closers.waiting.fetch_sub(1, Ordering::SeqCst);
            Some(item)
        }
    };
    closers.add_if_needed();
    if let Some(item) = refused {
        // Every closing thread is stuck in a plugin and the queue is full: leak this one
        // instead of another thread.
        std::mem::forget(item);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts its drops; the first `hold` of them wait for `release`.
    struct Counted {
        dropped: Arc<AtomicUsize>,
        hold: Option<Arc<(Mutex<bool>, std::sync::Condvar)>>,
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            if let Some(gate) = &self.hold {
                let (open, opened) = &**gate;
                let mut open = open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                while !*open {
                    open = opened
                        .wait(open)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                }
            }
            self.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn wait_for(dropped: &AtomicUsize, count: usize) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if dropped.load(Ordering::SeqCst) >= count {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn every_drop_runs_and_a_stuck_one_holds_up_no_other() {
        // Bursts far above the closing threads' number (each within the queue): none may be
        // leaked.
        let dropped = Arc::new(AtomicUsize::new(0));
        for burst in 1..=10 {
            for _ in 0..QUEUE / 2 {
                later(Counted {
                    dropped: Arc::clone(&dropped),
                    hold: None,
                });
            }
            let count = burst * QUEUE / 2;
            assert!(
                wait_for(&dropped, count),
                "{} of {count} dropped",
                dropped.load(Ordering::SeqCst)
            );
        }

        // A drop that hangs (until the end of the test) takes a closing thread; the drops
        // after it are closed by another one.
        let gate = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let stuck = Arc::new(AtomicUsize::new(0));
        later(Counted {
            dropped: Arc::clone(&stuck),
            hold: Some(Arc::clone(&gate)),
        });
        let after = Arc::new(AtomicUsize::new(0));
        let deadline = Instant::now() + Duration::from_secs(20);
        while after.load(Ordering::SeqCst) < 100 && Instant::now() < deadline {
            later(Counted {
                dropped: Arc::clone(&after),
                hold: None,
            });
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            after.load(Ordering::SeqCst) >= 100,
            "drops were held up by a stuck one"
        );
        assert_eq!(stuck.load(Ordering::SeqCst), 0);
        let (open, opened) = &*gate;
        *open.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
        opened.notify_all();
        assert!(wait_for(&stuck, 1));
    }
}
