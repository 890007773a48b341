//! Scratch: one mode per run, for perf stat.
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;
use std::hint::black_box;
fn main() {
    let mode = std::env::args().nth(1).unwrap();
    let sql = "SELECT id, name FROM users WHERE id = 42";
    let n = 200_000;
    for _ in 0..n {
        match mode.as_str() {
            "parse" => { black_box(Parser::parse_sql(&SQLiteDialect{}, black_box(sql)).unwrap()); }
            _ => { black_box(plenum_gate::check(black_box(sql), plenum_gate::Dialect::Sqlite, plenum_gate::Tier::Read).ok()); }
        }
    }
}
