//! `plenum introspect` on SQLite: listings, one table in detail, the summary and its byte cap,
//! unusual and hostile names, and proof that introspection changes nothing.

mod live_support;

use live_support::introspect::{
    assert_describes_the_injection_table, assert_has_index, column_names, find_table,
    listed_table_names, listed_tables, INJECTION,
};
use live_support::{assert_valid, schemas};
use plenum_e2e::{ConfigSandbox, Plenum, Run, SqliteFixture};
use serde_json::{json, Value as Json};

const SCHEMA: &str = r#"
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE orders (
        customer_id INTEGER NOT NULL REFERENCES customers(id),
        order_no INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'new',
        note TEXT,
        PRIMARY KEY (customer_id, order_no)
    );
    CREATE UNIQUE INDEX "idx uniq" ON orders (order_no, customer_id);
    CREATE INDEX orders_status ON orders (status);
    CREATE TABLE order_lines (
        customer_id INTEGER,
        order_no INTEGER,
        line INTEGER,
        PRIMARY KEY (customer_id, order_no, line),
        FOREIGN KEY (customer_id, order_no) REFERENCES orders (customer_id, order_no)
    );
    CREATE VIEW "big orders" AS SELECT customer_id, order_no FROM orders WHERE status = 'big';
    CREATE TABLE "my table" ("first name" TEXT, "quote""d" INTEGER);
    CREATE TABLE "ünïcødé 表" ("列" TEXT);
    CREATE TABLE "select" ("from" INTEGER, "where" TEXT);
    CREATE TABLE "x'); DROP TABLE orders; --" ("a""b" INTEGER PRIMARY KEY, "c;d" TEXT);
    INSERT INTO customers VALUES (1, 'ann');
    INSERT INTO orders VALUES (1, 10, 'new', NULL);
"#;

fn introspect(db: &SqliteFixture, extra: &[&str]) -> Run {
    Plenum::new(["introspect", "--engine", "sqlite", "--file"])
        .args([db.file.as_os_str()])
        .args(extra)
        .run()
}

fn table(db: &SqliteFixture, name: &str) -> Json {
    let run = introspect(db, &["--table", name]);
    run.assert_ok();
    run.json["data"]["table"].clone()
}

#[test]
fn list_schemas_and_tables() {
    let db = SqliteFixture::new(SCHEMA);
    let run = introspect(&db, &["--list-schemas"]);
    run.assert_ok();
    assert_eq!(run.json["data"]["schemas"], json!(["main"]));
    assert_eq!(run.json["meta"]["access"], "read");

    let run = introspect(&db, &["--list-tables"]);
    run.assert_ok();
    assert_eq!(run.json["data"]["schema"], "main");
    assert_eq!(run.json["data"]["tables_total"], 8);
    let tables = listed_tables(&run);
    let entry = |name: &str| find_table(&tables, name);
    assert_eq!(
        entry("orders"),
        Some(json!({"name": "orders", "kind": "table"}))
    );
    assert_eq!(
        entry("big orders"),
        Some(json!({"name": "big orders", "kind": "view"}))
    );
    for name in ["my table", "ünïcødé 表", "select", INJECTION] {
        assert!(entry(name).is_some(), "{name} missing from {tables:?}");
    }

    let run = introspect(&db, &["--list-tables", "--pattern", "order%"]);
    run.assert_ok();
    assert_eq!(listed_table_names(&run), vec!["order_lines", "orders"]);
}

