//! A plugin for Plenum's own tests of plugin trust and loading. It serves engine `test-probe`
//! (every statement returns one row, `'probe'`), and these environment variables, read in the
//! host's process, change how it behaves:
//!
//! * `PLENUM_PROBE_LOG=FILE`: appends `dlopen` when the dynamic loader runs the library's
//!   initialiser (Linux), `constructor` when its root module is built and `info` when the host
//!   asks what it is. A refused library leaves the file untouched: proof that none of its code
//!   ran.
//! * `PLENUM_PROBE_LOAD_DELAY_MS=N`: the root-module constructor sleeps N ms (a slow load).
//! * `PLENUM_PROBE_DLOPEN_DELAY_MS=N`: the loader's initialiser sleeps N ms (Linux), after
//!   logging `dlopen`: a load stuck inside `dlopen`, with the dynamic linker's lock held.
//! * `PLENUM_PROBE_DIALECT=NAME`: the SQL dialect `info` declares (default `sqlite`).
//! * `PLENUM_PROBE_API=MAJOR.MINOR`: the plugin-API version the root module reports.
//! * `PLENUM_PROBE_PLAN=TEXT`: what `explain` answers (API 1.2), with `{sql}` replaced by the
//!   statement it was given; unset, `explain` is unsupported. `explain` also appends `explain`
//!   to the log.
//! * `PLENUM_PROBE_ALLOW=NAME,…`: the policy declares each function `NAME` as needing only
//!   the read tier: a plugin trying to allow what the host refuses. Unset, it declares none.
//!
//! Exporting a root module by hand and registering a loader initialiser need `unsafe`
//! attributes; they are allowed on exactly those items.

use std::io::Write;

use plenum_plugin_api::abi_stable::library::{
    __call_root_module_loader, CheckTypeLayout, LibHeader, RootModuleResult,
};
use plenum_plugin_api::abi_stable::prefix_type::PrefixTypeTrait;
use plenum_plugin_api::abi_stable::std_types::{RResult, RVec};
use plenum_plugin_api::{
    ApiVersion, CancelHandle, Capabilities, Column, ConnectParams, Connection, Cursor, NoCancel,
    Plugin, PluginAbout, PluginError, PluginInfo, PluginModule, PluginModuleRef, PluginResult,
    ServerInfo, Value,
};

fn record(event: &str) {
    let Some(path) = std::env::var_os("PLENUM_PROBE_LOG") else {
        return;
    };
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{event}");
    }
}

/// Runs when the dynamic loader maps the library, before any Plenum code could look at it.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // `link_section`: registering an initialiser is what is being tested.
#[used]
#[link_section = ".init_array"]
static RECORD_DLOPEN: extern "C" fn() = {
    extern "C" fn on_dlopen() {
        record("dlopen");
        if let Some(delay) = std::env::var("PLENUM_PROBE_DLOPEN_DELAY_MS")
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
        {
            std::thread::sleep(std::time::Duration::from_millis(delay));
        }
    }
    on_dlopen
};

/// The test plugin.
pub struct ProbePlugin;

impl Plugin for ProbePlugin {
    fn info() -> PluginInfo {
        record("info");
        PluginInfo {
            name: "plenum-probe".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            engines: RVec::from(vec!["test-probe".into()]),
            dialect: std::env::var("PLENUM_PROBE_DIALECT")
                .unwrap_or_else(|_| "sqlite".to_owned())
                .into(),
            capabilities: Capabilities::default(),
            description: "records when its code runs; misbehaves on request".into(),
        }
    }

    fn connect(_params: &ConnectParams) -> PluginResult<Box<dyn Connection>> {
        Ok(Box::new(ProbeConnection))
    }

    fn policy() -> plenum_plugin_api::EnginePolicy {
        let mut policy = plenum_plugin_api::EnginePolicy::default();
        let allowed = std::env::var("PLENUM_PROBE_ALLOW").unwrap_or_default();
        for name in allowed.split(',').filter(|name| !name.is_empty()) {
            policy.function_needs(name, plenum_plugin_api::AccessMode::Read);
        }
        policy
    }
}

struct ProbeConnection;

impl Connection for ProbeConnection {
    fn begin(&mut self) -> PluginResult<()> {
        Ok(())
    }

