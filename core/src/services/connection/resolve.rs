//! Which database a command talks to, and the ceilings that bind it.
//!
//! Order, lowest to highest precedence: the saved connection (`--connection NAME`, else the
//! project's default when neither `--engine` nor `--dsn` is given), then `--dsn`, then the
//! individual flags. A name is looked up in the local config first, then the global one.
//! Ceilings only accumulate: `PLENUM_MAX_CAPABILITY` and the `max_capability` of every saved
//! entry of that name (local and global) are all in force, and the lowest wins.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use super::store::{Loaded, Locations, SavedConnection, Scope};
use super::{absolute_file, parse_dsn, parse_ssl_mode, password_from_env, ConnectionArgs};
use super::{ConnectionSpec, SessionLimits};
use crate::services::capability::{ceiling_from_env, parse_tier, Ceiling};
use crate::services::error::Failure;
use crate::services::sanitize::Sanitizer;
use crate::services::words::hint;

/// A resolved connection with the ceilings in force for it.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Where to connect.
    pub spec: ConnectionSpec,
    /// Every ceiling in force: the environment's and the saved connection's.
    pub ceilings: Vec<Ceiling>,
    /// The saved connection used, if any.
    pub saved: Option<SavedRef>,
}

/// Which saved connection a resolution used.
#[derive(Debug, Clone)]
pub struct SavedRef {
    /// Its name.
    pub name: String,
    /// The file it came from (the local one when both files have the name).
    pub file: PathBuf,
    /// Local or global.
    pub scope: Scope,
}

/// Resolves `args` against the config files of the current directory and user, and the
/// environment. This is the one entry point for every front end.
pub fn resolve(args: &ConnectionArgs, sanitizer: &mut Sanitizer) -> Result<Resolved, Failure> {
    resolve_in(args, &Locations::discover(), sanitizer)
}

/// [`resolve`] with explicit config locations.
pub fn resolve_in(
    args: &ConnectionArgs,
    locations: &Locations,
    sanitizer: &mut Sanitizer,
) -> Result<Resolved, Failure> {
    // The environment's ceiling is read first: an unreadable one fails closed before anything.
    let mut ceilings: Vec<Ceiling> = ceiling_from_env()?.into_iter().collect();
    let chosen = choose_saved(args, locations, sanitizer)?;
    let mut spec = match &chosen {
        Some(chosen) => {
            ceilings.extend(chosen.ceilings.iter().cloned());
            chosen.spec_without_password()?
        }
        None => ConnectionSpec::default(),
    };
    if let Some(dsn) = &args.dsn {
        sanitizer.add_secret(dsn);
        spec.overlay(parse_dsn(dsn, sanitizer)?);
    }
    spec.apply_flags(args, sanitizer)?;
    if let Some(chosen) = &chosen {
        // A saved secret goes only to the saved server: flags that point elsewhere must
        // bring their own password.
        if spec.password.is_none() && chosen.is_same_server(&spec) {
            spec.password = chosen.password(sanitizer)?;
        }
    }
    if spec.engine.is_empty() {
        return Err(Failure::invalid_input(format!(
            "no engine given: {}",
            hint("engine_dsn_or_connection")
        )));
    }
    Ok(Resolved {
        spec,
        ceilings,
        saved: chosen.map(|chosen| SavedRef {
            name: chosen.name,
            file: chosen.file.path.clone(),
            scope: chosen.file.scope,
        }),
    })
}

/// The saved connection a resolution starts from.
struct Chosen {
    name: String,
    file: Loaded,
    connection: SavedConnection,
    ceilings: Vec<Ceiling>,
    /// The connection's limits; a ceiling set on the same name in another file is in force
    /// too (the lower one wins).
    limits: SessionLimits,
}

/// A list of the saved names for error messages: `a (local), b (global)`.
pub fn known_names(files: &[Loaded]) -> String {
    let names: Vec<String> = files
        .iter()
        .flat_map(|file| {
            file.config
                .connections
                .keys()
                .map(move |name| format!("{name} ({})", file.scope.as_str()))
        })
        .collect();
    if names.is_empty() {
        format!("none are saved; {}", hint("save_connection"))
    } else {
        format!("saved: {}", names.join(", "))
    }
}

