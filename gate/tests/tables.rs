//! `Statement::tables`: the tables a statement names where a table goes, with their aliases,
//! read from the parsed tree (so strings, comments and quoting are the dialect's own).

use plenum_gate::{classify, Dialect};

/// `(dotted name, alias)` of each table reference of the one statement in `sql`.
fn tables(sql: &str, dialect: Dialect) -> Vec<(String, Option<String>)> {
    let statements = classify(sql, dialect).unwrap_or_else(|error| panic!("{sql}: {error}"));
    assert_eq!(statements.len(), 1, "{sql}");
    statements[0]
        .tables
        .iter()
        .map(|table| (table.name.dotted(), table.alias.clone()))
        .collect()
}

fn refs(expected: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    expected
        .iter()
        .map(|(name, alias)| ((*name).to_owned(), alias.map(str::to_owned)))
        .collect()
}

const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::MySql, Dialect::PostgreSql];

#[test]
fn aliases_and_joins() {
    for dialect in ALL {
        assert_eq!(
            tables(
                "SELECT u.name, o.total FROM users u JOIN main.orders AS o ON o.user_id = u.id",
                dialect
            ),
            refs(&[("users", Some("u")), ("main.orders", Some("o"))]),
            "{dialect:?}"
        );
        assert_eq!(
            tables(
                "SELECT * FROM a LEFT JOIN b AS bb ON a.id = bb.id CROSS JOIN c",
                dialect
            ),
            refs(&[("a", None), ("b", Some("bb")), ("c", None)]),
            "{dialect:?}"
        );
        // A keyword after the table is not an alias.
        assert_eq!(
            tables("SELECT * FROM t WHERE a = 1", dialect),
            refs(&[("t", None)])
        );
    }
}

#[test]
fn from_lists_and_subqueries() {
    for (dialect, quoted) in [
        (Dialect::Sqlite, "\"b c\""),
        (Dialect::PostgreSql, "\"b c\""),
        (Dialect::MySql, "`b c`"),
    ] {
        let sql = format!(
            "SELECT * FROM a x, {quoted} y, (SELECT 1 FROM d z) w WHERE x.k IN (SELECT k FROM e)"
        );
        // The derived table `w` is not a table: only the tables inside it are.
        assert_eq!(
            tables(&sql, dialect),
            refs(&[
                ("a", Some("x")),
                ("b c", Some("y")),
                ("d", Some("z")),
                ("e", None)
            ]),
            "{dialect:?}"
        );
    }
    // The same alias in two places is two references.
    assert_eq!(
        tables(
            "SELECT * FROM a u WHERE EXISTS (SELECT 1 FROM b u)",
            Dialect::Sqlite
        ),
        refs(&[("a", Some("u")), ("b", Some("u"))])
    );
    // A CTE is referenced by its name, as written.
    assert_eq!(
        tables(
            "WITH d AS (SELECT * FROM t) SELECT * FROM d AS x",
            Dialect::PostgreSql
        ),
        refs(&[("t", None), ("d", Some("x"))])
    );
}

#[test]
fn write_targets() {
    for dialect in ALL {
        assert_eq!(
            tables("UPDATE t AS tt SET a = 1 WHERE b = ','", dialect),
            refs(&[("t", Some("tt"))]),
            "{dialect:?}"
        );
        assert_eq!(
            tables("DELETE FROM t WHERE id IN (SELECT id FROM s AS x)", dialect),
            refs(&[("t", None), ("s", Some("x"))]),
            "{dialect:?}"
        );
        assert_eq!(
            tables("INSERT INTO t (a) SELECT a FROM s AS x", dialect),
            refs(&[("t", None), ("s", Some("x"))]),
            "{dialect:?}"
        );
    }
    assert_eq!(
        tables("DELETE FROM `weird name` wn WHERE 1", Dialect::MySql),
        refs(&[("weird name", Some("wn"))])
    );
    assert_eq!(
        tables(
            "UPDATE a JOIN b ON a.id = b.id SET a.x = b.x",
            Dialect::MySql
        ),
        refs(&[("a", None), ("b", None)])
    );
    assert_eq!(
        tables(
            "INSERT INTO t AS n VALUES (1) ON CONFLICT (a) DO UPDATE SET b = n.b",
            Dialect::PostgreSql
        ),
        refs(&[("t", Some("n"))])
    );
}

#[test]
fn strings_comments_and_functions_are_not_tables() {
    assert_eq!(
        tables(
            "SELECT 'FROM x y' FROM t -- FROM p q\n /* FROM r s */",
            Dialect::Sqlite
        ),
        refs(&[("t", None)])
    );
    assert_eq!(
        tables(
            r#"SELECT * FROM t AS a WHERE x = 'it\'s FROM q r' AND y = "FROM v w""#,
            Dialect::MySql
        ),
        refs(&[("t", Some("a"))])
    );
    // `f(1) g` is a table function, not a table.
    assert_eq!(
        tables("SELECT * FROM generate_series(1, 3) g", Dialect::PostgreSql),
        refs(&[])
    );
    assert_eq!(tables("SELECT 1", Dialect::Sqlite), refs(&[]));
}

#[test]
fn forms_the_gate_reads_itself() {
    // `TABLE t` is read as `SELECT * FROM t`.
    assert_eq!(tables("TABLE t", Dialect::PostgreSql), refs(&[("t", None)]));
    // Recognized without parsing: no tables.
    assert_eq!(tables("PRAGMA table_info(t)", Dialect::Sqlite), refs(&[]));
}
