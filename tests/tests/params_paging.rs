//! Bound parameters, paging with `--offset` / `meta.next_offset`, and `--check-only`, on every
//! engine: SQLite always, PostgreSQL and MySQL/MariaDB when their servers answer (under
//! `CI=true` they must).

mod live_support;

use live_support::{Kind, Server, TestDb, Via};
use plenum_e2e::{Plenum, Run, SqliteFixture};
use serde_json::{json, Value as Json};

/// One engine under test: how to run `plenum query` on its fixture database and how to ask the
/// database directly (bypassing plenum) for a single value.
struct Engine<'a> {
    name: &'static str,
    run: &'a dyn Fn(&str, &[&str]) -> Run,
    scalar: &'a dyn Fn(&str) -> String,
    /// The engine's `n`-th placeholder (1-based).
    placeholder: fn(usize) -> String,
    /// How a stored `true` comes back.
    stored_true: Json,
}

/// The fixture every engine starts from.
const SQLITE_SETUP: &str =
    "CREATE TABLE p (id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BOOLEAN, n TEXT);
     CREATE TABLE g (id INTEGER PRIMARY KEY, label TEXT);
     WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000)
     INSERT INTO g SELECT x, 'row ' || x FROM c;";

const POSTGRES_SETUP: &[&str] = &[
    "CREATE TABLE p (id int PRIMARY KEY, i bigint, r double precision, t text, b boolean, n text)",
    "CREATE TABLE g (id int PRIMARY KEY, label text)",
    "INSERT INTO g SELECT x, 'row ' || x FROM generate_series(1, 10000) AS x",
];

const MYSQL_SETUP: &[&str] = &[
    "CREATE TABLE p (id int PRIMARY KEY, i bigint, r double, t text, b boolean, n text)",
    "CREATE TABLE g (id int PRIMARY KEY, label text)",
    "SET SESSION max_recursive_iterations = 100000",
    "INSERT INTO g WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000) \
     SELECT x, concat('row ', x) FROM c",
];

fn question_mark(_: usize) -> String {
    "?".to_owned()
}

fn dollar(n: usize) -> String {
    format!("${n}")
}

/// `SELECT … WHERE …` placeholders for `count` parameters, numbered from 1.
fn placeholders(engine: &Engine<'_>, count: usize) -> String {
    (1..=count)
        .map(engine.placeholder)
        .collect::<Vec<_>>()
        .join(", ")
}

fn with_params<'a>(params: &[&'a str]) -> Vec<&'a str> {
    params.iter().flat_map(|param| ["--param", param]).collect()
}

/// Every JSON scalar type binds, NULL included, and reads back as it went in.
fn every_json_type_binds(engine: &Engine<'_>) {
    let sql = format!("INSERT INTO p VALUES ({})", placeholders(engine, 6));
    let mut flags = with_params(&["1", "-42", "1.5", "\"x y\"", "true", "null"]);
    flags.push("--allow-write");
    let run = (engine.run)(&sql, &flags);
    run.assert_ok();
    assert_eq!(run.json["data"]["rows_affected"], 1, "{}", engine.name);

    let sql = format!(
        "SELECT id, i, r, t, b, n FROM p WHERE id = {} AND n IS NULL",
        (engine.placeholder)(1)
    );
    let run = (engine.run)(&sql, &with_params(&["1"]));
    run.assert_ok();
    assert_eq!(
        run.rows(),
        vec![json!([1, -42, 1.5, "x y", engine.stored_true, null])],
        "{}",
        engine.name
    );
    // A NULL parameter compares like NULL: `= NULL` matches nothing.
    let sql = format!("SELECT id FROM p WHERE n = {}", (engine.placeholder)(1));
    let run = (engine.run)(&sql, &with_params(&["null"]));
    run.assert_ok();
    assert!(run.rows().is_empty(), "{}: {}", engine.name, run.stdout);
}

