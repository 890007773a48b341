//! The manifest that ships beside a plugin library: what the library is and the sha256 of its
//! bytes, so the host can decide whether to load it before any of its code runs.
//!
//! For `libplenum_foo.so` the manifest is `libplenum_foo.manifest.json`:
//!
//! ```json
//! {"manifest_version":1,"name":"plenum-foo","version":"0.3.1","engines":["foo"],
//!  "dialect":"generic","api_version":"1.1","library":"libplenum_foo.so","sha256":"9f86d0…",
//!  "dependencies":[{"path":"libvendor.so","sha256":"…"}]}
//! ```
//!
//! `dependencies` (optional) lists the shared libraries the plugin loads itself — a vendor's
//! engine library beside it, say — so the host checks them as it checks the plugin.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use plenum_plugin_api::{ApiVersion, API_VERSION};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest format this host reads and writes.
pub const MANIFEST_VERSION: u32 = 1;

/// Manifests larger than this are refused rather than read whole.
const MAX_MANIFEST_BYTES: u64 = 64 << 10;

/// What a manifest says about its library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format of this file (1).
    pub manifest_version: u32,
    /// Plugin name, as the library's `info` reports it.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// Engines served.
    pub engines: Vec<String>,
    /// SQL dialect the gate parses with.
    pub dialect: String,
    /// Plugin-API version the library was built against (`major.minor`).
    pub api_version: String,
    /// The library's file name; a manifest describes exactly one file.
    pub library: String,
    /// Lower-case hex sha256 of the library's bytes.
    pub sha256: String,
    /// Shared libraries the plugin loads itself, checked like the plugin before it loads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
}

/// A shared library a plugin loads itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// Its path: absolute, or relative to the plugin library's folder (without `..`).
    pub path: String,
    /// Lower-case hex sha256 of its bytes.
    pub sha256: String,
}

impl Dependency {
    /// Where the dependency of the plugin `library` lives, or why its path is refused.
    pub fn resolve(&self, library: &Path) -> Result<PathBuf, String> {
        let path = Path::new(&self.path);
        if path
            .components()
            .any(|part| matches!(part, std::path::Component::ParentDir))
            || self.path.is_empty()
        {
            return Err(format!(
                "its manifest lists the dependency '{}', which is not a plain path (no '..')",
                self.path
            ));
        }
        if path.is_absolute() {
            return Ok(path.to_path_buf());
        }
        let folder = library.parent().unwrap_or(Path::new("/"));
        Ok(folder.join(path))
    }
}

impl Manifest {
    /// This manifest with the dependencies `existing` declares for `library`, each with its
    /// current sha256 (`plenum plugins verify --write` keeps what the author declared).
    pub fn with_dependencies_of(mut self, existing: Option<&Manifest>, library: &Path) -> Self {
        self.dependencies = existing
            .iter()
            .flat_map(|manifest| manifest.dependencies.iter())
            .map(|dependency| Dependency {
                path: dependency.path.clone(),
                sha256: dependency
                    .resolve(library)
                    .and_then(|path| sha256_file(&path))
                    .unwrap_or_else(|_| dependency.sha256.clone()),
            })
            .collect();
        self
    }

    /// Whether the manifest names `engine` (case-insensitively).
    pub fn serves(&self, engine: &str) -> bool {
        self.engines
            .iter()
            .any(|name| name.eq_ignore_ascii_case(engine))
    }
}

/// Where the manifest of `library` lives: beside it, with `.manifest.json` in place of the
/// library's extension.
pub fn manifest_path(library: &Path) -> PathBuf {
    library.with_extension("manifest.json")
}

/// Reads and parses the manifest of `library`; `Ok(None)` when there is none.
pub fn read(library: &Path) -> Result<Option<Manifest>, String> {
    let path = manifest_path(library);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(format!(
                "cannot read its manifest {}: {error}",
                path.display()
            ))
        }
    };
    let mut text = String::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|error| format!("cannot read its manifest {}: {error}", path.display()))?;
    if text.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(format!(
            "its manifest {} is larger than {MAX_MANIFEST_BYTES} bytes",
            path.display()
        ));
    }
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|error| format!("its manifest {} is invalid: {error}", path.display()))?;
    if manifest.manifest_version != MANIFEST_VERSION {
        return Err(format!(
            "its manifest {} has format version {}, this host reads version {MANIFEST_VERSION}",
            path.display(),
            manifest.manifest_version
        ));
    }
    Ok(Some(manifest))
}