#[test]
fn a_table_in_detail() {
    let db = SqliteFixture::new(SCHEMA);
    let orders = table(&db, "orders");
    assert_eq!(orders["schema"], "main");
    assert_eq!(orders["kind"], "table");
    assert_eq!(
        orders["columns"],
        json!([
            {"name": "customer_id", "type": "INTEGER", "nullable": false, "default": null, "comment": null},
            {"name": "order_no", "type": "INTEGER", "nullable": false, "default": null, "comment": null},
            {"name": "status", "type": "TEXT", "nullable": false, "default": "'new'", "comment": null},
            {"name": "note", "type": "TEXT", "nullable": true, "default": null, "comment": null},
        ])
    );
    assert_eq!(orders["primary_key"], json!(["customer_id", "order_no"]));
    assert_eq!(
        orders["foreign_keys"],
        json!([{"name": null, "columns": ["customer_id"],
                "references": {"schema": "main", "table": "customers", "columns": ["id"]}}])
    );
    assert_has_index(
        &orders,
        &json!({"name": "idx uniq", "columns": ["order_no", "customer_id"], "unique": true}),
    );
    assert_has_index(
        &orders,
        &json!({"name": "orders_status", "columns": ["status"], "unique": false}),
    );
    assert_eq!(orders["view_definition"], Json::Null);
}

#[test]
fn composite_foreign_keys_keep_their_column_order() {
    let db = SqliteFixture::new(SCHEMA);
    let lines = table(&db, "order_lines");
    assert_eq!(
        lines["primary_key"],
        json!(["customer_id", "order_no", "line"])
    );
    assert_eq!(
        lines["foreign_keys"],
        json!([{"name": null, "columns": ["customer_id", "order_no"],
                "references": {"schema": "main", "table": "orders",
                               "columns": ["customer_id", "order_no"]}}])
    );
}

#[test]
fn a_view_has_its_definition() {
    let db = SqliteFixture::new(SCHEMA);
    let view = table(&db, "big orders");
    assert_eq!(view["kind"], "view");
    assert_eq!(column_names(&view), vec!["customer_id", "order_no"]);
    let definition = view["view_definition"].as_str().unwrap_or("");
    assert!(definition.contains("WHERE status = 'big'"), "{definition}");
}

#[test]
fn unusual_names_are_described_exactly() {
    let db = SqliteFixture::new(SCHEMA);
    assert_eq!(
        column_names(&table(&db, "my table")),
        vec!["first name", "quote\"d"]
    );
    assert_eq!(column_names(&table(&db, "ünïcødé 表")), vec!["列"]);
    assert_eq!(column_names(&table(&db, "select")), vec!["from", "where"]);
    // Names are exact: no quoting, and case matters for the lookup.
    introspect(&db, &["--table", "\"my table\""]).assert_error("INVALID_INPUT");
}

#[test]
fn an_injection_shaped_name_is_only_a_name() {
    let db = SqliteFixture::new(SCHEMA);
    let before = db.snapshot();
    assert_describes_the_injection_table(&table(&db, INJECTION));
    // The same shapes as schema and pattern find nothing and break nothing.
    let run = introspect(
        &db,
        &["--list-tables", "--schema", "main'; DROP TABLE orders; --"],
    );
    run.assert_ok();
    assert_eq!(run.json["data"]["tables"], json!([]));
    let run = introspect(
        &db,
        &[
            "--list-tables",
            "--pattern",
            "%' OR 1=1; DROP TABLE orders; --",
        ],
    );
    run.assert_ok();
    assert_eq!(run.json["data"]["tables"], json!([]));
    introspect(&db, &["--table", "orders'; DROP TABLE orders; --"]).assert_error("INVALID_INPUT");
    assert_eq!(
        db.snapshot(),
        before,
        "introspection changed the database file"
    );
    assert_eq!(db.direct("SELECT count(*) FROM orders"), vec!["Integer(1)"]);
}

#[test]
fn an_unknown_table_says_how_to_find_the_names() {
    let db = SqliteFixture::new(SCHEMA);
    let run = introspect(&db, &["--table", "ordrs"]);
    run.assert_error("INVALID_INPUT");
    assert!(
        run.error_message().contains("'ordrs'"),
        "{}",
        run.error_message()
    );
    assert!(
        run.error_message().contains("--list-tables"),
        "{}",
        run.error_message()
    );
}

