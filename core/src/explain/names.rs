//! Which table an alias stands for, read from the statement's text.
//!
//! MySQL/MariaDB and SQLite name a table in their plans by the alias the statement gives it
//! (`FROM users u` is planned as `u`), where PostgreSQL reports both. To fill `relation` the
//! same way for every engine, the table references of the statement are read with a flat
//! scan of its tokens: `FROM`, `JOIN`, `UPDATE`, `INTO`, `USING` and the commas of a `FROM`
//! list, each followed by `name [AS] alias`. The scan never recurses (no deep input can
//! overflow the stack), and a name is resolved only when the statement leaves no doubt;
//! otherwise the engine's name is kept as it is.

/// Aliases and plain table references found in one statement.
#[derive(Debug, Default)]
pub struct Names {
    /// `(alias, table)` pairs; the table is the last part of a dotted name.
    aliased: Vec<(String, String)>,
    /// Tables referenced without an alias.
    plain: Vec<String>,
}

/// What the engine's name for a relation resolves to.
#[derive(Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The table.
    pub relation: Option<String>,
    /// The alias, when the name was one (and differs from the table).
    pub alias: Option<String>,
}

impl Names {
    /// Reads the table references of `sql`. `backslash_escapes` says whether a backslash
    /// escapes in strings (MySQL), `double_quotes_are_strings` whether `"…"` is a string
    /// (MySQL) rather than an identifier (SQLite, standard SQL).
    pub fn scan(sql: &str, backslash_escapes: bool, double_quotes_are_strings: bool) -> Names {
        let tokens = tokenize(sql, backslash_escapes, double_quotes_are_strings);
        let mut names = Names::default();
        // Per parenthesis level: whether a comma there continues a FROM list.
        let mut from_list = vec![false];
        let mut index = 0;
        while index < tokens.len() {
            let token = &tokens[index];
            index += 1;
            match token {
                Token::Punct('(') => from_list.push(false),
                Token::Punct(')') if from_list.len() > 1 => {
                    from_list.pop();
                }
                Token::Punct(',') if from_list.last() == Some(&true) => {
                    index = names.reference(&tokens, index);
                }
                Token::Word {
                    text,
                    quoted: false,
                } => {
                    let word = text.to_ascii_uppercase();
                    if let Some(level) = from_list.last_mut() {
                        if word == "FROM" {
                            *level = true;
                        } else if ENDS_FROM_LIST.contains(&word.as_str()) {
                            *level = false;
                        }
                    }
                    if STARTS_REFERENCE.contains(&word.as_str()) || word.ends_with("JOIN") {
                        index = names.reference(&tokens, index);
                    }
                }
                _ => {}
            }
        }
        names
    }

    /// Reads `name[.name…] [[AS] alias]` at `index`, if that is what is there, and returns
    /// where the scan goes on.
    fn reference(&mut self, tokens: &[Token], mut index: usize) -> usize {
        let Some(Token::Word { text, quoted }) = tokens.get(index) else {
            return index;
        };
        if !quoted && is_keyword(text) {
            return index;
        }
        let mut table = text.clone();
        index += 1;
        while let (Some(Token::Punct('.')), Some(Token::Word { text, .. })) =
            (tokens.get(index), tokens.get(index + 1))
        {
            table = text.clone();
            index += 2;
        }
        // `name(` is a table function, not a table.
        if matches!(tokens.get(index), Some(Token::Punct('('))) {
            return index;
        }
        let explicit = matches!(
            tokens.get(index),
            Some(Token::Word { text, quoted: false }) if text.eq_ignore_ascii_case("AS")
        );
        if explicit {
            index += 1;
        }
        match tokens.get(index) {
            Some(Token::Word { text, quoted }) if explicit || *quoted || !is_keyword(text) => {
                self.aliased.push((text.clone(), table));
                index + 1
            }
            _ => {
                self.plain.push(table);
                index
            }
        }
    }

