//! An engine's declared policy: refusals and tiers the gate applies on top of its own rules
//! for the dialect, and the engine's lexical features. A policy can only tighten: every rule
//! refuses or raises, so nothing a plugin declares allows what the defaults refuse.

use crate::{GateError, Statement, Tier};

/// What a policy rule does to a statement it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// The statement is refused; the text says why.
    Refused(String),
    /// The statement needs at least this tier.
    Needs(Tier),
}

/// The lexical features of an engine that sqlparser's dialect may not share. With any set,
/// every input is read a second time with them, and refused where the two readings put
/// strings, quoted names or comments in different places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lexing {
    /// `E'…'` strings with backslash escapes.
    pub escape_strings: bool,
    /// Backslash escapes in every `'…'` and `"…"` string.
    pub backslash_escapes: bool,
    /// Block comments nest.
    pub nested_comments: bool,
    /// `/*! … */` is run as SQL: refused anywhere.
    pub executable_comments: bool,
    /// `$tag$…$tag$` strings.
    pub dollar_quotes: bool,
    /// `` `…` `` quoted names.
    pub backtick_identifiers: bool,
    /// `#` line comments.
    pub hash_comments: bool,
}

/// An engine's declared additions to the gate's rules (from its plugin).
///
/// Names are matched case-insensitively. A rule name of one part matches that function or
/// relation in any schema; one of several parts matches the name written with that
/// qualification, and the unqualified last part (which may resolve to it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// Functions and table functions: name parts (outermost first) and rule.
    pub functions: Vec<(Vec<String>, Rule)>,
    /// Statement labels (`COPY`, `CREATE SECRET`): a label matches itself and longer labels
    /// that continue it after a space.
    pub statements: Vec<(String, Rule)>,
    /// Relations refused: name parts and reason.
    pub relations: Vec<(Vec<String>, String)>,
    /// When set, a relation written as a string literal (`FROM 'file.csv'`) is refused with
    /// this reason.
    pub string_relations: Option<String>,
    /// The engine's lexing, when declared.
    pub lexing: Option<Lexing>,
}

impl Policy {
    /// Whether the policy adds nothing.
    pub fn is_empty(&self) -> bool {
        self == &Policy::default()
    }

    /// Applies the rules to a classified statement (its label and the names it uses):
    /// refuses it, or raises its tier and says why. `index` is its 1-based position, for
    /// messages. [`crate::classify_with`] applies it to every statement; the host applies it
    /// to statements it builds from [`crate::scan`].
    pub fn apply(&self, index: usize, statement: &mut Statement) -> Result<(), GateError> {
        let refused = |reason: String| GateError::Refused {
            index,
            kind: statement.kind.clone(),
            reason,
            line: statement.line,
            column: statement.column,
        };
        let mut raise: Option<(Tier, Option<String>)> = None;
        let mut consider = |tier: Tier, cause: Option<String>| {
            if tier > raise.as_ref().map_or(statement.tier, |(t, _)| *t) {
                raise = Some((tier, cause));
            }
        };
        for (label, rule) in &self.statements {
            if label_matches(label, &statement.kind) {
                match rule {
                    Rule::Refused(reason) => return Err(refused(reason.clone())),
                    Rule::Needs(tier) => consider(*tier, None),
                }
            }
        }
        for name in &statement.reach.functions {
            let parts: Vec<&str> = name.parts.iter().map(|p| p.value.as_str()).collect();
            for (rule_name, rule) in &self.functions {
                if name_matches(rule_name, &parts) {
                    match rule {
                        Rule::Refused(reason) => {
                            return Err(refused(format!("{}(): {reason}", name.last())))
                        }
                        Rule::Needs(tier) => {
                            consider(*tier, Some(format!("calls {}()", name.last())))
                        }
                    }
                }
            }
        }
        for name in statement
            .reach
            .relations
            .iter()
            .chain(&statement.reach.targets)
        {
            let parts: Vec<&str> = name.parts.iter().map(|p| p.value.as_str()).collect();
            for (rule_name, reason) in &self.relations {
                if name_matches(rule_name, &parts) {
                    return Err(refused(format!("{}: {reason}", name.dotted())));
                }
            }
        }
        if let (Some(reason), true) = (&self.string_relations, statement.reach.string_relations) {
            return Err(refused(format!(
                "a table named by a string literal: {reason}"
            )));
        }
        if let Some((tier, cause)) = raise {
            statement.tier = tier;
            if cause.is_some() {
                statement.cause = cause;
            }
        }
        Ok(())
    }
}

fn label_matches(rule: &str, label: &str) -> bool {
    label.len() >= rule.len()
        && label[..rule.len()].eq_ignore_ascii_case(rule)
        && (label.len() == rule.len() || label.as_bytes()[rule.len()] == b' ')
}

/// Whether a call or relation written as `parts` may be the rule's name.
fn name_matches(rule: &[String], parts: &[&str]) -> bool {
    let (Some(rule_last), Some(last)) = (rule.last(), parts.last()) else {
        return false;
    };
    if !rule_last.eq_ignore_ascii_case(last) {
        return false;
    }
    // The written qualifiers must agree with the rule's, innermost first; an unqualified
    // name (or a rule of one part) matches.
    rule.iter()
        .rev()
        .skip(1)
        .zip(parts.iter().rev().skip(1))
        .all(|(a, b)| a.eq_ignore_ascii_case(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_by_last_part_and_written_qualifiers() {
        let rule = vec!["main".to_owned(), "f".to_owned()];
        assert!(name_matches(&rule, &["F"]));
        assert!(name_matches(&rule, &["MAIN", "f"]));
        assert!(!name_matches(&rule, &["other", "f"]));
        assert!(name_matches(&["read_csv".to_owned()], &["sys", "READ_CSV"]));
        assert!(!name_matches(&["read_csv".to_owned()], &["read_csv_auto"]));
    }

    #[test]
    fn labels_match_whole_words() {
        assert!(label_matches("CREATE SECRET", "CREATE SECRET"));
        assert!(label_matches("COPY", "COPY TO"));
        assert!(!label_matches("CREATE SECRET", "CREATE SECRETS"));
        assert!(!label_matches("CREATE", "CREATED"));
    }
}
