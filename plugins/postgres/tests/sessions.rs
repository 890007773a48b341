//! Sessions against a live server: access modes at the engine, one statement per call,
//! transactions, parameters, streaming, cancellation and the server-side timeout.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{expect_error, run, sqlstate, text, wait_for};
use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{AccessMode, ErrorKind, Plugin, Value};
use plenum_postgres::PostgresPlugin;

const ITEMS: &str = "CREATE TABLE items (id int PRIMARY KEY, name text);
                     INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three');";

#[test]
fn plugin_describes_itself() {
    let info = <PostgresPlugin as Plugin>::info();
    assert_eq!(info.name.as_str(), "plenum-postgres");
    assert_eq!(info.dialect.as_str(), "postgresql");
    let engines: Vec<&str> = info.engines.iter().map(|e| e.as_str()).collect();
    assert_eq!(engines, ["postgres", "postgresql"]);
    assert_eq!(info.version.as_str(), env!("CARGO_PKG_VERSION"));
    assert!(info.capabilities.cancel && info.capabilities.introspect);
    assert!(info.capabilities.transactions && info.capabilities.transactional_ddl);
}

#[test]
fn writes_in_a_read_session_fail_at_the_engine() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("read_only");
    db.setup(ITEMS);

    let writes = [
        "INSERT INTO items VALUES (4, 'four')",
        "UPDATE items SET name = 'x'",
        "DELETE FROM items",
        "WITH d AS (DELETE FROM items RETURNING *) SELECT count(*) FROM d",
        "CREATE TABLE other (id int)",
        "TRUNCATE items",
    ];
    for sql in writes {
        let mut session = db.session(AccessMode::Read);
        session.begin().unwrap();
        let error = expect_error(run(session.as_mut(), sql, &[]), sql);
        assert_eq!(sqlstate(&error), "25006", "{sql}: {error}");
        assert_eq!(error.kind, ErrorKind::Query);
        session.rollback().unwrap();
    }
    assert_eq!(db.scalar("SELECT count(*) FROM items"), 3);
    assert_eq!(
        db.scalar("SELECT count(*) FROM items WHERE name IN ('one', 'two', 'three')"),
        3
    );
    assert_eq!(
        db.scalar("SELECT count(*) FROM pg_class WHERE relname = 'other'"),
        0
    );
}

#[test]
fn a_read_transaction_cannot_be_switched_back_to_read_write() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("switch_back");
    db.setup(ITEMS);

    // Each as the first statement of the transaction, then a write.
    let switches = [
        "SET TRANSACTION READ WRITE",
        "SET transaction_read_only = off",
        "SELECT set_config('transaction_read_only', 'off', true)",
    ];
    for switch in switches {
        let mut session = db.session(AccessMode::Read);
        session.begin().unwrap();
        let switched = run(session.as_mut(), switch, &[]);
        let write = run(session.as_mut(), "DELETE FROM items", &[]);
        assert!(
            switched.is_err() && write.is_err(),
            "{switch}: switch {switched:?}, write {write:?}"
        );
        session.rollback().unwrap();
    }

    // The session default can be changed (and committed), but every transaction still starts
    // READ ONLY.
    let mut session = db.session(AccessMode::Read);
    session.begin().unwrap();
    run(
        session.as_mut(),
        "SET default_transaction_read_only = off",
        &[],
    )
    .unwrap();
    session.commit().unwrap();
    session.begin().unwrap();
    let error = expect_error(
        run(session.as_mut(), "DELETE FROM items", &[]),
        "delete after changing the default",
    );
    assert_eq!(sqlstate(&error), "25006");
    session.rollback().unwrap();
    drop(session);

    assert_eq!(db.scalar("SELECT count(*) FROM items"), 3);
}

#[test]
fn stacked_statements_are_refused_before_anything_runs() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("stacked");
    db.setup(ITEMS);

    let stacked = [
        "SELECT 1; DELETE FROM items",
        "SELECT 1; COMMIT; DELETE FROM items",
        "DELETE FROM items WHERE id = 1; DELETE FROM items",
    ];
    // A write session, so only the one-statement protocol stands in the way.
    for sql in stacked {
        let mut session = db.session(AccessMode::Write);
        session.begin().unwrap();
        let error = expect_error(run(session.as_mut(), sql, &[]), sql);
        assert_eq!(sqlstate(&error), "42601", "{sql}: {error}");
        assert!(
            error.message.contains("multiple commands"),
            "{sql}: {error}"
        );
        // The host would roll back; a commit must not make anything stick either.
        assert!(session.commit().is_err());
    }
    assert_eq!(db.scalar("SELECT count(*) FROM items"), 3);
}

