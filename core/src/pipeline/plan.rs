//! What a `query` call will do, decided once from the request and the gate's verdict: the
//! mode, the statements, the tier they need and the session's access mode, and the paging.
//! Run, `--check-only` and `--explain` all work from the same [`Plan`], and make their
//! `meta` from it.

use std::sync::Arc;
use std::time::Instant;

use plenum_gate::{Policy, Statement, Tier};
use plenum_plugin_api::AccessMode;

use crate::pipeline::request::{QueryMode, QueryRequest};
use crate::services::capability::access_mode;
use crate::services::error::Failure;
use crate::services::output::{Meta, Truncation};
use crate::services::params;
use crate::services::plugins::LoadedPlugin;
use crate::services::words::option;

/// A `query` call, planned.
#[derive(Debug)]
pub struct Plan {
    /// Run, check only, or explain.
    pub mode: QueryMode,
    /// The engine's rules the gate enforced beside the dialect's own: the plugin's policy and
    /// its rules for this connection. The reach check applies them again to what the names
    /// resolve to.
    pub policy: Arc<Policy>,
    /// The gate's statements, in order.
    pub statements: Vec<Statement>,
    /// The highest tier among them.
    pub needed: Tier,
    /// The access mode the session is opened with. Least privilege: the tier the statements
    /// need, not the one granted.
    pub access: AccessMode,
    /// Rows of the result to skip (`--offset`).
    pub offset: u64,
    /// Whether the result pages: one read, whose rows a re-run can skip.
    pub pages: bool,
    /// Why a run would be refused, in the words a run's error would use. Only `--check-only`
    /// collects them; the other modes fail at the first.
    pub problems: Vec<String>,
}

impl Plan {
    /// Plans `request` with the gate of `plugin`. A run or an explain fails at the first
    /// check that refuses it; `--check-only` fails only on input that no flag could make
    /// runnable (a parse error, a statement that is never allowed, bad placeholders) and
    /// lists the rest in [`Plan::problems`].
    pub fn new(request: &QueryRequest, plugin: &LoadedPlugin) -> Result<Plan, Failure> {
        let dialect = plugin.dialect();
        // The session the call asks for, as the plugin would be handed it: its rules for that
        // connection (allowed directories, say) are known before anything connects.
        let timeout_ms = u64::try_from(request.limits.timeout.as_millis()).unwrap_or(u64::MAX);
        let params = request
            .connection
            .to_params(access_mode(request.requested), timeout_ms);
        let policy = plugin.policy_for(&params)?;
        drop(params);
        let mut problems = Vec::new();
        let statements = if request.mode == QueryMode::CheckOnly {
            let statements = plenum_gate::classify_with(&request.sql, dialect, &policy)?;
            if let Err(error) =
                plenum_gate::check_with(&request.sql, dialect, request.requested, &policy)
            {
                problems.push(Failure::from(error).message);
            }
            for check in [
                params::check_count(&statements, request.params.len()),
                check_paging(&statements, request.offset),
            ] {
                if let Err(failure) = check {
                    problems.push(failure.message);
                }
            }
            statements
        } else {
            let statements =
                plenum_gate::check_with(&request.sql, dialect, request.requested, &policy)?;
            params::check_count(&statements, request.params.len())?;
            check_paging(&statements, request.offset)?;
            statements
        };
        let needed = needed_tier(&statements);
        Ok(Plan {
            mode: request.mode,
            policy: Arc::clone(&policy),
            needed,
            access: access_mode(needed),
            offset: request.offset,
            pages: statements.len() == 1 && needed == Tier::Read,
            statements,
            problems,
        })
    }

    /// The `meta` of the call, which started at `started` and returned `rows` rows, cut by
    /// `truncated_by` if a limit cut them. Only a run reports paging: a check and a plan
    /// return no rows of the statement.
    pub fn meta(&self, started: Instant, rows: u64, truncated_by: Option<Truncation>) -> Meta {
        let meta = Meta::new(started, self.access, self.statements.len()).rows(rows, truncated_by);
        if self.mode != QueryMode::Run {
            return meta;
        }
        // A page that returned nothing (one row larger than max_bytes) has no next page to
        // offer: the same offset would return nothing again.
        let next_offset = (self.pages && truncated_by.is_some() && rows > 0)
            .then(|| self.offset.saturating_add(rows));
        meta.page(self.offset, next_offset)
    }
}

/// The highest tier among `statements`: what the session must be opened with.
pub fn needed_tier(statements: &[Statement]) -> Tier {
    statements
        .iter()
        .map(|statement| statement.tier)
        .max()
        .unwrap_or(Tier::Read)
}

/// Paging re-runs the query and skips rows: only sound for one read. Re-running a write
/// would repeat its effect.
pub fn check_paging(statements: &[Statement], offset: u64) -> Result<(), Failure> {
    if offset == 0 {
        return Ok(());
    }
    match statements {
        [statement] if statement.tier == Tier::Read => Ok(()),
        [statement] => Err(Failure::invalid_input(format!(
            "{} pages through the rows of a read; {} is a {} statement and re-running it \
             would repeat its effect",
            option("offset"),
            statement.kind,
            statement.tier
        ))),
        _ => Err(Failure::invalid_input(format!(
            "{} pages through the rows of one statement; the SQL holds several",
            option("offset")
        ))),
    }
}
