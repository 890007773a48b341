//! `Statement::sql` is exactly the source slice that was classified, and positions are right.

use plenum_gate::{check, classify, Dialect, GateError, Tier};

fn texts(sql: &str, dialect: Dialect) -> Vec<String> {
    classify(sql, dialect)
        .unwrap_or_else(|e| panic!("{sql:?}: {e}"))
        .into_iter()
        .map(|s| s.sql)
        .collect()
}

fn positions(sql: &str, dialect: Dialect) -> Vec<(u64, u64)> {
    classify(sql, dialect)
        .unwrap_or_else(|e| panic!("{sql:?}: {e}"))
        .into_iter()
        .map(|s| (s.line, s.column))
        .collect()
}

#[test]
fn comments_and_semicolons_around_statements_are_not_part_of_the_text() {
    assert_eq!(
        texts("SELECT 1; /* c */ SELECT 'a;b' ;", Dialect::Sqlite),
        ["SELECT 1", "SELECT 'a;b'"]
    );
    assert_eq!(
        texts(
            "-- lead\nSELECT 1 -- tail\n;\n\n/* x */ SELECT 2 /* y */",
            Dialect::PostgreSql
        ),
        ["SELECT 1", "SELECT 2"]
    );
    assert_eq!(texts("  SELECT 1  ;;  ;", Dialect::MySql), ["SELECT 1"]);
}

#[test]
fn inner_comments_and_whitespace_are_kept_verbatim() {
    let sql = "SELECT a, /* why */ b\n  FROM t -- note\n  WHERE x = 'y;z'";
    assert_eq!(texts(sql, Dialect::Sqlite), [sql]);
    let sql = "SELECT\t1\r\n  + 2";
    assert_eq!(texts(sql, Dialect::PostgreSql), [sql]);
}

#[test]
fn every_text_is_a_slice_of_the_input() {
    let inputs = [
        (Dialect::Sqlite, "SELECT 1;SELECT 2;SELECT 3"),
        (
            Dialect::PostgreSql,
            "SELECT $$a;b$$; SELECT E'c\\';d'; SELECT \"x;y\" FROM t",
        ),
        (
            Dialect::MySql,
            "SELECT `a;b` FROM t; SELECT 'c\\';d'; SELECT 1 # x;y\n",
        ),
        (
            Dialect::Sqlite,
            "SELECT 'ü'; SELECT 'ß' || \"名\"; SELECT 1",
        ),
    ];
    for (dialect, sql) in inputs {
        let mut from = 0;
        for statement in classify(sql, dialect).unwrap() {
            let at = sql[from..]
                .find(&statement.sql)
                .unwrap_or_else(|| panic!("{:?} not found in {sql:?}", statement.sql));
            from += at + statement.sql.len();
        }
    }
    assert_eq!(
        texts("SELECT $$a;b$$; SELECT E'c\\';d'", Dialect::PostgreSql),
        ["SELECT $$a;b$$", "SELECT E'c\\';d'"]
    );
    assert_eq!(
        texts("SELECT 'c\\';d'; SELECT 2", Dialect::MySql),
        ["SELECT 'c\\';d'", "SELECT 2"]
    );
}

#[test]
fn trigger_bodies_keep_their_semicolons() {
    let trigger =
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE u SET a = 1;\n  DELETE FROM v;\nEND";
    let sql = format!("{trigger};\nSELECT 1;");
    let statements = classify(&sql, Dialect::Sqlite).unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(statements[0].sql, trigger);
    assert_eq!(statements[0].tier, Tier::Ddl);
    assert_eq!(statements[0].kind, "CREATE TRIGGER");
    assert_eq!(statements[1].sql, "SELECT 1");
    assert_eq!((statements[1].line, statements[1].column), (5, 1));
}

#[test]
fn dollar_quoted_function_bodies_are_one_statement() {
    let function = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; SELECT 2; $$ LANGUAGE sql";
    let sql = format!("{function}; SELECT f()");
    assert_eq!(texts(&sql, Dialect::PostgreSql), [function, "SELECT f()"]);
}

#[test]
fn positions_are_one_based_lines_and_character_columns() {
    assert_eq!(positions("SELECT 1", Dialect::Sqlite), [(1, 1)]);
    assert_eq!(
        positions("  SELECT 1; SELECT 2", Dialect::Sqlite),
        [(1, 3), (1, 13)]
    );
    assert_eq!(
        positions("SELECT 1;\n\n   -- c\n\tSELECT 2", Dialect::PostgreSql),
        [(1, 1), (4, 2)]
    );
    // Columns count characters, not bytes.
    assert_eq!(
        positions("SELECT 'ééé'; SELECT 2", Dialect::Sqlite),
        [(1, 1), (1, 15)]
    );
    assert_eq!(
        positions("SELECT '日本'; SELECT 2", Dialect::MySql),
        [(1, 1), (1, 14)]
    );
    // A CRLF is one line break.
    assert_eq!(
        positions("SELECT 1;\r\nSELECT 2", Dialect::Sqlite),
        [(1, 1), (2, 1)]
    );
}

