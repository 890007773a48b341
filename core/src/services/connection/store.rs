//! The saved-connection files: where they live, what they hold, and reading and writing them
//! with owner-only permissions.
//!
//! * local: `<project>/.plenum/config.json`, where the project is the nearest ancestor of the
//!   current directory that has a `.plenum/` folder (the current directory when none has);
//! * global: `$XDG_CONFIG_HOME/plenum/connections.json`, or `$HOME/.config/plenum/connections.json`.
//!
//! Both hold the same JSON object: `{"default": "name", "connections": {"name": {…}}}`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::services::connection::SessionLimits;
use crate::services::error::Failure;
use crate::services::sanitize::Sanitizer;

/// The folder that marks a project and holds its local config.
pub const LOCAL_DIR: &str = ".plenum";
/// The local config's file name inside [`LOCAL_DIR`].
pub const LOCAL_FILE: &str = "config.json";
/// The global config's file name inside `$XDG_CONFIG_HOME/plenum`.
pub const GLOBAL_FILE: &str = "connections.json";
/// Config files larger than this are refused instead of read whole.
const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Which of the two config files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The project's `.plenum/config.json`.
    Local,
    /// The user's `connections.json`.
    Global,
}

impl Scope {
    /// `local` or `global`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Local => "local",
            Scope::Global => "global",
        }
    }
}

/// A password kept in a config file, which happens only when the user asks for it. Its
/// `Debug` (through [`SecretString`]) never shows it.
#[derive(Debug, Clone)]
pub struct StoredPassword(pub SecretString);

impl Serialize for StoredPassword {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.expose_secret())
    }
}

impl<'de> Deserialize<'de> for StoredPassword {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| StoredPassword(SecretString::from(text)))
    }
}

/// One saved connection as the file holds it. Unknown keys are refused, so a misspelt
/// `max_capability` cannot silently leave a connection without its ceiling.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedConnection {
    /// Engine name.
    pub engine: String,
    /// Database file (file engines); relative paths are relative to the project folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Server host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Server port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Database name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// TLS mode (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_mode: Option<String>,
    /// PEM file with CA certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_ca: Option<String>,
    /// Engine-specific options.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// Name of the environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// The password itself (only when saved with `--password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<StoredPassword>,
    /// The highest tier any call through this connection may ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capability: Option<String>,
    /// User routines (`schema.name`) that calls may reach on a login with powers beyond the
    /// tiers (superuser, server files, FILE, …). Written by hand: no flag sets it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_routines: Vec<String>,
    /// The connect timeout and the session's resource ceilings.
    #[serde(default, skip_serializing_if = "SessionLimits::is_empty")]
    pub limits: SessionLimits,
}

impl SavedConnection {
    /// How the password is kept, as listings show it: `env:VAR`, `stored`, or none.
    pub fn password_source(&self) -> Option<String> {
        match (&self.password_env, &self.password) {
            (Some(variable), _) => Some(format!("env:{variable}")),
            (None, Some(_)) => Some("stored".to_owned()),
            (None, None) => None,
        }
    }
}

/// The content of one config file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Format version (1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// The connection used when a command names none (and gives no `--engine` or `--dsn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Connections by name.
    #[serde(default)]
    pub connections: BTreeMap<String, SavedConnection>,
}

/// One config file, read from disk or about to be created.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Local or global.
    pub scope: Scope,
    /// The file's path.
    pub path: PathBuf,
    /// What it holds (empty when it does not exist yet).
    pub config: ConfigFile,
    /// Whether the file exists.
    pub exists: bool,
}

impl Loaded {
    /// The folder relative paths in this file are resolved against: the project folder for a
    /// local file, the folder of the file for a global one.
    pub fn base_dir(&self) -> PathBuf {
        let parent = self.path.parent().unwrap_or(Path::new("/"));
        match self.scope {
            Scope::Local => parent.parent().unwrap_or(parent).to_path_buf(),
            Scope::Global => parent.to_path_buf(),
        }
    }

    /// Writes the file back with owner-only permissions.
    pub fn save(&mut self) -> Result<(), Failure> {
        self.config.version.get_or_insert(1);
        write_private(&self.path, &self.config)?;
        self.exists = true;
        Ok(())
    }
}

/// Where this process finds its config files.
#[derive(Debug, Clone, Default)]
pub struct Locations {
    /// The project folder: the nearest ancestor of the current directory with a `.plenum/`
    /// folder, else the current directory (`None` when even that is unknown).
    pub project: Option<PathBuf>,
    /// The global file.
    pub global: Option<PathBuf>,
}

