//! `plenum introspect` on MySQL/MariaDB: a database per test with composite keys, comments,
//! a view, unusual and hostile names.
//!
//! Skipped with a notice when no plugin serves `mysql`; when the server or the `mysql` client
//! is missing, skipped unless `CI=true`.

mod live_support;

use live_support::introspect::{
    assert_describes_the_injection_table, assert_has_index, column_names, find_table,
    listed_table_names, listed_tables, save_tested_read_only_connection, INJECTION,
};
use plenum_e2e::{
    client_available, engine_available, mysql_client, mysql_url, server_available, unique_name,
    url_with_database, ConfigSandbox, Plenum, Run,
};
use serde_json::{json, Value as Json};

/// A fresh database, dropped on drop.
struct Database {
    server: String,
    name: String,
    url: String,
}

impl Database {
    fn new() -> Option<Self> {
        let server = mysql_url();
        if !engine_available("mysql")
            || !server_available(&server, "MySQL/MariaDB")
            || !client_available("mysql")
        {
            return None;
        }
        let name = unique_name("pi");
        mysql_client(
            &server,
            &format!(
                r#"
CREATE DATABASE `{name}` CHARACTER SET utf8mb4;
USE `{name}`;
CREATE TABLE customers (id int PRIMARY KEY, name varchar(50) NOT NULL COMMENT 'full name, ünïcødé')
    COMMENT 'people who buy' ENGINE=InnoDB;
INSERT INTO customers VALUES (1, 'a'), (2, 'b'), (3, 'c');
CREATE TABLE orders (
    customer_id int NOT NULL,
    order_no int NOT NULL,
    status varchar(20) NOT NULL DEFAULT 'new',
    PRIMARY KEY (customer_id, order_no),
    UNIQUE KEY `idx uniq` (order_no, customer_id),
    CONSTRAINT fk_cust FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE=InnoDB;
INSERT INTO orders VALUES (1, 10, 'new');
CREATE TABLE `Order Lines` (
    customer_id int, order_no int, line int,
    PRIMARY KEY (customer_id, order_no, line),
    CONSTRAINT `fk lines` FOREIGN KEY (customer_id, order_no) REFERENCES orders (customer_id, order_no)
) ENGINE=InnoDB;
CREATE VIEW `big orders` AS SELECT customer_id, order_no FROM orders WHERE status = 'big';
CREATE TABLE `x'); DROP TABLE orders; --` (`a"b` int PRIMARY KEY, `c;d` text);
CREATE TABLE `select` (`from` int, `where` text);
CREATE TABLE `ünïcødé 表` (`列` text);
"#
            ),
        );
        let url = url_with_database(&server, &name);
        Some(Database { server, name, url })
    }

    fn introspect(&self, extra: &[&str]) -> Run {
        Plenum::new(["introspect", "--dsn", &self.url])
            .args(extra)
            .run()
    }

    fn table(&self, name: &str) -> Json {
        let run = self.introspect(&["--table", name]);
        run.assert_ok();
        run.json["data"]["table"].clone()
    }

    fn count_orders(&self) -> String {
        mysql_client(
            &self.server,
            &format!("SELECT count(*) FROM `{}`.orders;", self.name),
        )
        .trim()
        .to_owned()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| {
            mysql_client(
                &self.server,
                &format!("DROP DATABASE IF EXISTS `{}`;", self.name),
            )
        });
    }
}

#[test]
fn databases_and_tables_are_listed() {
    let Some(db) = Database::new() else { return };
    let run = db.introspect(&["--list-schemas"]);
    run.assert_ok();
    let schemas = run.json["data"]["schemas"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(schemas.contains(&json!(db.name)), "{schemas:?}");
    assert!(
        !schemas.contains(&json!("information_schema")),
        "{schemas:?}"
    );

    let run = db.introspect(&["--list-tables"]);
    run.assert_ok();
    assert_eq!(run.json["data"]["schema"], db.name);
    assert_eq!(run.json["data"]["tables_total"], 7);
    let tables = listed_tables(&run);
    let entry = |name: &str| find_table(&tables, name);
    assert_eq!(
        entry("big orders"),
        Some(json!({"name": "big orders", "kind": "view"}))
    );
    assert_eq!(
        entry("customers").map(|t| t["kind"].clone()),
        Some(json!("table"))
    );
    for name in ["Order Lines", "select", "ünïcødé 表", INJECTION] {
        assert!(entry(name).is_some(), "{name} missing from {tables:?}");
    }
    // Another database by --schema.
    let run = db.introspect(&["--list-tables", "--schema", &db.name, "--pattern", "order%"]);
    run.assert_ok();
    let names = listed_table_names(&run);
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names.contains(&"orders") && names.contains(&"Order Lines"),
        "{names:?}"
    );
}

