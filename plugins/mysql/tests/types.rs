//! Every column type decoded from the binary protocol, with a value and with NULL.

mod common;

use common::{query, text, TestDb};
use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{AccessMode, Value};

fn bytes(data: &[u8]) -> Value {
    Value::Bytes(RVec::from(data.to_vec()))
}

fn is_mariadb(db: &TestDb) -> bool {
    let rows = db.read("SELECT VERSION()");
    matches!(rows.first().and_then(|row| row.first()), Some(Value::Text(v)) if v.contains("MariaDB"))
}

#[test]
fn every_type_decodes_exactly() {
    let Some(db) = TestDb::new("types") else {
        return;
    };
    let mariadb = is_mariadb(&db);
    db.setup(&[
        "CREATE TABLE t (
            k INT PRIMARY KEY,
            ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, i INT,
            iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
            dec_ DECIMAL(30,10), f FLOAT, d DOUBLE,
            dt DATE, dtm DATETIME(6), dtm0 DATETIME, ts TIMESTAMP(3) NULL, tm TIME(1), yr YEAR,
            b BIT(12), b64 BIT(64), j JSON,
            c CHAR(3), vc VARCHAR(20), tx TEXT, bin BINARY(3), vb VARBINARY(4), bl BLOB,
            e ENUM('a','b'), st SET('x','y'), g GEOMETRY
        )",
        "INSERT INTO t VALUES (
            1,
            -5, 250, -300, -70000, -2147483648,
            4294967295, -9223372036854775808, 18446744073709551615,
            '12345678901234567890.0123456789', 1.1, 0.1,
            '2024-02-29', '2024-02-29 13:14:15.123456', '2024-01-01 00:00:00',
            '2024-03-01 01:02:03.456', '-123:04:05.5', 2024,
            b'101010101010', b'1111111111111111111111111111111111111111111111111111111111111111',
            '{\"a\": [1, 2]}',
            'abc', 'héllo ✓', 'long text', x'000102', x'ff00', x'deadbeef',
            'b', 'x,y', ST_GeomFromText('POINT(1 2)')
        )",
        "INSERT INTO t (k) VALUES (2)",
    ]);
    let mut conn = db.connect(AccessMode::Read);
    let (columns, rows) = query(conn.as_mut(), "SELECT * FROM t ORDER BY k", &[]).expect("select");
    let json_type = if mariadb { "TEXT" } else { "JSON" };
    let json_value = if mariadb {
        text("{\"a\": [1, 2]}")
    } else {
        Value::Json("{\"a\": [1, 2]}".into())
    };
    let expected: Vec<(&str, &str, Value)> = vec![
        ("k", "INT", Value::Int(1)),
        ("ti", "TINYINT", Value::Int(-5)),
        ("tiu", "TINYINT UNSIGNED", Value::Int(250)),
        ("si", "SMALLINT", Value::Int(-300)),
        ("mi", "MEDIUMINT", Value::Int(-70000)),
        ("i", "INT", Value::Int(-2147483648)),
        ("iu", "INT UNSIGNED", Value::Int(4294967295)),
        ("bi", "BIGINT", Value::Int(i64::MIN)),
        ("biu", "BIGINT UNSIGNED", Value::UInt(u64::MAX)),
        (
            "dec_",
            "DECIMAL",
            Value::Decimal("12345678901234567890.0123456789".into()),
        ),
        ("f", "FLOAT", Value::Float(1.1)),
        ("d", "DOUBLE", Value::Float(0.1)),
        ("dt", "DATE", text("2024-02-29")),
        ("dtm", "DATETIME", text("2024-02-29T13:14:15.123456")),
        ("dtm0", "DATETIME", text("2024-01-01T00:00:00")),
        ("ts", "TIMESTAMP", text("2024-03-01T01:02:03.456")),
        ("tm", "TIME", text("-123:04:05.5")),
        ("yr", "YEAR", Value::Int(2024)),
        ("b", "BIT", Value::Int(0b1010_1010_1010)),
        ("b64", "BIT", Value::UInt(u64::MAX)),
        ("j", json_type, json_value),
        ("c", "CHAR", text("abc")),
        ("vc", "VARCHAR", text("héllo ✓")),
        ("tx", "TEXT", text("long text")),
        ("bin", "BINARY", bytes(&[0, 1, 2])),
        ("vb", "VARBINARY", bytes(&[0xff, 0])),
        ("bl", "BLOB", bytes(&[0xde, 0xad, 0xbe, 0xef])),
        ("e", "ENUM", text("b")),
        ("st", "SET", text("x,y")),
    ];
    assert_eq!(rows.len(), 2);
    for (index, (name, type_name, value)) in expected.iter().enumerate() {
        assert_eq!(columns[index].name.as_str(), *name);
        assert_eq!(
            columns[index].type_name.as_str(),
            *type_name,
            "type of {name}"
        );
        assert_eq!(&rows[0][index], value, "value of {name}");
        if *name != "k" {
            assert_eq!(rows[1][index], Value::Null, "NULL of {name}");
        }
    }
    // GEOMETRY: 4-byte SRID followed by the WKB of POINT(1 2).
    let geometry = columns.len() - 1;
    assert_eq!(columns[geometry].type_name.as_str(), "GEOMETRY");
    let mut wkb = vec![0u8, 0, 0, 0, 1, 1, 0, 0, 0];
    wkb.extend_from_slice(&1f64.to_le_bytes());
    wkb.extend_from_slice(&2f64.to_le_bytes());
    assert_eq!(rows[0][geometry], bytes(&wkb));
    assert_eq!(rows[1][geometry], Value::Null);
}

