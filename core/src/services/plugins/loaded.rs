//! A loaded plugin library and the checks it passed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use plenum_gate::{Dialect, Lexing, Policy, Rule, Tier};
use plenum_plugin_api::abi_stable::library::LibraryError;
use plenum_plugin_api::loader::load_root_module_remembering;
use plenum_plugin_api::{
    AccessMode, Capabilities, ConnectParams, ConnectionBox, EnginePolicy, PluginAbout, PluginError,
    PluginInfo, PluginModuleRef, RuleEffect,
};
use serde::Serialize;

use super::manifest::{self, Manifest};
use super::perms;
use super::trust::Assessment;
use crate::services::error::Failure;
use crate::services::supervisor::{run_here_with_time_limit, run_with_time_limit, Unfinished};

/// A plugin whose library passed the trust checks, loaded in time, speaks an API version the
/// host speaks, agrees with its manifest and declares a dialect the gate knows.
pub struct LoadedPlugin {
    path: PathBuf,
    module: PluginModuleRef,
    info: PluginInfo,
    about: Option<PluginAbout>,
    dialect: Dialect,
    policy: Arc<Policy>,
    trust: Assessment,
}

/// How `plenum plugins` describes one library.
#[derive(Debug, Clone, Serialize)]
pub struct PluginSummary {
    /// Plugin name (from the manifest when the library was not loaded; null when unknown).
    pub name: Option<String>,
    /// Plugin version.
    pub version: Option<String>,
    /// Engines served.
    pub engines: Vec<String>,
    /// SQL dialect the gate parses with.
    pub dialect: Option<String>,
    /// Plugin-API version it was built against.
    pub api_version: Option<String>,
    /// Optional features.
    pub capabilities: Option<CapabilitiesOut>,
    /// One-line description.
    pub description: Option<String>,
    /// Maintainer, license and home page (plugin API 1.1; null for plugins built against 1.0).
    pub about: Option<AboutOut>,
    /// Library path.
    pub path: PathBuf,
    /// `ok` or `error`.
    pub status: &'static str,
    /// Why the plugin cannot be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the host trusts the library, and why.
    pub trust: Assessment,
}

/// Capabilities as printed.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CapabilitiesOut {
    /// Cancel stops a running statement.
    pub cancel: bool,
    /// Introspection implemented.
    pub introspect: bool,
    /// All-or-nothing transactions.
    pub transactions: bool,
    /// DDL inside transactions.
    pub transactional_ddl: bool,
}

impl From<Capabilities> for CapabilitiesOut {
    fn from(capabilities: Capabilities) -> Self {
        CapabilitiesOut {
            cancel: capabilities.cancel,
            introspect: capabilities.introspect,
            transactions: capabilities.transactions,
            transactional_ddl: capabilities.transactional_ddl,
        }
    }
}

/// [`PluginAbout`] as printed.
#[derive(Debug, Clone, Serialize)]
pub struct AboutOut {
    /// Home page or repository.
    pub homepage: Option<String>,
    /// SPDX license expression.
    pub license: Option<String>,
    /// Authors or maintainers.
    pub authors: Vec<String>,
}

impl From<&PluginAbout> for AboutOut {
    fn from(about: &PluginAbout) -> Self {
        AboutOut {
            homepage: about
                .homepage
                .as_ref()
                .map(|text| text.to_string())
                .into_option(),
            license: about
                .license
                .as_ref()
                .map(|text| text.to_string())
                .into_option(),
            authors: about
                .authors
                .iter()
                .map(|author| author.to_string())
                .collect(),
        }
    }
}

impl PluginSummary {
    /// The summary of a library that could not be used, with what its manifest says.
    pub fn broken(path: &Path, error: &str, trust: Assessment) -> Self {
        let manifest = trust.manifest.clone();
        PluginSummary {
            name: manifest.as_ref().map(|m| m.name.clone()),
            version: manifest.as_ref().map(|m| m.version.clone()),
            engines: manifest
                .as_ref()
                .map(|m| m.engines.clone())
                .unwrap_or_default(),
            dialect: manifest.as_ref().map(|m| m.dialect.clone()),
            api_version: manifest.as_ref().map(|m| m.api_version.clone()),
            capabilities: None,
            description: None,
            about: None,
            path: path.to_path_buf(),
            status: "error",
            error: Some(error.to_owned()),
            trust,
        }
    }
}

