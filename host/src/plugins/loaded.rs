//! A loaded plugin library and the checks it passed.

use std::path::{Path, PathBuf};

use plenum_gate::Dialect;
use plenum_plugin_api::abi_stable::library::{lib_header_from_path, LibraryError};
use plenum_plugin_api::{
    Capabilities, ConnectParams, ConnectionBox, PluginError, PluginInfo, PluginModuleRef,
    API_VERSION,
};
use serde::Serialize;

use crate::error::Failure;

/// A plugin whose library loaded, whose API version the host speaks and whose dialect the gate
/// knows.
pub struct LoadedPlugin {
    path: PathBuf,
    module: PluginModuleRef,
    info: PluginInfo,
    dialect: Dialect,
}

/// How `plenum plugins` describes one library.
#[derive(Debug, Clone, Serialize)]
pub struct PluginSummary {
    /// Plugin name (null when the library could not be read).
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
    /// Library path.
    pub path: PathBuf,
    /// `ok` or `error`.
    pub status: &'static str,
    /// Why the plugin cannot be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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

impl PluginSummary {
    /// The summary of a library that could not be used.
    pub fn broken(path: &Path, error: &str) -> Self {
        PluginSummary {
            name: None,
            version: None,
            engines: Vec::new(),
            dialect: None,
            api_version: None,
            capabilities: None,
            description: None,
            path: path.to_path_buf(),
            status: "error",
            error: Some(error.to_owned()),
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
            // abi_stable's layout reports are pages long; the first line says what matters.
            let first = text.lines().next().unwrap_or("incompatible plugin ABI");
            format!("incompatible plugin ABI: {first}")
        }
    }
}

impl LoadedPlugin {
    /// Loads the library at `path` and checks its API version, metadata and dialect.
    pub fn load(path: &Path) -> Result<Self, Failure> {
        let fail = |what: String| Failure::plugin(format!("plugin {}: {what}", path.display()));
        let header = lib_header_from_path(path).map_err(|error| fail(describe_library_error(&error)))?;
        let module = header
            .init_root_module::<PluginModuleRef>()
            .map_err(|error| fail(describe_library_error(&error)))?;
        let api = module.api_version();
        if api.major != API_VERSION.major {
            return Err(fail(format!(
                "built against plugin API {api}, this host speaks {API_VERSION} (major versions differ)"
            )));
        }
        if api.minor > API_VERSION.minor {
            return Err(fail(format!(
                "needs plugin API {api}, this host speaks {API_VERSION}: upgrade plenum"
            )));
        }
        let info = (module.info())()
            .into_result()
            .map_err(|error: PluginError| fail(format!("info failed: {}", error.message)))?;
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
            module,
            info,
            dialect,
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

    /// What the plugin said about itself.
    pub fn info(&self) -> &PluginInfo {
        &self.info
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
            path: self.path.clone(),
            status: "ok",
            error: None,
        }
    }
}