#[test]
fn errors_point_at_the_statement_or_the_token() {
    match check("SELECT 1;\n  DELETE FROM t", Dialect::Sqlite, Tier::Read) {
        Err(GateError::NeedsTier {
            index: 2,
            line: 2,
            column: 3,
            needed: Tier::Write,
            granted: Tier::Read,
            kind,
            cause: None,
        }) => assert_eq!(kind, "DELETE"),
        other => panic!("{other:?}"),
    }
    match classify("SELECT 1;\nSELECT 2;\n   COMMIT", Dialect::PostgreSql) {
        Err(GateError::Refused {
            index: 3,
            line: 3,
            column: 4,
            kind,
            ..
        }) => assert_eq!(kind, "COMMIT"),
        other => panic!("{other:?}"),
    }
    match classify("SELECT 1;\nSELECT * FROM t WHERE a = = 1", Dialect::Sqlite) {
        Err(GateError::Parse {
            line: 2, column, ..
        }) => assert_eq!(column, 27),
        other => panic!("{other:?}"),
    }
    match classify("SELECT 1;\nSELECT 'open", Dialect::Sqlite) {
        Err(GateError::Parse { line: 2, .. }) => {}
        other => panic!("{other:?}"),
    }
    // An error at the end of a statement points at its end, not at line 0.
    match classify("SELECT 1 +", Dialect::Sqlite) {
        Err(GateError::Parse {
            line: 1, column, ..
        }) => assert!(column >= 10, "{column}"),
        other => panic!("{other:?}"),
    }
    match classify("SELECT 1; /*! DROP TABLE t */", Dialect::MySql) {
        Err(GateError::Refused {
            index: 2,
            line: 1,
            column: 11,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn messages_say_what_to_do() {
    let error = check("SELECT 1; DELETE FROM t", Dialect::Sqlite, Tier::Read).unwrap_err();
    assert_eq!(
        error.to_string(),
        "statement 2 (DELETE) needs the write tier"
    );
    assert_eq!(error.code(), "CAPABILITY_VIOLATION");
    let error = check("DROP TABLE t", Dialect::Sqlite, Tier::Write).unwrap_err();
    assert_eq!(
        error.to_string(),
        "statement 1 (DROP TABLE) needs the ddl tier"
    );
    let error = check("BEGIN", Dialect::PostgreSql, Tier::Ddl).unwrap_err();
    assert!(
        error.to_string().starts_with(
            "BEGIN is refused: each call runs in its own transaction owned by Plenum; send all statements in one call instead"
        ),
        "{error}"
    );
    assert_eq!(error.code(), "CAPABILITY_VIOLATION");
    let error = classify("SELEC 1", Dialect::Sqlite).unwrap_err();
    assert_eq!(error.code(), "PARSE_ERROR");
    assert!(error.to_string().contains("line 1, column 1"), "{error}");
    assert_eq!(
        classify(" ; ", Dialect::Sqlite).unwrap_err().code(),
        "PARSE_ERROR"
    );
}

#[test]
fn check_reports_the_first_statement_above_the_grant() {
    let sql = "SELECT 1; INSERT INTO t VALUES (1); DROP TABLE t; DELETE FROM t";
    match check(sql, Dialect::Sqlite, Tier::Read) {
        Err(GateError::NeedsTier {
            index: 2,
            needed: Tier::Write,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    match check(sql, Dialect::Sqlite, Tier::Write) {
        Err(GateError::NeedsTier {
            index: 3,
            needed: Tier::Ddl,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let statements = check(sql, Dialect::Sqlite, Tier::Ddl).unwrap();
    let tiers: Vec<Tier> = statements.iter().map(|s| s.tier).collect();
    assert_eq!(tiers, [Tier::Read, Tier::Write, Tier::Ddl, Tier::Write]);
    // A refusal anywhere wins over a tier problem earlier in the input.
    match check("DELETE FROM t; COMMIT", Dialect::Sqlite, Tier::Read) {
        Err(GateError::Refused { index: 2, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn tier_and_dialect_names() {
    assert_eq!(Tier::Read.as_str(), "read");
    assert_eq!(Tier::Write.as_str(), "write");
    assert_eq!(Tier::Ddl.as_str(), "ddl");
    assert!(Tier::Read < Tier::Write && Tier::Write < Tier::Ddl);
    for (name, dialect) in [
        ("sqlite", Dialect::Sqlite),
        ("postgresql", Dialect::PostgreSql),
        ("postgres", Dialect::PostgreSql),
        ("PostgreSQL", Dialect::PostgreSql),
        ("mysql", Dialect::MySql),
        ("generic", Dialect::Generic),
        ("mssql", Dialect::MsSql),
        ("snowflake", Dialect::Snowflake),
        ("duckdb", Dialect::DuckDb),
        ("bigquery", Dialect::BigQuery),
        ("ansi", Dialect::Ansi),
        ("hive", Dialect::Hive),
        ("redshift", Dialect::Redshift),
        ("clickhouse", Dialect::ClickHouse),
        ("databricks", Dialect::Databricks),
    ] {
        assert_eq!(Dialect::from_name(name), Some(dialect), "{name}");
    }
    assert_eq!(Dialect::from_name("oracle-ish"), None);
    assert_eq!(Dialect::from_name(""), None);
    for dialect in Dialect::ALL {
        assert_eq!(Dialect::from_name(dialect.name()), Some(dialect));
        // Every dialect classifies a plain read and refuses a transaction.
        assert_eq!(classify("SELECT 1", dialect).unwrap()[0].tier, Tier::Read);
        assert!(matches!(
            classify("COMMIT", dialect),
            Err(GateError::Refused { .. })
        ));
    }
}
