//! Whether a library may be loaded, decided before any of its code runs.
//!
//! Loading a shared library runs its initialisers, so everything here works from the file
//! system only: the path, the permissions, the manifest beside the library, the library's
//! sha256 and the user's allow-list.
//!
//! The policy:
//!
//! * The path is absolute and not in the current directory (unless that is the installation).
//! * Nobody but the owner (the current user or root) can write the library or any folder
//!   above it ([`super::perms`]).
//! * A manifest, when present, names this file, an API version the host speaks and the
//!   library's sha256.
//! * Libraries in the installation (the executable's folder, its `plugins/` subfolder, and
//!   `PREFIX/lib/plenum/plugins` for `PREFIX/bin/plenum`) load without a manifest: whatever can write there could replace `plenum` itself. Every
//!   other library needs a manifest, or its hash in the allow-list, or the explicit opt-in
//!   `PLENUM_ALLOW_UNVERIFIED_PLUGINS=1`.
//! * When the user keeps an allow-list (`$XDG_CONFIG_HOME/plenum/plugins.json`,
//!   `{"allow_sha256": ["…"]}`), only libraries whose sha256 it lists load, wherever they are.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::discovery::Candidate;
use super::manifest::{self, Manifest};
use super::perms;

/// The variable that lets libraries without a manifest load from outside the installation.
pub const ALLOW_UNVERIFIED_ENV: &str = "PLENUM_ALLOW_UNVERIFIED_PLUGINS";
/// The variable that sets how long a library may take to load, in milliseconds.
pub const LOAD_TIMEOUT_ENV: &str = "PLENUM_PLUGIN_LOAD_TIMEOUT_MS";
/// How long a library may take to load when the variable is not set.
pub const DEFAULT_LOAD_TIMEOUT: Duration = Duration::from_secs(10);
/// The allow-list's file name in the user's config folder.
pub const ALLOW_LIST_FILE: &str = "plugins.json";
/// Allow-lists larger than this are refused rather than read whole.
const MAX_ALLOW_LIST_BYTES: u64 = 1 << 20;

/// The user's allow-list of library hashes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowListFile {
    allow_sha256: Vec<String>,
}

/// The allow-list in force.
#[derive(Debug, Clone)]
pub enum AllowList {
    /// The user keeps none: trust follows the manifest rules alone.
    Absent,
    /// Only these hashes (lower-case hex) may load.
    Hashes {
        /// The file they came from.
        path: PathBuf,
        /// The hashes.
        sha256: Vec<String>,
    },
    /// The file exists but cannot be used; nothing loads until it is fixed (fail closed).
    Broken {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// The rules in force for this invocation.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `PLENUM_ALLOW_UNVERIFIED_PLUGINS=1` was set.
    pub allow_unverified: bool,
    /// The user's allow-list.
    pub allow_list: AllowList,
    /// How long a library may take to load.
    pub load_timeout: Duration,
}

/// How the policy is described by `plenum plugins`.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyOut {
    /// Libraries without a manifest load from anywhere (`PLENUM_ALLOW_UNVERIFIED_PLUGINS=1`).
    pub allow_unverified: bool,
    /// The allow-list file in force, if any.
    pub allow_list: Option<PathBuf>,
    /// Hashes it lists.
    pub allowed_hashes: usize,
    /// Why the allow-list cannot be used, when it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_list_error: Option<String>,
    /// How long a library may take to load.
    pub load_timeout_ms: u64,
}

fn config_home() -> Option<PathBuf> {
    // As for saved connections: a relative XDG_CONFIG_HOME is invalid and ignored.
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .map(PathBuf::from)
                .or_else(dirs::home_dir)
                .map(|home| home.join(".config"))
        })
}

