//! From input text to per-statement verdicts: split on the dialect's own tokens, classify each
//! piece, merge pieces only where a statement's grammar holds semicolons.

use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};

use sqlparser::tokenizer::{Location, Token, TokenWithSpan};

use crate::classify::{classify_piece, PieceError, Verdict};
use crate::lex::{self, is_trivia, LexError, Lexed};
use crate::special::is_keyword;
use crate::{Dialect, GateError, Statement};

/// Stack the parse, walk and drop of one statement may need per significant token. Left-deep
/// chains (`1+1+…`, `UNION` after `UNION`) nest one level per operator and are dropped
/// recursively; measured needs are well under 100 bytes per level.
const STACK_PER_TOKEN: usize = 256;
const STACK_BASE: usize = 256 * 1024;
/// Longer statements are refused rather than given an ever larger stack.
const MAX_STATEMENT_TOKENS: usize = 1_000_000;
/// How many `;`-separated pieces one trigger or function body may span.
const MAX_MERGED_PIECES: usize = 256;

pub(crate) fn classify(sql: &str, dialect: Dialect) -> Result<Vec<Statement>, GateError> {
    let lexed = match lex::lex(sql, dialect) {
        Ok(lexed) => lexed,
        Err(LexError::Parse(error)) => return Err(error),
        Err(LexError::Refused {
            statement,
            kind,
            reason,
            location,
        }) => {
            return Err(GateError::Refused {
                index: statement,
                kind: kind.to_owned(),
                reason: reason.to_owned(),
                line: location.line,
                column: location.column,
            })
        }
    };
    let pieces = split(&lexed.tokens);
    let longest = pieces
        .iter()
        .map(|piece| significant_count(&lexed.tokens[piece.clone()]))
        .max()
        .unwrap_or(0);
    if longest > MAX_STATEMENT_TOKENS {
        return Err(GateError::Parse {
            message: format!(
                "a statement has more than {MAX_STATEMENT_TOKENS} tokens; split it into smaller statements"
            ),
            line: 1,
            column: 1,
        });
    }
    let stack = STACK_BASE + longest * STACK_PER_TOKEN;
    stacker::maybe_grow(stack, stack, || {
        classify_pieces(sql, &lexed, &pieces, dialect)
    })
}

/// Token ranges between top-level semicolons (semicolons themselves excluded). Strings,
/// quoted identifiers and comments are single tokens, so their semicolons never split.
fn split(tokens: &[TokenWithSpan]) -> Vec<Range<usize>> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (index, token) in tokens.iter().enumerate() {
        if token.token == Token::SemiColon {
            pieces.push(start..index);
            start = index + 1;
        }
    }
    pieces.push(start..tokens.len());
    pieces
}

fn significant_count(tokens: &[TokenWithSpan]) -> usize {
    tokens.iter().filter(|t| !is_trivia(&t.token)).count()
}

fn classify_pieces(
    sql: &str,
    lexed: &Lexed,
    pieces: &[Range<usize>],
    dialect: Dialect,
) -> Result<Vec<Statement>, GateError> {
    let tokens = &lexed.tokens;
    let mut statements = Vec::new();
    let mut next_piece = 0;
    while next_piece < pieces.len() {
        let piece = pieces[next_piece].clone();
        next_piece += 1;
        let Some(first) = piece.clone().find(|&i| !is_trivia(&tokens[i].token)) else {
            continue; // empty statement between semicolons
        };
        let index = statements.len() + 1;
        let start = tokens[first].span.start;
        let to_gate_error = |error: PieceError| match error {
            PieceError::Refused { kind, reason } => GateError::Refused {
                index,
                kind,
                reason: reason.into_owned(),
                line: start.line,
                column: start.column,
            },
            PieceError::Parse {
                message,
                line,
                column,
            } => GateError::Parse {
                message,
                line,
                column,
            },
        };

        let mut range = piece.clone();
        let verdict = match guarded(&tokens[range.clone()], end_of(tokens, &range), dialect) {
            Ok(verdict) => verdict,
            Err(error) => {
                let merged = if is_keyword(&tokens[first], "create") {
                    merge(tokens, pieces, &mut next_piece, &mut range, &error, dialect)
                } else {
                    Ok(None)
                };
                match merged {
                    Ok(Some(verdict)) => verdict,
                    Ok(None) => return Err(to_gate_error(error)),
                    Err(refusal) => return Err(to_gate_error(refusal)),
                }
            }
        };
        let last = range
            .clone()
            .rev()
            .find(|&i| !is_trivia(&tokens[i].token))
            .unwrap_or(first);
        let text = &sql[lexed.offsets[first]..lexed.offsets[last + 1]];
        statements.push(Statement {
            sql: text.to_owned(),
            kind: verdict.kind,
            tier: verdict.tier,
            line: start.line,
            column: start.column,
        });
    }
    if statements.is_empty() {
        return Err(GateError::Empty);
    }
    Ok(statements)
}

/// A CREATE that failed to parse at its very end may be a trigger, function or procedure
/// body with inner semicolons: retry with the following pieces joined on, while the failure
/// stays at the end. Only statements whose grammar holds semicolons are accepted this way;
/// a joined statement that parses but is refused is reported as refused.
fn merge(
    tokens: &[TokenWithSpan],
    pieces: &[Range<usize>],
    next_piece: &mut usize,
    range: &mut Range<usize>,
    first_error: &PieceError,
    dialect: Dialect,
) -> Result<Option<Verdict>, PieceError> {
    let error_at_end = |error: &PieceError, range: &Range<usize>| match error {
        PieceError::Parse { line, column, .. } => {
            let end = end_of(tokens, range);
            *line == end.line && *column == end.column
        }
        PieceError::Refused { .. } => false,
    };
    if !error_at_end(first_error, range) {
        return Ok(None);
    }
    let last_piece = pieces.len().min(*next_piece + MAX_MERGED_PIECES);
    for (candidate, piece) in pieces.iter().enumerate().take(last_piece).skip(*next_piece) {
        let joined = range.start..piece.end;
        match guarded(&tokens[joined.clone()], end_of(tokens, &joined), dialect) {
            Ok(verdict) if verdict.may_span_semicolons => {
                *range = joined;
                *next_piece = candidate + 1;
                return Ok(Some(verdict));
            }
            Ok(_) => return Ok(None),
            Err(refusal @ PieceError::Refused { .. }) => return Err(refusal),
            Err(error) if error_at_end(&error, &joined) => continue,
            Err(_) => return Ok(None),
        }
    }
    Ok(None)
}

/// [`classify_piece`] with a panic in sqlparser turned into a parse error.
fn guarded(
    tokens: &[TokenWithSpan],
    end: Location,
    dialect: Dialect,
) -> Result<Verdict, PieceError> {
    catch_unwind(AssertUnwindSafe(|| classify_piece(tokens, end, dialect))).unwrap_or_else(|_| {
        let start = tokens
            .iter()
            .find(|t| !is_trivia(&t.token))
            .map_or(end, |t| t.span.start);
        Err(PieceError::Parse {
            message: "the SQL parser failed on this statement".to_owned(),
            line: start.line,
            column: start.column,
        })
    })
}

/// Where the statement in `range` ends: at its `;`, or at the end of the input.
fn end_of(tokens: &[TokenWithSpan], range: &Range<usize>) -> Location {
    match tokens.get(range.end) {
        Some(semicolon) => semicolon.span.start,
        None => tokens.last().map_or(Location::new(1, 1), |t| t.span.end),
    }
}
