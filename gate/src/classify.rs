//! Classifying one statement: leading-keyword refusals, the narrow recognizers, then the real
//! parser and the tree walk.

use std::borrow::Cow;

use sqlparser::ast::Statement as Ast;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan};

use crate::enforced::Enforced;
use crate::lex::is_trivia;
use crate::names::{Reach, TableRef};
use crate::special::{self, is_keyword};
use crate::{buffers, reasons, walk, Dialect, Tier};

/// sqlparser's own default; deep enough for real queries (it counts nested subqueries,
/// parentheses and prefix operators), shallow enough to stop `((((…))))` early.
const RECURSION_LIMIT: usize = 50;

/// The verdict for one statement.
#[derive(Debug)]
pub(crate) struct Verdict {
    pub kind: String,
    pub tier: Tier,
    /// What inside the statement raised its tier, when its kind does not say (see
    /// [`crate::Statement::cause`]).
    pub cause: Option<String>,
    /// The statement's grammar legitimately contains semicolons (trigger, function and
    /// procedure bodies), so it may be assembled from several `;`-separated pieces.
    pub may_span_semicolons: bool,
    /// The names the engine must resolve.
    pub reach: Reach,
    /// The tables it names, with their aliases (see [`crate::Statement::tables`]).
    pub tables: Vec<TableRef>,
}

impl Verdict {
    pub(crate) fn new(kind: String, tier: Tier) -> Self {
        Verdict {
            kind,
            tier,
            cause: None,
            may_span_semicolons: false,
            reach: Reach::default(),
            tables: Vec::new(),
        }
    }
}

/// Why one statement is not allowed.
#[derive(Debug)]
pub(crate) enum PieceError {
    Refused {
        kind: String,
        reason: Cow<'static, str>,
    },
    Parse {
        message: String,
        line: u64,
        column: u64,
    },
}

/// How the tokens are turned into what sqlparser parses.
enum Shape {
    /// As written.
    Plain,
    /// `TABLE t …`: parsed as `SELECT * FROM t …`; `after` is the index after `TABLE`.
    Table { after: usize, span: Span },
    /// MySQL `… LOCK IN SHARE MODE`: parsed without the clause (tokens before `cut`).
    LockInShareMode { cut: usize },
    /// PostgreSQL: `FOR NO KEY UPDATE` / `FOR KEY SHARE` parsed as `FOR UPDATE` / `FOR SHARE`.
    KeyLocks,
}

