//! Each dialect's default policy (the host's own tables) and how a declared policy is
//! enforced with it: the declaration adds, the default stays.

use plenum_gate::{check_with, classify, classify_with, Dialect, GateError, Policy, Rule, Tier};

fn refused(result: Result<Vec<plenum_gate::Statement>, GateError>) -> String {
    match result {
        Err(GateError::Refused { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn declaring(functions: &[(&str, Rule)]) -> Policy {
    Policy {
        functions: functions
            .iter()
            .map(|(name, rule)| {
                let parts = name.split('.').map(str::to_owned).collect();
                (parts, rule.clone())
            })
            .collect(),
        ..Policy::default()
    }
}

#[test]
fn an_empty_declaration_gets_the_dialect_default() {
    let none = Policy::default();
    for (sql, dialect) in [
        ("SELECT pg_read_file('/etc/passwd')", Dialect::PostgreSql),
        ("SELECT * FROM pg_ls_dir('.')", Dialect::PostgreSql),
        ("SELECT lo_export(1, '/tmp/x')", Dialect::PostgreSql),
        ("SELECT LOAD_FILE('/etc/passwd')", Dialect::MySql),
        ("SELECT * FROM performance_schema.threads", Dialect::MySql),
        ("SELECT readfile('x')", Dialect::Sqlite),
        ("SELECT load_extension('x')", Dialect::DuckDb),
    ] {
        let declared = refused(classify_with(sql, dialect, &none));
        let default = refused(classify(sql, dialect));
        assert_eq!(declared, default, "{sql}");
    }
}

#[test]
fn a_declared_allow_never_lifts_a_default_refusal_or_tier() {
    let allow = declaring(&[
        ("pg_read_file", Rule::Needs(Tier::Read)),
        ("pg_catalog.lo_export", Rule::Needs(Tier::Read)),
        ("*", Rule::Needs(Tier::Read)),
        ("nextval", Rule::Needs(Tier::Read)),
        ("brin_summarize_range", Rule::Needs(Tier::Write)),
    ]);
    let reason = refused(classify_with(
        "SELECT pg_read_file('/etc/passwd')",
        Dialect::PostgreSql,
        &allow,
    ));
    assert!(reason.contains("files"), "{reason}");
    assert!(classify_with("SELECT lo_export(1, 'f')", Dialect::PostgreSql, &allow).is_err());
    let statements = classify_with("SELECT nextval('s')", Dialect::PostgreSql, &allow).unwrap();
    assert_eq!(statements[0].tier, Tier::Write);
    let statements = classify_with(
        "SELECT brin_summarize_range('i', 1)",
        Dialect::PostgreSql,
        &allow,
    )
    .unwrap();
    assert_eq!(statements[0].tier, Tier::Ddl);
    let error = check_with(
        "SELECT nextval('s')",
        Dialect::PostgreSql,
        Tier::Read,
        &allow,
    );
    assert!(
        matches!(error, Err(GateError::NeedsTier { .. })),
        "{error:?}"
    );
}

#[test]
fn a_declaration_adds_refusals_and_tiers_with_the_defaults_reasons_first() {
    let declared = declaring(&[
        (
            "pg_stat_statements",
            Rule::Refused("statement texts".to_owned()),
        ),
        ("pg_read_file", Rule::Refused("declared reason".to_owned())),
        ("f*", Rule::Needs(Tier::Ddl)),
    ]);
    let sql = "WITH x AS (SELECT pg_stat_statements(true)) SELECT * FROM x";
    let reason = refused(classify_with(sql, Dialect::PostgreSql, &declared));
    assert_eq!(reason, "pg_stat_statements() (in CTE `x`): statement texts");
    assert!(classify(sql, Dialect::PostgreSql).is_ok());
    // Where both refuse, the default's reason is given.
    let reason = refused(classify_with(
        "SELECT pg_read_file('x')",
        Dialect::PostgreSql,
        &declared,
    ));
    assert!(reason.contains("files on the database server"), "{reason}");
    let statements = classify_with("SELECT fold(1)", Dialect::PostgreSql, &declared).unwrap();
    assert_eq!(statements[0].tier, Tier::Ddl);
    assert_eq!(statements[0].cause.as_deref(), Some("calls fold()"));
}

#[test]
fn declared_relations_are_checked_during_the_walk() {
    let declared = Policy {
        relations: vec![(vec!["secrets".to_owned()], "credentials".to_owned())],
        ..Policy::default()
    };
    for sql in [
        "SELECT * FROM app.secrets",
        "SELECT 1 WHERE EXISTS (SELECT 1 FROM secrets)",
        "INSERT INTO secrets VALUES (1)",
        "SELECT 'secrets'::regclass",
    ] {
        let reason = refused(classify_with(sql, Dialect::PostgreSql, &declared));
        assert!(reason.contains("credentials"), "{sql}: {reason}");
    }
}

#[test]
fn schema_relations_need_their_schema() {
    let default = Policy::dialect_default(Dialect::MySql);
    assert!(default
        .relation_refusal(&["performance_schema", "events_statements_history"])
        .is_some());
    assert!(default
        .relation_refusal(&["events_statements_history"])
        .is_none());
    assert!(classify("SELECT * FROM session", Dialect::MySql).is_ok());
    assert!(classify("SELECT * FROM sys.session", Dialect::MySql).is_err());
}
