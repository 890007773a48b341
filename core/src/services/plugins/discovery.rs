//! The plugin search path and the candidate libraries on it.

use std::path::{Component, Path, PathBuf};

use serde::Serialize;

/// One directory of the search path.
#[derive(Debug, Clone, Serialize)]
pub struct SearchDir {
    /// The directory.
    pub path: PathBuf,
    /// Where it came from: `PLENUM_PLUGIN_PATH`, `executable`, `user`.
    pub source: &'static str,
    /// Whether it is part of the installation (the executable's directory, its `plugins/`
    /// subfolder, or `PREFIX/lib/plenum/plugins` beside `PREFIX/bin`), whose libraries need
    /// no manifest.
    pub installation: bool,
    /// Why it is not searched, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// A library file found on the search path.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The library, an absolute path.
    pub path: PathBuf,
    /// Whether it was found in an installation directory.
    pub installation: bool,
}

/// The directories that belong to the installation, in search order: the executable's
/// `plugins/` subfolder, its own directory, and, when the executable is `PREFIX/bin/plenum`
/// (`scripts/install`, the release archive, a Python wheel's virtual environment),
/// `PREFIX/lib/plenum/plugins`. All are found from the executable's real location, so a
/// symbolic link to it (`~/.local/bin/plenum` made by `pipx`, `uv tool`) finds the same
/// plugins. Whatever can write there could replace `plenum` itself.
pub fn installation_dirs() -> Vec<PathBuf> {
    exe_dir()
        .map(|dir| installation_of(&dir))
        .unwrap_or_default()
}

/// The folder of the running executable, with symbolic links resolved.
pub(crate) fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|exe| resolved_by_kernel(&exe).or_else(|| exe.canonicalize().ok()))
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
}

fn installation_of(exe_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![exe_dir.join("plugins"), exe_dir.to_path_buf()];
    if let Some(prefix) = fhs_prefix(exe_dir) {
        dirs.push(prefix.join("lib").join("plenum").join("plugins"));
    }
    dirs
}

/// `PREFIX` when `exe_dir` is `PREFIX/bin`.
fn fhs_prefix(exe_dir: &Path) -> Option<&Path> {
    (exe_dir.file_name()? == "bin").then(|| exe_dir.parent())?
}

/// `path` itself when the kernel produced it resolved: on Linux the executable's path and the
/// current directory come from the kernel without symbolic links, `.` or `..`, so resolving
/// them again would only repeat them at the cost of a `readlink` per level. `None` elsewhere,
/// and for a path that is not plainly absolute or no longer names an existing file (a deleted
/// executable reads as `… (deleted)`): resolve those as usual.
fn resolved_by_kernel(path: &Path) -> Option<PathBuf> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let plain = path.is_absolute()
        && path
            .components()
            .all(|part| matches!(part, Component::RootDir | Component::Normal(_)));
    let exists =
        plain && std::fs::symlink_metadata(path).is_ok_and(|m| !m.file_type().is_symlink());
    exists.then(|| path.to_path_buf())
}

/// `path` with symbolic links resolved when it exists, as given otherwise.
fn resolved(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// [`resolved`] for a directory of the installation: the executable's directory is resolved
/// already, and its `plugins/` subfolder needs resolving only if it is a symbolic link.
fn resolved_installation_dir(path: &Path, exe_dir: Option<&Path>) -> PathBuf {
    let Some(exe_dir) = exe_dir else {
        return resolved(path);
    };
    if path == exe_dir {
        return path.to_path_buf();
    }
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_symlink() => resolved(path),
        // A folder or nothing: as given (its parent is resolved).
        _ if path.parent() == Some(exe_dir) => path.to_path_buf(),
        _ => resolved(path),
    }
}

/// The search path, in order: `PLENUM_PLUGIN_PATH`, the executable's `plugins/` subfolder, its
/// directory and `PREFIX/lib/plenum/plugins` ([`installation_dirs`]), then the per-user plugin
/// directory. Relative entries and the current
/// directory are never searched (a file dropped there must not become code we run), except
/// when the current directory is the installation itself.
pub fn search_path() -> Vec<SearchDir> {
    let exe_dir = exe_dir();
    let installation = exe_dir.as_deref().map(installation_of).unwrap_or_default();
    let current = std::env::current_dir()
        .ok()
        .map(|dir| resolved_by_kernel(&dir).unwrap_or_else(|| resolved(&dir)));
    let mut wanted: Vec<(PathBuf, &'static str)> = Vec::new();
    if let Some(value) = std::env::var_os("PLENUM_PLUGIN_PATH") {
        wanted.extend(
            std::env::split_paths(&value)
                .filter(|path| !path.as_os_str().is_empty())
                .map(|path| (path, "PLENUM_PLUGIN_PATH")),
        );
    }
    wanted.extend(installation.iter().map(|dir| (dir.clone(), "executable")));
    if let Some(data) = dirs::data_dir() {
        wanted.push((data.join("plenum").join("plugins"), "user"));
    }
    let mut dirs: Vec<SearchDir> = Vec::new();
    // Each directory is resolved once (every component is a `readlink`, on every start).
    let mut seen: Vec<PathBuf> = Vec::new();
    for (path, source) in wanted {
        let real = if source == "executable" {
            resolved_installation_dir(&path, exe_dir.as_deref())
        } else {
            resolved(&path)
        };
        if seen.contains(&real) {
            continue;
        }
        let is_installation = installation.contains(&real);
        let skipped = if !path.is_absolute() {
            Some("relative paths are not searched".to_owned())
        } else if !is_installation && current.as_deref() == Some(real.as_path()) {
            Some("the current directory is not searched".to_owned())
        } else {
            None
        };
        seen.push(real);
        dirs.push(SearchDir {
            path,
            source,
            installation: is_installation,
            skipped,
        });
    }
    dirs
}

/// Whether `name` is a Plenum plugin library's file name for this platform
/// (`libplenum_*.so`, `libplenum_*.dylib`, `plenum_*.dll`).
pub fn is_library_name(name: &str) -> bool {
    let prefix = format!("{}plenum_", std::env::consts::DLL_PREFIX);
    name.starts_with(&prefix) && name.ends_with(std::env::consts::DLL_SUFFIX)
}

fn is_candidate(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(is_library_name)
        && path.is_file()
}

/// Candidate libraries in the searched directories, in search order, each file name once.
pub fn candidates(dirs: &[SearchDir]) -> Vec<Candidate> {
    let mut found: Vec<Candidate> = Vec::new();
    for dir in dirs.iter().filter(|dir| dir.skipped.is_none()) {
        let Ok(entries) = std::fs::read_dir(&dir.path) else {
            continue;
        };
        let mut here: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| is_candidate(path))
            .collect();
        here.sort();
        for path in here {
            // The first library of a name on the path wins, like PATH lookup.
            if !found
                .iter()
                .any(|seen| seen.path.file_name() == path.file_name())
            {
                found.push(Candidate {
                    path,
                    installation: dir.installation,
                });
            }
        }
    }
    found
}

/// Whether the library's name and `engine` mention each other (`libplenum_sqlite.so` for
/// `sqlite`, `libplenum_postgres.so` for `postgresql`, `libplenum_probe.so` for `test-probe`).
pub fn file_mentions(path: &Path, engine: &str) -> bool {
    let prefix = format!("{}plenum_", std::env::consts::DLL_PREFIX);
    let Some(name) = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .map(|stem| stem.to_ascii_lowercase())
    else {
        return false;
    };
    let name = name.strip_prefix(&prefix).unwrap_or(&name);
    !name.is_empty() && (name.contains(engine) || engine.contains(name))
}
