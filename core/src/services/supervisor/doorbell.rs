//! What the serving thread sleeps on, and how anything wakes it: a socket pair where a signal
//! handler can write too (writing to a socket is async-signal-safe), or a condition variable
//! where there are no signals.

use std::time::Duration;

#[cfg(not(unix))]
use std::sync::Mutex;

#[cfg(unix)]
use super::SIGNAL_POLL;

/// What the serving thread sleeps on: a socket that a signal handler (one byte, `X`, per
/// signal) and the host's own threads (`w`) write to.
#[cfg(unix)]
pub(super) struct Doorbell {
    reader: std::os::unix::net::UnixStream,
    writer: std::os::unix::net::UnixStream,
}

#[cfg(unix)]
impl Doorbell {
    pub(super) fn new() -> Option<Self> {
        let (reader, writer) = std::os::unix::net::UnixStream::pair().ok()?;
        // A full socket means a wake-up is pending already.
        writer.set_nonblocking(true).ok()?;
        Some(Doorbell { reader, writer })
    }

    pub(super) fn signal_writer(&self) -> std::io::Result<std::os::unix::net::UnixStream> {
        self.writer.try_clone()
    }

    pub(super) fn ring(&self) {
        use std::io::Write;
        let _ = (&self.writer).write(b"w");
    }

    /// Sleeps at most `timeout` (`None`: until woken) and returns the signals that woke it.
    /// `waited` remembers the socket's timeout, which is changed only when it differs.
    pub(super) fn wait(
        &self,
        timeout: Option<Duration>,
        waited: &mut Option<Option<Duration>>,
    ) -> usize {
        use std::io::Read;
        // The socket's timeout has microseconds; shorter waits round up, not to "forever".
        let timeout = timeout.map(|left| left.max(Duration::from_micros(1)));
        if *waited != Some(timeout) {
            if self.reader.set_read_timeout(timeout).is_err() {
                std::thread::sleep(SIGNAL_POLL);
                return 0;
            }
            *waited = Some(timeout);
        }
        let mut bytes = [0u8; 64];
        match (&self.reader).read(&mut bytes) {
            Ok(read) => bytes[..read].iter().filter(|&&byte| byte == b'X').count(),
            // Timed out or interrupted: the caller looks at the clock again.
            Err(_) => 0,
        }
    }
}

/// Without signals, a condition variable.
#[cfg(not(unix))]
pub(super) struct Doorbell {
    rung: Mutex<bool>,
    bell: std::sync::Condvar,
}

#[cfg(not(unix))]
impl Doorbell {
    pub(super) fn new() -> Option<Self> {
        Some(Doorbell {
            rung: Mutex::new(false),
            bell: std::sync::Condvar::new(),
        })
    }

    pub(super) fn ring(&self) {
        if let Ok(mut rung) = self.rung.lock() {
            *rung = true;
            self.bell.notify_all();
        }
    }

    pub(super) fn wait(
        &self,
        timeout: Option<Duration>,
        _waited: &mut Option<Option<Duration>>,
    ) -> usize {
        let Ok(mut rung) = self.rung.lock() else {
            return 0;
        };
        if !*rung {
            rung = match timeout {
                Some(timeout) => match self.bell.wait_timeout(rung, timeout) {
                    Ok((rung, _)) => rung,
                    Err(_) => return 0,
                },
                None => match self.bell.wait(rung) {
                    Ok(rung) => rung,
                    Err(_) => return 0,
                },
            };
        }
        *rung = false;
        0
    }
}
