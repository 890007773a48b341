//! The plugins' session reset (API 1.2 `reset`), which `plenum mcp` runs before it reuses a
//! warm session: on each engine, no state one call could leave behind — temporary table,
//! session variable, prepared statement, role, open transaction, advisory lock — is there
//! after it, and the session keeps its access mode and settings. The sessions are driven
//! through the plugin's ABI directly, with statements no gate would let through, so the reset
//! itself is what is tested.

mod live_support;

use plenum_e2e::{plugin_library, unique_name};
use plenum_plugin_conformance::api::abi_stable::std_types::{
    ROption, RSlice, RStr, RString, RVec, Tuple2,
};
use plenum_plugin_conformance::api::loader::load_root_module;
use plenum_plugin_conformance::api::{
    AccessMode, ConnectParams, ConnectionBox, PluginModuleRef, ReachRequest, SslMode, Value,
};

use live_support::{Server, TestDb};

struct Session(ConnectionBox);

impl Session {
    fn open(module: PluginModuleRef, params: &ConnectParams, access: AccessMode) -> Session {
        let mut params = params.clone();
        params.access = access;
        match (module.connect())(&params).into_result() {
            Ok(connection) => Session(connection),
            Err(error) => panic!("connect: {error}"),
        }
    }

    /// Runs one statement; its rows' first values as text (`None` for NULL).
    fn try_run(&mut self, sql: &str) -> Result<Vec<Option<String>>, String> {
        let mut cursor = self
            .0
            .execute(RStr::from_str(sql), RSlice::from_slice(&[]), 0)
            .into_result()
            .map_err(|error| format!("{sql}: {error}"))?;
        let width = cursor.columns().len();
        let mut values = RVec::new();
        let mut out = Vec::new();
        loop {
            values.clear();
            let rows = cursor
                .fetch(64, &mut values)
                .into_result()
                .map_err(|error| format!("{sql}: {error}"))?;
            if rows == 0 {
                return Ok(out);
            }
            for row in values.chunks(width.max(1)) {
                out.push(match &row[0] {
                    Value::Null => None,
                    Value::Text(text) | Value::Decimal(text) | Value::Json(text) => {
                        Some(text.to_string())
                    }
                    Value::Int(number) => Some(number.to_string()),
                    Value::UInt(number) => Some(number.to_string()),
                    Value::Bool(value) => Some(value.to_string()),
                    Value::Float(number) => Some(number.to_string()),
                    Value::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
                });
            }
        }
    }

    fn run(&mut self, sql: &str) -> Vec<Option<String>> {
        self.try_run(sql).unwrap_or_else(|error| panic!("{error}"))
    }

    fn value(&mut self, sql: &str) -> Option<String> {
        self.run(sql).into_iter().next().flatten()
    }

    fn begin(&mut self) {
        self.0.begin().into_result().expect("begin");
    }

    fn commit(&mut self) {
        self.0.commit().into_result().expect("commit");
    }

    fn rollback(&mut self) {
        self.0.rollback().into_result().expect("rollback");
    }

    /// The login the plugin's reach check reports (its kept catalog statements answer it).
    fn reach_login(&mut self) -> String {
        self.0
            .reach(&ReachRequest::default())
            .into_result()
            .map(|report| report.login.to_string())
            .unwrap_or_else(|error| panic!("reach: {error}"))
    }

    /// What a warm read call starts with: the reset, then the reach check.
    fn reset_and_check_reach(&mut self) {
        self.reset().expect("reset");
        self.reach_login();
    }

    fn reset(&mut self) -> Result<(), String> {
        self.0
            .reset()
            .into_result()
            .map_err(|error| error.to_string())
    }
}

fn params(server: &Server, database: &str) -> ConnectParams {
    let mut params = ConnectParams::new(server.engine(), AccessMode::Read);
    params.host = ROption::RSome(server.host.as_str().into());
    params.port = ROption::RSome(server.port);
    params.user = ROption::RSome(server.user.as_str().into());
    params.password = server
        .password
        .as_deref()
        .map(|password| password.into())
        .into();
    params.database = ROption::RSome(database.into());
    params.ssl_mode = SslMode::Disable;
    params.statement_timeout_ms = 30_000;
    params
}

fn module(engine: &str) -> PluginModuleRef {
    load_root_module(&plugin_library(engine))
        .unwrap_or_else(|error| panic!("load the {engine} plugin: {error}"))
}