#[test]
fn write_sessions_commit_and_roll_back() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("write_txn");
    db.setup(ITEMS);

    let mut session = db.session(AccessMode::Write);
    session.begin().unwrap();
    let inserted = run(
        session.as_mut(),
        "INSERT INTO items VALUES (4, 'four'), (5, 'five')",
        &[],
    )
    .unwrap();
    assert_eq!(inserted.rows_affected, Some(2));
    assert!(inserted.columns.is_empty());
    // Not visible to others before commit.
    assert_eq!(db.scalar("SELECT count(*) FROM items"), 3);
    session.commit().unwrap();
    assert_eq!(db.scalar("SELECT count(*) FROM items"), 5);

    session.begin().unwrap();
    let deleted = run(session.as_mut(), "DELETE FROM items WHERE id > 1", &[]).unwrap();
    assert_eq!(deleted.rows_affected, Some(4));
    session.rollback().unwrap();
    assert_eq!(db.scalar("SELECT count(*) FROM items"), 5);

    // Dropping a session with an open transaction rolls it back.
    session.begin().unwrap();
    run(session.as_mut(), "DELETE FROM items", &[]).unwrap();
    drop(session);
    assert_eq!(db.scalar("SELECT count(*) FROM items"), 5);

    // RETURNING rows come back as rows; the host counts them.
    let mut session = db.session(AccessMode::Write);
    session.begin().unwrap();
    let returned = run(
        session.as_mut(),
        "UPDATE items SET name = upper(name) WHERE id <= 2 RETURNING id, name",
        &[],
    )
    .unwrap();
    assert_eq!(returned.rows.len(), 2);
    assert_eq!(returned.rows_affected, None);
    session.commit().unwrap();
    assert_eq!(
        db.scalar("SELECT count(*) FROM items WHERE name = 'ONE'"),
        1
    );

    // DDL is transactional: a rolled-back CREATE TABLE leaves nothing.
    let mut session = db.session(AccessMode::Ddl);
    session.begin().unwrap();
    run(session.as_mut(), "CREATE TABLE made (id int)", &[]).unwrap();
    session.rollback().unwrap();
    assert_eq!(
        db.scalar("SELECT count(*) FROM pg_class WHERE relname = 'made'"),
        0
    );
}

#[test]
fn a_failed_statement_makes_commit_fail() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("failed_txn");
    db.setup(ITEMS);
    let mut session = db.session(AccessMode::Write);
    session.begin().unwrap();
    run(
        session.as_mut(),
        "INSERT INTO items VALUES (9, 'nine')",
        &[],
    )
    .unwrap();
    let error = expect_error(
        run(session.as_mut(), "INSERT INTO items VALUES (1, 'dup')", &[]),
        "duplicate key",
    );
    assert_eq!(sqlstate(&error), "23505");
    assert!(error.message.contains("duplicate key"), "{error}");
    assert!(session.commit().is_err());
    assert_eq!(db.scalar("SELECT count(*) FROM items"), 3);
}

