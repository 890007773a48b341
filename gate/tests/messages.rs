//! What the gate's refusals say: when something inside a statement (a data-modifying CTE, the
//! statement under `EXPLAIN ANALYZE`, a function with side effects, a locking clause,
//! `SELECT … INTO`) decides its tier, the message names that thing and where it is, and never
//! repeats a literal from the SQL.

mod support;

use plenum_gate::{check, classify, Dialect, GateError, Tier};
use support::cases::{ALL_DIALECTS, GENERIC, MYSQL, POSTGRES, SQLITE};

/// The message `check` gives for `sql` at `granted`.
fn message(sql: &str, dialect: Dialect, granted: Tier) -> String {
    match check(sql, dialect, granted) {
        Ok(statements) => panic!("[{dialect}] {sql:?} passed at {granted}: {statements:?}"),
        Err(error) => {
            assert_eq!(error.code(), "CAPABILITY_VIOLATION", "{sql:?}: {error}");
            error.to_string()
        }
    }
}

/// Checks every `(sql, message)` case at the read grant and reports all mismatches at once.
fn expect_messages(dialect: Dialect, cases: &[(&str, &str)]) {
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(sql, expected)| {
            let got = message(sql, dialect, Tier::Read);
            (got != *expected).then(|| format!("{sql:?}\n  expected {expected}\n  got      {got}"))
        })
        .collect();
    assert!(wrong.is_empty(), "[{dialect}]\n{}", wrong.join("\n"));
}

