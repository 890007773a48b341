//! What the gate reports for the engine to resolve (functions, relations, write targets),
//! and the refusals that need no engine: system-catalog writes, SQL-running built-ins,
//! relations named in strings, MySQL's `INTO@v`.

use plenum_gate::{check, classify, function_is_classified, Dialect, GateError, Tier};

fn names(list: &[plenum_gate::Name]) -> Vec<String> {
    list.iter().map(|name| name.dotted()).collect()
}

fn refused(sql: &str, dialect: Dialect) -> String {
    match classify(sql, dialect) {
        Err(GateError::Refused { reason, .. }) => reason,
        other => panic!("{sql}: expected a refusal, got {other:?}"),
    }
}

#[test]
fn functions_relations_and_targets_are_reported() {
    let statements = classify(
        "WITH c AS (SELECT * FROM app.orders) \
         INSERT INTO audit SELECT f(x), public.g(y) FROM c JOIN users u ON u.id = c.id",
        Dialect::PostgreSql,
    )
    .unwrap();
    let reach = &statements[0].reach;
    assert_eq!(names(&reach.functions), ["f", "public.g"]);
    // The CTE `c` is not a relation at the engine; `audit` is read-and-written.
    assert_eq!(names(&reach.targets), ["audit"]);
    assert!(names(&reach.relations).contains(&"app.orders".to_owned()));
    assert!(names(&reach.relations).contains(&"users".to_owned()));
    assert!(!names(&reach.relations).contains(&"c".to_owned()));
    assert!(!reach.opaque_code);

    let delete = classify(
        "DELETE FROM t USING u WHERE t.id = u.id",
        Dialect::PostgreSql,
    )
    .unwrap();
    assert!(names(&delete[0].reach.targets).contains(&"t".to_owned()));
    let update = classify("UPDATE s.t SET v = h(v)", Dialect::PostgreSql).unwrap();
    assert_eq!(names(&update[0].reach.targets), ["s.t"]);
    assert_eq!(names(&update[0].reach.functions), ["h"]);
    let call = classify("CALL p(1)", Dialect::MySql).unwrap();
    assert_eq!(names(&call[0].reach.functions), ["p"]);
}

