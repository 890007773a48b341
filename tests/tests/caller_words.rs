//! Every refusal and input error the CLI gives is worded in the CLI's own words: it names
//! flags (`--allow-write`), never the MCP server's arguments (`allow_write`, `params`) or
//! tools, and no unworded reference from the core leaks into the text. The MCP side of the
//! same rule is `mcp_edges::no_refusal_or_input_error_names_a_cli_flag`.

use plenum_e2e::{Plenum, Run, SqliteFixture};

const SETUP: &str = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
                     INSERT INTO items (name) VALUES ('apple'), ('pear');";

/// Words only an MCP caller can act on.
const MCP_WORDS: &[&str] = &[
    "allow_write",
    "allow_ddl",
    "check_only",
    "max_rows",
    "timeout_ms",
    "connect_timeout_ms",
    "list_tables",
    "list_engines",
    "list_connections",
    "`params`",
    "introspect tool",
    "query tool",
];

/// The private-use characters the core marks references with.
fn has_reference_marker(text: &str) -> bool {
    text.chars().any(|c| ('\u{E000}'..='\u{E002}').contains(&c))
}

fn check(run: &Run, flags: &[&str]) {
    assert!(!run.ok(), "{:?}", run.json);
    let message = run.error_message();
    assert!(
        !has_reference_marker(message),
        "unworded reference: {message:?}"
    );
    for word in MCP_WORDS {
        assert!(!message.contains(word), "names MCP's {word}: {message}");
    }
    for flag in flags {
        assert!(message.contains(flag), "{flag} missing: {message}");
    }
}

#[test]
fn refusals_and_input_errors_name_cli_flags_only() {
    let fixture = SqliteFixture::new(SETUP);
    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        ("DELETE FROM items", vec![], vec!["--allow-write"]),
        (
            "DROP TABLE items",
            vec!["--allow-write"],
            vec!["--allow-ddl"],
        ),
        (
            "WITH d AS (DELETE FROM items RETURNING id) SELECT * FROM d",
            vec![],
            vec!["--allow-write"],
        ),
        ("SELECT 1; SELECT 2", vec!["--explain"], vec!["--explain"]),
        (
            "SELECT 1",
            vec!["--explain", "--offset", "1"],
            vec!["--offset", "--explain"],
        ),
        (
            "UPDATE items SET name = 'x'",
            vec!["--allow-write", "--offset", "2"],
            vec!["--offset"],
        ),
        (
            "SELECT 1; SELECT 2",
            vec!["--offset", "2"],
            vec!["--offset"],
        ),
        ("SELECT ?, ?", vec!["--param", "1"], vec!["--param"]),
        ("SELECT ?", vec!["--param", "nope"], vec!["--param"]),
        (
            "SELECT 1",
            vec!["--connect-timeout-ms", "0"],
            vec!["--connect-timeout-ms"],
        ),
        ("SELEC 1", vec![], vec![]),
        ("ATTACH 'x.db' AS x", vec![], vec![]),
        ("PRAGMA journal_mode = WAL", vec![], vec![]),
    ];
    for (sql, extra, flags) in &cases {
        check(&fixture.query(sql, extra), flags);
    }
    // A check's verdict speaks the same words as the refusal it predicts.
    let checked = fixture.query("DELETE FROM items", &["--check-only"]);
    assert_eq!(
        checked.json["data"]["statements"][0]["needs"],
        "--allow-write"
    );
    assert!(!has_reference_marker(&checked.json.to_string()));
    // Whole-call errors: no engine, no table, a ceiling.
    check(
        &Plenum::new(["query", "--sql", "SELECT 1"]).run(),
        &["--engine", "--dsn", "--connection"],
    );
    let introspect = Plenum::new(["introspect", "--engine", "sqlite", "--file"])
        .args([fixture.file.as_os_str()])
        .args(["--table", "no_such_table"])
        .run();
    check(&introspect, &["plenum introspect --list-tables"]);
    let capped = Plenum::new(["query", "--engine", "sqlite", "--file"])
        .args([fixture.file.as_os_str()])
        .args(["--sql", "DELETE FROM items", "--allow-write"])
        .env("PLENUM_MAX_CAPABILITY", "read")
        .run();
    check(&capped, &["--allow-write"]);
    check(
        &Plenum::new(["query", "--engine", "sqlite"]).run(),
        &["--sql", "--sql-file"],
    );
}