#[test]
fn postgres_names_what_inside_needs_the_tier() {
    expect_messages(
        Dialect::PostgreSql,
        &[
            // Data-modifying CTEs.
            (
                "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
                "statement 1 (WITH … SELECT) contains a DELETE (in CTE `d`), which needs the write tier",
            ),
            (
                "WITH i AS (INSERT INTO t VALUES (1) RETURNING id) SELECT * FROM i",
                "statement 1 (WITH … SELECT) contains an INSERT (in CTE `i`), which needs the write tier",
            ),
            (
                "WITH a AS (SELECT 1), u AS (UPDATE t SET n = 1 RETURNING *) SELECT * FROM a, u",
                "statement 1 (WITH … SELECT) contains an UPDATE (in CTE `u`), which needs the write tier",
            ),
            // The innermost CTE is named.
            (
                "WITH outer_cte AS (WITH inner_cte AS (DELETE FROM t RETURNING *) SELECT * FROM inner_cte) SELECT * FROM outer_cte",
                "statement 1 (WITH … SELECT) contains a DELETE (in CTE `inner_cte`), which needs the write tier",
            ),
            // Quoted names keep their spelling.
            (
                "WITH \"Gone Rows\" AS (DELETE FROM t RETURNING *) SELECT * FROM \"Gone Rows\"",
                "statement 1 (WITH … SELECT) contains a DELETE (in CTE `Gone Rows`), which needs the write tier",
            ),
            // EXPLAIN ANALYZE runs its statement, in either spelling.
            (
                "EXPLAIN ANALYZE DELETE FROM t",
                "statement 1 (EXPLAIN ANALYZE) runs a DELETE, which needs the write tier",
            ),
            (
                "EXPLAIN (ANALYZE, FORMAT JSON) WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
                "statement 1 (EXPLAIN ANALYZE) runs a DELETE (in CTE `d`), which needs the write tier",
            ),
            (
                "EXPLAIN ANALYZE CREATE TABLE t2 AS SELECT 1",
                "statement 1 (EXPLAIN ANALYZE) runs a CREATE TABLE, which needs the ddl tier",
            ),
            (
                "EXPLAIN ANALYZE SELECT nextval('s')",
                "statement 1 (EXPLAIN ANALYZE) calls nextval(), which needs the write tier",
            ),
            // Functions with side effects, by name.
            (
                "SELECT nextval('orders_id_seq')",
                "statement 1 (SELECT) calls nextval(), which needs the write tier",
            ),
            (
                "WITH s AS (SELECT pg_catalog.setval('orders_id_seq', 42)) SELECT * FROM s",
                "statement 1 (WITH … SELECT) calls setval() (in CTE `s`), which needs the write tier",
            ),
            (
                "SELECT * FROM t WHERE id IN (SELECT nextval('s'))",
                "statement 1 (SELECT) calls nextval(), which needs the write tier",
            ),
            // Row locks, also in the spellings the gate rewrites.
            (
                "SELECT * FROM t FOR UPDATE",
                "statement 1 (SELECT) takes row locks with FOR UPDATE or FOR SHARE, which needs the write tier",
            ),
            (
                "SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED",
                "statement 1 (SELECT) takes row locks with FOR UPDATE or FOR SHARE, which needs the write tier",
            ),
            (
                "WITH l AS (SELECT * FROM t FOR KEY SHARE) SELECT * FROM l",
                "statement 1 (WITH … SELECT) takes row locks with FOR UPDATE or FOR SHARE (in CTE `l`), which needs the write tier",
            ),
            // SELECT … INTO creates a table.
            (
                "SELECT * INTO copy_of_t FROM t",
                "statement 1 (SELECT INTO) creates a new table, which needs the ddl tier",
            ),
            (
                "EXPLAIN ANALYZE SELECT * INTO copy_of_t FROM t",
                "statement 1 (EXPLAIN ANALYZE) runs a SELECT … INTO, which needs the ddl tier",
            ),
            // The first thing that reaches the statement's tier is named, not a lower one.
            (
                "WITH d AS (DELETE FROM t RETURNING *) SELECT * INTO copy_of_d FROM d",
                "statement 1 (WITH … SELECT INTO) creates a new table, which needs the ddl tier",
            ),
            // In a later statement.
            (
                "SELECT 1; WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
                "statement 2 (WITH … SELECT) contains a DELETE (in CTE `d`), which needs the write tier",
            ),
            // Where the statement's own kind needs the tier, the message stays short.
            ("DELETE FROM t", "statement 1 (DELETE) needs the write tier"),
            (
                "WITH old AS (SELECT id FROM t) DELETE FROM t USING old WHERE t.id = old.id",
                "statement 1 (WITH … DELETE) needs the write tier",
            ),
            (
                "INSERT INTO t SELECT nextval('s') FROM u FOR UPDATE",
                "statement 1 (INSERT) needs the write tier",
            ),
            ("CREATE TABLE t2 (a int)", "statement 1 (CREATE TABLE) needs the ddl tier"),
            // Refusals name the function or relation, and the CTE it is in.
            (
                "WITH l AS (SELECT pg_advisory_lock(1)) SELECT * FROM l",
                "WITH … SELECT is refused: pg_advisory_lock() (in CTE `l`): it takes or inspects locks that outlive the statement and can block other sessions (statement 1, line 1, column 1)",
            ),
            (
                "SELECT query FROM pg_catalog.pg_stat_activity",
                "SELECT is refused: pg_stat_activity: it shows the SQL text of other sessions, which may hold secrets (statement 1, line 1, column 1)",
            ),
            (
                "EXPLAIN COMMIT",
                "EXPLAIN is refused: it contains a COMMIT, which is refused: each call runs in its own transaction owned by Plenum; send all statements in one call instead (statement 1, line 1, column 1)",
            ),
        ],
    );
}

#[test]
fn a_grant_below_the_cause_names_it_and_a_write_grant_names_the_ddl_part() {
    let sql = "INSERT INTO t SELECT * INTO copy_of_u FROM u";
    assert_eq!(
        message(sql, Dialect::PostgreSql, Tier::Write),
        "statement 1 (INSERT) contains a SELECT … INTO, which needs the ddl tier"
    );
    assert_eq!(
        message(sql, Dialect::PostgreSql, Tier::Read),
        "statement 1 (INSERT) contains a SELECT … INTO, which needs the ddl tier"
    );
    // A write grant is enough for a CTE that deletes: nothing to say.
    let sql = "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d";
    assert!(check(sql, Dialect::PostgreSql, Tier::Write).is_ok());
}

