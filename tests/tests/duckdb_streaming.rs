//! DuckDB results stream: the plugin pulls one chunk at a time, so the peak memory of
//! `plenum query --engine duckdb` does not grow with the result, and `--max-rows` stops DuckDB
//! early. Compared by peak resident memory (`/usr/bin/time`), never by time.

mod duckdb_support;

use std::process::{Command, Stdio};

use duckdb_support::Installed;
use plenum_e2e::plenum_bin;

/// Peak resident memory (KiB) of one query, and its envelope's `meta` and row count.
fn measure(installed: &Installed, sql: &str, flags: &[&str]) -> (Option<u64>, serde_json::Value) {
    let time = std::path::Path::new("/usr/bin/time");
    let mut command = if time.is_file() {
        let mut command = Command::new(time);
        command.args(["-f", "PEAK_KB=%M"]).arg(plenum_bin());
        command
    } else {
        Command::new(plenum_bin())
    };
    let output = command
        .args(["query", "--engine", "duckdb", "--file"])
        .arg(&installed.database)
        .args(["--sql", sql])
        .args(flags)
        .env("PLENUM_PLUGIN_PATH", &installed.plugins)
        .stdin(Stdio::null())
        .output()
        .expect("run plenum");
    let json: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(
        json["ok"],
        true,
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let peak = String::from_utf8_lossy(&output.stderr)
        .lines()
        .find_map(|line| {
            line.strip_prefix("PEAK_KB=")
                .and_then(|kb| kb.trim().parse().ok())
        });
    (peak, json)
}

fn rows_of(json: &serde_json::Value) -> usize {
    json["data"]["rows"].as_array().map_or(0, Vec::len)
}

/// Peak memory may grow by this much (KiB) between the small and the large result: DuckDB's
/// buffers and the allocator's noise, far below what a materialized result would take (a
/// million rows of these columns are some 60 MB as values).
const MARGIN_KIB: u64 = 16 * 1024;

fn assert_flat(what: &str, small: Option<u64>, large: Option<u64>) {
    eprintln!("{what}: small {small:?} KiB, large {large:?} KiB");
    match (small, large) {
        (Some(small), Some(large)) => assert!(
            large <= small + MARGIN_KIB,
            "{what}: peak memory grew from {small} KiB to {large} KiB"
        ),
        _ => eprintln!("notice: /usr/bin/time not found, peak memory not compared"),
    }
}

const WIDE: &str = "SELECT range AS id, 'label-' || range AS label, range * 0.5 AS amount, \
                    repeat('x', 40) AS note FROM range({n})";

#[test]
fn max_rows_stops_a_ten_million_row_result_early_with_flat_memory() {
    let installed = Installed::new();
    let sql = |n: u64| WIDE.replace("{n}", &n.to_string());
    // Warm the loader and the page cache once.
    measure(&installed, &sql(1_000), &["--max-rows", "100"]);
    let (small, small_json) = measure(&installed, &sql(1_000), &["--max-rows", "100"]);
    let (large, large_json) = measure(&installed, &sql(10_000_000), &["--max-rows", "100"]);
    for json in [&small_json, &large_json] {
        assert_eq!(rows_of(json), 100);
        assert_eq!(json["meta"]["truncated"], true);
        assert_eq!(json["meta"]["truncated_by"], "max_rows");
    }
    assert_eq!(large_json["data"]["rows"][99][0], 99);
    assert_flat("--max-rows 100 of 1,000 / 10,000,000 rows", small, large);
}

#[test]
fn a_million_rows_stream_out_with_the_memory_of_a_thousand() {
    let installed = Installed::new();
    let sql = |n: u64| WIDE.replace("{n}", &n.to_string());
    let flags = ["--max-rows", "2000000", "--max-bytes", "1000000000"];
    measure(&installed, &sql(1_000), &flags);
    let (small, small_json) = measure(&installed, &sql(1_000), &flags);
    let (large, large_json) = measure(&installed, &sql(1_000_000), &flags);
    assert_eq!(rows_of(&small_json), 1_000);
    assert_eq!(rows_of(&large_json), 1_000_000);
    assert_eq!(large_json["meta"]["truncated"], false);
    assert_eq!(
        large_json["data"]["rows"][999_999],
        serde_json::json!([999_999, "label-999999", "499999.5", "x".repeat(40)])
    );
    assert_flat("all of 1,000 / 1,000,000 rows", small, large);
}
