//! The whole stack against a live PostgreSQL server: CLI flags or DSN → gate → plugin →
//! server. Every refusal is checked by its outcome (row checksums, the catalog, files), not
//! only by its error code.
//!
//! Each test creates its own database and drops it afterwards. Skipped with a notice when the
//! plugin is missing or the server is unreachable; under `CI=true` an unreachable server fails.

mod live_support;

use std::time::Duration;

use live_support::scenarios::{
    assert_each_failure_has_its_error_class, assert_max_rows_is_fast_and_flat, assert_tiers_hold,
    assert_timeout_stops_the_query_on_the_server, column_types, null_row, select_every_type,
    FailureCases, TierStatements,
};
use live_support::{
    assert_shapes_change_nothing, odd_case_copies, schemas, Belongs, Server, Shape, TestDb, Tier,
    Via,
};
use plenum_e2e::unique_name;
use serde_json::{json, Value as Json};

/// A table with rows, a sequence, a function and a procedure that delete every row.
const FIXTURE: &[&str] = &["
    CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL, amount numeric(10, 2));
    INSERT INTO t VALUES (1, 'alpha', 1.50), (2, 'beta', 2.25), (3, 'gamma', NULL);
    CREATE SEQUENCE s;
    CREATE FUNCTION wipe() RETURNS int LANGUAGE plpgsql AS $$ BEGIN DELETE FROM t; RETURN 1; END $$;
    CREATE PROCEDURE wipe_proc() LANGUAGE plpgsql AS $$ BEGIN DELETE FROM t; END $$;
"];

/// The fixture's statements for the tier checks, in PostgreSQL's dialect.
const TIER_STATEMENTS: TierStatements = TierStatements {
    refused_in_read: &[
        "INSERT INTO t VALUES (4, 'delta', 4)",
        "UPDATE t SET name = 'changed'",
        "DELETE FROM t",
        "CREATE TABLE u (a int)",
        "DROP TABLE t",
    ],
    refused_in_write: &[
        "CREATE TABLE u (a int)",
        "ALTER TABLE t ADD COLUMN extra int",
        "DROP TABLE t",
        "TRUNCATE t",
        "CREATE INDEX ON t (name)",
    ],
    schema_change: "CREATE TABLE made (a int); ALTER TABLE t ADD COLUMN extra int",
    added_columns: &["public.made.a:integer", "public.t.extra:integer"],
    // PostgreSQL's DDL is transactional: it is rolled back like the rows.
    failing_transactions: &[
        (
            Tier::Write,
            "INSERT INTO t (id, name) VALUES (100, 'rolled back'); INSERT INTO missing_table VALUES (1)",
        ),
        (
            Tier::Ddl,
            "CREATE TABLE rolled_back (a int); INSERT INTO rolled_back VALUES (1); SELECT * FROM missing_table",
        ),
    ],
};

fn tiers_hold(via: Via) {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut db = TestDb::create(&server, FIXTURE);
    assert_tiers_hold(&mut db, via, &TIER_STATEMENTS);
    assert_eq!(
        db.admin().text("SELECT count(*) FROM t WHERE id = 100"),
        "0",
        "the rolled-back insert is in the table"
    );
}

#[test]
fn tiers_hold_with_connection_flags() {
    tiers_hold(Via::Flags);
}

#[test]
fn tiers_hold_with_a_dsn() {
    tiers_hold(Via::Dsn);
}

