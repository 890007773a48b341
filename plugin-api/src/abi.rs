//! The ABI-stable objects the host calls: the root module and the trait objects for a
//! connection, a cursor and a cancel handle.
//!
//! Plugin authors do not implement these directly; they implement the ordinary Rust traits of
//! [`crate::driver`] and [`crate::export_plugin!`] wraps them, catching panics on the way.
// abi_stable 0.11's `#[sabi_trait]` expands to impls inside consts and to `unsafe` vtable code;
// this module writes no `unsafe` of its own.
#![allow(non_local_definitions, unsafe_code)]

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RBox, ROption, RResult, RSlice, RStr, RString, RVec};
use abi_stable::{package_version_strings, sabi_trait, StableAbi};

use crate::error::PluginError;
use crate::introspect::{IntrospectRequest, IntrospectResult};
use crate::policy::EnginePolicy;
use crate::reach::{FenceOutcome, ReachReport, ReachRequest};
use crate::types::{Column, ConnectParams, PluginAbout, PluginInfo, ServerInfo, Value};

/// Cancels the statement running on a connection, from another thread.
#[sabi_trait]
pub trait CancelHandleAbi: Send + Sync {
    /// Asks the engine to stop the running statement. Must return promptly.
    #[sabi(last_prefix_field)]
    fn cancel(&self) -> RResult<(), PluginError>;
}

/// An owned cancel handle object.
pub type CancelHandleBox = CancelHandleAbi_TO<'static, RBox<()>>;

/// The rows of one executing statement. The host pulls batches and stops when it has enough.
#[sabi_trait]
pub trait CursorAbi {
    /// Columns of the result (empty for statements that return no rows).
    fn columns(&self) -> RVec<Column>;

    /// Appends up to `max_rows` rows to `out`, row-major (`columns().len()` values a row), and
    /// returns how many rows it appended; 0 means the result is exhausted.
    fn fetch(&mut self, max_rows: u32, out: &mut RVec<Value>) -> RResult<u32, PluginError>;

    /// Rows changed by a write statement, once the cursor is exhausted.
    #[sabi(last_prefix_field)]
    fn rows_affected(&self) -> ROption<u64>;
}

/// A cursor object that borrows its connection for `'a`.
pub type CursorBox<'a> = CursorAbi_TO<'a, RBox<()>>;

/// One open session with a database, in the access mode it was opened with.
///
/// The host drives it: `begin`, then `execute` one validated statement at a time, then
/// `commit` or `rollback`. There is deliberately no call that takes several statements.
#[sabi_trait]
pub trait ConnectionAbi: Send {
    /// Starts the host-owned transaction, in the session's access mode.
    fn begin(&mut self) -> RResult<(), PluginError>;

