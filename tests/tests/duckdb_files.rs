//! DuckDB's allowed directories through the host: a human names them (a `--dsn` option on the
//! command line, or a saved connection's `options`), queries read the files inside, and
//! nothing outside is readable, nothing is written, and an MCP tool argument cannot name a
//! directory. Checked by outcome: the rows, the envelopes (no content leaked) and the files in
//! the directories.

mod duckdb_support;
mod mcp_support;

use std::path::{Path, PathBuf};

use duckdb_support::Installed;
use mcp_support::{tool_result, McpServer};
use plenum_e2e::{snapshot_dir, Run};
use serde_json::json;

/// `files/` (allowed, with `x.csv` and `sub/y.csv`) beside `data/` (the database and
/// `secret.csv`, not allowed).
fn with_files() -> (Installed, PathBuf) {
    let installed = Installed::new();
    let files = installed.dir.path().join("files");
    std::fs::create_dir_all(files.join("sub")).expect("mkdir");
    std::fs::write(files.join("x.csv"), "a,b\n1,x\n2,y\n").expect("write");
    std::fs::write(files.join("sub/y.csv"), "a,b\n3,z\n").expect("write");
    (installed, files)
}

fn dsn(installed: &Installed, files: &Path) -> String {
    format!(
        "duckdb://{}?allowed_directories={}",
        installed.database.display(),
        files.display()
    )
}

fn query(installed: &Installed, files: &Path, sql: &str, flags: &[&str]) -> Run {
    installed
        .plenum(["query", "--dsn", &dsn(installed, files), "--sql", sql])
        .args(flags)
        .current_dir(installed.dir.path())
        .run()
}

#[test]
fn files_inside_the_allowed_directory_are_read() {
    let (installed, files) = with_files();
    let inside = files.display();
    for sql in [
        format!("SELECT a, b FROM read_csv('{inside}/x.csv') ORDER BY a"),
        // Relative to the directory plenum runs in.
        "SELECT a, b FROM read_csv('files/x.csv') ORDER BY a".to_owned(),
        "SELECT a, b FROM read_csv_auto('./files/x.csv') ORDER BY a".to_owned(),
    ] {
        let run = query(&installed, &files, &sql, &[]);
        run.assert_ok();
        assert_eq!(run.rows(), vec![json!([1, "x"]), json!([2, "y"])], "{sql}");
    }
    let run = query(
        &installed,
        &files,
        &format!("SELECT count(*) FROM read_csv('{inside}/**/*.csv')"),
        &[],
    );
    run.assert_ok();
    assert_eq!(run.rows(), vec![json!([3])]);
    let run = query(
        &installed,
        &files,
        &format!("SELECT count(*) AS n FROM glob('{inside}/*')"),
        &[],
    );
    run.assert_ok();
    // `*` lists files (`x.csv`), not the folder `sub`.
    assert_eq!(run.rows(), vec![json!([1])]);
}

#[test]
fn nothing_outside_is_read_and_nothing_is_written() {
    let (installed, files) = with_files();
    let link = files.join("sub/out");
    let (inside, data, root) = (
        files.display().to_string(),
        installed.data.display().to_string(),
        installed.dir.path().display().to_string(),
    );
    let before_files = snapshot_dir(&files);
    let before_data = snapshot_dir(&installed.data);
    let reads = [
        format!("SELECT * FROM read_csv('{data}/secret.csv')"),
        format!("SELECT * FROM read_csv('{inside}/../data/secret.csv')"),
        format!("SELECT * FROM read_csv('{inside}/sub/../../data/secret.csv')"),
        "SELECT * FROM read_csv('files/../data/secret.csv')".to_owned(),
        "SELECT * FROM read_csv('data/secret.csv')".to_owned(),
        format!("SELECT * FROM read_csv('{root}/*/secret.csv')"),
        format!("SELECT content FROM read_text('{data}/secret.csv')"),
        format!("SELECT content FROM read_blob('{data}/secret.csv')"),
        format!("SELECT * FROM glob('{data}/*')"),
        format!("SELECT * FROM glob('{root}/*')"),
        format!("SELECT * FROM '{data}/secret.csv'"),
        format!("SELECT * FROM '{inside}/x.csv'"),
        format!("SELECT * FROM \"{data}/secret.csv\""),
        "SELECT * FROM read_text('/etc/passwd')".to_owned(),
        "SELECT getenv('HOME')".to_owned(),
    ];
    let writes = [
        format!("COPY (SELECT 1) TO '{inside}/out.csv'"),
        format!("COPY items TO '{inside}/items.parquet' (FORMAT parquet)"),
        format!("EXPORT DATABASE '{inside}/export'"),
        format!("ATTACH '{inside}/new.duckdb' AS other"),
        "SET allowed_directories = ['/']".to_owned(),
        "SET enable_external_access = true".to_owned(),
    ];
    for sql in reads.iter().chain(writes.iter()) {
        for flags in [&[][..], &["--allow-write"][..], &["--allow-ddl"][..]] {
            let run = query(&installed, &files, sql, flags);
            assert!(!run.ok(), "{sql} {flags:?} ran: {}", run.json);
            assert!(
                !run.json.to_string().contains("hunter2"),
                "{sql}: {}",
                run.json
            );
        }
    }
    assert_eq!(snapshot_dir(&files), before_files);
    assert_eq!(snapshot_dir(&installed.data), before_data);
    // A link inside that leads out: the whole connection is refused, naming the link.
    std::os::unix::fs::symlink(&installed.data, &link).expect("link");
    let run = query(
        &installed,
        &files,
        &format!("SELECT * FROM read_csv('{inside}/sub/out/secret.csv')"),
        &[],
    );
    run.assert_error("CONNECTION_FAILED");
    assert!(
        run.error_message().contains("leads outside"),
        "{}",
        run.json
    );
    assert!(!run.json.to_string().contains("hunter2"));
}