fn describe_library_error(error: &LibraryError) -> String {
    match error {
        LibraryError::OpenError { err, .. } => format!(
            "cannot open the library (not a shared library for this platform, or a dependency is missing): {err}"
        ),
        LibraryError::GetSymbolError { .. } => {
            "the library is not a Plenum plugin (it exports no plugin root module)".to_owned()
        }
        LibraryError::IncompatibleVersionNumber { library_name, expected_version, actual_version } => format!(
            "{library_name}: built against plenum-plugin-api {actual_version}, this host speaks {expected_version}"
        ),
        other => {
            let text = other.to_string();
            // abi_stable's layout reports are pages long; the first lines say what matters.
            let summary: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .take(4)
                .collect();
            format!("incompatible plugin ABI: {}", summary.join(" "))
        }
    }
}

/// What loading hands back.
struct Opened {
    module: PluginModuleRef,
    info: PluginInfo,
    about: Option<PluginAbout>,
    policy: Policy,
}

/// Where the loader remembers which libraries passed its layout check (see
/// [`load_root_module_remembering`]): `$XDG_CACHE_HOME/plenum/layout-checked`, or
/// `~/.cache/plenum/layout-checked`. Used only when nobody but the current user (or root) can
/// change it or any folder above it ([`perms::check`]); its folder is created (mode 700) when
/// missing. `None` turns the memo off: every load is then checked in full.
fn layout_memo() -> Option<PathBuf> {
    static MEMO: OnceLock<Option<PathBuf>> = OnceLock::new();
    MEMO.get_or_init(|| {
        // As for the allow-list: a relative XDG_CACHE_HOME is invalid and ignored.
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|home| !home.is_empty())
                    .map(|home| PathBuf::from(home).join(".cache"))
            })?;
        let folder = cache.join("plenum");
        let memo = folder.join("layout-checked");
        if perms::check(&memo).is_ok() {
            return Some(memo);
        }
        if memo.symlink_metadata().is_ok() {
            // There, but others could change it: not used, and not replaced.
            return None;
        }
        if !folder.is_dir() {
            create_private_folder(&folder).ok()?;
        }
        perms::check(&folder).ok().map(|()| memo)
    })
    .clone()
}

#[cfg(unix)]
fn create_private_folder(folder: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
}

#[cfg(not(unix))]
fn create_private_folder(folder: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)
}

/// Opens the library, runs its root-module constructor and asks it what it is. This is where
/// the library's code first runs.
fn open(path: &Path) -> Result<Opened, String> {
    crate::services::output::crash::plugin_code_runs();
    let module = load_root_module_remembering(path, layout_memo().as_deref())
        .map_err(|error| describe_library_error(&error))?;
    // The version is checked before any other call: a newer plugin's functions may expect
    // more of the host than it gives.
    let api = module.api_version();
    manifest::check_api_version(api)?;
    let mut info = (module.info())()
        .into_result()
        .map_err(|error: PluginError| format!("info failed: {}", boundary_text(&error.message)))?;
    check_info(&mut info);
    // Added in API 1.1: read only from libraries that say they have it (the loader checked
    // its layout for them).
    let about = match module.about().filter(|_| api.minor >= 1) {
        Some(about) => {
            let mut about = about().into_result().map_err(|error: PluginError| {
                format!("about failed: {}", boundary_text(&error.message))
            })?;
            check_about(&mut about);
            Some(about)
        }
        None => None,
    };
    // Added in API 1.2: the engine's policy, which the gate adds to its own rules.
    let policy = match module.policy().filter(|_| api.minor >= 2) {
        Some(policy) => {
            let policy = policy().into_result().map_err(|error: PluginError| {
                format!("policy failed: {}", boundary_text(&error.message))
            })?;
            gate_policy(policy)?
        }
        None => Policy::default(),
    };
    Ok(Opened {
        module,
        info,
        about,
        policy,
    })
}

