//! Per-session resource ceilings hold on the live servers: the probes of issue #21 (sorts that
//! spill to temporary files, recursive queries that fill temporary tables, huge values), each
//! with a small ceiling, end in QUERY_FAILED naming what was exceeded, quickly, and leave
//! nothing running. A call may lower a saved connection's ceiling, never raise it.
//!
//! The probes are kept small (a few MB over a ceiling of 1 MB) so they run in seconds.

mod live_support;

use std::time::Duration;

use live_support::{Kind, Server, TestDb, Via};
use plenum_e2e::{engine_available, ConfigSandbox, SqliteFixture};

/// A sort of a million integers: about 14 MB of temporary files under PostgreSQL's default
/// `work_mem`.
const PG_SPILLING_SORT: &str =
    "SELECT count(*) FROM (SELECT g FROM generate_series(1, 1000000) g ORDER BY g DESC) s";

/// Sessions of `db` other than the admin's that are still running something.
fn other_active_sessions(db: &mut TestDb) -> String {
    let sql = match db.server.kind {
        Kind::Postgres => format!(
            "SELECT count(*)::text FROM pg_stat_activity WHERE datname = '{}' \
             AND pid <> pg_backend_pid() AND state <> 'idle'",
            db.name
        ),
        Kind::Mysql => format!(
            "SELECT CAST(count(*) AS CHAR) FROM information_schema.processlist \
             WHERE db = '{}' AND id <> CONNECTION_ID() AND command <> 'Sleep'",
            db.name
        ),
    };
    db.admin().text(&sql)
}

fn nothing_left_running(db: &mut TestDb) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut running = other_active_sessions(db);
    while running != "0" && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        running = other_active_sessions(db);
    }
    assert_eq!(running, "0", "a session of the probe is still running");
}

#[test]
fn postgres_temp_file_ceiling_stops_a_spilling_sort() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut db = TestDb::create(&server, &[]);
    // Under the default ceiling (1 GiB) the sort runs.
    let run = db.query(Via::Flags, PG_SPILLING_SORT, &[]);
    run.assert_ok();
    assert_eq!(run.rows()[0][0], 1_000_000);
    // With 1 MiB it is stopped by the server, with a message that names the setting.
    let run = db.query(Via::Flags, PG_SPILLING_SORT, &["--max-temp-mb", "1"]);
    run.assert_error("QUERY_FAILED");
    assert!(
        run.error_message()
            .contains("temporary file size exceeds temp_file_limit (1024kB)"),
        "{}",
        run.stdout
    );
    assert_eq!(run.json["error"]["sqlstate"], "53400");
    nothing_left_running(&mut db);
}

