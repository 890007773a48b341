//! `plenum connect --name NAME …`: turning flags into a saved connection.
//!
//! A password is written to the file only when the user asks for it (`--password`, with a
//! value or typed at a hidden prompt). `--password-env VAR` stores the variable's name; a
//! password inside a DSN is never stored.

use std::io::IsTerminal;

use plenum_plugin_api::SslMode;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::{describe, render, test_target, ConnectArgs, Listed, Outcome, ServerOut};
use crate::services::capability::parse_tier;
use crate::services::connection::store::{Locations, SavedConnection, Scope, StoredPassword};
use crate::services::connection::{password_from_env, ConnectionSpec, SessionLimits};
use crate::services::error::Failure;
use crate::services::sanitize::Sanitizer;
use crate::services::words::option;

/// The longest connection name accepted.
const MAX_NAME_CHARS: usize = 64;

fn check_name(name: &str) -> Result<(), Failure> {
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(())
    } else {
        Err(Failure::invalid_input(format!(
            "a connection name is 1 to {MAX_NAME_CHARS} letters, digits, '_', '-' or '.', not \
             starting with '-'"
        )))
    }
}

fn ssl_mode_name(mode: SslMode) -> &'static str {
    match mode {
        SslMode::Disable => "disable",
        SslMode::Prefer => "prefer",
        SslMode::Require => "require",
        SslMode::VerifyCa => "verify-ca",
        SslMode::VerifyFull => "verify-full",
    }
}

fn terminal_attached() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

fn prompt(name: &str, scope: Scope) -> Result<Option<SecretString>, Failure> {
    let question = format!(
        "Password for '{name}' (typing is hidden; it will be stored in the {} config file, \
         readable only by you; leave empty to store none): ",
        scope.as_str()
    );
    let answer = rpassword::prompt_password(question).map_err(|error| {
        Failure::invalid_input(format!(
            "cannot read the password from the terminal: {error}"
        ))
    })?;
    Ok(Some(answer)
        .filter(|answer| !answer.is_empty())
        .map(SecretString::from))
}

/// Where the saved connection's password comes from.
struct PasswordChoice {
    variable: Option<String>,
    stored: Option<SecretString>,
}

fn choose_password(
    args: &ConnectArgs,
    name: &str,
    scope: Scope,
    spec: &ConnectionSpec,
) -> Result<PasswordChoice, Failure> {
    let variable = args.connection.password_env.clone();
    let stored = match &args.password {
        Some(Some(password)) => Some(password.clone()),
        Some(None) if terminal_attached() => prompt(name, scope)?,
        Some(None) => {
            return Err(Failure::invalid_input(format!(
                "{} without a value reads the password from the terminal, and none is \
                 attached; pass {} VAR to read it from the environment instead",
                option("password"),
                option("password_env")
            )))
        }
        // Asked only for server connections, and only when a person can answer.
        None if variable.is_none() && spec.file.is_none() && terminal_attached() => {
            prompt(name, scope)?
        }
        None => None,
    };
    Ok(PasswordChoice { variable, stored })
}

/// Saves (or replaces) connection `name` described by the flags of `args`.
pub(super) fn save(
    args: &ConnectArgs,
    name: &str,
    locations: &Locations,
    sanitizer: &mut Sanitizer,
) -> Outcome {
    check_name(name)?;
    let scope = args.save.unwrap_or(Scope::Local);
    let max_capability = args
        .max_capability
        .as_deref()
        .map(|text| {
            parse_tier(text).ok_or_else(|| {
                Failure::invalid_input(format!(
                    "{} must be read, write or ddl",
                    option("max_capability")
                ))
            })
        })
        .transpose()?;
    // The variable is recorded by name here, never read: it may be set only where the
    // connection is used.
    let mut flags = args.connection.clone();
    flags.password_env = None;
    let mut spec = ConnectionSpec::from_args(&flags, sanitizer)?;
    // What the human saves is the ceiling itself, also above the defaults.
    spec.limits = SessionLimits::from_args(&flags.limits)?;
    let password = choose_password(args, name, scope, &spec)?;
    if let Some(stored) = &password.stored {
        sanitizer.add_secret(stored.expose_secret());
    }
    let mut warnings = Vec::new();
    if spec.password.is_some() && password.stored.is_none() && password.variable.is_none() {
        warnings.push(format!(
            "the password in the DSN was not saved: a password is stored only with {}; {} VAR \
             reads it from the environment instead",
            option("password"),
            option("password_env")
        ));
    }
    let server = if args.test {
        let mut target = spec.clone();
        if let Some(variable) = &password.variable {
            let secret = password_from_env(variable)?;
            sanitizer.add_secret(secret.expose_secret());
            target.password = Some(secret);
        } else if let Some(stored) = &password.stored {
            target.password = Some(stored.clone());
        }
        // Only a connection that works is saved when --test is given.
        Some(test_target(&target, args.timeout(), sanitizer)?)
    } else {
        None
    };
    let path_text = |path: &std::path::PathBuf| path.to_str().map(str::to_owned);
    let saved = SavedConnection {
        engine: spec.engine.clone(),
        file: spec.file.as_ref().and_then(path_text),
        host: spec.host.clone(),
        port: spec.port,
        user: spec.user.clone(),
        database: spec.database.clone(),
        ssl_mode: spec.ssl_mode.map(|mode| ssl_mode_name(mode).to_owned()),
        ssl_ca: spec.ssl_ca.as_ref().and_then(path_text),
        options: spec.options.iter().cloned().collect(),
        password_env: password.variable,
        password: password.stored.map(StoredPassword),
        max_capability: max_capability.map(|tier| tier.as_str().to_owned()),
        allowed_routines: Vec::new(),
        limits: spec.limits,
    };
    let mut file = locations.load(scope, sanitizer)?;
    let replaced = file
        .config
        .connections
        .insert(name.to_owned(), saved.clone())
        .is_some();
    if args.default {
        file.config.default = Some(name.to_owned());
    }
    file.save()?;
    #[derive(Serialize)]
    struct SaveOut<'a> {
        saved: &'a str,
        replaced: bool,
        default: bool,
        connection: Listed<'a>,
        server: Option<ServerOut>,
        warnings: Vec<String>,
    }
    let data = render(&SaveOut {
        saved: name,
        replaced,
        default: file.config.default.as_deref() == Some(name),
        connection: describe(name, &file, &saved),
        server,
        warnings,
    })?;
    Ok((Some(spec.engine), data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shell_friendly() {
        assert!(check_name("prod-db_2.eu").is_ok());
        for bad in ["", "-x", "a b", "x;y", "ü", &"n".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