fn attack_shapes(db: &TestDb, admin_pid: &str) -> Vec<Shape> {
    use Belongs::{Ddl, Harmless, Never, Write};
    let name = &db.name;
    let exported = db.scratch_file("lo_export");
    let copied = db.scratch_file("copy_to");
    let program = db.scratch_file("copy_program");
    let program_in = db.scratch_file("copy_program_in");
    let mut shapes = vec![
        // Stacked statements that end the read-only transaction.
        Shape::gate(Never, "SELECT 1; COMMIT; DROP TABLE t"),
        Shape::gate(Never, "SELECT 1; COMMIT; DELETE FROM t"),
        Shape::gate(Never, "SELECT 1; ROLLBACK; DELETE FROM t"),
        Shape::gate(Never, "SELECT 1; END; DELETE FROM t"),
        // The session's mode switched back.
        Shape::gate(
            Never,
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; DELETE FROM t",
        ),
        Shape::gate(Never, "SET TRANSACTION READ WRITE; DELETE FROM t"),
        Shape::gate(
            Never,
            "SET default_transaction_read_only = off; DELETE FROM t",
        ),
        Shape::gate(
            Never,
            "SET SESSION default_transaction_read_only TO off; DELETE FROM t",
        ),
        Shape::gate(Never, "RESET default_transaction_read_only; DELETE FROM t"),
        Shape::gate(Never, "BEGIN READ WRITE; DELETE FROM t"),
        Shape::gate(Never, "START TRANSACTION READ WRITE; DELETE FROM t"),
        Shape::gate(Never, "BEGIN; DELETE FROM t; COMMIT"),
        Shape::gate(
            Never,
            "SELECT set_config('transaction_read_only', 'off', false); DELETE FROM t",
        ),
        Shape::gate(
            Never,
            "SELECT set_config('default_transaction_read_only', 'off', false)",
        ),
        Shape::gate(
            Never,
            "SELECT pg_catalog.set_config('transaction_read_only', 'off', true); DELETE FROM t",
        ),
        Shape::gate(
            Never,
            "SELECT \"set_config\"('transaction_read_only', 'off', false); DELETE FROM t",
        ),
        Shape::gate(Never, "SET ROLE postgres"),
        Shape::gate(Never, "SET SESSION AUTHORIZATION postgres"),
        Shape::gate(Never, "DISCARD ALL"),
        // Comments before the keyword, and strings that look like comments.
        Shape::gate(Write, "/* x */ DELETE FROM t"),
        Shape::gate(Write, "-- x\nDELETE FROM t"),
        Shape::gate(Write, "\n\t/* a */ -- b\n/* c */ UPDATE t SET name = 'x'"),
        Shape::gate(Write, "/* nested /* comment */ still */ DELETE FROM t"),
        Shape::gate(Write, "SELECT '--'; DELETE FROM t"),
        Shape::gate(Write, "SELECT '/*'; DELETE FROM t; SELECT '*/'"),
        Shape::gate(Write, "SELECT E'\\''; DELETE FROM t; --'"),
        Shape::gate(Write, "SELECT '\\'; DELETE FROM t; --'"),
        Shape::gate(Write, "SELECT $a$ $$ $a$; DELETE FROM t"),
        Shape::gate(Write, "SELECT U&'\\0027'; DELETE FROM t"),
        Shape::gate(Write, "SELECT 1; DELETE FROM t"),
        // `#` is an operator in PostgreSQL, not a comment.
        Shape::gate(Never, "# x\nDELETE FROM t"),
        // Data-modifying CTEs.
        Shape::gate(Write, "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"),
        Shape::gate(
            Write,
            "WITH u AS (UPDATE t SET name = 'x' RETURNING id) SELECT count(*) FROM u",
        ),
        Shape::gate(
            Write,
            "WITH x AS (SELECT 1) INSERT INTO t VALUES (9, 'x', 1)",
        ),
        Shape::gate(
            Write,
            "WITH r AS (SELECT 1), d AS (DELETE FROM t RETURNING 1) SELECT * FROM r",
        ),
        Shape::gate(
            Write,
            "WITH RECURSIVE d AS (DELETE FROM t RETURNING id) SELECT id FROM d",
        ),
        // Plain writes and row locks.
        Shape::gate(Write, "INSERT INTO t VALUES (9, 'x', 1)"),
        Shape::gate(Write, "UPDATE t SET name = 'x'"),
        Shape::gate(Write, "DELETE FROM t RETURNING *"),
        Shape::gate(
            Write,
            "INSERT INTO t VALUES (1, 'x', 1) ON CONFLICT (id) DO UPDATE SET name = 'y'",
        ),
        Shape::gate(
            Write,
            "MERGE INTO t USING (SELECT 1 AS id) AS src ON t.id = src.id WHEN MATCHED THEN DELETE",
        ),
        Shape::gate(Write, "SELECT * FROM t FOR UPDATE"),
        Shape::gate(Write, "SELECT * FROM t FOR SHARE"),
        // EXPLAIN that executes.
        Shape::gate(Write, "EXPLAIN ANALYZE DELETE FROM t"),
        Shape::gate(
            Write,
            "EXPLAIN (ANALYZE, FORMAT JSON) UPDATE t SET name = 'x'",
        ),
        Shape::gate(Write, "EXPLAIN (ANALYZE false) DELETE FROM t"),
        Shape::gate(
            Write,
            "EXPLAIN ANALYZE WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d",
        ),
        // A user function that deletes, called from a read: on this superuser login the reach
        // check refuses it before it runs (tests/tests/reach_postgres.rs shows the read-only
        // transaction stopping it on an ordinary login).
        Shape::reach(Write, "SELECT wipe()"),
        Shape::reach(Write, "SELECT * FROM t WHERE wipe() = 1"),
        Shape::reach(Write, "SELECT count(*) FROM (SELECT wipe()) AS w"),
        Shape::reach(Write, "VALUES (wipe())"),
        Shape::reach(Write, "EXPLAIN ANALYZE SELECT wipe()"),
        Shape::reach(Write, "EXPLAIN (ANALYZE) SELECT wipe()"),
        // Sequences.
        Shape::gate(Write, "SELECT nextval('s')"),
        Shape::gate(Write, "SELECT setval('s', 100)"),
        Shape::gate(Write, "SELECT * FROM nextval('s')"),
        Shape::gate(Write, "SELECT pg_catalog.nextval('s'::regclass)"),
        Shape::gate(Write, "VALUES (setval('s', 5, false))"),
        Shape::gate(Write, "SELECT (SELECT nextval('s')) FROM t"),
        // Read-shaped writes and schema changes.
        Shape::gate(Ddl, "SELECT * INTO t_copy FROM t"),
        Shape::gate(Ddl, "SELECT id INTO TABLE t_copy2 FROM t WHERE id > 1"),
        Shape::gate(Ddl, "CREATE TABLE t_ctas AS SELECT * FROM t"),
        Shape::gate(Ddl, "EXPLAIN ANALYZE CREATE TABLE t_explained AS SELECT * FROM t"),
        Shape::gate(Ddl, "CREATE TABLE t2 (a int)"),
        Shape::gate(Ddl, "DROP TABLE t"),
        Shape::gate(Ddl, "TRUNCATE t"),
        Shape::gate(Ddl, "ALTER TABLE t ADD COLUMN extra int"),
        Shape::gate(Ddl, "CREATE VIEW v AS SELECT 1 AS one"),
        Shape::gate(Ddl, "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'"),
        Shape::gate(Ddl, "GRANT ALL ON t TO PUBLIC"),
        Shape::gate(Ddl, "GRANT CONNECT ON DATABASE postgres TO PUBLIC"),
        Shape::gate(Ddl, format!("CREATE ROLE {name}_role")),
        Shape::gate(
            Ddl,
            format!("ALTER DATABASE {name} SET default_transaction_read_only = off"),
        ),
        Shape::gate(Ddl, "DO $$ BEGIN DELETE FROM t; END $$"),
        Shape::gate(Ddl, "CALL wipe_proc()"),
        Shape::gate(Ddl, "VACUUM t"),
        // Large objects and server files.
        Shape::gate(Never, "SELECT lo_import('/etc/hostname')"),
        Shape::gate(
            Never,
            format!(
                "SELECT lo_export(lo_from_bytea(0, 'x'), '{}')",
                exported.display()
            ),
        )
        .creating(exported),
        Shape::gate(Never, "SELECT lo_create(0)"),
        Shape::gate(Never, "SELECT lo_unlink(1)"),
        Shape::gate(Never, "SELECT pg_catalog.\"lo_import\"('/etc/hostname')"),
        Shape::gate(Never, "SELECT pg_read_file('/etc/hostname')"),
        Shape::gate(Never, "SELECT * FROM pg_read_file('/etc/passwd') AS f"),
        Shape::gate(Never, "SELECT pg_read_binary_file('/etc/hostname')"),
        Shape::gate(Never, "SELECT pg_ls_dir('/tmp')"),
        Shape::gate(
            Never,
            format!("COPY t TO PROGRAM 'touch {}'", program.display()),
        )
        .creating(program),
        Shape::gate(
            Never,
            format!(
                "COPY t FROM PROGRAM 'touch {}; echo 9,x,1'",
                program_in.display()
            ),
        )
        .creating(program_in),
        Shape::gate(Never, format!("COPY (SELECT 1) TO '{}'", copied.display())).creating(copied),
        Shape::gate(Never, "COPY t FROM '/etc/hostname'"),
        Shape::gate(Never, "COPY t TO STDOUT"),
        // Other sessions and the server.
        Shape::gate(Never, format!("SELECT pg_terminate_backend({admin_pid})")),
        Shape::gate(Never, format!("SELECT pg_cancel_backend({admin_pid})")),
        Shape::gate(
            Never,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()",
        ),
        Shape::gate(Never, "SELECT * FROM pg_stat_activity"),
        Shape::gate(
            Never,
            "SELECT query FROM pg_catalog.pg_stat_activity WHERE pid <> pg_backend_pid()",
        ),
        Shape::gate(Never, "SELECT * FROM pg_stat_get_activity(NULL)"),
        Shape::gate(
            Never,
            format!("SELECT pg_create_physical_replication_slot('{name}_slot')"),
        ),
        Shape::gate(Never, "SELECT pg_reload_conf()"),
        Shape::gate(Never, "ALTER SYSTEM SET work_mem = '1MB'"),
        Shape::gate(Never, "CHECKPOINT"),
        Shape::gate(Never, "LISTEN plenum_channel"),
        Shape::gate(Never, "NOTIFY plenum_channel"),
        Shape::gate(Never, "SELECT pg_notify('plenum_channel', 'x')"),
        // Locks.
        Shape::gate(Never, "SELECT pg_advisory_lock(42)"),
        Shape::gate(Never, "SELECT pg_try_advisory_xact_lock(42)"),
        Shape::gate(Never, "SELECT pg_advisory_unlock_all()"),
        Shape::gate(Never, "LOCK TABLE t IN ACCESS EXCLUSIVE MODE"),
        Shape::gate(Never, "LOCK t"),
        // SQL the gate cannot see.
        Shape::gate(
            Never,
            format!(
                "SELECT * FROM dblink('dbname={name}', 'DELETE FROM t RETURNING 1') AS r(a int)"
            ),
        ),
        Shape::gate(
            Never,
            format!("SELECT dblink_exec('dbname={name}', 'DELETE FROM t')"),
        ),
        Shape::gate(
            Never,
            "SELECT query_to_xml('DELETE FROM t RETURNING 1', true, true, '')",
        ),
        Shape::gate(Never, "PREPARE p AS DELETE FROM t; EXECUTE p"),
        Shape::gate(Never, "PREPARE q AS SELECT 1"),
        Shape::gate(Never, "EXECUTE p"),
        Shape::gate(Never, "DECLARE c CURSOR FOR SELECT 1"),
        // MySQL's executable comment is a plain comment here: nothing is left to run.
        Shape::gate(Never, "/*! DELETE FROM t */"),
        // In PostgreSQL these are a comment or a string: harmless in every tier.
        Shape::gate(Harmless, "SELECT 1--1;DROP TABLE t"),
        Shape::gate(Harmless, "SELECT 1 /*!, (SELECT count(*) FROM t) */"),
        Shape::gate(Harmless, "SELECT $$; DELETE FROM t; $$"),
        Shape::gate(Harmless, "SELECT '; DELETE FROM t; --'"),
        Shape::gate(Harmless, "SELECT 5 # 3"),
        Shape::gate(Harmless, "SELECT 1 /* /* */ ; DELETE FROM t; */"),
    ];
    // A dozen shapes once more with their keywords in odd case.
    let odd_case = odd_case_copies(&shapes);
    shapes.extend(odd_case);
    shapes
}

