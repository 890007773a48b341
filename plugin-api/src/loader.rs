//! Loading a plugin library so that a plugin built against any 1.x API loads in a host of a
//! later 1.x.
//!
//! `abi_stable`'s layout check accepts a library whose root module has *more* fields than the
//! loader's (a newer plugin) but not *fewer* (an older plugin). So the check runs against the
//! root module as API 1.0 declared it, which every 1.x library starts with, and the fields
//! appended since are checked against the layout of the minor version the library reports.
//! Reading those fields is then safe: the generated accessors consult the library's own record
//! of which fields it has, and return `None` for the ones it lacks.
//!
//! When a minor version appends a field, freeze the previous version's root module here (as
//! [`v1_0`] freezes 1.0) and check libraries of that minor version against it.
// abi_stable's derive expands to `unsafe` code and impls inside consts.
#![allow(unsafe_code, non_local_definitions)]

use std::path::Path;

use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::prefix_type::PrefixRefTrait;

use crate::abi::PluginModuleRef;
use crate::driver::API_VERSION;

/// The root module exactly as plugin API 1.0 declared it. Never change it.
pub mod v1_0 {
    use abi_stable::library::RootModule;
    use abi_stable::sabi_types::VersionStrings;
    use abi_stable::std_types::RResult;
    use abi_stable::{package_version_strings, StableAbi};

    use crate::abi::{ApiVersion, ConnectionBox};
    use crate::error::PluginError;
    use crate::types::{ConnectParams, PluginInfo};

    /// The 1.0 root module (same name and package as the live one, which the layout check
    /// compares).
    #[repr(C)]
    #[derive(StableAbi)]
    #[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
    #[sabi(missing_field(option))]
    pub struct PluginModule {
        /// The plugin-API version the plugin was built against.
        pub api_version: ApiVersion,
        /// What the plugin is.
        pub info: extern "C" fn() -> RResult<PluginInfo, PluginError>,
        /// Opens a session.
        #[sabi(last_prefix_field)]
        pub connect: extern "C" fn(&ConnectParams) -> RResult<ConnectionBox, PluginError>,
    }

    impl RootModule for PluginModuleRef {
        abi_stable::declare_root_module_statics! {PluginModuleRef}
        const BASE_NAME: &'static str = "plenum_plugin";
        const NAME: &'static str = "plenum_plugin";
        const VERSION_STRINGS: VersionStrings = package_version_strings!();
    }
}

/// Opens the plugin library at `path`, runs its root-module constructor and checks the layout
/// of every root-module field the library says it has (up to the ones this crate knows).
///
/// The caller must still compare [`PluginModuleRef::api_version`] with [`API_VERSION`] before
/// calling anything: a library of a newer minor version passes, and may expect more of its
/// host. Read a field appended after 1.0 only when the library's version includes it.
pub fn load_root_module(path: &Path) -> Result<PluginModuleRef, LibraryError> {
    let header = lib_header_from_path(path)?;
    // A library of the live layout (the common case) needs one layout check, not two: the
    // check walks every type the root module reaches and is most of a cold start's work.
    if header.ensure_layout::<PluginModuleRef>().is_ok() {
        // SAFETY: the layout of the live root module was checked just above.
        return unsafe { header.init_root_module_with_unchecked_layout::<PluginModuleRef>() };
    }
    let base = header.init_root_module::<v1_0::PluginModuleRef>()?;
    let api = base.api_version();
    // Every minor version after 1.0 is, so far, the live layout (1.1).
    if api.major == API_VERSION.major && api.minor >= 1 {
        header.ensure_layout::<PluginModuleRef>()?;
    }
    // SAFETY: the library's root module passed the layout check of the 1.0 root module, whose
    // fields are the first fields of the live one, in the same order, with the same types;
    // fields after them were checked above when the library has them, and their accessors
    // read the library's own field-accessibility bits, so a missing field reads as `None`.
    let fields = unsafe {
        base.to_prefix_ref()
            .cast::<<PluginModuleRef as PrefixRefTrait>::PrefixFields>()
    };
    Ok(PluginModuleRef::from_prefix_ref(fields))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_minor_version_has_its_layout_check() {
        let minor: u32 = env!("CARGO_PKG_VERSION_MINOR")
            .parse()
            .expect("the crate version's minor is a number");
        assert!(
            minor <= 1,
            "plugin API 1.{minor} appended fields: freeze the root module of the previous minor \
             version in loader.rs and check libraries of that version against it"
        );
    }
}
