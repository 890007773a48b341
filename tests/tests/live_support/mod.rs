//! A fresh database on a live PostgreSQL or MySQL/MariaDB server for one test: created and
//! dropped through an admin connection (fixtures and outcome checks), reached through the
//! built `plenum` binary by flags or by DSN. [`scenarios`] holds the test bodies both servers
//! share, [`introspect`] the readers of `plenum introspect` envelopes.
#![allow(dead_code)] // each test file uses a different part

pub mod introspect;
pub mod scenarios;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use plenum_e2e::{
    engine_available, mysql_url, plenum_bin, postgres_url, server_available, unique_name,
    url_with_database, Plenum, Run,
};
use serde_json::Value as Json;

/// The variable that carries the admin URL's password (if any) to `plenum --password-env`.
const PASSWORD_VARIABLE: &str = "PLENUM_TEST_DB_PASSWORD";

/// Which server family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

/// A live server the tests may use, from `PLENUM_TEST_POSTGRES_URL` / `PLENUM_TEST_MYSQL_URL`.
#[derive(Debug, Clone)]
pub struct Server {
    /// The server family.
    pub kind: Kind,
    /// The admin URL.
    pub url: String,
    /// Host from the URL.
    pub host: String,
    /// Port from the URL.
    pub port: u16,
    /// User from the URL.
    pub user: String,
    /// Password from the URL, if any.
    pub password: Option<String>,
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = text
            .get(index + 1..index + 3)
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[index], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Server {
    fn parse(kind: Kind, url: &str) -> Server {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        let (credentials, address) = authority.rsplit_once('@').unwrap_or(("", authority));
        let (user, password) = match credentials.split_once(':') {
            Some((user, password)) => (user, Some(percent_decode(password))),
            None => (credentials, None),
        };
        let default_port = match kind {
            Kind::Postgres => 5432,
            Kind::Mysql => 3306,
        };
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().unwrap_or(default_port)),
            None => (address, default_port),
        };
        let default_user = match kind {
            Kind::Postgres => "postgres",
            Kind::Mysql => "root",
        };
        Server {
            kind,
            url: url.to_owned(),
            host: host.to_owned(),
            port,
            user: if user.is_empty() {
                default_user.to_owned()
            } else {
                percent_decode(user)
            },
            password: password.filter(|password| !password.is_empty()),
        }
    }

    /// The PostgreSQL server, or `None` (after a notice, or a panic under `CI=true`) when it
    /// or the plugin is missing.
    pub fn postgres() -> Option<Server> {
        let url = postgres_url();
        (engine_available("postgres") && server_available(&url, "PostgreSQL"))
            .then(|| Server::parse(Kind::Postgres, &url))
    }

    /// The MySQL/MariaDB server, or `None` like [`Server::postgres`].
    pub fn mysql() -> Option<Server> {
        let url = mysql_url();
        (engine_available("mysql") && server_available(&url, "MySQL/MariaDB"))
            .then(|| Server::parse(Kind::Mysql, &url))
    }

    /// The engine name plugins declare.
    pub fn engine(&self) -> &'static str {
        match self.kind {
            Kind::Postgres => "postgres",
            Kind::Mysql => "mysql",
        }
    }

    /// A new admin connection to `database` (the URL's own database when `None`).
    pub fn admin(&self, database: Option<&str>) -> Admin {
        match self.kind {
            Kind::Postgres => {
                let url = match database {
                    Some(database) => url_with_database(&self.url, database),
                    None => self.url.clone(),
                };
                let client = postgres::Client::connect(&url, postgres::NoTls)
                    .unwrap_or_else(|error| panic!("admin connection to PostgreSQL: {error}"));
                Admin::Postgres(Box::new(client))
            }
            Kind::Mysql => {
                let opts = mysql::Opts::from_url(&self.url)
                    .unwrap_or_else(|error| panic!("PLENUM_TEST_MYSQL_URL: {error}"));
                let mut builder = mysql::OptsBuilder::from_opts(opts).prefer_socket(false);
                if let Some(database) = database {
                    builder = builder.db_name(Some(database));
                }
                let mut conn = mysql::Conn::new(builder)
                    .unwrap_or_else(|error| panic!("admin connection to MySQL: {error}"));
                // Checksums concatenate whole tables.
                conn.query_drop("SET SESSION group_concat_max_len = 1073741824")
                    .unwrap_or_else(|error| panic!("admin session setting: {error}"));
                Admin::Mysql(Box::new(conn))
            }
        }
    }

    /// `plenum` with the admin URL's password (if any) in the environment.
    pub fn plenum<I, S>(&self, args: I) -> Plenum
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let plenum = Plenum::new(args);
        match &self.password {
            Some(password) => plenum.env(PASSWORD_VARIABLE, password),
            None => plenum,
        }
    }

    /// Connection flags for `database` (`--engine … --database D`).
    pub fn flags(&self, database: &str) -> Vec<String> {
        let mut flags = vec![
            "--engine".to_owned(),
            self.engine().to_owned(),
            "--host".to_owned(),
            self.host.clone(),
            "--port".to_owned(),
            self.port.to_string(),
            "--user".to_owned(),
            self.user.clone(),
            "--database".to_owned(),
            database.to_owned(),
        ];
        if self.password.is_some() {
            flags.extend(["--password-env".to_owned(), PASSWORD_VARIABLE.to_owned()]);
        }
        flags
    }

    /// A DSN for `database`, in the engine's scheme.
    pub fn dsn(&self, database: &str) -> String {
        let url = url_with_database(&self.url, database);
        let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        format!("{}://{rest}", self.engine())
    }
}

