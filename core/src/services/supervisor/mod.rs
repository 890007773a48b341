//! One background thread that keeps time for the whole process: the timeouts of running calls
//! (`exec::Watchdog`, which schedules them here), the time limit of a plugin load, and SIGINT / SIGTERM.
//!
//! Starting a thread costs a cold start more than anything the thread then does (on a small
//! virtual machine about 0.2 ms of CPU each, and a scheduling round trip when the machine is
//! busy), so a one-shot command starts one thread and nothing else: the main thread becomes the
//! serving thread and the command runs on the new one ([`serve_here_while`]). The command
//! loads its plugin itself while this thread keeps the load's time limit
//! ([`run_here_with_time_limit`]); otherwise the serving thread sleeps until a deadline or a
//! signal, which a signal handler reports by writing a byte to a socket the thread reads.
//! `plenum-mcp` starts its serving thread as a thread of its own ([`start`]).
//!
//! A job that does not finish in time keeps its thread; the thread is retired and the next need
//! (or at once a signal, or a timer scheduled while the job runs) starts a new one, which takes
//! over the timers and the signal socket (the retired thread ends when its job returns; a retired
//! main thread waits for the command to end the process). Timers
//! and signal counts live in shared state, changed under one lock, so every timer runs once and
//! every signal counts once, however many threads are serving.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

mod doorbell;
mod signals;

use doorbell::Doorbell;
pub use signals::{stop_on_signals, stop_signal};

/// Work run when a timer is due, or at the first stop signal.
pub type Action = Arc<dyn Fn() + Send + Sync>;

/// How often a caller waiting for a job looks for a stop signal.
const SIGNAL_POLL: Duration = Duration::from_millis(25);

/// The serving thread wakes at least this often, so that scheduling a later timer never has to
/// wake it (which costs a cold start a context switch on each side).
const LONGEST_SLEEP: Duration = Duration::from_secs(1);

/// A timer's handle, to take it back before it is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerId(u64);

/// Why [`run_with_time_limit`] returned without a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfinished {
    /// The time limit passed; the work may still be running, on a thread of its own.
    TimedOut,
    /// The work ended without a result (it panicked).
    Lost,
    /// No thread could be started to run it.
    NoThread,
}

struct Timer {
    id: TimerId,
    /// `None`: only the first stop signal runs it.
    deadline: Option<Instant>,
    /// Whether the first stop signal runs it early.
    on_signal: bool,
    action: Action,
}

/// Work for the serving thread. It returns what hands its result to the caller, which the
/// thread runs only after it has marked itself idle again (see [`serve`]).
type Job = Box<dyn FnOnce() -> Delivery + Send>;
type Delivery = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    /// The serving thread's number; bumped to retire it.
    generation: u64,
    /// Whether a thread of `generation` is serving.
    running: bool,
    /// Whether that thread has got as far as serving (see [`run_here_with_time_limit`]).
    up: bool,
    /// Whether it is running a job (and so neither reads signals nor keeps time).
    busy: bool,
    /// What it sleeps until, while it sleeps: `Some(None)` without a deadline.
    asleep_until: Option<Option<Instant>>,
    timers: Vec<Timer>,
    jobs: VecDeque<Job>,
    next_id: u64,
    /// Stop signals read from the socket.
    signals: usize,
}

impl State {
    fn next_deadline(&self) -> Option<Instant> {
        self.timers.iter().filter_map(|timer| timer.deadline).min()
    }

    /// Removes and returns the actions of the timers due at `now`.
    fn take_due(&mut self, now: Instant) -> Vec<Action> {
        let mut due = Vec::new();
        self.timers.retain(|timer| {
            let is_due = timer.deadline.is_some_and(|deadline| deadline <= now);
            if is_due {
                due.push(Arc::clone(&timer.action));
            }
            !is_due
        });
        due
    }
}

struct Supervisor {
    state: Mutex<State>,
    bell: Doorbell,
    /// Notified when a serving thread is up.
    up: Condvar,
}

static SUPERVISOR: OnceLock<Option<Supervisor>> = OnceLock::new();

fn supervisor() -> Option<&'static Supervisor> {
    SUPERVISOR
        .get_or_init(|| {
            Doorbell::new().map(|bell| Supervisor {
                state: Mutex::new(State::default()),
                bell,
                up: Condvar::new(),
            })
        })
        .as_ref()
}

/// The state, also after a thread panicked while holding it (the state stays consistent: every
/// change is a single push, retain or assignment).
fn lock(supervisor: &Supervisor) -> MutexGuard<'_, State> {
    supervisor
        .state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What `slot` holds, taken out once; also after a thread panicked while holding it (an
/// `Option` is always valid).
fn take_once<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
}

