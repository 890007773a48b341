//! The whole stack against a live MySQL/MariaDB server: CLI flags or DSN → gate → plugin →
//! server. Every refusal is checked by its outcome (row checksums, the catalog, files), not
//! only by its error code.
//!
//! Each test creates its own database and drops it afterwards. Skipped with a notice when the
//! plugin is missing or the server is unreachable; under `CI=true` an unreachable server fails.

mod live_support;

use live_support::scenarios::{
    assert_each_failure_has_its_error_class, assert_max_rows_is_fast_and_flat, assert_tiers_hold,
    assert_timeout_stops_the_query_on_the_server, column_types, null_row, select_every_type,
    FailureCases, TierStatements,
};
use live_support::{
    assert_shapes_change_nothing, odd_case_copies, schemas, Belongs, Server, Shape, TestDb, Tier,
    Via,
};
use serde_json::{json, Value as Json};

/// A table with rows, and a function and a procedure that delete every row.
const FIXTURE: &[&str] = &[
    "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, amount DECIMAL(10, 2))",
    "INSERT INTO t VALUES (1, 'alpha', 1.50), (2, 'beta', 2.25), (3, 'gamma', NULL)",
    "CREATE FUNCTION wipe() RETURNS INT MODIFIES SQL DATA BEGIN DELETE FROM t; RETURN 1; END",
    "CREATE PROCEDURE wipe_proc() MODIFIES SQL DATA BEGIN DELETE FROM t; END",
];

/// The fixture's statements for the tier checks, in MySQL's dialect.
const TIER_STATEMENTS: TierStatements = TierStatements {
    refused_in_read: &[
        "INSERT INTO t VALUES (4, 'delta', 4)",
        "UPDATE t SET name = 'changed'",
        "DELETE FROM t",
        "REPLACE INTO t VALUES (1, 'replaced', 1)",
        "CREATE TABLE u (a INT)",
        "DROP TABLE t",
    ],
    refused_in_write: &[
        "CREATE TABLE u (a INT)",
        "ALTER TABLE t ADD COLUMN extra INT",
        "DROP TABLE t",
        "TRUNCATE t",
        "RENAME TABLE t TO t_old",
        "CREATE INDEX by_name ON t (name)",
    ],
    schema_change: "CREATE TABLE made (a INT); ALTER TABLE t ADD COLUMN extra INT",
    added_columns: &["made.a:int", "t.extra:int"],
    // MySQL commits DDL implicitly, so only DML is rolled back.
    failing_transactions: &[
        (
            Tier::Write,
            "INSERT INTO t (id, name) VALUES (100, 'rolled back'); INSERT INTO missing_table VALUES (1)",
        ),
        (
            Tier::Write,
            "INSERT INTO t (id, name) VALUES (100, 'rolled back'); INSERT INTO t (id, name) VALUES (1, 'duplicate')",
        ),
        (
            Tier::Write,
            "DELETE FROM t WHERE id = 2; UPDATE t SET id = 3 WHERE id = 1",
        ),
    ],
};

fn tiers_hold(via: Via) {
    let Some(server) = Server::mysql() else {
        return;
    };
    let mut db = TestDb::create(&server, FIXTURE);
    assert_tiers_hold(&mut db, via, &TIER_STATEMENTS);
}

#[test]
fn tiers_hold_with_connection_flags() {
    tiers_hold(Via::Flags);
}

#[test]
fn tiers_hold_with_a_dsn() {
    tiers_hold(Via::Dsn);
}

