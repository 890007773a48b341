//! The tiers against logins with powers (issue: a superuser's read tier ran a shell command):
//! user code, views, triggers and catalog writes on a live PostgreSQL, each checked by its
//! outcome (files on the server's machine, rows, the catalog), for a superuser and for an
//! ordinary login; the privilege report before and after the least-privilege SQL of
//! docs/CONNECTIONS.md; and every built-in function of the server classified by the gate.

mod live_support;
mod mcp_support;

use live_support::{Server, TestDb, Via};
use plenum_e2e::{unique_name, Plenum, Run};

/// User code of every shape, and roles for the ordinary-login cases.
fn fixture(role: &str) -> Vec<String> {
    vec![
        "CREATE TABLE t (id int PRIMARY KEY, v text)".to_owned(),
        "INSERT INTO t VALUES (1, 'one'), (2, 'two')".to_owned(),
        // Runs any SQL text it is given: the shape every escape through user code takes.
        "CREATE FUNCTION run(q text) RETURNS int LANGUAGE plpgsql AS $$BEGIN EXECUTE q; RETURN 1; END$$"
            .to_owned(),
        "CREATE FUNCTION harmless(x int) RETURNS int LANGUAGE sql AS 'SELECT x + 1'".to_owned(),
        "CREATE FUNCTION make_table() RETURNS int LANGUAGE plpgsql AS \
         $$BEGIN EXECUTE 'CREATE TABLE made_by_function (a int)'; RETURN 1; END$$"
            .to_owned(),
        "CREATE FUNCTION make_table_trigger() RETURNS trigger LANGUAGE plpgsql AS \
         $$BEGIN EXECUTE 'CREATE TABLE made_by_trigger (a int)'; RETURN NEW; END$$"
            .to_owned(),
        "CREATE TABLE audited (id int)".to_owned(),
        "CREATE TRIGGER audit BEFORE INSERT ON audited FOR EACH ROW EXECUTE FUNCTION make_table_trigger()"
            .to_owned(),
        "CREATE VIEW hides_code AS SELECT run('SELECT 1') AS r".to_owned(),
        "CREATE VIEW hides_activity AS SELECT query FROM pg_stat_activity".to_owned(),
        "CREATE VIEW plain AS SELECT id FROM t".to_owned(),
        "CREATE VIEW over_view AS SELECT * FROM hides_code".to_owned(),
        // An updatable view over a catalog: writing it writes the catalog.
        "CREATE VIEW roles_view AS SELECT rolname, rolsuper FROM pg_authid".to_owned(),
        format!("CREATE ROLE {role} LOGIN"),
        format!("GRANT USAGE, CREATE ON SCHEMA public TO {role}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
    ]
}

struct Live {
    db: TestDb,
    role: String,
}

impl Live {
    fn new(server: &Server) -> Live {
        let role = unique_name("plenum_r");
        let setup = fixture(&role);
        let setup: Vec<&str> = setup.iter().map(String::as_str).collect();
        Live {
            db: TestDb::create(server, &setup),
            role,
        }
    }

    /// `plenum query` as the admin login (a superuser on this machine).
    fn superuser(&self, sql: &str, extra: &[&str]) -> Run {
        self.db.query(Via::Flags, sql, extra)
    }

    /// `plenum query` as the ordinary role.
    fn ordinary(&self, sql: &str, extra: &[&str]) -> Run {
        Plenum::new(["query"])
            .args(self.as_role(&self.role))
            .args(["--sql", sql])
            .args(extra)
            .run()
    }

    fn as_role(&self, role: &str) -> Vec<String> {
        let server = &self.db.server;
        vec![
            "--engine".into(),
            "postgres".into(),
            "--host".into(),
            server.host.clone(),
            "--port".into(),
            server.port.to_string(),
            "--user".into(),
            role.to_owned(),
            "--database".into(),
            self.db.name.clone(),
        ]
    }

    fn count(&mut self, sql: &str) -> String {
        self.db.admin().text(sql)
    }

    fn table_exists(&mut self, name: &str) -> bool {
        self.count(&format!(
            "SELECT count(*) FROM pg_class WHERE relname = '{name}'"
        )) != "0"
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // The role's grants live in the test database; once they are gone the role can go
        // (the database itself is dropped by TestDb).
        let role = self.role.clone();
        self.db.admin().exec(&[&format!("DROP OWNED BY {role}")]);
        self.db
            .server
            .admin(None)
            .exec(&[&format!("DROP ROLE IF EXISTS {role}")]);
    }
}

fn is_superuser(live: &mut Live) -> bool {
    live.count("SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user") == "true"
}

#[test]
fn user_code_cannot_run_a_program_from_any_tier_of_a_superuser() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut live = Live::new(&server);
    assert!(
        is_superuser(&mut live),
        "these cases need the superuser admin login"
    );
    live.db.assert_server_writes_scratch_files();
    let marker = live.db.scratch_file("program");
    let copy = format!("COPY (SELECT 1) TO PROGRAM ''touch {}''", marker.display());
    let built = format!(
        "COPY (SELECT 1) TO PROGRAM ''touch '' || ''{}''",
        marker.display()
    );
    for (sql, flags) in [
        (format!("SELECT run('{copy}')"), &[][..]),
        (format!("SELECT run('{copy}')"), &["--allow-write"][..]),
        (format!("SELECT run('{copy}')"), &["--allow-ddl"][..]),
        (format!("SELECT * FROM t WHERE run('{copy}') = 1"), &[][..]),
        (format!("SELECT run('COPY ' || '(SELECT 1) TO PROGRAM ''touch {}''')", marker.display()), &[][..]),
        (format!("SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ''b''::tsquery FROM (SELECT run(''{built}'')) x')"), &[][..]),
        (format!("INSERT INTO t SELECT 9, run('{copy}')::text"), &["--allow-write"][..]),
        (format!("UPDATE t SET v = run('{copy}')::text"), &["--allow-write"][..]),
        (format!("WITH x AS (SELECT run('{copy}')) SELECT * FROM x"), &[][..]),
        (format!("DO $$BEGIN EXECUTE '{copy}'; END$$"), &["--allow-ddl"][..]),
        (format!("EXPLAIN SELECT run('{copy}')"), &[][..]),
        ("SELECT * FROM hides_code".to_owned(), &[][..]),
        ("SELECT * FROM over_view".to_owned(), &[][..]),
    ] {
        let run = live.superuser(&sql, flags);
        run.assert_error("CAPABILITY_VIOLATION");
        assert!(!marker.exists(), "{sql}: the program ran");
    }
    let explain = live
        .db
        .query_plenum(Via::Flags, &format!("SELECT run('{copy}')"), &["--explain"])
        .run();
    explain.assert_error("CAPABILITY_VIOLATION");
    assert!(!marker.exists());
    assert_eq!(live.count("SELECT count(*) FROM t"), "2");
}

