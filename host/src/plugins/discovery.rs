//! The plugin search path and the candidate libraries on it.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// One directory of the search path.
#[derive(Debug, Clone, Serialize)]
pub struct SearchDir {
    /// The directory.
    pub path: PathBuf,
    /// Where it came from: `PLENUM_PLUGIN_PATH`, `executable`, `user`.
    pub source: &'static str,
    /// Why it is not searched, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// The search path, in order: `PLENUM_PLUGIN_PATH`, the executable's directory and its
/// `plugins/` subfolder, then the per-user plugin directory. Relative entries and the current
/// directory are never searched (a file dropped there must not become code we run).
pub fn search_path() -> Vec<SearchDir> {
    let mut dirs = Vec::new();
    let current = std::env::current_dir().ok();
    if let Some(value) = std::env::var_os("PLENUM_PLUGIN_PATH") {
        for path in std::env::split_paths(&value) {
            if path.as_os_str().is_empty() {
                continue;
            }
            let skipped = if !path.is_absolute() {
                Some("relative paths are not searched".to_owned())
            } else if current.as_deref() == Some(path.as_path()) {
                Some("the current directory is not searched".to_owned())
            } else {
                None
            };
            dirs.push(SearchDir {
                path,
                source: "PLENUM_PLUGIN_PATH",
                skipped,
            });
        }
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        dirs.push(SearchDir {
            path: exe_dir.join("plugins"),
            source: "executable",
            skipped: None,
        });
        dirs.push(SearchDir {
            path: exe_dir,
            source: "executable",
            skipped: None,
        });
    }
    if let Some(data) = dirs::data_dir() {
        dirs.push(SearchDir {
            path: data.join("plenum").join("plugins"),
            source: "user",
            skipped: None,
        });
    }
    let mut seen = Vec::new();
    dirs.retain(|dir| {
        if seen.contains(&dir.path) {
            false
        } else {
            seen.push(dir.path.clone());
            true
        }
    });
    dirs
}

/// Whether `path` looks like a Plenum plugin library for this platform.
fn is_candidate(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return false;
    };
    let prefix = format!("{}plenum_", std::env::consts::DLL_PREFIX);
    name.starts_with(&prefix) && name.ends_with(std::env::consts::DLL_SUFFIX) && path.is_file()
}

/// Candidate libraries in the searched directories, in search order, each once.
pub fn candidates(dirs: &[SearchDir]) -> Vec<PathBuf> {
    let mut found = Vec::new();
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
            let name = path.file_name().map(|name| name.to_owned());
            // The first library of a name on the path wins, like PATH lookup.
            if !found
                .iter()
                .any(|seen: &PathBuf| seen.file_name().map(|n| n.to_owned()) == name)
            {
                found.push(path);
            }
        }
    }
    found
}

/// Whether the library's file name mentions `engine` (e.g. `libplenum_sqlite.so`).
pub fn file_mentions(path: &Path, engine: &str) -> bool {
    path.file_stem()
        .and_then(|stem| stem.to_str())
        .map(|stem| stem.to_ascii_lowercase().contains(engine))
        .unwrap_or(false)
}