#[test]
fn without_allowed_directories_no_file_is_read() {
    let (installed, files) = with_files();
    for sql in [
        format!("SELECT * FROM read_csv('{}/x.csv')", files.display()),
        format!("SELECT * FROM glob('{}/*')", files.display()),
    ] {
        let run = installed.query(&sql, &[]);
        assert!(!run.ok(), "{sql} ran: {}", run.json);
        // The gate refuses it too, from the plugin's rules for this connection: even a check
        // that never connects says so.
        let checked = installed.query(&sql, &["--check-only"]);
        assert!(!checked.ok(), "{sql} passed --check-only: {}", checked.json);
        assert!(
            checked.error_message().contains("allows no directory"),
            "{}",
            checked.json
        );
    }
    // With a directory named by the human, the same check lets the reader through (DuckDB
    // confines it to the directory when it runs).
    let sql = format!("SELECT * FROM read_csv('{}/x.csv')", files.display());
    query(&installed, &files, &sql, &["--check-only"]).assert_ok();
}

#[test]
fn a_saved_connection_names_the_directories_and_an_mcp_argument_cannot() {
    let (installed, files) = with_files();
    let project = installed.dir.path().join("project");
    std::fs::create_dir_all(project.join(".plenum")).expect("mkdir");
    let config = json!({
        "version": 1,
        "connections": {
            "shop": {
                "engine": "duckdb",
                "file": installed.database.to_str().expect("UTF-8"),
                "options": {"allowed_directories": files.to_str().expect("UTF-8")}
            }
        }
    });
    std::fs::write(project.join(".plenum/config.json"), config.to_string()).expect("config");
    let sql = format!(
        "SELECT a, b FROM read_csv('{}/x.csv') ORDER BY a",
        files.display()
    );
    let run = installed
        .plenum(["query", "--connection", "shop", "--sql", &sql])
        .current_dir(&project)
        .run();
    run.assert_ok();
    assert_eq!(run.rows(), vec![json!([1, "x"]), json!([2, "y"])]);

    let plugins = installed.plugins.to_string_lossy().into_owned();
    let mut server = McpServer::start_in(
        Some(&project),
        &[],
        &[("PLENUM_PLUGIN_PATH", plugins.as_str())],
    );
    server.initialize("2025-06-18");
    // Through the saved connection: read.
    let answer = server.call_tool("query", json!({"connection": "shop", "sql": sql}));
    let envelope = tool_result(&answer);
    assert_eq!(envelope["ok"], json!(true), "{answer}");
    assert_eq!(envelope["data"]["rows"], json!([[1, "x"], [2, "y"]]));
    // Ad hoc, with the directory as an argument: no MCP argument carries connection options,
    // so nothing is read, however the argument is spelt.
    let database = installed.database.to_str().expect("UTF-8");
    let directory = files.to_str().expect("UTF-8");
    for arguments in [
        json!({"engine": "duckdb", "file": database, "sql": sql,
               "allowed_directories": directory}),
        json!({"engine": "duckdb", "file": database, "sql": sql,
               "options": {"allowed_directories": directory}}),
        json!({"engine": "duckdb", "file": database, "sql": sql,
               "dsn": format!("duckdb://{database}?allowed_directories={directory}")}),
    ] {
        let answer = server.call_tool("query", arguments.clone());
        let text = answer.to_string();
        assert!(
            !text.contains("\"rows\":[[1,\"x\"]"),
            "{arguments} read the file: {answer}"
        );
        assert_ne!(
            answer["result"]["structuredContent"]["ok"],
            json!(true),
            "{answer}"
        );
    }
}
