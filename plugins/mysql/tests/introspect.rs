//! Introspection against a schema with composite keys, a view, comments and hostile names.

mod common;

use common::{run, scalar_int, TestDb};
use plenum_plugin_api::abi_stable::std_types::{ROption, RString};
use plenum_plugin_api::{
    AccessMode, Connection, IntrospectOp, IntrospectRequest, IntrospectResult, TableDetail,
    TableKind,
};

const HOSTILE: &str = "x'; DROP TABLE t; --";
const UNICODE: &str = "naïve ✓ tablé";
const BACKTICK: &str = "we`ird name";

fn build(db: &TestDb) {
    db.setup(&[
        "CREATE TABLE parent (
            a INT NOT NULL,
            b VARCHAR(10) NOT NULL,
            label VARCHAR(20) DEFAULT 'x' COMMENT 'the label',
            PRIMARY KEY (b, a)
        ) COMMENT = 'parents'",
        "CREATE TABLE `child table` (
            id INT PRIMARY KEY,
            pa INT,
            pb VARCHAR(10),
            `naïve ✓` TEXT,
            CONSTRAINT fk_parent FOREIGN KEY (pb, pa) REFERENCES parent (b, a),
            UNIQUE KEY uq_pair (pa, pb),
            KEY idx_naive (`naïve ✓`(10))
        )",
        "CREATE TABLE `x'; DROP TABLE t; --` (v INT)",
        "CREATE TABLE `naïve ✓ tablé` (v INT)",
        "CREATE TABLE `we``ird name` (v INT)",
        "CREATE TABLE t (v INT)",
        "INSERT INTO t VALUES (1), (2)",
        "CREATE VIEW v_parent AS SELECT a, b FROM parent",
    ]);
}

fn request(
    op: IntrospectOp,
    schema: Option<&str>,
    table: Option<&str>,
    pattern: Option<&str>,
) -> IntrospectRequest {
    let owned = |value: Option<&str>| -> ROption<RString> { value.map(RString::from).into() };
    IntrospectRequest {
        op,
        schema: owned(schema),
        table: owned(table),
        pattern: owned(pattern),
    }
}

fn describe(conn: &mut dyn Connection, table: &str) -> Option<TableDetail> {
    match conn
        .introspect(&request(
            IntrospectOp::DescribeTable,
            None,
            Some(table),
            None,
        ))
        .expect("describe")
    {
        IntrospectResult::Table(detail) => detail.into_option(),
        other => panic!("unexpected answer {other:?}"),
    }
}

fn names(values: &[RString]) -> Vec<&str> {
    values.iter().map(|v| v.as_str()).collect()
}

#[test]
fn lists_schemas_without_system_ones() {
    let Some(db) = TestDb::new("schemas") else {
        return;
    };
    let mut conn = db.connect(AccessMode::Read);
    let IntrospectResult::Schemas(schemas) = conn
        .introspect(&request(IntrospectOp::ListSchemas, None, None, None))
        .expect("list schemas")
    else {
        panic!("unexpected answer");
    };
    let schemas = names(&schemas);
    assert!(schemas.contains(&db.name.as_str()));
    for system in ["information_schema", "performance_schema", "mysql", "sys"] {
        assert!(!schemas.contains(&system), "{system}");
    }
}

#[test]
fn lists_tables_with_kinds_estimates_and_patterns() {
    let Some(db) = TestDb::new("tables") else {
        return;
    };
    build(&db);
    let mut conn = db.connect(AccessMode::Read);
    let list = |conn: &mut dyn Connection, schema: Option<&str>, pattern: Option<&str>| match conn
        .introspect(&request(IntrospectOp::ListTables, schema, None, pattern))
        .expect("list tables")
    {
        IntrospectResult::Tables(tables) => tables.into_vec(),
        other => panic!("unexpected answer {other:?}"),
    };
    let all = list(conn.as_mut(), None, None);
    let listed: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
    let mut expected = vec![
        "child table",
        "parent",
        "t",
        "v_parent",
        BACKTICK,
        HOSTILE,
        UNICODE,
    ];
    expected.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
    for table in &all {
        assert_eq!(
            table.schema.as_ref().map(|s| s.as_str()).into_option(),
            Some(db.name.as_str())
        );
        let expected_kind = if table.name.as_str() == "v_parent" {
            TableKind::View
        } else {
            TableKind::Table
        };
        assert_eq!(table.kind, expected_kind, "{}", table.name);
        assert_eq!(
            table.row_estimate.is_some(),
            expected_kind == TableKind::Table,
            "{}",
            table.name
        );
    }

    let by_pattern = list(conn.as_mut(), Some(&db.name), Some("child%"));
    assert_eq!(
        by_pattern
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["child table"]
    );
    let hostile = list(conn.as_mut(), Some(&db.name), Some(HOSTILE));
    assert_eq!(
        hostile.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        [HOSTILE]
    );
    let injected = list(conn.as_mut(), Some("x' OR '1'='1"), None);
    assert!(injected.is_empty());
    assert_eq!(scalar_int(conn.as_mut(), "SELECT COUNT(*) FROM t"), 2);
}