fn choose_saved(
    args: &ConnectionArgs,
    locations: &Locations,
    sanitizer: &mut Sanitizer,
) -> Result<Option<Chosen>, Failure> {
    let explicit = args.connection.as_deref();
    // A command that names an engine or a DSN means an ad-hoc connection, so the project
    // default does not apply and no config file needs to be read.
    if explicit.is_none() && (args.engine.is_some() || args.dsn.is_some()) {
        return Ok(None);
    }
    let files = locations.load_existing(sanitizer)?;
    let (name, named_by) = match explicit {
        Some(name) => (name.to_owned(), None),
        None => match files.iter().find_map(|file| {
            file.config
                .default
                .as_ref()
                .map(|name| (name.clone(), file.path.clone()))
        }) {
            Some((name, file)) => (name, Some(file)),
            None => return Ok(None),
        },
    };
    let matches: Vec<&Loaded> = files
        .iter()
        .filter(|file| file.config.connections.contains_key(&name))
        .collect();
    let Some(winner) = matches.first() else {
        let origin = match named_by {
            Some(file) => format!(
                "the default connection '{name}' (set in {})",
                file.display()
            ),
            None => format!("no saved connection is named '{name}'"),
        };
        let message = if origin.starts_with("the default") {
            format!("{origin} is not saved; {}", known_names(&files))
        } else {
            format!("{origin}; {}", known_names(&files))
        };
        return Err(Failure::config(message));
    };
    let mut ceilings = Vec::new();
    for file in &matches {
        if let Some(connection) = file.config.connections.get(&name) {
            if let Some(tier) = &connection.max_capability {
                let tier = parse_tier(tier).ok_or_else(|| {
                    Failure::config(format!(
                        "saved connection '{name}' in {} has a max_capability that is not \
                         read, write or ddl",
                        file.path.display()
                    ))
                })?;
                ceilings.push(Ceiling::saved(tier, &name, &file.path));
            }
        }
    }
    let connection = winner
        .config
        .connections
        .get(&name)
        .cloned()
        .unwrap_or_default();
    let limits = matches
        .iter()
        .skip(1)
        .filter_map(|file| file.config.connections.get(&name))
        .fold(connection.limits, |limits, other| {
            limits.lowered_by(SessionLimits {
                connect_timeout_ms: None,
                ..other.limits
            })
        });
    Ok(Some(Chosen {
        name,
        file: (*winner).clone(),
        connection,
        ceilings,
        limits,
    }))
}

impl Chosen {
    fn broken(&self, what: &str) -> Failure {
        Failure::config(format!(
            "saved connection '{}' in {}: {what}",
            self.name,
            self.file.path.display()
        ))
    }

