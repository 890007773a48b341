//! What a call's names resolve to in the database file, and the write fence (API 1.2).
//!
//! What SQLite has, and why most answers are empty:
//!
//! * **No login, no powers.** SQLite is a file read in this process: there is no account,
//!   no server files, programs or other sessions a statement could reach through a
//!   privilege. What the tiers rest on is this plugin's session: a read-only open plus
//!   `query_only` for reads, and an authorizer that denies ATTACH, pragma setters and the
//!   functions that reach files or load code in every tier.
//! * **No user code behind a function name.** SQL cannot define functions in SQLite; only
//!   the application can register them, and this plugin registers none. Every name is a
//!   built-in the gate classifies, so no name resolves to a routine.
//! * **Triggers fire nothing the gate must see.** A trigger body holds only INSERT, UPDATE,
//!   DELETE and SELECT (the grammar has no DDL, ATTACH, PRAGMA or VACUUM there;
//!   `tests/reach.rs` shows it), its statements pass the same authorizer, and with
//!   `trusted_schema` off they cannot call functions with side effects. So `fires` is empty.
//! * **Relations.** Unqualified names are looked up as SQLite does: `temp`, then `main`
//!   (ATTACH is denied, so there are no other schemas). `system` is set for the schema
//!   tables (`sqlite_schema`, `sqlite_master`, `sqlite_temp_schema`, `sqlite_temp_master`)
//!   and nothing else: `sqlite_sequence` and `sqlite_stat*` are writable by design.
//!   `view_definition` is the view's query, cut from its `CREATE VIEW` text.

use plenum_plugin_api::abi_stable::std_types::{ROption, RVec};
use plenum_plugin_api::{
    FenceOutcome, PluginError, PluginResult, ReachReport, ReachRequest, ResolvedFunction,
    ResolvedRelation, SqlName,
};
use rusqlite::{Connection, OptionalExtension};

use crate::values::query_error;

/// The schema tables, with the schema each lives in when the name is not qualified.
const SCHEMA_TABLES: &[(&str, &str)] = &[
    ("sqlite_schema", "main"),
    ("sqlite_master", "main"),
    ("sqlite_temp_schema", "temp"),
    ("sqlite_temp_master", "temp"),
];

/// Answers one request.
pub(crate) fn run(connection: &Connection, request: &ReachRequest) -> PluginResult<ReachReport> {
    let functions = request
        .functions
        .iter()
        .map(|name| ResolvedFunction {
            name: name.clone(),
            routines: RVec::new(),
        })
        .collect();
    let mut relations = RVec::new();
    for name in request.relations.iter().chain(request.targets.iter()) {
        relations.push(resolve_relation(connection, name)?);
    }
    Ok(ReachReport {
        login: "".into(),
        powers: RVec::new(),
        functions,
        relations,
        ambient: RVec::new(),
    })
}

fn resolve_relation(connection: &Connection, name: &SqlName) -> PluginResult<ResolvedRelation> {
    let mut resolved = ResolvedRelation {
        name: name.clone(),
        schema: ROption::RNone,
        system: false,
        view_definition: ROption::RNone,
        fires: RVec::new(),
    };
    let (qualifier, object) = match name.parts.as_slice() {
        [object] => (None, object.as_str()),
        [schema, object] => (Some(schema.as_str()), object.as_str()),
        _ => return Ok(resolved),
    };
    let qualifier = match qualifier {
        None => None,
        Some(schema) if schema.eq_ignore_ascii_case("main") => Some("main"),
        Some(schema) if schema.eq_ignore_ascii_case("temp") => Some("temp"),
        // No other schema can exist: the authorizer denies ATTACH.
        Some(_) => return Ok(resolved),
    };
    if let Some((_, home)) = SCHEMA_TABLES
        .iter()
        .find(|(table, _)| table.eq_ignore_ascii_case(object))
    {
        resolved.system = true;
        resolved.schema = ROption::RSome(qualifier.unwrap_or(home).into());
        return Ok(resolved);
    }
    let schemas: &[&str] = match qualifier {
        Some(schema) => &[schema][..],
        None => &["temp", "main"],
    };
    for schema in schemas {
        // Fixed text per schema; the name is bound. Identifiers compare without ASCII case.
        let sql = if *schema == "temp" {
            "SELECT type, sql FROM temp.sqlite_schema \
             WHERE type IN ('table', 'view') AND name = ?1 COLLATE NOCASE"
        } else {
            "SELECT type, sql FROM main.sqlite_schema \
             WHERE type IN ('table', 'view') AND name = ?1 COLLATE NOCASE"
        };
        // Cached: asked on every call, with the same text.
        let found = connection
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement.query_row([object], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?))
                })
            })
            .optional()
            .map_err(query_error)?;
        let Some((kind, sql)) = found else {
            continue;
        };
        resolved.schema = ROption::RSome((*schema).into());
        if kind == "view" {
            let text = sql.unwrap_or_default();
            let query = view_query(&text).ok_or_else(|| {
                PluginError::query(format!(
                    "cannot read the definition of view {}, so what it reaches cannot be checked",
                    name.dotted()
                ))
            })?;
            resolved.view_definition = ROption::RSome(query.into());
        }
        return Ok(resolved);
    }
    Ok(resolved)
}

