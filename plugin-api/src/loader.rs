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
//! [`v1_0`] freezes 1.0 and [`v1_1`] 1.1) and check libraries of that minor version against
//! it; the same for methods appended to a trait object ([`v1_1_connection`]).
//!
//! [`v1_0`]: crate::loader::v1_0
//! [`v1_1`]: crate::loader::v1_1
//! [`v1_1_connection`]: crate::loader::v1_1_connection
// abi_stable's derive expands to `unsafe` code and impls inside consts.
#![allow(unsafe_code, non_local_definitions)]

use std::path::Path;

use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::prefix_type::PrefixRefTrait;

use crate::abi::PluginModuleRef;
use crate::driver::API_VERSION;

/// The connection object as plugin APIs 1.0 and 1.1 declared it; 1.2 appended `reach` and
/// `write_fence`. Libraries of those versions are checked against it: `abi_stable` accepts a
/// vtable with more methods than the loader's but not fewer. Never change it.
pub mod v1_1_connection {
    use abi_stable::sabi_trait;
    use abi_stable::std_types::{RBox, RResult, RSlice, RStr};

    use crate::abi::{CancelHandleBox, CursorBox};
    use crate::error::PluginError;
    use crate::introspect::{IntrospectRequest, IntrospectResult};
    use crate::types::{ServerInfo, Value};

    /// One open session (API 1.0 and 1.1).
    #[sabi_trait]
    pub trait ConnectionAbi: Send {
        /// Starts the host-owned transaction.
        fn begin(&mut self) -> RResult<(), PluginError>;
        /// Runs one validated statement.
        fn execute<'a>(
            &'a mut self,
            sql: RStr<'_>,
            params: RSlice<'_, Value>,
            row_limit_hint: u64,
        ) -> RResult<CursorBox<'a>, PluginError>;
        /// Commits.
        fn commit(&mut self) -> RResult<(), PluginError>;
        /// Rolls back.
        fn rollback(&mut self) -> RResult<(), PluginError>;
        /// A cancel handle.
        fn cancel_handle(&self) -> RResult<CancelHandleBox, PluginError>;
        /// Server facts.
        fn server_info(&mut self) -> RResult<ServerInfo, PluginError>;
        /// Introspection.
        #[sabi(last_prefix_field)]
        fn introspect(
            &mut self,
            request: &IntrospectRequest,
        ) -> RResult<IntrospectResult, PluginError>;
    }

    /// An owned 1.1 connection object.
    pub type ConnectionBox = ConnectionAbi_TO<'static, RBox<()>>;
}

/// The root module exactly as plugin API 1.1 declared it (1.0's plus `about`). Never change it.
pub mod v1_1 {
    use abi_stable::library::RootModule;
    use abi_stable::sabi_types::VersionStrings;
    use abi_stable::std_types::RResult;
    use abi_stable::{package_version_strings, StableAbi};

    use super::v1_1_connection::ConnectionBox;
    use crate::abi::ApiVersion;
    use crate::error::PluginError;
    use crate::types::{ConnectParams, PluginAbout, PluginInfo};

    /// The 1.1 root module.
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
        /// Who maintains the plugin.
        pub about: extern "C" fn() -> RResult<PluginAbout, PluginError>,
    }

    impl RootModule for PluginModuleRef {
        abi_stable::declare_root_module_statics! {PluginModuleRef}
        const BASE_NAME: &'static str = "plenum_plugin";
        const NAME: &'static str = "plenum_plugin";
        const VERSION_STRINGS: VersionStrings = package_version_strings!();
    }
}

/// The root module exactly as plugin API 1.0 declared it. Never change it.
pub mod v1_0 {
    use abi_stable::library::RootModule;
    use abi_stable::sabi_types::VersionStrings;
    use abi_stable::std_types::RResult;
    use abi_stable::{package_version_strings, StableAbi};

    use super::v1_1_connection::ConnectionBox;
    use crate::abi::ApiVersion;
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
    load_root_module_remembering(path, None)
}

