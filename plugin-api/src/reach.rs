//! What a statement can reach at the engine beyond its own text (API 1.2).
//!
//! The gate reads the SQL; it cannot read what the names in it stand for at the engine: a
//! function may be user code that runs SQL text of its own, a table may be a view over a
//! relation the gate refuses, a write may fire triggers. Before any statement runs, the host
//! sends the names the gate found ([`ReachRequest`]) and the plugin answers, from the
//! engine's catalog and in the session that will run them, what each name resolves to and
//! what code it runs ([`ReachReport`]). The host decides; the plugin only reports facts.
//!
//! The same call with an empty request reports the login's powers (for `connect --test`).
//!
//! A plugin that does not implement it answers `Unsupported`; the host then treats every
//! function its gate does not know as unresolved and refuses it.

use abi_stable::std_types::{ROption, RString, RVec};
use abi_stable::StableAbi;

/// A name as written in the SQL, its parts outermost first: `["public", "f"]`, `["f"]`.
/// Parts are as the gate read them: unquoted parts keep the case they were written in, so
/// a plugin applies its engine's case rules.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SqlName {
    /// The name's parts, outermost first.
    pub parts: RVec<RString>,
    /// Whether each part was quoted (same length as `parts`): quoted parts are exact.
    pub quoted: RVec<bool>,
}

impl SqlName {
    /// The parts joined with `.`, for messages.
    pub fn dotted(&self) -> String {
        self.parts
            .iter()
            .map(|part| part.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The last part (the object's own name), or "" for an empty name.
    pub fn last(&self) -> &str {
        self.parts.last().map(|part| part.as_str()).unwrap_or("")
    }
}

/// The names one call's statements use. Each list holds each name once.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default, PartialEq, Eq)]
pub struct ReachRequest {
    /// Functions, procedures and table functions called by name.
    pub functions: RVec<SqlName>,
    /// Relations read (tables, views, …).
    pub relations: RVec<SqlName>,
    /// Relations written by INSERT, UPDATE, DELETE, MERGE, REPLACE.
    pub targets: RVec<SqlName>,
}

impl ReachRequest {
    /// Whether the request names nothing (then only the login is reported).
    pub fn is_empty(&self) -> bool {
        self.functions.is_empty() && self.relations.is_empty() && self.targets.is_empty()
    }
}

/// A routine (function, procedure, aggregate, trigger function) at the engine.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Routine {
    /// The schema (or database) it lives in.
    pub schema: RString,
    /// Its name.
    pub name: RString,
    /// Shipped with the engine itself (a built-in in its system schema), so the host's gate
    /// knows it by name. Anything a user, an application or an extension created is `false`,
    /// unless it is native code from the server's own installation that cannot run SQL text
    /// (the plugin's judgement, stated in its documentation).
    pub system: bool,
}

impl Routine {
    /// `schema.name`, for messages.
    pub fn dotted(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// What a function name resolves to.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct ResolvedFunction {
    /// The name as asked.
    pub name: SqlName,
    /// Every routine the name may resolve to in this session (all overloads visible through
    /// the search path, or in the named schema). Empty when nothing matches.
    pub routines: RVec<Routine>,
}

/// What a relation name resolves to, and what code reading or writing it runs.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRelation {
    /// The name as asked.
    pub name: SqlName,
    /// The schema (or database) it resolved to in this session; `None` when it does not
    /// exist (the statement will fail at the engine).
    pub schema: ROption<RString>,
    /// It is part of the engine's system catalog (a system schema or catalog table), which
    /// the host never lets a statement write.
    pub system: bool,
    /// For a view: its definition as SQL in the engine's dialect, which the host vets with
    /// its gate as if the statement contained it.
    pub view_definition: ROption<RString>,
    /// User code that reading it (or, for a target, writing it) runs: triggers, rules,
    /// row-security policies, column defaults, constraints and index expressions that call
    /// routines. Routines with `system` set may be left out. The host consults it only on a
    /// login whose powers escape or in a session opened for writing, so a read session of an
    /// ordinary login may leave it empty.
    pub fires: RVec<Routine>,
}

/// One power of the login beyond what the tiers assume.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct LoginPower {
    /// Short engine-neutral words: `superuser`, `runs server programs`, `reads server files`,
    /// `owns schema public`, `may SET ROLE to admin`, …
    pub power: RString,
    /// What it means for the tiers, one sentence.
    pub meaning: RString,
    /// Through this power, code the gate cannot see (user functions, views, triggers) could
    /// act outside the session: files, programs, other sessions, privileges.
    pub escapes: bool,
}

/// The plugin's answer to a [`ReachRequest`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default, PartialEq, Eq)]
pub struct ReachReport {
    /// The login user as the engine sees it.
    pub login: RString,
    /// What the login can do beyond the tiers' assumptions; empty for a least-privilege
    /// login.
    pub powers: RVec<LoginPower>,
    /// One entry per requested function name.
    pub functions: RVec<ResolvedFunction>,
    /// One entry per requested relation or target name.
    pub relations: RVec<ResolvedRelation>,
    /// User code any statement may run without naming it (user-defined casts and operators
    /// over routines that can run SQL text, event triggers); the host treats it as reached
    /// by every statement. The host consults it only when a power `escapes`, so a plugin may
    /// leave it empty otherwise.
    pub ambient: RVec<Routine>,
}

impl ReachReport {
    /// Whether some power lets code the gate cannot see escape the session.
    pub fn privileged(&self) -> bool {
        self.powers.iter().any(|power| power.escapes)
    }
}

/// The outcome of the write tier's engine fence ([`crate::Connection::write_fence`]).
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub enum FenceOutcome {
    /// The transaction changed no schema object and no system catalog.
    Unchanged,
    /// It did; the text says what (no values from the SQL).
    Changed(RString),
    /// The engine cannot tell in this session; the text says why.
    Unknown(RString),
}