/// Starts a serving thread if none serves. Returns false if none could be started.
fn ensure_running(supervisor: &'static Supervisor, state: &mut State) -> bool {
    if state.running {
        return true;
    }
    let generation = state.generation;
    let started = std::thread::Builder::new()
        .name("plenum-supervisor".into())
        .spawn(move || serve(supervisor, generation));
    state.running = started.is_ok();
    state.up = false;
    state.busy = false;
    state.asleep_until = None;
    state.running
}

/// Starts the serving thread now (so that signals are handled from the start).
pub fn start() -> bool {
    match supervisor() {
        Some(supervisor) => ensure_running(supervisor, &mut lock(supervisor)),
        None => false,
    }
}

/// Makes the calling thread the serving thread and runs `work` on a new thread meanwhile,
/// with a stack of `stack_size` bytes; `work` must end the process. For a one-shot command
/// on the main thread: the command then runs on a thread whose stack bounds the thread itself
/// knows, where the main thread's have to be read from `/proc/self/maps` (`stacker` asks on
/// the gate's first parse), and keeping time costs no thread of its own.
///
/// Returns `Err(work)` at once, to be run by the caller, when this thread cannot serve: no
/// serving thread can exist here, one serves already, or no thread could be started. Never
/// returns otherwise: once retired (a job this thread ran overran), the thread waits for
/// `work` to end the process.
pub fn serve_here_while<W>(work: W, stack_size: usize) -> Result<std::convert::Infallible, W>
where
    W: FnOnce() + Send + 'static,
{
    let Some(supervisor) = supervisor() else {
        return Err(work);
    };
    let generation = {
        let mut state = lock(supervisor);
        if state.running {
            return Err(work);
        }
        // Serving from before the work starts, so nothing it schedules starts another thread.
        state.running = true;
        state.up = true;
        state.busy = false;
        state.asleep_until = None;
        state.generation
    };
    // Handed back through the slot if the thread cannot start (`spawn` drops its closure).
    let slot = Arc::new(Mutex::new(Some(work)));
    let on_thread = Arc::clone(&slot);
    let spawned = std::thread::Builder::new()
        .name("plenum-command".into())
        .stack_size(stack_size)
        .spawn(move || {
            if let Some(work) = take_once(&on_thread) {
                work();
            }
        });
    if spawned.is_err() {
        retire(generation);
        return match take_once(&slot) {
            Some(work) => Err(work),
            // Cannot happen (the closure never ran), and must not hang if it did.
            None => crate::services::output::stdio::exit(1),
        };
    }
    serve(supervisor, generation);
    loop {
        std::thread::park();
    }
}

/// Wakes the serving thread if it sleeps past `deadline` (`None`: if it sleeps at all).
fn wake_if_sleeping_past(supervisor: &Supervisor, state: &State, deadline: Option<Instant>) {
    let late = match (state.asleep_until, deadline) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(None), Some(_)) => true,
        (Some(Some(until)), Some(deadline)) => deadline < until,
    };
    if late {
        supervisor.bell.ring();
    }
}

/// Runs `action` on the serving thread at `deadline` (never, with `None`) or at the first stop
/// signal if `on_signal`, whichever comes first; at once if a stop signal came already. `None`
/// when no thread can keep time.
pub fn schedule(deadline: Option<Instant>, on_signal: bool, action: Action) -> Option<TimerId> {
    let supervisor = supervisor()?;
    let mut state = lock(supervisor);
    if state.busy {
        // The serving thread is running a job and keeps no time until it returns: a new one
        // takes over (the job's caller still gets its result, which does not go through it).
        retire_locked(&mut state);
    }
    if !ensure_running(supervisor, &mut state) {
        return None;
    }
    let deadline = if on_signal && stop_signal().is_some() {
        Some(Instant::now())
    } else {
        deadline
    };
    state.next_id += 1;
    let id = TimerId(state.next_id);
    state.timers.push(Timer {
        id,
        deadline,
        on_signal,
        action,
    });
    if deadline.is_some() {
        wake_if_sleeping_past(supervisor, &state, deadline);
    }
    Some(id)
}

/// Takes back a timer that has not run. (No wake-up: a thread sleeping until its deadline
/// wakes, finds nothing due and sleeps again.)
pub fn unschedule(id: TimerId) {
    if let Some(supervisor) = supervisor() {
        lock(supervisor).timers.retain(|timer| timer.id != id);
    }
}

