//! Hostile shapes: deep nesting, long chains, huge inputs, garbage. The gate must answer
//! (an error is fine) without panicking or overflowing the stack, in roughly linear time.
//! Test threads have small stacks, so an unbounded recursion would abort the test binary.

use std::time::{Duration, Instant};

use plenum_gate::{check, classify, Dialect, GateError, Tier};

fn is_parse_error(result: &Result<Vec<plenum_gate::Statement>, GateError>) -> bool {
    matches!(result, Err(GateError::Parse { .. }))
}

#[test]
fn ten_thousand_parentheses_are_an_error_not_a_crash() {
    let sql = format!("SELECT {}1{}", "(".repeat(10_000), ")".repeat(10_000));
    for dialect in [
        Dialect::Sqlite,
        Dialect::PostgreSql,
        Dialect::MySql,
        Dialect::Generic,
    ] {
        assert!(is_parse_error(&classify(&sql, dialect)), "{dialect}");
    }
    let sql = format!("SELECT {}1{}", "(SELECT ".repeat(5_000), ")".repeat(5_000));
    assert!(is_parse_error(&classify(&sql, Dialect::PostgreSql)));
    let sql = format!("SELECT {}1", "-".repeat(20_000));
    let _ = classify(&sql, Dialect::PostgreSql);
    let sql = format!("SELECT {}1{}", "ARRAY[".repeat(10_000), "]".repeat(10_000));
    assert!(is_parse_error(&classify(&sql, Dialect::PostgreSql)));
    let sql = format!("SELECT {}1{}", "abs(".repeat(10_000), ")".repeat(10_000));
    assert!(is_parse_error(&classify(&sql, Dialect::Sqlite)));
}

#[test]
fn nesting_real_queries_use_is_accepted() {
    let sql = format!(
        "SELECT * FROM {}users{}",
        "(SELECT * FROM ".repeat(8),
        ") AS x".repeat(8)
    );
    assert_eq!(
        classify(&sql, Dialect::PostgreSql).unwrap()[0].tier,
        Tier::Read
    );
    let sql = format!("SELECT {}1{}", "(".repeat(20), ")".repeat(20));
    assert_eq!(classify(&sql, Dialect::Sqlite).unwrap()[0].tier, Tier::Read);
}

#[test]
fn long_left_deep_chains_do_not_overflow_the_stack() {
    // These nest one tree level per operator without hitting the parser's recursion limit;
    // dropping or walking such a tree recursively needs far more than a test thread's stack.
    let cases = [
        format!("SELECT 1{}", " + 1".repeat(200_000)),
        format!("SELECT 1 WHERE {}", vec!["a = 1"; 100_000].join(" AND ")),
        format!("SELECT 1{}", " UNION SELECT 1".repeat(30_000)),
        format!("SELECT x{}", "::text".repeat(100_000)),
        format!("SELECT 1{}", " IS NULL".repeat(100_000)),
    ];
    for sql in &cases {
        let started = Instant::now();
        let result = classify(sql, Dialect::PostgreSql);
        assert!(result.is_ok(), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(60));
    }
    // A side effect at the far end of a chain is still found.
    let sql = format!("SELECT 1{} + nextval('s')", " + 1".repeat(50_000));
    assert_eq!(
        classify(&sql, Dialect::PostgreSql).unwrap()[0].tier,
        Tier::Write
    );
    let sql = format!(
        "SELECT 1{} UNION SELECT lo_unlink(1)",
        " UNION SELECT 1".repeat(10_000)
    );
    assert!(matches!(
        classify(&sql, Dialect::PostgreSql),
        Err(GateError::Refused { .. })
    ));
}

#[test]
fn long_chains_also_work_on_a_small_thread() {
    let sql = format!("SELECT 1{}", " + 1".repeat(100_000));
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || classify(&sql, Dialect::Sqlite).map(|s| s.len()))
        .unwrap();
    assert_eq!(handle.join().unwrap(), Ok(1));
}

#[test]
fn statements_over_the_token_limit_are_refused_as_parse_errors() {
    let sql = format!("SELECT 1{}", "+1".repeat(600_000));
    match classify(&sql, Dialect::Sqlite) {
        Err(GateError::Parse { message, .. }) => assert!(message.contains("tokens"), "{message}"),
        other => panic!("{other:?}"),
    }
}

fn time_for(statements: usize) -> Duration {
    let sql = "SELECT id, name FROM users WHERE id = 42;\n".repeat(statements);
    let started = Instant::now();
    let result = check(&sql, Dialect::Sqlite, Tier::Read).unwrap();
    assert_eq!(result.len(), statements);
    started.elapsed()
}

