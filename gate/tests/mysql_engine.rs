//! The gate's verdicts against a live MySQL or MariaDB, with no other layer in the way. Each
//! statement text is sent through the text protocol, which runs stacked statements, so a
//! splitting or comment-lexing disagreement with the server would show as a second result
//! set. Every read must leave data, schema, user variables and session settings unchanged
//! in a read-write transaction; every write must leave the schema and session alone.

mod support;

use mysql::prelude::Queryable;
use mysql::{Conn, Opts};
use plenum_gate::{classify, Dialect, Tier};
use support::cases::{ALL_DIALECTS, MYSQL};
use support::live;

struct Database {
    conn: Conn,
    name: String,
    /// `transaction_read_only` (MySQL 8) or `tx_read_only` (MariaDB).
    read_only_variable: &'static str,
}

impl Drop for Database {
    fn drop(&mut self) {
        // Undo session changes the tests made, which would block the DROP.
        for reset in [
            "ROLLBACK",
            "SET SESSION TRANSACTION READ WRITE",
            "SET autocommit = 1",
        ] {
            let _ = self.conn.query_drop(reset);
        }
        let _ = self
            .conn
            .query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name));
    }
}

fn connect() -> Option<Database> {
    let url = live::url("PLENUM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test");
    let opts = match Opts::from_url(&url) {
        Ok(opts) => opts,
        Err(error) => panic!("PLENUM_TEST_MYSQL_URL is not a MySQL URL: {error}"),
    };
    let mut conn = match Conn::new(opts) {
        Ok(conn) => conn,
        Err(error) => {
            live::unreachable("MySQL", &error);
            return None;
        }
    };
    let name = live::unique_name("gate_my");
    conn.query_drop(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        .expect("create the test database");
    let read_only_variable = if conn
        .query_drop("SELECT @@session.transaction_read_only")
        .is_ok()
    {
        "transaction_read_only"
    } else {
        "tx_read_only"
    };
    let mut database = Database {
        conn,
        name,
        read_only_variable,
    };
    let name = database.name.clone();
    for statement in [
        format!("USE `{name}`"),
        "CREATE TABLE users (id INT PRIMARY KEY, name TEXT, age INT)".to_owned(),
        "CREATE TABLE orders (id INT PRIMARY KEY, user_id INT, total DECIMAL(10,2))".to_owned(),
        "CREATE TABLE docs (id INT PRIMARY KEY, data JSON, body TEXT)".to_owned(),
        "CREATE TABLE `select` (`update` TEXT, `delete` TEXT)".to_owned(),
        "CREATE TABLE ユーザー (émoji_naïve TEXT, 名前 TEXT)".to_owned(),
        "CREATE FUNCTION my_function(x INT) RETURNS INT DETERMINISTIC NO SQL RETURN x".to_owned(),
        "CREATE PROCEDURE my_procedure(x INT) SELECT x".to_owned(),
        "INSERT INTO users VALUES (1, 'ann', 30), (2, 'bob', 40), (3, NULL, NULL)".to_owned(),
        "INSERT INTO orders VALUES (1, 1, 10.5), (2, 1, 20), (3, 2, 5)".to_owned(),
        "INSERT INTO docs VALUES (1, '{\"a\": 1, \"name\": \"n\"}', 'hello')".to_owned(),
        "SET SESSION max_statement_time = 10".to_owned(),
    ] {
        if let Err(error) = database.conn.query_drop(&statement) {
            // MySQL (not MariaDB) has no max_statement_time; the limit is only a safety net.
            assert!(
                statement.contains("max_statement_time"),
                "{statement}: {error}"
            );
        }
    }
    Some(database)
}

/// A fingerprint: (data, schema-and-session).
type Fingerprint = (String, String);

/// (data, schema-and-session) fingerprints as seen by the current transaction.
fn fingerprint(database: &mut Database) -> Fingerprint {
    let name = &database.name;
    let read_only = database.read_only_variable;
    let row: Option<(String, String)> = database
        .conn
        .query_first(format!(
            "SELECT CONCAT_WS('|',
                (SELECT CONCAT(COUNT(*), ':', COALESCE(BIT_XOR(CRC32(CONCAT_WS(',', id, name, age))), 0)) FROM `{name}`.users),
                (SELECT CONCAT(COUNT(*), ':', COALESCE(BIT_XOR(CRC32(CONCAT_WS(',', id, user_id, total))), 0)) FROM `{name}`.orders),
                (SELECT CONCAT(COUNT(*), ':', COALESCE(BIT_XOR(CRC32(CONCAT_WS(',', id, data, body))), 0)) FROM `{name}`.docs)),
              CONCAT_WS('|',
                (SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM information_schema.tables WHERE table_schema = '{name}'),
                (SELECT GROUP_CONCAT(routine_name ORDER BY routine_name) FROM information_schema.routines WHERE routine_schema = '{name}'),
                @@session.{read_only}, @@session.autocommit, @@session.sql_mode,
                COALESCE(DATABASE(), '-'), CURRENT_USER(),
                COALESCE(@x, '-'), COALESCE(@v, '-'), COALESCE(@a, '-'), COALESCE(@b, '-'))"
        ))
        .expect("fingerprint");
    row.expect("one row")
}

