//! `plenum-plugin-api`: the contract between the Plenum host and its database engine plugins.
//!
//! A plugin is a `cdylib` that implements [`Plugin`], [`Connection`], [`Cursor`] and
//! [`CancelHandle`] in ordinary Rust and exports them with [`export_plugin!`]. The host loads it
//! at run time through [`abi_stable`], so host and plugin may be built by different compilers.
//!
//! What the contract guarantees:
//!
//! * The host validates every statement before a plugin sees it; a plugin receives exactly one
//!   statement per [`Connection::execute`] call and there is no call that runs anything else.
//! * The host owns limits: it pulls rows in batches and stops when it has enough.
//! * A panic inside a plugin entry point becomes an [`ErrorKind::Internal`] error value.
//!
//! What the contract asks of a plugin:
//!
//! * A session opened with [`AccessMode::Read`] is read-only at the engine.
//! * `execute` uses the engine's one-statement protocol (prepared statements), so even SQL that
//!   slipped past the gate cannot run a second statement.
//! * Messages never contain the password.
//! * Since API 1.2, [`Connection::reach`] answers from the engine's catalog what a call's names
//!   resolve to (user routines, views, triggers, system catalogs) and what the login can do,
//!   and [`Connection::write_fence`] whether a write-mode transaction changed the schema. Both
//!   only read; the host decides. A plugin without them still loads, and the host then refuses
//!   every function its gate does not know.
//! * Since API 1.2, [`Connection::reset`] returns a session to its state at connect so a
//!   long-running host (`plenum mcp`) can reuse it; a plugin without it never has a session
//!   reused.
// `unsafe` (denied in the workspace's Cargo.toml) is allowed only where abi_stable's macros
// expand (`abi`, `loader`) and in `__private`.

pub mod abi;
pub mod driver;
pub mod error;
pub mod introspect;
pub mod policy;
pub mod reach;
pub mod types;

pub use abi::{
    ApiVersion, CancelHandleBox, ConnectionBox, CursorBox, PluginModule, PluginModuleRef,
};
pub use driver::{CancelHandle, Connection, Cursor, NoCancel, Plugin, API_VERSION};
pub use error::{ErrorKind, PluginError, PluginResult};
pub use introspect::{
    ColumnInfo, ForeignKeyInfo, IndexInfo, IntrospectOp, IntrospectRequest, IntrospectResult,
    TableDetail, TableKind, TableSummary,
};
pub use policy::{EnginePolicy, FunctionRule, Lexing, RelationRule, RuleEffect, StatementRule};
pub use reach::{
    FenceOutcome, LoginPower, ReachReport, ReachRequest, ResolvedFunction, ResolvedRelation,
    Routine, SqlName,
};
pub use types::{
    AccessMode, Capabilities, Column, ConnectParams, PluginAbout, PluginInfo, ServerInfo, SslMode,
    Value,
};

/// Re-exported so plugins and the host name the same version of the ABI crate.
pub use abi_stable;

/// The exported symbol's name, as `abi_stable` 0.11 mangles it (checked by a test).
#[doc(hidden)]
pub const ROOT_MODULE_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

/// Exports a [`Plugin`] implementation as the library's root module.
///
/// ```ignore
/// struct MyPlugin;
/// impl plenum_plugin_api::Plugin for MyPlugin { /* … */ }
/// plenum_plugin_api::export_plugin!(MyPlugin);
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        #[no_mangle]
        pub static _1as_0lib_1header_0root_bmodule_bloader: $crate::abi_stable::library::LibHeader =
            $crate::__private::lib_header::<$plugin>();
    };
}

#[doc(hidden)]
pub mod __private {
    //! Support for [`export_plugin!`]; not part of the public API.
    #![allow(unsafe_code)]

    use abi_stable::library::{
        __call_root_module_loader, CheckTypeLayout, LibHeader, RootModuleResult,
    };

    use crate::{Plugin, PluginModuleRef};

    extern "C" fn load_root_module<P: Plugin>() -> RootModuleResult {
        __call_root_module_loader(crate::driver::root_module::<P>)
    }

    /// The library header `abi_stable` looks for, with `P`'s root module as constructor.
    pub const fn lib_header<P: Plugin>() -> LibHeader {
        // SAFETY: the constructor returns the `PluginModuleRef` built by `root_module::<P>`,
        // which is the module type named here, as `from_constructor` requires.
        unsafe {
            LibHeader::from_constructor::<PluginModuleRef>(
                load_root_module::<P>,
                CheckTypeLayout::Yes,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn exported_symbol_matches_abi_stable() {
        assert_eq!(
            super::ROOT_MODULE_SYMBOL,
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }

    #[test]
    fn api_version_follows_the_crate_version() {
        assert_eq!(
            super::API_VERSION.to_string(),
            format!(
                "{}.{}",
                env!("CARGO_PKG_VERSION_MAJOR"),
                env!("CARGO_PKG_VERSION_MINOR")
            )
        );
    }
}

/// Loading plugin libraries across 1.x minor versions (used by the host and the conformance kit).
pub mod loader;