#[test]
fn describes_keys_indexes_comments_and_views() {
    let Some(db) = TestDb::new("describe") else {
        return;
    };
    build(&db);
    let mut conn = db.connect(AccessMode::Read);

    let parent = describe(conn.as_mut(), "parent").expect("parent exists");
    assert_eq!(parent.kind, TableKind::Table);
    assert_eq!(
        parent.comment.as_ref().map(|c| c.as_str()).into_option(),
        Some("parents")
    );
    assert_eq!(names(&parent.primary_key), ["b", "a"]);
    let columns: Vec<(&str, &str, bool)> = parent
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.type_name.as_str(), c.nullable))
        .collect();
    assert_eq!(columns[0].0, "a");
    assert!(columns[0].1.starts_with("int"), "{columns:?}");
    assert!(!columns[0].2);
    assert_eq!(
        (columns[1].0, columns[1].1, columns[1].2),
        ("b", "varchar(10)", false)
    );
    assert_eq!((columns[2].0, columns[2].2), ("label", true));
    let label = &parent.columns[2];
    let default = label
        .default
        .as_ref()
        .map(|d| d.to_string())
        .into_option()
        .unwrap_or_default();
    assert!(default == "'x'" || default == "x", "{default}");
    assert_eq!(
        label.comment.as_ref().map(|c| c.as_str()).into_option(),
        Some("the label")
    );
    assert!(parent.columns[0].comment.is_none());

    let child = describe(conn.as_mut(), "child table").expect("child exists");
    assert_eq!(names(&child.primary_key), ["id"]);
    assert_eq!(
        child
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["id", "pa", "pb", "naïve ✓"]
    );
    assert_eq!(child.foreign_keys.len(), 1);
    let key = &child.foreign_keys[0];
    assert_eq!(
        key.name.as_ref().map(|n| n.as_str()).into_option(),
        Some("fk_parent")
    );
    assert_eq!(names(&key.columns), ["pb", "pa"]);
    assert_eq!(key.referenced_table.as_str(), "parent");
    assert_eq!(names(&key.referenced_columns), ["b", "a"]);
    assert_eq!(
        key.referenced_schema
            .as_ref()
            .map(|s| s.as_str())
            .into_option(),
        Some(db.name.as_str())
    );
    let index = |name: &str| {
        child
            .indexes
            .iter()
            .find(|index| index.name.as_str() == name)
            .unwrap_or_else(|| panic!("index {name} missing: {:?}", child.indexes))
    };
    assert!(index("PRIMARY").unique);
    assert_eq!(names(&index("uq_pair").columns), ["pa", "pb"]);
    assert!(index("uq_pair").unique);
    assert_eq!(names(&index("idx_naive").columns), ["naïve ✓"]);
    assert!(!index("idx_naive").unique);

    let view = describe(conn.as_mut(), "v_parent").expect("view exists");
    assert_eq!(view.kind, TableKind::View);
    assert!(view.comment.is_none());
    let definition = view
        .view_definition
        .as_ref()
        .map(|d| d.to_string())
        .into_option()
        .unwrap_or_default();
    assert!(definition.contains("parent"), "{definition}");
    assert_eq!(view.columns.len(), 2);
    assert!(parent.view_definition.is_none());
}

#[test]
fn hostile_names_are_bound_not_spliced() {
    let Some(db) = TestDb::new("hostile") else {
        return;
    };
    build(&db);
    let mut conn = db.connect(AccessMode::Read);
    for name in [HOSTILE, UNICODE, BACKTICK] {
        let detail = describe(conn.as_mut(), name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(detail.name.as_str(), name);
        assert_eq!(
            names(
                &detail
                    .columns
                    .iter()
                    .map(|c| c.name.clone())
                    .collect::<Vec<_>>()
            ),
            ["v"]
        );
    }
    assert!(describe(conn.as_mut(), "missing").is_none());
    // Names are compared exactly: `T` is not `t` on a case-sensitive server.
    assert!(describe(conn.as_mut(), "T").is_none());
    assert!(describe(conn.as_mut(), "t' OR '1'='1").is_none());
    assert_eq!(scalar_int(conn.as_mut(), "SELECT COUNT(*) FROM t"), 2);
}

#[test]
fn introspection_inside_a_write_transaction_does_not_commit_it() {
    let Some(db) = TestDb::new("introtx") else {
        return;
    };
    build(&db);
    let mut conn = db.connect(AccessMode::Write);
    conn.begin().expect("begin");
    run(conn.as_mut(), "INSERT INTO t VALUES (3)", &[]).expect("insert");
    assert!(describe(conn.as_mut(), "t").is_some());
    conn.rollback().expect("rollback");
    assert_eq!(
        db.read("SELECT COUNT(*) FROM t"),
        vec![vec![plenum_plugin_api::Value::Int(2)]]
    );

    // Without a host transaction, introspection leaves nothing open either.
    let mut conn = db.connect(AccessMode::Write);
    assert!(describe(conn.as_mut(), "t").is_some());
    // A read-only transaction left open would refuse this insert, or hide it from others.
    run(conn.as_mut(), "INSERT INTO t VALUES (5)", &[]).expect("autocommit insert");
    assert_eq!(
        db.read("SELECT COUNT(*) FROM t"),
        vec![vec![plenum_plugin_api::Value::Int(3)]]
    );
}
