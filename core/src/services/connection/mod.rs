//! Turning a saved connection, a DSN and flags into the parameters a plugin opens a session
//! with ([`resolve()`]). Secrets stay in [`SecretString`] until the moment they cross to the
//! plugin, and every secret resolved here is handed to the request's [`Sanitizer`].

mod dsn;
pub mod limits;
pub mod resolve;
pub mod store;

use std::path::PathBuf;

use plenum_plugin_api::abi_stable::std_types::{ROption, RString, RVec, Tuple2};
use plenum_plugin_api::{AccessMode, ConnectParams, SslMode};
use secrecy::{ExposeSecret, SecretString};

use crate::services::error::Failure;
use crate::services::options::Values;
use crate::services::sanitize::Sanitizer;
use crate::services::words::hint;

pub use dsn::parse_dsn;
pub use limits::{LimitArgs, SessionLimits};
pub use resolve::{known_names, resolve, Resolved};

/// Where to connect, as a call gave it (the options of [`crate::services::options::CONNECTION`]).
#[derive(Debug, Clone, Default)]
pub struct ConnectionArgs {
    /// A saved connection; the other fields override its own.
    pub connection: Option<String>,
    /// Engine name, as a plugin declares it.
    pub engine: Option<String>,
    /// Connection URL.
    pub dsn: Option<String>,
    /// Database file (file engines).
    pub file: Option<PathBuf>,
    /// Server host.
    pub host: Option<String>,
    /// Server port.
    pub port: Option<u16>,
    /// User name.
    pub user: Option<String>,
    /// Name of an environment variable that holds the password.
    pub password_env: Option<String>,
    /// Database name.
    pub database: Option<String>,
    /// TLS mode.
    pub ssl_mode: Option<String>,
    /// CA certificates to trust.
    pub ssl_ca: Option<PathBuf>,
    /// Connect time limit and session resource ceilings.
    pub limits: LimitArgs,
}

impl ConnectionArgs {
    /// The connection options among `values`.
    pub fn from_values(values: &Values) -> Self {
        ConnectionArgs {
            connection: values.text("connection"),
            engine: values.text("engine"),
            dsn: values.text("dsn"),
            file: values.path("file"),
            host: values.text("host"),
            port: values.port("port"),
            user: values.text("user"),
            password_env: values.text("password_env"),
            database: values.text("database"),
            ssl_mode: values.text("ssl_mode"),
            ssl_ca: values.path("ssl_ca"),
            limits: LimitArgs {
                connect_timeout_ms: values.count("connect_timeout_ms"),
                max_temp_mb: values.count("max_temp_mb"),
                max_memory_mb: values.count("max_memory_mb"),
                max_recursion: values.count("max_recursion"),
            },
        }
    }
}

/// A fully resolved connection target.
#[derive(Debug, Clone, Default)]
pub struct ConnectionSpec {
    /// Engine name.
    pub engine: String,
    /// Absolute database file path.
    pub file: Option<PathBuf>,
    /// Server host.
    pub host: Option<String>,
    /// Server port.
    pub port: Option<u16>,
    /// User.
    pub user: Option<String>,
    /// Password.
    pub password: Option<SecretString>,
    /// Database.
    pub database: Option<String>,
    /// TLS mode.
    pub ssl_mode: Option<SslMode>,
    /// CA file.
    pub ssl_ca: Option<PathBuf>,
    /// Engine-specific options.
    pub options: Vec<(String, String)>,
    /// User routines (`schema.name`) a human allowed calls to reach on a login with powers
    /// beyond the tiers (saved connections only; see [`crate::pipeline::reach`]).
    pub allowed_routines: Vec<String>,
    /// The connect timeout and the session's resource ceilings.
    pub limits: SessionLimits,
}

/// Parses an `--ssl-mode` value.
pub fn parse_ssl_mode(text: &str) -> Result<SslMode, Failure> {
    match text.to_ascii_lowercase().replace('_', "-").as_str() {
        "disable" | "disabled" => Ok(SslMode::Disable),
        "prefer" | "preferred" | "allow" => Ok(SslMode::Prefer),
        "require" | "required" => Ok(SslMode::Require),
        "verify-ca" => Ok(SslMode::VerifyCa),
        "verify-full" | "verify-identity" => Ok(SslMode::VerifyFull),
        // The value is not echoed: a secret pasted into the wrong field must not come back.
        _ => Err(Failure::invalid_input(
            "unknown ssl mode: use disable, prefer, require, verify-ca or verify-full",
        )),
    }
}

/// Reads the password from the environment variable `name`, naming the variable (never
/// the value) when it is missing.
pub fn password_from_env(name: &str) -> Result<SecretString, Failure> {
    match std::env::var(name) {
        Ok(value) => Ok(SecretString::from(value)),
        Err(std::env::VarError::NotPresent) => Err(Failure::config(format!(
            "the password variable {name} is not set in the environment"
        ))),
        Err(std::env::VarError::NotUnicode(_)) => Err(Failure::config(format!(
            "the password variable {name} is not valid UTF-8"
        ))),
    }
}

/// Makes `path` absolute (relative to the current directory) and checks it is UTF-8.
pub fn absolute_file(path: &std::path::Path) -> Result<PathBuf, Failure> {
    let absolute = std::path::absolute(path).map_err(|error| {
        Failure::invalid_input(format!("cannot resolve the file path: {error}"))
    })?;
    if absolute.to_str().is_none() {
        return Err(Failure::invalid_input(format!(
            "the file path {} is not valid UTF-8; rename the file or use a UTF-8 path",
            absolute.display()
        )));
    }
    Ok(absolute)
}