/// A parameter that looks like SQL is stored as text and does nothing.
fn sql_looking_parameter_is_only_text(engine: &Engine<'_>) {
    let hostile = "'; DROP TABLE p; --";
    let quoted = serde_json::to_string(hostile).expect("json");
    let sql = format!(
        "INSERT INTO p (id, t) VALUES ({}, {})",
        (engine.placeholder)(1),
        (engine.placeholder)(2)
    );
    let mut flags = with_params(&["2", &quoted]);
    flags.push("--allow-write");
    (engine.run)(&sql, &flags).assert_ok();
    assert_eq!(
        (engine.scalar)("SELECT t FROM p WHERE id = 2"),
        hostile,
        "{}",
        engine.name
    );
    assert_eq!((engine.scalar)("SELECT count(*) FROM g"), "10000");
    // And it matches as a value, not as SQL.
    let sql = format!("SELECT id FROM p WHERE t = {}", (engine.placeholder)(1));
    let run = (engine.run)(&sql, &with_params(&[&quoted]));
    run.assert_ok();
    assert_eq!(run.rows(), vec![json!([2])], "{}", engine.name);
}

/// Too few or too many parameters fail before anything runs: a DELETE with a missing value
/// deletes nothing.
fn wrong_counts_are_invalid_input(engine: &Engine<'_>) {
    let one = (engine.placeholder)(1);
    let select = format!("SELECT label FROM g WHERE id = {one}");
    let run = (engine.run)(&select, &[]);
    run.assert_error("INVALID_INPUT");
    assert!(
        run.error_message().contains("1 placeholder"),
        "{}",
        run.stdout
    );
    (engine.run)(&select, &with_params(&["1", "2"])).assert_error("INVALID_INPUT");
    (engine.run)("SELECT count(*) FROM g", &with_params(&["1"])).assert_error("INVALID_INPUT");

    let delete = format!("DELETE FROM g WHERE id > {one}");
    (engine.run)(&delete, &["--allow-write"]).assert_error("INVALID_INPUT");
    (engine.run)(&delete, &["--allow-write", "--param", "1", "--param", "2"])
        .assert_error("INVALID_INPUT");
    assert_eq!((engine.scalar)("SELECT count(*) FROM g"), "10000");

    // A `?` or `$1` inside a string is text, not a placeholder.
    let run = (engine.run)("SELECT '? $1'", &[]);
    run.assert_ok();
    assert_eq!(run.rows(), vec![json!(["? $1"])]);
}

/// Pages of 1,000 through a 10,000-row result return every row exactly once, each page
/// pointing at the next until the last.
fn paging_returns_every_row_once(engine: &Engine<'_>) {
    let sql = "SELECT id, label FROM g ORDER BY id";
    let mut seen = Vec::new();
    let mut offset = 0u64;
    let mut pages = 0;
    loop {
        let offset_text = offset.to_string();
        let run = (engine.run)(sql, &["--max-rows", "1000", "--offset", &offset_text]);
        run.assert_ok();
        pages += 1;
        let rows = run.rows();
        assert_eq!(rows.len(), 1000, "{} page {pages}", engine.name);
        for row in &rows {
            let id = row[0].as_u64().expect("id");
            assert_eq!(row[1], format!("row {id}"));
            seen.push(id);
        }
        let meta = &run.json["meta"];
        if offset > 0 {
            assert_eq!(meta["offset"], offset);
        } else {
            assert!(meta.get("offset").is_none(), "{meta}");
        }
        match meta.get("next_offset") {
            Some(next) => {
                assert_eq!(meta["truncated"], true);
                let next = next.as_u64().expect("next_offset");
                assert_eq!(next, offset + 1000);
                offset = next;
            }
            None => {
                assert_eq!(meta["truncated"], false, "{meta}");
                break;
            }
        }
        assert!(pages <= 10, "{}: paging did not end", engine.name);
    }
    assert_eq!(pages, 10);
    assert_eq!(seen, (1..=10_000).collect::<Vec<u64>>(), "{}", engine.name);

    // A page beyond the end is empty, and a page cut by bytes still points onward.
    let run = (engine.run)(sql, &["--offset", "20000"]);
    run.assert_ok();
    assert!(run.rows().is_empty());
    let run = (engine.run)(sql, &["--max-bytes", "200", "--offset", "5"]);
    run.assert_ok();
    let returned = run.rows().len() as u64;
    assert!(returned > 0 && returned < 20, "{}", run.stdout);
    assert_eq!(run.rows()[0][0], 6);
    assert_eq!(run.json["meta"]["truncated_by"], "max_bytes");
    assert_eq!(run.json["meta"]["next_offset"], 5 + returned);
}

