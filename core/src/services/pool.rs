//! Warm sessions for a long-running server (`plenum mcp`): idle plugin sessions kept per
//! connection target and access mode, so a call pays a round trip instead of a connection.
//!
//! Nothing is pooled until [`install`] runs, so the CLI (one call per process) never keeps a
//! session. The rules, each tested end to end:
//!
//! - The key is a digest of everything the session was opened with: engine, file, host, port,
//!   user, password, database, TLS, options (with the session ceilings), the statement
//!   timeout, the access mode and the allowed routines. A session never serves another
//!   target, and a saved connection's credentials stay with the calls that named it.
//! - Only a read call that ended cleanly gives its session back: the pipeline calls
//!   [`Lease::keep`] after the transaction was rolled back and the watchdog stopped without
//!   firing. An error, a timeout, a cancel, a write or a DDL call closes the session, and so
//!   does a session whose transaction could not be ended ([`Transaction`]): `keep` is then
//!   refused.
//! - Before reuse the plugin resets the session ([`ConnectionAbi::reset`], API 1.2); a plugin
//!   without it never gets a session reused. A reset that fails (the server restarted, the
//!   connection is gone) closes the session, and the call takes another one or connects: the
//!   call that finds a dead session does not fail for it.
//! - Idle sessions close after [`Settings::idle`], every session after [`Settings::max_age`],
//!   and at most [`Settings::per_target`] sessions of a target are pooled at once (leased and
//!   idle); calls beyond that connect as before and close their session.
//!
//! [`ConnectionAbi::reset`]: plenum_plugin_api::abi::ConnectionAbi::reset

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use plenum_plugin_api::{ConnectParams, ConnectionBox, ErrorKind, PluginError};
use sha2::{Digest, Sha256};

use crate::services::release;

/// How the pool behaves; set once by whoever starts a long-running server.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Sessions of one target (leased and idle) the pool holds at most; 0 turns pooling off.
    pub per_target: usize,
    /// An idle session older than this (since its last call) is closed.
    pub idle: Duration,
    /// A session older than this (since it connected) is closed instead of reused.
    pub max_age: Duration,
}

impl Settings {
    /// Sessions per target when the server's flag does not say.
    pub const DEFAULT_PER_TARGET: usize = 16;
    /// Idle time in seconds when the server's flag does not say.
    pub const DEFAULT_IDLE_SECS: u64 = 60;
    /// Maximum age in seconds when the server's flag does not say.
    pub const DEFAULT_MAX_AGE_SECS: u64 = 600;
}

/// A digest of the connect parameters and the allowed routines: no secret is kept in clear.
type Key = [u8; 32];

struct Idle {
    connection: ConnectionBox,
    opened: Instant,
    since: Instant,
}

#[derive(Default)]
struct Target {
    idle: Vec<Idle>,
    /// Pooled sessions now serving a call.
    leased: usize,
}

struct Pool {
    settings: Settings,
    targets: Mutex<HashMap<Key, Target>>,
}

static POOL: OnceLock<Pool> = OnceLock::new();

/// Turns pooling on for this process (the hook of `plenum mcp`), and starts the thread that
/// closes idle sessions when no call comes to find them. A second call changes nothing.
pub fn install(settings: Settings) {
    if settings.per_target == 0 {
        return;
    }
    let pool = Pool {
        settings,
        targets: Mutex::new(HashMap::new()),
    };
    if POOL.set(pool).is_err() {
        return;
    }
    // A few checks per idle period, at least one a second, so an idle session outlives its
    // limit by little.
    let every = (settings.idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    // Without the thread idle sessions still close when a call finds them expired.
    let _ = std::thread::Builder::new()
        .name("plenum-pool".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            if let Some(pool) = POOL.get() {
                pool.sweep();
            }
        });
}

/// A session that goes back to the pool when [`Lease::keep`] was called, else closes (where
/// its close cannot hold up the answer). Derefs to the plugin session.
pub struct Lease {
    connection: Option<ConnectionBox>,
    /// Set for a session the pool counts: its key and when it connected.
    pooled: Option<(Key, Instant)>,
    keep: bool,
    /// A transaction on it could not be begun or ended: its state is unknown, so it never
    /// serves another call.
    spoiled: bool,
}