/// Rules a policy may declare, at most (of each kind).
const MAX_RULES: usize = 4096;

/// The gate's form of a plugin's declared policy. Its reasons reach messages, so they are
/// made printable here; a policy too large to be meant is refused rather than cut, since
/// cutting would drop refusals.
fn gate_policy(policy: EnginePolicy) -> Result<Policy, String> {
    if policy.functions.len() > MAX_RULES
        || policy.statements.len() > MAX_RULES
        || policy.relations.len() > MAX_RULES
    {
        return Err(format!(
            "its policy declares more than {MAX_RULES} rules of one kind"
        ));
    }
    let rule = |effect: &RuleEffect| match effect {
        RuleEffect::Refused(reason) => Rule::Refused(boundary_text(reason)),
        RuleEffect::Needs(AccessMode::Read) => Rule::Needs(Tier::Read),
        RuleEffect::Needs(AccessMode::Write) => Rule::Needs(Tier::Write),
        RuleEffect::Needs(AccessMode::Ddl) => Rule::Needs(Tier::Ddl),
    };
    use plenum_plugin_api::abi_stable::std_types::{RString, RVec};
    let name = |parts: &RVec<RString>| {
        parts
            .iter()
            .map(|part| part.to_string())
            .collect::<Vec<_>>()
    };
    let lexing = &policy.lexing;
    Ok(Policy {
        functions: policy
            .functions
            .iter()
            .filter(|f| !f.name.is_empty())
            .map(|f| (name(&f.name), rule(&f.effect)))
            .collect(),
        statements: policy
            .statements
            .iter()
            .map(|s| (s.label.to_string(), rule(&s.effect)))
            .collect(),
        relations: policy
            .relations
            .iter()
            .filter(|r| !r.name.is_empty())
            .map(|r| (name(&r.name), boundary_text(&r.reason)))
            .collect(),
        string_relations: policy
            .refuse_string_relations
            .as_ref()
            .into_option()
            .map(|reason| boundary_text(reason)),
        lexing: lexing.declared.then_some(Lexing {
            escape_strings: lexing.escape_strings,
            backslash_escapes: lexing.backslash_escapes,
            nested_comments: lexing.nested_comments,
            executable_comments: lexing.executable_comments,
            dollar_quotes: lexing.dollar_quotes,
            backtick_identifiers: lexing.backtick_identifiers,
            hash_comments: lexing.hash_comments,
        }),
        // Not declarable: a plugin's relation rules also match unqualified names.
        schema_relations: Vec::new(),
    })
}

/// A string from the plugin's description of itself, as printed: valid UTF-8, bounded.
fn boundary_text(text: &str) -> String {
    crate::services::sanitize::plugin_text(text, crate::services::sanitize::MAX_FIELD_BYTES)
}

/// Engines a plugin may declare, at most (each is a name `plenum plugins` prints).
const MAX_ENGINES: usize = 64;

/// Makes every string of `info` printable at the boundary, where it is first read.
fn check_info(info: &mut PluginInfo) {
    info.name = boundary_text(&info.name).into();
    info.version = boundary_text(&info.version).into();
    info.dialect = boundary_text(&info.dialect).into();
    info.description = boundary_text(&info.description).into();
    info.engines.truncate(MAX_ENGINES);
    for engine in info.engines.iter_mut() {
        *engine = boundary_text(engine).into();
    }
}

/// The same for `about`.
fn check_about(about: &mut PluginAbout) {
    for text in [&mut about.homepage, &mut about.license] {
        if let Some(value) = text.as_mut().into_option() {
            *value = boundary_text(value).into();
        }
    }
    about.authors.truncate(MAX_ENGINES);
    for author in about.authors.iter_mut() {
        *author = boundary_text(author).into();
    }
}

