//! The ordinary Rust traits a plugin author implements, and the adapters that turn them into
//! the ABI objects of [`crate::abi`].
//!
//! Every adapter call runs under [`std::panic::catch_unwind`]: a panic in a plugin becomes an
//! [`ErrorKind::Internal`](crate::ErrorKind::Internal) error value and never unwinds into the
//! host. The same holds for the drops of what a plugin returns (its cursor, session and cancel
//! handle) and for the drop of a panic's payload, which may panic in turn: an unwind that
//! reached `abi_stable`'s FFI boundary would abort the host without an answer.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{ROption, RResult, RSlice, RStr, RString, RVec};

use crate::abi::{
    ApiVersion, CancelHandleAbi, CancelHandleAbi_TO, CancelHandleBox, ConnectionAbi,
    ConnectionAbi_TO, ConnectionBox, CursorAbi, CursorAbi_TO, CursorBox, PluginModule,
    PluginModuleRef,
};
use crate::error::{PluginError, PluginResult};
use crate::introspect::{IntrospectRequest, IntrospectResult};
use crate::policy::EnginePolicy;
use crate::reach::{FenceOutcome, ReachReport, ReachRequest};
use crate::types::{Column, ConnectParams, PluginAbout, PluginInfo, ServerInfo, Value};

/// An engine plugin: a type with no state that describes itself and opens sessions.
///
/// Export it with [`crate::export_plugin!`].
pub trait Plugin: 'static {
    /// What the plugin is. Called once per load.
    fn info() -> PluginInfo;

    /// Opens a session. Sessions opened with [`AccessMode::Read`](crate::AccessMode::Read)
    /// must be read-only at the engine, so a write fails even if it reached the plugin.
    fn connect(params: &ConnectParams) -> PluginResult<Box<dyn Connection>>;

    /// Who maintains the plugin (API 1.1). The default says nothing.
    fn about() -> PluginAbout {
        PluginAbout::default()
    }

    /// The engine's SQL policy (API 1.2): functions, statements and relations the gate must
    /// refuse or raise, and the engine's lexical features. It can only tighten the host's
    /// rules. The default declares nothing.
    fn policy() -> EnginePolicy {
        EnginePolicy::default()
    }

    /// Rules for one session (API 1.2), from the parameters the human set for it: what
    /// depends on the connection rather than the engine (a file reader refused unless the
    /// connection names directories it may read). Called before the gate checks a call, with
    /// the parameters the call's session would be opened with; without connecting. Added to
    /// [`Plugin::policy`]'s rules and the host's: it can only tighten. The default declares
    /// nothing.
    fn policy_for(params: &ConnectParams) -> EnginePolicy {
        let _ = params;
        EnginePolicy::default()
    }
}

/// An open session. See [`ConnectionAbi`] for the protocol the host follows.
pub trait Connection: Send {
    /// Starts the host-owned transaction in the session's access mode.
    fn begin(&mut self) -> PluginResult<()>;

    /// Runs one statement (never several) with bound parameters and returns its cursor.
    fn execute<'a>(
        &'a mut self,
        sql: &str,
        params: &[Value],
        row_limit_hint: u64,
    ) -> PluginResult<Box<dyn Cursor + 'a>>;

    /// Commits the host-owned transaction.
    fn commit(&mut self) -> PluginResult<()>;

    /// Rolls the host-owned transaction back.
    fn rollback(&mut self) -> PluginResult<()>;

    /// A handle that can cancel the running statement from another thread.
    fn cancel_handle(&self) -> PluginResult<Box<dyn CancelHandle>>;

    /// Server version, current database and user.
    fn server_info(&mut self) -> PluginResult<ServerInfo>;

    /// Schema introspection. The default says it is unsupported.
    fn introspect(&mut self, request: &IntrospectRequest) -> PluginResult<IntrospectResult> {
        let _ = request;
        Err(PluginError::unsupported(
            "this plugin does not implement introspection",
        ))
    }

    /// What the names of a call resolve to at the engine, and the login's powers (API 1.2;
    /// see [`crate::reach`]). Runs in the session, inside the host's transaction, before the
    /// statements; it must only read the catalog. The default says it is unsupported, and
    /// the host then refuses every function its gate does not know.
    fn reach(&mut self, request: &ReachRequest) -> PluginResult<ReachReport> {
        let _ = request;
        Err(PluginError::unsupported(
            "this plugin cannot resolve names at the engine",
        ))
    }

    /// The write tier's engine fence (API 1.2): after a write-mode session's statements ran
    /// and before `commit`, whether the transaction changed the schema or a system catalog.
    /// The default cannot tell.
    fn write_fence(&mut self) -> PluginResult<FenceOutcome> {
        Ok(FenceOutcome::Unknown(
            "the plugin has no engine fence".into(),
        ))
    }

    /// Returns the session to the state it had when opened, so a long-running host can reuse
    /// it for another call (API 1.2; see [`ConnectionAbi::reset`]). Called outside any
    /// transaction. It must drop every temporary object, session variable, prepared
    /// statement, role change and lock an earlier call could have left, keep the session's
    /// access mode and settings, and fail (the host then closes the session) when it cannot
    /// prove the reset complete or the connection is gone. The default says it is
    /// unsupported, and the host never reuses the session.
    fn reset(&mut self) -> PluginResult<()> {
        Err(PluginError::unsupported(
            "this plugin cannot reset a session for reuse",
        ))
    }

    /// The engine's plan for `sql` (one statement the host's gate checked; `params` bound as
    /// for [`Connection::execute`]) without running it (API 1.2). Called inside the host's
    /// transaction, which the host rolls back. The host asks for it only when it has no
    /// reader of its own for the plugin's SQL dialect (it reads PostgreSQL, MySQL and SQLite
    /// plans itself).
    ///
    /// The answer is JSON text, one plan node: `{"node": "…", "relation": "…" or null,
    /// "alias": …, "index": …, "estimated_rows": number or null, "estimated_cost": number or
    /// null, "detail": "one line" or null, "children": [nodes]}`; only `node` is required.
    /// The host checks the shape, bounds its size (16 MiB) and depth (128), and refuses
    /// anything else. The default says it is unsupported.
    fn explain(&mut self, sql: &str, params: &[Value]) -> PluginResult<String> {
        let _ = (sql, params);
        Err(PluginError::unsupported(
            "this plugin cannot explain a statement",
        ))
    }
}