#[test]
fn a_table_with_comments_defaults_keys_and_indexes() {
    let Some(db) = Database::new() else { return };
    let customers = db.table("customers");
    assert_eq!(customers["comment"], "people who buy");
    assert_eq!(customers["columns"][1]["comment"], "full name, ünïcødé");
    let orders = db.table("orders");
    assert_eq!(
        column_names(&orders),
        vec!["customer_id", "order_no", "status"]
    );
    assert_eq!(orders["columns"][2]["default"], "'new'");
    assert_eq!(orders["columns"][2]["nullable"], false);
    assert_eq!(orders["primary_key"], json!(["customer_id", "order_no"]));
    assert_eq!(
        orders["foreign_keys"],
        json!([{"name": "fk_cust", "columns": ["customer_id"],
                "references": {"schema": db.name, "table": "customers", "columns": ["id"]}}])
    );
    assert_has_index(
        &orders,
        &json!({"name": "idx uniq", "columns": ["order_no", "customer_id"], "unique": true}),
    );
}

#[test]
fn a_composite_foreign_key_and_a_view() {
    let Some(db) = Database::new() else { return };
    let lines = db.table("Order Lines");
    assert_eq!(
        lines["primary_key"],
        json!(["customer_id", "order_no", "line"])
    );
    assert_eq!(
        lines["foreign_keys"],
        json!([{"name": "fk lines", "columns": ["customer_id", "order_no"],
                "references": {"schema": db.name, "table": "orders",
                               "columns": ["customer_id", "order_no"]}}])
    );
    let view = db.table("big orders");
    assert_eq!(view["kind"], "view");
    assert_eq!(column_names(&view), vec!["customer_id", "order_no"]);
    let definition = view["view_definition"].as_str().unwrap_or("");
    assert!(definition.contains("'big'"), "{definition}");
}

#[test]
fn unusual_and_hostile_names_are_only_names() {
    let Some(db) = Database::new() else { return };
    assert_eq!(column_names(&db.table("select")), vec!["from", "where"]);
    assert_eq!(column_names(&db.table("ünïcødé 表")), vec!["列"]);
    assert_describes_the_injection_table(&db.table(INJECTION));
    let run = db.introspect(&["--list-tables", "--schema", "x'; DROP TABLE orders; --"]);
    run.assert_ok();
    assert_eq!(run.json["data"]["tables"], json!([]));
    db.introspect(&["--table", "orders`; DROP TABLE orders; --"])
        .assert_error("INVALID_INPUT");
    assert_eq!(db.count_orders(), "1");
}

#[test]
fn the_summary_and_its_byte_cap() {
    let Some(db) = Database::new() else { return };
    let run = db.introspect(&[]);
    run.assert_ok();
    assert_eq!(run.json["meta"]["truncated"], false);
    assert_eq!(run.json["meta"]["rows_returned"], 7);
    let run = db.introspect(&["--max-bytes", "300"]);
    run.assert_ok();
    assert_eq!(run.json["meta"]["truncated"], true);
    assert_eq!(run.json["meta"]["truncated_by"], "max_bytes");
}

#[test]
fn an_unknown_table_is_invalid_input() {
    let Some(db) = Database::new() else { return };
    let run = db.introspect(&["--table", "ordrs"]);
    run.assert_error("INVALID_INPUT");
    assert!(
        run.error_message().contains("--list-tables"),
        "{}",
        run.error_message()
    );
}

#[test]
fn a_saved_connection_tests_and_introspects() {
    let Some(db) = Database::new() else { return };
    let sandbox = ConfigSandbox::new();
    let run = save_tested_read_only_connection(&sandbox, "my", &db.url);
    let server = &run.json["data"]["server"];
    assert!(
        !server["version"].as_str().unwrap_or("").is_empty(),
        "{server}"
    );
    assert_eq!(server["database"], db.name);
    let run = sandbox
        .plenum(["introspect", "--connection", "my", "--table", "customers"])
        .run();
    run.assert_ok();
    assert_eq!(column_names(&run.json["data"]["table"]), vec!["id", "name"]);
    sandbox
        .plenum([
            "query",
            "--connection",
            "my",
            "--allow-write",
            "--sql",
            "DELETE FROM orders",
        ])
        .run()
        .assert_error("CAPABILITY_VIOLATION");
    assert_eq!(db.count_orders(), "1");
}
