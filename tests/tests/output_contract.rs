//! Every envelope matches the JSON Schema `plenum schema` publishes.

use plenum_e2e::{Plenum, SqliteFixture};
use serde_json::Value as Json;

fn schemas() -> Json {
    let run = Plenum::new(["schema"]).run();
    run.assert_ok();
    run.json["data"].clone()
}

fn assert_valid(schema: &Json, instance: &Json) {
    let validator = jsonschema::validator_for(schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}\ninstance: {instance}");
}

#[test]
fn query_results_match_the_query_schema() {
    let schemas = schemas();
    let db = SqliteFixture::new(
        "CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB); INSERT INTO t VALUES (1, 2.5, 'x', x'01'), (NULL, NULL, NULL, NULL);",
    );
    for (sql, flags) in [
        ("SELECT * FROM t", &[][..]),
        ("SELECT * FROM t", &["--max-rows", "1"][..]),
        ("UPDATE t SET i = 2", &["--allow-write"][..]),
        ("SELECT * FROM t WHERE i = ?", &["--param", "1"][..]),
        ("SELECT * FROM t", &["--max-rows", "1", "--offset", "1"][..]),
    ] {
        let run = db.query(sql, flags);
        run.assert_ok();
        assert_valid(&schemas["query"], &run.json);
        assert!(!schemas["error"].is_null());
    }
}

#[test]
fn check_only_results_match_the_check_schema() {
    let schemas = schemas();
    let db = SqliteFixture::new("CREATE TABLE t (i INTEGER)");
    for (sql, flags) in [
        ("SELECT * FROM t WHERE i = ?", &["--check-only"][..]),
        (
            "SELECT 1; DELETE FROM t",
            &["--check-only", "--allow-write"][..],
        ),
        ("DROP TABLE t", &["--check-only"][..]),
        (
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d; SELECT * FROM t FOR UPDATE",
            &["--check-only"][..],
        ),
        (
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            &["--check-only", "--allow-write"][..],
        ),
    ] {
        let run = db.query(sql, flags);
        run.assert_ok();
        assert_eq!(run.json["command"], "check");
        assert_valid(&schemas["check"], &run.json);
        let validator = jsonschema::validator_for(&schemas["query"]).expect("schema compiles");
        assert!(
            !validator.is_valid(&run.json),
            "a check is not a query result"
        );
    }
}

/// The check schema describes each statement's `cause` and admits no field it does not
/// describe, so a field added to the output without its schema fails here.
#[test]
fn the_check_schema_describes_the_cause_and_nothing_else() {
    let schemas = schemas();
    let validator = jsonschema::validator_for(&schemas["check"]).expect("schema compiles");
    let db = SqliteFixture::new("CREATE TABLE t (i INTEGER)");
    let run = db.query(
        "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
        &["--check-only"],
    );
    run.assert_ok();
    assert_eq!(
        run.json["data"]["statements"][0]["cause"],
        "contains a DELETE (in CTE `d`)"
    );
    assert!(validator.is_valid(&run.json));
    for (field, value) in [
        ("cause", serde_json::json!(5)),
        ("undocumented", serde_json::json!("x")),
    ] {
        let mut changed = run.json.clone();
        changed["data"]["statements"][0][field] = value;
        assert!(!validator.is_valid(&changed), "{field} accepted: {changed}");
    }
    let mut changed = run.json.clone();
    changed["data"]["undocumented"] = serde_json::json!(1);
    assert!(!validator.is_valid(&changed), "data.undocumented accepted");
}

#[test]
fn failures_match_the_error_schema_and_not_the_success_one() {
    let schemas = schemas();
    let db = SqliteFixture::new("CREATE TABLE t (i INTEGER);");
    for run in [
        db.query("DELETE FROM t", &[]),
        db.query("SELEC", &[]),
        db.query("SELECT * FROM missing", &[]),
        Plenum::new(["query", "--bogus"]).run(),
        Plenum::new(["query", "--engine", "nosuch", "--sql", "SELECT 1"]).run(),
    ] {
        assert!(!run.ok());
        assert_valid(&schemas["error"], &run.json);
        let validator = jsonschema::validator_for(&schemas["query"]).expect("schema compiles");
        assert!(
            !validator.is_valid(&run.json),
            "an error validated as success"
        );
    }
}

#[test]
fn other_commands_match_the_generic_schema() {
    let schemas = schemas();
    for args in [&["plugins"][..], &["schema"][..], &["--help"][..]] {
        let run = Plenum::new(args).run();
        run.assert_ok();
        assert_valid(&schemas["result"], &run.json);
    }
}

#[test]
fn explain_results_match_the_explain_schema() {
    let schemas = schemas();
    let db = SqliteFixture::new(
        "CREATE TABLE t (i INTEGER PRIMARY KEY, s TEXT); CREATE TABLE u (i INTEGER, t_i INTEGER);",
    );
    for sql in [
        "SELECT * FROM t JOIN u ON u.t_i = t.i ORDER BY t.s",
        "SELECT * FROM t WHERE i IN (SELECT t_i FROM u) UNION SELECT * FROM t WHERE i = 1",
    ] {
        let run = db.query(sql, &["--explain"]);
        run.assert_ok();
        assert_eq!(run.json["command"], "explain");
        assert_valid(&schemas["explain"], &run.json);
        for other in ["query", "check"] {
            let validator = jsonschema::validator_for(&schemas[other]).expect("schema compiles");
            assert!(
                !validator.is_valid(&run.json),
                "a plan is not a {other} result"
            );
        }
    }
}