/// Paging only re-runs reads: a write or several statements are refused with nothing done.
fn offset_is_refused_for_writes_and_scripts(engine: &Engine<'_>) {
    let run = (engine.run)(
        "DELETE FROM g WHERE id <= 10",
        &["--allow-write", "--offset", "5"],
    );
    run.assert_error("INVALID_INPUT");
    assert!(run.error_message().contains("repeat"), "{}", run.stdout);
    (engine.run)("SELECT 1; SELECT 2", &["--offset", "1"]).assert_error("INVALID_INPUT");
    assert_eq!((engine.scalar)("SELECT count(*) FROM g"), "10000");
}

/// `--check-only` reports without running: the DELETE it is shown stays undone.
fn check_only_reports_without_running(engine: &Engine<'_>) {
    let run = (engine.run)(
        "SELECT count(*) FROM g; DELETE FROM g WHERE id = 1",
        &["--check-only"],
    );
    run.assert_ok();
    let data = &run.json["data"];
    assert_eq!(data["allowed"], false);
    assert_eq!(data["granted"], "read");
    assert_eq!(data["needed"], "write");
    assert_eq!(data["statements"][0]["kind"], "SELECT");
    assert_eq!(data["statements"][0]["allowed"], true);
    assert_eq!(data["statements"][1]["kind"], "DELETE");
    assert_eq!(data["statements"][1]["tier"], "write");
    assert_eq!(data["statements"][1]["needs"], "--allow-write");
    assert!(data["problems"][0]
        .as_str()
        .is_some_and(|problem| problem.contains("--allow-write")));

    let run = (engine.run)(
        "DELETE FROM g WHERE id = 1",
        &["--check-only", "--allow-write"],
    );
    run.assert_ok();
    assert_eq!(run.json["data"]["allowed"], true);
    assert_eq!(run.json["meta"]["access"], "write");
    assert_eq!((engine.scalar)("SELECT count(*) FROM g"), "10000");

    let sql = format!("SELECT * FROM g WHERE id = {}", (engine.placeholder)(1));
    let run = (engine.run)(&sql, &["--check-only"]);
    run.assert_ok();
    assert_eq!(run.json["data"]["statements"][0]["parameters"], 1);
    assert_eq!(run.json["data"]["allowed"], false);
    let run = (engine.run)(&sql, &["--check-only", "--param", "3"]);
    assert_eq!(run.json["data"]["allowed"], true, "{}", run.stdout);
}

