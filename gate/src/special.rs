//! Narrow recognizers for statements agents use that sqlparser 0.63 does not parse (or parses
//! into a shape that hides their effect). Each accepts exactly the form it documents and
//! reports anything else as a parse error, so nothing unexpected is waved through.

use std::borrow::Cow;

use sqlparser::tokenizer::{Location, Token, TokenWithSpan};

use crate::classify::{PieceError, Verdict};
use crate::reasons;
use crate::{Dialect, Tier};

/// No-argument pragmas that only read. Anything else is refused: several no-argument pragmas
/// write (`optimize`, `wal_checkpoint`, `incremental_vacuum`, `shrink_memory`).
const READ_PRAGMAS: &[&str] = &[
    "analysis_limit",
    "application_id",
    "auto_vacuum",
    "automatic_index",
    "busy_timeout",
    "cache_size",
    "cache_spill",
    "case_sensitive_like",
    "cell_size_check",
    "checkpoint_fullfsync",
    "collation_list",
    "compile_options",
    "data_version",
    "database_list",
    "defer_foreign_keys",
    "encoding",
    "foreign_key_check",
    "foreign_key_list",
    "foreign_keys",
    "freelist_count",
    "fullfsync",
    "function_list",
    "hard_heap_limit",
    "ignore_check_constraints",
    "integrity_check",
    "journal_mode",
    "journal_size_limit",
    "legacy_alter_table",
    "locking_mode",
    "max_page_count",
    "mmap_size",
    "module_list",
    "page_count",
    "page_size",
    "pragma_list",
    "query_only",
    "quick_check",
    "read_uncommitted",
    "recursive_triggers",
    "reverse_unordered_selects",
    "schema_version",
    "secure_delete",
    "soft_heap_limit",
    "synchronous",
    "table_list",
    "temp_store",
    "threads",
    "trusted_schema",
    "user_version",
    "wal_autocheckpoint",
];

/// Pragmas whose single argument names what to read (a table, an index, a row limit), so the
/// call form `PRAGMA name(argument)` is a read. For every other pragma the call form sets it.
const READ_PRAGMAS_WITH_ARGUMENT: &[&str] = &[
    "foreign_key_check",
    "foreign_key_list",
    "index_info",
    "index_list",
    "index_xinfo",
    "integrity_check",
    "quick_check",
    "table_info",
    "table_list",
    "table_xinfo",
];

/// `PRAGMA [schema.]name`, `PRAGMA [schema.]name(argument)` (argument: one identifier, string
/// or signed number) and `PRAGMA [schema.]name = …` (always refused).
pub(crate) fn pragma(sig: &[&TokenWithSpan]) -> Result<Verdict, PieceError> {
    let kind = || "PRAGMA".to_owned();
    let mut at = 1;
    let mut name =
        word(sig.get(at).copied()).ok_or_else(|| unexpected(sig, at, "a pragma name"))?;
    at += 1;
    if sig.get(at).map(|t| &t.token) == Some(&Token::Period) {
        name = word(sig.get(at + 1).copied())
            .ok_or_else(|| unexpected(sig, at + 1, "a pragma name"))?;
        at += 2;
    }
    let read = |list: &[&str]| list.iter().any(|p| p.eq_ignore_ascii_case(name));
    match sig.get(at).map(|t| &t.token) {
        None => {
            if read(READ_PRAGMAS) {
                Ok(Verdict::new(kind(), Tier::Read))
            } else {
                Err(pragma_refused(name, "", reasons::PRAGMA_NOT_READ))
            }
        }
        Some(Token::Eq) => Err(pragma_refused(name, " = …", reasons::PRAGMA_SETTER)),
        Some(Token::LParen) => {
            at += 1;
            if matches!(
                sig.get(at).map(|t| &t.token),
                Some(Token::Minus | Token::Plus)
            ) {
                at += 1;
            }
            let argument_ok = matches!(
                sig.get(at).map(|t| &t.token),
                Some(
                    Token::Word(_)
                        | Token::Number(..)
                        | Token::SingleQuotedString(_)
                        | Token::DoubleQuotedString(_)
                )
            );
            if !argument_ok {
                return Err(unexpected(sig, at, "one pragma argument"));
            }
            if sig.get(at + 1).map(|t| &t.token) != Some(&Token::RParen) {
                return Err(unexpected(sig, at + 1, "`)`"));
            }
            if sig.len() > at + 2 {
                return Err(unexpected(sig, at + 2, "the end of the statement"));
            }
            if read(READ_PRAGMAS_WITH_ARGUMENT) {
                Ok(Verdict::new(kind(), Tier::Read))
            } else {
                Err(pragma_refused(name, "(…)", reasons::PRAGMA_SETTER))
            }
        }
        Some(_) => Err(unexpected(sig, at, "`(`, `=` or the end of the statement")),
    }
}

