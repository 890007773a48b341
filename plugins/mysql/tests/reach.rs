//! Plugin API 1.2 on a live server: what names resolve to, the login's powers, and why the
//! write tier needs no fence after the statements (functions and triggers cannot run DDL).

mod common;

use common::{params, run, TestDb};
use plenum_mysql::MysqlPlugin;
use plenum_plugin_api::abi_stable::std_types::{RString, RVec};
use plenum_plugin_api::{
    AccessMode, Connection, FenceOutcome, Plugin, ReachReport, ReachRequest, ResolvedRelation,
    SqlName,
};

fn name(parts: &[&str]) -> SqlName {
    SqlName {
        parts: parts.iter().map(|part| RString::from(*part)).collect(),
        quoted: parts.iter().map(|_| false).collect(),
    }
}

fn names(list: &[&[&str]]) -> RVec<SqlName> {
    list.iter().map(|parts| name(parts)).collect()
}

fn reach(conn: &mut dyn Connection, request: &ReachRequest) -> ReachReport {
    conn.reach(request).expect("reach")
}

fn relation<'a>(report: &'a ReachReport, parts: &[&str]) -> &'a ResolvedRelation {
    report
        .relations
        .iter()
        .find(|relation| relation.name == name(parts))
        .unwrap_or_else(|| panic!("no answer for {parts:?}"))
}

fn routines(report: &ReachReport, parts: &[&str]) -> Vec<(String, String, bool)> {
    report
        .functions
        .iter()
        .find(|function| function.name == name(parts))
        .unwrap_or_else(|| panic!("no answer for {parts:?}"))
        .routines
        .iter()
        .map(|routine| {
            (
                routine.schema.to_string(),
                routine.name.to_string(),
                routine.system,
            )
        })
        .collect()
}

/// A login created for one test and dropped with the value.
struct TestUser {
    db: TestDb,
    user: String,
    password: String,
}

impl TestUser {
    fn new(db: TestDb, tag: &str, grants: &[&str]) -> TestUser {
        let mut db = db;
        let user = format!("plenum_r_{tag}_{}", std::process::id());
        let password = format!("pw-{}-reach", std::process::id());
        let _ = db.admin(&format!("DROP USER IF EXISTS '{user}'@'%'"));
        db.admin(&format!(
            "CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"
        ))
        .expect("create user");
        for grant in grants {
            let statement = grant
                .replace("{db}", &db.name)
                .replace("{user}", &format!("'{user}'@'%'"));
            db.admin(&statement)
                .unwrap_or_else(|error| panic!("{statement}: {error}"));
        }
        TestUser { db, user, password }
    }

    fn connect(&self, access: AccessMode) -> Box<dyn Connection> {
        let mut params = params(&self.db.address, access, Some(&self.db.name));
        params.user =
            plenum_plugin_api::abi_stable::std_types::ROption::RSome(self.user.as_str().into());
        params.password =
            plenum_plugin_api::abi_stable::std_types::ROption::RSome(self.password.as_str().into());
        MysqlPlugin::connect(&params).expect("connect as the test user")
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = self
            .db
            .admin(&format!("DROP USER IF EXISTS '{}'@'%'", self.user));
        let _ = self.db.admin(&format!(
            "DROP ROLE IF EXISTS plenum_r_role_{}",
            std::process::id()
        ));
    }
}

#[test]
fn root_is_privileged_and_a_select_only_login_is_not() {
    let Some(db) = TestDb::new("powers") else {
        return;
    };
    db.setup(&["CREATE TABLE t (a INT)", "CREATE VIEW v AS SELECT a FROM t"]);
    let mut root = db.connect(AccessMode::Read);
    root.begin().expect("begin");
    let report = reach(root.as_mut(), &ReachRequest::default());
    root.rollback().expect("rollback");
    assert!(!report.login.is_empty());
    assert!(report.privileged(), "root: {:?}", report.powers);
    assert!(report
        .powers
        .iter()
        .any(|power| power.escapes && power.power.contains("superuser")));

    let user = TestUser::new(db, "select", &["GRANT SELECT ON `{db}`.* TO {user}"]);
    let mut conn = user.connect(AccessMode::Read);
    conn.begin().expect("begin");
    let report = reach(conn.as_mut(), &ReachRequest::default());
    assert!(report.login.starts_with("plenum_r_"), "{}", report.login);
    assert!(report.powers.is_empty(), "{:?}", report.powers);
    assert!(!report.privileged());

    // Without SHOW VIEW the server hides a view's text, and then it cannot be vetted.
    let request = ReachRequest {
        relations: names(&[&["v"]]),
        ..ReachRequest::default()
    };
    let error = conn.reach(&request).expect_err("a hidden view definition");
    assert!(error.message.contains("SHOW VIEW"), "{error}");
    conn.rollback().expect("rollback");
}

