//! The threads engine calls run on.
//!
//! Engine work blocks (plugins are synchronous), so it runs off the async runtime. Tokio's
//! blocking pool counts a thread idle only after its task's result is out, so a call that
//! arrives in between (the answer let the client send it) starts a new thread: at 16 calls in
//! flight the pool drifted to 25 threads, and with a per-thread allocator the server's resident
//! size kept growing after 40,000 calls (docs/PERFORMANCE.md, "Threads and memory of a long
//! run"). Here a thread counts itself idle *before* it hands its result over, so the calls a
//! result lets in find it: there are never more threads than calls that ran at once, at most
//! the 32 engine slots (`MAX_ENGINE_CALLS`), and they stay for the life of the
//! process.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// What a job answers: its value, or the text of its panic.
pub type Outcome<T> = Result<T, String>;

struct State {
    /// Jobs handed to threads counted idle, not yet taken.
    jobs: VecDeque<Job>,
    /// Threads whose job has ended and that no job has been handed to since.
    idle: usize,
    /// Threads started.
    threads: usize,
}

static STATE: Mutex<State> = Mutex::new(State {
    jobs: VecDeque::new(),
    idle: 0,
    threads: 0,
});
/// Signalled when a job is queued.
static JOB_QUEUED: Condvar = Condvar::new();
/// Signalled when a thread becomes idle.
static THREAD_IDLE: Condvar = Condvar::new();

fn locked() -> MutexGuard<'static, State> {
    // Jobs run outside the lock and catch their panics: the counts stay consistent.
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `work` on an engine thread (an idle one, or a new one when none is idle); its outcome
/// arrives on the receiver. Dropping the receiver abandons the outcome, not the work.
pub fn spawn<T, F>(work: F) -> std::io::Result<oneshot::Receiver<Outcome<T>>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (sender, receiver) = oneshot::channel();
    let job: Job = Box::new(move || {
        let outcome = catch_unwind(AssertUnwindSafe(work)).map_err(|payload| {
            let text = panic_text(payload.as_ref());
            // Dropped here, where a payload whose drop panics cannot reach the async runtime.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            text
        });
        // Idle before the outcome is out: a call it lets in takes this thread.
        locked().idle += 1;
        THREAD_IDLE.notify_all();
        let _ = sender.send(outcome);
    });
    let mut state = locked();
    if state.idle > 0 {
        state.idle -= 1;
        state.jobs.push_back(job);
        drop(state);
        JOB_QUEUED.notify_one();
        return Ok(receiver);
    }
    state.threads += 1;
    drop(state);
    let started = std::thread::Builder::new()
        .name("plenum-engine".to_owned())
        .spawn(move || {
            job();
            serve();
        });
    if let Err(error) = started {
        locked().threads -= 1;
        return Err(error);
    }
    Ok(receiver)
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// Takes queued jobs, one at a time, for ever.
fn serve() {
    loop {
        let mut state = locked();
        let job = loop {
            if let Some(job) = state.jobs.pop_front() {
                break job;
            }
            state = JOB_QUEUED
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        };
        drop(state);
        job();
    }
}

/// Waits until no job is running or queued, at most `limit`; whether that happened.
pub fn wait_idle(limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut state = locked();
    loop {
        if state.idle == state.threads && state.jobs.is_empty() {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        state = THREAD_IDLE
            .wait_timeout(state, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// Threads started so far.
#[cfg(test)]
fn threads() -> usize {
    locked().threads
}

#[cfg(test)]
mod tests {
    use super::{spawn, threads, wait_idle};
    use std::collections::HashSet;
    use std::sync::{Arc, Barrier, Mutex};
    use std::time::Duration;

    // One test: the pool is the process's, so tests running at once would share its counts.
    #[test]
    fn threads_are_reused_bounded_by_the_calls_at_once_and_survive_panics() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            // Calls one after another: one thread, whose id every call sees.
            let mut seen = HashSet::new();
            for n in 0..200u32 {
                let answer = spawn(move || (n * 2, std::thread::current().id()))
                    .expect("spawn")
                    .await
                    .expect("answered")
                    .expect("no panic");
                assert_eq!(answer.0, n * 2);
                seen.insert(answer.1);
            }
            assert_eq!(
                seen.len(),
                1,
                "sequential calls used {} threads",
                seen.len()
            );
            assert_eq!(threads(), 1);

            // A panic is answered as one, and its thread serves the next call.
            let panicked = spawn(|| -> u32 { panic!("engine bug") })
                .expect("spawn")
                .await
                .expect("answered");
            assert_eq!(panicked.expect_err("a panic"), "engine bug");
            let after = spawn(|| 7).expect("spawn").await.expect("answered");
            assert_eq!(after.expect("no panic"), 7);
            assert_eq!(threads(), 1);

            // Four calls held at once need four threads; afterwards, rounds of four calls at
            // once reuse them and never start a fifth.
            let barrier = Arc::new(Barrier::new(4));
            let held: Vec<_> = (0..4)
                .map(|_| {
                    let barrier = Arc::clone(&barrier);
                    spawn(move || {
                        barrier.wait();
                    })
                    .expect("spawn")
                })
                .collect();
            for answer in held {
                answer.await.expect("answered").expect("no panic");
            }
            assert_eq!(threads(), 4);
            let ids = Arc::new(Mutex::new(HashSet::new()));
            for _ in 0..100 {
                let round: Vec<_> = (0..4)
                    .map(|_| {
                        let ids = Arc::clone(&ids);
                        spawn(move || {
                            ids.lock().expect("ids").insert(std::thread::current().id());
                        })
                        .expect("spawn")
                    })
                    .collect();
                for answer in round {
                    answer.await.expect("answered").expect("no panic");
                }
            }
            assert_eq!(threads(), 4, "rounds of four started more threads");
            assert!(wait_idle(Duration::from_secs(5)));

            // A call still running keeps `wait_idle` from returning true until it ends.
            let running = spawn(|| std::thread::sleep(Duration::from_millis(300))).expect("spawn");
            assert!(!wait_idle(Duration::from_millis(50)));
            assert!(wait_idle(Duration::from_secs(5)));
            running.await.expect("answered").expect("no panic");
        });
    }
}