impl Lease {
    /// The call ended cleanly in a read session: the session may serve another call once
    /// reset. Called only after the watchdog stopped without firing. A spoiled session is
    /// closed regardless.
    pub fn keep(&mut self) {
        self.keep = !self.spoiled;
    }

    /// Begins the host-owned transaction. The guard rolls it back unless it is committed.
    pub fn begin(&mut self) -> Result<Transaction<'_>, PluginError> {
        match self.deref_mut().begin().into_result() {
            Ok(()) => Ok(Transaction {
                lease: self,
                ended: false,
            }),
            Err(error) => {
                self.spoil();
                Err(error)
            }
        }
    }

    fn spoil(&mut self) {
        self.spoiled = true;
        self.keep = false;
    }
}

/// The host-owned transaction on a leased session (as `rusqlite::Transaction`): [`commit`]
/// or [`rollback`] end it and report the plugin's error; dropped without either, it is rolled
/// back and the error ignored. Whenever ending it fails, the session is spoiled: it closes
/// instead of going back warm, so no later call inherits a transaction left open.
///
/// [`commit`]: Transaction::commit
/// [`rollback`]: Transaction::rollback
pub struct Transaction<'a> {
    lease: &'a mut Lease,
    ended: bool,
}

impl Transaction<'_> {
    /// Commits the transaction.
    pub fn commit(mut self) -> Result<(), PluginError> {
        self.end(true)
    }

    /// Rolls the transaction back, reporting the plugin's error.
    pub fn rollback(mut self) -> Result<(), PluginError> {
        self.end(false)
    }

    fn end(&mut self, commit: bool) -> Result<(), PluginError> {
        self.ended = true;
        let connection = self.lease.deref_mut();
        let result = if commit {
            connection.commit()
        } else {
            connection.rollback()
        }
        .into_result();
        if result.is_err() {
            self.lease.spoil();
        }
        result
    }
}

impl Deref for Transaction<'_> {
    type Target = ConnectionBox;
    fn deref(&self) -> &ConnectionBox {
        self.lease
    }
}

impl DerefMut for Transaction<'_> {
    fn deref_mut(&mut self) -> &mut ConnectionBox {
        self.lease
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.ended {
            // The call is failing already and reports its own error; a failed rollback only
            // spoils the session (see `end`).
            let _ = self.end(false);
        }
    }
}