#[test]
fn attack_shapes_change_nothing_in_the_tiers_they_do_not_belong_to() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut db = TestDb::create(&server, FIXTURE);
    db.assert_server_writes_scratch_files();
    let admin_pid = db.admin_session_id();
    let shapes = attack_shapes(&db, &admin_pid);
    assert_shapes_change_nothing(&mut db, &shapes);
    // The admin session survived every attempt to end it.
    assert_eq!(db.admin_session_id(), admin_pid);
}

/// A session's SQL text can hold secrets; the gate refuses pg_stat_activity and
/// pg_stat_get_activity, and must refuse the per-backend function too.
#[test]
fn other_sessions_sql_is_not_readable_through_backend_functions() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let db = TestDb::create(&server, FIXTURE);
    let marker = unique_name("plenum_secret");
    let other = server.clone();
    let name = db.name.clone();
    let sleeper_sql = format!("SELECT pg_sleep(3), '{marker}'");
    let sleeper = std::thread::spawn(move || {
        let mut admin = other.admin(Some(&name));
        admin.rows(&sleeper_sql);
    });
    std::thread::sleep(Duration::from_millis(300));
    let run = db.query(
        Via::Flags,
        "SELECT pg_stat_get_backend_activity(s) FROM pg_stat_get_backend_idset() AS s",
        &[],
    );
    let _ = sleeper.join();
    assert!(
        !run.stdout.contains(&marker),
        "another session's SQL was returned: {}",
        run.stdout
    );
    run.assert_error("CAPABILITY_VIOLATION");
}