/// [`open`] with a time limit. It runs on the process's timekeeping thread, which is idle at
/// this point of a command (one thread fewer to start; see [`crate::services::supervisor`]), or on a
/// thread of its own when that one is busy. A library stuck in its constructor keeps its
/// thread, which ends with the process; the host goes on without it.
///
/// With `overrun` (a one-shot command, for the last library it may try), the load runs on the
/// calling thread instead and the timekeeping thread only keeps its limit: past it, `overrun`
/// gets the failure this returns otherwise, and answers for the command and ends the process.
fn open_within(
    path: &Path,
    timeout: Duration,
    overrun: Option<Box<dyn FnOnce(String) + Send>>,
) -> Result<Opened, String> {
    let library = path.to_path_buf();
    let work = move || {
        catch_unwind(AssertUnwindSafe(|| open(&library)))
            .unwrap_or_else(|_| Err("loading it panicked".to_owned()))
    };
    let too_slow = move || {
        format!(
            "it did not finish loading within {} ms (its initialisation hangs or is too slow; \
             {} sets the limit)",
            timeout.as_millis(),
            super::trust::LOAD_TIMEOUT_ENV
        )
    };
    let finished = match overrun {
        Some(overrun) => {
            run_here_with_time_limit(work, timeout, Box::new(move || overrun(too_slow())))
        }
        None => run_with_time_limit(work, timeout),
    };
    match finished {
        Ok(opened) => opened,
        Err(Unfinished::TimedOut) => Err(too_slow()),
        Err(Unfinished::Lost) => Err("its loading thread stopped".to_owned()),
        Err(Unfinished::NoThread) => Err("cannot start a thread to load it".to_owned()),
    }
}

/// Where the library disagrees with its manifest, if anywhere.
fn disagreement(manifest: &Manifest, opened: &Opened) -> Option<String> {
    let info = &opened.info;
    let mut engines: Vec<String> = info
        .engines
        .iter()
        .map(|e| e.to_ascii_lowercase())
        .collect();
    let mut listed: Vec<String> = manifest
        .engines
        .iter()
        .map(|e| e.to_ascii_lowercase())
        .collect();
    engines.sort();
    listed.sort();
    let api = opened.module.api_version().to_string();
    let differences: Vec<String> = [
        ("name", manifest.name.clone(), info.name.to_string()),
        (
            "version",
            manifest.version.clone(),
            info.version.to_string(),
        ),
        ("engines", listed.join(","), engines.join(",")),
        (
            "dialect",
            manifest.dialect.clone(),
            info.dialect.to_string(),
        ),
        ("api_version", manifest.api_version.clone(), api),
    ]
    .into_iter()
    .filter(|(_, said, is)| said != is)
    .map(|(field, said, is)| format!("{field} '{said}' but the library reports '{is}'"))
    .collect();
    (!differences.is_empty()).then(|| format!("its manifest says {}", differences.join(", ")))
}

impl LoadedPlugin {
    /// Loads the library at `path`, which `trust` allowed, within `timeout`, and checks its API
    /// version, metadata and dialect and that it is what its manifest says.
    pub fn load(path: &Path, trust: Assessment, timeout: Duration) -> Result<Self, Failure> {
        Self::load_or_end(path, trust, timeout, None)
    }