#[test]
fn postgres_reset_leaves_nothing_of_the_last_call() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut db = TestDb::create(&server, &["CREATE TABLE items (id int)"]);
    let role = unique_name("plenum_warm_role");
    db.admin().exec(&[&format!("CREATE ROLE {role}")]);
    let module = module("postgres");
    let params = params(&server, &db.name);
    let mut session = Session::open(module, &params, AccessMode::Ddl);
    session.begin();
    let user = session.value("SELECT current_user::text");
    // Prepares the plugin's own catalog statements, which the reset below must not break.
    assert_eq!(Some(session.reach_login()), user);
    session.run("CREATE TEMP TABLE warm_temp (id int)");
    session.run("SET app.warm = 'left behind'");
    session.run("SET search_path = nowhere");
    session.run("PREPARE warm_statement AS SELECT 1");
    session.run(&format!("SET ROLE {role}"));
    session.run("SELECT pg_advisory_lock(424242)");
    session.commit();
    session.begin();
    assert_eq!(
        session.value("SELECT current_user::text"),
        Some(role.clone())
    );
    session.rollback();

    session.reset().expect("reset");
    session.begin();
    assert_eq!(
        session.value("SELECT to_regclass('pg_temp.warm_temp')::text"),
        None,
        "temporary table"
    );
    assert_eq!(
        session
            .value("SELECT coalesce(current_setting('app.warm', true), '')")
            .as_deref(),
        Some(""),
        "session variable"
    );
    assert_eq!(
        session.value("SHOW search_path").as_deref(),
        Some("\"$user\", public")
    );
    assert_eq!(
        session
            .value("SELECT count(*) FROM pg_prepared_statements WHERE name = 'warm_statement'")
            .as_deref(),
        Some("0"),
        "prepared statement"
    );
    assert_eq!(session.value("SELECT current_user::text"), user, "role");
    // `DEALLOCATE ALL` took the plugin's statements with the SQL-prepared one: they are
    // prepared again, not used stale.
    assert_eq!(Some(session.reach_login()), user, "reach after the reset");
    assert_eq!(
        session
            .value(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            )
            .as_deref(),
        Some("0"),
        "advisory lock"
    );
    // The statement timeout set at connect survives (RESET goes back to the startup values).
    assert_ne!(
        session.value("SHOW statement_timeout").as_deref(),
        Some("0")
    );
    session.rollback();

    // An open transaction is never reset into the next call: the reset refuses, and the
    // session is closed, which rolls back what it did.
    session.begin();
    session.run("INSERT INTO items VALUES (7)");
    assert!(session.reset().is_err(), "reset inside a transaction");
    drop(session);
    assert_eq!(db.admin().column("SELECT count(*) FROM items"), ["0"]);
    db.admin().exec(&[&format!("DROP ROLE {role}")]);
}

#[test]
fn postgres_read_session_stays_read_only_after_reset() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let db = TestDb::create(&server, &["CREATE TABLE items (id int)"]);
    let mut session = Session::open(
        module("postgres"),
        &params(&server, &db.name),
        AccessMode::Read,
    );
    for _ in 0..2 {
        session.reset().expect("reset");
        session.begin();
        assert_eq!(
            session.value("SHOW transaction_read_only").as_deref(),
            Some("on")
        );
        assert!(session.try_run("INSERT INTO items VALUES (1)").is_err());
        session.rollback();
    }
    // Outside the host's transaction too: the session default stays read-only.
    session.reset().expect("reset");
    assert_eq!(
        session
            .value("SHOW default_transaction_read_only")
            .as_deref(),
        Some("on")
    );
}

