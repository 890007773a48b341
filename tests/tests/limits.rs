//! Memory stays flat and time stays short however large the table: the host stops pulling
//! rows at its limit instead of reading everything and truncating.

use std::process::Command;
use std::time::{Duration, Instant};

use plenum_e2e::{plenum_bin, SqliteFixture};

fn table_of(rows: u64) -> SqliteFixture {
    SqliteFixture::new(&format!(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, amount REAL, note TEXT);
         WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {rows})
         INSERT INTO events SELECT n, 'kind-' || (n % 7), n * 0.5, printf('%040d', n) FROM c;"
    ))
}

/// Wall time and peak resident memory (KiB, from `/usr/bin/time`) of one query.
fn measure(db: &SqliteFixture, sql: &str, max_rows: &str) -> (Duration, Option<u64>) {
    let time = std::path::Path::new("/usr/bin/time");
    let started = Instant::now();
    let mut command = if time.is_file() {
        let mut command = Command::new(time);
        command.args(["-f", "PEAK_KB=%M"]).arg(plenum_bin());
        command
    } else {
        Command::new(plenum_bin())
    };
    let output = command
        .args([
            "query",
            "--engine",
            "sqlite",
            "--max-rows",
            max_rows,
            "--file",
        ])
        .arg(&db.file)
        .args(["--sql", sql])
        .output()
        .expect("run plenum");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(json["ok"], true, "{stdout}");
    assert_eq!(json["meta"]["rows_returned"], 100);
    let peak = String::from_utf8_lossy(&output.stderr)
        .lines()
        .find_map(|line| {
            line.strip_prefix("PEAK_KB=")
                .and_then(|kb| kb.trim().parse().ok())
        });
    (elapsed, peak)
}

#[test]
fn max_rows_over_a_million_rows_is_fast_and_flat() {
    let small = table_of(1_000);
    let large = table_of(1_000_000);
    let sql = "SELECT * FROM events";
    // Warm the page cache and the loader once.
    measure(&large, sql, "100");
    let (small_time, small_peak) = measure(&small, sql, "100");
    let (large_time, large_peak) = measure(&large, sql, "100");
    eprintln!(
        "1,000 rows: {small_time:?} {small_peak:?} KiB; 1,000,000 rows: {large_time:?} {large_peak:?} KiB"
    );
    assert!(large_time < Duration::from_secs(1), "took {large_time:?}");
    if let (Some(small_peak), Some(large_peak)) = (small_peak, large_peak) {
        assert!(
            large_peak <= small_peak + 2048,
            "peak memory grew from {small_peak} KiB to {large_peak} KiB"
        );
    } else {
        eprintln!("notice: /usr/bin/time not found, peak memory not compared");
    }
}
