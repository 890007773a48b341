//! What the gate enforces for one input: the dialect's default policy and the engine's
//! declared one, together. The default comes first and is always there, so a declaration can
//! only add: any refusal wins, else the highest tier any rule needs.

use crate::policy::{self, Lexing};
use crate::{Dialect, Policy, Rule};

#[derive(Debug, Clone, Copy)]
pub(crate) struct Enforced<'a> {
    /// Whose default applies. The default is looked up at the first function or relation
    /// there is to check, not before: it is built on first use, and a statement without
    /// either (`SELECT 1`) never needs it.
    dialect: Dialect,
    declared: &'a Policy,
}

impl<'a> Enforced<'a> {
    pub(crate) fn new(dialect: Dialect, declared: &'a Policy) -> Self {
        Enforced { dialect, declared }
    }

    fn default(&self) -> &'static Policy {
        Policy::dialect_default(self.dialect)
    }

    /// The rule for calling the function written as `parts`.
    pub(crate) fn function(&self, parts: &[&str]) -> Option<&'a Rule> {
        policy::function_rule([self.default(), self.declared], parts)
    }

    /// Why using the relation written as `parts` is refused, if it is.
    pub(crate) fn relation(&self, parts: &[&str]) -> Option<&'a str> {
        policy::relation_refusal([self.default(), self.declared], parts)
    }

    /// The engine's declared lexing. The defaults declare none (a test says so): a dialect's
    /// own lexing is sqlparser's and the gate's lexical rules.
    pub(crate) fn lexing(&self) -> Option<&'a Lexing> {
        self.declared.lexing.as_ref()
    }
}