/// Runs `sql` through the text protocol in a read-write transaction that is rolled back.
/// Returns the number of result sets and the fingerprints, or `None` if it failed.
fn effect_of(database: &mut Database, sql: &str) -> Option<(usize, Fingerprint, Fingerprint)> {
    database
        .conn
        .query_drop("START TRANSACTION")
        .expect("begin");
    let before = fingerprint(database);
    let mut sets = 0;
    let mut failed = false;
    match database.conn.query_iter(sql) {
        Ok(mut result) => {
            while let Some(set) = result.iter() {
                sets += 1;
                for row in set {
                    failed |= row.is_err();
                }
            }
        }
        Err(_) => failed = true,
    }
    let after = (!failed).then(|| fingerprint(database));
    database.conn.query_drop("ROLLBACK").expect("rollback");
    after.map(|after| (sets, before, after))
}

#[test]
fn verdicts_hold_on_a_live_mysql() {
    let Some(mut database) = connect() else {
        return;
    };
    let mut problems = Vec::new();
    let (mut reads_run, mut writes_run) = (0, 0);
    for (input, _) in ALL_DIALECTS.iter().chain(MYSQL) {
        let Ok(statements) = classify(input, Dialect::MySql) else {
            continue;
        };
        for statement in statements {
            if statement.tier == Tier::Ddl {
                continue;
            }
            let Some((sets, before, after)) = effect_of(&mut database, &statement.sql) else {
                continue;
            };
            if sets > 1 {
                problems.push(format!(
                    "{:?} ran as {sets} statements on the server",
                    statement.sql
                ));
            }
            match statement.tier {
                Tier::Read => {
                    reads_run += 1;
                    if before != after {
                        problems.push(format!(
                            "read {:?} changed {before:?} -> {after:?}",
                            statement.sql
                        ));
                    }
                }
                Tier::Write => {
                    writes_run += 1;
                    if before.1 != after.1 {
                        problems.push(format!(
                            "write {:?} changed the schema or session {:?} -> {:?}",
                            statement.sql, before.1, after.1
                        ));
                    }
                }
                Tier::Ddl => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(reads_run >= 60, "only {reads_run} reads ran");
    assert!(writes_run >= 10, "only {writes_run} writes ran");
}

#[test]
fn shapes_the_gate_stops_really_have_effects_on_mysql() {
    // Run straight on the server, each of these changes the fingerprint or runs more than one
    // statement; the gate refuses each of them in every tier.
    let Some(mut database) = connect() else {
        return;
    };
    for sql in [
        "/*! DELETE FROM orders */",
        "/*!50000 DELETE FROM orders */",
        "SELECT 1 /*!, (SELECT 2) */; DELETE FROM orders",
        "SELECT 1--1;DELETE FROM orders",
        "SET @x = 1",
        "SELECT 1 INTO @v",
        "SET SESSION TRANSACTION READ ONLY",
        "SET autocommit = 0",
    ] {
        let Some((sets, before, after)) = effect_of(&mut database, sql) else {
            panic!("{sql} failed");
        };
        assert!(before != after || sets > 1, "{sql} had no visible effect");
        assert!(
            matches!(
                classify(sql, Dialect::MySql),
                Err(plenum_gate::GateError::Refused { .. })
            ),
            "{sql}"
        );
    }
}