#[test]
fn writes_never_touch_the_catalogs() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut live = Live::new(&server);
    let role = live.role.clone();
    for sql in [
        format!("UPDATE pg_catalog.pg_authid SET rolsuper = true WHERE rolname = '{role}'"),
        format!("UPDATE pg_authid SET rolsuper = true WHERE rolname = '{role}'"),
        format!("UPDATE \"pg_authid\" SET rolsuper = true WHERE rolname = '{role}'"),
        "UPDATE pg_class SET relname = 'renamed' WHERE relname = 't'".to_owned(),
        "DELETE FROM pg_catalog.pg_proc WHERE proname = 'run'".to_owned(),
        "INSERT INTO pg_catalog.pg_auth_members SELECT 1, 2, 3, false".to_owned(),
        format!("UPDATE roles_view SET rolsuper = true WHERE rolname = '{role}'"),
    ] {
        for flags in [&["--allow-write"][..], &["--allow-ddl"][..]] {
            live.superuser(&sql, flags)
                .assert_error("CAPABILITY_VIOLATION");
        }
    }
    assert_eq!(
        live.count(&format!(
            "SELECT rolsuper::text FROM pg_roles WHERE rolname = '{role}'"
        )),
        "false"
    );
    assert!(live.table_exists("t"));
    assert_eq!(
        live.count("SELECT count(*) FROM pg_proc WHERE proname = 'run'"),
        "1"
    );
}

#[test]
fn the_engine_fence_rolls_back_schema_changes_behind_the_write_tier() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut live = Live::new(&server);
    let before = live.count("SELECT count(*) FROM t");
    for sql in [
        "INSERT INTO audited VALUES (1)",
        "INSERT INTO t SELECT 10, make_table()::text",
        "UPDATE t SET v = make_table()::text WHERE id = 1",
        "WITH d AS (DELETE FROM t WHERE id = 2 RETURNING id) SELECT make_table() FROM d",
        "INSERT INTO t VALUES (11, 'x'); SELECT 1 FROM t WHERE make_table() = 1",
    ] {
        let run = live.ordinary(sql, &["--allow-write"]);
        run.assert_error("CAPABILITY_VIOLATION");
        assert!(!live.table_exists("made_by_trigger"), "{sql}");
        assert!(!live.table_exists("made_by_function"), "{sql}");
        assert_eq!(live.count("SELECT count(*) FROM t"), before, "{sql}");
        assert_eq!(live.count("SELECT count(*) FROM audited"), "0", "{sql}");
    }
    // Ordinary writes pass the fence and commit.
    live.ordinary("INSERT INTO t VALUES (20, 'twenty')", &["--allow-write"])
        .assert_ok();
    assert_eq!(live.count("SELECT count(*) FROM t WHERE id = 20"), "1");
    // The same schema change is the ddl tier's to make.
    live.ordinary("SELECT make_table()", &["--allow-ddl"]);
}

