//! Warm sessions in `plenum mcp` (host/src/pool.rs), one test per safety rule, on the live
//! PostgreSQL and MySQL/MariaDB servers (skipped with a notice when one is down). Which
//! sessions the server holds is read from the server's own session list for the test's
//! database, through an admin connection. Closes run on a thread of their own, so "closed"
//! is waited for; nothing here is timed.

mod live_support;
mod mcp_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use live_support::{Kind, Server, TestDb};
use mcp_support::{tool_result, McpServer};
use serde_json::{json, Value as Json};

/// The variable `plenum mcp` reads the admin URL's password from (as live_support does).
const PASSWORD_VARIABLE: &str = "PLENUM_TEST_DB_PASSWORD";

fn servers() -> Vec<Server> {
    [Server::postgres(), Server::mysql()]
        .into_iter()
        .flatten()
        .collect()
}

fn start(db: &TestDb, args: &[&str]) -> McpServer {
    let mut all = vec!["--allow-write"];
    all.extend_from_slice(args);
    let mut env = Vec::new();
    if let Some(password) = &db.server.password {
        env.push((PASSWORD_VARIABLE, password.as_str()));
        all.extend(["--password-env", PASSWORD_VARIABLE]);
    }
    let mut server = McpServer::start(&all, &env);
    server.initialize("2025-11-25");
    server
}

fn arguments(db: &TestDb, sql: &str) -> Json {
    let mut arguments = json!({"engine": db.server.engine(), "host": db.server.host,
        "port": db.server.port, "user": db.server.user, "database": db.name, "sql": sql});
    if db.server.password.is_some() {
        arguments["password_env"] = json!(PASSWORD_VARIABLE);
    }
    arguments
}

/// Runs a call and returns its envelope.
fn call(server: &mut McpServer, arguments: Json) -> Json {
    let answer = server.call_tool("query", arguments);
    tool_result(&answer).clone()
}

fn call_ok(server: &mut McpServer, arguments: Json) -> Json {
    let envelope = call(server, arguments);
    assert_eq!(envelope["ok"], json!(true), "{envelope}");
    envelope
}

