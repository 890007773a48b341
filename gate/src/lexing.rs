//! The second reading of the input under the lexical features an engine's plugin declares
//! ([`Lexing`]). sqlparser lexes with its dialect; the engine may read strings and comments
//! differently (`E'\''`, backslash escapes, nested comments, dollar quotes). Where the two
//! readings put strings, quoted names or comments in different places, the statement
//! boundaries and the code the gate checks may not be what the engine runs: refused.

use sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace};

use crate::lex::location_of_byte;
use crate::policy::Lexing;
use crate::GateError;

const DISAGREE: &str = "the engine reads the strings, quoted names or comments of this input differently from the SQL parser (its plugin declares escape strings, backslash escapes, nested comments or dollar quotes), so the gate cannot be sure what it would run; write it without them";
const EXECUTABLE: &str = "the engine runs the text inside /*! … */ as SQL, so it cannot be treated as a comment; write the SQL without it";

/// A string, quoted name or comment: byte range, from its opening delimiter to its end.
type Region = (usize, usize);

/// Refuses `sql` when the engine's reading (by `lexing`) and sqlparser's (`tokens`, which
/// start at `offsets`) disagree on where strings, quoted names and comments are.
pub(crate) fn cross_check(
    sql: &str,
    tokens: &[TokenWithSpan],
    offsets: &[usize],
    lexing: &Lexing,
) -> Result<(), GateError> {
    let refuse = |byte: usize, reason: &str| {
        let statement = 1 + tokens
            .iter()
            .zip(offsets)
            .filter(|(token, &at)| at < byte && token.token == Token::SemiColon)
            .count();
        let location = location_of_byte(sql, byte.min(sql.len()));
        GateError::Refused {
            index: statement,
            kind: "STATEMENT".to_owned(),
            reason: reason.to_owned(),
            line: location.line,
            column: location.column,
        }
    };
    let engine = engine_regions(sql, lexing).map_err(|at| refuse(at, EXECUTABLE))?;
    let parser: Vec<Region> = tokens
        .iter()
        .enumerate()
        .filter(|(_, token)| is_opaque(&token.token))
        .filter_map(|(index, _)| Some((*offsets.get(index)?, *offsets.get(index + 1)?)))
        .collect();
    let mut ours = engine.iter();
    let mut theirs = parser.iter();
    loop {
        match (ours.next(), theirs.next()) {
            (None, None) => return Ok(()),
            (Some(&(start, end)), Some(&(their_start, their_end))) => {
                // sqlparser's token includes a string's prefix (`E`, `N`, `X`, `U&`); the
                // engine's region starts at the quote.
                let prefix_ok = start >= their_start
                    && start - their_start <= 3
                    && sql
                        .get(their_start..start)
                        .is_some_and(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'&'));
                if !prefix_ok || end != their_end {
                    return Err(refuse(start.min(their_start), DISAGREE));
                }
            }
            (Some(&(start, _)), None) | (None, Some(&(start, _))) => {
                return Err(refuse(start, DISAGREE))
            }
        }
    }
}

/// Whether sqlparser's token is a string, quoted name or comment.
fn is_opaque(token: &Token) -> bool {
    match token {
        Token::Word(word) => word.quote_style.is_some(),
        Token::Whitespace(space) => matches!(
            space,
            Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)
        ),
        Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::TripleSingleQuotedString(_)
        | Token::TripleDoubleQuotedString(_)
        | Token::DollarQuotedString(_)
        | Token::SingleQuotedByteStringLiteral(_)
        | Token::DoubleQuotedByteStringLiteral(_)
        | Token::TripleSingleQuotedByteStringLiteral(_)
        | Token::TripleDoubleQuotedByteStringLiteral(_)
        | Token::SingleQuotedRawStringLiteral(_)
        | Token::DoubleQuotedRawStringLiteral(_)
        | Token::TripleSingleQuotedRawStringLiteral(_)
        | Token::TripleDoubleQuotedRawStringLiteral(_)
        | Token::NationalStringLiteral(_)
        | Token::QuoteDelimitedStringLiteral(_)
        | Token::NationalQuoteDelimitedStringLiteral(_)
        | Token::EscapedStringLiteral(_)
        | Token::UnicodeStringLiteral(_)
        | Token::HexStringLiteral(_) => true,
        _ => false,
    }
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80
}