/// An admin connection (never through plenum).
pub enum Admin {
    /// PostgreSQL.
    Postgres(Box<postgres::Client>),
    /// MySQL/MariaDB.
    Mysql(Box<mysql::Conn>),
}

/// The server's message when there is one ("db error" alone says nothing).
fn postgres_error(error: &postgres::Error) -> String {
    error
        .as_db_error()
        .map_or_else(|| error.to_string(), ToString::to_string)
}

fn mysql_text(value: mysql::Value) -> Option<String> {
    match value {
        mysql::Value::NULL => None,
        mysql::Value::Bytes(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        other => Some(other.as_sql(true).trim_matches('\'').to_owned()),
    }
}

impl Admin {
    /// Runs each statement (stacked statements and routine bodies are fine here).
    pub fn exec(&mut self, statements: &[&str]) {
        for sql in statements {
            let result = match self {
                Admin::Postgres(client) => {
                    client.batch_execute(sql).map_err(|e| postgres_error(&e))
                }
                Admin::Mysql(conn) => conn.query_drop(*sql).map_err(|e| e.to_string()),
            };
            if let Err(error) = result {
                panic!("admin SQL failed: {error}\n{sql}");
            }
        }
    }

    /// Every row of `sql`, as text (`None` for NULL).
    pub fn rows(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        let result = match self {
            Admin::Postgres(client) => client
                .simple_query(sql)
                .map(|messages| {
                    messages
                        .into_iter()
                        .filter_map(|message| match message {
                            postgres::SimpleQueryMessage::Row(row) => Some(
                                (0..row.len())
                                    .map(|index| row.get(index).map(str::to_owned))
                                    .collect(),
                            ),
                            _ => None,
                        })
                        .collect()
                })
                .map_err(|error| postgres_error(&error)),
            Admin::Mysql(conn) => conn
                .query::<mysql::Row, _>(sql)
                .map(|rows| {
                    rows.into_iter()
                        .map(|row| {
                            (0..row.len())
                                .map(|index| {
                                    mysql_text(
                                        row.as_ref(index).cloned().unwrap_or(mysql::Value::NULL),
                                    )
                                })
                                .collect()
                        })
                        .collect()
                })
                .map_err(|error| error.to_string()),
        };
        result.unwrap_or_else(|error| panic!("admin query failed: {error}\n{sql}"))
    }

    /// The first column of every row of `sql`, NULLs left out.
    pub fn column(&mut self, sql: &str) -> Vec<String> {
        self.rows(sql)
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .collect()
    }

    /// The first column of the first row ("" for NULL or no row).
    pub fn text(&mut self, sql: &str) -> String {
        self.rows(sql)
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next().flatten())
            .unwrap_or_default()
    }
}

