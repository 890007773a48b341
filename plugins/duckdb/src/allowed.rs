//! The directories queries may read files from: a human's setting (the connection option
//! `allowed_directories`, from a saved connection or a `--dsn` on the command line; the MCP
//! tools cannot set connection options), enforced by DuckDB's own `allowed_directories` with
//! external access off and the configuration locked.
//!
//! DuckDB compares path *text*: it refuses `..` out of a directory, but follows symbolic links.
//! So each directory is resolved (`canonicalize`) and searched before the session opens, and
//! a link inside it that leads outside every allowed directory refuses the session.
//! Without the option, nothing is readable, and the plugin refuses the file readers itself
//! before DuckDB would (a second layer behind DuckDB's).

use std::path::{Path, PathBuf};

use plenum_plugin_api::{ConnectParams, PluginError, PluginResult};

/// The connection option that names the directories (separated like `PATH`: `:` on Unix).
pub(crate) const OPTION: &str = "allowed_directories";

/// Entries searched for links at most, over all directories: past this the session is
/// refused rather than opened unchecked.
const MAX_ENTRIES: usize = 100_000;

/// File-reading table functions that the confinement makes safe (the gate lets them through;
/// DuckDB confines them). Others that reach files stay refused by the policy.
pub(crate) const READERS: &[&str] = &[
    "read_csv",
    "read_csv_auto",
    "sniff_csv",
    "read_parquet",
    "parquet_scan",
    "parquet_metadata",
    "parquet_schema",
    "parquet_file_metadata",
    "parquet_kv_metadata",
    "parquet_bloom_probe",
    "read_json",
    "read_json_auto",
    "read_json_objects",
    "read_json_objects_auto",
    "read_ndjson",
    "read_ndjson_auto",
    "read_ndjson_objects",
    "read_text",
    "read_blob",
    "glob",
];

/// The allowed directories of a connection, resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Allowed {
    /// Each directory as DuckDB must see it: absolute and resolved, and, for one under the
    /// current directory, also relative to it (DuckDB compares the text of a relative path).
    pub(crate) prefixes: Vec<String>,
}

impl Allowed {
    /// Reads and checks the option; empty when it is absent.
    pub(crate) fn from_params(params: &ConnectParams) -> PluginResult<Self> {
        let Some(value) = params.option(OPTION) else {
            return Ok(Allowed::default());
        };
        let current = std::env::current_dir()
            .and_then(|dir| dir.canonicalize())
            .map_err(|error| setting(format!("the current directory: {error}")))?;
        let mut roots = Vec::new();
        for entry in std::env::split_paths(value) {
            if entry.as_os_str().is_empty() {
                continue;
            }
            let root = current.join(&entry).canonicalize().map_err(|error| {
                setting(format!("{} cannot be resolved: {error}", entry.display()))
            })?;
            if !root.is_dir() {
                return Err(setting(format!("{} is not a directory", entry.display())));
            }
            if root.parent().is_none() {
                return Err(setting("the root directory cannot be an allowed directory"));
            }
            roots.push(root);
        }
        if roots.is_empty() {
            return Err(setting("it names no directory"));
        }
        no_links_out(&roots)?;
        let mut prefixes = Vec::new();
        for root in &roots {
            prefixes.push(text(root)?);
            if let Ok(relative) = root.strip_prefix(&current) {
                if !relative.as_os_str().is_empty() {
                    prefixes.push(text(relative)?);
                }
            }
        }
        Ok(Allowed { prefixes })
    }

    /// Whether any directory is allowed.
    pub(crate) fn any(&self) -> bool {
        !self.prefixes.is_empty()
    }

    /// The SQL that hands the directories to DuckDB, before external access goes off.
    pub(crate) fn setting_sql(&self) -> String {
        let list = self
            .prefixes
            .iter()
            .map(|prefix| format!("'{}'", prefix.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(", ");
        format!("SET allowed_directories = [{list}]")
    }
}

fn setting(why: impl std::fmt::Display) -> PluginError {
    PluginError::connection(format!(
        "the connection option {OPTION} is not usable: {why}"
    ))
}

fn text(path: &Path) -> PluginResult<String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| setting(format!("{} is not UTF-8", path.display())))
}

/// Refuses a symbolic link under any root that resolves outside every root (or not at all).
fn no_links_out(roots: &[PathBuf]) -> PluginResult<()> {
    let inside = |path: &Path| roots.iter().any(|root| path.starts_with(root));
    let mut pending: Vec<PathBuf> = roots.to_vec();
    let mut seen = 0usize;
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|error| setting(format!("{} cannot be listed: {error}", dir.display())))?;
        for entry in entries {
            let entry = entry
                .map_err(|error| setting(format!("{} cannot be listed: {error}", dir.display())))?;
            seen += 1;
            if seen > MAX_ENTRIES {
                return Err(setting(format!(
                    "the directories hold more than {MAX_ENTRIES} entries to check for links"
                )));
            }
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|error| setting(format!("{}: {error}", path.display())))?;
            if kind.is_symlink() {
                match path.canonicalize() {
                    Ok(target) if inside(&target) => {}
                    _ => {
                        return Err(setting(format!(
                            "{} is a link that leads outside the allowed directories",
                            path.display()
                        )))
                    }
                }
            } else if kind.is_dir() {
                pending.push(path);
            }
        }
    }
    Ok(())
}

/// Without allowed directories, the plugin's own check in front of DuckDB's: a statement that
/// calls a file reader is refused. (The text is searched, not parsed: a mention in a string
/// is refused too, which is the safe mistake.)
pub(crate) fn refuse_readers_without_directories(sql: &str) -> PluginResult<()> {
    let lower = sql.to_ascii_lowercase();
    for name in READERS {
        for (at, _) in lower.match_indices(name) {
            let before = lower[..at].chars().next_back();
            let after = lower[at + name.len()..].trim_start().chars().next();
            let word_start = !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            if word_start && after == Some('(') {
                return Err(PluginError::query(format!(
                    "{name} reads files, and this connection allows no directory (a human sets \
                     the connection option {OPTION})"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_refused_without_directories() {
        for sql in [
            "SELECT * FROM read_csv('x.csv')",
            "SELECT * FROM main.READ_CSV ('x.csv')",
            "select * from glob('*')",
            "SELECT content FROM read_text('/etc/passwd')",
        ] {
            assert!(refuse_readers_without_directories(sql).is_err(), "{sql}");
        }
        for sql in [
            "SELECT 1",
            "SELECT my_read_csv(1)",
            "SELECT read_csv_x FROM t",
        ] {
            assert!(refuse_readers_without_directories(sql).is_ok(), "{sql}");
        }
    }

    #[test]
    fn a_link_out_of_a_directory_refuses_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(data.join("sub")).expect("mkdir");
        std::fs::create_dir(&outside).expect("mkdir");
        std::fs::write(data.join("x.csv"), "a\n1\n").expect("write");
        let data = data.canonicalize().expect("canonical");
        assert!(no_links_out(std::slice::from_ref(&data)).is_ok());
        std::os::unix::fs::symlink(data.join("x.csv"), data.join("sub/inner.csv")).expect("link");
        assert!(no_links_out(std::slice::from_ref(&data)).is_ok());
        std::os::unix::fs::symlink(&outside, data.join("sub/out")).expect("link");
        let error = no_links_out(std::slice::from_ref(&data)).expect_err("refused");
        assert!(error.message.contains("leads outside"), "{}", error.message);
    }
}