/// Writes `manifest` beside `library` (through a temporary file and a rename, so a reader
/// never sees half a manifest) and returns its path.
pub fn write(library: &Path, manifest: &Manifest) -> Result<PathBuf, String> {
    let path = manifest_path(library);
    let temporary = path.with_extension("json.tmp");
    let mut text = serde_json::to_string_pretty(manifest)
        .map_err(|error| format!("cannot render the manifest: {error}"))?;
    text.push('\n');
    let written = std::fs::File::create(&temporary)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, &path));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(format!("cannot write {}: {error}", path.display()));
    }
    Ok(path)
}

/// The lower-case hex sha256 of the file at `path`.
pub fn sha256_file(path: &Path) -> Result<String, String> {
    let mut file = std::fs::File::open(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// Parses `major.minor`.
pub fn parse_api_version(text: &str) -> Option<ApiVersion> {
    let (major, minor) = text.trim().split_once('.')?;
    Some(ApiVersion {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
    })
}

/// Whether this host can load a plugin built against `api`: the same major version, and a
/// minor version no newer than the host's (minor versions only append to the ABI).
pub fn check_api_version(api: ApiVersion) -> Result<(), String> {
    if api.major != API_VERSION.major {
        return Err(format!(
            "built against plugin API {api}, this host speaks {API_VERSION} (major versions differ)"
        ));
    }
    if api.minor > API_VERSION.minor {
        return Err(format!(
            "needs plugin API {api}, this host speaks {API_VERSION}: upgrade plenum to load it"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_sits_beside_the_library() {
        assert_eq!(
            manifest_path(Path::new("/opt/p/libplenum_foo.so")),
            PathBuf::from("/opt/p/libplenum_foo.manifest.json")
        );
    }

    #[test]
    fn api_versions_follow_semver() {
        let host = API_VERSION;
        assert!(check_api_version(host).is_ok());
        let older = ApiVersion {
            major: host.major,
            minor: 0,
        };
        assert!(check_api_version(older).is_ok());
        let newer = ApiVersion {
            major: host.major,
            minor: host.minor + 1,
        };
        let refusal = check_api_version(newer).unwrap_err();
        assert!(
            refusal.contains(&format!("needs plugin API {newer}")),
            "{refusal}"
        );
        let other_major = ApiVersion {
            major: host.major + 1,
            minor: 0,
        };
        assert!(check_api_version(other_major)
            .unwrap_err()
            .contains("major"));
        assert_eq!(
            parse_api_version("1.12"),
            Some(ApiVersion {
                major: 1,
                minor: 12
            })
        );
        assert_eq!(parse_api_version("1"), None);
        assert_eq!(parse_api_version("x.1"), None);
    }

    #[test]
    fn dependency_paths_are_plain() {
        let library = Path::new("/opt/p/libplenum_foo.so");
        let dependency = |path: &str| Dependency {
            path: path.into(),
            sha256: String::new(),
        };
        assert_eq!(
            dependency("lib/libvendor.so").resolve(library),
            Ok(PathBuf::from("/opt/p/lib/libvendor.so"))
        );
        assert_eq!(
            dependency("/usr/lib/libx.so").resolve(library),
            Ok(PathBuf::from("/usr/lib/libx.so"))
        );
        assert!(dependency("../x.so").resolve(library).is_err());
        assert!(dependency("").resolve(library).is_err());
    }

    #[test]
    fn manifests_round_trip_and_unknown_fields_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let library = dir.path().join("libplenum_x.so");
        std::fs::write(&library, b"abc").expect("write");
        let manifest = Manifest {
            manifest_version: MANIFEST_VERSION,
            name: "x".into(),
            version: "1.0.0".into(),
            engines: vec!["x".into()],
            dialect: "sqlite".into(),
            api_version: "1.0".into(),
            library: "libplenum_x.so".into(),
            sha256: sha256_file(&library).expect("hash"),
            dependencies: vec![Dependency {
                path: "libvendor.so".into(),
                sha256: "00".into(),
            }],
        };
        assert_eq!(
            manifest.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        write(&library, &manifest).expect("write manifest");
        assert_eq!(read(&library).expect("read"), Some(manifest));
        std::fs::write(
            manifest_path(&library),
            r#"{"manifest_version":1,"name":"x","version":"1","engines":[],"dialect":"sqlite",
               "api_version":"1.0","library":"libplenum_x.so","sha256":"00","trusted":true}"#,
        )
        .expect("write");
        assert!(read(&library).unwrap_err().contains("unknown field"));
        std::fs::remove_file(manifest_path(&library)).expect("remove");
        assert_eq!(read(&library).expect("read"), None);
    }
}