#[test]
fn an_ordinary_login_keeps_user_functions_and_the_engine_stops_their_writes() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut live = Live::new(&server);
    // Read-only functions work; a writing one is stopped by the read-only transaction.
    let run = live.ordinary("SELECT harmless(1) AS h, v FROM t ORDER BY id", &[]);
    run.assert_ok();
    assert_eq!(run.json["data"]["rows"][0][0], 2);
    live.ordinary("SELECT * FROM hides_code", &[]).assert_ok();
    live.ordinary("SELECT run('DELETE FROM t')", &[])
        .assert_error("QUERY_FAILED");
    assert_eq!(live.count("SELECT count(*) FROM t"), "2");
    // In a call opened for writing, a read statement may not reach user code.
    live.ordinary(
        "INSERT INTO t VALUES (5, 'five'); SELECT run('DELETE FROM t')",
        &["--allow-write"],
    )
    .assert_error("CAPABILITY_VIOLATION");
    assert_eq!(live.count("SELECT count(*) FROM t"), "2");
    // Views over refused relations are refused for every login.
    live.ordinary("SELECT * FROM hides_activity", &[])
        .assert_error("CAPABILITY_VIOLATION");
    live.ordinary("SELECT * FROM plain", &[]).assert_ok();
}

#[test]
fn relations_named_in_strings_and_xml_readers_are_refused() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let live = Live::new(&server);
    for sql in [
        "SELECT table_to_xml('pg_stat_activity'::regclass, true, false, '')",
        "SELECT table_to_xml('t', true, false, '')",
        "SELECT schema_to_xml('pg_catalog', true, false, '')",
        "SELECT 'pg_stat_activity'::regclass",
        "SELECT ts_stat('SELECT to_tsvector(v) FROM t')",
    ] {
        let run = live.superuser(sql, &[]);
        run.assert_error("CAPABILITY_VIOLATION");
        assert!(!run.stdout.contains("<row>"), "{sql}");
    }
}

#[test]
fn a_human_can_allow_a_routine_by_name_in_a_saved_connection() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let live = Live::new(&server);
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join(".plenum");
    std::fs::create_dir_all(&config).expect("config dir");
    let saved = serde_json::json!({
        "version": 1,
        "connections": {"dev": {
            "engine": "postgres", "host": server.host, "port": server.port,
            "user": server.user, "database": live.db.name,
            "allowed_routines": ["public.harmless"]
        }}
    });
    std::fs::write(config.join("config.json"), saved.to_string()).expect("config");
    let query = |sql: &str| {
        Plenum::new(["query", "--connection", "dev", "--sql", sql])
            .current_dir(home.path())
            .run()
    };
    let run = query("SELECT harmless(41)");
    run.assert_ok();
    assert_eq!(run.json["data"]["rows"][0][0], 42);
    query("SELECT run('SELECT 1')").assert_error("CAPABILITY_VIOLATION");

    // The MCP server reports the same login: list_connections with `test`.
    let mut server = mcp_support::McpServer::start_in(Some(home.path()), &[], &[]);
    server.initialize("2025-06-18");
    let answer = server.call_tool("list_connections", serde_json::json!({"test": "dev"}));
    let report = mcp_support::tool_result(&answer).clone();
    assert_eq!(
        report["data"]["server"]["login"]["privileged"], true,
        "{report}"
    );
    assert_eq!(report["data"]["connection"], "dev", "{report}");
}

