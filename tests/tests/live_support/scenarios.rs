//! Test bodies that PostgreSQL and MySQL/MariaDB share: the steps and the checks are the same,
//! only the SQL dialect and the server's codes differ, and those come in as parameters.

use std::time::{Duration, Instant};

use plenum_e2e::{unique_name, Run};
use serde_json::Value as Json;

use super::{assert_valid, measure, schemas, TestDb, Tier, Via};

/// The statements [`assert_tiers_hold`] needs that differ between dialects.
///
/// The database holds the shared fixture: `t (id, name, amount)` with rows 1 `alpha`,
/// 2 `beta` and 3 `gamma`, and a function `wipe()` that deletes every row of `t`.
#[derive(Debug, Clone, Copy)]
pub struct TierStatements {
    /// Writes and schema changes the read tier must refuse.
    pub refused_in_read: &'static [&'static str],
    /// Schema changes the write tier must refuse.
    pub refused_in_write: &'static [&'static str],
    /// Schema changes the DDL tier runs: table `made (a)` and column `t.extra`.
    pub schema_change: &'static str,
    /// The entries of the `columns` catalog listing that [`Self::schema_change`] adds.
    pub added_columns: &'static [&'static str],
    /// Transactions whose last statement fails, with the tier each runs in: the host owns the
    /// transaction, so none may leave a change behind.
    pub failing_transactions: &'static [(Tier, &'static str)],
}

/// Each tier lets through what it grants and nothing more, checked by the database's
/// fingerprint; the host's transaction is all or nothing; and a read under `--allow-ddl` runs
/// in a read-only session.
pub fn assert_tiers_hold(db: &mut TestDb, via: Via, statements: &TierStatements) {
    let run = db.query(via, "SELECT id, name FROM t ORDER BY id", &[]);
    run.assert_ok();
    assert_eq!(
        run.rows(),
        vec![
            serde_json::json!([1, "alpha"]),
            serde_json::json!([2, "beta"]),
            serde_json::json!([3, "gamma"])
        ]
    );
    assert_eq!(run.json["meta"]["access"], "read");

    // Read tier: no write and no schema change reaches the table.
    let start = db.fingerprint();
    for sql in statements.refused_in_read {
        db.query(via, sql, &[]).assert_error("CAPABILITY_VIOLATION");
        assert_eq!(db.fingerprint(), start, "{sql} changed the database");
    }

    // Write tier: rows change, the schema does not.
    let run = db.query(
        via,
        "UPDATE t SET name = 'changed' WHERE id = 1",
        &["--allow-write"],
    );
    run.assert_ok();
    assert_eq!(run.json["data"]["rows_affected"], 1);
    assert_eq!(run.json["meta"]["access"], "write");
    let written = db.fingerprint();
    assert_ne!(written.rows, start.rows, "the update left no trace");
    assert_eq!(written.catalog, start.catalog);
    assert_eq!(
        db.admin().text("SELECT name FROM t WHERE id = 1"),
        "changed"
    );
    for sql in statements.refused_in_write {
        db.query(via, sql, &["--allow-write"])
            .assert_error("CAPABILITY_VIOLATION");
        assert_eq!(db.fingerprint(), written, "{sql} changed the database");
    }

    // DDL tier: the schema changes.
    let run = db.query(via, statements.schema_change, &["--allow-ddl"]);
    run.assert_ok();
    assert_eq!(run.json["meta"]["access"], "ddl");
    let columns = db.fingerprint().catalog["columns"].clone();
    for column in statements.added_columns {
        assert!(columns.contains(column), "{column} missing from {columns}");
    }

    // The host owns the transaction: a failing statement takes the earlier ones with it.
    let before = db.fingerprint();
    for (tier, sql) in statements.failing_transactions {
        db.query(via, sql, tier.flags())
            .assert_error("QUERY_FAILED");
        assert_eq!(db.fingerprint(), before, "{sql} left changes behind");
    }

    // All of it commits when all of it works; rows_affected sums the writes.
    let run = db.query(
        via,
        "INSERT INTO t (id, name) VALUES (10, 'ten'); UPDATE t SET amount = 9 WHERE id IN (1, 10)",
        &["--allow-write"],
    );
    run.assert_ok();
    assert_eq!(run.json["data"]["rows_affected"], 3);
    assert_eq!(
        db.admin()
            .column("SELECT id FROM t WHERE amount = 9 ORDER BY id"),
        ["1", "10"]
    );

    // The session gets the tier the statements need, not the one granted: a read statement
    // under --allow-ddl runs read-only, so a writing function it calls is stopped — by the
    // engine's read-only session on an ordinary login, and before it runs on one with powers
    // beyond the tiers.
    let before = db.fingerprint();
    let run = db.query(via, "SELECT wipe()", &["--allow-ddl"]);
    assert!(
        ["QUERY_FAILED", "CAPABILITY_VIOLATION"].contains(&run.error_code()),
        "{}",
        run.stdout
    );
    assert_eq!(db.fingerprint(), before);
}