/// Classifies the statement made of `tokens` (no top-level `;` unless several pieces were
/// merged). `end` is where the statement ends, used for errors at its end. `tokens` must hold
/// at least one significant token. Unless `keep_tokens`, the tokens are moved out (replaced
/// by placeholders) to save copying them.
pub(crate) fn classify_piece(
    tokens: &mut [TokenWithSpan],
    end: Location,
    dialect: Dialect,
    rules: Enforced<'_>,
    keep_tokens: bool,
) -> Result<Verdict, PieceError> {
    // Everything that looks at the tokens happens here, before they may be moved.
    let (shape, label, show_fallback) = {
        let tokens: &[TokenWithSpan] = tokens;
        let sig: Vec<&TokenWithSpan> = tokens.iter().filter(|t| !is_trivia(&t.token)).collect();
        let Some(first) = sig.first() else {
            return Err(PieceError::Parse {
                message: "empty statement".to_owned(),
                line: end.line,
                column: end.column,
            });
        };
        if let Token::Word(w) = &first.token {
            if w.quote_style.is_none() {
                if let Some(verdict) = early_verdict(&w.value, &sig, dialect)? {
                    return Ok(verdict);
                }
            }
        }
        let label = token_kind(&sig);
        if dialect.has_mysql_select_into() {
            special::mysql_select_into(&sig).map_err(|reason| PieceError::Refused {
                kind: label.clone(),
                reason,
            })?;
        }
        let position = |token: &TokenWithSpan| {
            tokens
                .iter()
                .position(|t| std::ptr::eq(t, token))
                .unwrap_or(tokens.len())
        };
        let shape = if is_keyword(first, "table") {
            Shape::Table {
                after: position(first) + 1,
                span: first.span,
            }
        } else if let Some(lock_at) = matches!(dialect, Dialect::MySql | Dialect::Generic)
            .then(|| special::trailing_lock_in_share_mode(&sig))
            .flatten()
        {
            Shape::LockInShareMode {
                cut: position(sig[lock_at]),
            }
        } else if matches!(dialect, Dialect::PostgreSql | Dialect::Generic)
            && sig.iter().any(|t| is_keyword(t, "for"))
        {
            Shape::KeyLocks
        } else {
            Shape::Plain
        };
        // Needed only if parsing fails, but computed now, while the tokens are here.
        let show_fallback = if is_keyword(first, "show") {
            special::show(&sig, label.clone())
        } else {
            None
        };
        (shape, label, show_fallback)
    };

    let all = tokens.len();
    let mut take = |from: usize, to: usize| -> Vec<TokenWithSpan> {
        let slice = &mut tokens[from.min(to)..to];
        // Room for the end marker `parse_one` adds, so it does not reallocate and copy.
        let mut taken = buffers::take(slice.len() + 1);
        if keep_tokens {
            taken.extend_from_slice(slice);
        } else {
            taken.extend(
                slice
                    .iter_mut()
                    .map(|t| std::mem::replace(t, TokenWithSpan::new_eof())),
            );
        }
        taken
    };
    let mut extra_tier = Tier::Read;
    let to_parse = match shape {
        Shape::Plain => take(0, all),
        Shape::Table { after, span } => {
            // `TABLE t` is `SELECT * FROM t` (PostgreSQL, MySQL 8); sqlparser only accepts
            // it inside a query, so the same tokens are parsed behind a synthetic prefix.
            let rest = take(after, all);
            let mut rewritten = Vec::with_capacity(rest.len() + 4);
            rewritten.extend([
                TokenWithSpan::new(Token::make_keyword("SELECT"), span),
                TokenWithSpan::new(Token::Mul, span),
                TokenWithSpan::new(Token::make_keyword("FROM"), span),
            ]);
            rewritten.extend(rest);
            rewritten
        }
        Shape::LockInShareMode { cut } => {
            // MySQL's old spelling of FOR SHARE: a row lock, so the write tier.
            extra_tier = Tier::Write;
            take(0, cut)
        }
        Shape::KeyLocks => postgres_key_locks(take(0, all)),
    };

    let statement = match parse_one(to_parse, end, dialect) {
        Ok(statement) => statement,
        Err(error) => return show_fallback.unwrap_or(Err(error)),
    };
    let kind = match &statement {
        Ast::Query(query) if !matches!(shape, Shape::Table { .. }) => walk::query_kind(query),
        Ast::Explain { .. } => explain_kind(&statement, label),
        _ => label,
    };
    let needs =
        walk::statement_tier(&statement, dialect, rules).map_err(|reason| PieceError::Refused {
            kind: kind.clone(),
            reason,
        })?;
    let (tier, cause) = if extra_tier > needs.tier {
        (
            extra_tier,
            Some("takes row locks with LOCK IN SHARE MODE".to_owned()),
        )
    } else {
        (needs.tier, needs.cause.clone())
    };
    Ok(Verdict {
        kind,
        tier,
        cause,
        may_span_semicolons: matches!(
            statement,
            Ast::CreateTrigger(_) | Ast::CreateFunction(_) | Ast::CreateProcedure { .. }
        ),
        reach: needs.reach,
        tables: needs.tables,
    })
}

