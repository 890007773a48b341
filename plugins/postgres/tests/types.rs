//! Every supported type, decoded from the live server's binary format, with a value and NULL.

mod common;

use common::{expect_error, run, sqlstate, text};
use plenum_plugin_api::{AccessMode, ErrorKind, Value};

/// `expression`, the type name the column reports, and the value it must decode to.
struct Case {
    expression: &'static str,
    type_name: &'static str,
    expected: Value,
}

fn case(expression: &'static str, type_name: &'static str, expected: Value) -> Case {
    Case {
        expression,
        type_name,
        expected,
    }
}

fn decimal(text: &str) -> Value {
    Value::Decimal(text.into())
}

fn json(text: &str) -> Value {
    Value::Json(text.into())
}

fn same(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Float(a), Value::Float(b)) if a.is_nan() && b.is_nan() => true,
        _ => actual == expected,
    }
}

fn cases() -> Vec<Case> {
    vec![
        case("(-32768)::int2", "int2", Value::Int(-32768)),
        case("2147483647::int4", "int4", Value::Int(2_147_483_647)),
        case("(-9223372036854775808)::int8", "int8", Value::Int(i64::MIN)),
        case("4294967295::oid", "oid", Value::Int(4_294_967_295)),
        case("1.1::float4", "float4", Value::Float(1.1)),
        case("(-2.5e-300)::float8", "float8", Value::Float(-2.5e-300)),
        case("'NaN'::float8", "float8", Value::Float(f64::NAN)),
        case(
            "'-Infinity'::float4",
            "float4",
            Value::Float(f64::NEG_INFINITY),
        ),
        case(
            "'-12345.678900'::numeric",
            "numeric",
            decimal("-12345.678900"),
        ),
        case(
            "'0.000000000000000000001'::numeric",
            "numeric",
            decimal("0.000000000000000000001"),
        ),
        case(
            "'123456789012345678901234567890.12'::numeric(40,2)",
            "numeric",
            decimal("123456789012345678901234567890.12"),
        ),
        case("10000::numeric", "numeric", decimal("10000")),
        case("'NaN'::numeric", "numeric", decimal("NaN")),
        case("'-Infinity'::numeric", "numeric", decimal("-Infinity")),
        case("'-1234.56'::money", "money", decimal("-1234.56")),
        case("true", "bool", Value::Bool(true)),
        case("'héllo ✓'::text", "text", text("héllo ✓")),
        case("'ab'::varchar(5)", "varchar", text("ab")),
        case("'ab'::char(4)", "bpchar", text("ab  ")),
        case("'a name'::name", "name", text("a name")),
        case("'q'::\"char\"", "char", text("q")),
        case("'MiXed'::citext", "citext", text("MiXed")),
        case("'<a>x</a>'::xml", "xml", text("<a>x</a>")),
        case(
            "'\\x00ff10'::bytea",
            "bytea",
            Value::Bytes(vec![0, 0xff, 0x10].into()),
        ),
        case("'2024-02-29'::date", "date", text("2024-02-29")),
        case("'0044-03-15 BC'::date", "date", text("-0043-03-15")),
        case("'infinity'::date", "date", text("infinity")),
        case("'13:45:00.5'::time", "time", text("13:45:00.5")),
        case("'13:45:00+05:30'::timetz", "timetz", text("13:45:00+05:30")),
        case(
            "'2024-02-29 13:45:00.123456'::timestamp",
            "timestamp",
            text("2024-02-29T13:45:00.123456"),
        ),
        case(
            "'2024-02-29 13:45:00+02'::timestamptz",
            "timestamptz",
            text("2024-02-29T11:45:00+00:00"),
        ),
        case("'-infinity'::timestamptz", "timestamptz", text("-infinity")),
        case(
            "'1 year 2 mons 3 days 04:05:06.5'::interval",
            "interval",
            text("P1Y2M3DT4H5M6.5S"),
        ),
        case("'-1 day +02:00'::interval", "interval", text("P-1DT2H")),
        case(
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid",
            "uuid",
            text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        ),
        case("'{\"a\": [1, 2]}'::json", "json", json("{\"a\": [1, 2]}")),
        case(
            "'{\"b\":1,\"a\":[1,2]}'::jsonb",
            "jsonb",
            json("{\"a\": [1, 2], \"b\": 1}"),
        ),
        case("'192.168.0.1/24'::inet", "inet", text("192.168.0.1/24")),
        case("'10.0.0.1'::inet", "inet", text("10.0.0.1")),
        case("'2001:db8::1/64'::inet", "inet", text("2001:db8::1/64")),
        case("'10.0.0.0/8'::cidr", "cidr", text("10.0.0.0/8")),
        case(
            "'08:00:2b:01:02:03'::macaddr",
            "macaddr",
            text("08:00:2b:01:02:03"),
        ),
        case(
            "'08:00:2b:01:02:03:04:05'::macaddr8",
            "macaddr8",
            text("08:00:2b:01:02:03:04:05"),
        ),
        case("B'0101'", "bit", text("0101")),
        case("B'101100110'::varbit", "varbit", text("101100110")),
        case("'happy'::mood", "mood", text("happy")),
        // The server describes a domain column by its base type.
        case("7::positive", "int4", Value::Int(7)),
        case(
            "'{{1,NULL},{3,4}}'::int4[]",
            "int4[]",
            json("[[1,null],[3,4]]"),
        ),
        case(
            "ARRAY['a', 'b \"c\"', NULL]::text[]",
            "text[]",
            json("[\"a\",\"b \\\"c\\\"\",null]"),
        ),
        case(
            "ARRAY[1.50, 'NaN']::numeric[]",
            "numeric[]",
            json("[\"1.50\",\"NaN\"]"),
        ),
        case(
            "ARRAY[9007199254740993, -1]::int8[]",
            "int8[]",
            json("[\"9007199254740993\",-1]"),
        ),
        case(
            "ARRAY['NaN', 1.5]::float8[]",
            "float8[]",
            json("[null,1.5]"),
        ),
        case(
            "ARRAY['\\x6869'::bytea, NULL]",
            "bytea[]",
            json("[\"aGk=\",null]"),
        ),
        case(
            "ARRAY['2024-01-01 00:00:00+00'::timestamptz]",
            "timestamptz[]",
            json("[\"2024-01-01T00:00:00+00:00\"]"),
        ),
        case(
            "ARRAY['{\"k\": 1}'::jsonb, 'null'::jsonb]",
            "jsonb[]",
            json("[{\"k\":1},null]"),
        ),
        case(
            "ARRAY[true, false, NULL]",
            "bool[]",
            json("[true,false,null]"),
        ),
        case(
            "ARRAY['happy', 'sad']::mood[]",
            "mood[]",
            json("[\"happy\",\"sad\"]"),
        ),
        case("'{}'::int4[]", "int4[]", json("[]")),
        // No binary decoder: read through a text cast on the server.
        case("'a fat cat'::tsvector", "tsvector", text("'a' 'cat' 'fat'")),
        case("'[1,10)'::int4range", "int4range", text("[1,10)")),
        case("'(1,2)'::point", "point", text("(1,2)")),
        case(
            "'postgres=r/postgres'::aclitem",
            "aclitem",
            text("postgres=r/postgres"),
        ),
        case(
            "ARRAY['[1,2)'::int4range]",
            "int4range[]",
            text("{\"[1,2)\"}"),
        ),
        case("'pg_class'::regclass", "regclass", text("pg_class")),
    ]
}