impl ConnectionSpec {
    /// The target that a DSN and flags alone describe; `--connection` and the saved
    /// connections are not consulted (commands use [`resolve()`]). Flags override the DSN.
    pub fn from_args(args: &ConnectionArgs, sanitizer: &mut Sanitizer) -> Result<Self, Failure> {
        let mut spec = match &args.dsn {
            Some(dsn) => {
                sanitizer.add_secret(dsn);
                parse_dsn(dsn, sanitizer)?
            }
            None => ConnectionSpec::default(),
        };
        spec.apply_flags(args, sanitizer)?;
        if spec.engine.is_empty() {
            return Err(Failure::invalid_input(format!(
                "no engine given: {}",
                hint("engine_or_dsn")
            )));
        }
        Ok(spec)
    }

    /// Overrides fields with those `other` sets (its options are merged, `other` winning).
    pub fn overlay(&mut self, other: ConnectionSpec) {
        if !other.engine.is_empty() {
            self.engine = other.engine;
        }
        self.file = other.file.or(self.file.take());
        self.host = other.host.or(self.host.take());
        self.port = other.port.or(self.port);
        self.user = other.user.or(self.user.take());
        self.password = other.password.or(self.password.take());
        self.database = other.database.or(self.database.take());
        self.ssl_mode = other.ssl_mode.or(self.ssl_mode);
        self.ssl_ca = other.ssl_ca.or(self.ssl_ca.take());
        for (key, value) in other.options {
            self.options.retain(|(existing, _)| *existing != key);
            self.options.push((key, value));
        }
        self.limits = self.limits.lowered_by(other.limits);
    }

    /// Overrides fields with the flags that are set.
    pub fn apply_flags(
        &mut self,
        args: &ConnectionArgs,
        sanitizer: &mut Sanitizer,
    ) -> Result<(), Failure> {
        if let Some(engine) = &args.engine {
            self.engine = engine.to_ascii_lowercase();
        }
        if let Some(file) = &args.file {
            self.file = Some(absolute_file(file)?);
        }
        if let Some(host) = &args.host {
            self.host = Some(host.clone());
        }
        if let Some(port) = args.port {
            self.port = Some(port);
        }
        if let Some(user) = &args.user {
            self.user = Some(user.clone());
        }
        if let Some(variable) = &args.password_env {
            let password = password_from_env(variable)?;
            sanitizer.add_secret(password.expose_secret());
            self.password = Some(password);
        }
        if let Some(database) = &args.database {
            self.database = Some(database.clone());
        }
        if let Some(mode) = &args.ssl_mode {
            self.ssl_mode = Some(parse_ssl_mode(mode)?);
        }
        if let Some(ca) = &args.ssl_ca {
            self.ssl_ca = Some(absolute_file(ca)?);
        }
        // A call's flags lower the ceilings; they never raise them.
        self.limits = self
            .limits
            .limited_by_call(SessionLimits::from_args(&args.limits)?);
        Ok(())
    }

    /// The parameters handed to the plugin. This is where the password leaves its
    /// `SecretString`, and only into the plugin's own parameter block.
    pub fn to_params(&self, access: AccessMode, statement_timeout_ms: u64) -> ConnectParams {
        fn text(value: &Option<String>) -> ROption<RString> {
            value.as_deref().map(RString::from).into()
        }
        fn path(value: &Option<PathBuf>) -> ROption<RString> {
            value
                .as_ref()
                .and_then(|path| path.to_str())
                .map(RString::from)
                .into()
        }
        let mut params = ConnectParams::new(&self.engine, access);
        params.file = path(&self.file);
        params.host = text(&self.host);
        params.port = self.port.into();
        params.user = text(&self.user);
        params.password = self
            .password
            .as_ref()
            .map(|secret| RString::from(secret.expose_secret()))
            .into();
        params.database = text(&self.database);
        params.ssl_mode = self.ssl_mode.unwrap_or(SslMode::Prefer);
        params.ssl_ca = path(&self.ssl_ca);
        params.statement_timeout_ms = statement_timeout_ms;
        // The host's keys replace any of the same name from a DSN or saved options.
        let host_options = self.limits.options(statement_timeout_ms);
        params.options = self
            .options
            .iter()
            .filter(|(key, _)| !limits::OPTION_KEYS.contains(&key.as_str()))
            .chain(host_options.iter())
            .map(|(key, value)| Tuple2(RString::from(key.as_str()), RString::from(value.as_str())))
            .collect::<RVec<_>>();
        params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dsn_cannot_set_the_keys_the_host_owns() {
        let mut sanitizer = Sanitizer::new();
        let args = ConnectionArgs {
            dsn: Some(
                "postgres://u@h/db?max_temp_bytes=999999999999&connect_timeout_ms=60000&application_name=x"
                    .into(),
            ),
            limits: LimitArgs {
                max_temp_mb: Some(2),
                ..LimitArgs::default()
            },
            ..ConnectionArgs::default()
        };
        let spec = ConnectionSpec::from_args(&args, &mut sanitizer).expect("spec");
        let params = spec.to_params(AccessMode::Read, 1_000);
        assert_eq!(params.option("max_temp_bytes"), Some("2097152"));
        assert_eq!(params.option("connect_timeout_ms"), Some("1000"));
        assert_eq!(params.option("application_name"), Some("x"));
        let count = |key: &str| params.options.iter().filter(|kv| kv.0 == key).count();
        assert_eq!(count("max_temp_bytes"), 1);
        assert_eq!(count("connect_timeout_ms"), 1);
    }
}
