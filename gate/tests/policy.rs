//! An engine's declared policy (plugin API 1.2): lexical features checked by a second
//! reading, refused and raised functions, statements and relations. A policy only tightens.

use plenum_gate::{check_with, classify_with, Dialect, GateError, Lexing, Policy, Rule, Tier};

fn duckdb_lexing() -> Lexing {
    Lexing {
        escape_strings: true,
        nested_comments: true,
        dollar_quotes: true,
        ..Lexing::default()
    }
}

fn with_lexing(lexing: Lexing) -> Policy {
    Policy {
        lexing: Some(lexing),
        ..Policy::default()
    }
}

fn refused(result: Result<Vec<plenum_gate::Statement>, GateError>) -> String {
    match result {
        Err(GateError::Refused { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn names(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|part| (*part).to_owned()).collect()
}

#[test]
fn escape_string_smuggling_is_refused_under_declared_escape_strings() {
    let policy = with_lexing(duckdb_lexing());
    let sql = "SELECT E'\\''; COPY (SELECT 1) TO $$f$$; -- '";
    let error = classify_with(sql, Dialect::DuckDb, &policy).unwrap_err();
    eprintln!("duckdb: {error}");
    assert!(
        matches!(error, GateError::Refused { .. } | GateError::Parse { .. }),
        "{error:?}"
    );
    // The same text in a generic dialect with declared escape strings: the parser would read
    // one SELECT; the second reading disagrees.
    let error = classify_with(sql, Dialect::Generic, &policy).unwrap_err();
    assert!(
        matches!(error, GateError::Refused { .. } | GateError::Parse { .. }),
        "{error:?}"
    );
}

#[test]
fn escape_strings_that_read_alike_pass() {
    let policy = with_lexing(duckdb_lexing());
    for sql in [
        "SELECT 'a''b', 1",
        "SELECT 'it''s'; SELECT 2",
        "SELECT 1 -- comment\n",
        "SELECT /* c */ 1",
        "SELECT \"col\" FROM t",
        "SELECT e FROM t WHERE e = 'x'",
    ] {
        let statements = classify_with(sql, Dialect::DuckDb, &policy)
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
        assert!(statements.iter().all(|s| s.tier == Tier::Read), "{sql}");
    }
}

#[test]
fn backslash_escapes_hide_a_statement_from_the_parser() {
    // Hive/Spark-like engines read `\'` inside a string; sqlparser's generic dialect does not.
    let policy = with_lexing(Lexing {
        backslash_escapes: true,
        ..Lexing::default()
    });
    // The parser reads a string and a comment; the engine one string that runs to the end.
    let sql = "SELECT 'a\\' AS x -- '\n";
    let reason = refused(classify_with(sql, Dialect::PostgreSql, &policy));
    assert!(reason.contains("differently"), "{reason}");
    // The other way round: the engine reads `read_csv(…)` as code the parser reads in a
    // string.
    let sql = "SELECT 'a\\'', read_csv('x') -- '\n";
    assert!(classify_with(sql, Dialect::PostgreSql, &policy).is_err());
    // Without backslashes both read alike.
    let statements = classify_with("SELECT 'a''b'", Dialect::PostgreSql, &policy).unwrap();
    assert_eq!(statements.len(), 1);
}

#[test]
fn nesting_of_comments_must_agree() {
    // An engine whose comments do not nest, parsed with a dialect whose comments do.
    let flat = with_lexing(Lexing::default());
    let sql = "SELECT 1 /* /* */ ; DELETE FROM t; -- */";
    let lexing_refusal = classify_with(sql, Dialect::PostgreSql, &flat);
    assert!(refused(lexing_refusal).contains("differently"));
    // Declared nesting where the dialect nests too: the readings agree.
    let nested = with_lexing(Lexing {
        nested_comments: true,
        ..Lexing::default()
    });
    let statements = classify_with(sql, Dialect::PostgreSql, &nested).unwrap();
    assert_eq!(statements.len(), 1);
}

#[test]
fn executable_comments_are_refused_when_declared() {
    let policy = with_lexing(Lexing {
        executable_comments: true,
        ..Lexing::default()
    });
    let reason = refused(classify_with(
        "SELECT 1 /*! , (DELETE FROM t) */",
        Dialect::PostgreSql,
        &policy,
    ));
    assert!(reason.contains("/*!"), "{reason}");
}

#[test]
fn dollar_quotes_must_agree() {
    // An engine with dollar quotes, parsed with a dialect that reads `$$` otherwise.
    let policy = with_lexing(Lexing {
        dollar_quotes: true,
        ..Lexing::default()
    });
    let sql = "SELECT $$ ; DROP TABLE t; $$";
    assert!(classify_with(sql, Dialect::MySql, &policy).is_err());
    // In a dialect that lexes them the same way, fine.
    let statements = classify_with("SELECT $$a;b$$", Dialect::PostgreSql, &policy).unwrap();
    assert_eq!(statements.len(), 1);
}

#[test]
fn declared_functions_are_refused_or_raised_anywhere() {
    let policy = Policy {
        functions: vec![
            (
                names(&["read_csv"]),
                Rule::Refused("it reads files".to_owned()),
            ),
            (names(&["main", "bump"]), Rule::Needs(Tier::Write)),
        ],
        ..Policy::default()
    };
    for sql in [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM READ_CSV('/etc/passwd')",
        "SELECT (SELECT count(*) FROM read_csv('x')) AS n",
        "SELECT 1 WHERE EXISTS (SELECT * FROM t, read_csv('x'))",
        "SELECT read_csv('x')",
    ] {
        let reason = refused(classify_with(sql, Dialect::DuckDb, &policy));
        assert!(reason.contains("it reads files"), "{sql}: {reason}");
    }
    let statements = classify_with("SELECT bump(1)", Dialect::DuckDb, &policy).unwrap();
    assert_eq!(statements[0].tier, Tier::Write);
    assert_eq!(statements[0].cause.as_deref(), Some("calls bump()"));
    let statements = classify_with("SELECT other.bump(1)", Dialect::DuckDb, &policy).unwrap();
    assert_eq!(statements[0].tier, Tier::Read);
    let error = check_with("SELECT main.bump(1)", Dialect::DuckDb, Tier::Read, &policy);
    assert!(matches!(error, Err(GateError::NeedsTier { .. })));
}

#[test]
fn a_policy_never_lowers_a_tier_or_lifts_a_refusal() {
    let policy = Policy {
        functions: vec![(names(&["nextval"]), Rule::Needs(Tier::Read))],
        statements: vec![("DELETE".to_owned(), Rule::Needs(Tier::Read))],
        ..Policy::default()
    };
    let statements = classify_with("SELECT nextval('s')", Dialect::DuckDb, &policy).unwrap();
    assert_eq!(statements[0].tier, Tier::Write);
    let statements = classify_with("DELETE FROM t", Dialect::DuckDb, &policy).unwrap();
    assert_eq!(statements[0].tier, Tier::Write);
    // The host's own refusals stay.
    assert!(classify_with("COPY t TO 'f'", Dialect::DuckDb, &policy).is_err());
}

#[test]
fn declared_statements_are_refused_or_raised() {
    let policy = Policy {
        statements: vec![
            (
                "CREATE SECRET".to_owned(),
                Rule::Refused("secrets".to_owned()),
            ),
            ("CREATE VIEW".to_owned(), Rule::Refused("views".to_owned())),
            ("SELECT".to_owned(), Rule::Needs(Tier::Write)),
        ],
        ..Policy::default()
    };
    let reason = refused(classify_with(
        "CREATE VIEW v AS SELECT 1",
        Dialect::DuckDb,
        &policy,
    ));
    assert_eq!(reason, "views");
    let statements = classify_with("SELECT 1", Dialect::DuckDb, &policy).unwrap();
    assert_eq!(statements[0].tier, Tier::Write);
}

#[test]
fn declared_relations_and_string_relations_are_refused() {
    let policy = Policy {
        relations: vec![(names(&["duckdb_secrets"]), "secrets".to_owned())],
        string_relations: Some("the engine reads it as a file".to_owned()),
        ..Policy::default()
    };
    let reason = refused(classify_with(
        "SELECT * FROM main.DUCKDB_SECRETS",
        Dialect::DuckDb,
        &policy,
    ));
    assert!(reason.contains("secrets"), "{reason}");
    let reason = refused(classify_with(
        "SELECT * FROM 'data.csv'",
        Dialect::DuckDb,
        &policy,
    ));
    assert!(reason.contains("string literal"), "{reason}");
    // Without the policy, the dialect's rules alone decide.
    let plain = classify_with("SELECT * FROM t", Dialect::DuckDb, &policy).unwrap();
    assert_eq!(plain[0].tier, Tier::Read);
}