#[test]
fn quoting_is_kept_so_the_engine_can_apply_its_case_rules() {
    let statements = classify(r#"SELECT "MyFn"(1) FROM "Sch".tab"#, Dialect::PostgreSql).unwrap();
    let function = &statements[0].reach.functions[0];
    assert_eq!(function.parts[0].value, "MyFn");
    assert!(function.parts[0].quoted);
    let relation = &statements[0].reach.relations[0];
    assert!(relation.parts[0].quoted && !relation.parts[1].quoted);
}

#[test]
fn do_blocks_are_opaque_code() {
    let statements = classify("DO $$BEGIN PERFORM 1; END$$", Dialect::PostgreSql).unwrap();
    assert!(statements[0].reach.opaque_code);
    assert_eq!(statements[0].tier, Tier::Ddl);
}

#[test]
fn writes_to_system_catalogs_are_refused_in_every_tier() {
    for (sql, dialect) in [
        (
            "UPDATE pg_catalog.pg_authid SET rolsuper = true",
            Dialect::PostgreSql,
        ),
        (
            "UPDATE pg_authid SET rolsuper = true WHERE rolname = 'x'",
            Dialect::PostgreSql,
        ),
        (
            "DELETE FROM PG_CATALOG.pg_proc WHERE false",
            Dialect::PostgreSql,
        ),
        (
            "INSERT INTO information_schema.sql_features VALUES (1)",
            Dialect::PostgreSql,
        ),
        ("UPDATE pg_toast_2619.x SET a = 1", Dialect::PostgreSql),
        (
            "INSERT INTO mysql.global_priv VALUES ('%', 'x', '{}')",
            Dialect::MySql,
        ),
        ("REPLACE INTO MySQL.proc SELECT * FROM t", Dialect::MySql),
        (
            "UPDATE t JOIN mysql.user u ON 1 SET u.x = 1",
            Dialect::MySql,
        ),
        ("DELETE FROM sys.sys_config", Dialect::MySql),
        ("UPDATE sqlite_master SET sql = 'x'", Dialect::Sqlite),
        ("INSERT INTO main.sqlite_schema VALUES (1)", Dialect::Sqlite),
        (
            "WITH d AS (DELETE FROM pg_catalog.pg_class RETURNING *) SELECT 1",
            Dialect::PostgreSql,
        ),
    ] {
        let reason = refused(sql, dialect);
        assert!(reason.contains("system catalog"), "{sql}: {reason}");
        // Refused, not merely above a tier: ddl does not allow it either.
        assert!(check(sql, dialect, Tier::Ddl).is_err());
    }
    // Reading a catalog and writing a user table named like one elsewhere stay allowed.
    assert!(check(
        "SELECT * FROM pg_catalog.pg_class",
        Dialect::PostgreSql,
        Tier::Read
    )
    .is_ok());
    assert!(check(
        "INSERT INTO app.users VALUES (1)",
        Dialect::PostgreSql,
        Tier::Write
    )
    .is_ok());
    assert!(check(
        "INSERT INTO sqlite_sequence VALUES ('t', 1)",
        Dialect::Sqlite,
        Tier::Write
    )
    .is_ok());
}

#[test]
fn built_ins_that_run_sql_text_or_read_named_relations_are_refused() {
    for sql in [
        "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ''b''::tsquery')",
        "SELECT ts_rewrite('a'::tsquery, 'SELECT ' || 'x')",
        "SELECT table_to_xml('pg_stat_activity'::regclass, true, false, '')",
        "SELECT schema_to_xml('pg_catalog', true, false, '')",
        "SELECT database_to_xml(true, false, '')",
        "SELECT * FROM crosstab('SELECT 1')",
        "SELECT binary_upgrade_set_next_pg_type_oid(1)",
        "SELECT pg_read_file_old('x', 0, 1)",
        "SELECT * FROM pg_hba_file_rules()",
    ] {
        refused(sql, Dialect::PostgreSql);
    }
    let maintenance =
        classify("SELECT brin_summarize_new_values('i')", Dialect::PostgreSql).unwrap();
    assert_eq!(maintenance[0].tier, Tier::Ddl);
}

#[test]
fn relations_named_in_strings_are_refused_like_the_relation() {
    refused("SELECT 'pg_stat_activity'::regclass", Dialect::PostgreSql);
    refused(
        "SELECT CAST('pg_catalog.pg_stat_activity' AS regclass)",
        Dialect::PostgreSql,
    );
    assert!(classify("SELECT 'users'::regclass", Dialect::PostgreSql).is_ok());
}

#[test]
fn other_sessions_statements_are_refused_on_mariadb() {
    for sql in [
        "SHOW EXPLAIN FOR 5",
        "SHOW ANALYZE FOR 5",
        "SELECT trx_query FROM information_schema.innodb_trx",
        "SELECT * FROM performance_schema.events_statements_summary_by_digest",
        "SELECT * FROM performance_schema.prepared_statements_instances",
        "SELECT * FROM sys.innodb_lock_waits",
        "SELECT argument FROM mysql.general_log",
        "SELECT sys.ps_thread_stack(1, false)",
        "SELECT DES_ENCRYPT('x', 1)",
    ] {
        refused(sql, Dialect::MySql);
    }
}

#[test]
fn mysql_at_after_a_word_is_a_variable() {
    refused("SELECT 5 INTO@y", Dialect::MySql);
    refused("SELECT 5 into@`y`", Dialect::MySql);
    assert!(classify("SELECT @y, @@version", Dialect::MySql).is_ok());
}

#[test]
fn built_in_lists_classify_every_listed_name() {
    assert_eq!(
        function_is_classified("lower", Dialect::PostgreSql),
        Some(true)
    );
    assert_eq!(
        function_is_classified("LOWER", Dialect::PostgreSql),
        Some(true)
    );
    assert_eq!(
        function_is_classified("lo_export", Dialect::PostgreSql),
        Some(true)
    );
    assert_eq!(
        function_is_classified("run_my_sql", Dialect::PostgreSql),
        Some(false)
    );
    assert_eq!(function_is_classified("lower", Dialect::Snowflake), None);
}