fn attack_shapes(db: &TestDb, admin_id: &str, mariadb: bool) -> Vec<Shape> {
    use Belongs::{Ddl, Harmless, Never, Write};
    let name = &db.name;
    let mut shapes = vec![
        // Stacked statements that end the read-only transaction.
        Shape::gate(Never, "SELECT 1; COMMIT; DROP TABLE t"),
        Shape::gate(Never, "SELECT 1; COMMIT; DELETE FROM t"),
        Shape::gate(Never, "SELECT 1; ROLLBACK; DELETE FROM t"),
        // The session's mode switched back.
        Shape::gate(Never, "SET SESSION TRANSACTION READ WRITE; DELETE FROM t"),
        Shape::gate(Never, "SET TRANSACTION READ WRITE; DELETE FROM t"),
        Shape::gate(
            Never,
            "SET @@session.transaction_read_only = 0; DELETE FROM t",
        ),
        Shape::gate(Never, "SET SESSION tx_read_only = OFF; DELETE FROM t"),
        Shape::gate(Never, "SET autocommit = 1; DELETE FROM t"),
        Shape::gate(Never, "SET STATEMENT tx_read_only = 0 FOR DELETE FROM t"),
        Shape::gate(Never, "START TRANSACTION READ WRITE; DELETE FROM t"),
        Shape::gate(Never, "BEGIN; DELETE FROM t; COMMIT"),
        Shape::gate(Never, "XA START 'plenum'; DELETE FROM t"),
        Shape::gate(Never, "SET GLOBAL max_statement_time = 123"),
        // Executable comments: MySQL and MariaDB run what is inside.
        Shape::gate(Never, "/*! DELETE FROM t */"),
        Shape::gate(Never, "/*!50000 DROP TABLE t */"),
        Shape::gate(Never, "/*M!100000 DELETE FROM t */"),
        Shape::gate(Never, "SELECT 1 /*!, (SELECT COUNT(*) FROM t) */"),
        Shape::gate(Never, "SELECT 1 /*! ; DELETE FROM t */"),
        Shape::gate(Never, "SELECT * FROM t WHERE id = 1 /*!50000 OR wipe() */"),
        // `--` is a comment only when a space follows.
        Shape::gate(Never, "SELECT 1--1;DROP TABLE t"),
        Shape::gate(Never, "SELECT 1--1;DELETE FROM t"),
        // Comments before the keyword, `#` comments, strings that look like comments.
        Shape::gate(Write, "/* x */ DELETE FROM t"),
        Shape::gate(Write, "-- x\nDELETE FROM t"),
        Shape::gate(Write, "# x\nDELETE FROM t"),
        Shape::gate(Write, "\n\t/* a */ # b\n-- c\nUPDATE t SET name = 'x'"),
        Shape::gate(Write, "SELECT 1 #\n; DELETE FROM t"),
        Shape::gate(Write, "SELECT 1 -- \n; DELETE FROM t"),
        Shape::gate(Write, "SELECT '--'; DELETE FROM t"),
        Shape::gate(Write, "SELECT '#'; DELETE FROM t"),
        Shape::gate(Write, "SELECT '/*'; DELETE FROM t; SELECT '*/'"),
        Shape::gate(Write, "SELECT \"'\"; DELETE FROM t"),
        Shape::gate(Write, "SELECT '\\''; DELETE FROM t; -- '"),
        Shape::gate(Write, "SELECT \"\\\"\" ; DELETE FROM t"),
        Shape::gate(Write, "SELECT N'\\'', 1 ; DELETE FROM t ; SELECT 'x'"),
        Shape::gate(Write, "SELECT _binary'\\'' ; DELETE FROM t"),
        Shape::gate(
            Write,
            "SELECT `a``b` FROM (SELECT 1 AS `a``b`) AS x; DELETE FROM t",
        ),
        Shape::gate(Write, "SELECT 1;DELETE FROM t"),
        // Data-modifying CTEs.
        Shape::gate(Write, "WITH x AS (SELECT 1) DELETE FROM t"),
        Shape::gate(Write, "WITH x AS (SELECT 1) UPDATE t SET name = 'x'"),
        Shape::gate(
            Write,
            "WITH x AS (SELECT 1 AS id) INSERT INTO t SELECT id + 10, 'x', 1 FROM x",
        ),
        // Plain writes and row locks.
        Shape::gate(Write, "INSERT INTO t VALUES (9, 'x', 1)"),
        Shape::gate(Write, "INSERT INTO t SELECT id + 10, name, amount FROM t"),
        Shape::gate(Write, "REPLACE INTO t VALUES (1, 'x', 1)"),
        Shape::gate(
            Write,
            "INSERT INTO t VALUES (1, 'x', 1) ON DUPLICATE KEY UPDATE name = 'y'",
        ),
        Shape::gate(Write, "UPDATE t SET name = 'x'"),
        Shape::gate(Write, "DELETE FROM t"),
        Shape::gate(Write, "SELECT * FROM t FOR UPDATE"),
        Shape::gate(Write, "SELECT * FROM t LOCK IN SHARE MODE"),
        // EXPLAIN / ANALYZE that executes (MariaDB's ANALYZE runs the statement).
        Shape::gate(Write, "EXPLAIN ANALYZE DELETE FROM t"),
        Shape::gate(Write, "ANALYZE DELETE FROM t"),
        Shape::gate(Write, "ANALYZE FORMAT=JSON DELETE FROM t"),
        Shape::gate(Write, "ANALYZE SELECT wipe()"),
        // A stored function that deletes, called from a read: on this root login the reach
        // check refuses it before it runs (an ordinary login's read-only transaction stops it:
        // tests/tests/reach_mysql.rs).
        Shape::reach(Write, "SELECT wipe()"),
        Shape::reach(Write, "SELECT * FROM t WHERE wipe() = 1"),
        Shape::reach(Write, "SELECT (SELECT wipe()) AS w"),
        Shape::reach(Write, "SELECT COUNT(*) FROM (SELECT wipe() AS w) AS x"),
        // Read-shaped writes: files on the server and session variables.
        Shape::gate(Never, "SELECT 1 INTO @v"),
        Shape::gate(Never, "SELECT id FROM t WHERE id = 1 INTO @v"),
        // Schema changes.
        Shape::gate(Ddl, "CREATE TABLE c AS SELECT * FROM t"),
        Shape::gate(Ddl, "CREATE TABLE c2 SELECT * FROM t"),
        Shape::gate(Ddl, "CREATE TABLE c3 (a INT)"),
        Shape::gate(Ddl, "CREATE TEMPORARY TABLE tmp (a INT)"),
        Shape::gate(Ddl, "DROP TABLE t"),
        Shape::gate(Ddl, "TRUNCATE t"),
        Shape::gate(Ddl, "ALTER TABLE t ADD COLUMN extra INT"),
        Shape::gate(Ddl, "RENAME TABLE t TO t_old"),
        Shape::gate(Ddl, "CREATE VIEW v AS SELECT 1 AS one"),
        Shape::gate(Ddl, "CREATE FUNCTION f() RETURNS INT RETURN 1"),
        Shape::gate(
            Ddl,
            "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW SET NEW.name = 'x'",
        ),
        Shape::gate(
            Ddl,
            format!("GRANT SELECT ON `{name}`.* TO '{name}_u'@'localhost'"),
        ),
        Shape::gate(Ddl, format!("CREATE USER '{name}_v'@'localhost'")),
        Shape::gate(Ddl, format!("CREATE DATABASE `{name}_x`")),
        Shape::gate(Ddl, "CALL wipe_proc()"),
        // Files.
        Shape::gate(Never, "SELECT LOAD_FILE('/etc/hostname')"),
        Shape::gate(Never, "LOAD DATA INFILE '/etc/hostname' INTO TABLE t"),
        Shape::gate(Never, "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE t"),
        Shape::gate(Never, "LOAD XML INFILE '/etc/hostname' INTO TABLE t"),
        // Locks.
        Shape::gate(Never, "SELECT GET_LOCK('plenum', 0)"),
        Shape::gate(Never, "SELECT RELEASE_LOCK('plenum')"),
        Shape::gate(Never, "SELECT IS_USED_LOCK('plenum')"),
        Shape::gate(Never, "LOCK TABLES t WRITE"),
        Shape::gate(Never, "LOCK TABLES t READ; DELETE FROM t"),
        Shape::gate(Never, "UNLOCK TABLES"),
        Shape::gate(Never, "FLUSH TABLES WITH READ LOCK"),
        // SQL the gate cannot see.
        Shape::gate(Never, "PREPARE s FROM 'DELETE FROM t'; EXECUTE s"),
        Shape::gate(Never, "PREPARE s FROM 'SELECT 1'"),
        Shape::gate(Never, "EXECUTE IMMEDIATE 'DELETE FROM t'"),
        Shape::gate(Never, "DEALLOCATE PREPARE s"),
        Shape::gate(Never, "HANDLER t OPEN"),
        Shape::gate(Never, "DO wipe()"),
        // Other sessions and the server.
        Shape::gate(Never, "SHOW PROCESSLIST"),
        Shape::gate(Never, "SHOW FULL PROCESSLIST"),
        Shape::gate(Never, "SELECT * FROM information_schema.PROCESSLIST"),
        Shape::gate(Never, "SELECT INFO FROM INFORMATION_SCHEMA.processlist"),
        Shape::gate(Never, "SELECT * FROM `information_schema`.`processlist`"),
        Shape::gate(Never, "SHOW ENGINE INNODB STATUS"),
        Shape::gate(Never, format!("KILL QUERY {admin_id}")),
        Shape::gate(Never, format!("KILL {admin_id}")),
        Shape::gate(Never, format!("KILL CONNECTION {admin_id}")),
        // In MySQL these are a comment or a string: harmless in every tier.
        Shape::gate(Harmless, "SELECT 1 # ; DELETE FROM t"),
        Shape::gate(Harmless, "SELECT 1 -- ; DELETE FROM t"),
        Shape::gate(Harmless, "SELECT 1 --\t; DELETE FROM t"),
        Shape::gate(Harmless, "SELECT '; DELETE FROM t; '"),
        Shape::gate(Harmless, "SELECT 1 /* ; DELETE FROM t */"),
    ];
    if mariadb {
        // MariaDB's sequences: a value taken is never given back, whatever the transaction.
        shapes.extend([
            Shape::gate(Write, "SELECT NEXTVAL(s)"),
            Shape::gate(Write, "SELECT NEXT VALUE FOR s"),
            Shape::gate(Write, "SELECT SETVAL(s, 100)"),
            Shape::gate(Write, "SELECT id FROM t WHERE NEXTVAL(s) > 0"),
        ]);
    }
    for (label, statement) in [
        ("outfile", "SELECT * FROM t INTO OUTFILE '{}'"),
        ("dumpfile", "SELECT 1 INTO DUMPFILE '{}'"),
        ("paren_outfile", "(SELECT 1) INTO OUTFILE '{}'"),
        ("tight_outfile", "(SELECT 1)INTO OUTFILE '{}'"),
        ("union_outfile", "SELECT 1 UNION SELECT 2 INTO OUTFILE '{}'"),
        (
            "cte_outfile",
            "WITH x AS (SELECT 1) SELECT * FROM x INTO OUTFILE '{}'",
        ),
        (
            "fields_outfile",
            "SELECT id FROM t INTO OUTFILE '{}' FIELDS TERMINATED BY ','",
        ),
        (
            "where_dumpfile",
            "SELECT name FROM t WHERE id = 1 INTO DUMPFILE '{}'",
        ),
        ("comment_outfile", "/* x */ SELECT 1 INTO OUTFILE '{}'"),
    ] {
        let file = db.scratch_file(label);
        let sql = statement.replace("{}", &file.display().to_string());
        shapes.push(Shape::gate(Never, sql).creating(file));
    }
    // A dozen shapes once more with their keywords in odd case.
    let odd_case = odd_case_copies(&shapes);
    shapes.extend(odd_case);
    shapes
}