/// The engine's strings, quoted names and comments, in order. `Err(at)` for an executable
/// comment the engine would run.
fn engine_regions(sql: &str, lexing: &Lexing) -> Result<Vec<Region>, usize> {
    let bytes = sql.as_bytes();
    let mut regions = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        let next = bytes.get(at + 1).copied();
        let start = at;
        at = match byte {
            b'-' if next == Some(b'-') => line_end(bytes, at),
            b'#' if lexing.hash_comments => line_end(bytes, at),
            b'/' if next == Some(b'*') => {
                if lexing.executable_comments && bytes.get(at + 2) == Some(&b'!') {
                    return Err(at);
                }
                block_comment_end(bytes, at, lexing.nested_comments)
            }
            b'\'' => {
                // `E'…'` is an escape string when `E` is a word of its own.
                let escape_prefix = lexing.escape_strings
                    && at >= 1
                    && matches!(bytes[at - 1], b'e' | b'E')
                    && (at < 2 || !is_word_byte(bytes[at - 2]));
                quoted_end(bytes, at, b'\'', lexing.backslash_escapes || escape_prefix)
            }
            b'"' => quoted_end(bytes, at, b'"', lexing.backslash_escapes),
            b'`' if lexing.backtick_identifiers => quoted_end(bytes, at, b'`', false),
            b'$' if lexing.dollar_quotes && (at == 0 || !is_word_byte(bytes[at - 1])) => {
                match dollar_tag(bytes, at) {
                    Some(tag_end) => dollar_end(bytes, at, tag_end),
                    None => {
                        at += 1;
                        continue;
                    }
                }
            }
            _ if is_word_byte(byte) => {
                // A whole word, so a `$` or quote inside it is not an opener.
                let mut end = at;
                while end < bytes.len() && is_word_byte(bytes[end]) {
                    end += 1;
                }
                // Leave a quote right after the word to the next round (prefixes).
                at = end;
                continue;
            }
            _ => {
                at += 1;
                continue;
            }
        };
        regions.push((start, at));
    }
    Ok(regions)
}

/// Where a line comment ends: at the newline, which is not part of it (as sqlparser reads it).
fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |offset| from + offset)
}

fn block_comment_end(bytes: &[u8], from: usize, nested: bool) -> usize {
    let mut depth = 0usize;
    let mut at = from;
    while at + 1 < bytes.len() {
        if bytes[at] == b'/' && bytes[at + 1] == b'*' {
            if depth == 0 || nested {
                depth += 1;
            }
            at += 2;
        } else if bytes[at] == b'*' && bytes[at + 1] == b'/' {
            depth -= 1;
            at += 2;
            if depth == 0 {
                return at;
            }
        } else {
            at += 1;
        }
    }
    bytes.len()
}

/// The end of a quoted string or name opened by `quote` at `from` (a doubled quote stays
/// inside; with `backslash`, a backslash escapes the next byte).
fn quoted_end(bytes: &[u8], from: usize, quote: u8, backslash: bool) -> usize {
    let mut at = from + 1;
    while at < bytes.len() {
        let byte = bytes[at];
        if backslash && byte == b'\\' {
            at += 2;
        } else if byte == quote {
            if bytes.get(at + 1) == Some(&quote) {
                at += 2;
            } else {
                return at + 1;
            }
        } else {
            at += 1;
        }
    }
    bytes.len()
}

/// The end of the `$tag$` opener at `from`, if it is one.
fn dollar_tag(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from + 1;
    if bytes.get(at).is_some_and(|b| b.is_ascii_digit()) {
        return None; // `$1` is a placeholder
    }
    while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
        at += 1;
    }
    (bytes.get(at) == Some(&b'$')).then_some(at + 1)
}

fn dollar_end(bytes: &[u8], from: usize, tag_end: usize) -> usize {
    let tag = &bytes[from..tag_end];
    bytes[tag_end..]
        .windows(tag.len())
        .position(|window| window == tag)
        .map_or(bytes.len(), |offset| tag_end + offset + tag.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_under_each_feature() {
        let plain = Lexing::default();
        assert_eq!(
            engine_regions("SELECT 'a''b' -- c\n", &plain),
            Ok(vec![(7, 13), (14, 18)])
        );
        let escapes = Lexing {
            escape_strings: true,
            ..Lexing::default()
        };
        assert_eq!(engine_regions("E'\\'' x", &escapes), Ok(vec![(1, 5)]));
        // `e` inside a word is not a prefix.
        assert_eq!(
            engine_regions("xe'\\' '", &escapes),
            Ok(vec![(2, 5), (6, 7)])
        );
        let nested = Lexing {
            nested_comments: true,
            ..Lexing::default()
        };
        assert_eq!(engine_regions("/* /* */ */x", &nested), Ok(vec![(0, 11)]));
        assert_eq!(engine_regions("/* /* */ */x", &plain), Ok(vec![(0, 8)]));
        let dollars = Lexing {
            dollar_quotes: true,
            ..Lexing::default()
        };
        assert_eq!(engine_regions("$a$ ' $a$ $1", &dollars), Ok(vec![(0, 9)]));
        assert_eq!(engine_regions("x$$'y'", &dollars), Ok(vec![(3, 6)]));
    }
}
