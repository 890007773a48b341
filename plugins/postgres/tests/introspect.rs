//! Introspection against a schema with awkward names, composite keys, a view and comments.

mod common;

use plenum_plugin_api::abi_stable::std_types::{ROption, RString};
use plenum_plugin_api::{
    AccessMode, Connection, IntrospectOp, IntrospectRequest, IntrospectResult, TableDetail,
    TableKind, TableSummary,
};

const SCHEMA: &str = "s p ✓ \"q\"";
const CHILD: &str = "child 'x'";
const HOSTILE: &str = "x'; DROP TABLE t; --";

const SETUP: &str = r#"
CREATE TABLE public.t (id int);
CREATE SCHEMA "s p ✓ ""q""";
CREATE TABLE "s p ✓ ""q""".parent (
    a int,
    "b ""q""" text,
    note text DEFAULT 'none',
    PRIMARY KEY ("b ""q""", a)
);
COMMENT ON TABLE "s p ✓ ""q""".parent IS 'Parents ✓';
COMMENT ON COLUMN "s p ✓ ""q""".parent.a IS 'the a';
INSERT INTO "s p ✓ ""q""".parent VALUES (1, 'x'), (2, 'y'), (3, 'z');
ANALYZE "s p ✓ ""q""".parent;
CREATE TABLE "s p ✓ ""q"""."child 'x'" (
    id serial PRIMARY KEY,
    pa int NOT NULL,
    pb text NOT NULL,
    CONSTRAINT child_parent FOREIGN KEY (pb, pa) REFERENCES "s p ✓ ""q""".parent ("b ""q""", a)
);
CREATE UNIQUE INDEX child_pa_pb ON "s p ✓ ""q"""."child 'x'" (pa, pb);
CREATE INDEX child_lower ON "s p ✓ ""q"""."child 'x'" (lower(pb));
CREATE VIEW "s p ✓ ""q""".parent_view AS SELECT a FROM "s p ✓ ""q""".parent WHERE a > 1;
COMMENT ON VIEW "s p ✓ ""q""".parent_view IS 'a view';
CREATE TABLE "s p ✓ ""q"""."x'; DROP TABLE t; --" (id int);
"#;

fn request(
    op: IntrospectOp,
    schema: Option<&str>,
    table: Option<&str>,
    pattern: Option<&str>,
) -> IntrospectRequest {
    let text = |value: Option<&str>| -> ROption<RString> { value.map(RString::from).into() };
    IntrospectRequest {
        op,
        schema: text(schema),
        table: text(table),
        pattern: text(pattern),
    }
}

fn tables(
    session: &mut dyn Connection,
    schema: Option<&str>,
    pattern: Option<&str>,
) -> Vec<TableSummary> {
    match session.introspect(&request(IntrospectOp::ListTables, schema, None, pattern)) {
        Ok(IntrospectResult::Tables(tables)) => tables.into_iter().collect(),
        other => panic!("list tables: {other:?}"),
    }
}

fn describe(
    session: &mut dyn Connection,
    schema: Option<&str>,
    table: &str,
) -> Option<TableDetail> {
    match session.introspect(&request(
        IntrospectOp::DescribeTable,
        schema,
        Some(table),
        None,
    )) {
        Ok(IntrospectResult::Table(detail)) => detail.into_option(),
        other => panic!("describe {table}: {other:?}"),
    }
}

fn strings<'a>(values: impl IntoIterator<Item = &'a RString>) -> Vec<&'a str> {
    values.into_iter().map(RString::as_str).collect()
}

