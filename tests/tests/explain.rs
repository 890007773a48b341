//! `plenum query --explain` (and the MCP `explain: true` argument) on every engine: SQLite
//! always, PostgreSQL and MySQL/MariaDB when their servers answer (under `CI=true` they
//! must). The plan comes back as one engine-neutral tree, the statement is never executed,
//! and explaining a write needs the same grant as running it.

mod live_support;
mod mcp_support;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use live_support::{Kind, Server, TestDb, Via};
use mcp_support::{error_code, sqlite, tool_result, McpServer};
use plenum_e2e::{Run, SqliteFixture};
use serde_json::{json, Value as Json};

/// The keys every plan node carries, always.
const NODE_KEYS: [&str; 8] = [
    "node",
    "relation",
    "alias",
    "index",
    "estimated_rows",
    "estimated_cost",
    "detail",
    "children",
];

/// A join of the two tables, with aliases (engines other than PostgreSQL plan by alias).
const JOIN: &str = "SELECT u.name, o.total FROM users u JOIN orders o ON o.user_id = u.id \
                    WHERE o.total > 10";

/// One engine under test.
struct Engine<'a> {
    /// `plenum query` on the fixture with `sql` and extra flags.
    run: &'a dyn Fn(&str, &[&str]) -> Run,
    /// The rows of `orders`, read directly (not through plenum).
    orders: &'a dyn Fn() -> i64,
    /// The first placeholder (`?` or `$1`).
    placeholder: &'static str,
    /// `data.format`.
    format: &'static str,
    /// The index a lookup of `users` by `id` uses.
    users_key: &'static str,
}

/// Every node of the plan, depth first (without recursion).
fn nodes(plan: &Json) -> Vec<&Json> {
    let mut out = Vec::new();
    let mut stack = vec![plan];
    while let Some(node) = stack.pop() {
        out.push(node);
        if let Some(children) = node["children"].as_array() {
            stack.extend(children.iter().rev());
        }
    }
    out
}

/// The plan of an ok explain envelope, after checking its shape.
fn plan<'a>(run: &'a Run, engine: &Engine<'_>) -> &'a Json {
    run.assert_ok();
    assert_eq!(run.json["data"]["format"], engine.format, "{}", run.stdout);
    assert_eq!(run.json["meta"]["rows_returned"], 0, "{}", run.stdout);
    assert_eq!(run.json["meta"]["statements"], 1, "{}", run.stdout);
    let plan = &run.json["data"]["plan"];
    for node in nodes(plan) {
        let object = node.as_object().expect("a node is an object");
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = NODE_KEYS.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected, "node keys: {node}");
        assert!(node["node"].is_string(), "{node}");
        assert!(node["children"].is_array(), "{node}");
    }
    plan
}

fn relations(plan: &Json) -> Vec<String> {
    nodes(plan)
        .into_iter()
        .filter_map(|node| node["relation"].as_str().map(str::to_owned))
        .collect()
}

fn join_names_both_relations(engine: &Engine<'_>) {
    let run = (engine.run)(JOIN, &["--explain"]);
    let plan = plan(&run, engine);
    let relations = relations(plan);
    for table in ["users", "orders"] {
        assert!(
            relations.iter().any(|relation| relation == table),
            "no {table} in {relations:?}: {}",
            run.stdout
        );
    }
    // The aliases the statement gave are reported beside the tables.
    let aliases: Vec<&str> = nodes(plan)
        .into_iter()
        .filter_map(|node| node["alias"].as_str())
        .collect();
    assert!(
        aliases.contains(&"u") && aliases.contains(&"o"),
        "{aliases:?}"
    );
    assert_eq!(
        run.json["data"]["statement"],
        json!({"kind": "SELECT", "tier": "read"})
    );
    assert_eq!(run.json["meta"]["access"], "read");
}