/// PostgreSQL accepts the British spelling of ANALYZE; an EXPLAIN that runs its statement gets
/// that statement's tier from the gate, not only from the engine.
#[test]
fn explain_analyse_is_classified_like_explain_analyze() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut db = TestDb::create(&server, FIXTURE);
    for sql in [
        "EXPLAIN (ANALYSE) DELETE FROM t WHERE id = 1",
        "EXPLAIN (ANALYSE true, COSTS false) DELETE FROM t WHERE id = 2",
    ] {
        let before = db.fingerprint();
        db.query(Via::Flags, sql, &[])
            .assert_error("CAPABILITY_VIOLATION");
        assert_eq!(db.fingerprint(), before, "{sql}");
        // With the write tier granted it is a write, and runs as one.
        db.query(Via::Flags, sql, &["--allow-write"]).assert_ok();
        assert_ne!(db.fingerprint().rows, before.rows, "{sql} did not run");
    }
}

#[test]
fn every_type_reaches_the_json_as_documented() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let db = TestDb::create(
        &server,
        &[r#"
        CREATE TYPE mood AS ENUM ('sad', 'happy');
        CREATE DOMAIN positive AS int CHECK (VALUE > 0);
        CREATE TABLE types (
            k int PRIMARY KEY, n numeric(40, 20), i2 int2, i4 int4, i8 int8,
            f4 real, f8 double precision, f_nan double precision, f_inf real, f_ninf double precision,
            b bool, tx text, vc varchar(10), ch char(4), nm name, by bytea,
            d date, tm time, ts timestamp, tz timestamptz, iv interval, u uuid, j json, jb jsonb,
            ai int4[], at text[], mo mood, dom positive, ip inet, cd cidr, mac macaddr, my money,
            bt bit(4), vb varbit(8));
        INSERT INTO types VALUES (1, '12345678901234567890.01234567890123456789', -32768,
            2147483647, 9223372036854775807, 1.5, -2.25, 'NaN', 'Infinity', '-Infinity',
            true, 'héllo "wörld"', 'v', 'ab', 'nm', '\x00ff10',
            '2024-02-29', '13:14:15.5', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15+02',
            '1 year 2 mons 3 days 04:05:06.5', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
            '{"a": [1, 2.5, null]}', '{"b": {"c": true}}', '{1,NULL,3}', '{{a,b},{c,"d e"}}',
            'happy', 7, '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', '12.34',
            B'1010', B'101');
        INSERT INTO types (k) VALUES (2);
        INSERT INTO types (k, n, i8, f4, tx, by, iv, j, jb, ai, tz)
            VALUES (3, '-0.00000000000000000001', 42, 'NaN', '', '', '-1 day -00:00:01.5',
                    '"text"', '[]', '{}', '1969-12-31 23:59:59.999999+00');
        INSERT INTO types (k, i8) VALUES (4, -9007199254740993);
    "#],
    );
    let schemas = schemas();
    for via in [Via::Flags, Via::Dsn] {
        let run = select_every_type(&db, via, &schemas);
        assert_eq!(
            column_types(&run),
            [
                "int4",
                "numeric",
                "int2",
                "int4",
                "int8",
                "float4",
                "float8",
                "float8",
                "float4",
                "float8",
                "bool",
                "text",
                "varchar",
                "bpchar",
                "name",
                "bytea",
                "date",
                "time",
                "timestamp",
                "timestamptz",
                "interval",
                "uuid",
                "json",
                "jsonb",
                "int4[]",
                "text[]",
                "mood",
                "int4",
                "inet",
                "cidr",
                "macaddr",
                "money",
                "bit",
                "varbit"
            ]
        );
        let rows = run.rows();
        assert_eq!(
            rows[0],
            json!([
                1,
                "12345678901234567890.01234567890123456789",
                -32768,
                2147483647,
                "9223372036854775807",
                1.5,
                -2.25,
                null,
                null,
                null,
                true,
                "héllo \"wörld\"",
                "v",
                "ab  ",
                "nm",
                "AP8Q",
                "2024-02-29",
                "13:14:15.5",
                "2024-02-29T13:14:15.123456",
                "2024-02-29T11:14:15+00:00",
                "P1Y2M3DT4H5M6.5S",
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                {"a": [1, 2.5, null]},
                {"b": {"c": true}},
                [1, null, 3],
                [["a", "b"], ["c", "d e"]],
                "happy",
                7,
                "192.168.0.1/24",
                "10.0.0.0/8",
                "08:00:2b:01:02:03",
                "12.34",
                "1010",
                "101"
            ])
        );
        // NULL in every column type is null.
        assert_eq!(rows[1], null_row(2, 34));
        let edge = &rows[2];
        assert_eq!(edge[1], "-0.00000000000000000001");
        assert_eq!(edge[4], 42);
        assert_eq!(edge[5], Json::Null, "float4 NaN");
        assert_eq!(edge[11], "");
        assert_eq!(edge[15], "");
        assert_eq!(edge[19], "1969-12-31T23:59:59.999999+00:00");
        assert_eq!(edge[20], "P-1DT-1.5S");
        assert_eq!(edge[22], "text");
        assert_eq!(edge[23], json!([]));
        assert_eq!(edge[24], json!([]));
        // Beyond 2^53 in either direction, integers are strings.
        assert_eq!(rows[3][4], "-9007199254740993");
    }
}