/// What a statement could have changed: row checksums per table and the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// `count:md5` of each table's (and sequence's) ordered rows.
    pub rows: BTreeMap<String, String>,
    /// Catalog listings: relations with their privileges, columns, functions, roles, …
    pub catalog: BTreeMap<String, String>,
}

impl Fingerprint {
    /// The keys whose values differ from `other`, with both values.
    pub fn diff(&self, other: &Fingerprint) -> String {
        let mut out = String::new();
        for (what, before, after) in [
            ("rows", &self.rows, &other.rows),
            ("catalog", &self.catalog, &other.catalog),
        ] {
            let keys: std::collections::BTreeSet<&String> =
                before.keys().chain(after.keys()).collect();
            for key in keys {
                if before.get(key) != after.get(key) {
                    let _ = writeln!(
                        out,
                        "  {what}[{key}]: {:?} -> {:?}",
                        before.get(key),
                        after.get(key)
                    );
                }
            }
        }
        out
    }
}

/// A database of its own on a live server, dropped on drop (also when the test panics).
pub struct TestDb {
    /// The server.
    pub server: Server,
    /// The database name (`plenum_t_…`).
    pub name: String,
    admin: Option<Admin>,
}

impl TestDb {
    /// Creates `plenum_t_<unique>` and runs `setup` in it on the admin connection.
    pub fn create(server: &Server, setup: &[&str]) -> TestDb {
        let name = unique_name("plenum_t");
        let mut bootstrap = server.admin(None);
        match server.kind {
            Kind::Postgres => bootstrap.exec(&[&format!("CREATE DATABASE \"{name}\"")]),
            Kind::Mysql => bootstrap.exec(&[&format!(
                "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            )]),
        }
        drop(bootstrap);
        let mut db = TestDb {
            server: server.clone(),
            admin: None,
            name,
        };
        let admin = server.admin(Some(&db.name));
        db.admin = Some(admin);
        db.admin().exec(setup);
        db
    }

    /// The admin connection to this database.
    pub fn admin(&mut self) -> &mut Admin {
        self.admin.as_mut().expect("the admin connection is open")
    }

    /// Connection flags for this database.
    pub fn flags(&self) -> Vec<String> {
        self.server.flags(&self.name)
    }

    /// The DSN of this database.
    pub fn dsn(&self) -> String {
        self.server.dsn(&self.name)
    }

    /// The connection arguments of `via`.
    pub fn connection(&self, via: Via) -> Vec<String> {
        match via {
            Via::Flags => self.flags(),
            Via::Dsn => {
                let mut args = vec!["--dsn".to_owned(), self.dsn()];
                if self.server.password.is_some() {
                    // The URL carries it already; the flag is harmless and keeps runs alike.
                    args.extend(["--password-env".to_owned(), PASSWORD_VARIABLE.to_owned()]);
                }
                args
            }
        }
    }

    /// `plenum query` on this database.
    pub fn query_plenum(&self, via: Via, sql: &str, extra: &[&str]) -> Plenum {
        self.server
            .plenum(["query"])
            .args(self.connection(via))
            .args(sql_argument(sql))
            .args(extra)
    }

    /// Runs `plenum query` on this database.
    pub fn query(&self, via: Via, sql: &str, extra: &[&str]) -> Run {
        self.query_plenum(via, sql, extra).run()
    }

    /// A path under `/tmp` that no one else uses, for statements that might write files.
    pub fn scratch_file(&self, label: &str) -> PathBuf {
        let path = PathBuf::from(format!("/tmp/{}_{label}", self.name));
        let _ = std::fs::remove_file(&path);
        path
    }

    /// The admin connection's session id on the server (backend pid, connection id).
    pub fn admin_session_id(&mut self) -> String {
        let sql = match self.server.kind {
            Kind::Postgres => "SELECT pg_backend_pid()",
            Kind::Mysql => "SELECT CONNECTION_ID()",
        };
        self.admin().text(sql)
    }

    /// Panics unless the server can write a file under `/tmp`, where attack shapes would
    /// write theirs: a file check that cannot fail would prove nothing.
    pub fn assert_server_writes_scratch_files(&mut self) {
        let control = self.scratch_file("control");
        let sql = match self.server.kind {
            Kind::Postgres => format!("COPY (SELECT 1) TO '{}'", control.display()),
            Kind::Mysql => format!("SELECT 1 INTO OUTFILE '{}'", control.display()),
        };
        self.admin().exec(&[&sql]);
        assert!(control.exists(), "the server cannot write to /tmp");
        let _ = std::fs::remove_file(&control);
    }

    /// The current fingerprint (see [`Fingerprint`]).
    pub fn fingerprint(&mut self) -> Fingerprint {
        match self.server.kind {
            Kind::Postgres => self.postgres_fingerprint(),
            Kind::Mysql => self.mysql_fingerprint(),
        }
    }

    fn postgres_fingerprint(&mut self) -> Fingerprint {
        let name = self.name.clone();
        let admin = self.admin();
        let relations = admin.rows(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relkind::text
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'S', 'm', 'p')
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\\_%'
             ORDER BY 1",
        );
        let mut rows = BTreeMap::new();
        for row in relations {
            let (Some(relation), Some(kind)) = (row[0].clone(), row[1].clone()) else {
                continue;
            };
            // A sequence has no row type to aggregate; its state is three columns.
            let sql = if kind == "S" {
                format!("SELECT last_value || ':' || log_cnt || ':' || is_called FROM {relation}")
            } else {
                format!(
                    "SELECT count(*) || ':' || md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), ''))
                     FROM {relation} AS x"
                )
            };
            let checksum = admin.text(&sql);
            rows.insert(relation, checksum);
        }
        let mut catalog = BTreeMap::new();
        for (key, sql) in [
            (
                "relations",
                "SELECT string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' || coalesce(c.relacl::text, '-'), ',' ORDER BY n.nspname, c.relname)
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'".to_owned(),
            ),
            (
                "columns",
                "SELECT string_agg(table_schema || '.' || table_name || '.' || column_name || ':' || data_type || ':' || coalesce(column_default, '-'), ',' ORDER BY table_schema, table_name, ordinal_position)
                 FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema')".to_owned(),
            ),
            (
                "functions",
                "SELECT string_agg(p.oid::regprocedure::text, ',' ORDER BY p.oid::regprocedure::text)
                 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')".to_owned(),
            ),
            (
                "schemas",
                "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_temp%' AND nspname NOT LIKE 'pg\\_toast\\_temp%'".to_owned(),
            ),
            (
                "extensions",
                "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension".to_owned(),
            ),
            (
                "roles",
                format!("SELECT string_agg(rolname || ':' || rolsuper || ':' || rolcanlogin, ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE '{name}%'"),
            ),
            (
                "database",
                "SELECT coalesce(datacl::text, '-') || ':' || coalesce((SELECT string_agg(array_to_string(setconfig, ';'), ',') FROM pg_db_role_setting WHERE setdatabase = d.oid), '-')
                 FROM pg_database d WHERE datname = current_database()".to_owned(),
            ),
            (
                "large_objects",
                "SELECT count(*)::text FROM pg_largeobject_metadata".to_owned(),
            ),
            (
                "replication_slots",
                format!("SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots WHERE slot_name LIKE '{name}%'"),
            ),
            (
                "databases",
                format!("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE '{name}%'"),
            ),
        ] {
            catalog.insert(key.to_owned(), admin.text(&sql));
        }
        Fingerprint { rows, catalog }
    }

    fn mysql_fingerprint(&mut self) -> Fingerprint {
        let name = self.name.clone();
        let admin = self.admin();
        let tables = admin.column(
            "SELECT TABLE_NAME FROM information_schema.TABLES
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ('BASE TABLE', 'SEQUENCE')
             ORDER BY 1",
        );
        let mut rows = BTreeMap::new();
        for table in tables {
            let columns: Vec<String> = admin
                .column(&format!(
                    "SELECT COLUMN_NAME FROM information_schema.COLUMNS
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}'
                     ORDER BY ORDINAL_POSITION"
                ))
                .into_iter()
                .map(|column| format!("IFNULL(HEX(CAST(`{column}` AS BINARY)), 'N')"))
                .collect();
            let row = format!("CONCAT_WS(',', {})", columns.join(", "));
            let checksum = admin.text(&format!(
                "SELECT CONCAT(COUNT(*), ':', MD5(IFNULL(GROUP_CONCAT({row} ORDER BY {row} SEPARATOR '|'), '')))
                 FROM `{table}`"
            ));
            rows.insert(table, checksum);
        }
        let mut catalog = BTreeMap::new();
        for (key, sql) in [
            (
                "tables",
                "SELECT GROUP_CONCAT(CONCAT(TABLE_NAME, ':', TABLE_TYPE, ':', IFNULL(ENGINE, '-')) ORDER BY TABLE_NAME)
                 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()".to_owned(),
            ),
            (
                "columns",
                "SELECT GROUP_CONCAT(CONCAT(TABLE_NAME, '.', COLUMN_NAME, ':', COLUMN_TYPE) ORDER BY TABLE_NAME, ORDINAL_POSITION)
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()".to_owned(),
            ),
            (
                "indexes",
                "SELECT GROUP_CONCAT(CONCAT(TABLE_NAME, '.', INDEX_NAME, '.', COLUMN_NAME) ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX)
                 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()".to_owned(),
            ),
            (
                "routines",
                "SELECT GROUP_CONCAT(CONCAT(ROUTINE_TYPE, ':', ROUTINE_NAME) ORDER BY ROUTINE_TYPE, ROUTINE_NAME)
                 FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()".to_owned(),
            ),
            (
                "triggers",
                "SELECT GROUP_CONCAT(TRIGGER_NAME ORDER BY TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()".to_owned(),
            ),
            (
                "events",
                "SELECT GROUP_CONCAT(EVENT_NAME ORDER BY EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()".to_owned(),
            ),
            (
                "schema_privileges",
                "SELECT GROUP_CONCAT(CONCAT(GRANTEE, ':', PRIVILEGE_TYPE) ORDER BY GRANTEE, PRIVILEGE_TYPE)
                 FROM information_schema.SCHEMA_PRIVILEGES WHERE TABLE_SCHEMA = DATABASE()".to_owned(),
            ),
            (
                "table_privileges",
                "SELECT GROUP_CONCAT(CONCAT(GRANTEE, ':', TABLE_NAME, ':', PRIVILEGE_TYPE) ORDER BY GRANTEE, TABLE_NAME, PRIVILEGE_TYPE)
                 FROM information_schema.TABLE_PRIVILEGES WHERE TABLE_SCHEMA = DATABASE()".to_owned(),
            ),
            (
                "users",
                format!("SELECT GROUP_CONCAT(CONCAT(User, '@', Host) ORDER BY User, Host) FROM mysql.user WHERE User LIKE '{name}%'"),
            ),
            (
                "databases",
                format!("SELECT GROUP_CONCAT(SCHEMA_NAME ORDER BY SCHEMA_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{name}%'"),
            ),
            (
                "globals",
                "SELECT CONCAT_WS(':', @@global.max_statement_time, @@global.read_only, @@global.general_log, @@global.local_infile, @@global.event_scheduler)".to_owned(),
            ),
        ] {
            catalog.insert(key.to_owned(), admin.text(&sql));
        }
        Fingerprint { rows, catalog }
    }

    /// How many statements containing `marker` run on the server now (other than the admin
    /// connection's own).
    pub fn running(&mut self, marker: &str) -> u64 {
        let sql = match self.server.kind {
            Kind::Postgres => format!(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%{marker}%'"
            ),
            Kind::Mysql => format!(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST
                 WHERE ID <> CONNECTION_ID() AND INFO LIKE '%{marker}%'"
            ),
        };
        self.admin().text(&sql).parse().unwrap_or(0)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.admin.take();
        let name = self.name.clone();
        let server = self.server.clone();
        // Cleanup must not turn a failing test into an abort, nor hide its message.
        let _ = std::panic::catch_unwind(move || {
            let mut bootstrap = server.admin(None);
            // Roles, users and databases a failed refusal might have left behind carry the
            // database's name as a prefix.
            let mut statements = Vec::new();
            match server.kind {
                Kind::Postgres => {
                    statements.push(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
                    for role in bootstrap.column(&format!(
                        "SELECT rolname FROM pg_roles WHERE rolname LIKE '{name}%'"
                    )) {
                        statements.push(format!("DROP ROLE IF EXISTS \"{role}\""));
                    }
                    for slot in bootstrap.column(&format!(
                        "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE '{name}%'"
                    )) {
                        statements.push(format!("SELECT pg_drop_replication_slot('{slot}')"));
                    }
                }
                Kind::Mysql => {
                    statements.push(format!("DROP DATABASE IF EXISTS `{name}`"));
                    for database in bootstrap.column(&format!(
                        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{name}\\_%'"
                    )) {
                        statements.push(format!("DROP DATABASE IF EXISTS `{database}`"));
                    }
                    for row in bootstrap.rows(&format!(
                        "SELECT User, Host FROM mysql.user WHERE User LIKE '{name}%'"
                    )) {
                        if let (Some(user), Some(host)) = (&row[0], &row[1]) {
                            statements.push(format!("DROP USER IF EXISTS '{user}'@'{host}'"));
                        }
                    }
                }
            }
            let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
            bootstrap.exec(&statements);
        });
    }
}

/// `--sql TEXT`, or `--sql=TEXT` when the text starts with `-` (which `--sql TEXT` does not
/// take: the shape must reach the gate, not stop at the argument parser).
pub fn sql_argument(sql: &str) -> Vec<String> {
    if sql.starts_with('-') {
        vec![format!("--sql={sql}")]
    } else {
        vec!["--sql".to_owned(), sql.to_owned()]
    }
}

/// How a run names its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `--engine --host --port --user --database`.
    Flags,
    /// `--dsn`.
    Dsn,
}

/// A tier as a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// No flag.
    Read,
    /// `--allow-write`.
    Write,
    /// `--allow-ddl`.
    Ddl,
}