fn write_explain_needs_the_grant_and_runs_nothing(engine: &Engine<'_>) {
    let before = (engine.orders)();
    assert!(before > 0);
    for sql in [
        "DELETE FROM orders",
        "UPDATE orders SET total = 0",
        "INSERT INTO orders (id, user_id, total) VALUES (100000, 1, 1)",
    ] {
        let refused = (engine.run)(sql, &["--explain"]);
        refused.assert_error("CAPABILITY_VIOLATION");
        assert!(
            refused.error_message().contains("--allow-write"),
            "{}",
            refused.stdout
        );
        let run = (engine.run)(sql, &["--explain", "--allow-write"]);
        plan(&run, engine);
        assert_eq!(
            run.json["data"]["statement"]["tier"], "write",
            "{}",
            run.stdout
        );
        assert_eq!(run.json["meta"]["access"], "write", "{}", run.stdout);
        assert_eq!((engine.orders)(), before, "{sql} changed the rows");
    }
    // DELETE's plan reads the table it would delete from.
    let run = (engine.run)(
        "DELETE FROM orders WHERE user_id = 2",
        &["--explain", "--allow-write"],
    );
    assert!(
        relations(plan(&run, engine)).contains(&"orders".to_owned()),
        "{}",
        run.stdout
    );
    assert_eq!((engine.orders)(), before);
}

/// A statement that is already an EXPLAIN form, and the error code `--explain` gives it
/// with `--allow-write` and without.
type Form<'a> = (&'a str, &'a str, &'a str);

fn explain_forms_are_refused(engine: &Engine<'_>, forms: &[Form<'_>]) {
    let before = (engine.orders)();
    for (sql, with_write, without) in forms {
        let run = (engine.run)(sql, &["--explain", "--allow-write"]);
        run.assert_error(with_write);
        if *with_write == "INVALID_INPUT" {
            assert!(
                run.error_message().contains("bare statement"),
                "{}",
                run.stdout
            );
        }
        (engine.run)(sql, &["--explain"]).assert_error(without);
    }
    assert_eq!((engine.orders)(), before, "a refused form changed the rows");
    // One statement at a time.
    (engine.run)("SELECT 1; SELECT 2", &["--explain"]).assert_error("INVALID_INPUT");
}

fn bound_parameter_is_planned(engine: &Engine<'_>) {
    let sql = format!("SELECT name FROM users WHERE id = {}", engine.placeholder);
    let run = (engine.run)(&sql, &["--explain", "--param", "5"]);
    let plan = plan(&run, engine);
    let lookup = nodes(plan)
        .into_iter()
        .find(|node| node["relation"] == "users")
        .unwrap_or_else(|| panic!("no users node: {}", run.stdout));
    assert_eq!(lookup["index"], engine.users_key, "{}", run.stdout);
    // A placeholder without its value is refused before anything is planned.
    (engine.run)(&sql, &["--explain"]).assert_error("INVALID_INPUT");
}

fn every_scenario(engine: &Engine<'_>, refused_forms: &[Form<'_>]) {
    join_names_both_relations(engine);
    write_explain_needs_the_grant_and_runs_nothing(engine);
    explain_forms_are_refused(engine, refused_forms);
    bound_parameter_is_planned(engine);
}

const SQLITE_SETUP: &str = "
    CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
                         total REAL);
    CREATE INDEX orders_user ON orders (user_id);
    WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200)
    INSERT INTO users SELECT x, 'user ' || x FROM c;
    WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000)
    INSERT INTO orders SELECT x, 1 + x % 200, x FROM c;";

#[test]
fn sqlite_explain() {
    let fixture = SqliteFixture::new(SQLITE_SETUP);
    let snapshot = fixture.snapshot();
    let run = |sql: &str, extra: &[&str]| fixture.query(sql, extra);
    let orders = || {
        fixture.direct("SELECT count(*) FROM orders")[0]
            .trim_start_matches("Integer(")
            .trim_end_matches(')')
            .parse::<i64>()
            .expect("a count")
    };
    let engine = Engine {
        run: &run,
        orders: &orders,
        placeholder: "?",
        format: "sqlite-query-plan",
        users_key: "INTEGER PRIMARY KEY",
    };
    every_scenario(
        &engine,
        &[
            (
                "EXPLAIN QUERY PLAN SELECT * FROM orders",
                "INVALID_INPUT",
                "INVALID_INPUT",
            ),
            (
                "EXPLAIN DELETE FROM orders",
                "INVALID_INPUT",
                "INVALID_INPUT",
            ),
        ],
    );
    // SQLite's plan has no estimates, and its root is the synthetic QUERY node.
    let run = fixture.query(JOIN, &["--explain"]);
    let plan = plan(&run, &engine);
    assert_eq!(plan["node"], "QUERY");
    assert!(nodes(plan)
        .iter()
        .all(|node| node["estimated_rows"].is_null() && node["estimated_cost"].is_null()));
    // Not a byte of the database changed, and no journal was left behind.
    assert_eq!(
        fixture.snapshot(),
        snapshot,
        "the database directory changed"
    );
}