fn non_empty_path(value: Option<std::ffi::OsString>) -> Option<PathBuf> {
    value.filter(|value| !value.is_empty()).map(PathBuf::from)
}

impl Locations {
    /// The locations for the current directory and the environment (`HOME`,
    /// `XDG_CONFIG_HOME`).
    pub fn discover() -> Self {
        let cwd = std::env::current_dir().ok();
        let home = non_empty_path(std::env::var_os("HOME")).or_else(dirs::home_dir);
        let xdg = non_empty_path(std::env::var_os("XDG_CONFIG_HOME"));
        Self::new(cwd.as_deref(), home.as_deref(), xdg.as_deref())
    }

    /// The locations for an explicit current directory, home and `XDG_CONFIG_HOME`.
    pub fn new(cwd: Option<&Path>, home: Option<&Path>, xdg_config_home: Option<&Path>) -> Self {
        let project = cwd.map(|cwd| {
            cwd.ancestors()
                .find(|dir| dir.join(LOCAL_DIR).is_dir())
                .unwrap_or(cwd)
                .to_path_buf()
        });
        // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
        let config_home = xdg_config_home
            .filter(|path| path.is_absolute())
            .map(Path::to_path_buf)
            .or_else(|| home.map(|home| home.join(".config")));
        Locations {
            project,
            global: config_home.map(|dir| dir.join("plenum").join(GLOBAL_FILE)),
        }
    }

    /// The path of the file of `scope`, if it can be known.
    pub fn path(&self, scope: Scope) -> Option<PathBuf> {
        match scope {
            Scope::Local => self
                .project
                .as_ref()
                .map(|project| project.join(LOCAL_DIR).join(LOCAL_FILE)),
            Scope::Global => self.global.clone(),
        }
    }

    /// Reads the file of `scope` (empty when missing). Stored passwords go to `sanitizer`.
    pub fn load(&self, scope: Scope, sanitizer: &mut Sanitizer) -> Result<Loaded, Failure> {
        let path = self.path(scope).ok_or_else(|| {
            Failure::config(match scope {
                Scope::Local => "the current directory is unknown, so there is no project config",
                Scope::Global => {
                    "neither HOME nor XDG_CONFIG_HOME is set, so there is no global config"
                }
            })
        })?;
        let (config, exists) = read_config(&path, sanitizer)?;
        Ok(Loaded {
            scope,
            path,
            config,
            exists,
        })
    }

    /// Every config file that exists, local first.
    pub fn load_existing(&self, sanitizer: &mut Sanitizer) -> Result<Vec<Loaded>, Failure> {
        let mut files = Vec::new();
        for scope in [Scope::Local, Scope::Global] {
            if self.path(scope).is_none() {
                continue;
            }
            let loaded = self.load(scope, sanitizer)?;
            if loaded.exists {
                files.push(loaded);
            }
        }
        Ok(files)
    }
}

fn read_config(path: &Path, sanitizer: &mut Sanitizer) -> Result<(ConfigFile, bool), Failure> {
    let cannot = |what: String| {
        Failure::config(format!(
            "cannot read saved connections from {}: {what}",
            path.display()
        ))
    };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok((ConfigFile::default(), false))
        }
        Err(error) => return Err(cannot(error.to_string())),
    };
    if metadata.is_dir() {
        return Err(cannot(
            "it is a directory; this path must be a JSON file (move the directory away)".into(),
        ));
    }
    if metadata.len() > MAX_CONFIG_BYTES {
        return Err(cannot(format!(
            "it is {} bytes, more than a config file should ever be",
            metadata.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|error| cannot(error.to_string()))?;
    parse_config(&bytes, sanitizer)
        .map(|config| (config, true))
        .map_err(|message| {
            Failure::config(format!(
                "{} is not a valid saved-connection file: {message}",
                path.display()
            ))
        })
}

/// Parses a config file. The error message has serde_json's line and column and never quotes
/// a value from the file (a password may sit in the wrong field).
pub fn parse_config(bytes: &[u8], sanitizer: &mut Sanitizer) -> Result<ConfigFile, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(ConfigFile::default());
    }
    // Register stored passwords first, so nothing said later can contain them.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        register_passwords(&value, sanitizer);
    }
    serde_json::from_slice::<ConfigFile>(bytes).map_err(|error| unquote_values(&error.to_string()))
}

