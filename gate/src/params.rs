//! Counting the values a statement's placeholders take, from the dialect's own tokens: a `?`
//! inside a string, quoted identifier, comment or dollar-quoted body is a single token of
//! another kind, so it never counts. The rules are in the crate documentation.

use sqlparser::tokenizer::{Location, Token, TokenWithSpan};

use crate::lex::is_trivia;
use crate::{Dialect, GateError};

/// SQLite's default `SQLITE_MAX_VARIABLE_NUMBER` (since 3.32.0): the highest `?NNN`.
const SQLITE_MAX_NUMBER: u64 = 32_766;
/// The PostgreSQL wire protocol counts bound values in 16 bits.
const POSTGRES_MAX_NUMBER: u64 = 65_535;

const POSTGRES_STYLE: &str = "PostgreSQL placeholders are $1, $2, …";

/// What the gate learned about one statement's placeholders.
#[derive(Debug, Default)]
pub(crate) struct Placeholders {
    /// How many bound values the statement takes.
    pub count: usize,
    /// Bare `?` tokens in a dialect that lexes `?` as an operator (PostgreSQL's jsonb `?`).
    /// They are operators if the statement parses; a parse error at one means the author
    /// meant a placeholder, which deserves a better message than the parser's.
    question_marks: Vec<Location>,
    /// The statement's last significant token is such a `?`.
    ends_with_question_mark: bool,
}

impl Placeholders {
    /// The placeholder error to report instead of a parse error at `line`/`column`, when the
    /// parser stopped at a bare `?` (or at the end, right after one).
    pub(crate) fn misread_question_mark(
        &self,
        line: u64,
        column: u64,
        end: Location,
    ) -> Option<GateError> {
        let at = Location::new(line, column);
        let question_mark = if self.question_marks.contains(&at) {
            at
        } else if self.ends_with_question_mark && at == end {
            *self.question_marks.last()?
        } else {
            return None;
        };
        Some(error(
            format!("{POSTGRES_STYLE}; `?` is not one"),
            question_mark,
        ))
    }
}

/// Whether `sql` can hold a placeholder at all: every placeholder form, and every token the
/// rules look at, contains one of these bytes. Most statements have none, which skips the scan.
pub(crate) fn may_have_placeholders(sql: &str) -> bool {
    sql.bytes()
        .any(|b| matches!(b, b'?' | b'$' | b':' | b'@' | b'#'))
}

/// The placeholder styles, for the mixing rule and its message.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `?` and, in SQLite, `?NNN`.
    Question,
    /// `$1`, `$2`, …
    Dollar,
}

impl Style {
    fn example(self) -> &'static str {
        match self {
            Style::Question => "`?`",
            Style::Dollar => "`$1`",
        }
    }
}

/// Counts the placeholders of the statement made of `tokens`. `offsets[i]` is where
/// `tokens[i]` starts in `sql`, with one more entry for the end of the last token.
pub(crate) fn scan(
    tokens: &[TokenWithSpan],
    offsets: &[usize],
    sql: &str,
    dialect: Dialect,
) -> Result<Placeholders, GateError> {
    let mut scan = Scan {
        tokens,
        offsets,
        sql,
        dialect,
        style: None,
        positional: 0,
        numbered: Vec::new(),
        found: Placeholders::default(),
    };
    scan.run()?;
    scan.finish()
}

struct Scan<'a> {
    tokens: &'a [TokenWithSpan],
    offsets: &'a [usize],
    sql: &'a str,
    dialect: Dialect,
    /// The first style seen, and where.
    style: Option<(Style, usize)>,
    /// `?` count so far; in SQLite, the highest number assigned so far.
    positional: u64,
    /// `$N` placeholders: number and token index.
    numbered: Vec<(u64, usize)>,
    found: Placeholders,
}

