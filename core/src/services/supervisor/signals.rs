//! SIGINT and SIGTERM: a handler that only records the signal and rings the serving thread's
//! doorbell, and what the serving thread then does with them (the first runs every timer that
//! asked for it and starts a grace period; a second, or the end of the grace, gives up).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::{lock, Action, Supervisor, Timer, TimerId};

/// The stop signals this process received, as the signal handler recorded them.
static STOP: OnceLock<Arc<std::sync::atomic::AtomicUsize>> = OnceLock::new();

/// What a second stop signal, or a first one that nothing answered, runs.
static GIVE_UP: OnceLock<fn(&'static str)> = OnceLock::new();

/// How long after a stop signal the process ends if the call has not ended by itself.
const SIGNAL_GRACE: Duration = Duration::from_millis(25 + 1500 + 500);

/// The number of the signal that asked this process to stop, if one did.
pub fn stop_signal() -> Option<usize> {
    STOP.get()
        .map(|stop| stop.load(std::sync::atomic::Ordering::SeqCst))
        .filter(|&signal| signal != 0)
}

fn signal_name() -> &'static str {
    match stop_signal() {
        Some(2) => "SIGINT",
        Some(15) => "SIGTERM",
        _ => "a signal",
    }
}

/// Counts `count` new stop signals: the first runs every timer that asked for it and starts
/// the grace period; a second gives up at once.
pub(super) fn on_signals(supervisor: &'static Supervisor, count: usize) {
    let (early, give_up_now) = {
        let mut state = lock(supervisor);
        let before = state.signals;
        state.signals += count;
        let mut early = Vec::new();
        if before == 0 {
            state.timers.retain(|timer| {
                if timer.on_signal {
                    early.push(Arc::clone(&timer.action));
                }
                !timer.on_signal
            });
            if let Some(give_up) = GIVE_UP.get().copied() {
                let action: Action = Arc::new(move || give_up(signal_name()));
                state.next_id += 1;
                let id = TimerId(state.next_id);
                state.timers.push(Timer {
                    id,
                    deadline: Instant::now().checked_add(SIGNAL_GRACE),
                    on_signal: false,
                    action,
                });
            }
        }
        (early, state.signals >= 2)
    };
    for action in early {
        let _ = catch_unwind(AssertUnwindSafe(|| action()));
    }
    if give_up_now {
        if let Some(give_up) = GIVE_UP.get().copied() {
            give_up(signal_name());
        }
    }
}

/// Turns SIGINT and SIGTERM into a stop (see `exec::stop_on_signals`, which calls this).
#[cfg(unix)]
pub fn stop_on_signals(give_up: fn(&'static str)) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Some(supervisor) = super::supervisor() else {
        // Without a thread to answer them the signals keep their default action, which also
        // stops the process.
        return;
    };
    let _ = GIVE_UP.set(give_up);
    let stop = STOP.get_or_init(|| Arc::new(std::sync::atomic::AtomicUsize::new(0)));
    for signal in [SIGINT, SIGTERM] {
        let Ok(writer) = supervisor.bell.signal_writer() else {
            return;
        };
        // The number first: the handler runs the two in this order, so the thread the byte
        // wakes finds it. Both are async-signal-safe (an atomic store, a non-blocking send).
        let Ok(number) = usize::try_from(signal) else {
            return;
        };
        if signal_hook::flag::register_usize(signal, Arc::clone(stop), number).is_err()
            || signal_hook::low_level::pipe::register(signal, writer).is_err()
        {
            return;
        }
    }
    super::start();
}

/// Signals are not handled on this platform: they keep their default action.
#[cfg(not(unix))]
pub fn stop_on_signals(_give_up: fn(&'static str)) {}