/// The ids of the sessions other than the admin's on the test's database.
fn sessions(db: &mut TestDb) -> BTreeSet<String> {
    let sql = match db.server.kind {
        Kind::Postgres => {
            "SELECT pid::text FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        }
        Kind::Mysql => {
            "SELECT CAST(id AS CHAR) FROM information_schema.processlist \
             WHERE db = DATABASE() AND id <> CONNECTION_ID()"
        }
    };
    db.admin().column(sql).into_iter().collect()
}

/// Waits (closes are asynchronous) until the sessions satisfy `done`.
fn wait_for(
    db: &mut TestDb,
    what: &str,
    done: impl Fn(&BTreeSet<String>) -> bool,
) -> BTreeSet<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = sessions(db);
        if done(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "{what}: sessions are {now:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn one(sessions: &BTreeSet<String>) -> String {
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    sessions.iter().next().cloned().unwrap_or_default()
}

fn database(server: &Server) -> TestDb {
    TestDb::create(server, &["CREATE TABLE items (id INT PRIMARY KEY)"])
}

#[test]
fn a_clean_read_leaves_its_session_warm_and_the_next_read_reuses_it() {
    for server in servers() {
        let mut db = database(&server);
        let mut mcp = start(&db, &[]);
        call_ok(&mut mcp, arguments(&db, "SELECT count(*) FROM items"));
        let first = one(&wait_for(&mut db, "after one read", |s| s.len() == 1));
        for _ in 0..5 {
            call_ok(&mut mcp, arguments(&db, "SELECT count(*) FROM items"));
            assert_eq!(one(&sessions(&mut db)), first, "{:?}", server.kind);
        }
    }
}

#[test]
fn writes_and_ddl_close_their_session_and_never_meet_a_read_session() {
    for server in servers() {
        let mut db = database(&server);
        let mut mcp = start(&db, &["--allow-ddl"]);
        call_ok(&mut mcp, arguments(&db, "SELECT count(*) FROM items"));
        let read = one(&wait_for(&mut db, "after a read", |s| s.len() == 1));
        let mut write = arguments(&db, "INSERT INTO items VALUES (1)");
        write["allow_write"] = json!(true);
        call_ok(&mut mcp, write);
        let mut ddl = arguments(&db, "CREATE TABLE more_items (id INT)");
        ddl["allow_ddl"] = json!(true);
        call_ok(&mut mcp, ddl);
        // Only the read session stays; the write and DDL sessions closed.
        let left = wait_for(&mut db, "after a write and a DDL call", |s| s.len() == 1);
        assert_eq!(one(&left), read, "{:?}", server.kind);
        // The read session still answers, and still read-only at the engine: the write it
        // would refuse is refused by the gate first, so the engine is asked directly below
        // (tests/tests/pool_reset.rs) — here, it serves the next read.
        let envelope = call_ok(&mut mcp, arguments(&db, "SELECT count(*) FROM items"));
        assert_eq!(envelope["data"]["rows"][0][0], json!(1), "{envelope}");
        assert_eq!(one(&sessions(&mut db)), read);
    }
}

#[test]
fn a_call_that_failed_or_timed_out_closes_its_session() {
    for server in servers() {
        let mut db = database(&server);
        let mut mcp = start(&db, &[]);
        call_ok(&mut mcp, arguments(&db, "SELECT count(*) FROM items"));
        wait_for(&mut db, "after a read", |s| s.len() == 1);
        // An error at the engine, in the warm session: it is closed, not given back.
        let envelope = call(&mut mcp, arguments(&db, "SELECT id FROM no_such_table"));
        assert_eq!(envelope["ok"], json!(false), "{envelope}");
        wait_for(&mut db, "after a failed call", BTreeSet::is_empty);
        // A timeout: cancelled at the engine, then closed.
        let sleep = match server.kind {
            Kind::Postgres => "SELECT pg_sleep(5)",
            Kind::Mysql => "SELECT SLEEP(5)",
        };
        let mut slow = arguments(&db, sleep);
        slow["timeout_ms"] = json!(300);
        let envelope = call(&mut mcp, slow);
        assert_eq!(envelope["error"]["code"], json!("TIMEOUT"), "{envelope}");
        wait_for(&mut db, "after a timeout", BTreeSet::is_empty);
    }
}

#[test]
fn a_session_serves_only_its_own_target() {
    for server in servers() {
        let mut db = database(&server);
        let mut other = database(&server);
        let mut mcp = start(&db, &[]);
        call_ok(&mut mcp, arguments(&db, "SELECT count(*) FROM items"));
        let first = one(&wait_for(&mut db, "after a read", |s| s.len() == 1));
        // Another database: a session of its own.
        call_ok(&mut mcp, arguments(&other, "SELECT count(*) FROM items"));
        wait_for(&mut other, "the other database", |s| s.len() == 1);
        // The same database with another statement timeout (part of the session's setup).
        let mut longer = arguments(&db, "SELECT count(*) FROM items");
        longer["timeout_ms"] = json!(12_345);
        call_ok(&mut mcp, longer.clone());
        let both = wait_for(&mut db, "another timeout", |s| s.len() == 2);
        assert!(both.contains(&first), "{both:?}");
        // Each key finds its own session again.
        call_ok(&mut mcp, longer);
        call_ok(&mut mcp, arguments(&db, "SELECT count(*) FROM items"));
        assert_eq!(sessions(&mut db), both, "{:?}", server.kind);
    }
}

/// A saved connection's credentials stay with it: the same host, user and database with
/// another password is another target. (The test server trusts every password, so both
/// connect; MariaDB's root has none, so this runs on PostgreSQL.)
#[test]
fn another_password_is_another_target() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut db = database(&server);
    let mut mcp = McpServer::start(
        &["--password-env", "WARM_A", "--password-env", "WARM_B"],
        &[("WARM_A", "first secret"), ("WARM_B", "second secret")],
    );
    mcp.initialize("2025-11-25");
    let with = |variable: &str| {
        let mut arguments = arguments(&db, "SELECT count(*) FROM items");
        arguments["password_env"] = json!(variable);
        arguments
    };
    let (a, b) = (with("WARM_A"), with("WARM_B"));
    call_ok(&mut mcp, a.clone());
    wait_for(&mut db, "password A", |s| s.len() == 1);
    call_ok(&mut mcp, b.clone());
    let both = wait_for(&mut db, "password B", |s| s.len() == 2);
    call_ok(&mut mcp, a);
    call_ok(&mut mcp, b);
    assert_eq!(sessions(&mut db), both);
}

#[test]
fn idle_sessions_close_after_the_idle_time() {
    for server in servers() {
        let mut db = database(&server);
        let mut mcp = start(&db, &["--pool-idle-secs", "1"]);
        call_ok(&mut mcp, arguments(&db, "SELECT count(*) FROM items"));
        wait_for(&mut db, "after a read", |s| s.len() == 1);
        // No further call: the pool's own sweep closes it.
        wait_for(&mut db, "after the idle time", BTreeSet::is_empty);
    }
}