#[test]
fn parameters_are_bound_not_spliced() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("params");
    db.setup(ITEMS);
    let mut session = db.session(AccessMode::Write);
    session.begin().unwrap();

    let hostile = "x'); DELETE FROM items; --";
    run(
        session.as_mut(),
        "INSERT INTO items VALUES ($1, $2)",
        &[Value::Int(7), text(hostile)],
    )
    .unwrap();
    let found = run(
        session.as_mut(),
        "SELECT id FROM items WHERE name = $1",
        &[text(hostile)],
    )
    .unwrap();
    assert_eq!(found.rows, vec![vec![Value::Int(7)]]);

    let typed = run(
        session.as_mut(),
        "SELECT $1::int4 + 1, $2::numeric * 2, $3::timestamptz, $4::bytea, $5::jsonb, \
         $6::bool, $7::float8, $8::int8, $9::text IS NULL, $10::date",
        &[
            Value::Int(41),
            Value::Decimal("1.25".into()),
            text("2024-01-02 03:04:05+02"),
            Value::Bytes(vec![0, 1, 255].into()),
            Value::Json("{\"k\": [1, 2]}".into()),
            Value::Bool(true),
            Value::Float(0.5),
            Value::UInt(9_007_199_254_740_993),
            Value::Null,
            text("2024-02-29"),
        ],
    )
    .unwrap();
    assert_eq!(
        typed.rows[0],
        vec![
            Value::Int(42),
            Value::Decimal("2.50".into()),
            text("2024-01-02T01:04:05+00:00"),
            Value::Bytes(vec![0, 1, 255].into()),
            Value::Json("{\"k\": [1, 2]}".into()),
            Value::Bool(true),
            Value::Float(0.5),
            Value::Int(9_007_199_254_740_993),
            Value::Bool(true),
            text("2024-02-29"),
        ]
    );
    // Inferred parameter types work without casts in the SQL.
    let inferred = run(
        session.as_mut(),
        "SELECT name FROM items WHERE id = $1",
        &[Value::Int(2)],
    )
    .unwrap();
    assert_eq!(inferred.rows, vec![vec![text("two")]]);

    let overflow = expect_error(
        run(session.as_mut(), "SELECT $1::int2", &[Value::Int(70_000)]),
        "int2 overflow",
    );
    assert_eq!(sqlstate(&overflow), "22003");
    session.rollback().unwrap();

    session.begin().unwrap();
    let count = expect_error(
        run(
            session.as_mut(),
            "SELECT $1::int4, $2::int4",
            &[Value::Int(1)],
        ),
        "missing parameter",
    );
    assert_eq!(count.kind, ErrorKind::Query);
    assert!(count.message.contains("parameters"), "{count}");
    session.rollback().unwrap();
    assert_eq!(db.scalar("SELECT count(*) FROM items"), 3);
}

#[test]
fn a_cursor_dropped_early_stops_the_server_producing_rows() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("streaming");
    db.setup("CREATE SEQUENCE produced;");
    // nextval() runs once per row the server actually produces.
    let sql = "SELECT nextval('produced') FROM generate_series(1, 1000000)";
    let mut session = db.session(AccessMode::Write);

    // With the host's hint (max rows + 1 probe) and a large batch size.
    session.begin().unwrap();
    let started = Instant::now();
    {
        let mut cursor = session.execute(sql, &[], 101).unwrap();
        let mut rows = RVec::new();
        let mut total = 0;
        while total < 101 {
            let fetched = cursor.fetch(1000, &mut rows).unwrap();
            assert!(fetched > 0);
            total += fetched;
        }
        assert_eq!(total, 101);
        assert_eq!(rows.len(), 101);
    }
    let elapsed = started.elapsed();
    let produced = run(session.as_mut(), "SELECT last_value FROM produced", &[]).unwrap();
    assert_eq!(produced.rows, vec![vec![Value::Int(101)]]);
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    session.rollback().unwrap();

    // Without a hint, the server produces what was fetched: 3 batches of 50. (Sequences are
    // not transactional, so the count goes on from 101.)
    session.begin().unwrap();
    {
        let mut cursor = session.execute(sql, &[], 0).unwrap();
        let mut rows = RVec::new();
        for _ in 0..3 {
            assert_eq!(cursor.fetch(50, &mut rows).unwrap(), 50);
        }
    }
    let produced = run(session.as_mut(), "SELECT last_value FROM produced", &[]).unwrap();
    assert_eq!(produced.rows, vec![vec![Value::Int(101 + 150)]]);
    // The session is usable after an early close.
    let after = run(
        session.as_mut(),
        "SELECT count(*) FROM generate_series(1, 10)",
        &[],
    )
    .unwrap();
    assert_eq!(after.rows, vec![vec![Value::Int(10)]]);
    session.rollback().unwrap();
}

#[test]
fn fetch_returns_every_row_in_batches_then_zero() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("batches");
    let mut session = db.session(AccessMode::Read);
    session.begin().unwrap();
    let mut cursor = session
        .execute("SELECT g FROM generate_series(1, 250) g", &[], 0)
        .unwrap();
    let mut rows = RVec::new();
    let mut sizes = Vec::new();
    loop {
        let fetched = cursor.fetch(100, &mut rows).unwrap();
        if fetched == 0 {
            break;
        }
        sizes.push(fetched);
    }
    assert_eq!(sizes, [100, 100, 50]);
    let expected: Vec<Value> = (1..=250).map(Value::Int).collect();
    assert_eq!(rows.to_vec(), expected);
    assert_eq!(cursor.fetch(100, &mut rows).unwrap(), 0);
}