#[test]
fn max_rows_over_a_million_rows_is_fast_and_flat() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let db = TestDb::create(
        &server,
        &["
        CREATE TABLE big AS SELECT n AS id, md5(n::text) AS note, n * 0.5 AS amount
            FROM generate_series(1, 1000000) AS n;
        CREATE TABLE small AS SELECT * FROM big WHERE id <= 1000;
        ANALYZE big; ANALYZE small;
    "],
    );
    assert_max_rows_is_fast_and_flat(&db, "PostgreSQL");
}

#[test]
fn a_timeout_stops_the_query_on_the_server() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut db = TestDb::create(&server, &[]);
    assert_timeout_stops_the_query_on_the_server(&mut db, "pg_sleep");
}

#[test]
fn each_failure_has_its_error_class() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let db = TestDb::create(&server, FIXTURE);
    let refusals = assert_each_failure_has_its_error_class(
        &db,
        &FailureCases {
            ssl_mode_parameter: "sslmode",
            // The server's certificate does not name 127.0.0.1 (or TLS is off).
            unsatisfiable_ssl_mode: Some("verify-full"),
            missing_table_sqlstate: "42P01",
            server_error: ("SELECT 1 / 0", "22012"),
        },
    );
    assert_eq!(refusals.missing_database.json["error"]["sqlstate"], "3D000");
}