/// `--check-only` says what inside a statement raised its tier (`cause`), in the words a run's
/// refusal uses; a statement whose kind explains its tier, or a read, has no cause.
fn check_only_names_the_cause(engine: &Engine<'_>) {
    let sql = "WITH d AS (DELETE FROM g WHERE id = 1 RETURNING *) SELECT * FROM d; \
               SELECT nextval('g_seq'); SELECT * FROM g WHERE id = 2 FOR UPDATE; \
               DELETE FROM g WHERE id = 3; SELECT count(*) FROM g";
    let run = (engine.run)(sql, &["--check-only"]);
    run.assert_ok();
    let data = &run.json["data"];
    let verdicts: Vec<(Json, Json, Json, Json)> = data["statements"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| {
            (
                s["kind"].clone(),
                s["tier"].clone(),
                s.get("cause").cloned().unwrap_or(Json::Null),
                s.get("needs").cloned().unwrap_or(Json::Null),
            )
        })
        .collect();
    let write = |kind: &str, cause: Option<&str>| {
        (
            json!(kind),
            json!("write"),
            json!(cause),
            json!("--allow-write"),
        )
    };
    assert_eq!(
        verdicts,
        [
            write("WITH … SELECT", Some("contains a DELETE (in CTE `d`)")),
            write("SELECT", Some("calls nextval()")),
            write(
                "SELECT",
                Some("takes row locks with FOR UPDATE or FOR SHARE")
            ),
            write("DELETE", None),
            (json!("SELECT"), json!("read"), Json::Null, Json::Null),
        ],
        "[{}] {}",
        engine.name,
        run.stdout
    );
    // Absent, not null, like `needs`.
    for index in [3, 4] {
        let statement = data["statements"][index].as_object().expect("statement");
        assert!(!statement.contains_key("cause"), "{}", run.stdout);
    }
    let problem =
        "statement 1 (WITH … SELECT) contains a DELETE (in CTE `d`), which needs --allow-write";
    assert_eq!(data["problems"], json!([problem]), "{}", run.stdout);
    // A run is refused with the same words, and deletes nothing.
    let refused = (engine.run)(sql, &[]);
    refused.assert_error("CAPABILITY_VIOLATION");
    assert_eq!(refused.error_message(), problem);
    assert_eq!((engine.scalar)("SELECT count(*) FROM g"), "10000");

    // With the grant the cause is still reported; nothing is missing.
    let run = (engine.run)(sql, &["--check-only", "--allow-write"]);
    run.assert_ok();
    let data = &run.json["data"];
    assert_eq!(data["allowed"], true, "{}", run.stdout);
    assert_eq!(data["problems"], json!([]));
    assert_eq!(data["statements"][1]["cause"], "calls nextval()");
    assert!(
        data["statements"][1].get("needs").is_none(),
        "{}",
        run.stdout
    );
}

fn all_scenarios(engine: &Engine<'_>) {
    every_json_type_binds(engine);
    sql_looking_parameter_is_only_text(engine);
    wrong_counts_are_invalid_input(engine);
    paging_returns_every_row_once(engine);
    offset_is_refused_for_writes_and_scripts(engine);
    check_only_reports_without_running(engine);
    check_only_names_the_cause(engine);
}

#[test]
fn sqlite_parameters_paging_and_checks() {
    let fixture = SqliteFixture::new(SQLITE_SETUP);
    let run = |sql: &str, extra: &[&str]| fixture.query(sql, extra);
    let scalar = |sql: &str| {
        let value = fixture.direct(sql).into_iter().next().unwrap_or_default();
        // `direct` renders rusqlite values as `Integer(3)` / `Text("x")`.
        let inner = value
            .split_once('(')
            .map_or(value.as_str(), |(_, rest)| rest.trim_end_matches(')'));
        serde_json::from_str::<String>(inner).unwrap_or_else(|_| inner.to_owned())
    };
    all_scenarios(&Engine {
        name: "sqlite",
        run: &run,
        scalar: &scalar,
        placeholder: question_mark,
        stored_true: json!(1),
    });
    // Numbered `?NNN` placeholders bind by number.
    let run = fixture.query("SELECT ?2, ?1", &with_params(&["\"a\"", "\"b\""]));
    run.assert_ok();
    assert_eq!(run.rows(), vec![json!(["b", "a"])]);
}

fn live(kind: Kind) {
    let (server, setup) = match kind {
        Kind::Postgres => (Server::postgres(), POSTGRES_SETUP),
        Kind::Mysql => (Server::mysql(), MYSQL_SETUP),
    };
    let Some(server) = server else {
        return;
    };
    let db = std::cell::RefCell::new(TestDb::create(&server, setup));
    let run = |sql: &str, extra: &[&str]| db.borrow().query(Via::Flags, sql, extra);
    let scalar = |sql: &str| db.borrow_mut().admin().text(sql);
    all_scenarios(&Engine {
        name: server.engine(),
        run: &run,
        scalar: &scalar,
        placeholder: match kind {
            Kind::Postgres => dollar,
            Kind::Mysql => question_mark,
        },
        stored_true: match kind {
            Kind::Postgres => json!(true),
            Kind::Mysql => json!(1),
        },
    });
}