    /// Runs exactly one statement that the host's gate accepted, with bound parameters.
    /// `row_limit_hint` is how many rows the host will read at most (0 = no hint); a plugin
    /// may use it to stop the server early, never to return fewer rows than that.
    fn execute<'a>(
        &'a mut self,
        sql: RStr<'_>,
        params: RSlice<'_, Value>,
        row_limit_hint: u64,
    ) -> RResult<CursorBox<'a>, PluginError>;

    /// Commits the host-owned transaction.
    fn commit(&mut self) -> RResult<(), PluginError>;

    /// Rolls the host-owned transaction back.
    fn rollback(&mut self) -> RResult<(), PluginError>;

    /// A handle that cancels the running statement from another thread.
    fn cancel_handle(&self) -> RResult<CancelHandleBox, PluginError>;

    /// Server version, current database and user.
    fn server_info(&mut self) -> RResult<ServerInfo, PluginError>;

    /// Schema introspection through bound catalog queries.
    #[sabi(last_prefix_field)]
    fn introspect(&mut self, request: &IntrospectRequest)
        -> RResult<IntrospectResult, PluginError>;

    /// Since API 1.2: what the names of a call resolve to at the engine, and the login's
    /// powers (see [`crate::reach`]). Called inside the host's transaction, before the
    /// statements run. Plugins built against 1.0 or 1.1 lack it; the default answers
    /// `Unsupported`.
    fn reach(&mut self, request: &ReachRequest) -> RResult<ReachReport, PluginError> {
        let _ = request;
        RResult::RErr(PluginError::unsupported(
            "this plugin cannot resolve names at the engine (plugin API before 1.2)",
        ))
    }

    /// Since API 1.2: the write tier's engine fence. Called in a write-mode session after the
    /// statements ran and before `commit`: did the transaction change the schema or a system
    /// catalog (through functions or triggers the gate could not see)?
    fn write_fence(&mut self) -> RResult<FenceOutcome, PluginError> {
        RResult::ROk(FenceOutcome::Unknown(
            "the plugin has no engine fence (plugin API before 1.2)".into(),
        ))
    }

    /// Since API 1.2: returns the session, outside any transaction, to the state it had when
    /// it was opened (PostgreSQL `DISCARD ALL`, MySQL `COM_RESET_CONNECTION`): no temporary
    /// objects, session variables, prepared statements, role, open transaction or locks from
    /// earlier calls, and still in the access mode it was opened with. A long-running host
    /// calls it before it reuses a session for another call; an error (also a lost
    /// connection) means the session is closed instead. The default answers `Unsupported`,
    /// and such sessions are never reused.
    fn reset(&mut self) -> RResult<(), PluginError> {
        RResult::RErr(PluginError::unsupported(
            "this plugin cannot reset a session for reuse",
        ))
    }

    /// Since API 1.2: the engine's plan for one statement the gate already checked, without
    /// running it, as JSON text in the host's plan-tree form (see
    /// [`crate::driver::Connection::explain`]). Called inside the host's transaction, which
    /// is rolled back after. The host uses it for `--explain` when it has no reader of its own
    /// for the plugin's SQL dialect; the default answers `Unsupported`.
    fn explain(
        &mut self,
        sql: RStr<'_>,
        params: RSlice<'_, Value>,
    ) -> RResult<RString, PluginError> {
        let _ = (sql, params);
        RResult::RErr(PluginError::unsupported(
            "this plugin cannot explain a statement",
        ))
    }
}

/// An owned connection object.
pub type ConnectionBox = ConnectionAbi_TO<'static, RBox<()>>;

/// The plugin-API version a library was built against.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiVersion {
    /// Incompatible changes.
    pub major: u32,
    /// Compatible additions (fields appended to prefix types).
    pub minor: u32,
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The root module every plugin library exports.
///
/// A prefix type: later minor versions of the API append fields after the last prefix field,
/// and a host reads them through `Option`-returning accessors.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(option))]
pub struct PluginModule {
    /// The plugin-API version the plugin was built against.
    pub api_version: ApiVersion,
    /// What the plugin is: name, engines, version, dialect, capabilities.
    pub info: extern "C" fn() -> RResult<PluginInfo, PluginError>,
    /// Opens a session in the access mode of `params`.
    #[sabi(last_prefix_field)]
    pub connect: extern "C" fn(&ConnectParams) -> RResult<ConnectionBox, PluginError>,
    /// Since API 1.1: who maintains the plugin and under what license. A host reads it
    /// through an `Option`-returning accessor, which is `None` for plugins built against 1.0.
    pub about: extern "C" fn() -> RResult<PluginAbout, PluginError>,
    /// Since API 1.2: the engine's SQL policy, which the host's gate enforces on top of its
    /// own rules for the dialect (see [`crate::policy`]). `None` for plugins built against
    /// 1.0 or 1.1.
    pub policy: extern "C" fn() -> RResult<EnginePolicy, PluginError>,
    /// Since API 1.2: rules for one session, from the parameters the human set for it (a
    /// DuckDB session without allowed directories refuses the file readers that one with
    /// them confines). The host adds them to `policy`'s and to its own: they can only refuse
    /// more or raise tiers. `None` for plugins built without it.
    pub policy_for: extern "C" fn(&ConnectParams) -> RResult<EnginePolicy, PluginError>,
}

impl RootModule for PluginModuleRef {
    abi_stable::declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "plenum_plugin";
    const NAME: &'static str = "plenum_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
