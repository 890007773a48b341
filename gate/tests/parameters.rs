//! `Statement::parameters`: how many bound values each statement takes, and the placeholder
//! forms the gate refuses. Counts are checked against the engines themselves: SQLite's
//! `sqlite3_bind_parameter_count`, and the parameter counts the live PostgreSQL and MySQL
//! servers report when they prepare the statement.

mod support;

use mysql::prelude::Queryable;
use plenum_gate::{check, classify, Dialect, GateError, Tier};
use support::live;

/// What a case must get.
#[derive(Debug, Clone, Copy)]
enum P {
    /// Classifies, with these parameter counts, one per statement.
    Counts(&'static [usize]),
    /// Refused with a placeholder error at this line and column whose message contains the
    /// text.
    Invalid(u64, u64, &'static str),
}

use P::{Counts, Invalid};

const SQLITE: &[(&str, P)] = &[
    ("SELECT 1", Counts(&[0])),
    ("SELECT a FROM t WHERE a = ? AND b = ?", Counts(&[2])),
    // SQLite numbering: `?` takes the highest number so far plus one, `?NNN` takes NNN.
    ("SELECT ?3, ?", Counts(&[4])),
    ("SELECT ?, ?1, ?", Counts(&[2])),
    ("SELECT ?2, ?2, ?1", Counts(&[2])),
    ("SELECT ?, ?5", Counts(&[5])),
    ("SELECT ?5, ?2, ?", Counts(&[6])),
    ("SELECT ?01", Counts(&[1])),
    ("SELECT ?32766", Counts(&[32766])),
    // Strings, quoted identifiers, blobs and comments hold no placeholders.
    (
        "SELECT '?' AS \"?\", x'3f', [?] FROM (SELECT 1 AS [?]) /* ? :a @b $c #d */ -- ?1\n",
        Counts(&[0]),
    ),
    (
        "SELECT ':a', '@b', '$c', '#d', `?`, \"?1\" FROM (SELECT 1 AS `?`, 2 AS \"?1\")",
        Counts(&[0]),
    ),
    // Every place a value can go.
    (
        "SELECT a FROM t WHERE b IN (SELECT b FROM t WHERE a > ?) AND a < ?",
        Counts(&[2]),
    ),
    (
        "WITH c AS (SELECT a FROM t WHERE a = ?) SELECT * FROM c WHERE a <> ?",
        Counts(&[2]),
    ),
    ("INSERT INTO t (a, b) VALUES (?, ?), (?, ?)", Counts(&[4])),
    ("UPDATE t SET a = ?2 WHERE b = ?1 RETURNING a", Counts(&[2])),
    ("SELECT a FROM t LIMIT ? OFFSET ?", Counts(&[2])),
    ("SELECT json_extract(data, ?) FROM t", Counts(&[1])),
    // Each statement counts on its own.
    ("SELECT ?; SELECT 1; SELECT ?, ?", Counts(&[1, 0, 2])),
    ("SELECT ?2; SELECT ?", Counts(&[2, 1])),
    // Named placeholders, in every spelling SQLite accepts.
    ("SELECT :a", Invalid(1, 8, "SQLite named placeholders")),
    ("SELECT a FROM t WHERE a = @a", Invalid(1, 27, "found `@a`")),
    ("SELECT $a", Invalid(1, 8, "use `?` or `?NNN` (found `$a`)")),
    ("SELECT $1", Invalid(1, 8, "found `$1`")),
    ("SELECT :1", Invalid(1, 8, "found `:1`")),
    // `<@` is one token to the parser but `<` then `@b` to SQLite.
    ("SELECT a <@b FROM t", Invalid(1, 10, "named placeholders")),
    ("SELECT ?, :a", Invalid(1, 11, "named placeholders")),
    (
        "SELECT 1;\nSELECT ?, :a",
        Invalid(2, 11, "named placeholders"),
    ),
    // Numbers SQLite refuses, and digits that are not ASCII.
    ("SELECT ?0", Invalid(1, 8, "?1 to ?32766")),
    ("SELECT ?32767", Invalid(1, 8, "`?32767` is not one")),
    (
        "SELECT ?99999999999999999999999",
        Invalid(1, 8, "?1 to ?32766"),
    ),
    ("SELECT ?\u{661}", Invalid(1, 8, "ASCII digits")),
];

const POSTGRES: &[(&str, P)] = &[
    ("SELECT a FROM t WHERE a = $1 AND b = $2", Counts(&[2])),
    ("SELECT $2::int, $1::int", Counts(&[2])),
    ("SELECT $1::int + $1::int", Counts(&[1])),
    // `?`, `?|` and `?&` are jsonb operators, not placeholders.
    (
        "SELECT data ? 'k', data ?| array['a'], data ?& array['b'] FROM t WHERE a = $1",
        Counts(&[1]),
    ),
    ("SELECT data ? $1 FROM t", Counts(&[1])),
    (
        "SELECT '$1', $$ ? $2 $$, $q$ $3 $q$, E'\\'$4', \"$5\" FROM (SELECT 1 AS \"$5\") s -- $6\n/* ? $7 */",
        Counts(&[0]),
    ),
    (
        "SELECT (ARRAY[1,2,3])[1:2], (ARRAY[1,2,3])[:2], (ARRAY[1,2,3])[$1:$2]",
        Counts(&[2]),
    ),
    (
        "SELECT a FROM t WHERE b IN (SELECT b FROM t WHERE a > $2) AND a < $1",
        Counts(&[2]),
    ),
    (
        "WITH c AS (SELECT a FROM t WHERE a = $1) SELECT * FROM c WHERE a <> $2",
        Counts(&[2]),
    ),
    ("INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)", Counts(&[4])),
    ("SELECT a FROM t LIMIT $1 OFFSET $2", Counts(&[2])),
    ("SELECT $1::int; SELECT 1; SELECT $2::int, $1::int", Counts(&[1, 0, 2])),
    // A gap leaves a placeholder without a type.
    ("SELECT $1::int, $3::int", Invalid(1, 17, "$2 is not")),
    ("SELECT $3::int, $2::int", Invalid(1, 17, "`$2` is used but $1 is not")),
    ("SELECT 1; SELECT $2::int", Invalid(1, 18, "without gaps")),
    ("SELECT $0", Invalid(1, 8, "start at $1; `$0`")),
    ("SELECT $70000", Invalid(1, 8, "at most 65535")),
    ("SELECT $name", Invalid(1, 8, "`$name` is not one")),
    ("SELECT $1a", Invalid(1, 8, "`$1a` is not one")),
    // `?` where a value goes: a placeholder from another engine.
    (
        "SELECT a FROM t WHERE a = ?",
        Invalid(1, 27, "PostgreSQL placeholders are $1, $2, …; `?` is not one"),
    ),
    ("SELECT ?", Invalid(1, 8, "`?` is not one")),
    ("SELECT ?1", Invalid(1, 8, "`?` is not one")),
    ("SELECT a FROM t LIMIT ?", Invalid(1, 23, "`?` is not one")),
    ("INSERT INTO t VALUES (?, ?)", Invalid(1, 23, "`?` is not one")),
    ("SELECT 1;\n  SELECT a FROM t WHERE a IN ($1, ?)", Invalid(2, 35, "`?` is not one")),
    ("SELECT a FROM t WHERE data ?", Invalid(1, 28, "`?` is not one")),
    // Named placeholders and psql variables.
    ("SELECT a FROM t WHERE a = :id", Invalid(1, 27, "named placeholders such as `:id`")),
    ("SELECT a FROM t WHERE a = :\"v\"", Invalid(1, 27, "such as `:`")),
    // The parser reads `$1$…$1$` as a dollar-quoted string; PostgreSQL as `$1` and more.
    ("SELECT $1$x$1$", Invalid(1, 8, "tags cannot start with a digit")),
];

const MYSQL: &[(&str, P)] = &[
    ("SELECT a FROM t WHERE a = ? AND b = ?", Counts(&[2])),
    (
        "SELECT '?', `?`, \"?\" FROM (SELECT 1 AS `?`) s # ?\n -- ?\n/* ? :a $1 */",
        Counts(&[0]),
    ),
    // User variables are not placeholders.
    ("SELECT @a, @@version", Counts(&[0])),
    (
        "SELECT a FROM t WHERE b IN (SELECT b FROM t WHERE a > ?) AND a < ?",
        Counts(&[2]),
    ),
    (
        "WITH c AS (SELECT a FROM t WHERE a = ?) SELECT * FROM c WHERE a <> ?",
        Counts(&[2]),
    ),
    ("INSERT INTO t (a, b) VALUES (?, ?), (?, ?)", Counts(&[4])),
    ("SELECT a FROM t LIMIT ? OFFSET ?", Counts(&[2])),
    ("SELECT a FROM t LIMIT ?, ?", Counts(&[2])),
    ("SELECT ?; SELECT 1; SELECT ?, ?", Counts(&[1, 0, 2])),
    (
        "SELECT ?1",
        Invalid(1, 8, "MySQL placeholders are plain `?`; `?1` is not one"),
    ),
    (
        "SELECT $1",
        Invalid(1, 8, "`$1` is not one (MySQL reads it as a name)"),
    ),
    (
        "SELECT a FROM t WHERE a = :a",
        Invalid(1, 27, "named placeholders such as `:a`"),
    ),
    ("SELECT ?, $2", Invalid(1, 11, "`$2` is not one")),
];

const GENERIC: &[(&str, P)] = &[
    ("SELECT ?, ?", Counts(&[2])),
    ("SELECT $2, $1", Counts(&[2])),
    ("SELECT '?', \"$1\" -- ?", Counts(&[0])),
    (
        "SELECT ?, $1",
        Invalid(1, 11, "mixes `?` and `$1` placeholders"),
    ),
    (
        "SELECT $1, ?",
        Invalid(1, 12, "mixes `$1` and `?` placeholders"),
    ),
    ("SELECT $1, $3", Invalid(1, 12, "without gaps")),
    ("SELECT :a", Invalid(1, 8, "`:a` is not one")),
    ("SELECT ?2", Invalid(1, 8, "`?2` is not one")),
];

/// Checks a table with `classify` and `check` at every grant.
fn run(dialect: Dialect, cases: &[(&str, P)]) {
    let mut problems = Vec::new();
    for &(sql, expected) in cases {
        let got = classify(sql, dialect);
        match (expected, &got) {
            (Counts(counts), Ok(statements)) => {
                let got: Vec<usize> = statements.iter().map(|s| s.parameters).collect();
                if got != counts {
                    problems.push(format!(
                        "[{dialect}] {sql:?}: counts {got:?}, expected {counts:?}"
                    ));
                }
            }
            (
                Invalid(line, column, says),
                Err(
                    error @ GateError::Parameters {
                        message,
                        line: l,
                        column: c,
                    },
                ),
            ) => {
                if (*l, *c) != (line, column) || !message.contains(says) {
                    problems.push(format!(
                        "[{dialect}] {sql:?}: got {error:?}, expected {says:?} at {line}:{column}"
                    ));
                }
                if error.code() != "INVALID_INPUT"
                    || !error.to_string().starts_with(&format!(
                        "invalid placeholder at line {line}, column {column}: "
                    ))
                {
                    problems.push(format!("[{dialect}] {sql:?}: code or text of {error}"));
                }
            }
            _ => problems.push(format!(
                "[{dialect}] {sql:?}: got {got:?}, expected {expected:?}"
            )),
        }
        // `check` reports the same placeholder error whatever the grant.
        if let Invalid(..) = expected {
            for granted in Tier::ALL {
                let checked = check(sql, dialect, granted);
                if checked.as_ref().err() != got.as_ref().err() {
                    problems.push(format!(
                        "[{dialect}] {sql:?}: check at {granted}: {checked:?}"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn sqlite_rules() {
    run(Dialect::Sqlite, SQLITE);
}

#[test]
fn postgres_rules() {
    run(Dialect::PostgreSql, POSTGRES);
}

#[test]
fn mysql_rules() {
    run(Dialect::MySql, MYSQL);
}

#[test]
fn generic_rules() {
    run(Dialect::Generic, GENERIC);
}

#[test]
fn a_refused_placeholder_stops_the_whole_input() {
    // Nothing runs: the first statement is fine, the second is not.
    let error = classify("SELECT ?; SELECT :a", Dialect::Sqlite).unwrap_err();
    assert!(
        matches!(
            error,
            GateError::Parameters {
                line: 1,
                column: 18,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.position(), Some((1, 18)));
}

#[test]
fn trigger_bodies_are_counted_with_their_statement() {
    let statements = classify(
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END; SELECT ?",
        Dialect::Sqlite,
    )
    .unwrap();
    let counts: Vec<usize> = statements.iter().map(|s| s.parameters).collect();
    assert_eq!(counts, [0, 1]);
}

/// The cases that classify, with their statements' texts and counts.
fn accepted(dialect: Dialect, cases: &[(&str, P)]) -> Vec<(String, usize)> {
    cases
        .iter()
        .filter(|(_, expected)| matches!(expected, Counts(_)))
        .flat_map(|(sql, _)| classify(sql, dialect).unwrap())
        .map(|statement| (statement.sql, statement.parameters))
        .collect()
}

#[test]
fn sqlite_counts_match_sqlite() {
    let connection = rusqlite::Connection::open_in_memory().unwrap();
    connection
        .execute_batch("CREATE TABLE t (a INTEGER, b INTEGER, data TEXT)")
        .unwrap();
    for (sql, count) in accepted(Dialect::Sqlite, SQLITE) {
        let statement = connection
            .prepare(&sql)
            .unwrap_or_else(|e| panic!("{sql:?}: {e}"));
        assert_eq!(statement.parameter_count(), count, "{sql:?}");
    }
    // What the gate refuses as named placeholders, SQLite does read as placeholders.
    for sql in [
        "SELECT :a",
        "SELECT @a",
        "SELECT $a",
        "SELECT $1",
        "SELECT #a",
        "SELECT a <@b FROM t",
    ] {
        let statement = connection
            .prepare(sql)
            .unwrap_or_else(|e| panic!("{sql:?}: {e}"));
        assert_eq!(statement.parameter_count(), 1, "{sql:?}");
    }
}

#[test]
fn postgres_counts_match_the_server() {
    let url = live::url(
        "PLENUM_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    );
    let mut client = match postgres::Client::connect(&url, postgres::NoTls) {
        Ok(client) => client,
        Err(error) => return live::unreachable("PostgreSQL", &error),
    };
    let schema = live::unique_name("gate_params");
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {schema}; SET search_path TO {schema};
             CREATE TABLE t (a int, b int, data jsonb);"
        ))
        .unwrap();
    let mut problems = Vec::new();
    for (sql, count) in accepted(Dialect::PostgreSql, POSTGRES) {
        match client.prepare(&sql) {
            Ok(statement) if statement.params().len() == count => {}
            other => problems.push(format!("{sql:?}: expected {count}, got {other:?}")),
        }
    }
    // The refusals are statements the server cannot prepare either.
    for sql in [
        "SELECT $1::int, $3::int",
        "SELECT $0",
        "SELECT a FROM t WHERE a = ?",
        "SELECT a FROM t WHERE a = :id",
        "SELECT $1$x$1$",
    ] {
        if let Ok(statement) = client.prepare(sql) {
            problems.push(format!("{sql:?} prepared with {:?}", statement.params()));
        }
    }
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn mysql_counts_match_the_server() {
    let url = live::url("PLENUM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test");
    let opts = mysql::Opts::from_url(&url).expect("PLENUM_TEST_MYSQL_URL is a MySQL URL");
    let mut conn = match mysql::Conn::new(opts) {
        Ok(conn) => conn,
        Err(error) => return live::unreachable("MySQL", &error),
    };
    let name = live::unique_name("gate_params");
    conn.query_drop(format!("CREATE DATABASE `{name}`"))
        .unwrap();
    conn.query_drop(format!("USE `{name}`")).unwrap();
    conn.query_drop("CREATE TABLE t (a INT, b INT, data JSON)")
        .unwrap();
    let mut problems = Vec::new();
    for (sql, count) in accepted(Dialect::MySql, MYSQL) {
        match conn.prep(&sql) {
            Ok(statement) if usize::from(statement.num_params()) == count => {}
            other => problems.push(format!("{sql:?}: expected {count}, got {other:?}")),
        }
    }
    conn.query_drop(format!("DROP DATABASE `{name}`")).unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