/// PostgreSQL `DO [LANGUAGE name] code` or `DO code [LANGUAGE name]`. The body is an opaque
/// string, so its effect is unknown: the highest tier.
pub(crate) fn do_block(sig: &[&TokenWithSpan], dialect: Dialect) -> Result<Verdict, PieceError> {
    match dialect {
        Dialect::PostgreSql => {}
        Dialect::MySql => return Err(refused("DO".to_owned(), reasons::MYSQL_DO)),
        _ => return Err(refused("DO".to_owned(), reasons::DO_ELSEWHERE)),
    }
    let is_language = |at: usize| {
        word(sig.get(at).copied()).is_some_and(|w| w.eq_ignore_ascii_case("language"))
            && word(sig.get(at + 1).copied()).is_some()
    };
    let is_code = |at: usize| {
        matches!(
            sig.get(at).map(|t| &t.token),
            Some(
                Token::SingleQuotedString(_)
                    | Token::DollarQuotedString(_)
                    | Token::EscapedStringLiteral(_)
                    | Token::UnicodeStringLiteral(_)
            )
        )
    };
    let well_formed = match sig.len() {
        2 => is_code(1),
        4 => (is_language(1) && is_code(3)) || (is_code(1) && is_language(2)),
        _ => false,
    };
    if well_formed {
        let mut verdict = Verdict::new("DO".to_owned(), Tier::Ddl);
        // Its body is code the gate cannot read; on a login that could escape through it,
        // the host refuses it.
        verdict.reach.opaque_code = true;
        Ok(verdict)
    } else {
        Err(unexpected(
            sig,
            sig.len().min(4),
            "DO [LANGUAGE name] 'code' with a string or dollar-quoted body",
        ))
    }
}

/// `VACUUM`, `REINDEX` and `CLUSTER` with names and options only (no expressions, so nothing
/// can hide inside). `VACUUM … INTO file` is refused.
pub(crate) fn maintenance(sig: &[&TokenWithSpan], label: &str) -> Result<Verdict, PieceError> {
    for (at, token) in sig.iter().enumerate().skip(1) {
        match &token.token {
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("into") => {
                return Err(refused(label.to_owned(), reasons::VACUUM_INTO));
            }
            Token::Word(_)
            | Token::Period
            | Token::Comma
            | Token::LParen
            | Token::RParen
            | Token::Number(..) => {}
            _ => return Err(unexpected(sig, at, "table names and options")),
        }
    }
    Ok(Verdict::new(label.to_owned(), Tier::Ddl))
}