impl Scan<'_> {
    fn run(&mut self) -> Result<(), GateError> {
        let mut bracket_depth = 0usize;
        let mut last_significant = None;
        for (index, with_span) in self.tokens.iter().enumerate() {
            let token = &with_span.token;
            if is_trivia(token) {
                continue;
            }
            last_significant = Some(token);
            match token {
                Token::LBracket => bracket_depth += 1,
                Token::RBracket => bracket_depth = bracket_depth.saturating_sub(1),
                _ => {}
            }
            match self.dialect {
                Dialect::Sqlite => self.sqlite(index)?,
                Dialect::PostgreSql => self.postgres(index, bracket_depth)?,
                Dialect::MySql => self.mysql(index)?,
                _ => self.other(index)?,
            }
        }
        self.found.ends_with_question_mark = matches!(last_significant, Some(Token::Question));
        Ok(())
    }

    /// SQLite: `?` takes the highest number so far plus one, `?NNN` takes NNN (which may be
    /// used several times), and the count is the highest number. SQLite reads any `:`, `@`,
    /// `$` or `#` outside quotes as the start of a named placeholder (or an error).
    fn sqlite(&mut self, index: usize) -> Result<(), GateError> {
        let token = &self.tokens[index].token;
        if let Token::Placeholder(text) = token {
            if let Some(digits) = text.strip_prefix('?') {
                self.set_style(Style::Question, index)?;
                if digits.is_empty() {
                    self.positional += 1;
                    return Ok(());
                }
                let number = ascii_number(digits).filter(|n| (1..=SQLITE_MAX_NUMBER).contains(n));
                let Some(number) = number else {
                    return Err(self.error(
                        format!(
                            "SQLite numbers placeholders ?1 to ?{SQLITE_MAX_NUMBER} (ASCII digits); `{}` is not one",
                            self.snippet(index)
                        ),
                        index,
                    ));
                };
                self.positional = self.positional.max(number);
                return Ok(());
            }
        }
        if is_opaque(token) {
            return Ok(());
        }
        let text = self.text(index);
        if text.bytes().any(|b| matches!(b, b':' | b'@' | b'$' | b'#')) {
            return Err(self.error(
                format!(
                    "SQLite named placeholders (`:name`, `@name`, `$name`) are not supported; use `?` or `?NNN` (found `{}`)",
                    self.snippet(index)
                ),
                index,
            ));
        }
        Ok(())
    }

    /// PostgreSQL: `$N`, counted as the highest N.
    fn postgres(&mut self, index: usize, bracket_depth: usize) -> Result<(), GateError> {
        match &self.tokens[index].token {
            Token::Placeholder(text) => match text.strip_prefix('$').and_then(ascii_number) {
                Some(0) => Err(self.error(
                    "PostgreSQL placeholders start at $1; `$0` is not one".to_owned(),
                    index,
                )),
                Some(number) if number <= POSTGRES_MAX_NUMBER => {
                    self.set_style(Style::Dollar, index)?;
                    self.numbered.push((number, index));
                    Ok(())
                }
                Some(_) => Err(self.error(
                    format!(
                        "PostgreSQL takes at most {POSTGRES_MAX_NUMBER} bound values; `{}` is out of range",
                        self.snippet(index)
                    ),
                    index,
                )),
                None => Err(self.error(
                    format!("{POSTGRES_STYLE}; `{}` is not one", self.snippet(index)),
                    index,
                )),
            },
            Token::DollarQuotedString(quoted)
                if quoted
                    .tag
                    .as_deref()
                    .is_some_and(|tag| tag.starts_with(|c: char| c.is_ascii_digit())) =>
            {
                // PostgreSQL's dollar-quote tags cannot start with a digit: it reads `$1$…` as
                // the placeholder `$1` followed by more text, where the parser saw a string.
                Err(self.error(
                    format!(
                        "PostgreSQL reads `{}` as a placeholder, not as the start of a dollar-quoted string (tags cannot start with a digit)",
                        self.snippet(index)
                    ),
                    index,
                ))
            }
            Token::Question => {
                // The jsonb operator, unless parsing says otherwise (see `misread_question_mark`).
                self.found
                    .question_marks
                    .push(self.tokens[index].span.start);
                Ok(())
            }
            Token::Colon if bracket_depth == 0 && self.named_colon(index) => Err(self.error(
                format!(
                    "{POSTGRES_STYLE}; named placeholders such as `{}` are not supported",
                    self.snippet(index)
                ),
                index,
            )),
            _ => Ok(()),
        }
    }

    /// MySQL: each `?` is one value.
    fn mysql(&mut self, index: usize) -> Result<(), GateError> {
        match &self.tokens[index].token {
            Token::Placeholder(text) if text == "?" => {
                self.set_style(Style::Question, index)?;
                self.positional += 1;
                Ok(())
            }
            Token::Placeholder(_) => Err(self.error(
                format!(
                    "MySQL placeholders are plain `?`; `{}` is not one",
                    self.snippet(index)
                ),
                index,
            )),
            // MySQL reads `$1` as a name; whoever wrote it meant a placeholder.
            Token::Word(word)
                if word.quote_style.is_none()
                    && word
                        .value
                        .strip_prefix('$')
                        .and_then(ascii_number)
                        .is_some() =>
            {
                Err(self.error(
                    format!(
                        "MySQL placeholders are `?`; `{}` is not one (MySQL reads it as a name)",
                        word.value
                    ),
                    index,
                ))
            }
            Token::Colon if self.named_colon(index) => Err(self.error(
                format!(
                    "MySQL placeholders are `?`; named placeholders such as `{}` are not supported",
                    self.snippet(index)
                ),
                index,
            )),
            _ => Ok(()),
        }
    }

    /// Other dialects: `?` (one value each) or `$N` (the highest N), not both.
    fn other(&mut self, index: usize) -> Result<(), GateError> {
        match &self.tokens[index].token {
            Token::Placeholder(text) if text == "?" => {
                self.set_style(Style::Question, index)?;
                self.positional += 1;
                Ok(())
            }
            Token::Placeholder(text) => match text.strip_prefix('$').and_then(ascii_number) {
                Some(number) if (1..=POSTGRES_MAX_NUMBER).contains(&number) => {
                    self.set_style(Style::Dollar, index)?;
                    self.numbered.push((number, index));
                    Ok(())
                }
                _ => Err(self.unsupported(index)),
            },
            Token::Question => {
                self.found
                    .question_marks
                    .push(self.tokens[index].span.start);
                Ok(())
            }
            Token::Colon if self.named_colon(index) => Err(self.unsupported(index)),
            _ => Ok(()),
        }
    }

    fn unsupported(&self, index: usize) -> GateError {
        self.error(
            format!(
                "placeholders are `?` or $1, $2, …; `{}` is not one",
                self.snippet(index)
            ),
            index,
        )
    }

    /// Records the style of a placeholder; a second style is refused.
    fn set_style(&mut self, style: Style, index: usize) -> Result<(), GateError> {
        match self.style {
            None => {
                self.style = Some((style, index));
                Ok(())
            }
            Some((first, _)) if first == style => Ok(()),
            Some((first, _)) => Err(self.error(
                format!(
                    "the statement mixes {} and {} placeholders; use one style",
                    first.example(),
                    style.example()
                ),
                index,
            )),
        }
    }

    /// A `:` directly followed by a name or number (`:id`, `:1`, psql's `:"v"`), and
    /// not directly after a name (a MySQL label `done:`): the shape of a named placeholder.
    fn named_colon(&self, index: usize) -> bool {
        let adjacent = |at: Option<usize>| at.and_then(|at| self.tokens.get(at)).map(|t| &t.token);
        let next = matches!(
            adjacent(index.checked_add(1)),
            Some(Token::Word(_) | Token::Number(..))
        );
        let after_name = matches!(adjacent(index.checked_sub(1)), Some(Token::Word(_)));
        next && !after_name
    }

    fn finish(mut self) -> Result<Placeholders, GateError> {
        let count = if self.numbered.is_empty() {
            self.positional
        } else {
            // PostgreSQL infers each placeholder's type from where it is used, so a number the
            // statement skips has no type and the statement fails at the server.
            self.numbered.sort_unstable();
            let mut expected = 1;
            for &(number, index) in &self.numbered {
                if number > expected {
                    return Err(self.error(
                        format!(
                            "`{}` is used but ${expected} is not: PostgreSQL cannot infer the type of a placeholder the statement does not use; number them $1, $2, … without gaps",
                            self.snippet(index)
                        ),
                        index,
                    ));
                }
                expected = number + 1;
            }
            expected - 1
        };
        // Bounded by the range checks above (numbers) or by the input length (`?` tokens).
        self.found.count = usize::try_from(count).unwrap_or(usize::MAX);
        Ok(self.found)
    }

    fn text(&self, index: usize) -> &str {
        &self.sql[self.offsets[index]..self.offsets[index + 1]]
    }

    /// The placeholder as written, for messages: the token, or from its start to the next
    /// space or punctuation; at most 24 characters.
    fn snippet(&self, index: usize) -> &str {
        if let Token::Placeholder(_) | Token::DollarQuotedString(_) = self.tokens[index].token {
            if self.text(index).chars().count() <= 24 {
                return self.text(index);
            }
        }
        let rest = &self.sql[self.offsets[index]..];
        let end = rest
            .char_indices()
            .enumerate()
            .find(|&(n, (at, c))| {
                n == 24
                    || (at > 0
                        && (c.is_whitespace() || matches!(c, ',' | '(' | ')' | ';' | '\'' | '"')))
            })
            .map_or(rest.len(), |(_, (at, _))| at);
        &rest[..end]
    }

    fn error(&self, message: String, index: usize) -> GateError {
        error(message, self.tokens[index].span.start)
    }
}

fn error(message: String, at: Location) -> GateError {
    GateError::Parameters {
        message,
        line: at.line,
        column: at.column,
    }
}

/// A number made only of ASCII digits (the tokenizer also accepts other Unicode digits after
/// `?`); `None` if empty, not ASCII digits, or too large.
fn ascii_number(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Tokens whose text is data, not code: strings, quoted identifiers, comments.
fn is_opaque(token: &Token) -> bool {
    match token {
        Token::Word(word) => word.quote_style.is_some(),
        Token::Whitespace(_)
        | Token::SingleQuotedString(_)
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