fn read_allow_list(path: &Path) -> AllowList {
    let broken = |reason: String| AllowList::Broken {
        path: path.to_path_buf(),
        reason,
    };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return AllowList::Absent,
        Err(error) => return broken(format!("cannot read it: {error}")),
    };
    if metadata.len() > MAX_ALLOW_LIST_BYTES {
        return broken(format!("it is larger than {MAX_ALLOW_LIST_BYTES} bytes"));
    }
    // A list that others can edit pins nothing.
    if let Err(reason) = perms::check(path) {
        return broken(reason);
    }
    let parsed = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read it: {error}"))
        .and_then(|text| {
            serde_json::from_str::<AllowListFile>(&text).map_err(|error| {
                format!("it is not {{\"allow_sha256\": [\"<sha256>\", …]}}: {error}")
            })
        });
    match parsed {
        Ok(file) => {
            let sha256: Vec<String> = file
                .allow_sha256
                .iter()
                .map(|hash| hash.trim().to_ascii_lowercase())
                .collect();
            match sha256.iter().find(|hash| !is_sha256_hex(hash)) {
                Some(bad) => broken(format!("'{bad}' is not a sha256 in hex")),
                None => AllowList::Hashes {
                    path: path.to_path_buf(),
                    sha256,
                },
            }
        }
        Err(reason) => broken(reason),
    }
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

