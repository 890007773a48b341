//! Measures how many typical statements per second the gate classifies on one thread, next to
//! sqlparser's own `parse_sql` on the same text (the floor the gate builds on), so the figure
//! can be read even on a busy machine.
//!
//! `taskset -c 0 cargo run --release -p plenum-gate --example throughput`

use std::hint::black_box;
use std::time::{Duration, Instant};

use plenum_gate::{check, Dialect, Tier};
use sqlparser::parser::Parser;

const STATEMENTS: &[&str] = &[
    "SELECT id, name FROM users WHERE id = 42",
    "SELECT u.id, count(o.id) FROM users u LEFT JOIN orders o ON o.user_id = u.id GROUP BY u.id ORDER BY 2 DESC LIMIT 10",
    "INSERT INTO users (id, name) VALUES (1, 'ann')",
];

/// Calls per second of `work`, measured for a fixed time.
fn rate(mut work: impl FnMut()) -> f64 {
    let budget = Duration::from_millis(800);
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        for _ in 0..100 {
            work();
        }
        calls += 100;
    }
    calls as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    println!(
        "{:<10} {:>12} {:>12} {:>6}  statement",
        "dialect", "gate/s", "parse_sql/s", "ratio"
    );
    for dialect in [Dialect::Sqlite, Dialect::PostgreSql, Dialect::MySql] {
        let parser_dialect = sqlparser::dialect::dialect_from_str(dialect.name())
            .unwrap_or_else(|| Box::new(sqlparser::dialect::GenericDialect {}));
        for sql in STATEMENTS {
            let gate = rate(|| {
                let verdict = check(black_box(sql), dialect, Tier::Write);
                assert!(verdict.is_ok(), "{sql}: {verdict:?}");
                black_box(verdict.ok());
            });
            let parse = rate(|| {
                black_box(Parser::parse_sql(parser_dialect.as_ref(), black_box(sql)).ok());
            });
            println!(
                "{:<10} {:>12.0} {:>12.0} {:>6.2}  {}",
                dialect.name(),
                gate,
                parse,
                gate / parse,
                &sql[..sql.len().min(48)]
            );
        }
        // Many statements in one call: the splitting path.
        let batch = vec![STATEMENTS[0]; 100].join("; ");
        let gate = 100.0
            * rate(|| {
                black_box(check(black_box(&batch), dialect, Tier::Read).ok());
            });
        println!(
            "{:<10} {:>12.0} {:>12} {:>6}  100 per call: {}",
            dialect.name(),
            gate,
            "",
            "",
            &STATEMENTS[0][..40]
        );
    }
}