    /// Resolves the name an engine gave a relation in its plan.
    pub fn resolve(&self, reported: &str) -> Resolved {
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        let mut tables: Vec<&str> = Vec::new();
        for (alias, table) in &self.aliased {
            if same(alias, reported) && !tables.iter().any(|known| same(known, table)) {
                tables.push(table);
            }
        }
        if self.plain.iter().any(|table| same(table, reported))
            && !tables.iter().any(|known| same(known, reported))
        {
            tables.push(reported);
        }
        match tables.as_slice() {
            [table] => Resolved {
                relation: Some((*table).to_owned()),
                alias: (!same(table, reported)).then(|| reported.to_owned()),
            },
            // Unknown to the scan (or ambiguous): the engine's name, as it gave it.
            _ => Resolved {
                relation: Some(reported.to_owned()),
                alias: None,
            },
        }
    }
}

/// Words after which a table reference follows.
const STARTS_REFERENCE: &[&str] = &["FROM", "UPDATE", "INTO", "USING", "STRAIGHT_JOIN"];

/// Words that end a `FROM` list at their parenthesis level.
const ENDS_FROM_LIST: &[&str] = &[
    "WHERE",
    "GROUP",
    "HAVING",
    "ORDER",
    "LIMIT",
    "WINDOW",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "SELECT",
    "SET",
    "VALUES",
    "RETURNING",
    "OFFSET",
    "FETCH",
    "FOR",
    "LOCK",
    "QUALIFY",
];

/// Words that cannot be an unquoted alias (or a table name right after `FROM`).
const KEYWORDS: &[&str] = &[
    "AS",
    "ON",
    "USING",
    "WHERE",
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "CROSS",
    "NATURAL",
    "OUTER",
    "STRAIGHT_JOIN",
    "GROUP",
    "ORDER",
    "LIMIT",
    "HAVING",
    "WINDOW",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "SET",
    "VALUES",
    "SELECT",
    "FOR",
    "LOCK",
    "RETURNING",
    "USE",
    "IGNORE",
    "FORCE",
    "PARTITION",
    "INDEXED",
    "NOT",
    "WITH",
    "OFFSET",
    "FETCH",
    "TABLESAMPLE",
    "LATERAL",
    "DEFAULT",
    "QUALIFY",
    "INTO",
    "FROM",
    "DUAL",
];

fn is_keyword(word: &str) -> bool {
    KEYWORDS
        .iter()
        .any(|keyword| word.eq_ignore_ascii_case(keyword))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// An identifier or keyword; `quoted` for `"x"`, `` `x` `` and `[x]`.
    Word { text: String, quoted: bool },
    /// One punctuation character.
    Punct(char),
    /// A string, number or operator: nothing the scan looks at.
    Other,
}

fn tokenize(sql: &str, backslash_escapes: bool, double_quotes_are_strings: bool) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        let next = chars.get(index + 1).copied();
        if c.is_whitespace() {
            index += 1;
        } else if c == '-' && next == Some('-') || c == '#' && backslash_escapes {
            while index < chars.len() && chars[index] != '\n' {
                index += 1;
            }
        } else if c == '/' && next == Some('*') {
            index += 2;
            while index < chars.len()
                && !(chars[index] == '*' && chars.get(index + 1) == Some(&'/'))
            {
                index += 1;
            }
            index += 2;
        } else if c == '\'' || c == '"' && double_quotes_are_strings {
            index = skip_quoted(&chars, index, c, backslash_escapes);
            tokens.push(Token::Other);
        } else if c == '"' || c == '`' || c == '[' {
            let close = if c == '[' { ']' } else { c };
            let start = index + 1;
            let end = skip_quoted(&chars, index, close, false);
            // The identifier without its quotes; a doubled quote stands for one.
            let inner: String = chars[start..end.saturating_sub(1).max(start)]
                .iter()
                .collect();
            let doubled: String = [close, close].iter().collect();
            tokens.push(Token::Word {
                text: inner.replace(&doubled, &close.to_string()),
                quoted: true,
            });
            index = end;
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = index;
            while index < chars.len()
                && (chars[index].is_alphanumeric() || chars[index] == '_' || chars[index] == '$')
            {
                index += 1;
            }
            if c.is_ascii_digit() {
                tokens.push(Token::Other);
            } else {
                tokens.push(Token::Word {
                    text: chars[start..index].iter().collect(),
                    quoted: false,
                });
            }
        } else if matches!(c, '(' | ')' | ',' | '.') {
            tokens.push(Token::Punct(c));
            index += 1;
        } else {
            tokens.push(Token::Other);
            index += 1;
        }
    }
    tokens
}