#[test]
fn each_power_is_reported() {
    let Some(db) = TestDb::new("grants") else {
        return;
    };
    let role = format!("plenum_r_role_{}", std::process::id());
    let mut db = db;
    let _ = db.admin(&format!("DROP ROLE IF EXISTS {role}"));
    db.admin(&format!("CREATE ROLE {role}"))
        .expect("create role");
    db.admin(&format!("GRANT SUPER ON *.* TO {role}"))
        .expect("grant to role");
    let grant_role = format!("GRANT {role} TO {{user}}");
    let user = TestUser::new(
        db,
        "powers",
        &[
            "GRANT SELECT ON `{db}`.* TO {user}",
            "GRANT FILE, PROCESS ON *.* TO {user}",
            "GRANT SELECT ON `plenum_elsewhere`.* TO {user}",
            "GRANT INSERT ON `mysql`.`proc` TO {user}",
            grant_role.as_str(),
        ],
    );
    let mut conn = user.connect(AccessMode::Read);
    let report = reach(conn.as_mut(), &ReachRequest::default());
    let find = |needle: &str| {
        report
            .powers
            .iter()
            .find(|power| power.power.contains(needle))
            .unwrap_or_else(|| panic!("no power {needle}: {:?}", report.powers))
    };
    assert!(find("FILE").escapes);
    assert!(!find("PROCESS").escapes);
    assert!(find("mysql system schema").escapes);
    assert!(find("SET ROLE").escapes);
    assert!(!find("database plenum_elsewhere").escapes);
    for power in report.powers.iter() {
        assert!(!power.meaning.is_empty());
    }
}

#[test]
fn names_resolve_in_the_session() {
    let Some(db) = TestDb::new("names") else {
        return;
    };
    db.setup(&[
        "CREATE TABLE t (a INT)",
        "CREATE TABLE audit (a INT)",
        "CREATE VIEW v AS SELECT a, CONCAT('x', a) AS b FROM t WHERE a > 1",
        "CREATE VIEW vv AS SELECT a FROM v",
        "CREATE FUNCTION f(x INT) RETURNS INT DETERMINISTIC RETURN x + 1",
        "CREATE PROCEDURE p() SELECT 1",
        "CREATE TRIGGER t_ins AFTER INSERT ON t FOR EACH ROW INSERT INTO audit VALUES (NEW.a)",
    ]);
    let mut conn = db.connect(AccessMode::Write);
    conn.begin().expect("begin");
    let request = ReachRequest {
        functions: names(&[
            &["f"],
            &["F"],
            &[db.name.as_str(), "f"],
            &["p"],
            &["concat"],
            &["nope"],
            &["sys", "format_bytes"],
            &["sys", "ps_thread_stack"],
            &["sys", "statement_performance_analyzer"],
        ]),
        relations: names(&[
            &["t"],
            &["v"],
            &["missing"],
            &["mysql", "user"],
            &["MySQL", "global_priv"],
            &["INFORMATION_SCHEMA", "processlist"],
            &["performance_schema", "threads"],
        ]),
        targets: names(&[&["t"], &["vv"], &["audit"], &["mysql", "proc"]]),
    };
    let report = reach(conn.as_mut(), &request);
    conn.rollback().expect("rollback");

    let user_f = vec![(db.name.clone(), "f".to_owned(), false)];
    assert_eq!(routines(&report, &["f"]), user_f);
    assert_eq!(routines(&report, &["F"]), user_f);
    assert_eq!(routines(&report, &[db.name.as_str(), "f"]), user_f);
    assert_eq!(
        routines(&report, &["p"]),
        vec![(db.name.clone(), "p".to_owned(), false)]
    );
    assert!(routines(&report, &["concat"]).is_empty());
    assert!(routines(&report, &["nope"]).is_empty());
    assert_eq!(
        routines(&report, &["sys", "format_bytes"]),
        vec![("sys".to_owned(), "format_bytes".to_owned(), true)]
    );
    assert_eq!(
        routines(&report, &["sys", "ps_thread_stack"]),
        vec![("sys".to_owned(), "ps_thread_stack".to_owned(), false)]
    );
    assert_eq!(
        routines(&report, &["sys", "statement_performance_analyzer"]),
        vec![(
            "sys".to_owned(),
            "statement_performance_analyzer".to_owned(),
            false
        )]
    );

    let t = relation(&report, &["t"]);
    assert_eq!(
        t.schema.as_ref().map(|s| s.as_str()).into_option(),
        Some(db.name.as_str())
    );
    assert!(!t.system);
    assert!(t.view_definition.is_none());
    assert!(t.fires.is_empty(), "reads fire nothing");

    let v = relation(&report, &["v"]);
    let definition = v
        .view_definition
        .as_ref()
        .map(|d| d.to_string())
        .into_option()
        .expect("the view's text");
    // MariaDB's canonical text: lower-case keywords, every name qualified and backquoted.
    eprintln!("view definition: {definition}");
    assert!(definition.contains("concat("), "{definition}");
    assert!(
        definition.to_ascii_lowercase().starts_with("select"),
        "{definition}"
    );

    assert!(relation(&report, &["missing"]).schema.is_none());
    for system in [
        &["mysql", "user"][..],
        &["MySQL", "global_priv"],
        &["INFORMATION_SCHEMA", "processlist"],
        &["performance_schema", "threads"],
    ] {
        let found = relation(&report, system);
        assert!(found.system, "{system:?}");
        assert!(found.schema.is_some(), "{system:?}");
    }

    // Targets: the trigger on t, also through two views; none on audit; a system target.
    let trigger = |relation: &ResolvedRelation| -> Vec<(String, String, bool)> {
        relation
            .fires
            .iter()
            .map(|r| (r.schema.to_string(), r.name.to_string(), r.system))
            .collect()
    };
    let t_ins = vec![(db.name.clone(), "t_ins".to_owned(), false)];
    let targets = &report.relations[request.relations.len()..];
    assert_eq!(trigger(&targets[0]), t_ins);
    assert_eq!(trigger(&targets[1]), t_ins, "through vv -> v -> t");
    assert!(trigger(&targets[2]).is_empty());
    assert!(targets[3].system);
    assert!(report.ambient.is_empty());
}