#[test]
fn the_summary_lists_tables_with_columns_and_keys() {
    let db = SqliteFixture::new(SCHEMA);
    let run = introspect(&db, &[]);
    run.assert_ok();
    assert_eq!(run.json["meta"]["truncated"], false);
    assert_eq!(run.json["meta"]["rows_returned"], 8);
    let lines = find_table(&listed_tables(&run), "order_lines").unwrap_or_default();
    assert_eq!(
        lines,
        json!({
            "name": "order_lines", "kind": "table",
            "columns": [
                {"name": "customer_id", "type": "INTEGER", "nullable": false},
                {"name": "order_no", "type": "INTEGER", "nullable": false},
                {"name": "line", "type": "INTEGER", "nullable": false}
            ],
            "primary_key": ["customer_id", "order_no", "line"],
            "foreign_keys": [{"name": null, "columns": ["customer_id", "order_no"],
                              "references": {"schema": "main", "table": "orders",
                                             "columns": ["customer_id", "order_no"]}}]
        })
    );
}

#[test]
fn the_summary_stops_at_max_bytes_and_says_so() {
    let many: String = (0..300)
        .map(|n| format!("CREATE TABLE t{n:03} (id INTEGER PRIMARY KEY, a TEXT, b REAL);"))
        .collect();
    let db = SqliteFixture::new(&format!("BEGIN; {many} COMMIT;"));
    let run = introspect(&db, &["--max-bytes", "2000"]);
    run.assert_ok();
    assert_eq!(run.json["meta"]["truncated"], true);
    assert_eq!(run.json["meta"]["truncated_by"], "max_bytes");
    let tables = listed_tables(&run);
    assert!(!tables.is_empty() && tables.len() < 300, "{}", tables.len());
    assert_eq!(run.json["meta"]["rows_returned"], tables.len());
    assert_eq!(run.json["data"]["tables_total"], 300);
    let size = serde_json::to_string(&run.json["data"]["tables"])
        .map(|t| t.len())
        .unwrap_or(0);
    assert!(size <= 2000, "{size}");

    // The listing is compact: 300 tables fit in a few kilobytes, and it is capped the same way.
    let run = introspect(&db, &["--list-tables"]);
    run.assert_ok();
    assert_eq!(run.json["meta"]["truncated"], false);
    assert!(run.stdout.len() < 300 * 40, "{} bytes", run.stdout.len());
    let run = introspect(&db, &["--list-tables", "--max-bytes", "500"]);
    assert_eq!(run.json["meta"]["truncated"], true);
}

#[test]
fn introspection_never_creates_or_changes_a_file() {
    let db = SqliteFixture::new(SCHEMA);
    let before = db.snapshot();
    for extra in [
        vec!["--list-schemas"],
        vec!["--list-tables"],
        vec!["--table", "orders"],
        vec![],
    ] {
        introspect(&db, &extra).assert_ok();
    }
    assert_eq!(db.snapshot(), before);
    let missing = db.dir.path().join("missing.db");
    Plenum::new(["introspect", "--engine", "sqlite", "--file"])
        .args([missing.as_os_str()])
        .run()
        .assert_error("CONNECTION_FAILED");
    assert!(!missing.exists());
}

#[test]
fn a_saved_connection_works_for_introspection() {
    let db = SqliteFixture::new(SCHEMA);
    let sandbox = ConfigSandbox::new();
    sandbox
        .plenum([
            "connect",
            "--name",
            "shop",
            "--engine",
            "sqlite",
            "--max-capability",
            "read",
            "--file",
        ])
        .args([db.file.as_os_str()])
        .run()
        .assert_ok();
    let run = sandbox
        .plenum(["introspect", "--connection", "shop", "--table", "customers"])
        .run();
    run.assert_ok();
    assert_eq!(run.json["engine"], "sqlite");
    assert_eq!(column_names(&run.json["data"]["table"]), vec!["id", "name"]);
}

