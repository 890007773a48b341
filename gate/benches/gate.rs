//! The gate alone: how many typical statements [`plenum_gate::check`] classifies per second.
//!
//! Every benchmark reports its throughput in statements (criterion's `elem/s`). Run on one core
//! (the figure in docs/PERFORMANCE.md is taken this way):
//!
//! ```sh
//! taskset -c 0 cargo bench -p plenum-gate --bench gate
//! ```
#![forbid(unsafe_code)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use plenum_gate::{check, Dialect, Tier};

/// What agents typically send: point reads, joins with aggregates, CTEs, small writes. Every
/// statement is valid in the three dialects the shipped plugins declare.
const TYPICAL: &[&str] = &[
    "SELECT id, name, email FROM users WHERE id = 42",
    "SELECT * FROM events WHERE user_id = 7 ORDER BY created_at DESC LIMIT 20",
    "SELECT u.id, u.name, count(e.id) AS events, sum(e.amount) AS total \
     FROM users u LEFT JOIN events e ON e.user_id = u.id \
     WHERE e.created_at >= '2024-01-01' GROUP BY u.id, u.name ORDER BY total DESC LIMIT 10",
    "WITH recent AS (SELECT user_id, max(created_at) AS last_seen FROM events GROUP BY user_id) \
     SELECT users.name, recent.last_seen FROM users JOIN recent ON recent.user_id = users.id",
    "SELECT kind, count(*) FROM events WHERE amount IS NOT NULL AND score > 0 GROUP BY kind",
    "SELECT id FROM events WHERE id IN (SELECT id FROM events_1k WHERE note LIKE '%café%')",
    "INSERT INTO users (id, name, email) VALUES (1001, 'ann', 'ann@example.com')",
    "UPDATE events SET amount = amount * 1.1 WHERE id = 12345",
    "DELETE FROM events WHERE created_at < '2023-01-01'",
    "SELECT count(*) FROM events",
];

/// The dialects of the shipped plugins (SQLite, PostgreSQL, MySQL/MariaDB).
const DIALECTS: [Dialect; 3] = [Dialect::Sqlite, Dialect::PostgreSql, Dialect::MySql];

fn one_statement_per_call(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("typical_one_per_call");
    group.throughput(Throughput::Elements(TYPICAL.len() as u64));
    for dialect in DIALECTS {
        group.bench_with_input(
            BenchmarkId::from_parameter(dialect.name()),
            &dialect,
            |bencher, &dialect| {
                bencher.iter(|| {
                    for sql in TYPICAL {
                        let verdict = check(black_box(sql), dialect, Tier::Write);
                        black_box(verdict.map(|statements| statements.len()).ok());
                    }
                })
            },
        );
    }
    group.finish();
}

fn many_statements_per_call(criterion: &mut Criterion) {
    // One input holding every typical statement ten times: the splitting path.
    let script = TYPICAL.repeat(10).join(";\n");
    let statements = TYPICAL.len() as u64 * 10;
    let mut group = criterion.benchmark_group("typical_100_per_call");
    group.throughput(Throughput::Elements(statements));
    for dialect in DIALECTS {
        group.bench_with_input(
            BenchmarkId::from_parameter(dialect.name()),
            &dialect,
            |bencher, &dialect| {
                bencher.iter(|| {
                    let verdict = check(black_box(&script), dialect, Tier::Write);
                    black_box(verdict.map(|statements| statements.len()).ok());
                })
            },
        );
    }
    group.finish();
}

fn verdicts_are_what_the_benchmark_claims(_: &mut Criterion) {
    // A benchmark of refusals would measure the wrong path: every statement must pass.
    for dialect in DIALECTS {
        for sql in TYPICAL {
            if let Err(error) = check(sql, dialect, Tier::Write) {
                panic!(
                    "{} refuses a typical statement: {sql}: {error}",
                    dialect.name()
                );
            }
        }
    }
}

criterion_group!(
    benches,
    verdicts_are_what_the_benchmark_claims,
    one_statement_per_call,
    many_statements_per_call
);
criterion_main!(benches);
