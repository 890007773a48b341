//! Lexing the whole input once, mapping tokens back to the source text, and the lexical rules
//! that must hold before anything is parsed.

use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer, Whitespace};

use crate::{buffers, Dialect, GateError};

/// The input's tokens and where each one starts in the source.
pub(crate) struct Lexed {
    /// Every token, whitespace and comments included.
    pub tokens: Vec<TokenWithSpan>,
    /// The byte offset at which each token starts, plus a final entry: the input's length.
    pub offsets: Vec<usize>,
}

/// A lexical reason to stop. `Refused` is tied to a token so the caller can say which
/// statement it belongs to.
#[derive(Debug)]
pub(crate) enum LexError {
    /// Not lexable, or the tokenizer and the source disagree.
    Parse(GateError),
    /// A lexical shape that is never allowed.
    Refused {
        /// 1-based index of the statement the offending text is in.
        statement: usize,
        /// Statement label for the message.
        kind: &'static str,
        /// Why.
        reason: &'static str,
        /// Where the offending text starts.
        location: Location,
    },
}

const EXECUTABLE_COMMENT: &str = "EXECUTABLE COMMENT";
const EXECUTABLE_COMMENT_REASON: &str =
    "MySQL and MariaDB run the text inside /*! … */ and /*M! … */ as SQL, so it cannot be treated as a comment; write the SQL without it";
const AT_IN_WORD: &str = "VARIABLE";
const AT_IN_WORD_REASON: &str =
    "`@` right after a word starts a user variable in MySQL (`INTO@v` assigns @v); put a space \
     or quote the name";
const DOUBLE_DASH: &str = "COMMENT";
const DOUBLE_DASH_REASON: &str =
    "MySQL treats `--` as a comment only when a space, tab or newline follows it; write `- -` for two minus signs or put a space after `--`";

const OPTIMIZER_HINT: &str = "OPTIMIZER HINT";
const SET_VAR_REASON: &str =
    "a SET_VAR hint changes session variables for the statement; session settings are owned by Plenum";

/// Tokenizes `sql` with the dialect's own lexer and checks the lexical rules.
pub(crate) fn lex(sql: &str, dialect: Dialect) -> Result<Lexed, LexError> {
    // Engines disagree on NUL: SQLite stops reading at it, PostgreSQL rejects it, MySQL's
    // comment scanner stops at it. No engine needs it in SQL text.
    if let Some(byte) = sql.find('\0') {
        let location = location_of_byte(sql, byte);
        return Err(LexError::Parse(GateError::Parse {
            message: "the input contains a NUL character".to_owned(),
            line: location.line,
            column: location.column,
        }));
    }
    let parser_dialect = dialect.parser_dialect();
    // Typical SQL has a token (words and the spaces between them count) every 3 to 4 bytes;
    // reserving that up front saves growing the vector several times. Capped so a huge input
    // does not reserve far more than it may need.
    let mut tokens = buffers::take((sql.len() / 3 + 8).min(1 << 14));
    Tokenizer::new(parser_dialect, sql)
        .tokenize_with_location_into_buf(&mut tokens)
        .map_err(|e| {
            LexError::Parse(GateError::Parse {
                message: e.message,
                line: e.location.line,
                column: e.location.column,
            })
        })?;
    let hints_expand = parser_dialect.supports_multiline_comment_hints();
    let mysql_rules = dialect == Dialect::MySql;
    let offsets = map_offsets(sql, &tokens, hints_expand, mysql_rules)?;
    Ok(Lexed { tokens, offsets })
}

