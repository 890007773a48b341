//! The gate alone: how many typical statements [`plenum_gate::check`] classifies per second.
//!
//! Every benchmark reports its throughput in statements (criterion's `elem/s`). Run on one core
//! (the figure in docs/PERFORMANCE.md is taken this way):
//!
//! ```sh
//! taskset -c 0 cargo bench -p plenum-gate --bench gate
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use plenum_gate::{check, Tier};

#[path = "support/typical.rs"]
mod typical;

use typical::{DIALECTS, TYPICAL};

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