#[test]
fn a_session_past_its_maximum_age_is_replaced() {
    for server in servers() {
        let mut db = database(&server);
        let mut mcp = start(&db, &["--pool-max-age-secs", "1"]);
        call_ok(&mut mcp, arguments(&db, "SELECT count(*) FROM items"));
        let first = one(&wait_for(&mut db, "after a read", |s| s.len() == 1));
        std::thread::sleep(Duration::from_millis(1200));
        call_ok(&mut mcp, arguments(&db, "SELECT count(*) FROM items"));
        let now = wait_for(&mut db, "after the maximum age", |s| {
            s.len() == 1 && !s.contains(&first)
        });
        assert_ne!(one(&now), first);
    }
}

#[test]
fn a_dead_warm_session_is_replaced_without_failing_the_call() {
    for server in servers() {
        let mut db = database(&server);
        let mut mcp = start(&db, &[]);
        // Two warm sessions, as a server restart would leave them: both killed.
        let mut slow = arguments(&db, "SELECT count(*) FROM items");
        slow["timeout_ms"] = json!(20_000);
        let ids = [
            mcp.send_call("query", slow.clone()),
            mcp.send_call("query", slow),
        ];
        for id in &ids {
            let answer = mcp.answer(id);
            assert_eq!(tool_result(&answer)["ok"], json!(true), "{answer}");
        }
        let warm = wait_for(&mut db, "warm sessions", |s| !s.is_empty());
        for id in &warm {
            let kill = match server.kind {
                Kind::Postgres => format!("SELECT pg_terminate_backend({id})"),
                Kind::Mysql => format!("KILL {id}"),
            };
            let _ = db.admin().column(&kill);
        }
        wait_for(&mut db, "killed", BTreeSet::is_empty);
        let mut again = arguments(&db, "SELECT count(*) FROM items");
        again["timeout_ms"] = json!(20_000);
        let envelope = call_ok(&mut mcp, again);
        assert_eq!(envelope["data"]["rows"][0][0], json!(0), "{envelope}");
        let now = wait_for(&mut db, "a new session", |s| s.len() == 1);
        assert!(now.is_disjoint(&warm), "{now:?} {warm:?}");
    }
}

#[test]
fn at_most_pool_size_sessions_of_a_target_stay_warm() {
    for server in servers() {
        let mut db = database(&server);
        let mut mcp = start(&db, &["--pool-size", "2"]);
        let sleep = match server.kind {
            Kind::Postgres => "SELECT pg_sleep(0.3)",
            Kind::Mysql => "SELECT SLEEP(0.3)",
        };
        let ids: Vec<Json> = (0..6)
            .map(|_| mcp.send_call("query", arguments(&db, sleep)))
            .collect();
        for id in &ids {
            let answer = mcp.answer(id);
            assert_eq!(tool_result(&answer)["ok"], json!(true), "{answer}");
        }
        wait_for(&mut db, "after six concurrent reads", |s| s.len() <= 2);
    }
}

#[test]
fn pool_size_zero_opens_a_session_per_call() {
    for server in servers() {
        let mut db = database(&server);
        let mut mcp = start(&db, &["--pool-size", "0"]);
        call_ok(&mut mcp, arguments(&db, "SELECT count(*) FROM items"));
        wait_for(&mut db, "after a read", BTreeSet::is_empty);
    }
}

#[test]
fn a_cancelled_call_closes_its_session() {
    for server in servers() {
        let mut db = database(&server);
        let mut mcp = start(&db, &[]);
        call_ok(&mut mcp, arguments(&db, "SELECT count(*) FROM items"));
        let warm = one(&wait_for(&mut db, "after a read", |s| s.len() == 1));
        let sleep = match server.kind {
            Kind::Postgres => "SELECT pg_sleep(30)",
            Kind::Mysql => "SELECT SLEEP(30)",
        };
        let id = mcp.send_call("query", arguments(&db, sleep));
        // The warm session took the call: wait until it runs the sleep, then cancel it.
        let running = match server.kind {
            Kind::Postgres => format!(
                "SELECT count(*)::text FROM pg_stat_activity WHERE pid = {warm} AND state = 'active'"
            ),
            Kind::Mysql => format!(
                "SELECT CAST(count(*) AS CHAR) FROM information_schema.processlist \
                 WHERE id = {warm} AND info LIKE 'SELECT SLEEP%'"
            ),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while db.admin().column(&running) != ["1"] {
            assert!(Instant::now() < deadline, "the sleep never ran in {warm}");
            std::thread::sleep(Duration::from_millis(20));
        }
        mcp.send(
            &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                         "params": {"requestId": id, "reason": "changed my mind"}}),
        );
        wait_for(&mut db, "after the cancel", |s| !s.contains(&warm));
        // The next call still works, on a session of its own.
        call_ok(&mut mcp, arguments(&db, "SELECT count(*) FROM items"));
    }
}