#[test]
fn the_cause_is_part_of_the_verdict() {
    let statements = classify(
        "SELECT nextval('s'); DELETE FROM t; WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
        Dialect::PostgreSql,
    )
    .unwrap();
    let causes: Vec<Option<&str>> = statements.iter().map(|s| s.cause.as_deref()).collect();
    assert_eq!(
        causes,
        [
            Some("calls nextval()"),
            None,
            Some("contains a DELETE (in CTE `d`)")
        ]
    );
    match check(
        "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
        Dialect::PostgreSql,
        Tier::Read,
    ) {
        Err(GateError::NeedsTier {
            index: 1,
            kind,
            needed: Tier::Write,
            granted: Tier::Read,
            cause: Some(cause),
            line: 1,
            column: 1,
        }) => {
            assert_eq!(kind, "WITH … SELECT");
            assert_eq!(cause, "contains a DELETE (in CTE `d`)");
        }
        other => panic!("{other:?}"),
    }
    // Reads have nothing to explain.
    let statements = classify("SELECT 1; EXPLAIN DELETE FROM t", Dialect::PostgreSql).unwrap();
    assert!(statements.iter().all(|s| s.cause.is_none()));
}

#[test]
fn mysql_names_what_inside_needs_the_tier() {
    expect_messages(
        Dialect::MySql,
        &[
            // MariaDB sequences.
            (
                "SELECT NEXTVAL(order_seq)",
                "statement 1 (SELECT) calls NEXTVAL(), which needs the write tier",
            ),
            (
                "SELECT SETVAL(order_seq, 100)",
                "statement 1 (SELECT) calls SETVAL(), which needs the write tier",
            ),
            (
                "SELECT * FROM users WHERE id = 1 FOR UPDATE",
                "statement 1 (SELECT) takes row locks with FOR UPDATE or FOR SHARE, which needs the write tier",
            ),
            (
                "SELECT * FROM users LOCK IN SHARE MODE",
                "statement 1 (SELECT) takes row locks with LOCK IN SHARE MODE, which needs the write tier",
            ),
            (
                "EXPLAIN ANALYZE DELETE FROM users",
                "statement 1 (EXPLAIN ANALYZE) runs a DELETE, which needs the write tier",
            ),
            (
                "EXPLAIN ANALYZE REPLACE INTO users VALUES (1, 'a', 2)",
                "statement 1 (EXPLAIN ANALYZE) runs a REPLACE, which needs the write tier",
            ),
            (
                "WITH d AS (SELECT * FROM users FOR UPDATE) SELECT * FROM d",
                "statement 1 (WITH … SELECT) takes row locks with FOR UPDATE or FOR SHARE (in CTE `d`), which needs the write tier",
            ),
            ("INSERT INTO users SELECT * FROM users", "statement 1 (INSERT) needs the write tier"),
            (
                "WITH g AS (SELECT GET_LOCK('app', 10)) SELECT * FROM g",
                "WITH … SELECT is refused: GET_LOCK() (in CTE `g`): it takes or inspects locks that outlive the statement and can block other sessions (statement 1, line 1, column 1)",
            ),
            (
                "SELECT * FROM performance_schema.THREADS",
                "SELECT is refused: performance_schema.threads: it shows the SQL text of other sessions, which may hold secrets (statement 1, line 1, column 1)",
            ),
        ],
    );
}

#[test]
fn sqlite_names_what_inside_needs_the_tier() {
    expect_messages(
        Dialect::Sqlite,
        &[
            (
                "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
                "statement 1 (WITH … SELECT) contains a DELETE (in CTE `d`), which needs the write tier",
            ),
            (
                "WITH u AS (UPDATE t SET n = n + 1 RETURNING n) SELECT max(n) FROM u",
                "statement 1 (WITH … SELECT) contains an UPDATE (in CTE `u`), which needs the write tier",
            ),
            (
                "WITH recent AS (SELECT id FROM t) DELETE FROM t WHERE id IN (SELECT id FROM recent)",
                "statement 1 (WITH … DELETE) needs the write tier",
            ),
            (
                "WITH x AS (SELECT readfile('/etc/passwd') AS body) SELECT * FROM x",
                "WITH … SELECT is refused: readfile() (in CTE `x`): it reads or writes files on the database server (statement 1, line 1, column 1)",
            ),
            (
                "CREATE TRIGGER tr AFTER INSERT ON t BEGIN COMMIT; END",
                "CREATE TRIGGER is refused: it contains a COMMIT, which is refused: each call runs in its own transaction owned by Plenum; send all statements in one call instead (statement 1, line 1, column 1)",
            ),
        ],
    );
    // Planning a data-modifying CTE runs nothing: still a read.
    let statements = classify(
        "EXPLAIN QUERY PLAN WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
        Dialect::Sqlite,
    )
    .unwrap();
    assert_eq!(
        (statements[0].tier, statements[0].cause.as_deref()),
        (Tier::Read, None)
    );
}