/// A small lexer over a `CREATE VIEW` statement as SQLite stores it.
struct Lexer<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    /// Skips whitespace and comments.
    fn skip(&mut self) -> Option<()> {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.at += rest.len() - trimmed.len();
            if trimmed.starts_with("--") {
                self.at += trimmed.find('\n').unwrap_or(trimmed.len());
            } else if trimmed.starts_with("/*") {
                // An unterminated comment runs to the end, as in SQLite.
                self.at += trimmed.find("*/").map_or(trimmed.len(), |end| end + 2);
            } else {
                return Some(());
            }
        }
    }

    /// The next token: a bare word, a quoted name or string, or one other character.
    fn token(&mut self) -> Option<&'a str> {
        self.skip()?;
        let rest = self.rest();
        let first = rest.chars().next()?;
        let length = match first {
            '"' | '`' | '\'' => {
                let mut end = 1;
                loop {
                    let offset = rest[end..].find(first)?;
                    end += offset + 1;
                    if !rest[end..].starts_with(first) {
                        break end;
                    }
                    end += 1;
                }
            }
            '[' => rest.find(']')? + 1,
            c if c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii() => rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()))
                .unwrap_or(rest.len()),
            c => c.len_utf8(),
        };
        self.at += length;
        Some(&rest[..length])
    }

    fn keyword(&mut self, word: &str) -> bool {
        let at = self.at;
        if self
            .token()
            .is_some_and(|token| token.eq_ignore_ascii_case(word))
        {
            return true;
        }
        self.at = at;
        false
    }
}

/// The query of a `CREATE [TEMP] VIEW [IF NOT EXISTS] [schema.]name [(columns)] AS query`
/// statement; `None` when the text has another shape.
pub(crate) fn view_query(create: &str) -> Option<&str> {
    let mut lexer = Lexer {
        text: create,
        at: 0,
    };
    if !lexer.keyword("CREATE") {
        return None;
    }
    let _ = lexer.keyword("TEMP") || lexer.keyword("TEMPORARY");
    if !lexer.keyword("VIEW") {
        return None;
    }
    if lexer.keyword("IF") && !(lexer.keyword("NOT") && lexer.keyword("EXISTS")) {
        return None;
    }
    lexer.token()?;
    if lexer.keyword(".") {
        lexer.token()?;
    }
    if lexer.keyword("(") {
        let mut depth = 1;
        while depth > 0 {
            match lexer.token()? {
                "(" => depth += 1,
                ")" => depth -= 1,
                _ => {}
            }
        }
    }
    if !lexer.keyword("AS") {
        return None;
    }
    lexer.skip()?;
    let query = lexer.rest().trim_end().trim_end_matches(';').trim_end();
    (!query.is_empty()).then_some(query)
}

/// `schema_version` of `main` and `temp`: SQLite bumps it on every schema change.
pub(crate) fn schema_versions(connection: &Connection) -> PluginResult<(i64, i64)> {
    let version = |sql: &str| {
        connection
            .prepare_cached(sql)
            .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
            .map_err(query_error)
    };
    let main = version("PRAGMA main.schema_version")?;
    let temp = version("PRAGMA temp.schema_version")?;
    Ok((main, temp))
}

/// The write fence: the schema versions now against those read when the transaction began.
pub(crate) fn write_fence(
    connection: &Connection,
    at_begin: Option<(i64, i64)>,
) -> PluginResult<FenceOutcome> {
    let Some(before) = at_begin else {
        return Ok(FenceOutcome::Unknown(
            "no transaction was begun, so there is nothing to compare with".into(),
        ));
    };
    let now = schema_versions(connection)?;
    Ok(if now == before {
        FenceOutcome::Unchanged
    } else {
        FenceOutcome::Changed("the database schema changed during the transaction".into())
    })
}

#[cfg(test)]
mod tests {
    use super::view_query;

    #[test]
    fn cuts_the_query_out_of_create_view() {
        assert_eq!(view_query("CREATE VIEW v AS SELECT 1"), Some("SELECT 1"));
        assert_eq!(
            view_query(
                "create temp view if not exists \"a\"\"s\" ( x, \"y)\" ) as\n  select 1, 2 ;"
            ),
            Some("select 1, 2")
        );
        assert_eq!(
            view_query("CREATE /* as */ VIEW main.[v as w] -- as\n AS WITH c AS (SELECT 1) SELECT * FROM c"),
            Some("WITH c AS (SELECT 1) SELECT * FROM c")
        );
        assert_eq!(
            view_query("CREATE VIEW `a``s`(`as`) AS VALUES (1)"),
            Some("VALUES (1)")
        );
        assert_eq!(view_query("CREATE VIEW v"), None);
        assert_eq!(view_query("CREATE TABLE v AS SELECT 1"), None);
        assert_eq!(view_query("CREATE VIEW \"v AS SELECT 1"), None);
        assert_eq!(view_query("CREATE VIEW v AS "), None);
    }
}