    fn execute<'a>(
        &'a mut self,
        _sql: &str,
        _params: &[Value],
        _row_limit_hint: u64,
    ) -> PluginResult<Box<dyn Cursor + 'a>> {
        Ok(Box::new(OneRow { done: false }))
    }

    fn commit(&mut self) -> PluginResult<()> {
        Ok(())
    }

    fn rollback(&mut self) -> PluginResult<()> {
        Ok(())
    }

    fn cancel_handle(&self) -> PluginResult<Box<dyn CancelHandle>> {
        Ok(Box::new(NoCancel))
    }

    fn server_info(&mut self) -> PluginResult<ServerInfo> {
        Ok(ServerInfo {
            version: "probe".into(),
            ..ServerInfo::default()
        })
    }

    fn explain(&mut self, sql: &str, _params: &[Value]) -> PluginResult<String> {
        record("explain");
        match std::env::var("PLENUM_PROBE_PLAN") {
            Ok(plan) => Ok(plan.replace("{sql}", sql)),
            Err(_) => Err(PluginError::unsupported("the probe cannot explain")),
        }
    }
}

struct OneRow {
    done: bool,
}

impl Cursor for OneRow {
    fn columns(&self) -> Vec<Column> {
        vec![Column::new("probe", "TEXT")]
    }

    fn fetch(&mut self, _max_rows: usize, out: &mut RVec<Value>) -> PluginResult<usize> {
        if std::mem::replace(&mut self.done, true) {
            return Ok(0);
        }
        out.push(Value::Text("probe".into()));
        Ok(1)
    }

    fn rows_affected(&self) -> Option<u64> {
        None
    }
}

extern "C" fn no_policy() -> RResult<plenum_plugin_api::EnginePolicy, PluginError> {
    RResult::ROk(plenum_plugin_api::EnginePolicy::default())
}

extern "C" fn about() -> RResult<PluginAbout, PluginError> {
    RResult::ROk(PluginAbout {
        license: plenum_plugin_api::abi_stable::std_types::ROption::RSome(
            "MIT OR Apache-2.0".into(),
        ),
        ..PluginAbout::default()
    })
}

fn reported_api(default: ApiVersion) -> ApiVersion {
    std::env::var("PLENUM_PROBE_API")
        .ok()
        .and_then(|text| {
            let (major, minor) = text.split_once('.')?;
            Some(ApiVersion {
                major: major.trim().parse().ok()?,
                minor: minor.trim().parse().ok()?,
            })
        })
        .unwrap_or(default)
}

/// The standard root module, rebuilt with the reported API version, after the requested delay.
fn probe_module() -> PluginModuleRef {
    record("constructor");
    if let Some(delay) = std::env::var("PLENUM_PROBE_LOAD_DELAY_MS")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(delay));
    }
    let standard = plenum_plugin_api::driver::root_module::<ProbePlugin>();
    PluginModule {
        api_version: reported_api(standard.api_version()),
        info: standard.info(),
        connect: standard.connect(),
        about,
        // The standard policy: nothing unless PLENUM_PROBE_ALLOW says otherwise.
        policy: match standard.policy() {
            Some(policy) => policy,
            None => no_policy,
        },
        policy_for: match standard.policy_for() {
            Some(policy_for) => policy_for,
            None => no_session_policy,
        },
    }
    .leak_into_prefix()
}

extern "C" fn no_session_policy(
    _: &ConnectParams,
) -> RResult<plenum_plugin_api::EnginePolicy, PluginError> {
    RResult::ROk(plenum_plugin_api::EnginePolicy::default())
}

extern "C" fn load_probe() -> RootModuleResult {
    __call_root_module_loader(probe_module)
}

/// The root module abi_stable looks for, built by `probe_module` instead of
/// `export_plugin!`'s constructor.
#[allow(unsafe_code)] // `no_mangle` export and `from_constructor`, as `export_plugin!` does.
#[no_mangle]
pub static _1as_0lib_1header_0root_bmodule_bloader: LibHeader =
    // SAFETY: the constructor returns a `PluginModuleRef`, the module type named here.
    unsafe { LibHeader::from_constructor::<PluginModuleRef>(load_probe, CheckTypeLayout::Yes) };