/// Runs `SELECT * FROM types ORDER BY k` and checks that it succeeds with an envelope the
/// published query schema accepts.
pub fn select_every_type(db: &TestDb, via: Via, schemas: &Json) -> Run {
    let run = db.query(via, "SELECT * FROM types ORDER BY k", &[]);
    run.assert_ok();
    assert_valid(&schemas["query"], &run.json);
    run
}

/// The declared type of each column of a query envelope.
pub fn column_types(run: &Run) -> Vec<&str> {
    run.json["data"]["columns"]
        .as_array()
        .expect("a query envelope lists its columns")
        .iter()
        .filter_map(|column| column["type"].as_str())
        .collect()
}

/// A row of `width` nulls but for its first column, the integer `key`.
pub fn null_row(key: i64, width: usize) -> Json {
    let mut row = vec![Json::Null; width];
    row[0] = Json::from(key);
    Json::Array(row)
}

/// `--max-rows 100` over tables `small` (1,000 rows) and `big` (1,000,000 rows): both return
/// 100 rows marked truncated, the big one within a second and without growing the peak
/// memory by more than 2 MiB. `engine_label` names the server in the printed measurements.
pub fn assert_max_rows_is_fast_and_flat(db: &TestDb, engine_label: &str) {
    let args = |table: &str| -> Vec<String> {
        let mut args = vec!["query".to_owned()];
        args.extend(db.flags());
        args.extend(
            ["--max-rows", "100", "--sql"]
                .iter()
                .map(|arg| arg.to_string()),
        );
        args.push(format!("SELECT * FROM {table}"));
        args
    };
    // Warm the server's cache and the loader once.
    measure(&db.server, &args("big"));
    let (small_time, small_peak, small) = measure(&db.server, &args("small"));
    let (large_time, large_peak, large) = measure(&db.server, &args("big"));
    eprintln!(
        "{engine_label} --max-rows 100: 1,000 rows {small_time:?} {small_peak:?} KiB; \
         1,000,000 rows {large_time:?} {large_peak:?} KiB"
    );
    for json in [&small, &large] {
        assert_eq!(json["ok"], true, "{json}");
        assert_eq!(json["meta"]["rows_returned"], 100);
        assert_eq!(json["meta"]["truncated"], true);
        assert_eq!(json["meta"]["truncated_by"], "max_rows");
        assert_eq!(json["data"]["rows"].as_array().map(Vec::len), Some(100));
    }
    assert!(large_time < Duration::from_secs(1), "took {large_time:?}");
    match (small_peak, large_peak) {
        (Some(small_peak), Some(large_peak)) => assert!(
            large_peak <= small_peak + 2048,
            "peak memory grew from {small_peak} KiB to {large_peak} KiB"
        ),
        _ => eprintln!("notice: /usr/bin/time not found, peak memory not compared"),
    }
}

/// A 30-second `sleep_function` under `--timeout-ms 500`, by flags and by DSN: the envelope
/// says `TIMEOUT` within 1.5 s, and the statement, seen running before, no longer runs on
/// the server a second later.
pub fn assert_timeout_stops_the_query_on_the_server(db: &mut TestDb, sleep_function: &str) {
    for via in [Via::Flags, Via::Dsn] {
        let marker = unique_name("plenum_sleep");
        let plenum = db.query_plenum(
            via,
            &format!("SELECT {sleep_function}(30), '{marker}' AS marker"),
            &["--timeout-ms", "500"],
        );
        let started = Instant::now();
        let running = std::thread::spawn(move || {
            let run = plenum.run();
            (run, started.elapsed())
        });
        // The statement is seen running first, so "not running afterwards" means something.
        let mut seen = false;
        while !seen && started.elapsed() < Duration::from_millis(450) {
            seen = db.running(&marker) > 0;
            std::thread::sleep(Duration::from_millis(25));
        }
        let (run, elapsed) = running.join().expect("plenum thread");
        run.assert_error("TIMEOUT");
        assert!(seen, "the statement was never seen running on the server");
        assert!(
            elapsed < Duration::from_millis(1500),
            "the envelope came after {elapsed:?}"
        );
        std::thread::sleep(Duration::from_secs(1));
        assert_eq!(
            db.running(&marker),
            0,
            "the statement still runs on the server a second after the envelope"
        );
    }
}