/// The rows of one statement.
pub trait Cursor {
    /// Result columns (empty when the statement returns no rows).
    fn columns(&self) -> Vec<Column>;

    /// Appends up to `max_rows` rows to `out` (row-major) and returns how many; 0 = done.
    fn fetch(&mut self, max_rows: usize, out: &mut RVec<Value>) -> PluginResult<usize>;

    /// Rows changed by a write, once exhausted.
    fn rows_affected(&self) -> Option<u64>;
}

/// Cancels a running statement from another thread.
pub trait CancelHandle: Send + Sync {
    /// Asks the engine to stop the running statement.
    fn cancel(&self) -> PluginResult<()>;
}

/// A cancel handle for engines that cannot cancel: it does nothing, successfully.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCancel;

impl CancelHandle for NoCancel {
    fn cancel(&self) -> PluginResult<()> {
        Ok(())
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Drops a panic payload whose own `Drop` may panic: each payload of such a panic is dropped
/// the same way, a few times over, and then leaked rather than let unwind.
fn drop_payload(payload: Box<dyn Any + Send>) {
    let mut payload = payload;
    for _ in 0..8 {
        match catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            Ok(()) => return,
            Err(next) => payload = next,
        }
    }
    std::mem::forget(payload);
}

/// Runs `call`, turning a panic into `None` (its payload dropped safely).
fn contain<T>(call: impl FnOnce() -> T) -> Option<T> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(value) => Some(value),
        Err(payload) => {
            drop_payload(payload);
            None
        }
    }
}

/// Runs `call`, turning both its error and a panic into an ABI error value.
fn guard<T>(call: impl FnOnce() -> PluginResult<T>) -> RResult<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(value)) => RResult::ROk(value),
        Ok(Err(error)) => RResult::RErr(error),
        Err(payload) => {
            let message = contain(|| panic_message(payload.as_ref()))
                .unwrap_or_else(|| "a panic payload that panicked".to_owned());
            drop_payload(payload);
            RResult::RErr(PluginError::internal(format!("plugin panicked: {message}")))
        }
    }
}

/// Something a plugin returned, dropped where a panic in its `Drop` is caught: the adapters
/// hold their plugin object in one, so the host's drop of a cursor, session or cancel handle
/// never unwinds across the boundary.
struct Contained<T>(Option<T>);

impl<T> Contained<T> {
    fn new(value: T) -> Self {
        Contained(Some(value))
    }
}

impl<T> std::ops::Deref for Contained<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.0 {
            Some(value) => value,
            // Emptied only by `drop`; a panic here would be caught by the adapter's guard.
            None => unreachable!("a dropped plugin object is never used"),
        }
    }
}

impl<T> std::ops::DerefMut for Contained<T> {
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.0 {
            Some(value) => value,
            None => unreachable!("a dropped plugin object is never used"),
        }
    }
}

impl<T> Drop for Contained<T> {
    fn drop(&mut self) {
        if let Some(value) = self.0.take() {
            contain(move || drop(value));
        }
    }
}

struct CancelAdapter(Contained<Box<dyn CancelHandle>>);

impl CancelHandleAbi for CancelAdapter {
    fn cancel(&self) -> RResult<(), PluginError> {
        guard(|| self.0.cancel())
    }
}

struct CursorAdapter<'a>(Contained<Box<dyn Cursor + 'a>>);

