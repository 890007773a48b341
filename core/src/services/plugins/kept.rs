//! Plugins kept loaded for the life of a long-running server (`plenum mcp`): each engine's
//! plugin is found, judged and loaded once, by the first call that needs it, instead of on
//! every call (a scan of the search path, a trust check that hashes a library with a
//! manifest, and a loading thread each time).
//!
//! Nothing is kept until [`install`] runs, so the CLI (one call per process) judges the files
//! as they are when it runs. In a server, what was loaded stays what serves the engine: a
//! library loaded into a process can never be unloaded anyway, and a plugin replaced on disk
//! takes effect when the server restarts. A failed load is not kept; the next call tries
//! again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use super::{LoadedPlugin, Registry};
use crate::services::error::Failure;

static KEPT: OnceLock<Mutex<HashMap<String, Arc<LoadedPlugin>>>> = OnceLock::new();

/// Keeps plugins loaded from now on (the hook of `plenum mcp`). A second call changes nothing.
pub fn install() {
    let _ = KEPT.set(Mutex::default());
}

/// The plugin that serves `engine`: the one kept for it, or found, judged and loaded now (and
/// kept when [`install`] ran).
pub fn engine(engine: &str) -> Result<Arc<LoadedPlugin>, Failure> {
    let Some(kept) = KEPT.get() else {
        return Registry::discover().load_engine(engine).map(Arc::new);
    };
    let wanted = engine.to_ascii_lowercase();
    // The map holds no invariant a panic elsewhere could break halfway.
    let found = kept
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&wanted)
        .cloned();
    if let Some(plugin) = found {
        return Ok(plugin);
    }
    // Loaded without the lock held: loading may take up to the load timeout. Two first calls
    // at once may both load; the first kept is the one served.
    let loaded = Arc::new(Registry::discover().load_engine(engine)?);
    Ok(Arc::clone(
        kept.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(wanted)
            .or_insert(loaded),
    ))
}