#[test]
fn introspect_and_connect_envelopes_match_the_published_schemas() {
    let schemas = schemas();
    let validate = |schema: &Json, run: &Run| assert_valid(schema, &run.json);
    let db = SqliteFixture::new(SCHEMA);
    for extra in [
        vec!["--list-schemas"],
        vec!["--list-tables"],
        vec!["--table", "orders"],
        vec![],
    ] {
        let run = introspect(&db, &extra);
        run.assert_ok();
        validate(&schemas["result"], &run);
    }
    let failed = introspect(&db, &["--table", "nope"]);
    validate(&schemas["error"], &failed);
    let sandbox = ConfigSandbox::new();
    let saved = sandbox
        .plenum([
            "connect", "--name", "shop", "--engine", "sqlite", "--test", "--file",
        ])
        .args([db.file.as_os_str()])
        .run();
    saved.assert_ok();
    validate(&schemas["result"], &saved);
    let list = sandbox.plenum(["connect", "--list"]).run();
    validate(&schemas["result"], &list);
}

#[test]
fn a_summary_that_runs_out_of_time_is_partial_not_lost() {
    let many: String = (0..3000)
        .map(|n| format!("CREATE TABLE t{n:04} (id INTEGER PRIMARY KEY, a TEXT);"))
        .collect();
    let db = SqliteFixture::new(&format!("BEGIN; {many} COMMIT;"));
    let started = std::time::Instant::now();
    let run = introspect(&db, &["--timeout-ms", "1500"]);
    run.assert_ok();
    assert!(
        started.elapsed().as_millis() < 4000,
        "{:?}",
        started.elapsed()
    );
    let tables = listed_tables(&run).len();
    if tables < 3000 {
        assert_eq!(
            run.json["meta"]["truncated_by"], "timeout",
            "{}",
            run.json["meta"]
        );
        assert!(tables > 0);
    }
    assert_eq!(run.json["data"]["tables_total"], 3000);
}

/// Names and shapes that a catalog lookup could get wrong: quotes, spaces, Unicode, keywords,
/// LIKE wildcards, WITHOUT ROWID, generated columns, composite and implicit foreign keys,
/// unique, partial and expression indexes, and views (one over a view).
const ODD_SCHEMA: &str = r#"
    CREATE TABLE "it's ""quoted""" (id INTEGER PRIMARY KEY, "na me" TEXT NOT NULL DEFAULT 'x');
    CREATE TABLE "order" ("group" INTEGER, "by" TEXT, PRIMARY KEY ("by", "group"))
        WITHOUT ROWID;
    CREATE TABLE "ünïcødé 表" (
        "列" TEXT PRIMARY KEY,
        ref INTEGER REFERENCES "it's ""quoted""",
        grp INTEGER, bym TEXT,
        FOREIGN KEY (bym, grp) REFERENCES "order" ("by", "group")
    );
    CREATE TABLE "MixedCase" (
        a INTEGER, b INTEGER NOT NULL, total INTEGER AS (a + b) VIRTUAL,
        doubled INTEGER GENERATED ALWAYS AS (b * 2) STORED,
        FOREIGN KEY (a) REFERENCES "ünïcødé 表" ("列") ON DELETE CASCADE,
        FOREIGN KEY (b) REFERENCES "it's ""quoted""" (id)
    );
    CREATE TABLE "50%_off" ("%" TEXT, "_" BLOB);
    CREATE TABLE "x'); DROP TABLE orders; --" ("a""b" INTEGER PRIMARY KEY, "c;d" TEXT);
    CREATE TABLE plain (x, y);
    CREATE UNIQUE INDEX "uniq ""name""" ON "it's ""quoted""" ("na me");
    CREATE INDEX partial_idx ON "MixedCase" (a) WHERE b > 0;
    CREATE INDEX expr_idx ON "MixedCase" (lower(a), b);
    CREATE INDEX "表_idx" ON "ünïcødé 表" (grp, bym);
    CREATE VIEW "v ""one""" AS SELECT id, "na me" FROM "it's ""quoted""";
    CREATE VIEW "select" AS SELECT * FROM "v ""one""";
