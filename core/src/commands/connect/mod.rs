//! `plenum connect`: save, list, remove and test named connections, and pick the project's
//! default. The files and their format are in [`crate::services::connection::store`]; how a command uses a saved
//! connection is in [`crate::services::connection::resolve()`].

mod save;

use std::path::PathBuf;
use std::time::Duration;

use plenum_plugin_api::abi_stable::std_types::{ROption, RString};
use plenum_plugin_api::AccessMode;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::pipeline::exec::plugin_failure;
use crate::pipeline::session::open_session;
use crate::services::connection::store::{Loaded, Locations, SavedConnection, Scope};
use crate::services::connection::{
    known_names, resolve, ConnectionArgs, ConnectionSpec, SessionLimits,
};
use crate::services::error::Failure;
use crate::services::options::Values;
use crate::services::output::Response;
use crate::services::plugins::kept;
use crate::services::sanitize::Sanitizer;
use crate::services::words::option;

/// What `plenum connect` was asked (the options of [`crate::services::options::CONNECT`] after
/// [`crate::services::options::CONNECTION`]).
#[derive(Debug)]
pub struct ConnectArgs {
    connection: ConnectionArgs,
    name: Option<String>,
    save: Option<Scope>,
    password: Option<Option<SecretString>>,
    max_capability: Option<String>,
    default: bool,
    test: bool,
    list: bool,
    remove: Option<String>,
    timeout_ms: u64,
}

impl ConnectArgs {
    /// The request `values` make.
    pub fn from_values(values: &Values) -> Self {
        ConnectArgs {
            connection: ConnectionArgs::from_values(values),
            name: values.text("name"),
            save: values.text("save").and_then(|scope| match scope.as_str() {
                "local" => Some(Scope::Local),
                "global" => Some(Scope::Global),
                _ => None,
            }),
            password: values.secret("password"),
            max_capability: values.text("max_capability"),
            default: values.flag("default"),
            test: values.flag("test"),
            list: values.flag("list"),
            remove: values.text("remove"),
            timeout_ms: values.count_or_default("timeout_ms", crate::services::options::CONNECT),
        }
    }
}

/// Runs `plenum connect`.
pub fn connect(args: ConnectArgs) -> Response {
    if args.list {
        return list_saved();
    }
    let mut sanitizer = Sanitizer::new();
    if let Some(Some(password)) = &args.password {
        sanitizer.add_secret(password.expose_secret());
    }
    let engine = args.connection.engine.clone();
    match run(&args, &Locations::discover(), &mut sanitizer) {
        Ok((engine, data)) => Response {
            engine,
            command: "connect",
            outcome: Ok((data, None)),
            sanitizer,
        },
        Err(failure) => Response::failure(engine, "connect", failure, sanitizer),
    }
}

/// The answer of `plenum connect --list`, for front ends that have no command line.
pub fn list_saved() -> Response {
    let mut sanitizer = Sanitizer::new();
    match list(&Locations::discover(), &mut sanitizer) {
        Ok((engine, data)) => Response {
            engine,
            command: "connect",
            outcome: Ok((data, None)),
            sanitizer,
        },
        Err(failure) => Response::failure(None, "connect", failure, sanitizer),
    }
}

/// The engine involved (if any) and the command's `data`.
type Outcome = Result<(Option<String>, Box<RawValue>), Failure>;

fn render(data: &impl Serialize) -> Result<Box<RawValue>, Failure> {
    serde_json::value::to_raw_value(data)
        .map_err(|error| Failure::internal(format!("cannot render the result: {error}")))
}

/// What `--test` learned about the server.
#[derive(Serialize)]
struct ServerOut {
    version: String,
    database: Option<String>,
    user: Option<String>,
    /// What the login can do beyond the tiers' assumptions; absent when the plugin cannot
    /// say (plugin API before 1.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    login: Option<crate::pipeline::reach::LoginReport>,
}

