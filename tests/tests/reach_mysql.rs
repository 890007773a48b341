//! The tiers against MariaDB logins with powers: user code, views, catalog writes and
//! disclosure of other sessions' statements, each checked by its outcome, for `root` and for
//! the least-privilege roles of docs/CONNECTIONS.md; the privilege report before and after.

mod live_support;

use live_support::{Server, TestDb, Via};
use plenum_e2e::{unique_name, Plenum, Run};

const FIXTURE: &[&str] = &[
    "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
    "INSERT INTO t VALUES (1, 'one'), (2, 'two')",
    "CREATE FUNCTION peek(p VARCHAR(200)) RETURNS TEXT READS SQL DATA RETURN LOAD_FILE(p)",
    // Runs with the caller's privileges, so any login may use it as its own code.
    "CREATE FUNCTION plus_one(x INT) RETURNS INT DETERMINISTIC SQL SECURITY INVOKER RETURN x + 1",
    "CREATE VIEW hides_file AS SELECT LOAD_FILE('/etc/hostname') AS f",
    "CREATE VIEW hides_code AS SELECT peek('/etc/hostname') AS f",
    "CREATE VIEW casts AS SELECT id, CAST(id AS CHAR) AS label, id MOD 2 AS odd FROM t",
    "CREATE VIEW hides_trx AS SELECT trx_query FROM information_schema.innodb_trx",
];

fn user_flags(db: &TestDb, user: &str, database: &str) -> Vec<String> {
    vec![
        "--engine".into(),
        "mysql".into(),
        "--host".into(),
        db.server.host.clone(),
        "--port".into(),
        db.server.port.to_string(),
        "--user".into(),
        user.to_owned(),
        "--database".into(),
        database.to_owned(),
    ]
}

fn query(args: Vec<String>, sql: &str, extra: &[&str]) -> Run {
    Plenum::new(["query"])
        .args(args)
        .args(["--sql", sql])
        .args(extra)
        .run()
}

#[test]
fn root_reaches_no_user_code_and_no_catalog() {
    let Some(server) = Server::mysql() else {
        return;
    };
    let mut db = TestDb::create(&server, FIXTURE);
    for (sql, flags) in [
        ("SELECT peek('/etc/hostname')", &[][..]),
        ("SELECT plus_one(1)", &[][..]),
        ("SELECT * FROM hides_code", &[][..]),
        ("SELECT * FROM hides_file", &[][..]),
        ("SELECT * FROM hides_trx", &[][..]),
        ("SELECT peek('/etc/hostname')", &["--allow-ddl"][..]),
        ("SELECT 5 INTO@y", &[][..]),
        ("SHOW EXPLAIN FOR 1", &[][..]),
        (
            "SELECT trx_query FROM information_schema.innodb_trx",
            &[][..],
        ),
        (
            "INSERT INTO mysql.global_priv VALUES ('%', 'plenum_evil', '{}')",
            &["--allow-write"][..],
        ),
        (
            "UPDATE mysql.global_priv SET Priv = '{}' WHERE User = 'nobody'",
            &["--allow-ddl"][..],
        ),
    ] {
        let run = db.query(Via::Flags, sql, flags);
        run.assert_error("CAPABILITY_VIOLATION");
        assert!(run.json.get("data").is_none(), "{sql}: {}", run.stdout);
    }
    // An unqualified catalog name after --database mysql resolves to the catalog.
    let run = query(
        {
            let mut flags = db.flags();
            let at = flags
                .iter()
                .position(|flag| flag == "--database")
                .unwrap_or(0);
            flags[at + 1] = "mysql".to_owned();
            flags
        },
        "INSERT INTO global_priv VALUES ('%', 'plenum_evil', '{}')",
        &["--allow-write"],
    );
    run.assert_error("CAPABILITY_VIOLATION");
    assert_eq!(
        db.admin()
            .text("SELECT count(*) FROM mysql.global_priv WHERE User = 'plenum_evil'"),
        "0"
    );
    // A view in a shape the parser does not read (MariaDB's canonical casts) still reads.
    let run = db.query(Via::Flags, "SELECT * FROM casts ORDER BY id", &[]);
    run.assert_ok();
    assert_eq!(run.json["data"]["rows"][0][1], "1");
}

#[test]
fn ordinary_logins_keep_their_functions_and_the_report_shows_the_difference() {
    let Some(server) = Server::mysql() else {
        return;
    };
    let mut db = TestDb::create(&server, FIXTURE);
    let reader = unique_name("plenum_ro");
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/CONNECTIONS.md"
    ))
    .expect("docs/CONNECTIONS.md");
    let start = docs
        .find("-- plenum: mariadb read role")
        .expect("the docs hold the MariaDB read role");
    let block = &docs[start..];
    let block = &block[..block.find("```").expect("the block ends")];
    let name = db.name.clone();
    let sql: String = block
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("plenum_reader", &reader)
        .replace("appdb", &name)
        .replace("IDENTIFIED BY 'change-me'", "");
    for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        db.admin().exec(&[statement]);
    }
    let report = |flags: Vec<String>| {
        let run = Plenum::new(["connect", "--test"]).args(flags).run();
        run.assert_ok();
        run.json["data"]["server"]["login"].clone()
    };
    let root = report(db.flags());
    assert_eq!(root["privileged"], true, "{root}");
    let ordinary = report(user_flags(&db, &reader, &name));
    assert_eq!(ordinary["privileged"], false, "{ordinary}");
    assert_eq!(ordinary["powers"], serde_json::json!([]), "{ordinary}");

    // Its own code (SQL SECURITY INVOKER) runs; code that runs as root is refused.
    for function in ["plus_one", "peek"] {
        db.admin().exec(&[&format!(
            "GRANT EXECUTE ON FUNCTION `{name}`.{function} TO '{reader}'@'%'"
        )]);
    }
    query(
        user_flags(&db, &reader, &name),
        "SELECT peek('/etc/hostname')",
        &[],
    )
    .assert_error("CAPABILITY_VIOLATION");

    let run = query(user_flags(&db, &reader, &name), "SELECT plus_one(41)", &[]);
    run.assert_ok();
    assert_eq!(run.json["data"]["rows"][0][0], 42);
    query(user_flags(&db, &reader, &name), "SELECT * FROM casts", &[]).assert_ok();
    db.server
        .admin(None)
        .exec(&[&format!("DROP USER '{reader}'@'%'")]);
}