/// The index after the quoted run that opens at `start` (its first character) and closes with
/// `close`; a doubled `close` inside does not close it.
fn skip_quoted(chars: &[char], start: usize, close: char, backslash_escapes: bool) -> usize {
    let mut index = start + 1;
    while index < chars.len() {
        let c = chars[index];
        if backslash_escapes && c == '\\' {
            index += 2;
        } else if c == close {
            if chars.get(index + 1) == Some(&close) {
                index += 2;
            } else {
                return index + 1;
            }
        } else {
            index += 1;
        }
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(sql: &str, reported: &str) -> (Option<String>, Option<String>) {
        let resolved = Names::scan(sql, false, false).resolve(reported);
        (resolved.relation, resolved.alias)
    }

    fn pair(relation: &str, alias: Option<&str>) -> (Option<String>, Option<String>) {
        (Some(relation.to_owned()), alias.map(str::to_owned))
    }

    #[test]
    fn aliases_resolve_to_their_tables() {
        let sql = "SELECT u.name, o.total FROM users u JOIN main.orders AS o ON o.user_id = u.id";
        assert_eq!(resolve(sql, "u"), pair("users", Some("u")));
        assert_eq!(resolve(sql, "O"), pair("orders", Some("O")));
        assert_eq!(resolve(sql, "users"), pair("users", None));
    }

    #[test]
    fn from_lists_subqueries_and_writes() {
        let sql =
            "SELECT * FROM a x, \"b c\" y, (SELECT 1 FROM d z) w WHERE x.k IN (SELECT k FROM e)";
        assert_eq!(resolve(sql, "x"), pair("a", Some("x")));
        assert_eq!(resolve(sql, "y"), pair("b c", Some("y")));
        assert_eq!(resolve(sql, "z"), pair("d", Some("z")));
        assert_eq!(resolve(sql, "e"), pair("e", None));
        // A derived table's alias is not a table: kept as the engine gave it.
        assert_eq!(resolve(sql, "w"), pair("w", None));
        assert_eq!(
            resolve("UPDATE t AS tt SET a = 1 WHERE b = ','", "tt"),
            pair("t", Some("tt"))
        );
        assert_eq!(
            resolve("DELETE FROM `weird name` wn WHERE 1", "wn").0,
            Some("weird name".to_owned())
        );
    }

    #[test]
    fn doubt_keeps_the_engine_name() {
        // `u` names two different tables: no guess.
        let sql = "SELECT * FROM a u WHERE EXISTS (SELECT 1 FROM b u)";
        assert_eq!(resolve(sql, "u"), pair("u", None));
        // An alias that is also a plain table elsewhere.
        let sql = "SELECT * FROM a b JOIN b ON 1";
        assert_eq!(resolve(sql, "b"), pair("b", None));
        // Strings and comments are not read.
        let sql = "SELECT 'FROM x y' FROM t -- FROM p q\n /* FROM r s */";
        assert_eq!(resolve(sql, "y"), pair("y", None));
        assert_eq!(resolve(sql, "q"), pair("q", None));
        assert_eq!(resolve(sql, "s"), pair("s", None));
        // A keyword is not an alias; a table function is not a table.
        assert_eq!(resolve("SELECT * FROM t WHERE a", "t"), pair("t", None));
        assert_eq!(resolve("SELECT * FROM f(1) g", "g"), pair("g", None));
    }

    #[test]
    fn mysql_strings_use_backslashes_and_double_quotes() {
        let sql = r#"SELECT * FROM t AS a WHERE x = 'it\'s FROM q r' AND y = "FROM v w""#;
        let names = Names::scan(sql, true, true);
        assert_eq!(names.resolve("a").relation.as_deref(), Some("t"));
        assert_eq!(names.resolve("r").alias, None);
        assert_eq!(names.resolve("w").alias, None);
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for sql in [
            "SELECT * FROM \"t",
            "SELECT 'x",
            "SELECT /* x",
            "FROM",
            "FROM a.",
            "[",
        ] {
            let _ = Names::scan(sql, true, false).resolve("a");
            let _ = Names::scan(sql, false, true).resolve("a");
        }
    }
}