#[test]
fn zero_dates_stay_as_the_server_wrote_them() {
    let Some(db) = TestDb::new("zero") else {
        return;
    };
    db.setup(&[
        "CREATE TABLE z (d DATE, dt DATETIME, t TIME)",
        "SET SESSION sql_mode = ''",
        "INSERT INTO z VALUES ('0000-00-00', '0000-00-00 00:00:00', '00:00:00')",
    ]);
    assert_eq!(
        db.read("SELECT d, dt, t FROM z"),
        vec![vec![
            text("0000-00-00"),
            text("0000-00-00 00:00:00"),
            text("00:00:00")
        ]]
    );
}

#[test]
fn expressions_and_bound_parameters_round_trip() {
    let Some(db) = TestDb::new("params") else {
        return;
    };
    db.setup(&["CREATE TABLE p (vb VARBINARY(8))"]);
    let mut conn = db.connect(AccessMode::Write);
    conn.begin().expect("begin");
    common::run(
        conn.as_mut(),
        "INSERT INTO p VALUES (?)",
        &[bytes(&[0, 0xff, 7])],
    )
    .expect("insert bytes");
    conn.commit().expect("commit");
    assert_eq!(
        db.read("SELECT vb FROM p"),
        vec![vec![bytes(&[0, 0xff, 7])]]
    );

    let mut conn = db.connect(AccessMode::Read);
    let (columns, rows) = query(
        conn.as_mut(),
        "SELECT ?, ?, ?, ?, ?, NULL, 1.50, 2e0, CAST('2024-05-06 07:08:09' AS DATETIME)",
        &[
            Value::Int(-7),
            Value::UInt(u64::MAX),
            Value::Float(2.5),
            text("ünï"),
            Value::Bool(true),
        ],
    )
    .expect("select params");
    assert_eq!(
        rows,
        vec![vec![
            Value::Int(-7),
            Value::UInt(u64::MAX),
            Value::Float(2.5),
            text("ünï"),
            Value::Int(1),
            Value::Null,
            Value::Decimal("1.50".into()),
            Value::Float(2.0),
            text("2024-05-06T07:08:09"),
        ]]
    );
    assert_eq!(columns[5].type_name.as_str(), "NULL");
    assert_eq!(columns[6].type_name.as_str(), "DECIMAL");
    assert_eq!(columns[8].type_name.as_str(), "DATETIME");
}