#[test]
fn attack_shapes_change_nothing_in_the_tiers_they_do_not_belong_to() {
    let Some(server) = Server::mysql() else {
        return;
    };
    let mut db = TestDb::create(&server, FIXTURE);
    // A read-only transaction does not stop INTO OUTFILE: only the gate keeps the files away.
    db.assert_server_writes_scratch_files();

    let mariadb = db.admin().text("SELECT VERSION()").contains("MariaDB");
    if mariadb {
        db.admin().exec(&["CREATE SEQUENCE s"]);
    }
    let admin_id = db.admin_session_id();
    let shapes = attack_shapes(&db, &admin_id, mariadb);
    assert_shapes_change_nothing(&mut db, &shapes);
    // The admin session survived every attempt to end it.
    assert_eq!(db.admin_session_id(), admin_id);
}

const TYPES: &[&str] = &[
    "CREATE TABLE types (
        k INT PRIMARY KEY, ti TINYINT, si SMALLINT, mi MEDIUMINT, i INT, iu INT UNSIGNED,
        bi BIGINT, bu BIGINT UNSIGNED, de DECIMAL(40, 20), fl FLOAT, db DOUBLE,
        d DATE, dt DATETIME(6), ts TIMESTAMP(3) NULL DEFAULT NULL, tm TIME(1), yr YEAR,
        bt BIT(8), j JSON, bl BLOB, bn BINARY(3), vb VARBINARY(8), en ENUM('a', 'b'),
        st SET('x', 'y', 'z'), ch CHAR(4), vc VARCHAR(10), tx TEXT)",
    "INSERT INTO types VALUES (1, -128, -32768, -8388608, -2147483648, 4294967295,
        -9223372036854775808, 18446744073709551615, '12345678901234567890.01234567890123456789',
        1.5, -2.25, '2024-02-29', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.5',
        '13:14:15.5', 2024, b'10100101', '{\"a\": [1, 2.5, null]}', x'00ff10', x'00ff10',
        x'0102', 'b', 'x,z', 'ab', 'v', 'héllo \"wörld\"')",
    "INSERT INTO types (k) VALUES (2)",
    "INSERT INTO types (k, bi, bu, de, fl, dt, tm, bl, tx)
        VALUES (3, 42, 9007199254740993, '-0.00000000000000000001', 0.1,
                '1000-01-01 00:00:00', '-01:02:03.5', '', '')",
];