#[test]
fn the_privilege_report_shows_what_the_least_privilege_roles_take_away() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut live = Live::new(&server);
    let test = |args: Vec<String>| {
        let run = Plenum::new(["connect", "--test"]).args(args).run();
        run.assert_ok();
        run.json["data"]["server"]["login"].clone()
    };
    let admin = test(live.db.flags());
    assert_eq!(admin["privileged"], true);
    assert!(admin["powers"][0]["power"]
        .as_str()
        .is_some_and(|power| power.contains("superuser")));

    // A role that can grant itself the server-file roles is privileged too.
    let creator = unique_name("plenum_c");
    live.db
        .admin()
        .exec(&[&format!("CREATE ROLE {creator} LOGIN CREATEROLE")]);
    let report = test(live.as_role(&creator));
    assert_eq!(report["privileged"], true, "{report}");

    // The read and write roles of docs/CONNECTIONS.md.
    let reader = unique_name("plenum_ro");
    let writer = unique_name("plenum_rw");
    let database = live.db.name.clone();
    let docs_sql = least_privilege_sql("postgres read role", "plenum_reader", &reader, &database);
    live.db.admin().exec(&[&docs_sql]);
    let docs_sql = least_privilege_sql("postgres write role", "plenum_writer", &writer, &database);
    live.db.admin().exec(&[&docs_sql]);
    for role in [&reader, &writer] {
        let report = test(live.as_role(role));
        assert_eq!(report["privileged"], false, "{report}");
        assert_eq!(report["powers"], serde_json::json!([]), "{report}");
    }
    Plenum::new(["query"])
        .args(live.as_role(&reader))
        .args(["--sql", "SELECT count(*) FROM t"])
        .run()
        .assert_ok();
    Plenum::new(["query", "--allow-write"])
        .args(live.as_role(&writer))
        .args(["--sql", "INSERT INTO t VALUES (30, 'thirty')"])
        .run()
        .assert_ok();
    Plenum::new(["query", "--allow-ddl"])
        .args(live.as_role(&writer))
        .args(["--sql", "CREATE TABLE not_mine (a int)"])
        .run()
        .assert_error("QUERY_FAILED");
    for role in [creator, reader, writer] {
        live.db.admin().exec(&[&format!("DROP OWNED BY {role}")]);
        live.db
            .server
            .admin(None)
            .exec(&[&format!("DROP ROLE {role}")]);
    }
}

/// A least-privilege role's SQL from docs/CONNECTIONS.md (the block after `-- plenum: TITLE`),
/// with its placeholder role and database replaced.
fn least_privilege_sql(title: &str, placeholder: &str, role: &str, database: &str) -> String {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/CONNECTIONS.md"
    ))
    .expect("docs/CONNECTIONS.md");
    let start = docs
        .find(&format!("-- plenum: {title}"))
        .unwrap_or_else(|| panic!("the docs hold the {title}"));
    let block = &docs[start..];
    let end = block.find("```").expect("the block ends");
    block[..end]
        .replace(placeholder, role)
        .replace("appdb", database)
        .replace("'change-me'", "NULL")
}

#[test]
fn every_built_in_function_of_the_server_is_classified_by_the_gate() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut admin = server.admin(None);
    let names = admin.column(
        "SELECT DISTINCT proname::text FROM pg_proc \
         WHERE pronamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) \
         ORDER BY 1",
    );
    assert!(names.len() > 2000, "{} names", names.len());
    let unknown: Vec<&String> = names
        .iter()
        .filter(|name| {
            plenum_gate::function_is_classified(name, plenum_gate::Dialect::PostgreSql)
                != Some(true)
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "built-ins the gate has not classified (review each, then add it to \
         gate/builtins/postgresql.txt or to a refusal list): {unknown:?}"
    );
}

#[test]
fn user_code_reached_without_a_name_is_refused_on_a_superuser() {
    let Some(server) = Server::postgres() else {
        return;
    };
    let mut live = Live::new(&server);
    // System views are the engine's own: read as before.
    live.superuser("SELECT count(*) FROM pg_stat_ssl", &[])
        .assert_ok();
    live.superuser("SELECT harmless(1)", &["--allow-ddl"]);
    // A domain whose check calls user code runs it on any cast to the domain.
    live.db
        .admin()
        .exec(&["CREATE DOMAIN checked AS int CHECK (run('SELECT 1') = 1)"]);
    live.superuser("SELECT 1::checked", &[])
        .assert_error("CAPABILITY_VIOLATION");
    live.db.admin().exec(&["DROP DOMAIN checked"]);
    // A user operator over user code.
    live.db.admin().exec(&[
        "CREATE FUNCTION op_run(a int, b text) RETURNS int LANGUAGE plpgsql AS \
         $$BEGIN EXECUTE b; RETURN a; END$$",
        "CREATE OPERATOR ### (LEFTARG = int, RIGHTARG = text, FUNCTION = op_run)",
    ]);
    live.superuser("SELECT 1 ### 'SELECT 1'", &[])
        .assert_error("CAPABILITY_VIOLATION");
    // Once a user operator runs user code, any operator may resolve to it: refused too.
    live.superuser("SELECT 1 + 1", &[])
        .assert_error("CAPABILITY_VIOLATION");
    live.superuser("SELECT 1", &[]).assert_ok();
}