impl Tier {
    /// Every tier, lowest first.
    pub const ALL: [Tier; 3] = [Tier::Read, Tier::Write, Tier::Ddl];

    /// The flags that ask for this tier.
    pub fn flags(self) -> &'static [&'static str] {
        match self {
            Tier::Read => &[],
            Tier::Write => &["--allow-write"],
            Tier::Ddl => &["--allow-ddl"],
        }
    }
}

/// Where an attack shape belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Belongs {
    /// It is a write: refused in the read tier.
    Write,
    /// It changes the schema: refused in the read and write tiers.
    Ddl,
    /// Refused in every tier.
    Never,
    /// In this dialect it is not an attack (the dangerous part is a comment or a string):
    /// it may run in every tier and must change nothing.
    Harmless,
}

/// Which layer is expected to stop a shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The gate: `CAPABILITY_VIOLATION` or `PARSE_ERROR`, before the plugin sees anything.
    Gate,
    /// The engine's read-only transaction: `QUERY_FAILED`.
    Engine,
    /// The host's reach check, before anything runs: the shape calls user code, and the
    /// test login (a superuser) could act outside the session through it.
    Reach,
}

/// One attack shape.
#[derive(Debug, Clone)]
pub struct Shape {
    /// The SQL as an agent would send it.
    pub sql: String,
    /// Where it belongs.
    pub belongs: Belongs,
    /// Which layer stops it.
    pub layer: Layer,
    /// Files it would create on the server's machine: none may exist afterwards.
    pub files: Vec<PathBuf>,
}