impl Deref for Lease {
    type Target = ConnectionBox;
    fn deref(&self) -> &ConnectionBox {
        match &self.connection {
            Some(connection) => connection,
            // Only `drop` empties it.
            None => unreachable!("a released session is never used"),
        }
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut ConnectionBox {
        match &mut self.connection {
            Some(connection) => connection,
            None => unreachable!("a released session is never used"),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        match (self.pooled, POOL.get()) {
            (Some((key, opened)), Some(pool)) => pool.give_back(key, opened, connection, self.keep),
            _ => release::later(connection),
        }
    }
}

/// What [`checkout`] found for a call.
pub enum Checkout {
    /// A warm session, reset and ready.
    Warm(Lease),
    /// No idle session: connect, and wrap the new session with [`Slot::fill`].
    Connect(Slot),
}

/// A place in the pool for a session the call is about to open; releasing it unfilled (the
/// connect failed) gives the place back.
pub struct Slot(Option<Key>);

impl Slot {
    /// The lease for the session just opened.
    pub fn fill(mut self, connection: ConnectionBox) -> Lease {
        let pooled = self.0.take().map(|key| (key, Instant::now()));
        Lease {
            connection: Some(connection),
            pooled,
            keep: false,
            spoiled: false,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let (Some(key), Some(pool)) = (self.0.take(), POOL.get()) {
            pool.release(key);
        }
    }
}

/// A warm session for `params` (+ `allowed_routines`), reset for this call, or a slot to
/// connect into. Without [`install`] every call connects, unpooled.
pub fn checkout(params: &ConnectParams, allowed_routines: &[String]) -> Checkout {
    let Some(pool) = POOL.get() else {
        return Checkout::Connect(Slot(None));
    };
    let key = key(params, allowed_routines);
    loop {
        let (idle, slot) = pool.take(key);
        let Some(mut idle) = idle else {
            return Checkout::Connect(Slot(slot.then_some(key)));
        };
        match idle.connection.reset().into_result() {
            Ok(()) => {
                return Checkout::Warm(Lease {
                    connection: Some(idle.connection),
                    pooled: Some((key, idle.opened)),
                    keep: false,
                    spoiled: false,
                })
            }
            Err(error) => {
                // A lost connection (the server restarted) usually means every idle session
                // of the target is gone: they are dropped together, and the call goes on.
                let lost = error.kind == ErrorKind::Connection;
                release::later(idle.connection);
                pool.release(key);
                if lost {
                    pool.drain(key);
                }
            }
        }
    }
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Target>> {
        // The map holds only sessions and counts; a panic elsewhere leaves it usable.
        self.targets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle session of `key` that is not expired (leased to the caller), or else whether
    /// the caller may open a pooled one (counted as leased when true).
    fn take(&self, key: Key) -> (Option<Idle>, bool) {
        let now = Instant::now();
        let mut expired = Vec::new();
        let result = {
            let mut targets = self.lock();
            let target = targets.entry(key).or_default();
            let mut found = None;
            // The most recently used first: the others age out when the load drops.
            while let Some(idle) = target.idle.pop() {
                if self.expired(&idle, now) {
                    expired.push(idle.connection);
                } else {
                    found = Some(idle);
                    break;
                }
            }
            if found.is_some() {
                target.leased += 1;
                (found, false)
            } else if target.leased < self.settings.per_target {
                target.leased += 1;
                (None, true)
            } else {
                if target.leased == 0 {
                    targets.remove(&key);
                }
                (None, false)
            }
        };
        expired.into_iter().for_each(release::later);
        result
    }

    fn expired(&self, idle: &Idle, now: Instant) -> bool {
        now.duration_since(idle.since) >= self.settings.idle
            || now.duration_since(idle.opened) >= self.settings.max_age
    }

    /// A leased session of `key` ended without coming back.
    fn release(&self, key: Key) {
        let mut targets = self.lock();
        if let Some(target) = targets.get_mut(&key) {
            target.leased = target.leased.saturating_sub(1);
            if target.leased == 0 && target.idle.is_empty() {
                targets.remove(&key);
            }
        }
    }

    fn give_back(&self, key: Key, opened: Instant, connection: ConnectionBox, keep: bool) {
        let now = Instant::now();
        let keep = keep && now.duration_since(opened) < self.settings.max_age;
        let closing = {
            let mut targets = self.lock();
            let target = targets.entry(key).or_default();
            target.leased = target.leased.saturating_sub(1);
            if keep && target.idle.len() + target.leased < self.settings.per_target {
                target.idle.push(Idle {
                    connection,
                    opened,
                    since: now,
                });
                None
            } else {
                if target.leased == 0 && target.idle.is_empty() {
                    targets.remove(&key);
                }
                Some(connection)
            }
        };
        if let Some(connection) = closing {
            release::later(connection);
        }
    }

    /// Closes every idle session of `key`.
    fn drain(&self, key: Key) {
        let idle = {
            let mut targets = self.lock();
            let Some(target) = targets.get_mut(&key) else {
                return;
            };
            let idle = std::mem::take(&mut target.idle);
            if target.leased == 0 {
                targets.remove(&key);
            }
            idle
        };
        idle.into_iter()
            .for_each(|idle| release::later(idle.connection));
    }

    /// Closes expired idle sessions and forgets targets with no sessions.
    fn sweep(&self) {
        let now = Instant::now();
        let mut expired = Vec::new();
        {
            let mut targets = self.lock();
            targets.retain(|_, target| {
                let (old, fresh): (Vec<Idle>, Vec<Idle>) = std::mem::take(&mut target.idle)
                    .into_iter()
                    .partition(|idle| self.expired(idle, now));
                target.idle = fresh;
                expired.extend(old.into_iter().map(|idle| idle.connection));
                target.leased > 0 || !target.idle.is_empty()
            });
        }
        expired.into_iter().for_each(release::later);
    }
}

/// The pool key: every field a session was opened with, each length-prefixed so no two
/// different targets hash the same bytes.
fn key(params: &ConnectParams, allowed_routines: &[String]) -> Key {
    fn field(hash: &mut Sha256, bytes: &[u8]) {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    }
    fn text(hash: &mut Sha256, value: Option<&str>) {
        match value {
            Some(value) => {
                hash.update([1]);
                field(hash, value.as_bytes());
            }
            None => hash.update([0]),
        }
    }
    let mut hash = Sha256::new();
    field(&mut hash, params.engine.as_bytes());
    hash.update([params.access as u8]);
    text(
        &mut hash,
        params.file.as_ref().map(|v| v.as_str()).into_option(),
    );
    text(
        &mut hash,
        params.host.as_ref().map(|v| v.as_str()).into_option(),
    );
    hash.update(
        params
            .port
            .into_option()
            .map_or(u32::MAX, u32::from)
            .to_le_bytes(),
    );
    text(
        &mut hash,
        params.user.as_ref().map(|v| v.as_str()).into_option(),
    );
    text(
        &mut hash,
        params.password.as_ref().map(|v| v.as_str()).into_option(),
    );
    text(
        &mut hash,
        params.database.as_ref().map(|v| v.as_str()).into_option(),
    );
    hash.update([params.ssl_mode as u8]);
    text(
        &mut hash,
        params.ssl_ca.as_ref().map(|v| v.as_str()).into_option(),
    );
    hash.update(params.statement_timeout_ms.to_le_bytes());
    hash.update((params.options.len() as u64).to_le_bytes());
    for option in params.options.iter() {
        field(&mut hash, option.0.as_bytes());
        field(&mut hash, option.1.as_bytes());
    }
    hash.update((allowed_routines.len() as u64).to_le_bytes());
    for routine in allowed_routines {
        field(&mut hash, routine.as_bytes());
    }
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use plenum_plugin_api::abi_stable::std_types::{ROption, RString};
    use plenum_plugin_api::AccessMode;

    fn params() -> ConnectParams {
        let mut params = ConnectParams::new("postgres", AccessMode::Read);
        params.host = ROption::RSome("127.0.0.1".into());
        params.user = ROption::RSome("agent".into());
        params.password = ROption::RSome(RString::from("one"));
        params.database = ROption::RSome("app".into());
        params.statement_timeout_ms = 30_000;
        params
    }

    #[test]
    fn every_field_of_the_target_is_in_the_key() {
        let base = key(&params(), &[]);
        let mut changes: Vec<ConnectParams> = Vec::new();
        let mut p = params();
        p.access = AccessMode::Write;
        changes.push(p);
        let mut p = params();
        p.password = ROption::RSome("two".into());
        changes.push(p);
        let mut p = params();
        p.user = ROption::RSome("other".into());
        changes.push(p);
        let mut p = params();
        p.database = ROption::RSome("other".into());
        changes.push(p);
        let mut p = params();
        p.statement_timeout_ms = 1000;
        changes.push(p);
        let mut p = params();
        p.port = ROption::RSome(5433);
        changes.push(p);
        let mut p = params();
        p.options
            .push(("max_rows_scanned".into(), "10".into()).into());
        changes.push(p);
        for changed in &changes {
            assert_ne!(key(changed, &[]), base);
        }
        assert_ne!(key(&params(), &["public.f".into()]), base);
        assert_eq!(key(&params(), &[]), base);
    }

    #[test]
    fn fields_do_not_run_into_each_other() {
        let mut a = params();
        a.user = ROption::RSome("ab".into());
        a.database = ROption::RSome("c".into());
        let mut b = params();
        b.user = ROption::RSome("a".into());
        b.database = ROption::RSome("bc".into());
        assert_ne!(key(&a, &[]), key(&b, &[]));
    }
}