#[test]
fn every_type_reaches_the_json_as_documented() {
    let Some(server) = Server::mysql() else {
        return;
    };
    let db = TestDb::create(&server, TYPES);
    let schemas = schemas();
    for via in [Via::Flags, Via::Dsn] {
        let run = select_every_type(&db, via, &schemas);
        let types = column_types(&run);
        // MariaDB's JSON is LONGTEXT on the wire; MySQL has a JSON type.
        let json_type = types[17];
        assert!(json_type == "JSON" || json_type == "TEXT", "{json_type}");
        let expected_types = vec![
            "INT",
            "TINYINT",
            "SMALLINT",
            "MEDIUMINT",
            "INT",
            "INT UNSIGNED",
            "BIGINT",
            "BIGINT UNSIGNED",
            "DECIMAL",
            "FLOAT",
            "DOUBLE",
            "DATE",
            "DATETIME",
            "TIMESTAMP",
            "TIME",
            "YEAR",
            "BIT",
            json_type,
            "BLOB",
            "BINARY",
            "VARBINARY",
            "ENUM",
            "SET",
            "CHAR",
            "VARCHAR",
            "TEXT",
        ];
        assert_eq!(types, expected_types);
        let mut rows = run.rows();
        // Checked on its own below, so the rest can be compared whole.
        let document = rows[0][17].take();
        assert_eq!(
            rows[0],
            json!([
                1,
                -128,
                -32768,
                -8388608,
                -2147483648,
                4294967295u64,
                "-9223372036854775808",
                "18446744073709551615",
                "12345678901234567890.01234567890123456789",
                1.5,
                -2.25,
                "2024-02-29",
                "2024-02-29T13:14:15.123456",
                "2024-02-29T13:14:15.500",
                "13:14:15.5",
                2024,
                165,
                null,
                "AP8Q",
                "AP8Q",
                "AQI=",
                "b",
                "x,z",
                "ab",
                "v",
                "héllo \"wörld\""
            ])
        );
        let expected_document = json!({"a": [1, 2.5, null]});
        match &document {
            Json::String(text) => assert_eq!(
                serde_json::from_str::<Json>(text).ok(),
                Some(expected_document),
                "{text}"
            ),
            other => assert_eq!(other, &expected_document),
        }
        // NULL in every column type is null.
        assert_eq!(rows[1], null_row(2, 26));
        let edge = &rows[2];
        assert_eq!(edge[6], 42);
        assert_eq!(edge[7], "9007199254740993", "beyond 2^53 is a string");
        assert_eq!(edge[8], "-0.00000000000000000001");
        assert_eq!(edge[9], 0.1, "FLOAT at its own precision");
        assert_eq!(edge[12], "1000-01-01T00:00:00.000000");
        assert_eq!(edge[14], "-01:02:03.5");
        assert_eq!(edge[18], "");
        assert_eq!(edge[25], "");
    }
}