#[test]
fn messages_never_repeat_literals() {
    const SECRET: &str = "hunter2-s3cr3t";
    let statements = [
        "WITH d AS (DELETE FROM t WHERE token = 'hunter2-s3cr3t' RETURNING *) SELECT * FROM d",
        "WITH u AS (UPDATE t SET pw = 'hunter2-s3cr3t' RETURNING *) SELECT * FROM u",
        "SELECT nextval('hunter2-s3cr3t')",
        "SELECT * FROM t WHERE pw = 'hunter2-s3cr3t' FOR UPDATE",
        "SELECT 'hunter2-s3cr3t' INTO copy_of_t",
        "EXPLAIN ANALYZE DELETE FROM t WHERE pw = 'hunter2-s3cr3t'",
        "EXPLAIN ANALYZE INSERT INTO t VALUES ('hunter2-s3cr3t')",
        "SELECT 1; INSERT INTO t VALUES ('hunter2-s3cr3t')",
        "WITH x AS (SELECT pg_read_file('hunter2-s3cr3t')) SELECT * FROM x",
        "WITH x AS (SELECT readfile('hunter2-s3cr3t')) SELECT * FROM x",
        "WITH x AS (SELECT GET_LOCK('hunter2-s3cr3t', 1)) SELECT * FROM x",
        "WITH x AS (SELECT pg_advisory_lock(hashtext('hunter2-s3cr3t'))) SELECT * FROM x",
        "SELECT * FROM processlist WHERE info = 'hunter2-s3cr3t'",
        "SELECT * FROM users WHERE pw = 'hunter2-s3cr3t' LOCK IN SHARE MODE",
        "EXPLAIN ANALYZE SELECT set_config('a.b', 'hunter2-s3cr3t', false)",
    ];
    let mut checked = 0;
    for sql in statements {
        for dialect in [Dialect::PostgreSql, Dialect::MySql, Dialect::Sqlite] {
            for granted in Tier::ALL {
                if let Err(error) = check(sql, dialect, granted) {
                    if error.code() == "CAPABILITY_VIOLATION" {
                        checked += 1;
                        let text = error.to_string();
                        assert!(!text.contains(SECRET), "[{dialect}] {sql:?}: {text}");
                    }
                }
            }
        }
    }
    assert!(checked >= 60, "only {checked} refusals checked");
}

/// The contents of the single-quoted strings in `sql` (`''` inside one is a quote).
fn string_literals(sql: &str) -> Vec<String> {
    let mut literals = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    literal.push('\'');
                } else {
                    break;
                }
            } else {
                literal.push(c);
            }
        }
        literals.push(literal);
    }
    literals
}

#[test]
fn no_refusal_in_the_case_tables_repeats_a_literal() {
    let tables = [
        (Dialect::Sqlite, SQLITE),
        (Dialect::PostgreSql, POSTGRES),
        (Dialect::MySql, MYSQL),
        (Dialect::Generic, GENERIC),
    ];
    let mut checked = 0;
    let mut problems = Vec::new();
    for (dialect, table) in tables {
        for (sql, _) in ALL_DIALECTS.iter().chain(table.iter()) {
            // Short strings (`'a'`, `'off'`) occur in ordinary words of any message.
            let literals: Vec<String> = string_literals(sql)
                .into_iter()
                .filter(|l| l.chars().count() >= 5)
                .collect();
            if literals.is_empty() {
                continue;
            }
            for granted in Tier::ALL {
                let Err(error) = check(sql, dialect, granted) else {
                    continue;
                };
                if error.code() != "CAPABILITY_VIOLATION" {
                    continue;
                }
                checked += 1;
                let text = error.to_string();
                for literal in &literals {
                    if text.contains(literal.as_str()) {
                        problems.push(format!("[{dialect}] {sql:?}: {text}"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 50, "only {checked} refusals checked");
}
