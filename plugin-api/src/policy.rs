//! What a plugin declares about its engine's SQL that the host's gate cannot know (API 1.2).
//!
//! The gate parses with one of sqlparser's dialects and carries rules for the engines written
//! beside the host. A new engine has functions that read files, statements that open other
//! databases, relation forms that name files, and lexical features its sqlparser dialect does
//! not lex. The plugin declares them in an [`EnginePolicy`]; the host's gate enforces it.
//!
//! A policy can only **tighten** the host's rules: every entry adds a refusal or raises a
//! tier, and nothing in it can allow what the host's defaults refuse. The lexical features
//! do not change how the gate splits statements; they make it lex the input a second time as
//! the engine would and refuse any input where the two readings disagree (fail closed).
//!
//! The host has a default policy for each dialect (its own tables of file, session and
//! server functions and relations), which every plugin of that dialect gets whether it
//! declares a policy or not. The gate enforces the default and the declaration together:
//! where a name matches several rules, any refusal wins, else the highest tier. So a
//! declaration can add refusals and raise tiers; a rule that needs `Read` allows nothing the
//! default refuses or raises.
//!
//! Names are matched case-insensitively (refusing a look-alike is the safe mistake), and a
//! `*` in a name's last part matches any run of characters (`pg_ls_*`). A name of one part
//! matches that name in any schema; a name of two or more parts matches calls written with
//! that qualification and unqualified calls of its last part (which may resolve to it).

use abi_stable::std_types::{RString, RVec};
use abi_stable::StableAbi;

use crate::types::AccessMode;

/// What a rule does to a statement that matches it.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub enum RuleEffect {
    /// The statement is refused; the text says why (one sentence, no SQL from the input).
    Refused(RString),
    /// The statement needs at least this tier (`Read` changes nothing).
    Needs(AccessMode),
}

/// A rule about functions and table functions called by name.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct FunctionRule {
    /// The name, parts outermost first: `["read_csv"]`, `["main", "f"]`.
    pub name: RVec<RString>,
    /// What calling it does to the statement.
    pub effect: RuleEffect,
}

/// A rule about statements, by the label the gate gives them (`COPY`, `CREATE SECRET`,
/// `ATTACH`, `SET`, …; see `plenum check`). A rule matches a label that equals it or starts
/// with it followed by a space, so `CREATE SECRET` matches `CREATE SECRET` and
/// `CREATE PERSISTENT SECRET` does not.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct StatementRule {
    /// The label, upper case.
    pub label: RString,
    /// What it does to the statement.
    pub effect: RuleEffect,
}

/// Relations whose reading is refused.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct RelationRule {
    /// The relation's name, parts outermost first, matched like [`FunctionRule::name`].
    pub name: RVec<RString>,
    /// Why (one sentence).
    pub reason: RString,
}

/// The engine's lexical features that sqlparser's dialect may lex differently. Each flag set
/// makes the gate lex every input a second time with that feature and refuse it where the
/// statement boundaries, strings or comments differ from the first reading.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lexing {
    /// The engine reads `'…'` as a standard string (a quote is doubled to escape it).
    /// Set by every engine that declares any lexing; `false` means "not declared".
    pub declared: bool,
    /// `E'…'` / `e'…'` strings with backslash escapes (PostgreSQL, DuckDB).
    pub escape_strings: bool,
    /// Every `'…'` and `"…"` string reads a backslash as an escape (MySQL, Hive, Spark).
    pub backslash_escapes: bool,
    /// `/* … */` comments nest.
    pub nested_comments: bool,
    /// `/*! … */` comments are run as SQL (MySQL protocol engines): the gate refuses them.
    pub executable_comments: bool,
    /// `$$…$$` and `$tag$…$tag$` are strings.
    pub dollar_quotes: bool,
    /// `` `…` `` quotes an identifier.
    pub backtick_identifiers: bool,
    /// `#` starts a comment to the end of the line.
    pub hash_comments: bool,
}

/// Everything a plugin declares about its engine's SQL. Returned by
/// [`crate::Plugin::policy`]; the default declares nothing, which leaves the host's rules for
/// the dialect as they are.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq, Default)]
pub struct EnginePolicy {
    /// Functions and table functions that are refused or need a tier.
    pub functions: RVec<FunctionRule>,
    /// Statement kinds that are refused or need a tier.
    pub statements: RVec<StatementRule>,
    /// Relations that are refused.
    pub relations: RVec<RelationRule>,
    /// When set, a relation written as a string literal (`FROM 'file.csv'`), which the engine
    /// reads as a file, is refused with this reason.
    pub refuse_string_relations: abi_stable::std_types::ROption<RString>,
    /// How the engine lexes.
    pub lexing: Lexing,
}

impl EnginePolicy {
    /// A refused function `name` (dotted: `read_csv`, `main.f`).
    pub fn refuse_function(&mut self, name: &str, reason: &str) -> &mut Self {
        self.functions.push(FunctionRule {
            name: split_name(name),
            effect: RuleEffect::Refused(reason.into()),
        });
        self
    }

    /// A function `name` that needs the tier `mode`.
    pub fn function_needs(&mut self, name: &str, mode: AccessMode) -> &mut Self {
        self.functions.push(FunctionRule {
            name: split_name(name),
            effect: RuleEffect::Needs(mode),
        });
        self
    }

    /// A refused statement kind.
    pub fn refuse_statement(&mut self, label: &str, reason: &str) -> &mut Self {
        self.statements.push(StatementRule {
            label: label.to_ascii_uppercase().into(),
            effect: RuleEffect::Refused(reason.into()),
        });
        self
    }

    /// A statement kind that needs the tier `mode`.
    pub fn statement_needs(&mut self, label: &str, mode: AccessMode) -> &mut Self {
        self.statements.push(StatementRule {
            label: label.to_ascii_uppercase().into(),
            effect: RuleEffect::Needs(mode),
        });
        self
    }

    /// A refused relation `name` (dotted).
    pub fn refuse_relation(&mut self, name: &str, reason: &str) -> &mut Self {
        self.relations.push(RelationRule {
            name: split_name(name),
            reason: reason.into(),
        });
        self
    }
}

fn split_name(name: &str) -> RVec<RString> {
    name.split('.').map(RString::from).collect()
}