fn register_passwords(value: &serde_json::Value, sanitizer: &mut Sanitizer) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match value {
                    serde_json::Value::String(text) if key == "password" => {
                        sanitizer.add_secret(text)
                    }
                    other => register_passwords(other, sanitizer),
                }
            }
        }
        serde_json::Value::Array(items) => items
            .iter()
            .for_each(|item| register_passwords(item, sanitizer)),
        _ => {}
    }
}

/// Drops the values serde quotes in type errors (`invalid type: string "…"`), keeping field
/// names and positions.
fn unquote_values(message: &str) -> String {
    static QUOTED: OnceLock<Option<Regex>> = OnceLock::new();
    let pattern = QUOTED.get_or_init(|| {
        Regex::new(r#"(invalid (?:type|value|length): [a-z ]*?)\s*(?:"(?:[^"\\]|\\.)*"|`[^`]*`)"#)
            .ok()
    });
    match pattern {
        Some(pattern) => pattern.replace_all(message, "$1").into_owned(),
        None => "the file does not have the expected shape".to_owned(),
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// Creates `dir` (and missing ancestors) readable by the owner only, and tightens `dir`
/// itself if it already existed: it is Plenum's own folder.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    set_mode(dir, 0o700)
}

/// Writes `config` to `path` through a private temporary file and a rename, so a crash never
/// leaves half a file and the content is never readable by others, even for a moment.
fn write_private(path: &Path, config: &ConfigFile) -> Result<(), Failure> {
    let cannot = |what: String| {
        Failure::config(format!(
            "cannot write saved connections to {}: {what}",
            path.display()
        ))
    };
    let dir = path
        .parent()
        .ok_or_else(|| cannot("the path has no folder".into()))?;
    create_private_dir(dir).map_err(|error| cannot(error.to_string()))?;
    if path.is_dir() {
        return Err(cannot(
            "it is a directory; this path must be a JSON file (move the directory away)".into(),
        ));
    }
    let mut json = serde_json::to_string_pretty(config)
        .map_err(|error| cannot(format!("cannot render the file: {error}")))?;
    json.push('\n');
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temporary)?;
        // The umask can only remove bits, but make the mode exact all the same.
        set_mode(&temporary, 0o600)?;
        file.write_all(json.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(cannot(error.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_errors_keep_the_position_but_not_the_value() {
        let text = br#"{"connections": {"x": {"engine": "sqlite",
            "port": "Zq9-secret-PW"}}}"#;
        let message = parse_config(text, &mut Sanitizer::new())
            .err()
            .unwrap_or_default();
        assert!(message.contains("line 2"), "{message}");
        assert!(!message.contains("Zq9"), "{message}");
        assert!(message.contains("invalid type: string"), "{message}");
    }

    #[test]
    fn misspelt_keys_are_refused() {
        let text = br#"{"connections": {"x": {"engine": "sqlite", "max_capabilty": "read"}}}"#;
        let message = parse_config(text, &mut Sanitizer::new())
            .err()
            .unwrap_or_default();
        assert!(
            message.contains("unknown field `max_capabilty`"),
            "{message}"
        );
    }

    #[test]
    fn stored_passwords_are_registered_with_the_sanitizer() {
        let mut sanitizer = Sanitizer::new();
        let text = br#"{"connections": {"x": {"engine": "pg", "password": "Zq9-secret-PW"}}}"#;
        assert!(parse_config(text, &mut sanitizer).is_ok());
        assert_eq!(sanitizer.scrub("a Zq9-secret-PW b"), "a *** b");
    }

    #[test]
    fn empty_file_is_an_empty_config() {
        let config = parse_config(b" \n", &mut Sanitizer::new())
            .ok()
            .unwrap_or_default();
        assert!(config.connections.is_empty());
    }

    #[test]
    fn global_path_follows_xdg_then_home() {
        let home = Path::new("/home/u");
        let with_xdg = Locations::new(None, Some(home), Some(Path::new("/x/cfg")));
        assert_eq!(
            with_xdg.global.as_deref(),
            Some(Path::new("/x/cfg/plenum/connections.json"))
        );
        let relative_xdg = Locations::new(None, Some(home), Some(Path::new("cfg")));
        assert_eq!(
            relative_xdg.global.as_deref(),
            Some(Path::new("/home/u/.config/plenum/connections.json"))
        );
    }
}