    /// [`LoadedPlugin::load`]; with `overrun`, on the calling thread, and a load that overruns
    /// `timeout` hands `overrun` the failure `load` would return, to answer with and end the
    /// process (see [`open_within`]).
    pub(crate) fn load_or_end(
        path: &Path,
        trust: Assessment,
        timeout: Duration,
        overrun: Option<Box<dyn FnOnce(Failure) + Send>>,
    ) -> Result<Self, Failure> {
        let fail = |what: String| Failure::plugin(format!("plugin {}: {what}", path.display()));
        if !trust.allows_loading() {
            return Err(fail(format!("refused before loading: {}", trust.reason)));
        }
        let overrun = overrun.map(|overrun| {
            let shown = path.display().to_string();
            Box::new(move |what: String| {
                overrun(Failure::plugin(format!("plugin {shown}: {what}")))
            }) as Box<dyn FnOnce(String) + Send>
        });
        let opened = open_within(path, timeout, overrun).map_err(fail)?;
        if let Some(manifest) = &trust.manifest {
            if let Some(difference) = disagreement(manifest, &opened) {
                return Err(fail(difference));
            }
        }
        let info = &opened.info;
        let dialect = Dialect::from_name(info.dialect.as_str()).ok_or_else(|| {
            fail(format!(
                "declares SQL dialect '{}', which the gate does not know",
                info.dialect
            ))
        })?;
        if info.engines.is_empty() {
            return Err(fail("declares no engine".to_owned()));
        }
        Ok(LoadedPlugin {
            path: path.to_path_buf(),
            module: opened.module,
            info: opened.info,
            about: opened.about,
            dialect,
            policy: Arc::new(opened.policy),
            trust,
        })
    }

    /// Whether this plugin serves `engine` (lower case).
    pub fn serves(&self, engine: &str) -> bool {
        self.info
            .engines
            .iter()
            .any(|name| name.as_str().eq_ignore_ascii_case(engine))
    }

    /// The dialect the gate parses this engine's SQL with.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The engine's declared policy (plugin API 1.2), which the gate adds to the dialect's
    /// rules; empty for older plugins.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The rules the gate enforces for a call whose session would open with `params`: the
    /// engine's declared policy and, from plugins that have it (API 1.2 `policy_for`), the
    /// rules for that session. A plugin that fails to say refuses the call: its rules cannot
    /// be skipped.
    pub fn policy_for(&self, params: &ConnectParams) -> Result<Arc<Policy>, Failure> {
        let Some(policy_for) = self
            .module
            .policy_for()
            .filter(|_| self.module.api_version().minor >= 2)
        else {
            return Ok(Arc::clone(&self.policy));
        };
        let declared = policy_for(params)
            .into_result()
            .map_err(|error: PluginError| {
                Failure::plugin(format!(
                    "plugin {}: its policy for this connection failed: {}",
                    self.path.display(),
                    boundary_text(&error.message)
                ))
            })?;
        let session = gate_policy(declared)
            .map_err(|why| Failure::plugin(format!("plugin {}: {why}", self.path.display())))?;
        // Most plugins add nothing per connection: the engine's policy is shared, not copied.
        if session.is_empty() {
            return Ok(Arc::clone(&self.policy));
        }
        Ok(Arc::new(self.policy.as_ref().clone().and(session)))
    }

    /// What the plugin said about itself.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// The manifest that describes this library as it is (for `plenum plugins verify`).
    pub fn manifest(&self, sha256: String) -> Manifest {
        Manifest {
            manifest_version: manifest::MANIFEST_VERSION,
            name: self.info.name.to_string(),
            version: self.info.version.to_string(),
            engines: self.info.engines.iter().map(|e| e.to_string()).collect(),
            dialect: self.info.dialect.to_string(),
            api_version: self.module.api_version().to_string(),
            library: self
                .path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            sha256,
            dependencies: Vec::new(),
        }
    }

    /// Opens a session.
    pub fn connect(&self, params: &ConnectParams) -> Result<ConnectionBox, PluginError> {
        (self.module.connect())(params).into_result()
    }

    /// The summary `plenum plugins` prints.
    pub fn summary(&self) -> PluginSummary {
        PluginSummary {
            name: Some(self.info.name.to_string()),
            version: Some(self.info.version.to_string()),
            engines: self.info.engines.iter().map(|e| e.to_string()).collect(),
            dialect: Some(self.info.dialect.to_string()),
            api_version: Some(self.module.api_version().to_string()),
            capabilities: Some(self.info.capabilities.into()),
            description: Some(self.info.description.to_string()),
            about: self.about.as_ref().map(AboutOut::from),
            path: self.path.clone(),
            status: "ok",
            error: None,
            trust: self.trust.clone(),
        }
    }
}
