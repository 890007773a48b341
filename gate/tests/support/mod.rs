//! Table-driven verdict checks shared by the test files.
#![allow(dead_code)]

pub mod cases;
pub mod live;

use plenum_gate::{check, classify, Dialect, GateError, Tier};

/// The exact verdict a case must get.
#[derive(Debug, Clone, Copy)]
pub enum V {
    /// One statement, read tier.
    R,
    /// One statement, write tier.
    W,
    /// One statement, ddl tier.
    D,
    /// Several statements with these tiers, in order.
    Multi(&'static [Tier]),
    /// Refused in every tier.
    Refused,
    /// A parse error in every tier.
    Parse,
    /// Nothing to run.
    Empty,
}

/// Checks one case against `classify` and against `check` at every grant; returns a
/// description of each mismatch.
pub fn verdict_mismatches(dialect: Dialect, sql: &str, expected: V) -> Vec<String> {
    let mut problems = Vec::new();
    let mut fail = |what: String| problems.push(format!("[{dialect}] {sql:?}: {what}"));
    let tiers: Option<Vec<Tier>> = match expected {
        V::R => Some(vec![Tier::Read]),
        V::W => Some(vec![Tier::Write]),
        V::D => Some(vec![Tier::Ddl]),
        V::Multi(tiers) => Some(tiers.to_vec()),
        _ => None,
    };
    let classified = classify(sql, dialect);
    match (&tiers, &classified) {
        (Some(tiers), Ok(statements)) => {
            let got: Vec<Tier> = statements.iter().map(|s| s.tier).collect();
            if &got != tiers {
                fail(format!("expected tiers {tiers:?}, got {got:?}"));
            }
        }
        (Some(tiers), Err(error)) => fail(format!("expected tiers {tiers:?}, got error {error}")),
        (None, result) => {
            let ok = matches!(
                (expected, result),
                (V::Refused, Err(GateError::Refused { .. }))
                    | (V::Parse, Err(GateError::Parse { .. }))
                    | (V::Empty, Err(GateError::Empty))
            );
            if !ok {
                fail(format!("expected {expected:?}, got {result:?}"));
            }
        }
    }
    for granted in Tier::ALL {
        let result = check(sql, dialect, granted);
        match &tiers {
            Some(tiers) => {
                let first_above = tiers.iter().position(|t| *t > granted);
                match (first_above, &result) {
                    (None, Ok(_)) => {}
                    (
                        Some(at),
                        Err(GateError::NeedsTier {
                            index,
                            needed,
                            granted: g,
                            ..
                        }),
                    ) if *index == at + 1 && *needed == tiers[at] && *g == granted => {}
                    _ => fail(format!("check at {granted}: unexpected {result:?}")),
                }
            }
            None => {
                let same = match (&classified, &result) {
                    (Err(a), Err(b)) => a == b,
                    _ => false,
                };
                if !same {
                    fail(format!(
                        "check at {granted}: expected the classify error, got {result:?}"
                    ));
                }
            }
        }
    }
    problems
}

/// Runs a table of cases and fails once with every mismatch listed.
pub fn run_table(dialect: Dialect, cases: &[(&str, V)]) {
    let problems: Vec<String> = cases
        .iter()
        .flat_map(|(sql, expected)| verdict_mismatches(dialect, sql, *expected))
        .collect();
    assert!(
        problems.is_empty(),
        "{} of {} cases wrong:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
}

/// The kind label of a single-statement input that classifies.
pub fn kind_of(dialect: Dialect, sql: &str) -> String {
    match classify(sql, dialect) {
        Ok(statements) => statements[0].kind.clone(),
        Err(GateError::Refused { kind, .. }) | Err(GateError::NeedsTier { kind, .. }) => kind,
        Err(other) => panic!("{sql:?}: {other}"),
    }
}