#[test]
fn sqlite_explain_over_mcp() {
    let fixture = SqliteFixture::new(SQLITE_SETUP);
    let snapshot = fixture.snapshot();
    let mut server = McpServer::start(&[], &[]);
    server.initialize("2025-06-18");
    let answer = server.call_tool(
        "query",
        sqlite(&fixture.file, json!({"sql": JOIN, "explain": true})),
    );
    let envelope = tool_result(&answer);
    assert_eq!(envelope["ok"], true, "{answer}");
    assert_eq!(envelope["data"]["format"], "sqlite-query-plan", "{answer}");
    let relations = relations(&envelope["data"]["plan"]);
    assert!(
        relations.contains(&"users".to_owned()) && relations.contains(&"orders".to_owned()),
        "{relations:?}"
    );
    // The server's ceiling is read: explaining a write is refused like running it.
    let answer = server.call_tool(
        "query",
        sqlite(
            &fixture.file,
            json!({"sql": "DELETE FROM orders", "explain": true, "allow_write": true}),
        ),
    );
    assert_eq!(error_code(&answer), "CAPABILITY_VIOLATION", "{answer}");
    drop(server);

    let mut server = McpServer::start(&["--allow-write"], &[]);
    server.initialize("2025-06-18");
    let answer = server.call_tool(
        "query",
        sqlite(
            &fixture.file,
            json!({"sql": "DELETE FROM orders", "explain": true, "allow_write": true}),
        ),
    );
    let envelope = tool_result(&answer);
    assert_eq!(envelope["ok"], true, "{answer}");
    assert_eq!(envelope["data"]["statement"]["tier"], "write", "{answer}");
    drop(server);
    assert_eq!(
        fixture.snapshot(),
        snapshot,
        "the database directory changed"
    );
}

const POSTGRES_SETUP: &[&str] = &[
    "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)",
    "CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users (id), total numeric)",
    "CREATE INDEX orders_user ON orders (user_id)",
    "INSERT INTO users SELECT x, 'user ' || x FROM generate_series(1, 10000) AS x",
    "INSERT INTO orders SELECT x, 1 + x % 200, x FROM generate_series(1, 1000) AS x",
    "ANALYZE users",
    "ANALYZE orders",
];

const MYSQL_SETUP: &[&str] = &[
    "CREATE TABLE users (id int PRIMARY KEY, name varchar(50) NOT NULL)",
    "CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL, total decimal(10, 2), \
     KEY orders_user (user_id), FOREIGN KEY (user_id) REFERENCES users (id)) ENGINE=InnoDB",
    "SET SESSION max_recursive_iterations = 100000",
    "INSERT INTO users WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200) \
     SELECT x, concat('user ', x) FROM c",
    "INSERT INTO orders WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) \
     SELECT x, 1 + x % 200, x FROM c",
    "ANALYZE TABLE users, orders",
];

fn live_engine<'a>(
    db: &'a TestDb,
    run: &'a dyn Fn(&str, &[&str]) -> Run,
    orders: &'a dyn Fn() -> i64,
) -> Engine<'a> {
    match db.server.kind {
        Kind::Postgres => Engine {
            run,
            orders,
            placeholder: "$1",
            format: "postgres-json",
            users_key: "users_pkey",
        },
        Kind::Mysql => Engine {
            run,
            orders,
            placeholder: "?",
            format: "mysql-json",
            users_key: "PRIMARY",
        },
    }
}

/// `n_tup_del` of `orders`: rows deleted, counted even when the deleting transaction rolled
/// back, so an explain that ran its DELETE and undid it would still show here.
fn deleted_tuples(db: &mut TestDb) -> i64 {
    db.admin()
        .text("SELECT n_tup_del FROM pg_stat_user_tables WHERE relname = 'orders'")
        .parse()
        .expect("n_tup_del")
}

