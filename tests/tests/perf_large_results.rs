//! Large results through the paths tuned for throughput: fetches whose size follows the row
//! size, PostgreSQL reading a portal in chunks larger than one fetch, and results streamed to
//! stdout past 1 MiB. Every row must arrive once, in order, with its values, whether the
//! result is whole or cut by a limit in the middle of a chunk. (How fast is measured by
//! `bench/run.sh`, not here.)

use plenum_e2e::{
    engine_available, mysql_url, postgres_url, server_available, Plenum, SqliteFixture,
};
use serde_json::{json, Value as Json};

/// Rows in each result: many fetches and chunks, and more than 1 MiB of JSON.
const ROWS: u64 = 60_000;

/// Row `n` as every engine must return it: id, text with a quote and non-ASCII, a float that
/// is NULL every 7th row, a timestamp `n` seconds into 2024.
fn expected_row(n: u64) -> Json {
    let half = if n.is_multiple_of(7) {
        Json::Null
    } else {
        json!(n as f64 * 0.5)
    };
    let at = format!(
        "2024-01-01T{:02}:{:02}:{:02}",
        n / 3600,
        n % 3600 / 60,
        n % 60
    );
    json!([n, format!("row \"{n}\" é"), half, at])
}

/// Checks that `rows` are rows 1, 2, … in order, each as [`expected_row`] says.
fn assert_rows_in_order(rows: &[Json]) {
    for (index, row) in rows.iter().enumerate() {
        let n = index as u64 + 1;
        assert_eq!(row, &expected_row(n), "row {n}");
    }
}

/// Runs the three shapes of large result on one engine: whole, cut by bytes, cut by rows.
fn check_engine(connection: &[&str], sql: &str) {
    let query = |extra: &[&str]| {
        Plenum::new(["query"])
            .args(connection)
            .args(["--sql", sql, "--timeout-ms", "120000"])
            .args(extra)
            .run()
    };

    // Whole: more than 1 MiB, so the envelope is streamed.
    let whole = query(&["--max-rows", "1000000", "--max-bytes", "100000000"]);
    whole.assert_ok();
    assert!(whole.stdout.len() > 1 << 20, "{} bytes", whole.stdout.len());
    assert_eq!(whole.json["meta"]["rows_returned"], ROWS);
    assert_eq!(whole.json["meta"]["truncated"], false);
    let rows = whole.rows();
    assert_eq!(rows.len() as u64, ROWS);
    assert_rows_in_order(&rows);

    // Cut by bytes after many fetches: a prefix of the rows, within the budget.
    let cut = query(&["--max-rows", "1000000", "--max-bytes", "1500000"]);
    cut.assert_ok();
    assert_eq!(cut.json["meta"]["truncated_by"], "max_bytes");
    let rows = cut.rows();
    assert!(
        rows.len() > 10_000 && (rows.len() as u64) < ROWS,
        "{} rows",
        rows.len()
    );
    assert_eq!(cut.json["meta"]["rows_returned"], rows.len());
    assert!(
        serde_json::to_string(&cut.json["data"]["rows"]).map_or(0, |text| text.len()) <= 1_500_000
    );
    assert_rows_in_order(&rows);

    // Cut by rows at an odd count, past the first fetch.
    let limited = query(&["--max-rows", "12345", "--max-bytes", "100000000"]);
    limited.assert_ok();
    assert_eq!(limited.json["meta"]["truncated_by"], "max_rows");
    let rows = limited.rows();
    assert_eq!(rows.len(), 12_345);
    assert_rows_in_order(&rows);
}

#[test]
fn sqlite_large_results_arrive_whole_and_in_order() {
    let fixture = SqliteFixture::new("CREATE TABLE unused (x INTEGER);");
    let file = fixture.file.to_string_lossy().into_owned();
    check_engine(
        &["--engine", "sqlite", "--file", &file],
        &format!(
            "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {ROWS}) \
             SELECT n, 'row \"' || n || '\" é', CASE WHEN n % 7 = 0 THEN NULL ELSE n * 0.5 END, \
             strftime('%Y-%m-%dT%H:%M:%S', '2024-01-01', '+' || n || ' seconds') FROM c"
        ),
    );
}

#[test]
fn postgres_large_results_arrive_whole_and_in_order() {
    let url = postgres_url();
    if !server_available(&url, "PostgreSQL") || !engine_available("postgres") {
        return;
    }
    check_engine(
        &["--dsn", &url],
        &format!(
            "SELECT g AS id, 'row \"' || g || '\" é' AS name, \
             CASE WHEN g % 7 = 0 THEN NULL ELSE g * 0.5::float8 END AS half, \
             timestamp '2024-01-01' + g * interval '1 second' AS at \
             FROM generate_series(1, {ROWS}) AS g ORDER BY g"
        ),
    );
}

#[test]
fn mysql_large_results_arrive_whole_and_in_order() {
    let url = mysql_url();
    if !server_available(&url, "MySQL/MariaDB") || !engine_available("mysql") {
        return;
    }
    // No generator function in both MySQL and MariaDB: five cross-joined digits.
    check_engine(
        &["--dsn", &url],
        &format!(
            "WITH digits (d) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL \
             SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL \
             SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9), \
             numbers (n) AS (SELECT 1 + a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d \
             FROM digits a, digits b, digits c, digits e, digits f) \
             SELECT n AS id, CONCAT('row \"', n, '\" é') AS name, \
             CASE WHEN n % 7 = 0 THEN NULL ELSE n * 0.5e0 END AS half, \
             TIMESTAMP('2024-01-01') + INTERVAL n SECOND AS at \
             FROM numbers WHERE n <= {ROWS} ORDER BY n"
        ),
    );
}
