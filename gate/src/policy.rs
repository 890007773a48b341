//! An engine's policy: refused and raised functions, statements and relations, and the
//! engine's lexical features. The host's own tables are each dialect's default policy
//! ([`Policy::dialect_default`]); a plugin's declared one is enforced together with it. A
//! policy can only tighten: every rule refuses or raises, so nothing a plugin declares allows
//! what the defaults refuse.

use crate::{Dialect, GateError, Statement, Tier};

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

/// Rules about an engine's SQL: a dialect's default (the host's tables) or an engine's
/// declared additions (from its plugin).
///
/// Names are matched case-insensitively, and a `*` in a rule name's last part matches any run
/// of characters (`pg_ls_*`). A rule name of one part matches that function or relation in
/// any schema; one of several parts matches the name written with that qualification, and
/// the unqualified last part (which may resolve to it).
///
/// Where a name matches several rules (of one policy, or of a default and a declaration
/// enforced together), any refusal wins, and otherwise the highest tier; a rule that needs
/// `Read` changes nothing. So a rule can refuse or raise, never allow.
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
    /// Relations refused only where written, or resolved by the engine, with at least the
    /// rule's qualification: `performance_schema.threads` refuses that table, not a user
    /// table `threads`. The host's defaults use these for names common enough to be user
    /// tables; plugins declare [`Policy::relations`], which also match unqualified names.
    pub schema_relations: Vec<(Vec<String>, String)>,
}

impl Policy {
    /// The rules of both: a refusal in either wins, else the highest tier either needs. The
    /// lexing and the string-relation refusal are this policy's when it has them.
    pub fn and(mut self, other: Policy) -> Policy {
        self.functions.extend(other.functions);
        self.statements.extend(other.statements);
        self.relations.extend(other.relations);
        self.schema_relations.extend(other.schema_relations);
        self.string_relations = self.string_relations.or(other.string_relations);
        self.lexing = self.lexing.or(other.lexing);
        self
    }

    /// Whether the policy adds nothing.
    pub fn is_empty(&self) -> bool {
        self == &Policy::default()
    }

    /// The host's own rules for `dialect`: what every engine of that dialect gets, whatever
    /// its plugin declares (or does not). [`crate::classify`] enforces it, and
    /// [`crate::classify_with`] enforces it together with a declared policy.
    pub fn dialect_default(dialect: Dialect) -> &'static Policy {
        crate::defaults::for_dialect(dialect)
    }

    /// The rule for calling the function written as `parts` (outermost first): the first
    /// refusal among the rules it matches, else the one that needs the highest tier.
    pub fn function_rule(&self, parts: &[&str]) -> Option<&Rule> {
        function_rule([self], parts)
    }

    /// Why reading or writing the relation written (or resolved) as `parts` is refused, if it
    /// is.
    pub fn relation_refusal(&self, parts: &[&str]) -> Option<&str> {
        relation_refusal([self], parts)
    }

    /// Applies the rules to a statement from its label and the names it uses (its
    /// [`Statement::reach`]): refuses it, or raises its tier and says why. `index` is its
    /// 1-based position, for messages. [`crate::classify_with`] checks function and relation
    /// rules during its walk and applies only the statement and string-relation rules after;
    /// this applies all of them, for statements the host builds from [`crate::scan`].
    pub fn apply(&self, index: usize, statement: &mut Statement) -> Result<(), GateError> {
        let mut raise: Option<(Tier, Option<String>)> = None;
        self.apply_to_kind(index, statement, &mut raise)?;
        for name in &statement.reach.functions {
            let parts: Vec<&str> = name.parts.iter().map(|p| p.value.as_str()).collect();
            match self.function_rule(&parts) {
                Some(Rule::Refused(reason)) => {
                    return Err(refusal(
                        index,
                        statement,
                        format!("{}(): {reason}", name.last()),
                    ))
                }
                Some(Rule::Needs(tier)) => consider(
                    &mut raise,
                    statement.tier,
                    *tier,
                    Some(format!("calls {}()", name.last())),
                ),
                None => {}
            }
        }
        for name in statement
            .reach
            .relations
            .iter()
            .chain(&statement.reach.targets)
        {
            let parts: Vec<&str> = name.parts.iter().map(|p| p.value.as_str()).collect();
            if let Some(reason) = self.relation_refusal(&parts) {
                return Err(refusal(
                    index,
                    statement,
                    format!("{}: {reason}", name.dotted()),
                ));
            }
        }
        raise_to(statement, raise);
        Ok(())
    }

    /// The rules about a statement as a whole, which the walk does not see: its label, and
    /// relations written as string literals. See [`Policy::apply`].
    pub(crate) fn apply_to_statement(
        &self,
        index: usize,
        statement: &mut Statement,
    ) -> Result<(), GateError> {
        let mut raise = None;
        self.apply_to_kind(index, statement, &mut raise)?;
        raise_to(statement, raise);
        Ok(())
    }

    fn apply_to_kind(
        &self,
        index: usize,
        statement: &Statement,
        raise: &mut Option<(Tier, Option<String>)>,
    ) -> Result<(), GateError> {
        for (label, rule) in &self.statements {
            if label_matches(label, &statement.kind) {
                match rule {
                    Rule::Refused(reason) => return Err(refusal(index, statement, reason.clone())),
                    Rule::Needs(tier) => consider(raise, statement.tier, *tier, None),
                }
            }
        }
        if let (Some(reason), true) = (&self.string_relations, statement.reach.string_relations) {
            return Err(refusal(
                index,
                statement,
                format!("a table named by a string literal: {reason}"),
            ));
        }
        Ok(())
    }
}