fn run(args: &ConnectArgs, locations: &Locations, sanitizer: &mut Sanitizer) -> Outcome {
    if let Some(name) = &args.remove {
        return remove(name, args.save, locations, sanitizer);
    }
    if let Some(name) = &args.name {
        return save::save(args, name, locations, sanitizer);
    }
    if args.test {
        let resolved = resolve(&args.connection, sanitizer)?;
        let engine = resolved.spec.engine.clone();
        let server = test_target(&resolved.spec, args.timeout(), sanitizer)?;
        #[derive(Serialize)]
        struct TestOut<'a> {
            connection: Option<&'a str>,
            scope: Option<Scope>,
            config: Option<&'a std::path::Path>,
            server: ServerOut,
        }
        let saved = resolved.saved.as_ref();
        let data = render(&TestOut {
            connection: saved.map(|saved| saved.name.as_str()),
            scope: saved.map(|saved| saved.scope),
            config: saved.map(|saved| saved.file.as_path()),
            server,
        })?;
        return Ok((Some(engine), data));
    }
    if args.default {
        if let Some(name) = &args.connection.connection {
            return set_default(
                name,
                args.save.unwrap_or(Scope::Local),
                locations,
                sanitizer,
            );
        }
    }
    Err(Failure::invalid_input(format!(
        "say what to do: {} NAME (with {}/{} and connection flags) saves a connection, {} \
         lists them, {} NAME removes one, {} opens one, and {} {} NAME makes one the default",
        option("name"),
        option("engine"),
        option("dsn"),
        option("list"),
        option("remove"),
        option("test"),
        option("default"),
        option("connection")
    )))
}

impl ConnectArgs {
    fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// Opens `target` read-only and asks the plugin who and where it is.
fn test_target(
    target: &ConnectionSpec,
    timeout: Duration,
    sanitizer: &Sanitizer,
) -> Result<ServerOut, Failure> {
    let plugin = kept::engine(&target.engine)?;
    let on_stuck = crate::pipeline::session::exit_on_stuck(
        Some(target.engine.clone()),
        "connect",
        timeout,
        sanitizer.clone(),
    );
    let mut session = open_session(&plugin, target, AccessMode::Read, timeout, on_stuck)?;
    let info = session
        .connection
        .server_info()
        .into_result()
        .map_err(|error| plugin_failure(error, &session.watchdog))?;
    let mut login = crate::pipeline::reach::login_report(&mut session.connection)
        .map_err(|error| plugin_failure(error, &session.watchdog))?;
    // The powers are the plugin's words: checked at the boundary like every field.
    if let Some(login) = login.as_mut() {
        login.user = sanitizer.field(&login.user, crate::services::sanitize::MAX_FIELD_BYTES);
        for power in &mut login.powers {
            power.power = sanitizer.field(&power.power, crate::services::sanitize::MAX_FIELD_BYTES);
            power.meaning =
                sanitizer.field(&power.meaning, crate::services::sanitize::MAX_FIELD_BYTES);
        }
    }
    // What the plugin reports is checked at the boundary like a message: a driver may put the
    // connection string there.
    let field = |text: &RString| sanitizer.field(text, crate::services::sanitize::MAX_FIELD_BYTES);
    let text = |value: &ROption<RString>| value.as_ref().map(field).into_option();
    Ok(ServerOut {
        version: field(&info.version),
        database: text(&info.database),
        user: text(&info.user),
        login,
    })
}

/// A saved connection as listings show it: every field but the secret, which is described
/// by its source only (`env:VAR`, `stored` or null).
#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    scope: Scope,
    config: &'a std::path::Path,
    engine: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ssl_mode: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ssl_ca: Option<&'a str>,
    /// Option values may be credentials of their own; their names are enough to list.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    options: Vec<&'a str>,
    password: Option<String>,
    max_capability: Option<&'a str>,
    #[serde(skip_serializing_if = "SessionLimits::is_empty")]
    limits: SessionLimits,
    #[serde(skip_serializing_if = "Option::is_none")]
    default: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shadowed: Option<bool>,
}