#[test]
fn unqualified_names_follow_the_current_database() {
    let Some(db) = TestDb::new("curdb") else {
        return;
    };
    let mut conn = MysqlPlugin::connect(&params(&db.address, AccessMode::Read, Some("mysql")))
        .expect("connect to mysql");
    let request = ReachRequest {
        relations: names(&[&["global_priv"], &["proc"]]),
        targets: names(&[&["global_priv"]]),
        ..ReachRequest::default()
    };
    let report = reach(conn.as_mut(), &request);
    for relation in report.relations.iter() {
        assert!(relation.system, "{relation:?}");
        assert_eq!(
            relation.schema.as_ref().map(|s| s.as_str()).into_option(),
            Some("mysql")
        );
    }
}

/// Why MariaDB needs no write fence: a stored function or trigger cannot run DDL, GRANT,
/// dynamic SQL or FLUSH, neither directly (refused when created) nor through a procedure it
/// calls (refused when run).
#[test]
fn functions_and_triggers_cannot_change_the_schema() {
    let Some(db) = TestDb::new("fence") else {
        return;
    };
    db.setup(&[
        "CREATE TABLE t (a INT)",
        "CREATE TABLE u (a INT)",
        "CREATE PROCEDURE p_ddl() CREATE TABLE made_by_p (x INT)",
        "CREATE PROCEDURE p_grant() GRANT SELECT ON *.* TO CURRENT_USER",
        "CREATE FUNCTION f_calls_p() RETURNS INT MODIFIES SQL DATA BEGIN CALL p_ddl(); RETURN 1; END",
        "CREATE FUNCTION f_calls_grant() RETURNS INT MODIFIES SQL DATA BEGIN CALL p_grant(); RETURN 1; END",
        "CREATE TRIGGER t_calls_p BEFORE INSERT ON u FOR EACH ROW CALL p_ddl()",
    ]);
    let mut ddl = db.connect(AccessMode::Ddl);
    let refused_at_create = [
        "CREATE FUNCTION f1() RETURNS INT MODIFIES SQL DATA BEGIN CREATE TABLE x1 (a INT); RETURN 1; END",
        "CREATE FUNCTION f2() RETURNS INT MODIFIES SQL DATA BEGIN DROP TABLE t; RETURN 1; END",
        "CREATE FUNCTION f3() RETURNS INT MODIFIES SQL DATA BEGIN ALTER TABLE t ADD b INT; RETURN 1; END",
        "CREATE FUNCTION f4() RETURNS INT MODIFIES SQL DATA BEGIN CREATE USER plenum_nobody; RETURN 1; END",
        "CREATE FUNCTION f5() RETURNS INT MODIFIES SQL DATA BEGIN GRANT SELECT ON *.* TO CURRENT_USER; RETURN 1; END",
        "CREATE FUNCTION f6() RETURNS INT MODIFIES SQL DATA BEGIN COMMIT; RETURN 1; END",
        "CREATE FUNCTION f7() RETURNS INT MODIFIES SQL DATA BEGIN TRUNCATE TABLE t; RETURN 1; END",
        "CREATE FUNCTION f8() RETURNS INT MODIFIES SQL DATA BEGIN RENAME TABLE t TO t2; RETURN 1; END",
        "CREATE TRIGGER tr1 BEFORE INSERT ON t FOR EACH ROW DROP TABLE u",
        "CREATE TRIGGER tr2 BEFORE INSERT ON t FOR EACH ROW CREATE TABLE x2 (a INT)",
        "CREATE TRIGGER tr3 BEFORE INSERT ON t FOR EACH ROW CREATE INDEX i ON u (a)",
    ];
    for sql in refused_at_create {
        let error = run(ddl.as_mut(), sql, &[]).expect_err(sql);
        assert!(
            error.message.contains(
                "Explicit or implicit commit is not allowed in stored function or trigger"
            ),
            "{sql}: {error}"
        );
    }
    let dynamic = [
        "CREATE FUNCTION f9() RETURNS INT MODIFIES SQL DATA BEGIN PREPARE s FROM 'CREATE TABLE x3 (a INT)'; RETURN 1; END",
        "CREATE FUNCTION f10() RETURNS INT MODIFIES SQL DATA BEGIN EXECUTE IMMEDIATE 'CREATE TABLE x4 (a INT)'; RETURN 1; END",
        "CREATE TRIGGER tr4 BEFORE INSERT ON t FOR EACH ROW EXECUTE IMMEDIATE 'DROP TABLE u'",
    ];
    for sql in dynamic {
        let error = run(ddl.as_mut(), sql, &[]).expect_err(sql);
        assert!(
            error
                .message
                .contains("Dynamic SQL is not allowed in stored function or trigger"),
            "{sql}: {error}"
        );
    }

    // Through a procedure, in the write tier's own transaction: refused when it runs.
    let mut write = db.connect(AccessMode::Write);
    write.begin().expect("begin");
    for sql in [
        "SELECT f_calls_p()",
        "INSERT INTO t SELECT f_calls_p()",
        "SELECT f_calls_grant()",
        "INSERT INTO u VALUES (1)",
    ] {
        let error = run(write.as_mut(), sql, &[]).expect_err(sql);
        assert!(
            error.message.contains(
                "Explicit or implicit commit is not allowed in stored function or trigger"
            ),
            "{sql}: {error}"
        );
    }
    assert_eq!(write.write_fence().expect("fence"), FenceOutcome::Unchanged);
    write.rollback().expect("rollback");

    let mut read = db.connect(AccessMode::Read);
    let (_, rows) = common::query(
        read.as_mut(),
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
        &[],
    )
    .expect("count tables");
    assert_eq!(
        rows,
        vec![vec![plenum_plugin_api::Value::Int(2)]],
        "only t and u"
    );
}

#[test]
fn code_that_runs_as_another_account_is_a_power() {
    let Some(db) = TestDb::new("definer") else {
        return;
    };
    db.setup(&[
        "CREATE TABLE t (a INT)",
        "CREATE FUNCTION f_invoker() RETURNS INT SQL SECURITY INVOKER RETURN 1",
        "CREATE FUNCTION f_definer() RETURNS INT SQL SECURITY DEFINER RETURN 1",
    ]);
    let user = TestUser::new(
        db,
        "definer",
        &["GRANT SELECT, INSERT, EXECUTE ON `{db}`.* TO {user}"],
    );
    let mut conn = user.connect(AccessMode::Read);
    let calls = |parts: &[&str]| ReachRequest {
        functions: names(&[parts]),
        ..ReachRequest::default()
    };
    // The routine runs with root's privileges, whatever this login's are.
    assert!(reach(conn.as_mut(), &ReachRequest::default()).privileged());
    assert!(reach(conn.as_mut(), &calls(&["f_definer"])).privileged());
    let report = reach(conn.as_mut(), &calls(&["f_invoker"]));
    assert!(!report.privileged(), "{:?}", report.powers);
    assert_eq!(report.functions[0].routines.len(), 1);
}
