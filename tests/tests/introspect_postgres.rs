//! `plenum introspect` on PostgreSQL: two schemas per test (one with a space in its name),
//! composite keys across schemas, comments, a view, unusual and hostile names.
//!
//! Skipped with a notice when no plugin serves `postgres`; when the server or `psql` is
//! missing, skipped unless `CI=true`.

mod live_support;

use live_support::introspect::{
    assert_describes_the_injection_table, assert_has_index, column_names, find_table,
    listed_table_names, listed_tables, save_tested_read_only_connection, INJECTION,
};
use plenum_e2e::{
    client_available, engine_available, postgres_url, psql, server_available, unique_name,
    ConfigSandbox, Plenum, Run,
};
use serde_json::{json, Value as Json};

/// Two fresh schemas, `<base>` and `<base> sales`, dropped on drop.
struct Schemas {
    url: String,
    base: String,
}

impl Schemas {
    fn new() -> Option<Self> {
        let url = postgres_url();
        if !engine_available("postgres")
            || !server_available(&url, "PostgreSQL")
            || !client_available("psql")
        {
            return None;
        }
        let base = unique_name("pi");
        let sales = format!("{base} sales");
        psql(
            &url,
            &format!(
                r#"
CREATE SCHEMA "{base}";
CREATE SCHEMA "{sales}";
SET search_path = "{base}";
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL);
COMMENT ON TABLE customers IS 'people who buy';
COMMENT ON COLUMN customers.name IS 'full name, ünïcødé';
INSERT INTO customers SELECT n, 'c' || n FROM generate_series(1, 3) AS n;
CREATE TABLE orders (
    customer_id integer NOT NULL REFERENCES customers (id),
    order_no integer NOT NULL,
    status varchar(20) NOT NULL DEFAULT 'new',
    PRIMARY KEY (customer_id, order_no)
);
CREATE UNIQUE INDEX "idx uniq" ON orders (order_no, customer_id);
INSERT INTO orders VALUES (1, 10, 'new');
CREATE TABLE "{sales}"."Order Lines" (
    customer_id integer, order_no integer, line integer,
    PRIMARY KEY (customer_id, order_no, line),
    CONSTRAINT "fk lines" FOREIGN KEY (customer_id, order_no)
        REFERENCES orders (customer_id, order_no)
);
CREATE VIEW "big orders" AS SELECT customer_id, order_no FROM orders WHERE status = 'big';
CREATE TABLE "x'); DROP TABLE orders; --" ("a""b" integer PRIMARY KEY, "c;d" text);
CREATE TABLE "select" ("from" integer, "where" text);
CREATE TABLE "ünïcødé 表" ("列" text);
ANALYZE customers;
"#
            ),
        );
        Some(Schemas { url, base })
    }

    fn sales(&self) -> String {
        format!("{} sales", self.base)
    }

    fn introspect(&self, extra: &[&str]) -> Run {
        Plenum::new(["introspect", "--dsn", &self.url])
            .args(extra)
            .run()
    }

    fn table(&self, schema: &str, name: &str) -> Json {
        let run = self.introspect(&["--schema", schema, "--table", name]);
        run.assert_ok();
        run.json["data"]["table"].clone()
    }

    fn count_orders(&self) -> String {
        psql(
            &self.url,
            &format!(r#"SELECT count(*) FROM "{}".orders;"#, self.base),
        )
        .trim()
        .to_owned()
    }
}

impl Drop for Schemas {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| {
            psql(
                &self.url,
                &format!(
                    r#"DROP SCHEMA IF EXISTS "{0} sales" CASCADE; DROP SCHEMA IF EXISTS "{0}" CASCADE;"#,
                    self.base
                ),
            )
        });
    }
}

