//! Which table an engine's name for a relation in its plan stands for.
//!
//! MySQL/MariaDB and SQLite name a table in their plans by the alias the statement gives it
//! (`FROM users u` is planned as `u`), where PostgreSQL reports both. To fill `relation` the
//! same way for every engine, the name is looked up in the table references the gate read
//! from the statement's tree ([`plenum_gate::Statement::tables`]). It is resolved only when
//! they leave no doubt; otherwise the engine's name is kept as it is.

use plenum_gate::TableRef;

/// The table references of the statement being explained.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tables<'a>(pub &'a [TableRef]);

/// What the engine's name for a relation resolves to.
#[derive(Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The table (the last part of its name).
    pub relation: Option<String>,
    /// The alias, when the name was one (and differs from the table).
    pub alias: Option<String>,
}

impl Tables<'_> {
    /// Resolves the name an engine gave a relation in its plan. Engines compare these names
    /// without regard to ASCII case in the common configurations, so this does too.
    pub fn resolve(&self, reported: &str) -> Resolved {
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        let mut tables: Vec<&str> = Vec::new();
        for table in self.0 {
            let name = table.name.last();
            if table
                .alias
                .as_deref()
                .is_some_and(|alias| same(alias, reported))
                && !tables.iter().any(|known| same(known, name))
            {
                tables.push(name);
            }
        }
        let plain = self
            .0
            .iter()
            .any(|table| table.alias.is_none() && same(table.name.last(), reported));
        if plain && !tables.iter().any(|known| same(known, reported)) {
            tables.push(reported);
        }
        match tables.as_slice() {
            [table] => Resolved {
                relation: Some((*table).to_owned()),
                alias: (!same(table, reported)).then(|| reported.to_owned()),
            },
            // Unknown to the statement (a derived table, a table function) or ambiguous (one
            // alias for two tables, an alias that is also a table's name): the engine's name,
            // as it gave it.
            _ => Resolved {
                relation: Some(reported.to_owned()),
                alias: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plenum_gate::Dialect;

    fn resolve(sql: &str, dialect: Dialect, reported: &str) -> (Option<String>, Option<String>) {
        let statements = plenum_gate::classify(sql, dialect).expect("classifies");
        assert_eq!(statements.len(), 1, "{sql}");
        let resolved = Tables(&statements[0].tables).resolve(reported);
        (resolved.relation, resolved.alias)
    }

    fn sqlite(sql: &str, reported: &str) -> (Option<String>, Option<String>) {
        resolve(sql, Dialect::Sqlite, reported)
    }

    fn pair(relation: &str, alias: Option<&str>) -> (Option<String>, Option<String>) {
        (Some(relation.to_owned()), alias.map(str::to_owned))
    }

    #[test]
    fn aliases_resolve_to_their_tables() {
        let sql = "SELECT u.name, o.total FROM users u JOIN main.orders AS o ON o.user_id = u.id";
        assert_eq!(sqlite(sql, "u"), pair("users", Some("u")));
        assert_eq!(sqlite(sql, "O"), pair("orders", Some("O")));
        assert_eq!(sqlite(sql, "users"), pair("users", None));
    }

    #[test]
    fn from_lists_subqueries_and_writes() {
        let sql =
            "SELECT * FROM a x, \"b c\" y, (SELECT 1 FROM d z) w WHERE x.k IN (SELECT k FROM e)";
        assert_eq!(sqlite(sql, "x"), pair("a", Some("x")));
        assert_eq!(sqlite(sql, "y"), pair("b c", Some("y")));
        assert_eq!(sqlite(sql, "z"), pair("d", Some("z")));
        assert_eq!(sqlite(sql, "e"), pair("e", None));
        // A derived table's alias is not a table: kept as the engine gave it.
        assert_eq!(sqlite(sql, "w"), pair("w", None));
        assert_eq!(
            sqlite("UPDATE t AS tt SET a = 1 WHERE b = ','", "tt"),
            pair("t", Some("tt"))
        );
        assert_eq!(
            resolve("DELETE FROM `weird name` wn WHERE 1", Dialect::MySql, "wn"),
            pair("weird name", Some("wn"))
        );
        assert_eq!(
            sqlite("INSERT INTO t SELECT * FROM s AS x", "x"),
            pair("s", Some("x"))
        );
        assert_eq!(
            sqlite("INSERT INTO t SELECT * FROM s AS x", "t"),
            pair("t", None)
        );
    }

    #[test]
    fn doubt_keeps_the_engine_name() {
        // `u` names two different tables: no guess.
        let sql = "SELECT * FROM a u WHERE EXISTS (SELECT 1 FROM b u)";
        assert_eq!(sqlite(sql, "u"), pair("u", None));
        // An alias that is also a plain table elsewhere.
        let sql = "SELECT * FROM a b JOIN b ON 1";
        assert_eq!(sqlite(sql, "b"), pair("b", None));
        // Strings and comments are not read.
        let sql = "SELECT 'FROM x y' FROM t -- FROM p q\n /* FROM r s */";
        assert_eq!(sqlite(sql, "y"), pair("y", None));
        assert_eq!(sqlite(sql, "q"), pair("q", None));
        assert_eq!(sqlite(sql, "s"), pair("s", None));
        // A table function is not a table.
        assert_eq!(sqlite("SELECT * FROM t WHERE a", "t"), pair("t", None));
        assert_eq!(sqlite("SELECT * FROM f(1) g", "g"), pair("g", None));
        // Nothing known: the engine's name.
        assert_eq!(
            Tables::default().resolve("u"),
            Resolved {
                relation: Some("u".to_owned()),
                alias: None,
            }
        );
    }

    #[test]
    fn mysql_strings_use_backslashes_and_double_quotes() {
        let sql = r#"SELECT * FROM t AS a WHERE x = 'it\'s FROM q r' AND y = "FROM v w""#;
        assert_eq!(resolve(sql, Dialect::MySql, "a"), pair("t", Some("a")));
        assert_eq!(resolve(sql, Dialect::MySql, "r"), pair("r", None));
        assert_eq!(resolve(sql, Dialect::MySql, "w"), pair("w", None));
    }
}
