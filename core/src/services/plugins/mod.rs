//! Finding, trusting, loading and describing engine plugins.
//!
//! Discovery looks in a small fixed search path (never the current directory). Loading a
//! library runs its code, so every library is first judged from the file system alone
//! (`trust`: path, permissions, manifest, sha256, allow-list), then loaded on a thread with a
//! time limit, then checked against its manifest. The registry loads only what a command
//! needs: for `--engine X` the libraries whose manifest or file name mentions X first, then
//! the rest until one serves X.

pub(crate) mod discovery;
pub mod kept;
mod loaded;
pub(crate) mod manifest;
pub(crate) mod perms;
pub mod sibling;
pub(crate) mod trust;

pub use discovery::SearchDir;
pub use loaded::{LoadedPlugin, PluginSummary};
pub use trust::Policy;

use std::sync::OnceLock;

use discovery::Candidate;

use crate::services::error::Failure;

/// How a one-shot command answers for itself when a library does not finish loading in time.
type LoadOverrun = Box<dyn Fn(Failure) + Send + Sync>;
static ONE_SHOT: OnceLock<LoadOverrun> = OnceLock::new();

/// Makes this process a one-shot command (the command line; never a server): the last library
/// a command may try for its engine is loaded on the command's own thread, which saves handing
/// the load to the timekeeping thread and back (a cold `SELECT 1` spends more on those
/// wake-ups than on loading; docs/PERFORMANCE.md, "The cold start, issue 19: third pass").
/// A load that overruns its limit cannot be walked away from then, so `answer` gets the
/// failure the command would have returned (the same message) and must print the command's
/// envelope and end the process. Libraries with others still to try after them load on a
/// thread as before, so a hanging one is still skipped. A second call changes nothing.
pub fn load_in_one_shot(answer: LoadOverrun) {
    let _ = ONE_SHOT.set(answer);
}

/// Every candidate library on the search path, and the rules for trusting them.
pub struct Registry {
    dirs: Vec<SearchDir>,
    candidates: Vec<Candidate>,
    policy: Policy,
}

impl Registry {
    /// Scans the search path and reads the policy (without loading anything).
    pub fn discover() -> Self {
        let dirs = discovery::search_path();
        let candidates = discovery::candidates(&dirs);
        Registry {
            dirs,
            candidates,
            policy: Policy::from_env(),
        }
    }

    /// The directories searched, with notes on the ones that were skipped.
    pub fn dirs(&self) -> &[SearchDir] {
        &self.dirs
    }

    /// The trust rules in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Judges and, when trusted, loads every candidate; reports each one, good or bad. One
    /// broken library never hides the others.
    pub fn list(&self) -> Vec<PluginSummary> {
        self.candidates
            .iter()
            .map(|candidate| {
                let assessment = trust::assess(candidate, &self.policy);
                if !assessment.allows_loading() {
                    let message = format!("refused before loading: {}", assessment.reason);
                    return PluginSummary::broken(&candidate.path, &message, assessment);
                }
                match LoadedPlugin::load(
                    &candidate.path,
                    assessment.clone(),
                    self.policy.load_timeout,
                ) {
                    Ok(plugin) => plugin.summary(),
                    Err(failure) => {
                        PluginSummary::broken(&candidate.path, &failure.message, assessment)
                    }
                }
            })
            .collect()
    }

    /// Finds, judges and loads the plugin that serves `engine`.
    pub fn load_engine(&self, engine: &str) -> Result<LoadedPlugin, Failure> {
        let wanted = engine.to_ascii_lowercase();
        if let trust::AllowList::Broken { path, reason } = &self.policy.allow_list {
            return Err(Failure::plugin(format!(
                "the plugin allow-list {} cannot be used ({reason}); no plugin loads until it is fixed",
                path.display()
            )));
        }
        // Manifests are read without running anything; a library whose manifest lists other
        // engines is not loaded at all (and one whose manifest lies is refused after loading).
        let mut ordered: Vec<(u8, &Candidate)> = self
            .candidates
            .iter()
            .filter_map(|candidate| {
                let rank = match manifest::read(&candidate.path) {
                    Ok(Some(manifest)) if manifest.serves(&wanted) => 0,
                    Ok(Some(_)) => return None,
                    _ if discovery::file_mentions(&candidate.path, &wanted) => 1,
                    _ => 2,
                };
                Some((rank, candidate))
            })
            .collect();
        ordered.sort_by_key(|(rank, _)| *rank);
        let mut problems = Vec::new();
        let mut untrusted = 0usize;
        let last = ordered.len().saturating_sub(1);
        for (index, (rank, candidate)) in ordered.into_iter().enumerate() {
            let related = rank < 2;
            let assessment = trust::assess(candidate, &self.policy);
            if !assessment.allows_loading() {
                if related {
                    problems.push(format!(
                        "plugin {}: refused before loading: {}",
                        candidate.path.display(),
                        assessment.reason
                    ));
                } else {
                    untrusted += 1;
                }
                continue;
            }
            // The last library to try: if its load overruns, the command ends with the failure
            // it would end with anyway.
            let overrun = ONE_SHOT.get().filter(|_| index == last).map(|answer| {
                let (engine, dirs, mut problems) =
                    (engine.to_owned(), self.dirs.clone(), problems.clone());
                Box::new(move |failure: Failure| {
                    problems.push(failure.message);
                    answer(no_plugin(&engine, &dirs, &problems, untrusted));
                }) as Box<dyn FnOnce(Failure) + Send>
            });
            match LoadedPlugin::load_or_end(
                &candidate.path,
                assessment,
                self.policy.load_timeout,
                overrun,
            ) {
                Ok(plugin) if plugin.serves(&wanted) => return Ok(plugin),
                Ok(_) => {}
                // Whatever failed to load might have been the plugin for this engine.
                Err(failure) => problems.push(failure.message),
            }
        }
        Err(no_plugin(engine, &self.dirs, &problems, untrusted))
    }
}

/// The failure of a command whose engine no library served: what was searched and what went
/// wrong with each library that might have served it.
fn no_plugin(engine: &str, dirs: &[SearchDir], problems: &[String], untrusted: usize) -> Failure {
    let searched = dirs
        .iter()
        .map(|dir| dir.path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut message = format!("no plugin serves engine '{engine}' (searched: {searched})");
    if !problems.is_empty() {
        message.push_str("; ");
        message.push_str(&problems.join("; "));
    }
    if untrusted > 0 {
        message.push_str(&format!(
            "; {untrusted} other librar{} on the search path {} refused before loading",
            if untrusted == 1 { "y" } else { "ies" },
            if untrusted == 1 { "was" } else { "were" },
        ));
    }
    message.push_str(&format!(
        ". Run {} to see what is installed.",
        crate::services::words::hint("plugins_list")
    ));
    Failure::plugin(message)
}
