//! The SQL subset minidb understands, parsed from exactly one statement.
//!
//! ```text
//! CREATE TABLE t (a INTEGER, b TEXT, …)       DROP TABLE t
//! INSERT INTO t [(a, b)] VALUES (1, 'x'), (?, NULL)
//! UPDATE t SET a = 1, b = ?                   (every row)
//! DELETE FROM t
//! SELECT * | count(*) | a, b FROM t
//! SELECT 1, 'x', 2.5, NULL, ?, sleep(ms)      (no FROM: one row of values)
//! ```
//!
//! A real engine leaves parsing to its database. What matters for a plugin is the rule at the
//! end of [`parse`]: text after the statement is an error, never a second statement.

use plenum_plugin_api::{AccessMode, PluginError, PluginResult, Value};

/// A value in the statement: a literal, a bound parameter or `sleep(ms)`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal.
    Literal(Value),
    /// The n-th `?` (from 0).
    Param(usize),
    /// `sleep(ms)`: waits, then yields NULL. Stops early when the statement is cancelled.
    Sleep(u64),
}

/// One item of a select list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`
    Star,
    /// `count(*)`
    Count,
    /// A column of the table.
    Column(String),
    /// A value (only without `FROM`).
    Expr(Expr),
}

/// One parsed statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `CREATE TABLE`: name and (column, type) pairs.
    CreateTable(String, Vec<(String, String)>),
    /// `DROP TABLE`.
    DropTable(String),
    /// `INSERT`: table, optional column list, rows of values.
    Insert(String, Option<Vec<String>>, Vec<Vec<Expr>>),
    /// `UPDATE … SET`: table and (column, value) pairs, applied to every row.
    Update(String, Vec<(String, Expr)>),
    /// `DELETE FROM`: every row.
    Delete(String),
    /// `SELECT`: items and the optional table.
    Select(Vec<SelectItem>, Option<String>),
}

impl Statement {
    /// The least access mode that may run the statement: the engine's own backstop, so a
    /// write sent to a read session fails here even if the host's gate were wrong.
    pub fn needs(&self) -> AccessMode {
        match self {
            Statement::Select(..) => AccessMode::Read,
            Statement::Insert(..) | Statement::Update(..) | Statement::Delete(..) => {
                AccessMode::Write
            }
            Statement::CreateTable(..) | Statement::DropTable(..) => AccessMode::Ddl,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Number(String),
    Text(String),
    Symbol(char),
}

fn syntax(message: impl Into<String>) -> PluginError {
    PluginError::query(format!("syntax error: {}", message.into())).with_sqlstate("42601")
}

fn tokenize(sql: &str) -> PluginResult<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_alphabetic() || c == '_' {
            let mut word = String::new();
            while let Some(&c) = chars
                .peek()
                .filter(|c| c.is_ascii_alphanumeric() || **c == '_')
            {
                word.push(c);
                chars.next();
            }
            tokens.push(Token::Word(word));
        } else if c.is_ascii_digit() {
            let mut number = String::new();
            while let Some(&c) = chars.peek().filter(|c| c.is_ascii_digit() || **c == '.') {
                number.push(c);
                chars.next();
            }
            tokens.push(Token::Number(number));
        } else if c == '\'' {
            chars.next();
            let mut text = String::new();
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        text.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => text.push(c),
                    None => return Err(syntax("unterminated string")),
                }
            }
            tokens.push(Token::Text(text));
        } else if "(),*?;-=".contains(c) {
            tokens.push(Token::Symbol(c));
            chars.next();
        } else {
            return Err(syntax(format!("unexpected character '{c}'")));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    params: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn keyword(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(Token::Word(found)) if found.eq_ignore_ascii_case(word) => {
                self.position += 1;
                true
            }
            _ => false,
        }
    }

    fn expect_keyword(&mut self, word: &str) -> PluginResult<()> {
        if self.keyword(word) {
            Ok(())
        } else {
            Err(syntax(format!("expected {word}")))
        }
    }

    fn symbol(&mut self, symbol: char) -> bool {
        if self.peek() == Some(&Token::Symbol(symbol)) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn expect_symbol(&mut self, symbol: char) -> PluginResult<()> {
        if self.symbol(symbol) {
            Ok(())
        } else {
            Err(syntax(format!("expected '{symbol}'")))
        }
    }

    fn name(&mut self) -> PluginResult<String> {
        match self.next() {
            Some(Token::Word(word)) => Ok(word.to_ascii_lowercase()),
            _ => Err(syntax("expected a name")),
        }
    }

    fn names(&mut self) -> PluginResult<Vec<String>> {
        self.expect_symbol('(')?;
        let mut names = vec![self.name()?];
        while self.symbol(',') {
            names.push(self.name()?);
        }
        self.expect_symbol(')')?;
        Ok(names)
    }

    fn expr(&mut self) -> PluginResult<Expr> {
        let negative = self.symbol('-');
        let expr = match self.next() {
            Some(Token::Number(text)) => {
                let text = if negative { format!("-{text}") } else { text };
                if text.contains('.') {
                    text.parse()
                        .map(Value::Float)
                        .map(Expr::Literal)
                        .map_err(|_| syntax(format!("bad number {text}")))?
                } else {
                    text.parse()
                        .map(Value::Int)
                        .map(Expr::Literal)
                        .map_err(|_| syntax(format!("integer out of range: {text}")))?
                }
            }
            _ if negative => return Err(syntax("expected a number after '-'")),
            Some(Token::Text(text)) => Expr::Literal(Value::Text(text.into())),
            Some(Token::Symbol('?')) => {
                self.params += 1;
                Expr::Param(self.params - 1)
            }
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("null") => {
                Expr::Literal(Value::Null)
            }
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("sleep") => {
                self.expect_symbol('(')?;
                let millis = match self.next() {
                    Some(Token::Number(text)) => text
                        .parse()
                        .map_err(|_| syntax("sleep takes milliseconds"))?,
                    _ => return Err(syntax("sleep takes milliseconds")),
                };
                self.expect_symbol(')')?;
                Expr::Sleep(millis)
            }
            _ => return Err(syntax("expected a value")),
        };
        Ok(expr)
    }

    fn select_item(&mut self) -> PluginResult<SelectItem> {
        if self.symbol('*') {
            return Ok(SelectItem::Star);
        }
        let count = matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case("count"))
            && self.tokens.get(self.position + 1) == Some(&Token::Symbol('('));
        if count {
            self.position += 2;
            self.expect_symbol('*')?;
            self.expect_symbol(')')?;
            return Ok(SelectItem::Count);
        }
        match self.peek() {
            Some(Token::Word(word))
                if !["null", "sleep"].contains(&word.to_ascii_lowercase().as_str()) =>
            {
                Ok(SelectItem::Column(self.name()?))
            }
            _ => Ok(SelectItem::Expr(self.expr()?)),
        }
    }

    fn statement(&mut self) -> PluginResult<Statement> {
        if self.keyword("create") {
            self.expect_keyword("table")?;
            let table = self.name()?;
            self.expect_symbol('(')?;
            let mut columns = Vec::new();
            loop {
                let column = self.name()?;
                let type_name = match self.peek() {
                    Some(Token::Word(_)) => self.name()?.to_ascii_uppercase(),
                    _ => String::new(),
                };
                columns.push((column, type_name));
                if !self.symbol(',') {
                    break;
                }
            }
            self.expect_symbol(')')?;
            Ok(Statement::CreateTable(table, columns))
        } else if self.keyword("drop") {
            self.expect_keyword("table")?;
            Ok(Statement::DropTable(self.name()?))
        } else if self.keyword("insert") {
            self.expect_keyword("into")?;
            let table = self.name()?;
            let columns = if self.peek() == Some(&Token::Symbol('(')) {
                Some(self.names()?)
            } else {
                None
            };
            self.expect_keyword("values")?;
            let mut rows = Vec::new();
            loop {
                self.expect_symbol('(')?;
                let mut row = vec![self.expr()?];
                while self.symbol(',') {
                    row.push(self.expr()?);
                }
                self.expect_symbol(')')?;
                rows.push(row);
                if !self.symbol(',') {
                    break;
                }
            }
            Ok(Statement::Insert(table, columns, rows))
        } else if self.keyword("update") {
            let table = self.name()?;
            self.expect_keyword("set")?;
            let mut assignments = Vec::new();
            loop {
                let column = self.name()?;
                self.expect_symbol('=')?;
                assignments.push((column, self.expr()?));
                if !self.symbol(',') {
                    break;
                }
            }
            Ok(Statement::Update(table, assignments))
        } else if self.keyword("delete") {
            self.expect_keyword("from")?;
            Ok(Statement::Delete(self.name()?))
        } else if self.keyword("select") {
            let mut items = vec![self.select_item()?];
            while self.symbol(',') {
                items.push(self.select_item()?);
            }
            let from = if self.keyword("from") {
                Some(self.name()?)
            } else {
                None
            };
            Ok(Statement::Select(items, from))
        } else {
            Err(syntax(
                "expected CREATE, DROP, INSERT, UPDATE, DELETE or SELECT",
            ))
        }
    }
}