/// [`load_root_module`], remembering in the file `memo` which libraries passed the layout
/// check, so that the check (most of the work of loading a plugin) runs once per library and
/// host binary rather than on every start.
///
/// `memo` must be a file that nobody but the current user (or root) can create, change or
/// replace, checked by the caller along its whole path: an entry in it makes the loader skip
/// the check. The loader refuses a memo that is not a regular file or that its group or others
/// may write, and creates it (mode 600) when it is missing. Without `memo`, or off Unix, every
/// load is checked.
pub fn load_root_module_remembering(
    path: &Path,
    memo: Option<&Path>,
) -> Result<PluginModuleRef, LibraryError> {
    let before = memo.and_then(|_| memo::identity(path));
    let header = lib_header_from_path(path)?;
    // The key names the exact library that was opened (it is the same before and after) and
    // the exact host binary that is running.
    let key = match (before, memo.and_then(|_| memo::identity(path))) {
        (Some(before), Some(after)) if before == after => {
            memo::host_identity().map(|host| memo::key(&host, &before))
        }
        _ => None,
    };
    if let (Some(memo), Some(key)) = (memo, &key) {
        if memo::lists(memo, key) {
            // SAFETY: the layout check is a pure function of the host binary's expected layout
            // and the library's exported one, both fixed by their bytes. The entry was written
            // only after this host binary's check of the live layout passed for this library
            // (below), and the key pins both files: device and inode name each one, and size,
            // modification and status-change times change whenever their content changes
            // through the file system (nobody can set a status-change time; the library is
            // identified before and after it was opened, so it is the file that was mapped).
            // Entries are only written for files whose times are more than
            // `memo::SETTLED` old, so a file system that keeps times in whole seconds cannot
            // hide a change made within the same second. Only the user or root can write the
            // memo (checked by the caller, and its mode here), and they could replace the
            // library itself.
            return unsafe { header.init_root_module_with_unchecked_layout::<PluginModuleRef>() };
        }
    }
    // A library of the live layout (the common case) needs one layout check, not two: the
    // check walks every type the root module reaches and is most of a cold start's work.
    if header.ensure_layout::<PluginModuleRef>().is_ok() {
        if let (Some(memo), Some(key)) = (memo, &key) {
            if memo::settled(path) && memo::host_settled() {
                memo::add(memo, key);
            }
        }
        // SAFETY: the layout of the live root module was checked just above.
        return unsafe { header.init_root_module_with_unchecked_layout::<PluginModuleRef>() };
    }
    let base = header.init_root_module::<v1_0::PluginModuleRef>()?;
    let api = base.api_version();
    // Each minor version's fields are checked against the layout that version declared:
    // 1.1 added `about`, 1.2 (the live layout) `policy`.
    if api.major == API_VERSION.major && api.minor >= 2 {
        header.ensure_layout::<PluginModuleRef>()?;
    } else if api.major == API_VERSION.major && api.minor == 1 {
        header.ensure_layout::<v1_1::PluginModuleRef>()?;
    }
    // SAFETY: the library's root module passed the layout check of the 1.0 root module, whose
    // fields are the first fields of the live one, in the same order, with the same types;
    // fields after them were checked above when the library has them, and their accessors
    // read the library's own field-accessibility bits, so a missing field reads as `None`.
    // The same holds one level down for the connection object: its vtable passed the check of
    // the 1.1 vtable, whose methods are the first of the live one; the live methods appended
    // after it (`reach`, `write_fence`) read the vtable's own accessibility bits and fall back
    // to their default bodies when it lacks them.
    let fields = unsafe {
        base.to_prefix_ref()
            .cast::<<PluginModuleRef as PrefixRefTrait>::PrefixFields>()
    };
    Ok(PluginModuleRef::from_prefix_ref(fields))
}

/// The record of libraries whose layout passed: one line per (host binary, library) pair.
mod memo {
    use std::path::Path;
    #[cfg(unix)]
    use std::time::{Duration, SystemTime};

    /// The memo is read up to this size; longer ones are ignored (and rewritten).
    #[cfg(unix)]
    const MAX_BYTES: u64 = 64 << 10;
    /// Entries kept when one is added (the newest).
    #[cfg(unix)]
    const MAX_ENTRIES: usize = 64;
    /// How old a file's times must be before its identity is recorded.
    #[cfg(unix)]
    pub const SETTLED: Duration = Duration::from_secs(2);