/// A read call's requests after the reach check: the plugin answers `begin` itself while its
/// worker holds the check's transaction, and a cursor read to its end is closed by the next
/// request. Whatever follows, the statement runs read-only, every transaction ends (the server
/// sees the session idle, not idle in a transaction), and a second `begin` is refused.
#[test]
fn postgres_read_calls_after_the_reach_check_end_their_transactions() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut db = TestDb::create(&server, &["CREATE TABLE items (id int)"]);
    db.admin().exec(&["INSERT INTO items VALUES (1), (2), (3)"]);
    let mut session = Session::open(
        module("postgres"),
        &params(&server, &db.name),
        AccessMode::Read,
    );
    session.begin();
    let pid = session.value("SELECT pg_backend_pid()::text").expect("pid");
    session.rollback();
    let state = format!("SELECT state FROM pg_stat_activity WHERE pid = {pid}");
    let assert_idle = |db: &mut TestDb, after: &str| {
        assert_eq!(db.admin().column(&state), ["idle"], "after {after}");
    };

    for round in 0..3 {
        session.reset_and_check_reach();
        session.begin();
        assert_eq!(
            session.value("SHOW transaction_read_only").as_deref(),
            Some("on"),
            "round {round}"
        );
        assert_eq!(session.run("SELECT id FROM items ORDER BY id").len(), 3);
        assert!(session.try_run("INSERT INTO items VALUES (9)").is_err());
        session.rollback();
        assert_idle(&mut db, "a read call");
    }

    session.reset_and_check_reach();
    session.begin();
    assert!(session.0.begin().into_result().is_err(), "a second begin");
    assert_eq!(
        session.value("SELECT count(*) FROM items").as_deref(),
        Some("3")
    );
    session.rollback();
    assert_idle(&mut db, "a second begin");

    session.reset_and_check_reach();
    session.begin();
    session.commit();
    assert_idle(&mut db, "begin and commit");

    session.reset_and_check_reach();
    session.begin();
    let info = session.0.server_info().into_result().expect("server info");
    assert_eq!(
        info.database.into_option().as_deref(),
        Some(db.name.as_str())
    );
    assert_eq!(
        session.value("SHOW transaction_read_only").as_deref(),
        Some("on")
    );
    session.rollback();
    assert_idle(&mut db, "server info inside the call");

    session.reset_and_check_reach();
    session.rollback();
    assert_idle(&mut db, "a rollback after the reach check alone");
    assert_eq!(db.admin().column("SELECT count(*) FROM items"), ["3"]);
}

#[test]
fn mysql_reset_leaves_nothing_of_the_last_call() {
    let Some(server) = Server::mysql() else {
        return;
    };
    let mut db = TestDb::create(&server, &["CREATE TABLE items (id INT)"]);
    let role = unique_name("plenum_warm_role");
    db.admin().exec(&[
        &format!("CREATE ROLE {role}"),
        &format!("GRANT {role} TO CURRENT_USER"),
    ]);
    let lock = unique_name("plenum_warm_lock");
    let module = module("mysql");
    let params = params(&server, &db.name);
    let mut session = Session::open(module, &params, AccessMode::Ddl);
    let sql_mode = session.value("SELECT @@SESSION.sql_mode");
    session.begin();
    session.run("CREATE TEMPORARY TABLE warm_temp (id INT)");
    session.run("SET @warm = 'left behind'");
    session.run("SET SESSION sql_mode = 'ANSI_QUOTES'");
    session.run(&format!("SET ROLE {role}"));
    session.run(&format!("SELECT GET_LOCK('{lock}', 0)"));
    session.commit();
    assert_eq!(session.value("SELECT CURRENT_ROLE()"), Some(role.clone()));
    // A statement the driver prepared and cached before the reset.
    session.run("SELECT 1");

    session.reset().expect("reset");
    session.begin();
    assert!(
        session.try_run("SELECT id FROM warm_temp").is_err(),
        "temporary table"
    );
    assert_eq!(session.value("SELECT @warm"), None, "user variable");
    assert_eq!(
        session.value("SELECT @@SESSION.sql_mode"),
        sql_mode,
        "session variable"
    );
    assert_eq!(session.value("SELECT CURRENT_ROLE()"), None, "role");
    assert_eq!(
        session.value(&format!("SELECT IS_USED_LOCK('{lock}')")),
        None,
        "named lock"
    );
    // The statement cache went with the server's statements: the same statement prepares anew.
    assert_eq!(
        session.value("SELECT 1").as_deref(),
        Some("1"),
        "prepared statement"
    );
    // The session's own settings are set again: the server-side statement timeout.
    let timeout = match session.value("SELECT VERSION()") {
        Some(version) if version.contains("MariaDB") => "SELECT @@SESSION.max_statement_time",
        _ => "SELECT @@SESSION.max_execution_time",
    };
    assert_ne!(session.value(timeout).as_deref().map(str::trim), Some("0"));
    assert_ne!(session.value(timeout).as_deref(), Some("0.000000"));
    session.rollback();

    session.begin();
    session.run("INSERT INTO items VALUES (7)");
    assert!(session.reset().is_err(), "reset inside a transaction");
    drop(session);
    assert_eq!(db.admin().column("SELECT count(*) FROM items"), ["0"]);
    db.admin().exec(&[&format!("DROP ROLE {role}")]);
}