#[test]
fn every_type_decodes_to_its_exact_value_and_null() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("types");
    db.setup(
        "CREATE EXTENSION IF NOT EXISTS citext;
         CREATE TYPE mood AS ENUM ('happy', 'sad');
         CREATE DOMAIN positive AS int4 CHECK (VALUE > 0);",
    );
    let cases = cases();
    let mut select = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        select.push(format!("{} AS v{index}", case.expression));
        // "char" needs its quotes; every other reported name is also a valid cast target.
        let null_type = match case.type_name {
            "char" => "\"char\"".to_owned(),
            name => name.to_owned(),
        };
        select.push(format!("NULL::{null_type} AS n{index}"));
    }
    let sql = format!("SELECT {}", select.join(", "));

    let mut session = db.session(AccessMode::Read);
    session.begin().unwrap();
    let outcome = run(session.as_mut(), &sql, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome.rows.len(), 1);
    let row = &outcome.rows[0];
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let value = &row[2 * index];
        let null = &row[2 * index + 1];
        let column = &outcome.columns[2 * index];
        let null_column = &outcome.columns[2 * index + 1];
        if !same(value, &case.expected) {
            failures.push(format!(
                "{}: got {value:?}, want {:?}",
                case.expression, case.expected
            ));
        }
        if *null != Value::Null {
            failures.push(format!("NULL::{}: got {null:?}", case.type_name));
        }
        if column.type_name.as_str() != case.type_name
            || null_column.type_name.as_str() != case.type_name
        {
            failures.push(format!(
                "{}: type {} / {}, want {}",
                case.expression, column.type_name, null_column.type_name, case.type_name
            ));
        }
        if column.name.as_str() != format!("v{index}") {
            failures.push(format!("{}: column named {}", case.expression, column.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn void_and_unknown_binary_columns_in_writes_run_once() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("fallback_write");
    db.setup("CREATE TABLE spans (id serial PRIMARY KEY, span int4range);");
    let mut session = db.session(AccessMode::Write);
    session.begin().unwrap();
    let void = run(session.as_mut(), "SELECT pg_sleep(0)", &[]).unwrap();
    assert_eq!(void.rows, vec![vec![Value::Null]]);
    assert_eq!(void.columns[0].type_name.as_str(), "void");

    // An INSERT … RETURNING a range goes through the text fallback; it must insert once.
    let inserted = run(
        session.as_mut(),
        "INSERT INTO spans (span) VALUES ($1) RETURNING id, span;",
        &[text("[1,5)")],
    )
    .unwrap();
    assert_eq!(inserted.rows, vec![vec![Value::Int(1), text("[1,5)")]]);
    assert_eq!(inserted.columns[1].type_name.as_str(), "int4range");
    session.commit().unwrap();
    assert_eq!(db.scalar("SELECT count(*) FROM spans"), 1);
}

#[test]
fn a_statement_that_cannot_be_wrapped_fails_cleanly_and_the_transaction_goes_on() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("fallback_call");
    db.setup(
        "CREATE PROCEDURE span_out(OUT r int4range) LANGUAGE plpgsql
         AS $$ BEGIN r := '[1,2)'; END $$;",
    );
    let mut session = db.session(AccessMode::Write);
    session.begin().unwrap();
    let error = expect_error(
        run(session.as_mut(), "CALL span_out(NULL)", &[]),
        "CALL with an OUT range",
    );
    assert_eq!(error.kind, ErrorKind::Unsupported, "{error}");
    assert!(error.message.contains("\"r\" (int4range)"), "{error}");
    assert!(error.message.contains("::text"), "{error}");
    // The failed wrapping was rolled back to its savepoint: the transaction is still usable.
    let after = run(session.as_mut(), "SELECT 1", &[]).unwrap();
    assert_eq!(after.rows, vec![vec![Value::Int(1)]]);
    let cast = run(
        session.as_mut(),
        "SELECT '[1,2)'::int4range::text AS r",
        &[],
    )
    .unwrap();
    assert_eq!(cast.rows, vec![vec![text("[1,2)")]]);
    session.rollback().unwrap();
}

#[test]
fn query_errors_carry_the_sqlstate_and_position() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("errors");
    let mut session = db.session(AccessMode::Read);
    session.begin().unwrap();
    let error = expect_error(
        run(session.as_mut(), "SELECT nope FROM pg_class", &[]),
        "unknown column",
    );
    assert_eq!(error.kind, ErrorKind::Query);
    assert_eq!(sqlstate(&error), "42703");
    assert!(
        error.message.contains("column \"nope\" does not exist"),
        "{error}"
    );
    assert!(error.message.contains("at character 8"), "{error}");
    session.rollback().unwrap();

    session.begin().unwrap();
    let error = expect_error(
        run(
            session.as_mut(),
            "SELECT 1 / (g - 3) FROM generate_series(1, 5) g",
            &[],
        ),
        "division by zero mid-stream",
    );
    assert_eq!(sqlstate(&error), "22012");
    session.rollback().unwrap();
}
