//! An answer that could not be written is not a success: with stdout on a full device the exit
//! code is 1 and stderr says why, for a whole document and for a streamed one. A reader that
//! stops reading (`| head`) is not such a failure.
#![cfg(target_os = "linux")]

use std::io::Read;
use std::process::{Command, Stdio};

use plenum_e2e::{plenum_bin, SqliteFixture};

/// Runs `plenum query` on `db` with `stdout`; the exit code and stderr.
fn query(db: &SqliteFixture, sql: &str, extra: &[&str], stdout: Stdio) -> (i32, String) {
    let output = Command::new(plenum_bin())
        .args(["query", "--engine", "sqlite", "--file"])
        .arg(&db.file)
        .args(["--sql", sql])
        .args(extra)
        .env_remove("PLENUM_MAX_CAPABILITY")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("run plenum");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn full_device() -> Stdio {
    Stdio::from(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("open /dev/full"),
    )
}

const ROWS: &str = "CREATE TABLE t (x TEXT);
    WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c LIMIT 20000)
    INSERT INTO t SELECT printf('%0200d', n) FROM c;";

#[test]
fn an_answer_written_to_a_full_device_exits_1_and_says_so() {
    let db = SqliteFixture::new(ROWS);
    let whole = query(&db, "SELECT count(*) FROM t", &[], full_device());
    // A streamed result: 20,000 rows of 200 characters, beyond the size held in memory.
    let streamed = query(
        &db,
        "SELECT x FROM t",
        &["--max-rows", "100000", "--max-bytes", "100000000"],
        full_device(),
    );
    for (what, (code, stderr)) in [("whole", whole), ("streamed", streamed)] {
        assert_eq!(code, 1, "{what}: {stderr}");
        assert!(
            stderr.contains("could not be written to stdout") && stderr.contains("No space"),
            "{what}: {stderr}"
        );
    }
    // The same query answered to a pipe is a success.
    let (code, stderr) = query(&db, "SELECT count(*) FROM t", &[], Stdio::piped());
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_reader_that_stops_early_is_not_a_failure() {
    let db = SqliteFixture::new(ROWS);
    let mut child = Command::new(plenum_bin())
        .args(["query", "--engine", "sqlite", "--file"])
        .arg(&db.file)
        .args(["--sql", "SELECT x FROM t"])
        .args(["--max-rows", "100000", "--max-bytes", "100000000"])
        .env_remove("PLENUM_MAX_CAPABILITY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn plenum");
    // Read a little of the 4 MB stream, then go away, as `| head` does.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut start = [0u8; 100];
    stdout.read_exact(&mut start).expect("the stream starts");
    drop(stdout);
    let output = child.wait_with_output().expect("wait for plenum");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("could not be written"), "{stderr}");
}