/// Runs `work` on the serving thread, or on a thread of its own when that one is busy, and
/// waits for its result at most `limit`. Work that overruns keeps its thread, which ends with
/// the process; the serving thread is then retired, and a stop signal that comes while the
/// caller waits is handed to a new one at once.
pub fn run_with_time_limit<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
    limit: Duration,
) -> Result<T, Unfinished> {
    let (sender, receiver) = mpsc::channel();
    let job: Job = Box::new(move || {
        let value = work();
        Box::new(move || {
            // The receiver is gone only when the caller stopped waiting.
            let _ = sender.send(value);
        })
    });
    let generation = match submit(job) {
        Ok(generation) => Some(generation),
        Err(job) => {
            std::thread::Builder::new()
                .name("plenum-job".into())
                .spawn(move || job()())
                .map_err(|_| Unfinished::NoThread)?;
            None
        }
    };
    // A limit too large for the clock never comes.
    let deadline = Instant::now().checked_add(limit);
    loop {
        let left = deadline.map_or(SIGNAL_POLL, |deadline| {
            deadline.saturating_duration_since(Instant::now())
        });
        if left.is_zero() {
            if let Some(generation) = generation {
                retire(generation);
            }
            return Err(Unfinished::TimedOut);
        }
        match receiver.recv_timeout(left.min(SIGNAL_POLL)) {
            Ok(value) => return Ok(value),
            Err(RecvTimeoutError::Disconnected) => return Err(Unfinished::Lost),
            Err(RecvTimeoutError::Timeout) => {
                // The serving thread reads signals only between jobs: while this one runs
                // on, a new thread takes over (once; retiring twice does nothing).
                if let (Some(generation), Some(_)) = (generation, stop_signal()) {
                    retire(generation);
                    start();
                }
            }
        }
    }
}

/// What [`run_here_with_time_limit`] runs when its work overruns: it answers for the work and
/// ends the process.
pub type Overrun = Box<dyn FnOnce() + Send>;