fn describe<'a>(name: &'a str, file: &'a Loaded, saved: &'a SavedConnection) -> Listed<'a> {
    Listed {
        name,
        scope: file.scope,
        config: &file.path,
        engine: &saved.engine,
        file: saved.file.as_deref(),
        host: saved.host.as_deref(),
        port: saved.port,
        user: saved.user.as_deref(),
        database: saved.database.as_deref(),
        ssl_mode: saved.ssl_mode.as_deref(),
        ssl_ca: saved.ssl_ca.as_deref(),
        options: saved.options.keys().map(String::as_str).collect(),
        password: saved.password_source(),
        max_capability: saved.max_capability.as_deref(),
        limits: saved.limits,
        default: None,
        shadowed: None,
    }
}

fn list(locations: &Locations, sanitizer: &mut Sanitizer) -> Outcome {
    let files = locations.load_existing(sanitizer)?;
    let default = files.iter().find_map(|file| file.config.default.clone());
    let local_names: Vec<&String> = files
        .iter()
        .filter(|file| file.scope == Scope::Local)
        .flat_map(|file| file.config.connections.keys())
        .collect();
    let mut connections = Vec::new();
    for file in &files {
        for (name, saved) in &file.config.connections {
            let shadowed = file.scope == Scope::Global && local_names.contains(&name);
            let mut entry = describe(name, file, saved);
            entry.default = Some(!shadowed && default.as_ref() == Some(name));
            entry.shadowed = Some(shadowed);
            connections.push(entry);
        }
    }
    #[derive(Serialize)]
    struct ConfigFiles {
        local: Option<PathBuf>,
        global: Option<PathBuf>,
    }
    #[derive(Serialize)]
    struct ListOut<'a> {
        connections: Vec<Listed<'a>>,
        default: Option<String>,
        config_files: ConfigFiles,
    }
    let data = render(&ListOut {
        connections,
        default,
        config_files: ConfigFiles {
            local: locations.path(Scope::Local),
            global: locations.path(Scope::Global),
        },
    })?;
    Ok((None, data))
}

fn remove(
    name: &str,
    scope: Option<Scope>,
    locations: &Locations,
    sanitizer: &mut Sanitizer,
) -> Outcome {
    let scopes = match scope {
        Some(scope) => vec![scope],
        None => vec![Scope::Local, Scope::Global],
    };
    for scope in scopes {
        if locations.path(scope).is_none() {
            continue;
        }
        let mut file = locations.load(scope, sanitizer)?;
        if file.config.connections.remove(name).is_none() {
            continue;
        }
        let was_default = file.config.default.as_deref() == Some(name);
        if was_default {
            file.config.default = None;
        }
        file.save()?;
        let still_saved: Vec<&str> = locations
            .load_existing(sanitizer)?
            .iter()
            .filter(|other| other.config.connections.contains_key(name))
            .map(|other| other.scope.as_str())
            .collect();
        #[derive(Serialize)]
        struct RemoveOut<'a> {
            removed: &'a str,
            scope: Scope,
            config: &'a std::path::Path,
            was_default: bool,
            still_saved_in: Vec<&'a str>,
        }
        let data = render(&RemoveOut {
            removed: name,
            scope: file.scope,
            config: &file.path,
            was_default,
            still_saved_in: still_saved,
        })?;
        return Ok((None, data));
    }
    let files = locations.load_existing(sanitizer)?;
    Err(Failure::config(format!(
        "no saved connection named '{name}' to remove{}; {}",
        scope
            .map(|scope| format!(" in the {} config", scope.as_str()))
            .unwrap_or_default(),
        known_names(&files)
    )))
}

fn set_default(
    name: &str,
    scope: Scope,
    locations: &Locations,
    sanitizer: &mut Sanitizer,
) -> Outcome {
    let files = locations.load_existing(sanitizer)?;
    if !files
        .iter()
        .any(|file| file.config.connections.contains_key(name))
    {
        return Err(Failure::config(format!(
            "cannot make '{name}' the default: it is not saved; {}",
            known_names(&files)
        )));
    }
    let mut file = locations.load(scope, sanitizer)?;
    file.config.default = Some(name.to_owned());
    file.save()?;
    #[derive(Serialize)]
    struct DefaultOut<'a> {
        default: &'a str,
        scope: Scope,
        config: &'a std::path::Path,
    }
    let data = render(&DefaultOut {
        default: name,
        scope: file.scope,
        config: &file.path,
    })?;
    Ok((None, data))
}