    fn path(&self, text: &str) -> Result<PathBuf, Failure> {
        let path = Path::new(text);
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.file.base_dir().join(path)
        };
        absolute_file(&path).map_err(|failure| self.broken(&failure.message))
    }

    fn spec_without_password(&self) -> Result<ConnectionSpec, Failure> {
        let saved = &self.connection;
        if saved.engine.trim().is_empty() {
            return Err(self.broken("the engine is empty"));
        }
        Ok(ConnectionSpec {
            engine: saved.engine.to_ascii_lowercase(),
            file: saved
                .file
                .as_deref()
                .map(|file| self.path(file))
                .transpose()?,
            host: saved.host.clone(),
            port: saved.port,
            user: saved.user.clone(),
            password: None,
            database: saved.database.clone(),
            ssl_mode: saved
                .ssl_mode
                .as_deref()
                .map(|mode| parse_ssl_mode(mode).map_err(|failure| self.broken(&failure.message)))
                .transpose()?,
            ssl_ca: saved
                .ssl_ca
                .as_deref()
                .map(|ca| self.path(ca))
                .transpose()?,
            options: saved
                .options
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
            allowed_routines: saved.allowed_routines.clone(),
            limits: self.limits,
        })
    }

    fn is_same_server(&self, spec: &ConnectionSpec) -> bool {
        let saved = &self.connection;
        spec.engine.eq_ignore_ascii_case(&saved.engine)
            && spec.host == saved.host
            && spec.port == saved.port
    }

    fn password(&self, sanitizer: &mut Sanitizer) -> Result<Option<SecretString>, Failure> {
        let saved = &self.connection;
        let password = match (&saved.password_env, &saved.password) {
            (Some(variable), _) => Some(password_from_env(variable).map_err(|_| {
                self.broken(&format!(
                    "its password is read from the environment variable {variable}, which is \
                     not set (or not UTF-8) in this environment"
                ))
            })?),
            (None, Some(stored)) => Some(stored.0.clone()),
            (None, None) => None,
        };
        if let Some(password) = &password {
            sanitizer.add_secret(password.expose_secret());
        }
        Ok(password)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::connection::store::StoredPassword;
    use plenum_gate::Tier;

    fn project_with(config: &str) -> (tempfile::TempDir, Locations) {
        let dir = tempfile::tempdir().expect("temp dir");
        let plenum = dir.path().join(".plenum");
        std::fs::create_dir(&plenum).expect("mkdir");
        std::fs::write(plenum.join("config.json"), config).expect("write");
        let locations = Locations::new(Some(dir.path()), None, None);
        (dir, locations)
    }

    fn args(connection: Option<&str>) -> ConnectionArgs {
        ConnectionArgs {
            connection: connection.map(str::to_owned),
            ..ConnectionArgs::default()
        }
    }

    const PROD: &str = r#"{"default": "prod", "connections": {"prod": {"engine": "postgres",
        "host": "db.internal", "port": 5432, "user": "app", "password": "Zq9-secret-PW",
        "max_capability": "read"}}}"#;

    #[test]
    fn default_connection_applies_and_carries_its_ceiling() {
        let (_dir, locations) = project_with(PROD);
        let resolved = resolve_in(&args(None), &locations, &mut Sanitizer::new()).expect("ok");
        assert_eq!(resolved.spec.host.as_deref(), Some("db.internal"));
        let saved: Vec<_> = resolved
            .ceilings
            .iter()
            .filter(|c| c.source.starts_with("saved connection 'prod' in "))
            .collect();
        assert_eq!(saved.len(), 1);
        assert_eq!(saved[0].tier, Tier::Read);
    }

    #[test]
    fn flags_override_fields_and_the_saved_password_stays_with_its_server() {
        let (_dir, locations) = project_with(PROD);
        let mut same = args(Some("prod"));
        same.database = Some("other".into());
        let resolved = resolve_in(&same, &locations, &mut Sanitizer::new()).expect("ok");
        assert_eq!(resolved.spec.database.as_deref(), Some("other"));
        assert!(resolved.spec.password.is_some());

        let mut elsewhere = args(Some("prod"));
        elsewhere.host = Some("attacker.example".into());
        let resolved = resolve_in(&elsewhere, &locations, &mut Sanitizer::new()).expect("ok");
        assert_eq!(resolved.spec.host.as_deref(), Some("attacker.example"));
        assert!(
            resolved.spec.password.is_none(),
            "the saved secret must not follow --host"
        );
    }

    #[test]
    fn an_engine_flag_means_an_ad_hoc_connection() {
        let (_dir, locations) = project_with(PROD);
        let mut adhoc = args(None);
        adhoc.engine = Some("sqlite".into());
        adhoc.file = Some("/tmp/x.db".into());
        let resolved = resolve_in(&adhoc, &locations, &mut Sanitizer::new()).expect("ok");
        assert!(resolved.saved.is_none());
        assert!(resolved.spec.host.is_none());
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let (_dir, locations) = project_with(PROD);
        let failure = resolve_in(&args(Some("nope")), &locations, &mut Sanitizer::new())
            .expect_err("unknown");
        assert!(
            failure.message.contains("prod (local)"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn saved_limits_apply_the_lower_of_both_files_and_flags_only_lower_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let project = dir.path().join("project");
        std::fs::create_dir_all(project.join(".plenum")).expect("mkdir");
        std::fs::write(
            project.join(".plenum").join("config.json"),
            r#"{"connections": {"db": {"engine": "postgres", "host": "h",
                "limits": {"connect_timeout_ms": 900, "max_temp_mb": 512}}}}"#,
        )
        .expect("write local");
        let xdg = dir.path().join("xdg");
        std::fs::create_dir_all(xdg.join("plenum")).expect("mkdir");
        std::fs::write(
            xdg.join("plenum").join("connections.json"),
            r#"{"connections": {"db": {"engine": "postgres", "host": "h",
                "limits": {"connect_timeout_ms": 100, "max_temp_mb": 64, "max_recursion": 7}}}}"#,
        )
        .expect("write global");
        let locations = Locations::new(Some(&project), None, Some(&xdg));
        let resolved =
            resolve_in(&args(Some("db")), &locations, &mut Sanitizer::new()).expect("ok");
        // The local entry's connect timeout; the lower ceiling of either file.
        assert_eq!(
            resolved.spec.limits,
            SessionLimits {
                connect_timeout_ms: Some(900),
                max_temp_mb: Some(64),
                max_memory_mb: None,
                max_recursion: Some(7),
            }
        );
        let mut call = args(Some("db"));
        call.limits.max_temp_mb = Some(100_000);
        call.limits.max_memory_mb = Some(8);
        call.limits.connect_timeout_ms = Some(3_000);
        let resolved = resolve_in(&call, &locations, &mut Sanitizer::new()).expect("ok");
        assert_eq!(resolved.spec.limits.max_temp_mb, Some(64));
        assert_eq!(resolved.spec.limits.max_memory_mb, Some(8));
        assert_eq!(resolved.spec.limits.connect_timeout_ms, Some(3_000));
    }

    #[test]
    fn an_unknown_limit_in_a_file_is_refused() {
        let (_dir, locations) = project_with(
            r#"{"connections": {"db": {"engine": "sqlite", "file": "x.db",
                "limits": {"max_temp_gb": 1}}}}"#,
        );
        let failure = resolve_in(&args(Some("db")), &locations, &mut Sanitizer::new())
            .expect_err("unknown key");
        assert_eq!(failure.code, crate::services::error::ErrorCode::ConfigError);
    }

    #[test]
    fn stored_password_reaches_the_sanitizer() {
        let (_dir, locations) = project_with(PROD);
        let mut sanitizer = Sanitizer::new();
        let resolved = resolve_in(&args(Some("prod")), &locations, &mut sanitizer).expect("ok");
        assert!(resolved.spec.password.is_some());
        assert_eq!(sanitizer.scrub("x Zq9-secret-PW"), "x ***");
        // Debug output of the saved type never shows it either.
        let debug = format!("{:?}", StoredPassword(SecretString::from("Zq9-secret-PW")));
        assert!(!debug.contains("Zq9"), "{debug}");
    }
}