#[test]
fn a_saved_ceiling_binds_and_a_call_cannot_raise_it() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let db = TestDb::create(&server, &[]);
    let sandbox = ConfigSandbox::new();
    let mut save = vec![
        "connect".to_owned(),
        "--name".to_owned(),
        "small".to_owned(),
    ];
    save.extend(db.flags());
    save.extend(["--max-temp-mb".to_owned(), "1".to_owned()]);
    let mut command = sandbox.plenum(save);
    if let Some(password) = &server.password {
        command = command.env("PLENUM_TEST_DB_PASSWORD", password);
    }
    command.run().assert_ok();
    let saved = std::fs::read_to_string(sandbox.local_config()).expect("config");
    assert!(saved.contains(r#""max_temp_mb": 1"#), "{saved}");
    for extra in [&[][..], &["--max-temp-mb", "4096"][..]] {
        let mut command = sandbox
            .plenum(["query", "--connection", "small", "--sql", PG_SPILLING_SORT])
            .args(extra);
        if let Some(password) = &server.password {
            command = command.env("PLENUM_TEST_DB_PASSWORD", password);
        }
        let run = command.run();
        run.assert_error("QUERY_FAILED");
        assert!(
            run.error_message().contains("temp_file_limit (1024kB)"),
            "{extra:?}: {}",
            run.stdout
        );
    }
}

#[test]
fn postgres_login_that_may_not_set_temp_file_limit_is_bound_by_its_role() {
    let Some(server) = Server::postgres() else {
        return;
    };
    if server.password.is_some() {
        // The new role logs in without a password, which needs a trusting server.
        eprintln!("skipped: the test server asks for passwords");
        return;
    }
    let mut db = TestDb::create(&server, &[]);
    let role = plenum_e2e::unique_name("plenum_r");
    db.admin().exec(&[&format!("CREATE ROLE {role} LOGIN")]);
    struct DropRole(Server, String);
    impl Drop for DropRole {
        fn drop(&mut self) {
            self.0.admin(None).exec(&[
                &format!("ALTER ROLE {} RESET ALL", self.1),
                &format!("DROP ROLE IF EXISTS {}", self.1),
            ]);
        }
    }
    let _cleanup = DropRole(server.clone(), role.clone());
    let mut flags = db.flags();
    if let Some(at) = flags.iter().position(|flag| flag == "--user") {
        flags[at + 1] = role.clone();
    }
    let query = |extra: &[&str]| {
        server
            .plenum(["query", "--sql", PG_SPILLING_SORT])
            .args(&flags)
            .args(extra)
            .run()
    };
    // The login may not set temp_file_limit: the session keeps the server's setting.
    query(&["--max-temp-mb", "1"]).assert_ok();
    // PostgreSQL 15+: a role granted SET on the parameter may lower it through Plenum. (The
    // grant is revoked here: a role with a parameter grant cannot be dropped.)
    let version: u32 = db
        .admin()
        .text("SHOW server_version_num")
        .parse()
        .unwrap_or(0);
    if version >= 150_000 {
        db.admin()
            .exec(&[&format!("GRANT SET ON PARAMETER temp_file_limit TO {role}")]);
        let run = query(&["--max-temp-mb", "1"]);
        db.admin().exec(&[&format!(
            "REVOKE SET ON PARAMETER temp_file_limit FROM {role}"
        )]);
        run.assert_error("QUERY_FAILED");
        assert!(
            run.error_message().contains("temp_file_limit (1024kB)"),
            "{}",
            run.stdout
        );
        query(&["--max-temp-mb", "1"]).assert_ok();
    }
    // A superuser's `ALTER ROLE … SET` makes the ceiling binding for every client of the role.
    db.admin()
        .exec(&[&format!("ALTER ROLE {role} SET temp_file_limit = '1MB'")]);
    let run = query(&[]);
    run.assert_error("QUERY_FAILED");
    assert!(
        run.error_message().contains("temp_file_limit (1024kB)"),
        "{}",
        run.stdout
    );
    nothing_left_running(&mut db);
}

#[test]
fn mariadb_recursion_ceiling_is_an_error_not_a_short_result() {
    let Some(server) = Server::mysql() else {
        return;
    };
    let mut db = TestDb::create(&server, &[]);
    let recursive = |n: u32| {
        format!("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < {n}) SELECT count(*) FROM r")
    };
    let run = db.query(Via::Flags, &recursive(50), &["--max-recursion", "100"]);
    run.assert_ok();
    assert_eq!(run.rows()[0][0], 50);
    let run = db.query(Via::Flags, &recursive(500), &["--max-recursion", "100"]);
    run.assert_error("QUERY_FAILED");
    let message = run.error_message();
    let server_kind = db.admin().text("SELECT VERSION()");
    if server_kind.contains("MariaDB") {
        assert!(
            message.contains("max_recursive_iterations = 100") && message.contains("incomplete"),
            "{}",
            run.stdout
        );
    } else {
        assert!(
            message.contains("cte_max_recursion_depth"),
            "{}",
            run.stdout
        );
    }
    nothing_left_running(&mut db);
}

#[test]
fn mariadb_temporary_table_ceiling_stops_a_recursive_query() {
    let Some(server) = Server::mysql() else {
        return;
    };
    let mut db = TestDb::create(&server, &[]);
    if !db.admin().text("SELECT VERSION()").contains("MariaDB") {
        eprintln!("skipped: MySQL has no session ceiling for on-disk temporary tables");
        return;
    }
    // 900 rows of 20 kB: about 18 MB of temporary table, well under the server's recursion
    // setting, over a 1 MiB ceiling.
    let probe = "WITH RECURSIVE r(n, s) AS (SELECT 1, REPEAT('x', 20000) UNION ALL \
                 SELECT n + 1, s FROM r WHERE n < 900) SELECT count(*) FROM r";
    let run = db.query(Via::Flags, probe, &["--max-temp-mb", "1"]);
    run.assert_error("QUERY_FAILED");
    assert!(
        run.error_message().contains("is full")
            && run.error_message().contains("tmp_disk_table_size"),
        "{}",
        run.stdout
    );
    nothing_left_running(&mut db);
    // Under the default ceiling it runs.
    let run = db.query(Via::Flags, probe, &[]);
    run.assert_ok();
    assert_eq!(run.rows()[0][0], 900);
}

#[test]
fn sqlite_memory_ceiling_stops_a_huge_value_and_a_big_sort() {
    if !engine_available("sqlite") {
        return;
    }
    let fixture = SqliteFixture::new("CREATE TABLE t (x INTEGER)");
    // 100 MB in one value.
    let huge = "SELECT length(randomblob(100000000))";
    let run = fixture.query(huge, &["--max-memory-mb", "16"]);
    run.assert_error("QUERY_FAILED");
    assert!(
        run.error_message().contains("hard_heap_limit"),
        "{}",
        run.stdout
    );
    // A sort that would spill to a temporary file is held in memory, under the same ceiling.
    let sort = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 500000) \
                SELECT count(*) FROM (SELECT n, hex(randomblob(40)) AS h FROM r ORDER BY h)";
    let run = fixture.query(sort, &["--max-memory-mb", "16"]);
    run.assert_error("QUERY_FAILED");
    assert!(
        run.error_message().contains("out of memory"),
        "{}",
        run.stdout
    );
    // The folder holds only the database: no temporary file was left behind.
    let files: Vec<String> = fixture.snapshot().into_keys().collect();
    assert_eq!(files, vec!["app.db".to_owned()]);
    // Under the default ceiling (256 MiB) both run.
    fixture.query(huge, &[]).assert_ok();
    fixture.query(sort, &[]).assert_ok();
}