/// Walks the source alongside the tokens. The tokenizer's spans are contiguous (each token
/// starts where the previous one ended) except where it expanded a `/*! … */` hint into
/// tokens that are not in the source: that gap or overlap is how such hints are detected.
fn map_offsets(
    sql: &str,
    tokens: &[TokenWithSpan],
    hints_expand: bool,
    mysql_rules: bool,
) -> Result<Vec<usize>, LexError> {
    let mut offsets = Vec::with_capacity(tokens.len() + 1);
    let mut chars = sql.chars();
    let mut byte = 0usize;
    let mut here = Location::new(1, 1);
    // Statement numbering for messages: non-empty `;`-separated pieces seen so far.
    let mut finished_statements = 0usize;
    let mut in_statement = false;
    for token in tokens {
        let statement = finished_statements + 1;
        let refuse = |kind, reason, location| LexError::Refused {
            statement,
            kind,
            reason,
            location,
        };
        match token.token {
            Token::SemiColon => {
                finished_statements += usize::from(in_statement);
                in_statement = false;
            }
            Token::Whitespace(_) => {}
            _ => in_statement = true,
        }
        let is_comment = matches!(
            token.token,
            Token::Whitespace(Whitespace::MultiLineComment(_))
        );
        if token.span.start != here
            || (hints_expand && !is_comment && sql[byte..].starts_with("/*"))
        {
            return Err(if hints_expand {
                refuse(EXECUTABLE_COMMENT, EXECUTABLE_COMMENT_REASON, here)
            } else {
                position_mismatch(here)
            });
        }
        if matches!(token.token, Token::Whitespace(Whitespace::Space))
            && !sql[byte..].starts_with(' ')
        {
            // sqlparser treats every Unicode space (and \v, \f) as whitespace; engines treat
            // most of them as identifier characters or errors. Refuse to guess.
            let c = sql[byte..].chars().next().unwrap_or(' ');
            return Err(LexError::Parse(GateError::Parse {
                message: format!(
                    "the character U+{:04X} is not a plain space; engines disagree on whether it separates words",
                    u32::from(c)
                ),
                line: here.line,
                column: here.column,
            }));
        }
        if mysql_rules {
            check_mysql_token(&token.token, sql, byte)
                .map_err(|(kind, reason)| refuse(kind, reason, here))?;
        }
        offsets.push(byte);
        let end = token.span.end;
        // Fast path: a token on one line whose bytes are ASCII spans one byte per column.
        if end.line == here.line && end.column >= here.column {
            let width = (end.column - here.column) as usize;
            if sql
                .as_bytes()
                .get(byte..byte + width)
                .is_some_and(|bytes| bytes.is_ascii() && !bytes.contains(&b'\n'))
            {
                byte += width;
                here = end;
                if width > 0 {
                    // Keep the char iterator in step with `byte`.
                    chars = sql[byte..].chars();
                }
            }
        }
        while here != end {
            let past_end =
                here.line > end.line || (here.line == end.line && here.column > end.column);
            let Some(c) = chars.next().filter(|_| !past_end) else {
                return Err(if hints_expand {
                    refuse(
                        EXECUTABLE_COMMENT,
                        EXECUTABLE_COMMENT_REASON,
                        token.span.start,
                    )
                } else {
                    position_mismatch(here)
                });
            };
            byte += c.len_utf8();
            if c == '\n' {
                here.line += 1;
                here.column = 1;
            } else {
                here.column += 1;
            }
        }
    }
    if byte != sql.len() {
        // Text after the last token: only an expanded hint that produced no tokens leaves it.
        return Err(if hints_expand {
            LexError::Refused {
                statement: finished_statements + 1,
                kind: EXECUTABLE_COMMENT,
                reason: EXECUTABLE_COMMENT_REASON,
                location: here,
            }
        } else {
            position_mismatch(here)
        });
    }
    offsets.push(sql.len());
    Ok(offsets)
}

/// MySQL-only lexical rules for one token starting at `byte`.
fn check_mysql_token(
    token: &Token,
    sql: &str,
    byte: usize,
) -> Result<(), (&'static str, &'static str)> {
    match token {
        Token::Whitespace(Whitespace::MultiLineComment(text)) if text.starts_with("M!") => {
            Err((EXECUTABLE_COMMENT, EXECUTABLE_COMMENT_REASON))
        }
        Token::Whitespace(Whitespace::SingleLineComment { prefix, comment }) if prefix == "--" => {
            // sqlparser accepts any Unicode whitespace after `--`; MySQL only ASCII space and
            // control characters. A disagreement would hide SQL from the gate.
            // An empty comment text means a newline came right after `--`.
            match comment.chars().next() {
                None => Ok(()),
                Some(c) if c.is_ascii_whitespace() || c.is_ascii_control() => Ok(()),
                Some(_) => Err((DOUBLE_DASH, DOUBLE_DASH_REASON)),
            }
        }
        Token::Minus if sql[byte..].starts_with("--") => Err((DOUBLE_DASH, DOUBLE_DASH_REASON)),
        // sqlparser's MySQL dialect lets `@` continue a word, so `INTO@y` is one word to it
        // where MySQL reads `INTO @y` (a variable assignment). MySQL names never hold `@`
        // unquoted.
        Token::Word(word)
            if word.quote_style.is_none() && word.value.trim_start_matches('@').contains('@') =>
        {
            Err((AT_IN_WORD, AT_IN_WORD_REASON))
        }
        Token::Whitespace(Whitespace::MultiLineComment(text))
            if text.starts_with('+') && text.to_ascii_lowercase().contains("set_var") =>
        {
            Err((OPTIMIZER_HINT, SET_VAR_REASON))
        }
        _ => Ok(()),
    }
}

fn position_mismatch(here: Location) -> LexError {
    LexError::Parse(GateError::Parse {
        message: "the tokenizer's positions do not match the input".to_owned(),
        line: here.line,
        column: here.column,
    })
}

/// Line and column (1-based, columns in characters) of a byte offset, as sqlparser counts them.
pub(crate) fn location_of_byte(sql: &str, byte: usize) -> Location {
    let mut location = Location::new(1, 1);
    for c in sql[..byte].chars() {
        if c == '\n' {
            location.line += 1;
            location.column = 1;
        } else {
            location.column += 1;
        }
    }
    location
}

/// Whether a token is whitespace or a comment.
pub(crate) fn is_trivia(token: &Token) -> bool {
    matches!(token, Token::Whitespace(_))
}
