//! Every built-in function of the connected server, found systematically for the gate's
//! classification: the names in `information_schema.SQL_FUNCTIONS`, plus every keyword and
//! every help topic that the server's parser accepts as a function call.
//!
//! The catalog lists only part of the functions (none of the `ST_*` ones, nor those with
//! keyword names such as `IF` or `CHAR`), and the help tables describe several versions at
//! once, so each candidate from the last two sources is proven by preparing (never running)
//! a call in an empty database: the server either accepts the call or complains about the
//! arguments of a native function; a name that is not a native function fails as a syntax
//! error or as an unknown stored function.
//!
//! `PLENUM_WRITE_BUILTINS=1` writes the sorted, lower-case list to `gate/builtins/mysql.txt` (the gate's list)
//! beside this crate's manifest; without it, the test fails on any name missing from that
//! file (when it exists), so a new server version cannot slip a function past the list.

mod common;

use std::collections::BTreeSet;

use common::TestDb;
use mysql::prelude::Queryable;
use mysql::{Conn, Error, OptsBuilder};

/// Argument shapes tried after a candidate name (after `SELECT 1,`, so a select option
/// such as `DISTINCT (1)` or `SQL_CACHE (1)` does not pass for a call).
const PROBES: &[&str] = &[
    "()",
    "(1)",
    "(1, 1)",
    "(1, 1, 1)",
    "(1, 1, 1, 1)",
    "(1, 1, 1, 1, 1)",
    "(x)",
    "(x) AGAINST (1)",
    "(x, 1)",
    "(DAY, 1, 1)",
    "(DATE, 1)",
    "(1, 1 AS CHAR)",
    "(*)",
    "() OVER ()",
    "(1) OVER ()",
    "(1, 1) OVER ()",
    "(1) WITHIN GROUP (ORDER BY 1) OVER ()",
    "(1 AS CHAR)",
    "(1 USING utf8mb4)",
    "(DAY FROM 1)",
    "(1 IN 1)",
    "(1 FROM 1)",
    "(BOTH 1 FROM 1)",
];

/// Errors that say the name is not a native function here.
const NOT_A_FUNCTION: &[u16] = &[
    1064, // syntax error
    1305, // FUNCTION db.name does not exist
    1630, // … does not exist (with the name-resolution hint)
];

fn is_function(conn: &mut Conn, name: &str) -> bool {
    PROBES.iter().any(|args| {
        // The candidate comes from the server's own catalog and is an identifier.
        match conn.prep(format!("SELECT 1, {name}{args}")) {
            Ok(statement) => {
                let _ = conn.close(statement);
                true
            }
            Err(Error::MySqlError(error)) => !NOT_A_FUNCTION.contains(&error.code),
            Err(_) => false,
        }
    })
}

fn identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn column(conn: &mut Conn, sql: &str) -> Vec<String> {
    conn.query::<String, _>(sql)
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

#[test]
fn every_builtin_function_is_listed() {
    let Some(db) = TestDb::new("builtins") else {
        return;
    };
    let address = &db.address;
    let opts = OptsBuilder::new()
        .ip_or_hostname(Some(address.host.as_str()))
        .tcp_port(address.port)
        .user(address.user.as_deref())
        .pass(address.password.as_deref())
        .db_name(Some(db.name.as_str()))
        .prefer_socket(false);
    let mut conn = Conn::new(opts).expect("connect");

    assert!(
        !is_function(&mut conn, "plenum_no_such_function"),
        "the probe takes any name for a function"
    );
    let mut names: BTreeSet<String> = column(
        &mut conn,
        "SELECT FUNCTION FROM information_schema.SQL_FUNCTIONS",
    )
    .into_iter()
    .map(|name| name.to_ascii_lowercase())
    .collect();
    let mut candidates: BTreeSet<String> =
        column(&mut conn, "SELECT WORD FROM information_schema.KEYWORDS")
            .into_iter()
            .collect();
    // Help topic names are Markdown: `AES\_DECRYPT`.
    candidates.extend(
        column(&mut conn, "SELECT name FROM mysql.help_topic")
            .into_iter()
            .map(|name| name.replace('\\', "")),
    );
    for candidate in candidates {
        let lower = candidate.to_ascii_lowercase();
        if identifier(&candidate) && !names.contains(&lower) && is_function(&mut conn, &lower) {
            names.insert(lower);
        }
    }
    for known in [
        "sleep",
        "load_file",
        "concat",
        "if",
        "st_astext",
        "nextval",
        "count",
    ] {
        assert!(names.contains(known), "{known} was not found");
    }

    let list: String = "# MariaDB 10.11 built-in function names, one per line (lower case). Checked against the live\n# server by plugins/mysql/tests/builtins.rs (PLENUM_WRITE_BUILTINS=1 rewrites it).\n".to_owned() + &names.iter().map(|name| format!("{name}\n")).collect::<String>();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gate/builtins/mysql.txt");
    if std::env::var("PLENUM_WRITE_BUILTINS").as_deref() == Ok("1") {
        std::fs::write(&path, list).expect("write the list");
        return;
    }
    {
        let listed = std::fs::read_to_string(&path).expect("the gate's built-in list");
        let listed: BTreeSet<&str> = listed.lines().collect();
        let missing: Vec<&String> = names
            .iter()
            .filter(|name| !listed.contains(name.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "built-in functions of this server missing from {}: {missing:?}",
            path.display()
        );
    }
}