#[test]
fn sessions_start_with_the_default_ceilings_and_a_call_only_lowers_them() {
    if let Some(server) = Server::postgres() {
        let db = TestDb::create(&server, &[]);
        let settings = "SELECT current_setting('temp_file_limit')";
        for (extra, expected) in [
            (&[][..], "1GB"),
            (&["--max-temp-mb", "4096"][..], "1GB"),
            (&["--max-temp-mb", "2"][..], "2MB"),
        ] {
            let run = db.query(Via::Flags, settings, extra);
            run.assert_ok();
            assert_eq!(run.rows()[0][0], expected, "{extra:?}");
        }
    }
    if let Some(server) = Server::mysql() {
        let mut db = TestDb::create(&server, &[]);
        if !db.admin().text("SELECT VERSION()").contains("MariaDB") {
            return;
        }
        let settings = "SELECT @@tmp_disk_table_size, @@max_recursive_iterations";
        // The server's own recursion setting stays when it is lower than the ceiling.
        let server_recursion: u64 = db
            .admin()
            .text("SELECT @@GLOBAL.max_recursive_iterations")
            .parse()
            .unwrap_or(u64::MAX);
        let recursion = server_recursion.min(100_000);
        for (extra, temp, iterations) in [
            (&[][..], 1u64 << 30, recursion),
            (&["--max-temp-mb", "4096"][..], 1 << 30, recursion),
            (
                &["--max-temp-mb", "2", "--max-recursion", "7"][..],
                2 << 20,
                7,
            ),
        ] {
            let run = db.query(Via::Flags, settings, extra);
            run.assert_ok();
            assert_eq!(run.rows()[0][0], temp, "{extra:?}");
            assert_eq!(run.rows()[0][1], iterations, "{extra:?}");
        }
    }
}