/// A warm PostgreSQL session keeps its reach answers while the catalog has not changed
/// (plugins/postgres/src/reach_cache.rs): user code created by another session between two
/// calls must still be seen by the next call on the same session.
#[test]
fn user_code_created_between_calls_is_seen_by_the_next_call_on_the_same_warm_session() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut db = TestDb::create(
        &server,
        &[
            "CREATE TABLE items (id INT PRIMARY KEY)",
            "CREATE VIEW shown AS SELECT id FROM items",
        ],
    );
    if db
        .admin()
        .column("SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user")
        != ["true"]
    {
        eprintln!("skipped: the test login is not a superuser (its reach check differs)");
        return;
    }
    let mut mcp = start(&db, &[]);
    let operator = [
        "CREATE FUNCTION op_run(a int, b int) RETURNS int LANGUAGE sql AS 'SELECT a'",
        "CREATE OPERATOR ### (LEFTARG = int, RIGHTARG = int, FUNCTION = op_run)",
    ];
    let view = ["CREATE OR REPLACE VIEW shown AS \
                 SELECT length(pg_read_file('/etc/hostname'))::int AS id"];
    // A user operator over user code (any operator may now resolve to it), and a view that
    // now reads a server file.
    for (sql, change) in [
        ("SELECT 1 + 1", &operator[..]),
        ("SELECT count(*) FROM shown", &view[..]),
    ] {
        // Twice: the second call is answered from the kept answers.
        call_ok(&mut mcp, arguments(&db, sql));
        call_ok(&mut mcp, arguments(&db, sql));
        let warm = one(&wait_for(&mut db, "after the reads", |s| s.len() == 1));
        db.admin().exec(change);
        let refused = call(&mut mcp, arguments(&db, sql));
        assert_eq!(
            refused["error"]["code"],
            json!("CAPABILITY_VIOLATION"),
            "{sql} after {change:?}: {refused}"
        );
        // The refused call was served by the warm session (the only one), which a refusal
        // closes.
        wait_for(&mut db, "after the refusal", |s| !s.contains(&warm));
        db.admin().exec(&[
            "DROP OPERATOR IF EXISTS ### (int, int)",
            "DROP FUNCTION IF EXISTS op_run(int, int)",
            "CREATE OR REPLACE VIEW shown AS SELECT id FROM items",
        ]);
        call_ok(&mut mcp, arguments(&db, sql));
    }
}

/// A read call's transaction ends with the call: the warm session it leaves behind holds no
/// transaction, snapshot or table lock (MariaDB's read sessions run with `autocommit = 0`, so
/// the transaction starts implicitly; PostgreSQL hands the reach check's transaction to the
/// call). Schema changes by others are not held up by an idle warm session.
#[test]
fn an_idle_warm_session_holds_no_transaction_and_no_table_lock() {
    for server in servers() {
        let mut db = database(&server);
        let mut mcp = start(&db, &[]);
        for _ in 0..3 {
            call_ok(&mut mcp, arguments(&db, "SELECT count(*) FROM items"));
        }
        let warm = one(&wait_for(&mut db, "after the reads", |s| s.len() == 1));
        let open = match server.kind {
            Kind::Postgres => format!(
                "SELECT count(*)::text FROM pg_stat_activity \
                 WHERE pid = {warm} AND (xact_start IS NOT NULL OR state <> 'idle')"
            ),
            Kind::Mysql => format!(
                "SELECT CAST(count(*) AS CHAR) FROM information_schema.innodb_trx \
                 WHERE trx_mysql_thread_id = {warm}"
            ),
        };
        assert_eq!(db.admin().column(&open), ["0"], "{:?}", server.kind);
        // A lock the session still held would make this wait, then fail.
        let alter = match server.kind {
            Kind::Postgres => [
                "SET lock_timeout = '2s'",
                "ALTER TABLE items ADD COLUMN extra int",
            ],
            Kind::Mysql => [
                "SET SESSION lock_wait_timeout = 2",
                "ALTER TABLE items ADD COLUMN extra INT",
            ],
        };
        db.admin().exec(&alter);
        // And the warm session serves the next read, which sees the new column.
        let envelope = call_ok(&mut mcp, arguments(&db, "SELECT * FROM items"));
        assert_eq!(
            envelope["data"]["columns"].as_array().map(Vec::len),
            Some(2),
            "{envelope}"
        );
        assert!(sessions(&mut db).contains(&warm));
    }
}