/// Waits until `n_tup_del` reaches `at_least` (statistics arrive within about a second).
fn wait_for_deleted_tuples(db: &mut TestDb, at_least: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let seen = deleted_tuples(db);
        if seen >= at_least || Instant::now() > deadline {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn postgres_explain() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut db = TestDb::create(&server, POSTGRES_SETUP);
    let fingerprint = db.fingerprint();
    let base_deletes = wait_for_deleted_tuples(&mut db, 0);
    {
        let run = |sql: &str, extra: &[&str]| db.query(Via::Flags, sql, extra);
        let admin = RefCell::new(db.server.admin(Some(&db.name)));
        let orders = || {
            admin
                .borrow_mut()
                .text("SELECT count(*) FROM orders")
                .parse()
                .expect("a count")
        };
        let engine = live_engine(&db, &run, &orders);
        every_scenario(
            &engine,
            &[
                // EXPLAIN ANALYZE runs its statement: without the grant the gate refuses it.
                (
                    "EXPLAIN ANALYZE DELETE FROM orders",
                    "INVALID_INPUT",
                    "CAPABILITY_VIOLATION",
                ),
                (
                    "EXPLAIN (ANALYZE, FORMAT JSON) DELETE FROM orders",
                    "INVALID_INPUT",
                    "CAPABILITY_VIOLATION",
                ),
                ("EXPLAIN ANALYZE SELECT 1", "INVALID_INPUT", "INVALID_INPUT"),
                (
                    "EXPLAIN (FORMAT JSON) SELECT * FROM orders",
                    "INVALID_INPUT",
                    "INVALID_INPUT",
                ),
            ],
        );
        // PostgreSQL estimates every node.
        let run = db.query(Via::Dsn, JOIN, &["--explain"]);
        let plan = plan(&run, &engine);
        assert!(
            nodes(plan).iter().all(
                |node| node["estimated_rows"].is_number() && node["estimated_cost"].is_number()
            ),
            "{}",
            run.stdout
        );
    }
    assert_eq!(db.fingerprint(), fingerprint, "the database changed");

    // No explain deleted a row, not even in a transaction that rolled back. A rolled-back
    // DELETE of one row afterwards shows that such a delete would be counted.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        deleted_tuples(&mut db),
        base_deletes,
        "an explain deleted rows"
    );
    db.admin()
        .exec(&["BEGIN; DELETE FROM orders WHERE id = 1; ROLLBACK;"]);
    let after_control = wait_for_deleted_tuples(&mut db, base_deletes + 1);
    assert_eq!(
        after_control,
        base_deletes + 1,
        "the control delete was not counted"
    );
}

#[test]
fn mysql_explain() {
    let Some(server) = Server::mysql() else {
        return;
    };
    let mut db = TestDb::create(&server, MYSQL_SETUP);
    let fingerprint = db.fingerprint();
    {
        let run = |sql: &str, extra: &[&str]| db.query(Via::Flags, sql, extra);
        let admin = RefCell::new(db.server.admin(Some(&db.name)));
        let orders = || {
            admin
                .borrow_mut()
                .text("SELECT count(*) FROM orders")
                .parse()
                .expect("a count")
        };
        let engine = live_engine(&db, &run, &orders);
        every_scenario(
            &engine,
            &[
                (
                    "EXPLAIN FORMAT=JSON DELETE FROM orders",
                    "INVALID_INPUT",
                    "INVALID_INPUT",
                ),
                (
                    "EXPLAIN DELETE FROM orders",
                    "INVALID_INPUT",
                    "INVALID_INPUT",
                ),
                // MariaDB's spelling of EXPLAIN ANALYZE runs the statement; the gate does not
                // read it, so it is refused before anything connects.
                ("ANALYZE DELETE FROM orders", "PARSE_ERROR", "PARSE_ERROR"),
                (
                    "ANALYZE FORMAT=JSON DELETE FROM orders",
                    "PARSE_ERROR",
                    "PARSE_ERROR",
                ),
            ],
        );
    }
    assert_eq!(db.fingerprint(), fingerprint, "the database changed");
}
