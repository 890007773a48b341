//! A call's session: the plugin session opened in the access mode the call needs, with the
//! watchdog that bounds it. Every command that talks to a database opens its session here.

use std::time::Duration;

use plenum_plugin_api::AccessMode;

use crate::pipeline::exec::{self, OnStuck, Watchdog};
use crate::services::connection::ConnectionSpec;
use crate::services::error::{ErrorCode, Failure};
use crate::services::output::envelope::streamed_failure_tail;
use crate::services::output::{stream, Envelope};
use crate::services::plugins::LoadedPlugin;
use crate::services::pool;
use crate::services::sanitize::Sanitizer;

/// An open plugin session and the watchdog that bounds the call. The watchdog is the first
/// field so it stops (and lets go of the cancel handle) before the session closes.
pub struct Session {
    /// The call's timeout, armed with the session's cancel handle.
    pub watchdog: Watchdog,
    /// The plugin session; it is closed where its close cannot hold up the answer, or, in a
    /// long-running server, given back warm (see [`crate::services::pool`]).
    pub connection: pool::Lease,
}

impl Session {
    /// A read call ended cleanly (its transaction rolled back): stops the watchdog, and when
    /// it never fired, lets the session serve another call once reset. The watchdog is
    /// stopped first, so a cancel can never reach the session after it went back.
    pub fn finish_read(mut self) {
        self.watchdog.disarm();
        if !self.watchdog.fired() {
            self.connection.keep();
        }
    }
}

/// Starts the call's watchdog, opens a session on `plugin` in `access` mode and arms the
/// watchdog with the session's cancel handle. Every command that talks to a database opens
/// its session here.
pub fn open_session(
    plugin: &LoadedPlugin,
    target: &ConnectionSpec,
    access: AccessMode,
    timeout: Duration,
    on_stuck: OnStuck,
) -> Result<Session, Failure> {
    if timeout.is_zero() {
        // Engines disagree on what zero means (never, or at once); neither is worth guessing.
        return Err(Failure::invalid_input(format!(
            "{} must be at least 1 (it is the time a call may take)",
            crate::services::words::option("timeout_ms")
        )));
    }
    let watchdog = Watchdog::start(timeout, on_stuck);
    // A call its client cancelled before it got here never connects.
    if watchdog.fired() {
        return Err(exec::stopped(&watchdog));
    }
    let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let params = target.to_params(access, timeout_ms);
    // A long-running server may hold a warm session for exactly this target and mode.
    let slot = match pool::checkout(&params, &target.allowed_routines) {
        pool::Checkout::Warm(lease) => return arm(watchdog, lease),
        pool::Checkout::Connect(slot) => slot,
    };
    let connection = plugin.connect(&params).map_err(|error| {
        if watchdog.interrupted() {
            exec::stopped(&watchdog)
        } else if error.kind == plenum_plugin_api::ErrorKind::Connection {
            // The plugin's connect timeout is never longer than the call's: a server that did
            // not answer is reported as such, even when the call's time ran out with it.
            Failure::from_plugin(error)
        } else if watchdog.fired() {
            Failure::new(
                ErrorCode::Timeout,
                format!("connecting took longer than the timeout of {timeout_ms} ms"),
            )
        } else {
            Failure::from_plugin(error)
        }
    })?;
    drop(params);
    arm(watchdog, slot.fill(connection))
}

/// Gives the watchdog the session's cancel handle.
fn arm(watchdog: Watchdog, connection: pool::Lease) -> Result<Session, Failure> {
    if let Ok(handle) = connection.cancel_handle().into_result() {
        watchdog.arm(handle);
    }
    let session = Session {
        watchdog,
        connection,
    };
    // Stopped while connecting, when there was no statement to cancel: nothing starts.
    if session.watchdog.fired() {
        return Err(exec::stopped(&session.watchdog));
    }
    Ok(session)
}

/// For the CLI, a plugin that ignores a cancel ends the process with a TIMEOUT envelope of
/// `command`.
pub fn exit_on_stuck(
    engine: Option<String>,
    command: &'static str,
    timeout: Duration,
    sanitizer: Sanitizer,
) -> OnStuck {
    Box::new(move || {
        // Said as it happened: a signal or the timeout.
        let why = match exec::stop_signal() {
            Some(signal) => format!("`plenum {command}` received {signal}"),
            None => format!(
                "`plenum {command}` ran longer than the timeout of {} ms",
                timeout.as_millis()
            ),
        };
        let failure = Failure::new(
            ErrorCode::Timeout,
            format!("{why} and the engine did not stop when cancelled"),
        );
        if stream::started() {
            stream::finish(&streamed_failure_tail(&failure, &sanitizer));
            std::process::exit(1);
        }
        let envelope = Envelope::failure(engine, command, &failure, &sanitizer);
        if crate::services::output::print_once(&envelope.to_json()) {
            std::process::exit(1);
        }
    })
}
