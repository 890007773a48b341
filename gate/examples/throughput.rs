//! Measures how many typical statements per second the gate classifies on one thread.
//!
//! `cargo run --release -p plenum-gate --example throughput`

use std::hint::black_box;
use std::time::{Duration, Instant};

use plenum_gate::{check, Dialect, Tier};

const STATEMENTS: &[&str] = &[
    "SELECT id, name FROM users WHERE id = 42",
    "SELECT u.id, count(o.id) FROM users u LEFT JOIN orders o ON o.user_id = u.id GROUP BY u.id ORDER BY 2 DESC LIMIT 10",
    "INSERT INTO users (id, name) VALUES (1, 'ann')",
];

fn rate(sql: &str, dialect: Dialect, per_call: usize) -> f64 {
    let budget = Duration::from_millis(700);
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        for _ in 0..200 {
            let result = check(black_box(sql), dialect, Tier::Write);
            assert!(result.is_ok(), "{sql}: {result:?}");
            black_box(result.ok());
        }
        calls += 200;
    }
    (calls as f64 * per_call as f64) / start.elapsed().as_secs_f64()
}

fn main() {
    for dialect in [Dialect::Sqlite, Dialect::PostgreSql, Dialect::MySql] {
        for sql in STATEMENTS {
            println!(
                "{:<10} {:>9.0} statements/s  one per call: {}",
                dialect.name(),
                rate(sql, dialect, 1),
                &sql[..sql.len().min(50)]
            );
        }
        let batch = vec![STATEMENTS[0]; 100].join("; ");
        println!(
            "{:<10} {:>9.0} statements/s  100 per call: {}",
            dialect.name(),
            rate(&batch, dialect, 100),
            &STATEMENTS[0][..40]
        );
    }
}
