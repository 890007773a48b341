//! The three capability tiers.

use std::fmt;

/// What a statement needs to be allowed to run, from least to most powerful.
///
/// The order is meaningful: a grant of [`Tier::Ddl`] implies [`Tier::Write`], which implies
/// [`Tier::Read`]. Compare tiers with `<=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Reads data and metadata; the default grant.
    Read,
    /// Changes rows (INSERT, UPDATE, DELETE, MERGE, REPLACE, upserts, sequence steps).
    Write,
    /// Changes the schema or anything else whose effect is not limited to rows.
    Ddl,
}

impl Tier {
    /// Every tier, lowest first.
    pub const ALL: [Tier; 3] = [Tier::Read, Tier::Write, Tier::Ddl];

    /// The tier's stable lower-case name: `"read"`, `"write"` or `"ddl"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Read => "read",
            Tier::Write => "write",
            Tier::Ddl => "ddl",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