#[test]
fn mysql_read_session_stays_read_only_after_reset() {
    let Some(server) = Server::mysql() else {
        return;
    };
    let db = TestDb::create(&server, &["CREATE TABLE items (id INT)"]);
    let mut session = Session::open(
        module("mysql"),
        &params(&server, &db.name),
        AccessMode::Read,
    );
    for _ in 0..2 {
        session.reset().expect("reset");
        session.begin();
        assert!(session.try_run("INSERT INTO items VALUES (1)").is_err());
        session.rollback();
    }
    session.reset().expect("reset");
    // MariaDB names it tx_read_only, MySQL 8 transaction_read_only.
    let read_only = session
        .try_run("SELECT @@SESSION.tx_read_only")
        .or_else(|_| session.try_run("SELECT @@SESSION.transaction_read_only"))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(read_only, [Some("1".to_owned())]);
}

#[test]
fn sqlite_resets_read_sessions_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("warm.db");
    rusqlite::Connection::open(&file)
        .and_then(|connection| connection.execute_batch("CREATE TABLE items (id INTEGER)"))
        .expect("create database");
    let mut params = ConnectParams::new("sqlite", AccessMode::Read);
    params.file = ROption::RSome(file.to_string_lossy().as_ref().into());
    let module = module("sqlite");

    let mut read = Session::open(module, &params, AccessMode::Read);
    // A read session cannot make temporary objects or attach files at all.
    assert!(read
        .try_run("CREATE TEMP TABLE warm_temp (id INTEGER)")
        .is_err());
    assert!(
        read.try_run("PRAGMA query_only = OFF").is_err() || {
            read.value("PRAGMA query_only").as_deref() == Some("1")
        }
    );
    // A transaction left open is ended by the reset: a new one can begin.
    read.run("BEGIN");
    read.run("SELECT count(*) FROM items");
    read.reset().expect("reset");
    read.begin();
    assert_eq!(read.value("PRAGMA query_only").as_deref(), Some("1"));
    assert!(read.try_run("INSERT INTO items VALUES (1)").is_err());
    read.rollback();

    // The path now names another file: the warm session would read the old one.
    std::fs::rename(&file, dir.path().join("moved.db")).expect("move the file");
    rusqlite::Connection::open(&file)
        .and_then(|connection| connection.execute_batch("CREATE TABLE other (id INTEGER)"))
        .expect("a new file at the path");
    assert!(read.reset().is_err(), "reset after the file was replaced");

    // A write or DDL session may have changed pragmas no check can list: never reused.
    let mut ddl = Session::open(module, &params, AccessMode::Ddl);
    ddl.run("CREATE TEMP TABLE warm_temp (id INTEGER)");
    assert!(ddl.reset().is_err());
}

#[test]
fn mysql_ceilings_are_set_again_after_reset_and_never_raised() {
    let Some(server) = Server::mysql() else {
        return;
    };
    let mut db = TestDb::create(&server, &["CREATE TABLE items (id INT)"]);
    let mut params = params(&server, &db.name);
    // A memory ceiling below the server's default lowers it; a recursion ceiling above the
    // default leaves it where it was. MariaDB's on-disk ceiling starts at 2^64 - 1, which a
    // plain LEAST in a SET once turned into 1024.
    for (key, value) in [
        ("max_temp_bytes", "1073741824"),
        ("max_memory_bytes", "2097152"),
        ("max_recursion", "4000000000"),
    ] {
        params
            .options
            .push(Tuple2(RString::from(key), RString::from(value)));
    }
    let mut session = Session::open(module("mysql"), &params, AccessMode::Read);
    let mariadb = session
        .value("SELECT VERSION()")
        .is_some_and(|version| version.contains("MariaDB"));
    let recursion = if mariadb {
        "max_recursive_iterations"
    } else {
        "cte_max_recursion_depth"
    };
    let default_recursion = db.admin().column(&format!("SELECT @@GLOBAL.{recursion}"));
    for _ in 0..2 {
        session.begin();
        assert_eq!(
            session.value("SELECT @@SESSION.tmp_table_size").as_deref(),
            Some("2097152")
        );
        assert_eq!(
            session
                .value("SELECT @@SESSION.max_heap_table_size")
                .as_deref(),
            Some("2097152")
        );
        assert_eq!(
            session.value(&format!("SELECT @@SESSION.{recursion}")),
            default_recursion.first().cloned(),
        );
        if mariadb {
            assert_eq!(
                session
                    .value("SELECT @@SESSION.tmp_disk_table_size")
                    .as_deref(),
                Some("1073741824")
            );
        }
        session.rollback();
        session.reset().expect("reset");
    }
}
