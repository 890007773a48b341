//! Classifying one statement: leading-keyword refusals, the narrow recognizers, then the real
//! parser and the tree walk.

use std::borrow::Cow;

use sqlparser::ast::Statement as Ast;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan};

use crate::lex::is_trivia;
use crate::special::{self, is_keyword};
use crate::{reasons, walk, Dialect, Tier};

/// sqlparser's own default; deep enough for real queries (it counts nested subqueries,
/// parentheses and prefix operators), shallow enough to stop `((((…))))` early.
const RECURSION_LIMIT: usize = 50;

/// The verdict for one statement.
#[derive(Debug)]
pub(crate) struct Verdict {
    pub kind: String,
    pub tier: Tier,
    /// The statement's grammar legitimately contains semicolons (trigger, function and
    /// procedure bodies), so it may be assembled from several `;`-separated pieces.
    pub may_span_semicolons: bool,
}

impl Verdict {
    pub(crate) fn new(kind: String, tier: Tier) -> Self {
        Verdict {
            kind,
            tier,
            may_span_semicolons: false,
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

/// Classifies the statement made of `tokens` (no top-level `;` unless several pieces were
/// merged). `end` is where the statement ends, used for errors at its end. `tokens` must hold
/// at least one significant token.
pub(crate) fn classify_piece(
    tokens: &[TokenWithSpan],
    end: Location,
    dialect: Dialect,
) -> Result<Verdict, PieceError> {
    let sig: Vec<&TokenWithSpan> = tokens.iter().filter(|t| !is_trivia(&t.token)).collect();
    let Some(first) = sig.first() else {
        return Err(PieceError::Parse {
            message: "empty statement".to_owned(),
            line: end.line,
            column: end.column,
        });
    };
    let first_word = match &first.token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.as_str()),
        _ => None,
    };
    if let Some(first_word) = first_word {
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
        let upper = first_word.to_ascii_uppercase();
        match upper.as_str() {
            "PRAGMA" => return special::pragma(&sig),
            "DO" => return special::do_block(&sig, dialect),
            "VACUUM" | "REINDEX" | "CLUSTER" => return special::maintenance(&sig, &upper),
            _ => {}
        }
    }
    if dialect.has_mysql_select_into() {
        special::mysql_select_into(&sig).map_err(|reason| PieceError::Refused {
            kind: token_kind(&sig),
            reason,
        })?;
    }

    let mut extra_tier = Tier::Read;
    let mut table_statement = false;
    let to_parse: Vec<TokenWithSpan> = if is_keyword(first, "table") {
        // `TABLE t` is `SELECT * FROM t` (PostgreSQL, MySQL 8); sqlparser only accepts it
        // inside a query, so the same tokens are parsed behind a synthetic prefix.
        table_statement = true;
        let span = first.span;
        let mut rewritten = vec![
            TokenWithSpan::new(Token::make_keyword("SELECT"), span),
            TokenWithSpan::new(Token::Mul, span),
            TokenWithSpan::new(Token::make_keyword("FROM"), span),
        ];
        let after_table = tokens
            .iter()
            .position(|t| std::ptr::eq(t, *first))
            .map_or(tokens.len(), |at| at + 1);
        rewritten.extend_from_slice(&tokens[after_table..]);
        rewritten
    } else if let Some(lock_at) = matches!(dialect, Dialect::MySql | Dialect::Generic)
        .then(|| special::trailing_lock_in_share_mode(&sig))
        .flatten()
    {
        // MySQL's old spelling of FOR SHARE: a row lock, so the write tier, like FOR UPDATE.
        extra_tier = Tier::Write;
        let lock_token = sig[lock_at];
        let cut = tokens
            .iter()
            .position(|t| std::ptr::eq(t, lock_token))
            .unwrap_or(tokens.len());
        tokens[..cut].to_vec()
    } else if matches!(dialect, Dialect::PostgreSql | Dialect::Generic) {
        postgres_key_locks(tokens)
    } else {
        tokens.to_vec()
    };

    let statement = match parse_one(to_parse, end, dialect) {
        Ok(statement) => statement,
        Err(error) => {
            if is_keyword(first, "show") {
                if let Some(verdict) = special::show(&sig, token_kind(&sig)) {
                    return verdict;
                }
            }
            return Err(error);
        }
    };
    let kind = match &statement {
        _ if table_statement => "TABLE".to_owned(),
        Ast::Query(query) => walk::query_kind(query),
        Ast::Explain { .. } => explain_kind(&statement, &sig),
        _ => token_kind(&sig),
    };
    let tier = walk::statement_tier(&statement, dialect).map_err(|reason| PieceError::Refused {
        kind: kind.clone(),
        reason,
    })?;
    Ok(Verdict {
        kind,
        tier: tier.max(extra_tier),
        may_span_semicolons: matches!(
            statement,
            Ast::CreateTrigger(_) | Ast::CreateFunction(_) | Ast::CreateProcedure { .. }
        ),
    })
}

/// PostgreSQL's `FOR NO KEY UPDATE` and `FOR KEY SHARE` are row locks like `FOR UPDATE` and
/// `FOR SHARE` (same tier), but sqlparser 0.63 only knows the latter: drop the `NO` / `KEY`
/// words after an unquoted `FOR` so the statement parses with the equivalent lock.
fn postgres_key_locks(tokens: &[TokenWithSpan]) -> Vec<TokenWithSpan> {
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    let mut previous_significant: Option<&TokenWithSpan> = None;
    let mut iter = tokens.iter().enumerate();
    while let Some((at, token)) = iter.next() {
        let after_for = previous_significant.is_some_and(|p| is_keyword(p, "for"));
        if after_for && (is_keyword(token, "no") || is_keyword(token, "key")) {
            let rest: Vec<&TokenWithSpan> = tokens[at..]
                .iter()
                .filter(|t| !is_trivia(&t.token))
                .take(3)
                .collect();
            let skip = match rest.as_slice() {
                [no, key, update, ..]
                    if is_keyword(no, "no")
                        && is_keyword(key, "key")
                        && is_keyword(update, "update") =>
                {
                    2
                }
                [key, share, ..] if is_keyword(key, "key") && is_keyword(share, "share") => 1,
                _ => 0,
            };
            if skip > 0 {
                // Drop `skip` significant tokens (and the trivia between them).
                let mut dropped = 0;
                let mut current = Some((at, token));
                while let Some((_, t)) = current {
                    if !is_trivia(&t.token) {
                        dropped += 1;
                        if dropped == skip {
                            break;
                        }
                    }
                    current = iter.next();
                }
                continue;
            }
        }
        if !is_trivia(&token.token) {
            previous_significant = Some(token);
        }
        out.push(token.clone());
    }
    out
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
    let statement = parser.parse_statement().map_err(|e| parse_error(e, end))?;
    let next = parser.peek_token_ref();
    if next.token != Token::EOF {
        return Err(PieceError::Parse {
            message: format!("expected the end of the statement, found {}", next.token),
            line: next.span.start.line,
            column: next.span.start.column,
        });
    }
    Ok(statement)
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

/// `EXPLAIN`, `EXPLAIN ANALYZE`, `EXPLAIN QUERY PLAN`, `DESCRIBE`, …
fn explain_kind(statement: &Ast, sig: &[&TokenWithSpan]) -> String {
    let mut kind = word_upper(sig.first().copied()).unwrap_or_else(|| "EXPLAIN".to_owned());
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
    "USER",
];

/// A label from the statement's leading words: `CREATE TABLE`, `DROP INDEX`, `SHOW TABLES`,
/// `INSERT`, … Used where the tree does not give a better one.
pub(crate) fn token_kind(sig: &[&TokenWithSpan]) -> String {
    // `(SELECT …) …`: name the statement after its first word.
    let opening = sig.iter().take_while(|t| t.token == Token::LParen).count();
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