impl Shape {
    fn new(layer: Layer, belongs: Belongs, sql: impl Into<String>) -> Shape {
        Shape {
            sql: sql.into(),
            belongs,
            layer,
            files: Vec::new(),
        }
    }

    /// A shape stopped by the gate.
    pub fn gate(belongs: Belongs, sql: impl Into<String>) -> Shape {
        Shape::new(Layer::Gate, belongs, sql)
    }

    /// A shape the gate lets through at read and the engine's read-only session stops.
    pub fn engine(belongs: Belongs, sql: impl Into<String>) -> Shape {
        Shape::new(Layer::Engine, belongs, sql)
    }

    /// A shape that calls user code: refused before it runs on a login with powers beyond
    /// the tiers (the live tests' superuser).
    pub fn reach(belongs: Belongs, sql: impl Into<String>) -> Shape {
        Shape::new(Layer::Reach, belongs, sql)
    }

    /// The same shape, with a file that must not exist afterwards.
    pub fn creating(mut self, file: PathBuf) -> Shape {
        self.files.push(file);
        self
    }

    /// The tiers the shape does not belong to.
    pub fn foreign_tiers(&self) -> &'static [Tier] {
        match self.belongs {
            Belongs::Write => &[Tier::Read],
            Belongs::Ddl => &[Tier::Read, Tier::Write],
            Belongs::Never | Belongs::Harmless => &Tier::ALL,
        }
    }
}