impl Policy {
    /// The policy from the environment and the user's config folder.
    pub fn from_env() -> Self {
        let allow_unverified = std::env::var(ALLOW_UNVERIFIED_ENV)
            .map(|value| matches!(value.trim(), "1" | "true" | "yes"))
            .unwrap_or(false);
        let load_timeout = std::env::var(LOAD_TIMEOUT_ENV)
            .ok()
            .and_then(|value| value.trim().parse::<u64>().ok())
            .filter(|&millis| millis > 0)
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_LOAD_TIMEOUT);
        let allow_list = match config_home() {
            Some(home) => read_allow_list(&home.join("plenum").join(ALLOW_LIST_FILE)),
            None => AllowList::Absent,
        };
        Policy {
            allow_unverified,
            allow_list,
            load_timeout,
        }
    }

    /// The policy as `plenum plugins` prints it.
    pub fn describe(&self) -> PolicyOut {
        let (allow_list, allowed_hashes, allow_list_error) = match &self.allow_list {
            AllowList::Absent => (None, 0, None),
            AllowList::Hashes { path, sha256 } => (Some(path.clone()), sha256.len(), None),
            AllowList::Broken { path, reason } => (Some(path.clone()), 0, Some(reason.clone())),
        };
        PolicyOut {
            allow_unverified: self.allow_unverified,
            allow_list,
            allowed_hashes,
            allow_list_error,
            load_timeout_ms: u64::try_from(self.load_timeout.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// The trust decision for one library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustStatus {
    /// A manifest with a matching hash, or the hash is in the user's allow-list.
    Verified,
    /// In the installation's own folders, which only the installer can write.
    Installation,
    /// No manifest, loaded only because of `PLENUM_ALLOW_UNVERIFIED_PLUGINS=1`.
    Unverified,
    /// Not loaded.
    Refused,
}

/// What the checks found about one library.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    /// The decision.
    pub status: TrustStatus,
    /// Why, in one sentence.
    pub reason: String,
    /// The library's sha256, when it was needed (manifest or allow-list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The manifest's path, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_path: Option<PathBuf>,
    /// The manifest, when there is a readable one.
    #[serde(skip)]
    pub manifest: Option<Manifest>,
}

impl Assessment {
    /// Whether the library may be loaded.
    pub fn allows_loading(&self) -> bool {
        self.status != TrustStatus::Refused
    }

    fn refused(
        reason: String,
        manifest: Option<Manifest>,
        sha256: Option<String>,
        manifest_path: Option<PathBuf>,
    ) -> Self {
        Assessment {
            status: TrustStatus::Refused,
            reason,
            sha256,
            manifest_path,
            manifest,
        }
    }
}

/// Decides whether `candidate` may be loaded, without running any of its code.
pub fn assess(candidate: &Candidate, policy: &Policy) -> Assessment {
    let path = &candidate.path;
    let manifest_path = manifest::manifest_path(path);
    let manifest_exists = manifest_path.exists();
    let listed_manifest = manifest_exists.then(|| manifest_path.clone());
    let refuse = |reason: String| Assessment::refused(reason, None, None, listed_manifest.clone());

    if !path.is_absolute() {
        return refuse("relative library paths are never loaded".to_owned());
    }
    if !candidate.installation {
        let current = std::env::current_dir()
            .ok()
            .and_then(|dir| dir.canonicalize().ok());
        let folder = path.parent().and_then(|dir| dir.canonicalize().ok());
        if current.is_some() && current == folder {
            return refuse("libraries in the current directory are never loaded".to_owned());
        }
    }
    if let Err(reason) = perms::check(path) {
        return refuse(reason);
    }
    if manifest_exists {
        if let Err(reason) = perms::check(&manifest_path) {
            return refuse(reason);
        }
    }
    let manifest = match manifest::read(path) {
        Ok(manifest) => manifest,
        Err(reason) => return refuse(reason),
    };
    let refuse = |reason: String, sha256: Option<String>| {
        Assessment::refused(reason, manifest.clone(), sha256, listed_manifest.clone())
    };
    if let Some(manifest) = &manifest {
        let file_name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        if manifest.library != file_name {
            return refuse(
                format!(
                    "its manifest describes '{}', not '{file_name}'",
                    manifest.library
                ),
                None,
            );
        }
        let Some(api) = manifest::parse_api_version(&manifest.api_version) else {
            return refuse(
                format!(
                    "its manifest's api_version '{}' is not major.minor",
                    manifest.api_version
                ),
                None,
            );
        };
        if let Err(reason) = manifest::check_api_version(api) {
            return refuse(reason, None);
        }
    }
    let needs_hash = manifest.is_some() || matches!(policy.allow_list, AllowList::Hashes { .. });
    let sha256 = if needs_hash {
        match manifest::sha256_file(path) {
            Ok(hash) => Some(hash),
            Err(reason) => return refuse(reason, None),
        }
    } else {
        None
    };
    if let (Some(manifest), Some(actual)) = (&manifest, &sha256) {
        if !manifest.sha256.eq_ignore_ascii_case(actual) {
            return refuse(
                format!(
                    "its sha256 is {actual} but its manifest says {}: the library changed after \
                     the manifest was written",
                    manifest.sha256
                ),
                sha256.clone(),
            );
        }
    }
    // The libraries the plugin loads itself get the same checks, before any code runs.
    if let Some(manifest) = &manifest {
        if let Err(reason) = check_dependencies(manifest, path) {
            return refuse(reason, sha256.clone());
        }
    }
    let allow_listed = match &policy.allow_list {
        AllowList::Absent => false,
        AllowList::Broken { path, reason } => {
            return refuse(
                format!(
                    "the plugin allow-list {} cannot be used: {reason}",
                    path.display()
                ),
                sha256.clone(),
            )
        }
        AllowList::Hashes {
            path,
            sha256: allowed,
        } => {
            let hash = sha256.as_deref().unwrap_or_default();
            if !allowed.iter().any(|listed| listed == hash) {
                return refuse(
                    format!(
                        "its sha256 {hash} is not in the plugin allow-list {}",
                        path.display()
                    ),
                    sha256.clone(),
                );
            }
            true
        }
    };
    let (status, reason) = if manifest.is_some() {
        (
            TrustStatus::Verified,
            "its manifest matches the library's sha256".to_owned(),
        )
    } else if allow_listed {
        (
            TrustStatus::Verified,
            "its sha256 is in the plugin allow-list".to_owned(),
        )
    } else if candidate.installation {
        (
            TrustStatus::Installation,
            "it is part of the installation: beside the executable, where only its owner can write"
                .to_owned(),
        )
    } else if policy.allow_unverified {
        (
            TrustStatus::Unverified,
            format!("it has no manifest and loads only because {ALLOW_UNVERIFIED_ENV}=1"),
        )
    } else {
        return refuse(
            format!(
                "it has no manifest ({}); after checking the library, {}, or set \
                 {ALLOW_UNVERIFIED_ENV}=1",
                manifest_path.display(),
                crate::services::words::hint_about("write_manifest", &path.display().to_string())
            ),
            sha256,
        );
    };
    Assessment {
        status,
        reason,
        sha256,
        manifest_path: listed_manifest,
        manifest,
    }
}

/// Checks every dependency `manifest` declares for the plugin at `library`: nobody but its
/// owner can change it or a folder above it, and its sha256 is the one declared.
fn check_dependencies(manifest: &Manifest, library: &Path) -> Result<(), String> {
    for dependency in &manifest.dependencies {
        let path = dependency.resolve(library)?;
        perms::check(&path)
            .map_err(|reason| format!("its dependency {}: {reason}", path.display()))?;
        let actual = manifest::sha256_file(&path)?;
        if !dependency.sha256.eq_ignore_ascii_case(&actual) {
            return Err(format!(
                "its dependency {} has sha256 {actual} but its manifest says {}: the library \
                 changed after the manifest was written",
                path.display(),
                dependency.sha256
            ));
        }
    }
    Ok(())
}