#[test]
fn postgres_parameters_paging_and_checks() {
    live(Kind::Postgres);
}

#[test]
fn mysql_parameters_paging_and_checks() {
    live(Kind::Mysql);
}

/// `--check-only` needs no database: an unreachable server or a missing SQLite file is never
/// touched (the file is not created).
#[test]
fn check_only_never_connects() {
    for (engine, target) in [
        ("postgres", ["--host", "127.0.0.1", "--port", "1"]),
        ("mysql", ["--host", "127.0.0.1", "--port", "1"]),
    ] {
        let run = Plenum::new(["query", "--engine", engine])
            .args(target)
            .args(["--user", "nobody", "--database", "none"])
            .args(["--sql", "UPDATE t SET a = 1", "--check-only"])
            .run();
        run.assert_ok();
        assert_eq!(run.json["data"]["statements"][0]["tier"], "write");
        assert_eq!(run.json["data"]["allowed"], false);
        // Without --check-only the same call does try to connect, and fails.
        let run = Plenum::new(["query", "--engine", engine])
            .args(target)
            .args(["--user", "nobody", "--database", "none"])
            .args(["--sql", "SELECT 1"])
            .run();
        assert!(!run.ok(), "{}", run.stdout);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.db");
    let run = Plenum::new(["query", "--engine", "sqlite", "--file"])
        .args([missing.as_os_str()])
        .args(["--sql", "SELECT 1", "--check-only"])
        .run();
    run.assert_ok();
    assert_eq!(run.json["data"]["allowed"], true);
    assert!(!missing.exists(), "--check-only created the database file");
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}

/// Input no flag can make runnable fails under `--check-only` as a run would.
#[test]
fn check_only_fails_like_a_run_on_refused_input() {
    let fixture = SqliteFixture::new("CREATE TABLE t (a)");
    fixture
        .query("SELECT 1; COMMIT", &["--check-only"])
        .assert_error("CAPABILITY_VIOLATION");
    fixture
        .query("SELEKT 1", &["--check-only"])
        .assert_error("PARSE_ERROR");
    fixture
        .query("SELECT :name", &["--check-only"])
        .assert_error("INVALID_INPUT");
}

/// `--param-file` holds a JSON array; anything else is refused without echoing it.
#[test]
fn param_file_and_bad_param_text() {
    let fixture = SqliteFixture::new("CREATE TABLE t (a, b, c)");
    let params = fixture.dir.path().join("params.json");
    std::fs::write(&params, r#"[7, "seven", null]"#).expect("write params");
    let params_text = params.to_str().expect("utf-8 path");
    let run = fixture.query("SELECT ?, ?, ? IS NULL", &["--param-file", params_text]);
    run.assert_ok();
    assert_eq!(run.rows(), vec![json!([7, "seven", 1])]);

    std::fs::write(&params, r#"{"a": 1}"#).expect("write params");
    fixture
        .query("SELECT ?", &["--param-file", params_text])
        .assert_error("INVALID_INPUT");
    let run = fixture.query("SELECT ?", &["--param", "s3cret-token"]);
    run.assert_error("INVALID_INPUT");
    assert!(!run.stdout.contains("s3cret-token"), "{}", run.stdout);
    fixture
        .query("SELECT ?", &["--param", "[1]"])
        .assert_error("INVALID_INPUT");
    // Integers beyond 64 bits keep every digit.
    let run = fixture.query("SELECT ?", &["--param", "123456789012345678901234567890"]);
    run.assert_ok();
    assert_eq!(run.rows(), vec![json!(["123456789012345678901234567890"])]);
}