/// A JSON column is JSON in the envelope, on MariaDB too (where JSON is LONGTEXT with a
/// `json_valid` check and the wire type says only "text").
#[test]
#[ignore = "plugin gap: MariaDB JSON columns come back as strings (the wire type is LONGTEXT; the plugin does not ask for MariaDB's extended metadata)"]
fn json_columns_are_json_on_mariadb_too() {
    let Some(server) = Server::mysql() else {
        return;
    };
    let db = TestDb::create(&server, TYPES);
    let run = db.query(Via::Flags, "SELECT j FROM types WHERE k = 1", &[]);
    run.assert_ok();
    assert_eq!(run.rows(), vec![json!([{"a": [1, 2.5, null]}])]);
}

#[test]
fn max_rows_over_a_million_rows_is_fast_and_flat() {
    let Some(server) = Server::mysql() else {
        return;
    };
    let mut db = TestDb::create(
        &server,
        &["CREATE TABLE big (id INT PRIMARY KEY, note CHAR(32), amount DECIMAL(12, 1))"],
    );
    // MariaDB's sequence engine; MySQL has none, a recursive CTE does it there.
    let is_mariadb = db.admin().text("SELECT VERSION()").contains("MariaDB");
    if is_mariadb {
        db.admin()
            .exec(&["INSERT INTO big SELECT seq, MD5(seq), seq * 0.5 FROM seq_1_to_1000000"]);
    } else {
        db.admin().exec(&[
            "SET SESSION cte_max_recursion_depth = 2000000",
            "INSERT INTO big WITH RECURSIVE c (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000)
             SELECT n, MD5(n), n * 0.5 FROM c",
        ]);
    }
    db.admin()
        .exec(&["CREATE TABLE small AS SELECT * FROM big WHERE id <= 1000"]);
    assert_eq!(db.admin().text("SELECT COUNT(*) FROM big"), "1000000");
    assert_max_rows_is_fast_and_flat(&db, "MySQL");
}

#[test]
fn a_timeout_stops_the_query_on_the_server() {
    let Some(server) = Server::mysql() else {
        return;
    };
    let mut db = TestDb::create(&server, &[]);
    assert_timeout_stops_the_query_on_the_server(&mut db, "SLEEP");
}

#[test]
fn each_failure_has_its_error_class() {
    let Some(server) = Server::mysql() else {
        return;
    };
    let db = TestDb::create(&server, FIXTURE);
    // The test server has no TLS: `require` must fail rather than fall back to plain text.
    let has_tls = server.admin(None).text("SELECT @@have_ssl") == "YES";
    if has_tls {
        eprintln!("notice: the server offers TLS; the TLS failure case is not exercised");
    }
    let refusals = assert_each_failure_has_its_error_class(
        &db,
        &FailureCases {
            ssl_mode_parameter: "ssl-mode",
            unsatisfiable_ssl_mode: (!has_tls).then_some("require"),
            missing_table_sqlstate: "42S02",
            server_error: ("SELECT no_such_function(1)", "42000"),
        },
    );
    assert_eq!(refusals.unknown_user.json["error"]["sqlstate"], "28000");
}
