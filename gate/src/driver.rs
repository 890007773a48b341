//! From input text to per-statement verdicts: split on the dialect's own tokens, classify each
//! piece, merge pieces only where a statement's grammar holds semicolons.

use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};

use sqlparser::tokenizer::{Location, Token, TokenWithSpan};

use crate::classify::{classify_piece, PieceError, Verdict};
use crate::enforced::Enforced;
use crate::lex::{self, is_trivia, LexError, Lexed};
use crate::lexing;
use crate::params::{self, Placeholders};
use crate::special::is_keyword;
use crate::{buffers, Dialect, GateError, Statement};

/// Stack the parse, walk and drop of one statement may need per significant token. Left-deep
/// chains (`1+1+…`, `UNION` after `UNION`) nest one level per operator and are dropped
/// recursively; measured needs are well under 100 bytes per level.
const STACK_PER_TOKEN: usize = 256;
const STACK_BASE: usize = 256 * 1024;
/// Longer statements are refused rather than given an ever larger stack.
const MAX_STATEMENT_TOKENS: usize = 1_000_000;
/// How many `;`-separated pieces one trigger or function body may span.
const MAX_MERGED_PIECES: usize = 256;

pub(crate) fn classify(
    sql: &str,
    dialect: Dialect,
    rules: Enforced<'_>,
) -> Result<Vec<Statement>, GateError> {
    let mut lexed = match lex::lex(sql, dialect) {
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
    if let Some(lexing) = rules.lexing() {
        if let Err(error) = lexing::cross_check(sql, &lexed.tokens, &lexed.offsets, lexing) {
            buffers::give_back(lexed.tokens);
            return Err(error);
        }
    }
    let pieces = split(&lexed.tokens);
    let longest = pieces.iter().map(|p| p.significant).max().unwrap_or(0);
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
    let statements = stacker::maybe_grow(stack, stack, || {
        classify_pieces(sql, &mut lexed, &pieces, dialect, rules)
    });
    buffers::give_back(lexed.tokens);
    statements
}

/// The tokens between two top-level semicolons.
struct Piece {
    /// Token range, semicolon excluded.
    range: Range<usize>,
    /// First and last significant (non-trivia) token, if any.
    first: Option<usize>,
    last: usize,
    /// Number of significant tokens.
    significant: usize,
}

/// Splits at top-level semicolons. Strings, quoted identifiers and comments are single
/// tokens, so their semicolons never split.
fn split(tokens: &[TokenWithSpan]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut piece = Piece {
        range: 0..0,
        first: None,
        last: 0,
        significant: 0,
    };
    for (index, token) in tokens.iter().enumerate() {
        if matches!(token.token, Token::SemiColon) {
            piece.range.end = index;
            let next = Piece {
                range: index + 1..index + 1,
                first: None,
                last: 0,
                significant: 0,
            };
            pieces.push(std::mem::replace(&mut piece, next));
        } else if !is_trivia(&token.token) {
            piece.first.get_or_insert(index);
            piece.last = index;
            piece.significant += 1;
        }
    }
    piece.range.end = tokens.len();
    pieces.push(piece);
    pieces
}

fn classify_pieces(
    sql: &str,
    lexed: &mut Lexed,
    pieces: &[Piece],
    dialect: Dialect,
    rules: Enforced<'_>,
) -> Result<Vec<Statement>, GateError> {
    let Lexed { tokens, offsets } = lexed;
    let placeholders_in = |tokens: &[TokenWithSpan], range: &Range<usize>| {
        if params::may_have_placeholders(&sql[offsets[range.start]..offsets[range.end]]) {
            params::scan(
                &tokens[range.clone()],
                &offsets[range.start..=range.end],
                sql,
                dialect,
            )
        } else {
            Ok(Placeholders::default())
        }
    };
    let mut statements = Vec::with_capacity(pieces.iter().filter(|p| p.first.is_some()).count());
    let mut next_piece = 0;
    while next_piece < pieces.len() {
        let piece = &pieces[next_piece];
        next_piece += 1;
        let Some(first) = piece.first else {
            continue; // empty statement between semicolons
        };
        let index = statements.len() + 1;
        let start = tokens[first].span.start;
        // Counted before the parser takes the tokens; a placeholder error is reported only if
        // the statement parses and is not refused, so those verdicts come first.
        let mut range = piece.range.clone();
        let mut placeholders = placeholders_in(tokens, &range);
        let none = Placeholders::default();
        let end = end_of(tokens, &range);
        let to_gate_error =
            |error: PieceError, placeholders: &Result<Placeholders, GateError>| match error {
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
                } => placeholders
                    .as_ref()
                    .unwrap_or(&none)
                    .misread_question_mark(line, column, end)
                    .unwrap_or(GateError::Parse {
                        message,
                        line,
                        column,
                    }),
            };

        // A CREATE may need its tokens again, joined with the next pieces.
        let is_create = is_keyword(&tokens[first], "create");
        let mut last = piece.last;
        let verdict = match guarded(&mut tokens[range.clone()], end, dialect, rules, is_create) {
            Ok(verdict) => verdict,
            Err(error) => {
                let merged = if is_create {
                    merge(
                        tokens,
                        pieces,
                        &mut next_piece,
                        &mut range,
                        &error,
                        dialect,
                        rules,
                    )
                } else {
                    Ok(None)
                };
                match merged {
                    Ok(Some(verdict)) => {
                        last = pieces[next_piece - 1].last.max(last);
                        // Merged pieces keep their tokens: count the whole statement.
                        placeholders = placeholders_in(tokens, &range);
                        verdict
                    }
                    Ok(None) => return Err(to_gate_error(error, &placeholders)),
                    Err(refusal) => return Err(to_gate_error(refusal, &placeholders)),
                }
            }
        };
        let parameters = placeholders?.count;
        let text = &sql[offsets[first]..offsets[last + 1]];
        statements.push(Statement {
            sql: text.to_owned(),
            kind: verdict.kind,
            tier: verdict.tier,
            cause: verdict.cause,
            reach: verdict.reach,
            tables: verdict.tables,
            line: start.line,
            column: start.column,
            parameters,
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
    tokens: &mut [TokenWithSpan],
    pieces: &[Piece],
    next_piece: &mut usize,
    range: &mut Range<usize>,
    first_error: &PieceError,
    dialect: Dialect,
    rules: Enforced<'_>,
) -> Result<Option<Verdict>, PieceError> {
    let error_at_end = |error: &PieceError, end: Location| match error {
        PieceError::Parse { line, column, .. } => *line == end.line && *column == end.column,
        PieceError::Refused { .. } => false,
    };
    if !error_at_end(first_error, end_of(tokens, range)) {
        return Ok(None);
    }
    let last_piece = pieces.len().min(*next_piece + MAX_MERGED_PIECES);
    for (candidate, piece) in pieces.iter().enumerate().take(last_piece).skip(*next_piece) {
        let joined = range.start..piece.range.end;
        let end = end_of(tokens, &joined);
        match guarded(&mut tokens[joined.clone()], end, dialect, rules, true) {
            Ok(verdict) if verdict.may_span_semicolons => {
                *range = joined;
                *next_piece = candidate + 1;
                return Ok(Some(verdict));
            }
            Ok(_) => return Ok(None),
            Err(refusal @ PieceError::Refused { .. }) => return Err(refusal),
            Err(error) if error_at_end(&error, end) => continue,
            Err(_) => return Ok(None),
        }
    }
    Ok(None)
}

/// [`classify_piece`] with a panic in sqlparser turned into a parse error.
fn guarded(
    tokens: &mut [TokenWithSpan],
    end: Location,
    dialect: Dialect,
    rules: Enforced<'_>,
    keep_tokens: bool,
) -> Result<Verdict, PieceError> {
    let start = tokens
        .iter()
        .find(|t| !is_trivia(&t.token))
        .map_or(end, |t| t.span.start);
    catch_unwind(AssertUnwindSafe(|| {
        classify_piece(tokens, end, dialect, rules, keep_tokens)
    }))
    .unwrap_or_else(|_| {
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