/// The first dozen of `shapes` that create no file and are not harmless, once more with
/// their keywords in odd case.
pub fn odd_case_copies(shapes: &[Shape]) -> Vec<Shape> {
    shapes
        .iter()
        .filter(|shape| shape.files.is_empty() && shape.belongs != Belongs::Harmless)
        .take(12)
        .map(|shape| Shape {
            sql: shape
                .sql
                .replace("DELETE", "dElEtE")
                .replace("SELECT", "select")
                .replace("COMMIT", "Commit"),
            ..shape.clone()
        })
        .collect()
}

/// Runs every shape in every tier it does not belong to (alternating flags and DSN), and
/// checks the outcome: refused by the expected layer, and no row, catalog entry or file
/// changed. Panics with every problem found.
pub fn assert_shapes_change_nothing(db: &mut TestDb, shapes: &[Shape]) {
    let mut problems = Vec::new();
    let mut baseline = db.fingerprint();
    for (index, shape) in shapes.iter().enumerate() {
        let via = if index % 2 == 0 { Via::Flags } else { Via::Dsn };
        for &tier in shape.foreign_tiers() {
            let run = db.query(via, &shape.sql, tier.flags());
            let after = db.fingerprint();
            let label = format!("{:?} in the {tier:?} tier via {via:?}", shape.sql);
            let code = run.error_code();
            let expected = match (shape.belongs, shape.layer) {
                (Belongs::Harmless, _) => true,
                (_, Layer::Gate) => code == "CAPABILITY_VIOLATION" || code == "PARSE_ERROR",
                (_, Layer::Engine) => code == "QUERY_FAILED",
                (_, Layer::Reach) => code == "CAPABILITY_VIOLATION",
            };
            if !expected {
                problems.push(format!(
                    "{label}: expected a refusal by the {:?}, got {}",
                    shape.layer, run.stdout
                ));
            }
            if after != baseline {
                problems.push(format!(
                    "{label}: the database changed ({}):\n{}",
                    run.stdout.trim(),
                    baseline.diff(&after)
                ));
                baseline = after;
            }
            for file in &shape.files {
                if file.exists() {
                    problems.push(format!("{label}: created {}", file.display()));
                    let _ = std::fs::remove_file(file);
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The JSON Schemas `plenum schema` publishes.
pub fn schemas() -> Json {
    let run = Plenum::new(["schema"]).run();
    run.assert_ok();
    run.json["data"].clone()
}

/// Panics unless `instance` is valid against `schema`.
pub fn assert_valid(schema: &Json, instance: &Json) {
    let validator = jsonschema::validator_for(schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}\ninstance: {instance}");
}

/// Wall time, peak resident memory (KiB, from `/usr/bin/time`, when installed) and the
/// envelope of one `plenum` run with `args`.
pub fn measure(server: &Server, args: &[String]) -> (Duration, Option<u64>, Json) {
    let time = std::path::Path::new("/usr/bin/time");
    let mut command = if time.is_file() {
        let mut command = Command::new(time);
        command.args(["-f", "PEAK_KB=%M"]).arg(plenum_bin());
        command
    } else {
        Command::new(plenum_bin())
    };
    command
        .args(args)
        .env_remove("PLENUM_MAX_CAPABILITY")
        .env_remove("PLENUM_PLUGIN_PATH");
    if let Some(password) = &server.password {
        command.env(PASSWORD_VARIABLE, password);
    }
    let started = Instant::now();
    let output = command.output().expect("run plenum");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json: Json = serde_json::from_str(&stdout)
        .unwrap_or_else(|error| panic!("not one JSON document ({error}): {stdout}"));
    let peak = String::from_utf8_lossy(&output.stderr)
        .lines()
        .find_map(|line| {
            line.strip_prefix("PEAK_KB=")
                .and_then(|kb| kb.trim().parse().ok())
        });
    (elapsed, peak, json)
}