/// A `SHOW …` that sqlparser does not parse (MySQL `SHOW INDEX FROM t`, `SHOW GRANTS FOR
/// 'u'@'h'`, …): allowed as a read when it holds only names, strings, numbers and `=`; with
/// parentheses (function calls, subqueries) it stays a parse error.
pub(crate) fn show(sig: &[&TokenWithSpan], kind: String) -> Option<Result<Verdict, PieceError>> {
    let simple = sig.iter().skip(1).all(|t| {
        matches!(
            t.token,
            Token::Word(_)
                | Token::Period
                | Token::Comma
                | Token::Number(..)
                | Token::SingleQuotedString(_)
                | Token::DoubleQuotedString(_)
                | Token::AtSign
                | Token::Eq
        )
    });
    if !simple {
        return None;
    }
    let words = sig.iter().skip(1).filter_map(|t| match &t.token {
        Token::Word(w) => Some(w.value.as_str()),
        _ => None,
    });
    Some(match reasons::show_refusal(words) {
        Some(reason) => Err(refused(kind, reason)),
        None => Ok(Verdict::new(kind, Tier::Read)),
    })
}

/// MySQL `SELECT … INTO OUTFILE | DUMPFILE | @variable`, anywhere in the statement (including
/// `(SELECT 1) INTO OUTFILE …`). sqlparser does not parse the file forms, so this is checked on
/// tokens. `OUTFILE` and `DUMPFILE` are reserved words, so an unquoted one after INTO is always
/// the clause.
pub(crate) fn mysql_select_into(sig: &[&TokenWithSpan]) -> Result<(), Cow<'static, str>> {
    for pair in sig.windows(2) {
        if !is_keyword(pair[0], "into") {
            continue;
        }
        let next = pair[1];
        if is_keyword(next, "outfile") || is_keyword(next, "dumpfile") {
            return Err(Cow::Borrowed(
                "SELECT … INTO OUTFILE/DUMPFILE writes a file on the database server",
            ));
        }
        let variable = match &next.token {
            Token::Word(w) => w.quote_style.is_none() && w.value.starts_with('@'),
            Token::AtSign | Token::AtAt => true,
            _ => false,
        };
        if variable {
            return Err(Cow::Borrowed(reasons::MYSQL_SELECT_INTO));
        }
    }
    Ok(())
}

/// Whether the statement ends with MySQL's `LOCK IN SHARE MODE` (which sqlparser does not
/// parse); returns the index in `sig` of `LOCK`.
pub(crate) fn trailing_lock_in_share_mode(sig: &[&TokenWithSpan]) -> Option<usize> {
    let n = sig.len();
    if n < 5 {
        return None;
    }
    let tail = &sig[n - 4..];
    let words = ["lock", "in", "share", "mode"];
    tail.iter()
        .zip(words)
        .all(|(t, w)| is_keyword(t, w))
        .then_some(n - 4)
}

/// An unquoted word equal to `keyword` (case-insensitive).
pub(crate) fn is_keyword(token: &TokenWithSpan, keyword: &str) -> bool {
    matches!(&token.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(keyword))
}

/// The text of a word token, quoted or not.
fn word(token: Option<&TokenWithSpan>) -> Option<&str> {
    match token.map(|t| &t.token) {
        Some(Token::Word(w)) => Some(w.value.as_str()),
        _ => None,
    }
}

fn pragma_refused(name: &str, form: &str, reason: &str) -> PieceError {
    PieceError::Refused {
        kind: "PRAGMA".to_owned(),
        reason: Cow::Owned(format!("PRAGMA {name}{form} {reason}")),
    }
}

fn refused(kind: String, reason: &'static str) -> PieceError {
    PieceError::Refused {
        kind,
        reason: Cow::Borrowed(reason),
    }
}

/// A parse error at `sig[at]`, or just after the last token when `at` is past the end.
fn unexpected(sig: &[&TokenWithSpan], at: usize, expected: &str) -> PieceError {
    let (location, found) = match sig.get(at) {
        Some(token) => (token.span.start, token.token.to_string()),
        None => (
            sig.last().map_or(Location::new(1, 1), |t| t.span.end),
            "the end of the statement".to_owned(),
        ),
    };
    PieceError::Parse {
        message: format!("expected {expected}, found {found}"),
        line: location.line,
        column: location.column,
    }
}