#[test]
fn cancel_stops_the_statement_on_the_server() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("cancel");
    let marker = format!("plenum_cancel_marker_{}", db.name);
    let sql = format!("SELECT pg_sleep(30) /* {marker} */");
    let mut session = db.session(AccessMode::Read);
    let cancel = session.cancel_handle().unwrap();

    let worker = thread::spawn(move || {
        session.begin().unwrap();
        let started = Instant::now();
        let result = run(session.as_mut(), &sql, &[]).map(|_| ());
        (result, started.elapsed())
    });

    let admin = std::sync::Mutex::new(db.client());
    let running = |admin: &std::sync::Mutex<postgres::Client>| -> i64 {
        admin
            .lock()
            .unwrap()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE state = 'active' AND query LIKE '%' || $1 || '%' \
                   AND pid <> pg_backend_pid()",
                &[&marker],
            )
            .unwrap()
            .get(0)
    };
    assert!(
        wait_for(Duration::from_secs(10), || running(&admin) == 1).is_some(),
        "the statement never showed up in pg_stat_activity"
    );

    let asked = Instant::now();
    cancel.cancel().unwrap();
    let cancel_took = asked.elapsed();
    assert!(
        cancel_took < Duration::from_secs(1),
        "cancel took {cancel_took:?}"
    );
    let gone_after = wait_for(Duration::from_secs(1), || running(&admin) == 0);
    assert!(gone_after.is_some(), "still running 1 s after cancel");

    let (result, ran_for) = worker.join().unwrap();
    let error = expect_error(result, "cancelled statement");
    assert_eq!(error.kind, ErrorKind::Timeout, "{error}");
    assert_eq!(sqlstate(&error), "57014");
    assert!(ran_for < Duration::from_secs(10), "ran for {ran_for:?}");
    eprintln!(
        "cancel returned in {cancel_took:?}; gone from pg_stat_activity after {gone_after:?}"
    );
}

#[test]
fn statement_timeout_is_a_server_side_backstop() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("timeout");
    let mut params = db.params(AccessMode::Read);
    params.statement_timeout_ms = 200;
    let mut session = common::connect(&params).unwrap();
    session.begin().unwrap();
    let started = Instant::now();
    let error = expect_error(
        run(session.as_mut(), "SELECT pg_sleep(10)", &[]),
        "statement over the timeout",
    );
    let took = started.elapsed();
    assert_eq!(error.kind, ErrorKind::Timeout, "{error}");
    assert_eq!(sqlstate(&error), "57014");
    assert!(error.message.contains("statement timeout"), "{error}");
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    session.rollback().unwrap();

    // Statements within the timeout run normally.
    session.begin().unwrap();
    let quick = run(session.as_mut(), "SELECT pg_sleep(0.05)", &[]).unwrap();
    assert_eq!(quick.rows, vec![vec![Value::Null]]);
    let setting = run(session.as_mut(), "SHOW statement_timeout", &[]).unwrap();
    assert_eq!(setting.rows, vec![vec![text("450ms")]]);
}

#[test]
fn server_info_reports_version_database_and_user() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("info");
    let mut session = db.session(AccessMode::Read);
    let info = session.server_info().unwrap();
    assert!(info.version.as_str().starts_with("PostgreSQL "), "{info:?}");
    assert_eq!(
        info.database.as_ref().map(|d| d.as_str()).into_option(),
        Some(db.name.as_str())
    );
    assert_eq!(
        info.user.as_ref().map(|u| u.as_str()).into_option(),
        Some(server.user.as_str())
    );
    // Also inside the host's transaction.
    session.begin().unwrap();
    assert!(session.server_info().is_ok());
    session.rollback().unwrap();
}

#[test]
fn a_statement_without_begin_opens_the_transaction_itself() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("implicit");
    db.setup(ITEMS);
    let mut session = db.session(AccessMode::Write);
    run(session.as_mut(), "DELETE FROM items WHERE id = 1", &[]).unwrap();
    assert_eq!(db.scalar("SELECT count(*) FROM items"), 3);
    session.commit().unwrap();
    assert_eq!(db.scalar("SELECT count(*) FROM items"), 2);

    let mut session = db.session(AccessMode::Read);
    let error = expect_error(
        run(session.as_mut(), "DELETE FROM items", &[]),
        "implicit read transaction",
    );
    assert_eq!(sqlstate(&error), "25006");
    drop(session);
    assert_eq!(db.scalar("SELECT count(*) FROM items"), 2);
}