/// Agents often start SQL with a comment; `--sql TEXT` must take it as the SQL, like any
/// other text.
#[test]
fn sql_that_starts_with_a_comment_or_a_minus_is_taken_by_sql() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let db = TestDb::create(&server, FIXTURE);
    let run = server
        .plenum(["query"])
        .args(db.flags())
        .args(["--sql", "-- note\nSELECT 1"])
        .run();
    run.assert_ok();
    assert_eq!(run.rows(), vec![json!([1])]);
    // Text that starts with a minus reaches the gate (and is judged there), not the flag parser.
    let run = server
        .plenum(["query"])
        .args(db.flags())
        .args(["--sql", "-1 AS x"])
        .run();
    run.assert_error("PARSE_ERROR");
}

/// `json` keeps its text as written, newlines included; the envelope is still one line.
#[test]
fn json_values_with_newlines_keep_the_envelope_on_one_line() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let db = TestDb::create(&server, &[]);
    // `Run` fails on more than one line of stdout.
    let run = db.query(
        Via::Flags,
        "SELECT E'{\\n  \"a\": [1,\\n 2]\\n}'::json AS j",
        &[],
    );
    run.assert_ok();
    assert_eq!(run.rows(), vec![json!([{"a": [1, 2]}])]);
    db.query(Via::Dsn, "EXPLAIN (FORMAT JSON) SELECT 1", &[])
        .assert_ok();
}
