//! A database on storage Plenum cannot write: reads still work, writes are one clear error, and
//! nothing is created or changed.
//!
//! Root ignores file permissions, so when these tests run as root the permission case runs
//! `plenum` as the unprivileged user `nobody`; the read-only mount case needs root (it makes
//! a read-only bind mount) and is skipped, with a notice, elsewhere.
#![cfg(target_os = "linux")]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use plenum_e2e::{permissions_are_bypassed, snapshot_dir, Plenum, Run, SqliteFixture};

const SCHEMA: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);
    INSERT INTO t (name) VALUES ('a'), ('b');";
const NOBODY: u32 = 65_534;

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|metadata| metadata.uid() == 0)
        .unwrap_or(false)
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The checks both cases share: `run(file, flags)` runs `plenum query` on a database file.
fn reads_work_and_writes_fail_cleanly(
    dir: &Path,
    file: &Path,
    run: impl Fn(&Path, &[&str]) -> Run,
) {
    let before = snapshot_dir(dir);
    let read = run(file, &["--sql", "SELECT name FROM t ORDER BY id"]);
    read.assert_ok();
    assert_eq!(read.rows().len(), 2, "{}", read.stdout);
    for (sql, tier) in [
        ("UPDATE t SET name = 'z'", "--allow-write"),
        ("INSERT INTO t (name) VALUES ('c')", "--allow-write"),
        ("CREATE TABLE u (x)", "--allow-ddl"),
    ] {
        let write = run(file, &["--sql", sql, tier]);
        assert!(
            ["QUERY_FAILED", "CONNECTION_FAILED"].contains(&write.error_code()),
            "{sql}: {}",
            write.stdout
        );
        assert!(
            write.error_message().contains("readonly")
                || write.error_message().contains("read-only")
                || write.error_message().contains("read only"),
            "the message should say why: {}",
            write.stdout
        );
    }
    // A database that does not exist cannot be created there either.
    let missing = file.with_file_name("new.db");
    let create = run(&missing, &["--allow-ddl", "--sql", "CREATE TABLE x (a)"]);
    assert_eq!(
        create.error_code(),
        "CONNECTION_FAILED",
        "{}",
        create.stdout
    );
    assert!(!missing.exists());
    assert_eq!(snapshot_dir(dir), before, "a file changed or appeared");
}

#[test]
fn a_write_protected_file_in_a_write_protected_folder() {
    let db = SqliteFixture::new(SCHEMA);
    let dir = db.dir.path().to_path_buf();
    set_mode(&db.file, 0o444);
    set_mode(&dir, 0o555);
    let as_nobody = permissions_are_bypassed();
    if as_nobody && !is_root() {
        eprintln!("skipped: this user bypasses file permissions but cannot switch to nobody");
        set_mode(&dir, 0o755);
        return;
    }
    if as_nobody {
        eprintln!("note: running as root, which ignores permissions; plenum runs as nobody");
    }
    reads_work_and_writes_fail_cleanly(&dir, &db.file, |file, extra| {
        let plenum = Plenum::new(["query", "--engine", "sqlite", "--file"])
            .args([file.as_os_str()])
            .args(extra)
            .env("HOME", &dir.to_string_lossy())
            .current_dir(&dir);
        if as_nobody {
            plenum.run_as(NOBODY, NOBODY)
        } else {
            plenum.run()
        }
    });
    set_mode(&dir, 0o755);
    assert_eq!(db.direct("SELECT count(*) FROM t"), vec!["Integer(2)"]);
}

/// A read-only bind mount, unmounted when dropped.
struct ReadOnlyMount {
    target: std::path::PathBuf,
}

impl ReadOnlyMount {
    fn new(source: &Path, target: &Path) -> Option<Self> {
        let bind = Command::new("mount")
            .arg("--bind")
            .args([source, target])
            .output()
            .ok()?;
        if !bind.status.success() {
            return None;
        }
        let mount = ReadOnlyMount {
            target: target.to_path_buf(),
        };
        let remount = Command::new("mount")
            .args(["-o", "remount,ro,bind"])
            .arg(target)
            .output()
            .ok()?;
        remount.status.success().then_some(mount)
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.target).status();
    }
}

#[test]
fn a_database_on_a_read_only_mount() {
    let db = SqliteFixture::new(SCHEMA);
    let view = tempfile::tempdir().expect("temp dir");
    let Some(mount) = ReadOnlyMount::new(db.dir.path(), view.path()) else {
        eprintln!("skipped: cannot make a read-only bind mount here (needs root and mount)");
        return;
    };
    let file = view.path().join("app.db");
    assert!(
        std::fs::write(view.path().join("probe"), b"x").is_err(),
        "the mount is writable"
    );
    reads_work_and_writes_fail_cleanly(view.path(), &file, |file, extra| {
        Plenum::new(["query", "--engine", "sqlite", "--file"])
            .args([file.as_os_str()])
            .args(extra)
            .run()
    });
    drop(mount);
    assert_eq!(db.direct("SELECT count(*) FROM t"), vec!["Integer(2)"]);
}
