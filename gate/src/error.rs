//! Why the gate said no.

use std::fmt;

use crate::Tier;

/// A gate verdict that stops the whole input: nothing of it may run.
///
/// Positions are 1-based; columns count characters (not bytes), as sqlparser does.
///
/// New kinds of verdict may be added: a caller matching on the variants needs an arm for the
/// others, which should treat them as refusals (fail closed).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GateError {
    /// The SQL could not be lexed or parsed, or has a shape the gate will not guess about.
    Parse {
        /// What went wrong, without the position (which is in `line` and `column`).
        message: String,
        /// Line of the offending token.
        line: u64,
        /// Column of the offending token.
        column: u64,
    },
    /// The input holds nothing but whitespace, comments and semicolons.
    Empty,
    /// A statement's placeholders break the dialect's rules (see the crate documentation):
    /// a named placeholder, a style the engine does not know, mixed styles, `$0` or a gap in
    /// PostgreSQL's numbering.
    Parameters {
        /// What is wrong and what to write instead, without the position.
        message: String,
        /// Line of the offending placeholder.
        line: u64,
        /// Column of the offending placeholder.
        column: u64,
    },
    /// A statement that is never allowed, whatever the grant.
    Refused {
        /// 1-based position of the statement in the input.
        index: usize,
        /// Upper-case label of the statement, e.g. `"BEGIN"` or `"SELECT"`.
        kind: String,
        /// Why it is refused and what to do instead.
        reason: String,
        /// Line where the statement starts.
        line: u64,
        /// Column where the statement starts.
        column: u64,
    },
    /// A statement that needs a higher tier than the one granted.
    NeedsTier {
        /// 1-based position of the statement in the input.
        index: usize,
        /// Upper-case label of the statement, e.g. `"DELETE"`.
        kind: String,
        /// The tier the statement needs.
        needed: Tier,
        /// What inside the statement needs that tier, when its kind does not say: see
        /// [`crate::Statement::cause`].
        cause: Option<String>,
        /// The tier that was granted.
        granted: Tier,
        /// Line where the statement starts.
        line: u64,
        /// Column where the statement starts.
        column: u64,
    },
}

impl GateError {
    /// The stable error code of the output envelope: `"PARSE_ERROR"` for [`GateError::Parse`]
    /// and [`GateError::Empty`], `"INVALID_INPUT"` for [`GateError::Parameters`],
    /// `"CAPABILITY_VIOLATION"` for the others.
    pub fn code(&self) -> &'static str {
        match self {
            GateError::Parse { .. } | GateError::Empty => "PARSE_ERROR",
            GateError::Parameters { .. } => "INVALID_INPUT",
            GateError::Refused { .. } | GateError::NeedsTier { .. } => "CAPABILITY_VIOLATION",
        }
    }

    /// Where the error is, if it has a position.
    pub fn position(&self) -> Option<(u64, u64)> {
        match self {
            GateError::Parse { line, column, .. }
            | GateError::Parameters { line, column, .. }
            | GateError::Refused { line, column, .. }
            | GateError::NeedsTier { line, column, .. } => Some((*line, *column)),
            GateError::Empty => None,
        }
    }
}

impl fmt::Display for GateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateError::Parse {
                message,
                line,
                column,
            } => write!(
                f,
                "cannot parse SQL at line {line}, column {column}: {message}"
            ),
            GateError::Parameters {
                message,
                line,
                column,
            } => write!(
                f,
                "invalid placeholder at line {line}, column {column}: {message}"
            ),
            GateError::Empty => f.write_str(
                "no SQL statement to run: the input holds only whitespace, comments or semicolons",
            ),
            GateError::Refused {
                index,
                kind,
                reason,
                line,
                column,
            } => write!(
                f,
                "{kind} is refused: {reason} (statement {index}, line {line}, column {column})"
            ),
            GateError::NeedsTier {
                index,
                kind,
                needed,
                cause,
                ..
            } => {
                write!(f, "statement {index} ({kind}) ")?;
                match cause {
                    Some(cause) => write!(f, "{cause}, which needs ")?,
                    None => f.write_str("needs ")?,
                }
                // The tier, not how to grant it: that is the caller's word (a flag, a tool
                // argument), which the host adds.
                write!(f, "the {needed} tier")
            }
        }
    }
}

impl std::error::Error for GateError {}