#[test]
fn introspection_reads_the_catalog_with_bound_names() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("introspect");
    db.setup(SETUP);
    let mut session = db.session(AccessMode::Read);
    let session = session.as_mut();

    let schemas = match session.introspect(&request(IntrospectOp::ListSchemas, None, None, None)) {
        Ok(IntrospectResult::Schemas(schemas)) => schemas,
        other => panic!("list schemas: {other:?}"),
    };
    let schemas = strings(&schemas);
    assert!(
        schemas.contains(&SCHEMA) && schemas.contains(&"public"),
        "{schemas:?}"
    );
    assert!(
        !schemas
            .iter()
            .any(|s| s.starts_with("pg_") || *s == "information_schema"),
        "{schemas:?}"
    );

    let listed = tables(session, Some(SCHEMA), None);
    let names: Vec<&str> = listed.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, [CHILD, "parent", "parent_view", HOSTILE]);
    let by_name = |name: &str| listed.iter().find(|t| t.name.as_str() == name).unwrap();
    assert_eq!(by_name("parent").kind, TableKind::Table);
    assert_eq!(by_name("parent").row_estimate.into_option(), Some(3));
    assert_eq!(
        by_name(CHILD).row_estimate.into_option(),
        None,
        "never analyzed"
    );
    assert_eq!(by_name("parent_view").kind, TableKind::View);
    assert_eq!(by_name("parent_view").row_estimate.into_option(), None);
    assert_eq!(
        by_name("parent")
            .schema
            .as_ref()
            .map(RString::as_str)
            .into_option(),
        Some(SCHEMA)
    );

    let matching = tables(session, Some(SCHEMA), Some("parent%"));
    let names: Vec<&str> = matching.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["parent", "parent_view"]);
    // The default schema is the current one.
    let public: Vec<String> = tables(session, None, None)
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(public, ["t"]);
    // A hostile pattern is just a pattern.
    assert!(tables(session, Some(SCHEMA), Some("' OR 1=1 --")).is_empty());

    let parent = describe(session, Some(SCHEMA), "parent").expect("parent exists");
    assert_eq!(parent.kind, TableKind::Table);
    assert_eq!(
        parent.comment.as_ref().map(RString::as_str).into_option(),
        Some("Parents ✓")
    );
    let columns: Vec<(&str, &str, bool)> = parent
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.type_name.as_str(), c.nullable))
        .collect();
    assert_eq!(
        columns,
        [
            ("a", "integer", false),
            ("b \"q\"", "text", false),
            ("note", "text", true)
        ]
    );
    assert_eq!(
        parent.columns[0]
            .comment
            .as_ref()
            .map(RString::as_str)
            .into_option(),
        Some("the a")
    );
    assert_eq!(
        parent.columns[2]
            .default
            .as_ref()
            .map(RString::as_str)
            .into_option(),
        Some("'none'::text")
    );
    assert_eq!(strings(&parent.primary_key), ["b \"q\"", "a"]);
    assert!(parent.foreign_keys.is_empty());
    assert_eq!(parent.view_definition.into_option(), None);

    let child = describe(session, Some(SCHEMA), CHILD).expect("child exists");
    assert_eq!(child.name.as_str(), CHILD);
    assert_eq!(strings(&child.primary_key), ["id"]);
    assert!(child.columns[0]
        .default
        .as_ref()
        .map(|d| d.as_str().starts_with("nextval("))
        .unwrap_or(false));
    assert_eq!(child.foreign_keys.len(), 1);
    let key = &child.foreign_keys[0];
    assert_eq!(
        key.name.as_ref().map(RString::as_str).into_option(),
        Some("child_parent")
    );
    assert_eq!(strings(&key.columns), ["pb", "pa"]);
    assert_eq!(key.referenced_table.as_str(), "parent");
    assert_eq!(
        key.referenced_schema
            .as_ref()
            .map(RString::as_str)
            .into_option(),
        Some(SCHEMA)
    );
    assert_eq!(strings(&key.referenced_columns), ["b \"q\"", "a"]);
    let indexes: Vec<(&str, Vec<&str>, bool)> = child
        .indexes
        .iter()
        .map(|i| (i.name.as_str(), strings(&i.columns), i.unique))
        .collect();
    assert_eq!(
        indexes,
        [
            ("child 'x'_pkey", vec!["id"], true),
            ("child_lower", vec!["lower(pb)"], false),
            ("child_pa_pb", vec!["pa", "pb"], true),
        ]
    );

    let view = describe(session, Some(SCHEMA), "parent_view").expect("view exists");
    assert_eq!(view.kind, TableKind::View);
    assert_eq!(
        view.comment.as_ref().map(RString::as_str).into_option(),
        Some("a view")
    );
    let definition = view
        .view_definition
        .as_ref()
        .map(RString::as_str)
        .into_option()
        .unwrap_or("");
    assert!(
        definition.contains("SELECT") && definition.contains("a > 1"),
        "{definition}"
    );

    let hostile = describe(session, Some(SCHEMA), HOSTILE).expect("hostile name exists");
    assert_eq!(hostile.name.as_str(), HOSTILE);
    assert!(describe(session, Some(SCHEMA), "missing").is_none());
    assert!(describe(session, Some("' OR ''='"), "parent").is_none());
    // Without a schema, the name resolves through the search path.
    let found = describe(session, None, "t").expect("public.t");
    assert_eq!(
        found.schema.as_ref().map(RString::as_str).into_option(),
        Some("public")
    );
    assert!(describe(session, None, "parent").is_none());

    // Also inside the host's transaction.
    session.begin().unwrap();
    assert!(describe(session, Some(SCHEMA), "parent").is_some());
    session.rollback().unwrap();

    drop(db.client());
    assert_eq!(
        db.scalar("SELECT count(*) FROM pg_class WHERE relname = 't'"),
        1
    );
}