/// What [`assert_each_failure_has_its_error_class`] needs that differs between servers.
#[derive(Debug, Clone, Copy)]
pub struct FailureCases<'a> {
    /// The DSN query parameter that names the TLS mode.
    pub ssl_mode_parameter: &'a str,
    /// An `--ssl-mode` the test server cannot satisfy, when there is one.
    pub unsatisfiable_ssl_mode: Option<&'a str>,
    /// The SQLSTATE of a missing table.
    pub missing_table_sqlstate: &'a str,
    /// A statement the gate lets through and the server fails, with its SQLSTATE.
    pub server_error: (&'a str, &'a str),
}

/// The connection failures whose details differ between servers, for further checks.
pub struct ConnectionRefusals {
    /// A database that does not exist (named in the message).
    pub missing_database: Run,
    /// A user that does not exist (named in the message).
    pub unknown_user: Run,
}

/// Each kind of failure gets its error class, in an envelope the published error schema
/// accepts and (but for invalid input) naming the engine: connection failures by flags and
/// by DSN, invalid DSNs, parse errors and server-side query errors with their SQLSTATE.
pub fn assert_each_failure_has_its_error_class(
    db: &TestDb,
    cases: &FailureCases<'_>,
) -> ConnectionRefusals {
    let server = &db.server;
    let engine = server.engine();
    let schemas = schemas();
    let host = server.host.clone();
    let port = server.port.to_string();
    let user = server.user.clone();
    let check = |run: Run, code: &str| -> Run {
        run.assert_error(code);
        assert_valid(&schemas["error"], &run.json);
        if code != "INVALID_INPUT" {
            assert_eq!(run.json["engine"], engine);
        }
        run
    };
    let base = |extra: &[&str]| {
        let mut args = vec![
            "query", "--engine", engine, "--host", &host, "--sql", "SELECT 1",
        ];
        args.extend_from_slice(extra);
        server.plenum(args)
    };

    // Nothing listens on port 1.
    check(
        base(&["--port", "1", "--user", &user]).run(),
        "CONNECTION_FAILED",
    );
    check(
        server
            .plenum(["query", "--sql", "SELECT 1", "--dsn"])
            .args([format!("{engine}://{user}@{host}:1/{}", db.name)])
            .run(),
        "CONNECTION_FAILED",
    );
    let missing = unique_name("plenum_nodb");
    let missing_database = check(
        base(&["--port", &port, "--user", &user, "--database", &missing]).run(),
        "CONNECTION_FAILED",
    );
    assert!(
        missing_database.error_message().contains(&missing),
        "{}",
        missing_database.stdout
    );
    let nobody = unique_name("plenum_nouser");
    let unknown_user = check(
        base(&["--port", &port, "--user", &nobody, "--database", &db.name]).run(),
        "CONNECTION_FAILED",
    );
    assert!(
        unknown_user.error_message().contains(&nobody),
        "{}",
        unknown_user.stdout
    );
    if let Some(ssl_mode) = cases.unsatisfiable_ssl_mode {
        let run = check(
            base(&[
                "--port",
                &port,
                "--user",
                &user,
                "--database",
                &db.name,
                "--ssl-mode",
                ssl_mode,
            ])
            .run(),
            "CONNECTION_FAILED",
        );
        assert!(run.error_message().contains("TLS"), "{}", run.stdout);
    }

    for dsn in [
        format!("{engine}://u:p@[bad/db"),
        format!("{engine}://{user}@{host}:notaport/{}", db.name),
        format!(
            "{engine}://{user}@{host}/{}?{}=sometimes",
            db.name, cases.ssl_mode_parameter
        ),
    ] {
        check(
            server
                .plenum(["query", "--dsn", &dsn, "--sql", "SELECT 1"])
                .run(),
            "INVALID_INPUT",
        );
    }

    check(db.query(Via::Flags, "SELEC 1", &[]), "PARSE_ERROR");
    check(
        db.query(Via::Dsn, "SELECT 'unterminated", &[]),
        "PARSE_ERROR",
    );
    let (server_error_sql, server_error_sqlstate) = cases.server_error;
    for via in [Via::Flags, Via::Dsn] {
        let run = check(
            db.query(via, "SELECT * FROM missing_table", &[]),
            "QUERY_FAILED",
        );
        assert_eq!(run.json["error"]["sqlstate"], cases.missing_table_sqlstate);
        // A server-side error the gate cannot foresee.
        let run = check(db.query(via, server_error_sql, &[]), "QUERY_FAILED");
        assert_eq!(run.json["error"]["sqlstate"], server_error_sqlstate);
    }
    ConnectionRefusals {
        missing_database,
        unknown_user,
    }
}
