//! Helpers shared by the integration tests: the server address, a throw-away database per
//! test, and reading whole results through the plugin API.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use plenum_mysql::MysqlPlugin;
use plenum_plugin_api::abi_stable::std_types::{ROption, RVec};
use plenum_plugin_api::{
    AccessMode, Column, ConnectParams, Connection, ErrorKind, Plugin, PluginError, SslMode, Value,
};

const DEFAULT_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// Where the test server is, parsed from `PLENUM_TEST_MYSQL_URL`.
#[derive(Debug, Clone)]
pub struct ServerAddress {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
    pub database: Option<String>,
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok();
            if let Some(byte) = hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                out.push(byte);
                index += 3;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The test server's address.
pub fn address() -> ServerAddress {
    let url = std::env::var("PLENUM_TEST_MYSQL_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    address_from(&url)
}

/// A server address parsed from a `mysql://user:password@host:port/database` URL.
pub fn address_from(url: &str) -> ServerAddress {
    let rest = url
        .strip_prefix("mysql://")
        .or_else(|| url.strip_prefix("mariadb://"))
        .unwrap_or_else(|| panic!("the test URL must start with mysql://"));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (credentials, host_port) = match authority.rsplit_once('@') {
        Some((credentials, host_port)) => (Some(credentials), host_port),
        None => (None, authority),
    };
    let (user, password) = match credentials {
        Some(credentials) => match credentials.split_once(':') {
            Some((user, password)) => (Some(percent_decode(user)), Some(percent_decode(password))),
            None => (Some(percent_decode(credentials)), None),
        },
        None => (None, None),
    };
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) => (host.to_owned(), port.parse().expect("port in the test URL")),
        None => (host_port.to_owned(), 3306),
    };
    let database = path.split('?').next().filter(|db| !db.is_empty());
    ServerAddress {
        host,
        port,
        user,
        password,
        database: database.map(percent_decode),
    }
}

/// Connection parameters for the test server.
pub fn params(
    address: &ServerAddress,
    access: AccessMode,
    database: Option<&str>,
) -> ConnectParams {
    let mut params = ConnectParams::new("mariadb", access);
    params.host = ROption::RSome(address.host.as_str().into());
    params.port = ROption::RSome(address.port);
    params.user = address.user.as_deref().map(Into::into).into();
    params.password = address.password.as_deref().map(Into::into).into();
    params.database = database.map(Into::into).into();
    params.ssl_mode = SslMode::Disable;
    params
}

/// Reports an unreachable server: a failure under CI, a notice and a skip elsewhere.
pub fn unreachable(error: &PluginError) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the MySQL test server is unreachable (CI=true): {error}");
    }
    eprintln!("skipped: the MySQL test server is unreachable ({error}); set PLENUM_TEST_MYSQL_URL");
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database created for one test and dropped when the value is dropped.
pub struct TestDb {
    pub address: ServerAddress,
    pub name: String,
    admin: Box<dyn Connection>,
}

impl TestDb {
    /// Creates a fresh database, or returns `None` (after the skip notice) when the server
    /// cannot be reached.
    pub fn new(tag: &str) -> Option<TestDb> {
        let address = address();
        let mut admin = match MysqlPlugin::connect(&params(&address, AccessMode::Ddl, None)) {
            Ok(admin) => admin,
            Err(error) if error.kind == ErrorKind::Connection => {
                unreachable(&error);
                return None;
            }
            Err(error) => panic!("cannot open the admin session: {error}"),
        };
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "plenum_t_{tag}_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        run(admin.as_mut(), &format!("CREATE DATABASE `{name}`"), &[]).expect("create database");
        Some(TestDb {
            address,
            name,
            admin,
        })
    }

    /// Parameters for a session in this database.
    pub fn params(&self, access: AccessMode) -> ConnectParams {
        params(&self.address, access, Some(&self.name))
    }

    /// Opens a session in this database.
    pub fn connect(&self, access: AccessMode) -> Box<dyn Connection> {
        MysqlPlugin::connect(&self.params(access)).expect("connect to the test database")
    }

    /// Runs setup statements in this database through a DDL session.
    pub fn setup(&self, statements: &[&str]) {
        let mut conn = self.connect(AccessMode::Ddl);
        for statement in statements {
            if let Err(error) = run(conn.as_mut(), statement, &[]) {
                panic!("setup statement failed: {statement}: {error}");
            }
        }
    }

    /// Runs one statement outside this database through the admin session.
    pub fn admin(&mut self, sql: &str) -> Result<(Vec<Column>, Vec<Vec<Value>>), PluginError> {
        query(self.admin.as_mut(), sql, &[])
    }

    /// Reads a whole result in this database through a fresh read session.
    pub fn read(&self, sql: &str) -> Vec<Vec<Value>> {
        let mut conn = self.connect(AccessMode::Read);
        query(conn.as_mut(), sql, &[])
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
            .1
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS `{}`", self.name);
        let _ = run(self.admin.as_mut(), &statement, &[]);
    }
}

/// Runs a statement and returns the rows it affected.
pub fn run(
    conn: &mut dyn Connection,
    sql: &str,
    params: &[Value],
) -> Result<Option<u64>, PluginError> {
    let mut cursor = conn.execute(sql, params, 0)?;
    let mut out = RVec::new();
    while cursor.fetch(100, &mut out)? > 0 {}
    Ok(cursor.rows_affected())
}

/// Runs a statement and returns its columns and all its rows.
pub fn query(
    conn: &mut dyn Connection,
    sql: &str,
    params: &[Value],
) -> Result<(Vec<Column>, Vec<Vec<Value>>), PluginError> {
    let mut cursor = conn.execute(sql, params, 0)?;
    let columns = cursor.columns();
    let mut out = RVec::new();
    while cursor.fetch(100, &mut out)? > 0 {}
    let width = columns.len().max(1);
    let rows = out.chunks(width).map(|row| row.to_vec()).collect();
    Ok((columns, rows))
}

/// The single integer a query returns.
pub fn scalar_int(conn: &mut dyn Connection, sql: &str) -> i64 {
    match query(conn, sql, &[])
        .expect(sql)
        .1
        .first()
        .and_then(|row| row.first())
    {
        Some(Value::Int(value)) => *value,
        other => panic!("{sql}: expected one integer, got {other:?}"),
    }
}

/// Text value shorthand.
pub fn text(value: &str) -> Value {
    Value::Text(value.into())
}