/// The rule of `policies` (in order) for calling the function written as `parts`: the first
/// refusal any of them has for it, else the rule that needs the highest tier.
pub(crate) fn function_rule<'p>(
    policies: impl IntoIterator<Item = &'p Policy>,
    parts: &[&str],
) -> Option<&'p Rule> {
    let mut highest: Option<&'p Rule> = None;
    for policy in policies {
        for (name, rule) in &policy.functions {
            if !name_matches(name, parts) {
                continue;
            }
            match (rule, highest) {
                (Rule::Refused(_), _) => return Some(rule),
                (Rule::Needs(tier), Some(Rule::Needs(known))) if tier <= known => {}
                (Rule::Needs(_), _) => highest = Some(rule),
            }
        }
    }
    highest
}

/// The first reason of `policies` (in order) for refusing the relation written as `parts`.
pub(crate) fn relation_refusal<'p>(
    policies: impl IntoIterator<Item = &'p Policy>,
    parts: &[&str],
) -> Option<&'p str> {
    policies.into_iter().find_map(|policy| {
        let any = policy
            .relations
            .iter()
            .find(|(name, _)| name_matches(name, parts));
        let qualified = || {
            policy
                .schema_relations
                .iter()
                .find(|(name, _)| parts.len() >= name.len() && name_matches(name, parts))
        };
        any.or_else(qualified).map(|(_, reason)| reason.as_str())
    })
}

fn refusal(index: usize, statement: &Statement, reason: String) -> GateError {
    GateError::Refused {
        index,
        kind: statement.kind.clone(),
        reason,
        line: statement.line,
        column: statement.column,
    }
}

/// Keeps `tier` (and its cause) in `raise` if it is above both the statement's and what is
/// there.
fn consider(
    raise: &mut Option<(Tier, Option<String>)>,
    current: Tier,
    tier: Tier,
    cause: Option<String>,
) {
    if tier > raise.as_ref().map_or(current, |(t, _)| *t) {
        *raise = Some((tier, cause));
    }
}

fn raise_to(statement: &mut Statement, raise: Option<(Tier, Option<String>)>) {
    if let Some((tier, cause)) = raise {
        statement.tier = tier;
        if cause.is_some() {
            statement.cause = cause;
        }
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
    if !glob_matches(rule_last.as_bytes(), last.as_bytes()) {
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

/// Whether `text` matches `pattern`, ASCII case-insensitively, where `*` in the pattern
/// matches any run of bytes (none included).
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    // Greedy with one backtrack point: enough for `*`, linear in practice.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if c.eq_ignore_ascii_case(&text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
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
        assert!(name_matches(&["read_csv*".to_owned()], &["READ_CSV_AUTO"]));
    }

    #[test]
    fn globs_match_runs_of_characters() {
        let matches = |p: &str, t: &str| glob_matches(p.as_bytes(), t.as_bytes());
        assert!(matches("pg_ls_*", "pg_ls_dir"));
        assert!(matches("pg_ls_*", "PG_LS_"));
        assert!(!matches("pg_ls_*", "pg_l"));
        assert!(matches(
            "pg_create_*slot",
            "pg_create_logical_replication_slot"
        ));
        assert!(matches("pg_create_*slot", "pg_create_slot"));
        assert!(!matches("pg_create_*slot", "pg_create_restore_point"));
        assert!(!matches("pg_create_*slot", "pg_create_slots"));
        assert!(matches("a*b*c", "aXbYbc"));
        assert!(matches("lower", "LOWER"));
        assert!(!matches("lower", "lowerx"));
    }

    #[test]
    fn a_refusal_wins_over_any_tier_and_the_highest_tier_over_lower_ones() {
        let policy = |rules: Vec<Rule>| Policy {
            functions: rules
                .into_iter()
                .map(|rule| (vec!["f".to_owned()], rule))
                .collect(),
            ..Policy::default()
        };
        let low = policy(vec![Rule::Needs(Tier::Read), Rule::Needs(Tier::Ddl)]);
        let high = policy(vec![
            Rule::Needs(Tier::Write),
            Rule::Refused("no".to_owned()),
        ]);
        assert_eq!(low.function_rule(&["f"]), Some(&Rule::Needs(Tier::Ddl)));
        assert_eq!(
            function_rule([&low, &high], &["F"]),
            Some(&Rule::Refused("no".to_owned()))
        );
        assert_eq!(function_rule([&low, &high], &["g"]), None);
    }

    #[test]
    fn labels_match_whole_words() {
        assert!(label_matches("CREATE SECRET", "CREATE SECRET"));
        assert!(label_matches("COPY", "COPY TO"));
        assert!(!label_matches("CREATE SECRET", "CREATE SECRETS"));
        assert!(!label_matches("CREATE", "CREATED"));
    }
}
