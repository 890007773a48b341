//! Finding, loading and describing engine plugins.
//!
//! Discovery looks in a small fixed search path (never the current directory), loading a
//! library runs its code, so the registry loads only what a command needs: for `--engine X`
//! the candidates whose file name mentions X first, then the rest until one serves X.

mod discovery;
mod loaded;

pub use discovery::{search_path, SearchDir};
pub use loaded::{LoadedPlugin, PluginSummary};

use std::path::PathBuf;

use crate::error::Failure;

/// Every candidate library on the search path, loaded or not, with what happened.
pub struct Registry {
    dirs: Vec<SearchDir>,
    candidates: Vec<PathBuf>,
}

impl Registry {
    /// Scans the search path (without loading anything).
    pub fn discover() -> Self {
        let dirs = search_path();
        let candidates = discovery::candidates(&dirs);
        Registry { dirs, candidates }
    }

    /// The directories searched, with notes on the ones that were skipped.
    pub fn dirs(&self) -> &[SearchDir] {
        &self.dirs
    }

    /// Loads every candidate and reports each one, good or bad.
    pub fn list(&self) -> Vec<PluginSummary> {
        self.candidates
            .iter()
            .map(|path| match LoadedPlugin::load(path) {
                Ok(plugin) => plugin.summary(),
                Err(failure) => PluginSummary::broken(path, &failure.message),
            })
            .collect()
    }

    /// Finds and loads the plugin that serves `engine`.
    pub fn load_engine(&self, engine: &str) -> Result<LoadedPlugin, Failure> {
        let wanted = engine.to_ascii_lowercase();
        let mut ordered: Vec<&PathBuf> = self.candidates.iter().collect();
        // Likely candidates first, so a one-engine call loads one library.
        ordered.sort_by_key(|path| !discovery::file_mentions(path, &wanted));
        let mut problems = Vec::new();
        for path in ordered {
            match LoadedPlugin::load(path) {
                Ok(plugin) if plugin.serves(&wanted) => return Ok(plugin),
                Ok(_) => {}
                Err(failure) => {
                    if discovery::file_mentions(path, &wanted) {
                        problems.push(failure.message);
                    }
                }
            }
        }
        let searched = self
            .dirs
            .iter()
            .map(|dir| dir.path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let mut message = format!("no plugin serves engine '{engine}' (searched: {searched})");
        if !problems.is_empty() {
            message.push_str("; ");
            message.push_str(&problems.join("; "));
        }
        message.push_str(". Run `plenum plugins` to see what is installed.");
        Err(Failure::plugin(message))
    }
}