/// Parses one statement and the number of `?` parameters it takes. Anything after it but a
/// final `;` is refused: one call runs one statement.
pub fn parse(sql: &str) -> PluginResult<(Statement, usize)> {
    let tokens = tokenize(sql)?;
    if tokens.is_empty() {
        return Err(syntax("empty statement"));
    }
    let mut parser = Parser {
        tokens,
        position: 0,
        params: 0,
    };
    let statement = parser.statement()?;
    parser.symbol(';');
    if parser.peek().is_some() {
        return Err(PluginError::query(
            "only one statement can run per call (text follows the statement)",
        ));
    }
    Ok((statement, parser.params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_parse_and_a_second_statement_is_refused() {
        let (statement, params) =
            parse("INSERT INTO t (a, b) VALUES (1, 'it''s'), (?, NULL);").expect("insert parses");
        assert_eq!(params, 1);
        assert_eq!(statement.needs(), AccessMode::Write);
        assert_eq!(
            statement,
            Statement::Insert(
                "t".into(),
                Some(vec!["a".into(), "b".into()]),
                vec![
                    vec![
                        Expr::Literal(Value::Int(1)),
                        Expr::Literal(Value::Text("it's".into()))
                    ],
                    vec![Expr::Param(0), Expr::Literal(Value::Null)],
                ]
            )
        );
        assert_eq!(
            parse("select count(*) from T").expect("count").0.needs(),
            AccessMode::Read
        );
        let (update, params) = parse("UPDATE t SET b = 'x', a = ?").expect("update parses");
        assert_eq!(params, 1);
        assert_eq!(update.needs(), AccessMode::Write);
        assert_eq!(
            update,
            Statement::Update(
                "t".into(),
                vec![
                    ("b".into(), Expr::Literal(Value::Text("x".into()))),
                    ("a".into(), Expr::Param(0)),
                ]
            )
        );
        assert_eq!(
            parse("DROP TABLE t").expect("drop").0.needs(),
            AccessMode::Ddl
        );
        let error = parse("SELECT 1; DELETE FROM t").expect_err("stacked");
        assert!(error.message.contains("one statement"), "{error}");
        assert!(parse("SELEC 1").is_err());
        assert!(parse("").is_err());
    }
}