    /// A file's identity: device, inode, size, modification and status-change times.
    #[cfg(unix)]
    pub fn identity(path: &Path) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        let metadata = std::fs::metadata(path).ok()?;
        Some(format!(
            "{}:{}:{}:{}.{}:{}.{}",
            metadata.dev(),
            metadata.ino(),
            metadata.size(),
            metadata.mtime(),
            metadata.mtime_nsec(),
            metadata.ctime(),
            metadata.ctime_nsec()
        ))
    }

    #[cfg(not(unix))]
    pub fn identity(_path: &Path) -> Option<String> {
        None
    }

    /// The running host binary (on Linux the running image itself, even if the file was
    /// replaced since it started).
    fn host() -> Option<std::path::PathBuf> {
        #[cfg(target_os = "linux")]
        return Some(std::path::PathBuf::from("/proc/self/exe"));
        #[cfg(not(target_os = "linux"))]
        return std::env::current_exe().ok();
    }

    /// The running host binary's identity.
    pub fn host_identity() -> Option<String> {
        identity(&host()?)
    }

    /// Whether the host binary's times are settled (see [`settled`]).
    pub fn host_settled() -> bool {
        host().is_some_and(|host| settled(&host))
    }

    /// The sources that define the root module's layout: this crate's modules. With the
    /// host binary's identity in the key, a host started through another program (valgrind,
    /// `ld.so`), whose `/proc/self/exe` is that program, still finds only entries of its own
    /// layout.
    const SOURCES: [&[u8]; 9] = [
        include_bytes!("abi.rs"),
        include_bytes!("driver.rs"),
        include_bytes!("error.rs"),
        include_bytes!("introspect.rs"),
        include_bytes!("lib.rs"),
        include_bytes!("loader.rs"),
        include_bytes!("policy.rs"),
        include_bytes!("reach.rs"),
        include_bytes!("types.rs"),
    ];

    /// FNV-1a of [`SOURCES`], computed while compiling.
    const SOURCE_FINGERPRINT: u64 = {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut file = 0;
        while file < SOURCES.len() {
            let bytes = SOURCES[file];
            let mut at = 0;
            while at < bytes.len() {
                hash ^= bytes[at] as u64;
                hash = hash.wrapping_mul(0x0100_0000_01b3);
                at += 1;
            }
            file += 1;
        }
        hash
    };

    /// The memo line for the running host and `library`: the format, what defines the
    /// expected layout (this crate's sources and `abi_stable`'s version), and both identities.
    pub fn key(host: &str, library: &str) -> String {
        format!(
            "1 {SOURCE_FINGERPRINT:016x}-{} {host} {library}",
            abi_stable::ABI_STABLE_VERSION.version
        )
    }

    /// Whether `path`'s modification and status-change times are more than [`SETTLED`] old.
    #[cfg(unix)]
    pub fn settled(path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Ok(metadata) = std::fs::metadata(path) else {
            return false;
        };
        let Some(limit) = SystemTime::now()
            .checked_sub(SETTLED)
            .and_then(|limit| limit.duration_since(SystemTime::UNIX_EPOCH).ok())
        else {
            return false;
        };
        let limit = i64::try_from(limit.as_secs()).unwrap_or(i64::MAX);
        // Whole seconds, rounded up: a time within the limit's second is not settled.
        metadata.mtime() < limit && metadata.ctime() < limit
    }

    #[cfg(not(unix))]
    pub fn settled(_path: &Path) -> bool {
        false
    }

    /// The memo's text, if it is a regular file that only its owner may write.
    #[cfg(unix)]
    fn read(memo: &Path) -> Option<String> {
        use std::io::Read;
        use std::os::unix::fs::PermissionsExt;
        let file = std::fs::File::open(memo).ok()?;
        let metadata = file.metadata().ok()?;
        if !metadata.is_file()
            || metadata.permissions().mode() & 0o022 != 0
            || metadata.len() > MAX_BYTES
        {
            return None;
        }
        // Room for the whole file: it is read in one system call (and one that finds its end),
        // not in doubling steps from 32 bytes, as `take` hides the file's size from the read.
        let mut text = String::with_capacity(usize::try_from(metadata.len()).ok()? + 1);
        file.take(MAX_BYTES).read_to_string(&mut text).ok()?;
        Some(text)
    }

    /// Whether the memo records `key`.
    #[cfg(unix)]
    pub fn lists(memo: &Path, key: &str) -> bool {
        read(memo).is_some_and(|text| text.lines().any(|line| line == key))
    }

    #[cfg(not(unix))]
    pub fn lists(_memo: &Path, _key: &str) -> bool {
        false
    }

    /// Records `key` (best effort: a memo that cannot be written only costs the next start a
    /// check). The new memo is written beside the old one and renamed over it, so a reader
    /// never sees half of it.
    #[cfg(unix)]
    pub fn add(memo: &Path, key: &str) {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let Some(folder) = memo.parent() else { return };
        let old = read(memo).unwrap_or_default();
        let mut lines: Vec<&str> = old
            .lines()
            .filter(|line| line.starts_with("1 ") && *line != key)
            .collect();
        lines.push(key);
        let keep = lines.len().saturating_sub(MAX_ENTRIES);
        let mut text = lines[keep..].join("\n");
        text.push('\n');
        let temporary = folder.join(format!(".layout-memo.{}.tmp", std::process::id()));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)
            .and_then(|mut file| file.write_all(text.as_bytes()));
        if written.is_err() || std::fs::rename(&temporary, memo).is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
    }

    #[cfg(not(unix))]
    pub fn add(_memo: &Path, _key: &str) {}
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_layout_memo_fingerprints_every_source_file() {
        let listed = [
            "abi.rs",
            "driver.rs",
            "error.rs",
            "introspect.rs",
            "lib.rs",
            "loader.rs",
            "policy.rs",
            "reach.rs",
            "types.rs",
        ];
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found: Vec<String> = std::fs::read_dir(&folder)
            .expect("src folder")
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        found.sort();
        assert_eq!(
            found, listed,
            "a source file was added or removed: update memo::SOURCES in loader.rs, which keys \
             the layout memo"
        );
    }

    #[test]
    fn every_minor_version_has_its_layout_check() {
        let minor: u32 = env!("CARGO_PKG_VERSION_MINOR")
            .parse()
            .expect("the crate version's minor is a number");
        assert!(
            minor <= 2,
            "plugin API 1.{minor} appended fields: freeze the root module of the previous minor \
             version in loader.rs and check libraries of that version against it"
        );
    }
}
