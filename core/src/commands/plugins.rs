//! `plenum plugins`: list what is installed, verify a library, describe one engine's plugin.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;

use crate::services::error::Failure;
use crate::services::output::Response;
use crate::services::plugins::discovery::{self, Candidate};
use crate::services::plugins::manifest::{self, Manifest};
use crate::services::plugins::trust::{self, Assessment, TrustStatus};
use crate::services::plugins::{perms, LoadedPlugin, Registry};
use crate::services::sanitize::Sanitizer;

/// `plenum plugins verify PATH [--write]`: the trust and version checks on one library
/// (loading it runs its code) and the manifest that describes it, written beside it with
/// `write`.
pub fn verify_library(path: &Path, write: bool) -> Response {
    match verify(path, write) {
        Ok(report) => Response::data(None, "plugins", &report, None, Sanitizer::new()),
        Err(failure) => Response::failure(None, "plugins", failure, Sanitizer::new()),
    }
}

/// `plenum plugins info ENGINE`: the plugin that serves `engine`, and the load policy.
pub fn info(engine: String) -> Response {
    let registry = Registry::discover();
    match registry.load_engine(&engine) {
        Ok(plugin) => Response::data(
            Some(engine),
            "plugins",
            &json!({
                "plugin": plugin.summary(),
                "policy": registry.policy().describe(),
            }),
            None,
            Sanitizer::new(),
        ),
        Err(failure) => Response::failure(Some(engine), "plugins", failure, Sanitizer::new()),
    }
}

/// `plenum plugins`: every library found, whether it is trusted and why, and where Plenum
/// looked.
pub fn list() -> Response {
    let registry = Registry::discover();
    Response::data(
        None,
        "plugins",
        &json!({
            "plugins": registry.list(),
            "search_path": registry.dirs(),
            "policy": registry.policy().describe(),
        }),
        None,
        Sanitizer::new(),
    )
}

/// One check of `plenum plugins verify`.
#[derive(Debug, Serialize)]
struct Check {
    check: &'static str,
    ok: bool,
    detail: String,
}

/// What `plenum plugins verify` prints.
#[derive(Debug, Serialize)]
struct VerifyReport {
    path: PathBuf,
    sha256: String,
    checks: Vec<Check>,
    /// The manifest that describes the library as it is.
    manifest: Manifest,
    manifest_path: PathBuf,
    written: bool,
    /// What the host decides about the library where it is now (after writing, with --write).
    trust: Assessment,
}

fn resolve(path: &Path) -> Result<PathBuf, Failure> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|error| Failure::invalid_input(format!("no current directory: {error}")))?
            .join(path)
    };
    let real = absolute
        .canonicalize()
        .map_err(|error| Failure::invalid_input(format!("{}: {error}", path.display())))?;
    if !real.is_file() {
        return Err(Failure::invalid_input(format!(
            "{} is not a file",
            real.display()
        )));
    }
    Ok(real)
}

fn verify(path: &Path, write: bool) -> Result<VerifyReport, Failure> {
    let path = resolve(path)?;
    let fail = |what: String| Failure::plugin(format!("plugin {}: {what}", path.display()));
    let mut checks = Vec::new();
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let discoverable = discovery::is_library_name(&file_name);
    checks.push(Check {
        check: "file_name",
        ok: discoverable,
        detail: if discoverable {
            "the search path picks it up by this name".to_owned()
        } else {
            format!(
                "'{file_name}' is never picked up: a plugin's file name is {}plenum_<name>{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            )
        },
    });
    // Nothing runs from a library that others could swap between the check and the load.
    perms::check(&path).map_err(|reason| fail(format!("refused before loading: {reason}")))?;
    checks.push(Check {
        check: "permissions",
        ok: true,
        detail: "only its owner (you or root) can change it or its folders".to_owned(),
    });
    let sha256 = manifest::sha256_file(&path).map_err(fail)?;
    let existing = manifest::read(&path);

    let explicit = Assessment {
        status: TrustStatus::Unverified,
        reason: "named on the command line of `plenum plugins verify`".to_owned(),
        sha256: Some(sha256.clone()),
        manifest_path: None,
        manifest: None,
    };
    let timeout = trust::Policy::from_env().load_timeout;
    let plugin = LoadedPlugin::load(&path, explicit, timeout)?;
    checks.push(Check {
        check: "load",
        ok: true,
        detail: format!(
            "loaded in time; plugin API {}, which this host speaks; dialect '{}' is known to the gate",
            plugin.summary().api_version.unwrap_or_default(),
            plugin.info().dialect
        ),
    });
    let described = plugin
        .manifest(sha256.clone())
        .with_dependencies_of(existing.as_ref().ok().and_then(Option::as_ref), &path);
    let manifest_path = manifest::manifest_path(&path);
    checks.push(match &existing {
        Ok(Some(current)) if *current == described => Check {
            check: "manifest",
            ok: true,
            detail: format!("{} describes the library as it is", manifest_path.display()),
        },
        Ok(Some(current)) => Check {
            check: "manifest",
            ok: false,
            detail: format!(
                "{} does not describe the library as it is{}",
                manifest_path.display(),
                if current.sha256 != sha256 {
                    " (the sha256 differs: the library changed)"
                } else {
                    ""
                }
            ),
        },
        Ok(None) => Check {
            check: "manifest",
            ok: false,
            detail: format!("there is no manifest at {}", manifest_path.display()),
        },
        Err(reason) => Check {
            check: "manifest",
            ok: false,
            detail: reason.clone(),
        },
    });
    let written = if write {
        manifest::write(&path, &described).map_err(fail)?;
        true
    } else {
        false
    };
    let installation = path.parent().is_some_and(|folder| {
        discovery::installation_dirs()
            .iter()
            .any(|dir| dir == folder)
    });
    let trust = trust::assess(
        &Candidate {
            path: path.clone(),
            installation,
        },
        &trust::Policy::from_env(),
    );
    Ok(VerifyReport {
        path,
        sha256,
        checks,
        manifest: described,
        manifest_path,
        written,
        trust,
    })
}