"#;

/// The summary's entry for a table, rebuilt from that table's full description.
fn summary_entry_from_detail(detail: &Json) -> Json {
    let mut entry = serde_json::Map::new();
    entry.insert("name".into(), detail["name"].clone());
    entry.insert("kind".into(), detail["kind"].clone());
    let columns: Vec<Json> = detail["columns"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|column| json!({"name": column["name"], "type": column["type"], "nullable": column["nullable"]}))
        .collect();
    entry.insert("columns".into(), Json::Array(columns));
    for key in ["primary_key", "foreign_keys"] {
        if detail[key]
            .as_array()
            .is_some_and(|values| !values.is_empty())
        {
            entry.insert(key.into(), detail[key].clone());
        }
    }
    Json::Object(entry)
}

#[test]
fn the_summary_says_what_each_table_description_says() {
    let db = SqliteFixture::new(ODD_SCHEMA);
    let before = db.snapshot();
    let listing = introspect(&db, &["--list-tables"]);
    listing.assert_ok();
    let summary = introspect(&db, &[]);
    summary.assert_ok();
    assert_eq!(summary.json["meta"]["truncated"], false);
    assert_eq!(summary.json["data"]["schema"], "main");
    assert_eq!(summary.json["data"]["tables_total"], 9);
    assert_eq!(listed_table_names(&summary), listed_table_names(&listing));

    for entry in listed_tables(&summary) {
        let name = entry["name"].as_str().unwrap_or_default();
        let detail = table(&db, name);
        assert_eq!(detail["schema"], "main", "{name}");
        assert_eq!(entry, summary_entry_from_detail(&detail), "{name}");
    }

    // The descriptions themselves, where a wrong lookup would show.
    let mixed = table(&db, "MixedCase");
    assert_eq!(column_names(&mixed), vec!["a", "b", "total", "doubled"]);
    assert_eq!(
        mixed["foreign_keys"],
        json!([
            {"name": null, "columns": ["b"],
             "references": {"schema": "main", "table": "it's \"quoted\"", "columns": ["id"]}},
            {"name": null, "columns": ["a"],
             "references": {"schema": "main", "table": "ünïcødé 表", "columns": ["列"]}}
        ])
    );
    assert_has_index(
        &mixed,
        &json!({"name": "expr_idx", "columns": ["<expression>", "b"], "unique": false}),
    );
    assert_has_index(
        &mixed,
        &json!({"name": "partial_idx", "columns": ["a"], "unique": false}),
    );
    let unicode = table(&db, "ünïcødé 表");
    assert_eq!(
        unicode["foreign_keys"],
        json!([
            {"name": null, "columns": ["bym", "grp"],
             "references": {"schema": "main", "table": "order", "columns": ["by", "group"]}},
            // No column named: the referenced table's primary key.
            {"name": null, "columns": ["ref"],
             "references": {"schema": "main", "table": "it's \"quoted\"", "columns": [""]}}
        ])
    );
    let order = table(&db, "order");
    assert_eq!(order["primary_key"], json!(["by", "group"]));
    assert_has_index(
        &table(&db, "it's \"quoted\""),
        &json!({"name": "uniq \"name\"", "columns": ["na me"], "unique": true}),
    );
    let view = table(&db, "select");
    assert_eq!(view["kind"], "view");
    assert_eq!(column_names(&view), vec!["id", "na me"]);
    assert_eq!(
        view["view_definition"],
        "CREATE VIEW \"select\" AS SELECT * FROM \"v \"\"one\"\"\""
    );
    // Exact names: another case, or a name with its quotes, is not the table.
    introspect(&db, &["--table", "mixedcase"]).assert_error("INVALID_INPUT");
    introspect(&db, &["--table", "\"order\""]).assert_error("INVALID_INPUT");
    assert_eq!(db.snapshot(), before);
}
