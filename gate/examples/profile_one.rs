use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Tokenizer;
use std::hint::black_box;
fn main() {
    let sql = "SELECT id, name FROM users WHERE id = 42";
    let n = 200_000;
    for round in 0..3 {
        let t = std::time::Instant::now();
        for _ in 0..n {
            black_box(
                Tokenizer::new(&SQLiteDialect {}, black_box(sql))
                    .tokenize_with_location()
                    .unwrap(),
            );
        }
        let tok = t.elapsed();
        let t = std::time::Instant::now();
        for _ in 0..n {
            black_box(Parser::parse_sql(&SQLiteDialect {}, black_box(sql)).unwrap());
        }
        let ps = t.elapsed();
        let t = std::time::Instant::now();
        for _ in 0..n {
            black_box(
                plenum_gate::check(
                    black_box(sql),
                    plenum_gate::Dialect::Sqlite,
                    plenum_gate::Tier::Read,
                )
                .ok(),
            );
        }
        let g = t.elapsed();
        println!(
            "round {round}: tokenize {:.0}/s  parse_sql {:.0}/s  gate {:.0}/s",
            n as f64 / tok.as_secs_f64(),
            n as f64 / ps.as_secs_f64(),
            n as f64 / g.as_secs_f64()
        );
    }
}