/// Verdicts decided by the first word alone: refusals, and the statements the gate
/// recognizes itself. `Ok(None)` means "parse it".
fn early_verdict(
    first_word: &str,
    sig: &[&TokenWithSpan],
    dialect: Dialect,
) -> Result<Option<Verdict>, PieceError> {
    let second_word = match sig.get(1).map(|t| &t.token) {
        Some(Token::Word(w)) => Some(w.value.as_str()),
        _ => None,
    };
    if let Some((kind, reason)) = reasons::leading_refusal(first_word, second_word) {
        return Err(PieceError::Refused {
            kind,
            reason: Cow::Borrowed(reason),
        });
    }
    let verdict = if first_word.eq_ignore_ascii_case("pragma") {
        special::pragma(sig)
    } else if first_word.eq_ignore_ascii_case("do") {
        special::do_block(sig, dialect)
    } else if ["vacuum", "reindex", "cluster", "refresh"]
        .iter()
        .any(|w| first_word.eq_ignore_ascii_case(w))
    {
        special::maintenance(sig, &first_word.to_ascii_uppercase())
    } else {
        return Ok(None);
    };
    verdict.map(Some)
}

/// PostgreSQL's `FOR NO KEY UPDATE` and `FOR KEY SHARE` are row locks like `FOR UPDATE` and
/// `FOR SHARE` (same tier), but sqlparser 0.63 only knows the latter: drop the `NO` / `KEY`
/// words after an unquoted `FOR` so the statement parses with the equivalent lock.
fn postgres_key_locks(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let sig: Vec<usize> = (0..tokens.len())
        .filter(|&i| !is_trivia(&tokens[i].token))
        .collect();
    let mut drop = vec![false; tokens.len()];
    let mut any = false;
    for (at, &index) in sig.iter().enumerate() {
        if !is_keyword(&tokens[index], "for") {
            continue;
        }
        let word = |offset: usize, keyword: &str| {
            sig.get(at + offset)
                .is_some_and(|&i| is_keyword(&tokens[i], keyword))
        };
        if word(1, "no") && word(2, "key") && word(3, "update") {
            drop[sig[at + 1]] = true;
            drop[sig[at + 2]] = true;
            any = true;
        } else if word(1, "key") && word(2, "share") {
            drop[sig[at + 1]] = true;
            any = true;
        }
    }
    if any {
        let mut index = 0;
        tokens.retain(|_| {
            index += 1;
            !drop[index - 1]
        });
    }
    tokens
}

/// Parses exactly one statement from `tokens`.
fn parse_one(
    mut tokens: Vec<TokenWithSpan>,
    end: Location,
    dialect: Dialect,
) -> Result<Ast, PieceError> {
    // An explicit end-of-input token, placed where the statement ends, so errors "at the end"
    // point somewhere useful instead of line 0.
    tokens.push(TokenWithSpan::new(Token::EOF, Span::new(end, end)));
    let mut parser = Parser::new(dialect.parser_dialect())
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens);
    let result = match parser.parse_statement() {
        Err(error) => Err(parse_error(error, end)),
        Ok(statement) => {
            let next = parser.peek_token_ref();
            if matches!(next.token, Token::EOF) {
                Ok(statement)
            } else {
                Err(PieceError::Parse {
                    message: format!("expected the end of the statement, found {}", next.token),
                    line: next.span.start.line,
                    column: next.span.start.column,
                })
            }
        }
    };
    buffers::give_back(parser.into_tokens());
    result
}

/// Converts sqlparser's error, whose position is only inside its message text.
fn parse_error(error: ParserError, end: Location) -> PieceError {
    let text = match error {
        ParserError::ParserError(text) | ParserError::TokenizerError(text) => text,
        ParserError::RecursionLimitExceeded => {
            return PieceError::Parse {
                message: "the statement is nested too deeply".to_owned(),
                line: end.line,
                column: end.column,
            }
        }
    };
    let (message, location) = split_position(&text);
    let location = location.unwrap_or(end);
    PieceError::Parse {
        message: message.to_owned(),
        line: location.line,
        column: location.column,
    }
}

/// Splits `"… at Line: 3, Column: 7"` into the message and the location.
fn split_position(text: &str) -> (&str, Option<Location>) {
    let Some(at) = text.rfind(" at Line: ") else {
        return (text, None);
    };
    let position = &text[at + " at Line: ".len()..];
    let mut numbers = position.split(", Column: ");
    let line = numbers.next().and_then(|n| n.trim().parse::<u64>().ok());
    let column = numbers.next().and_then(|n| n.trim().parse::<u64>().ok());
    match (line, column) {
        (Some(line), Some(column)) if line > 0 => (&text[..at], Some(Location::new(line, column))),
        _ => (&text[..at], None),
    }
}