#[test]
fn schemas_and_tables_are_listed() {
    let Some(db) = Schemas::new() else { return };
    let run = db.introspect(&["--list-schemas"]);
    run.assert_ok();
    let schemas = run.json["data"]["schemas"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for name in [db.base.as_str(), db.sales().as_str(), "public"] {
        assert!(schemas.contains(&json!(name)), "{name} not in {schemas:?}");
    }
    assert!(!schemas.contains(&json!("pg_catalog")));

    let run = db.introspect(&["--list-tables", "--schema", &db.base]);
    run.assert_ok();
    assert_eq!(run.json["data"]["schema"], db.base);
    let tables = listed_tables(&run);
    let entry = |name: &str| find_table(&tables, name);
    assert_eq!(
        entry("customers"),
        Some(json!({"name": "customers", "kind": "table", "row_estimate": 3}))
    );
    assert_eq!(
        entry("big orders"),
        Some(json!({"name": "big orders", "kind": "view"}))
    );
    for name in ["orders", "select", "ünïcødé 表", INJECTION] {
        assert!(entry(name).is_some(), "{name} missing from {tables:?}");
    }
    assert!(
        entry("Order Lines").is_none(),
        "another schema's table leaked in"
    );

    let run = db.introspect(&[
        "--list-tables",
        "--schema",
        &db.base,
        "--pattern",
        "%order%",
    ]);
    run.assert_ok();
    assert_eq!(
        listed_table_names(&run),
        vec!["big orders", "orders", INJECTION]
    );
}

#[test]
fn a_table_with_comments_defaults_and_indexes() {
    let Some(db) = Schemas::new() else { return };
    let customers = db.table(&db.base, "customers");
    assert_eq!(customers["comment"], "people who buy");
    assert_eq!(customers["columns"][1]["comment"], "full name, ünïcødé");
    let orders = db.table(&db.base, "orders");
    assert_eq!(
        orders["columns"],
        json!([
            {"name": "customer_id", "type": "integer", "nullable": false, "default": null, "comment": null},
            {"name": "order_no", "type": "integer", "nullable": false, "default": null, "comment": null},
            {"name": "status", "type": "character varying(20)", "nullable": false,
             "default": "'new'::character varying", "comment": null},
        ])
    );
    assert_eq!(orders["primary_key"], json!(["customer_id", "order_no"]));
    assert_eq!(
        orders["foreign_keys"],
        json!([{"name": "orders_customer_id_fkey", "columns": ["customer_id"],
                "references": {"schema": db.base, "table": "customers", "columns": ["id"]}}])
    );
    assert_has_index(
        &orders,
        &json!({"name": "idx uniq", "columns": ["order_no", "customer_id"], "unique": true}),
    );
}

#[test]
fn a_composite_foreign_key_across_schemas() {
    let Some(db) = Schemas::new() else { return };
    let lines = db.table(&db.sales(), "Order Lines");
    assert_eq!(lines["schema"], db.sales());
    assert_eq!(
        lines["primary_key"],
        json!(["customer_id", "order_no", "line"])
    );
    assert_eq!(
        lines["foreign_keys"],
        json!([{"name": "fk lines", "columns": ["customer_id", "order_no"],
                "references": {"schema": db.base, "table": "orders",
                               "columns": ["customer_id", "order_no"]}}])
    );
    // The same name in the other schema is not found.
    db.introspect(&["--schema", &db.base, "--table", "Order Lines"])
        .assert_error("INVALID_INPUT");
}

#[test]
fn a_view_has_its_definition() {
    let Some(db) = Schemas::new() else { return };
    let view = db.table(&db.base, "big orders");
    assert_eq!(view["kind"], "view");
    assert_eq!(column_names(&view), vec!["customer_id", "order_no"]);
    let definition = view["view_definition"].as_str().unwrap_or("");
    assert!(definition.contains("'big'"), "{definition}");
}

#[test]
fn unusual_and_hostile_names_are_only_names() {
    let Some(db) = Schemas::new() else { return };
    assert_eq!(
        column_names(&db.table(&db.base, "select")),
        vec!["from", "where"]
    );
    assert_eq!(column_names(&db.table(&db.base, "ünïcødé 表")), vec!["列"]);
    assert_describes_the_injection_table(&db.table(&db.base, INJECTION));
    let run = db.introspect(&[
        "--list-tables",
        "--schema",
        &format!("{}'; DROP TABLE orders; --", db.base),
    ]);
    run.assert_ok();
    assert_eq!(run.json["data"]["tables"], json!([]));
    db.introspect(&[
        "--schema",
        &db.base,
        "--table",
        "orders\"; DROP TABLE orders; --",
    ])
    .assert_error("INVALID_INPUT");
    assert_eq!(db.count_orders(), "1");
}

#[test]
fn the_summary_covers_one_schema_and_respects_max_bytes() {
    let Some(db) = Schemas::new() else { return };
    let run = db.introspect(&["--schema", &db.base]);
    run.assert_ok();
    assert_eq!(run.json["meta"]["truncated"], false);
    assert_eq!(run.json["data"]["tables_total"], 6);
    let orders = find_table(&listed_tables(&run), "orders").unwrap_or_default();
    assert_eq!(orders["primary_key"], json!(["customer_id", "order_no"]));
    assert_eq!(
        orders["columns"][2],
        json!({"name": "status", "type": "character varying(20)", "nullable": false})
    );

    let run = db.introspect(&["--schema", &db.base, "--max-bytes", "300"]);
    run.assert_ok();
    assert_eq!(run.json["meta"]["truncated"], true);
    assert_eq!(run.json["meta"]["truncated_by"], "max_bytes");
    let kept = listed_tables(&run).len();
    assert!(kept < 6, "{kept}");
}

#[test]
fn an_unknown_table_is_invalid_input() {
    let Some(db) = Schemas::new() else { return };
    let run = db.introspect(&["--schema", &db.base, "--table", "ordrs"]);
    run.assert_error("INVALID_INPUT");
    assert!(
        run.error_message().contains("--list-tables"),
        "{}",
        run.error_message()
    );
}

#[test]
fn a_saved_connection_introspects_and_tests() {
    let Some(db) = Schemas::new() else { return };
    let sandbox = ConfigSandbox::new();
    let run = save_tested_read_only_connection(&sandbox, "pg", &db.url);
    let server = &run.json["data"]["server"];
    assert!(
        server["version"]
            .as_str()
            .unwrap_or("")
            .starts_with("PostgreSQL"),
        "{server}"
    );
    assert!(
        server["database"].is_string() && server["user"].is_string(),
        "{server}"
    );
    let run = sandbox
        .plenum([
            "introspect",
            "--connection",
            "pg",
            "--schema",
            &db.base,
            "--table",
            "customers",
        ])
        .run();
    run.assert_ok();
    assert_eq!(column_names(&run.json["data"]["table"]), vec!["id", "name"]);
    let run = sandbox
        .plenum(["query", "--connection", "pg", "--allow-write"])
        .args(["--sql", &format!(r#"DELETE FROM "{}".orders"#, db.base)])
        .run();
    run.assert_error("CAPABILITY_VIOLATION");
    assert_eq!(db.count_orders(), "1");
}