impl CursorAbi for CursorAdapter<'_> {
    fn columns(&self) -> RVec<Column> {
        // A panic here cannot be reported as an error: an empty column list makes the host
        // reject any row the cursor then returns.
        contain(|| self.0.columns())
            .map(RVec::from)
            .unwrap_or_default()
    }

    fn fetch(&mut self, max_rows: u32, out: &mut RVec<Value>) -> RResult<u32, PluginError> {
        guard(|| {
            let rows = self.0.fetch(max_rows as usize, out)?;
            u32::try_from(rows)
                .ok()
                .filter(|&rows| rows <= max_rows)
                .ok_or_else(|| PluginError::internal("cursor returned more rows than asked for"))
        })
    }

    fn rows_affected(&self) -> ROption<u64> {
        contain(|| self.0.rows_affected()).flatten().into()
    }
}

struct ConnectionAdapter(Contained<Box<dyn Connection>>);

impl ConnectionAbi for ConnectionAdapter {
    fn begin(&mut self) -> RResult<(), PluginError> {
        guard(|| self.0.begin())
    }

    fn execute<'a>(
        &'a mut self,
        sql: RStr<'_>,
        params: RSlice<'_, Value>,
        row_limit_hint: u64,
    ) -> RResult<CursorBox<'a>, PluginError> {
        guard(|| {
            let cursor = self
                .0
                .execute(sql.as_str(), params.as_slice(), row_limit_hint)?;
            Ok(CursorAbi_TO::from_value(
                CursorAdapter(Contained::new(cursor)),
                TD_Opaque,
            ))
        })
    }

    fn commit(&mut self) -> RResult<(), PluginError> {
        guard(|| self.0.commit())
    }

    fn rollback(&mut self) -> RResult<(), PluginError> {
        guard(|| self.0.rollback())
    }

    fn cancel_handle(&self) -> RResult<CancelHandleBox, PluginError> {
        guard(|| {
            let handle = self.0.cancel_handle()?;
            Ok(CancelHandleAbi_TO::from_value(
                CancelAdapter(Contained::new(handle)),
                TD_Opaque,
            ))
        })
    }

    fn server_info(&mut self) -> RResult<ServerInfo, PluginError> {
        guard(|| self.0.server_info())
    }

    fn introspect(
        &mut self,
        request: &IntrospectRequest,
    ) -> RResult<IntrospectResult, PluginError> {
        guard(|| self.0.introspect(request))
    }

    fn reach(&mut self, request: &ReachRequest) -> RResult<ReachReport, PluginError> {
        guard(|| self.0.reach(request))
    }

    fn write_fence(&mut self) -> RResult<FenceOutcome, PluginError> {
        guard(|| self.0.write_fence())
    }

    fn reset(&mut self) -> RResult<(), PluginError> {
        guard(|| self.0.reset())
    }

    fn explain(
        &mut self,
        sql: RStr<'_>,
        params: RSlice<'_, Value>,
    ) -> RResult<RString, PluginError> {
        guard(|| {
            self.0
                .explain(sql.as_str(), params.as_slice())
                .map(RString::from)
        })
    }
}

/// The plugin-API version this crate implements.
pub const API_VERSION: ApiVersion = ApiVersion {
    major: parse_u32(env!("CARGO_PKG_VERSION_MAJOR")),
    minor: parse_u32(env!("CARGO_PKG_VERSION_MINOR")),
};

const fn parse_u32(text: &str) -> u32 {
    let bytes = text.as_bytes();
    let mut value = 0u32;
    let mut index = 0;
    while index < bytes.len() {
        value = value * 10 + (bytes[index] - b'0') as u32;
        index += 1;
    }
    value
}

extern "C" fn info_entry<P: Plugin>() -> RResult<PluginInfo, PluginError> {
    guard(|| Ok(P::info()))
}

extern "C" fn about_entry<P: Plugin>() -> RResult<PluginAbout, PluginError> {
    guard(|| Ok(P::about()))
}

extern "C" fn policy_entry<P: Plugin>() -> RResult<EnginePolicy, PluginError> {
    guard(|| Ok(P::policy()))
}

extern "C" fn policy_for_entry<P: Plugin>(
    params: &ConnectParams,
) -> RResult<EnginePolicy, PluginError> {
    guard(|| Ok(P::policy_for(params)))
}

extern "C" fn connect_entry<P: Plugin>(
    params: &ConnectParams,
) -> RResult<ConnectionBox, PluginError> {
    guard(|| {
        let connection = P::connect(params)?;
        Ok(ConnectionAbi_TO::from_value(
            ConnectionAdapter(Contained::new(connection)),
            TD_Opaque,
        ))
    })
}

/// Builds the root module for plugin `P`. Used by [`crate::export_plugin!`].
pub fn root_module<P: Plugin>() -> PluginModuleRef {
    use abi_stable::prefix_type::PrefixTypeTrait;
    // Panics are caught and returned as errors; the default hook would also print them (and
    // whatever they contain) to stderr from inside the host process.
    std::panic::set_hook(Box::new(|_| {}));
    PluginModule {
        api_version: API_VERSION,
        info: info_entry::<P>,
        connect: connect_entry::<P>,
        about: about_entry::<P>,
        policy: policy_entry::<P>,
        policy_for: policy_for_entry::<P>,
    }
    .leak_into_prefix()
}