/// Runs `work` on the calling thread, while the serving thread keeps its time limit: if `work`
/// has not returned by then, the serving thread runs `overrun`, which must end the process (the
/// caller cannot be taken back from work that does not return). For a one-shot command, where
/// nothing else could go on anyway: no job handed to another thread, so no wake-up on either
/// side and no cache gone cold on the other CPU. Without a thread to keep time, the work runs
/// as [`run_with_time_limit`] runs it.
///
/// When `overrun` returned instead (it could not answer), work that then finishes is reported
/// as [`Unfinished::TimedOut`], never as a result, since the time limit had passed.
pub fn run_here_with_time_limit<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
    limit: Duration,
    overrun: Overrun,
) -> Result<T, Unfinished> {
    use std::sync::atomic::{AtomicU8, Ordering};
    const RUNNING: u8 = 0;
    const FINISHED: u8 = 1;
    const ABANDONED: u8 = 2;
    let state = Arc::new(AtomicU8::new(RUNNING));
    let action: Action = {
        let state = Arc::clone(&state);
        let overrun = Mutex::new(Some(overrun));
        Arc::new(move || {
            // Whoever moves the state first decides: the work's result or the overrun answer.
            if state
                .compare_exchange(RUNNING, ABANDONED, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                if let Some(overrun) = take_once(&overrun) {
                    overrun();
                }
            }
        })
    };
    // A limit too large for the clock never comes (a stop signal is handled by its own timer).
    let started = Instant::now();
    let Some(timer) = schedule(started.checked_add(limit), false, action) else {
        return run_with_time_limit(work, limit);
    };
    // A new thread's first steps (registering its thread-local destructors) take the dynamic
    // linker's lock, which a library's initialiser holds while it runs: a serving thread not
    // yet up when the work enters `dlopen` would wait for the very load it is to time. So the
    // work starts only once the thread is up (nearly always long since: it starts with the
    // command); if it cannot get there within the limit, the work runs as before.
    if !serving_thread_up(limit) {
        unschedule(timer);
        return run_with_time_limit(work, limit.saturating_sub(started.elapsed()));
    }
    let value = catch_unwind(AssertUnwindSafe(work));
    let finished = state
        .compare_exchange(RUNNING, FINISHED, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    unschedule(timer);
    match value {
        _ if !finished => Err(Unfinished::TimedOut),
        Ok(value) => Ok(value),
        Err(_) => Err(Unfinished::Lost),
    }
}

/// Waits at most `limit` for a serving thread to be up; whether one is.
fn serving_thread_up(limit: Duration) -> bool {
    let Some(supervisor) = supervisor() else {
        return false;
    };
    let state = lock(supervisor);
    let (state, _) = supervisor
        .up
        .wait_timeout_while(state, limit, |state| state.running && !state.up)
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    state.running && state.up
}

/// Queues `job` for the serving thread if it is idle; hands the job back otherwise.
fn submit(job: Job) -> Result<u64, Job> {
    let Some(supervisor) = supervisor() else {
        return Err(job);
    };
    let mut state = lock(supervisor);
    // A job would hold up timers that fall due while it runs (`plenum mcp` keeps the timeouts
    // of other calls): then it gets a thread of its own. A command's plugin load comes before
    // any timeout, so it runs here.
    let timers_waiting = state.timers.iter().any(|timer| timer.deadline.is_some());
    if state.busy
        || timers_waiting
        || !state.jobs.is_empty()
        || !ensure_running(supervisor, &mut state)
    {
        return Err(job);
    }
    state.jobs.push_back(job);
    // Taken by the thread at once unless it sleeps.
    state.busy = true;
    wake_if_sleeping_past(supervisor, &state, None);
    Ok(state.generation)
}

/// Retires the serving thread `generation`, if it still serves.
fn retire(generation: u64) {
    if let Some(supervisor) = supervisor() {
        let mut state = lock(supervisor);
        if state.generation == generation && state.running {
            retire_locked(&mut state);
        }
    }
}

/// Retires the serving thread: it ends when it next looks at the state.
fn retire_locked(state: &mut State) {
    state.generation += 1;
    state.running = false;
    state.up = false;
    state.busy = false;
    state.asleep_until = None;
}

/// The serving thread: runs jobs and due timers, then sleeps until the next deadline, a
/// signal or a wake-up.
fn serve(supervisor: &'static Supervisor, generation: u64) {
    let mut waited: Option<Option<Duration>> = Some(None);
    {
        let mut state = lock(supervisor);
        if state.generation == generation {
            state.up = true;
            supervisor.up.notify_all();
        }
    }
    loop {
        let (job, due, sleep) = {
            let mut state = lock(supervisor);
            if state.generation != generation {
                drop(state);
                // A wake-up this retired thread took may have been meant for its successor.
                supervisor.bell.ring();
                return;
            }
            let now = Instant::now();
            let due = state.take_due(now);
            let job = state.jobs.pop_front();
            state.busy = job.is_some();
            let sleep = if job.is_none() && due.is_empty() {
                // Never asleep for long: a timer due after the thread wakes anyway needs no
                // wake-up call (a call's own timeout, seconds away, never does).
                let until = match (state.next_deadline(), now.checked_add(LONGEST_SLEEP)) {
                    (Some(deadline), Some(limit)) => Some(deadline.min(limit)),
                    (deadline, limit) => deadline.or(limit),
                };
                state.asleep_until = Some(until);
                Some(until.map(|until| until.saturating_duration_since(now)))
            } else {
                state.asleep_until = None;
                None
            };
            (job, due, sleep)
        };
        for action in due {
            // A panicking action must not stop the timekeeping of the others.
            let _ = catch_unwind(AssertUnwindSafe(|| action()));
        }
        if let Some(job) = job {
            let delivery = catch_unwind(AssertUnwindSafe(job));
            // Idle before the result is handed over: the caller it wakes schedules its call's
            // timers at once, and must find this thread free to keep them. (Found busy, it
            // would be retired and a second thread started: a thread's cost again, and on a
            // loaded machine, where the caller usually runs first, nearly every time.)
            {
                let mut state = lock(supervisor);
                if state.generation == generation {
                    state.busy = false;
                }
            }
            if let Ok(deliver) = delivery {
                deliver();
            }
            continue;
        }
        let Some(sleep) = sleep else { continue };
        // A deadline that is due now is handled by the next round, without sleeping.
        if sleep.is_some_and(|left| left.is_zero()) {
            continue;
        }
        let signals = supervisor.bell.wait(sleep, &mut waited);
        if signals > 0 {
            signals::on_signals(supervisor, signals);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn timers_run_once_at_their_deadline_and_taken_back_ones_never() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let started = Instant::now();
        let soon = Instant::now() + Duration::from_millis(30);
        schedule(
            Some(soon),
            false,
            Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .expect("a timer");
        let counter = Arc::clone(&runs);
        let never = schedule(
            Some(Instant::now() + Duration::from_millis(40)),
            false,
            Arc::new(move || {
                counter.fetch_add(100, Ordering::SeqCst);
            }),
        )
        .expect("a timer");
        unschedule(never);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn a_job_that_overruns_is_left_behind_and_the_next_one_still_runs() {
        let slow = run_with_time_limit(
            || std::thread::sleep(Duration::from_secs(3)),
            Duration::from_millis(50),
        );
        assert_eq!(slow, Err(Unfinished::TimedOut));
        // The retired thread is still sleeping: a new one serves.
        assert_eq!(run_with_time_limit(|| 7, Duration::from_secs(5)), Ok(7));
        let fired = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&fired);
        schedule(
            Some(Instant::now() + Duration::from_millis(10)),
            false,
            Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .expect("a timer");
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(fired.load(Ordering::SeqCst), 1);
        assert_eq!(
            run_with_time_limit(|| -> u8 { panic!("boom") }, Duration::from_secs(5)),
            Err(Unfinished::Lost)
        );
    }
}
