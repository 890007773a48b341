//! Runs the gate benchmark's typical statements a fixed number of times, so that
//! `valgrind --tool=callgrind` gives a deterministic instruction count per statement, which a
//! busy machine's clock cannot. Run it with 1 and with 101 rounds and divide the difference by
//! the difference in statements it prints; docs/PERFORMANCE.md has the figures.
//!
//! ```sh
//! cargo build --release -p plenum-gate --example instructions
//! valgrind --tool=callgrind target/release/examples/instructions 101 sqlite gate
//! ```
//!
//! Arguments: rounds (default 100); `sqlite`, `postgresql`, `mysql` or `all`; and what to run:
//! `gate` ([`plenum_gate::check`], one statement per call), `batch` (`check` on one input of
//! 100 statements, counted per statement) or `parse` (sqlparser's own `Parser::parse_sql` on
//! each statement: the floor the gate builds on).

use std::hint::black_box;

use plenum_gate::{check, Dialect, Tier};
use sqlparser::parser::Parser;

#[path = "../benches/support/typical.rs"]
mod typical;

use typical::{DIALECTS, TYPICAL};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.first().and_then(|r| r.parse().ok()).unwrap_or(100);
    let dialects: Vec<Dialect> = match args.get(1).map(String::as_str) {
        None | Some("all") => DIALECTS.to_vec(),
        Some(name) => match Dialect::from_name(name) {
            Some(dialect) => vec![dialect],
            None => {
                eprintln!("unknown dialect {name:?}: sqlite, postgresql, mysql or all");
                std::process::exit(2);
            }
        },
    };
    let what = args.get(2).map_or("gate", String::as_str);
    let script = TYPICAL.repeat(10).join(";\n");
    let mut statements = 0usize;
    for _ in 0..rounds {
        for &dialect in &dialects {
            match what {
                "gate" => {
                    for sql in TYPICAL {
                        let verdict = check(black_box(sql), dialect, Tier::Write);
                        statements += verdict.expect("a typical statement passes").len();
                    }
                }
                "batch" => {
                    let verdict = check(black_box(&script), dialect, Tier::Write);
                    statements += verdict.expect("typical statements pass").len();
                }
                "parse" => {
                    let parser_dialect = sqlparser::dialect::dialect_from_str(dialect.name())
                        .expect("a sqlparser dialect");
                    for sql in TYPICAL {
                        let parsed = Parser::parse_sql(parser_dialect.as_ref(), black_box(sql));
                        statements += parsed.expect("a typical statement parses").len();
                    }
                }
                other => {
                    eprintln!("unknown mode {other:?}: gate, batch or parse");
                    std::process::exit(2);
                }
            }
        }
    }
    println!("{statements} statements");
}