#[test]
fn many_statements_take_roughly_linear_time() {
    let small = time_for(2_000);
    let large = time_for(16_000);
    // 8 times the input; allow generous noise but not quadratic growth (which would be 64x).
    assert!(
        large < small * 24,
        "2k statements: {small:?}, 16k statements: {large:?}"
    );
}

#[test]
fn a_failing_create_does_not_make_the_rest_quadratic() {
    // A CREATE that fails at its end is retried with following pieces joined on; that must
    // stay bounded even when thousands of statements follow.
    let sql = format!("CREATE TABLE t (a{}", "; SELECT 1".repeat(20_000));
    let started = Instant::now();
    assert!(is_parse_error(&classify(&sql, Dialect::Sqlite)));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn huge_strings_and_comments_are_fine() {
    let big = "x".repeat(2_000_000);
    let sql = format!("SELECT '{big}'; /* {big} */ SELECT 2 -- {big}");
    let statements = classify(&sql, Dialect::Sqlite).unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(statements[0].sql.len(), big.len() + 9);
    assert_eq!(statements[1].sql, "SELECT 2");
}

/// Whether `word` occurs in `text` as a whole word.
fn contains_word(text: &str, word: &str) -> bool {
    let is_ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
    text.match_indices(word).any(|(at, _)| {
        !is_ident(text[..at].chars().next_back())
            && !is_ident(text[at + word.len()..].chars().next())
    })
}

/// A tiny deterministic generator, so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn random_fragments_never_panic_and_never_pass_a_write_as_read() {
    let fragments = [
        "SELECT",
        "INSERT",
        "INTO",
        "DELETE",
        "FROM",
        "t",
        "WHERE",
        "(",
        ")",
        ",",
        ";",
        "'a;b'",
        "\"q\"",
        "`b`",
        "/*",
        "*/",
        "--",
        "#",
        "\n",
        " ",
        "/*!",
        "1",
        "+",
        "-",
        "*",
        "=",
        "WITH",
        "AS",
        "UNION",
        "FOR",
        "UPDATE",
        "SET",
        "PRAGMA",
        "x",
        "$$",
        "$a$",
        "E'\\''",
        "[",
        "]",
        "lo_unlink(1)",
        "nextval('s')",
        "COMMIT",
        "BEGIN",
        "END",
        "CREATE",
        "TRIGGER",
        "é",
        "\r",
        "\0",
        "::",
        "->>",
        "@x",
        "?",
        "LOCK",
        "IN",
        "SHARE",
        "MODE",
        "OUTFILE",
        "TABLE",
    ];
    let mut rng = Lcg(42);
    for _ in 0..20_000 {
        let length = 1 + rng.next() % 14;
        let mut sql = String::new();
        for _ in 0..length {
            sql.push_str(fragments[(rng.next() % fragments.len() as u64) as usize]);
            if rng.next().is_multiple_of(2) {
                sql.push(' ');
            }
        }
        for dialect in [
            Dialect::Sqlite,
            Dialect::PostgreSql,
            Dialect::MySql,
            Dialect::Generic,
        ] {
            let Ok(statements) = classify(&sql, dialect) else {
                continue;
            };
            for statement in statements {
                assert!(!statement.sql.is_empty(), "{sql:?}");
                assert!(sql.contains(&statement.sql), "{sql:?}");
                // The generic dialect accepts `FROM t` queries, where any word can be a table
                // name, so the word checks apply to the engine dialects only.
                if statement.tier != Tier::Read || dialect == Dialect::Generic {
                    continue;
                }
                // A read never starts with a writing keyword, and never calls a refused
                // or writing function outside quotes.
                let upper = statement.sql.to_ascii_uppercase();
                let first_word: String = upper
                    .trim_start_matches(['(', ' ', '\n', '\r', '\t'])
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                assert!(
                    !["INSERT", "DELETE", "UPDATE", "COMMIT", "BEGIN", "CREATE", "END", "SET"]
                        .contains(&first_word.as_str()),
                    "[{dialect}] read verdict for {:?} (from {sql:?})",
                    statement.sql
                );
                let quoted = ["'", "\"", "`", "$", "/*", "--", "#", "["]
                    .iter()
                    .any(|q| statement.sql.contains(q));
                assert!(
                    quoted || !contains_word(&upper, "LO_UNLINK"),
                    "[{dialect}] read verdict for {:?} (from {sql:?})",
                    statement.sql
                );
            }
        }
    }
}