/// `EXPLAIN`, `EXPLAIN ANALYZE`, `EXPLAIN QUERY PLAN`, `DESCRIBE`, …; `label` is the first
/// word.
fn explain_kind(statement: &Ast, mut kind: String) -> String {
    if walk::explain_executes(statement) {
        kind.push_str(" ANALYZE");
    } else if matches!(
        statement,
        Ast::Explain {
            query_plan: true,
            ..
        }
    ) {
        kind.push_str(" QUERY PLAN");
    }
    kind
}

/// Words skipped when naming what a CREATE / DROP / ALTER acts on.
const MODIFIERS: &[&str] = &[
    "OR",
    "REPLACE",
    "ALTER",
    "TEMP",
    "TEMPORARY",
    "UNIQUE",
    "GLOBAL",
    "LOCAL",
    "UNLOGGED",
    "IF",
    "NOT",
    "EXISTS",
    "TRUSTED",
    "PROCEDURAL",
    "EXTERNAL",
    "SECURE",
    "RECURSIVE",
    "TRANSIENT",
    "VOLATILE",
    "CONSTRAINT",
    "CONCURRENTLY",
    "ONLINE",
    "OFFLINE",
    "IGNORE",
    "DEFAULT",
];

/// Object words that need the next word too: `MATERIALIZED VIEW`, `VIRTUAL TABLE`, …
const TWO_WORD_OBJECTS: &[&str] = &[
    "MATERIALIZED",
    "VIRTUAL",
    "FOREIGN",
    "TEXT",
    "EVENT",
    "OPERATOR",
    "ACCESS",
];

/// A label from the statement's leading words: `CREATE TABLE`, `DROP INDEX`, `SHOW TABLES`,
/// `INSERT`, … Used where the tree does not give a better one.
pub(crate) fn token_kind(sig: &[&TokenWithSpan]) -> String {
    // `(SELECT …) …`: name the statement after its first word.
    let opening = sig
        .iter()
        .take_while(|t| matches!(t.token, Token::LParen))
        .count();
    let sig = &sig[opening..];
    let Some(first) = word_upper(sig.first().copied()) else {
        return "STATEMENT".to_owned();
    };
    let next = |at: usize| word_upper(sig.get(at).copied());
    match first.as_str() {
        "CREATE" | "DROP" | "ALTER" => {
            let mut at = 1;
            while next(at).is_some_and(|w| MODIFIERS.contains(&w.as_str())) {
                at += 1;
            }
            let Some(object) = next(at) else {
                return first;
            };
            let mut kind = format!("{first} {object}");
            if TWO_WORD_OBJECTS.contains(&object.as_str()) {
                if let Some(more) = next(at + 1) {
                    kind.push(' ');
                    kind.push_str(&more);
                }
            }
            kind
        }
        "SHOW" => {
            // `SHOW FULL PROCESSLIST`, `SHOW TABLE STATUS`: the words before any argument.
            let mut kind = first;
            for word in (1..4).map_while(next) {
                if ["FROM", "IN", "LIKE", "WHERE", "FOR", "LIMIT"].contains(&word.as_str()) {
                    break;
                }
                kind.push(' ');
                kind.push_str(&word);
            }
            kind
        }
        "COMMENT" | "RENAME" => match next(1) {
            Some(second) => format!("{first} {second}"),
            None => first,
        },
        _ => first,
    }
}

fn word_upper(token: Option<&TokenWithSpan>) -> Option<String> {
    match token.map(|t| &t.token) {
        Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_suffix_is_split() {
        let (message, location) =
            split_position("Expected: an SQL statement, found: DO at Line: 3, Column: 14");
        assert_eq!(message, "Expected: an SQL statement, found: DO");
        assert_eq!(location, Some(Location::new(3, 14)));
        assert_eq!(split_position("no position"), ("no position", None));
        assert_eq!(
            split_position("found EOF at Line: 0, Column: 0"),
            ("found EOF", None)
        );
    }
}
