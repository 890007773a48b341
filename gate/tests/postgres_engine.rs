//! The gate's verdicts against a live PostgreSQL, with no other layer in the way: every
//! statement text the gate passes is one statement to the server's extended protocol, every
//! read leaves data, schema, sequences, large objects, locks and session settings unchanged
//! when run in a read-write transaction, and every write leaves the schema and session alone.

mod support;

use plenum_gate::{classify, Dialect, Tier};
use postgres::{Client, GenericClient, NoTls};
use support::cases::{ALL_DIALECTS, POSTGRES};
use support::live;

struct Database {
    client: Client,
    schema: String,
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = self
            .client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
    }
}

fn connect() -> Option<Database> {
    let url = live::url(
        "PLENUM_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    );
    let mut client = match Client::connect(&url, NoTls) {
        Ok(client) => client,
        Err(error) => {
            live::unreachable("PostgreSQL", &error);
            return None;
        }
    };
    let schema = live::unique_name("gate_pg");
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {schema};
             SET search_path TO {schema};
             SET statement_timeout = '10s';
             CREATE TABLE users (id int PRIMARY KEY, name text, age int);
             CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users(id), total numeric, x text);
             CREATE TABLE docs (id int PRIMARY KEY, data jsonb, body text);
             CREATE TABLE \"select\" (\"update\" text, \"delete\" text);
             CREATE TABLE ユーザー (émoji_naïve text, 名前 text);
             CREATE SEQUENCE s;
             CREATE SEQUENCE users_id_seq;
             CREATE FUNCTION write_fn() RETURNS int LANGUAGE sql AS 'INSERT INTO users VALUES (99, ''w'', 1) RETURNING 1';
             CREATE FUNCTION my_function(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
             CREATE PROCEDURE my_procedure(int) LANGUAGE sql AS 'SELECT 1';
             INSERT INTO users VALUES (1, 'ann', 30), (2, 'bob', 40), (3, NULL, NULL);
             INSERT INTO orders VALUES (1, 1, 10.5, 'a'), (2, 1, 20, 'b'), (3, 2, 5, 'c');
             INSERT INTO docs VALUES (1, '{{\"a\": 1, \"name\": \"n\", \"tags\": [1]}}', 'hello');"
        ))
        .expect("set up the test schema");
    Some(Database { client, schema })
}

/// A fingerprint: (data, schema-and-session).
type Fingerprint = (String, String);

/// (data, schema-and-session) fingerprints as seen by the current transaction. Names are
/// qualified, so a statement that changes `search_path` cannot hide from it.
fn fingerprint(client: &mut impl GenericClient, schema: &str) -> Fingerprint {
    let row = client
        .query_one(
            &format!("SELECT concat_ws('|',
                (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {schema}.users t),
                (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {schema}.orders t),
                (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {schema}.docs t),
                (SELECT last_value::text || is_called::text FROM {schema}.s),
                (SELECT last_value::text || is_called::text FROM {schema}.users_id_seq),
                (SELECT count(*) FROM pg_catalog.pg_largeobject_metadata)::text),
              concat_ws('|',
                (SELECT string_agg(relname || ':' || relkind::text, ',' ORDER BY relname)
                   FROM pg_catalog.pg_class WHERE relnamespace = '{schema}'::regnamespace),
                (SELECT string_agg(proname, ',' ORDER BY proname)
                   FROM pg_catalog.pg_proc WHERE pronamespace = '{schema}'::regnamespace),
                (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())::text,
                current_setting('default_transaction_read_only'),
                current_setting('transaction_read_only'),
                current_setting('search_path'),
                current_user::text, session_user::text)"),
            &[],
        )
        .expect("fingerprint");
    (row.get(0), row.get(1))
}

/// Runs `sql` in a read-write transaction that is rolled back; returns the fingerprints
/// before and after, or `None` if the statement failed (then it had no effect).
fn effect_of(database: &mut Database, sql: &str) -> Option<(Fingerprint, Fingerprint)> {
    let schema = database.schema.clone();
    let mut transaction = database.client.transaction().expect("begin");
    let before = fingerprint(&mut transaction, &schema);
    transaction.query(sql, &[]).ok()?;
    let after = fingerprint(&mut transaction, &schema);
    Some((before, after))
}

/// Whether `sql` fails inside a READ ONLY transaction, the engine layer under the gate.
fn fails_read_only(database: &mut Database, sql: &str) -> bool {
    let mut transaction = database
        .client
        .build_transaction()
        .read_only(true)
        .start()
        .expect("begin read only");
    transaction.query(sql, &[]).is_err()
}

#[test]
fn verdicts_hold_on_a_live_postgres() {
    let Some(mut database) = connect() else {
        return;
    };
    let mut problems = Vec::new();
    let (mut reads_run, mut writes_run) = (0, 0);
    for (input, _) in ALL_DIALECTS.iter().chain(POSTGRES) {
        let Ok(statements) = classify(input, Dialect::PostgreSql) else {
            continue;
        };
        for statement in statements {
            if let Err(error) = database.client.prepare(&statement.sql) {
                if error.to_string().contains("multiple commands") {
                    problems.push(format!("{:?} holds several statements", statement.sql));
                }
            }
            if statement.tier == Tier::Ddl {
                continue;
            }
            let Some((before, after)) = effect_of(&mut database, &statement.sql) else {
                continue;
            };
            match statement.tier {
                Tier::Read => {
                    reads_run += 1;
                    // User functions are allowed at read (the gate cannot see their bodies);
                    // the documented layer that stops a writing one is the read-only
                    // transaction, checked here instead.
                    let user_function = statement.sql.contains("write_fn");
                    if user_function && !fails_read_only(&mut database, &statement.sql) {
                        problems.push(format!(
                            "{:?} writes even in a read-only transaction",
                            statement.sql
                        ));
                    }
                    if before != after && !user_function {
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
    assert!(writes_run >= 15, "only {writes_run} writes ran");
}

#[test]
fn shapes_the_gate_stops_really_have_effects_on_postgres() {
    // Each of these changes the fingerprint when run straight on the server, and the gate
    // does not call any of them a read: the check above would have caught a wrong verdict.
    let Some(mut database) = connect() else {
        return;
    };
    for sql in [
        "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d",
        "WITH d AS (UPDATE users SET name = 'x' RETURNING *) SELECT count(*) FROM d",
        "SELECT * INTO newtable FROM users",
        "SELECT nextval('s')",
        "SELECT setval('s', 10)",
        "SELECT lo_create(0)",
        "SELECT pg_advisory_lock(1)",
        "SELECT set_config('default_transaction_read_only', 'on', false)",
        "SELECT write_fn()",
        "EXPLAIN ANALYZE DELETE FROM orders",
        "SET search_path TO public",
        "SET ROLE pg_read_all_data",
    ] {
        let Some((before, after)) = effect_of(&mut database, sql) else {
            panic!("{sql} failed");
        };
        assert_ne!(before, after, "{sql} had no visible effect");
        let verdict = classify(sql, Dialect::PostgreSql);
        let read = matches!(&verdict, Ok(s) if s.iter().all(|s| s.tier == Tier::Read));
        // `write_fn()` is the documented exception: user functions are allowed at read, and
        // the engine's read-only transaction is the layer that stops them.
        assert_eq!(read, sql == "SELECT write_fn()", "{sql}: {verdict:?}");
    }
}
