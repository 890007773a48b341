//! Shared helpers for the tests against a live PostgreSQL server.
//!
//! The server comes from `PLENUM_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). When it cannot be reached, a test fails under
//! `CI=true` and otherwise prints a `skipped:` notice and returns. Each test works in a
//! database of its own, created with a unique name and dropped at the end.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use plenum_plugin_api::abi_stable::std_types::{ROption, RVec};
use plenum_plugin_api::{
    AccessMode, Column, ConnectParams, Connection, Plugin, PluginError, PluginResult, SslMode,
    Value,
};
use plenum_postgres::PostgresPlugin;
use postgres::config::Host;
use postgres::{Client, Config, NoTls};

/// The live server the tests use, as an administrator connection can reach it.
pub struct Server {
    config: Config,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
}

/// `PLENUM_TEST_POSTGRES_URL`, or the local default.
pub fn url() -> String {
    std::env::var("PLENUM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The server, or `None` after a skip notice when it is unreachable outside CI.
pub fn server() -> Option<Server> {
    let url = url();
    let config = Config::from_str(&url).unwrap_or_else(|e| panic!("bad test URL: {e}"));
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        other => panic!("the test URL needs a TCP host, not {other:?}"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres").to_owned();
    let password = config
        .get_password()
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned());
    let server = Server {
        config,
        host,
        port,
        user,
        password,
    };
    match server.config.connect(NoTls) {
        Ok(_) => Some(server),
        Err(error) => {
            let why = format!(
                "PostgreSQL at {}:{} is unreachable ({error})",
                server.host, server.port
            );
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{why}, and CI=true requires it");
            }
            eprintln!("skipped: {why}; set CI=true to make this fail");
            None
        }
    }
}

impl Server {
    /// A connection to the URL's own database, for setup and checks.
    pub fn admin(&self) -> Client {
        self.config
            .connect(NoTls)
            .unwrap_or_else(|e| panic!("admin connection: {e}"))
    }

    /// A new empty database; dropped when the returned guard is.
    pub fn create_database(&self, tag: &str) -> TestDb {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "plenum_pg_{tag}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        self.admin()
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        TestDb {
            name,
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            password: self.password.clone(),
            admin_config: self.config.clone(),
        }
    }

    /// Connection parameters for this server with the given database and access mode.
    pub fn params(&self, database: &str, access: AccessMode) -> ConnectParams {
        let mut params = ConnectParams::new("postgres", access);
        params.host = ROption::RSome(self.host.as_str().into());
        params.port = ROption::RSome(self.port);
        params.user = ROption::RSome(self.user.as_str().into());
        params.password = self.password.as_deref().map(Into::into).into();
        params.database = ROption::RSome(database.into());
        params.ssl_mode = SslMode::Disable;
        params
    }
}

/// A database that exists for one test.
pub struct TestDb {
    pub name: String,
    host: String,
    port: u16,
    user: String,
    password: Option<String>,
    admin_config: Config,
}

impl TestDb {
    /// A direct client on this database, for setup and for checking outcomes.
    pub fn client(&self) -> Client {
        let mut config = self.admin_config.clone();
        config.dbname(&self.name);
        config
            .connect(NoTls)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.name))
    }

    /// Runs fixed setup SQL directly.
    pub fn setup(&self, sql: &str) {
        self.client()
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("setup failed: {e}\n{sql}"));
    }

    /// One integer from a direct query, e.g. a count.
    pub fn scalar(&self, sql: &str) -> i64 {
        self.client()
            .query_one(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }

    /// Plugin parameters for this database.
    pub fn params(&self, access: AccessMode) -> ConnectParams {
        let mut params = ConnectParams::new("postgres", access);
        params.host = ROption::RSome(self.host.as_str().into());
        params.port = ROption::RSome(self.port);
        params.user = ROption::RSome(self.user.as_str().into());
        params.password = self.password.as_deref().map(Into::into).into();
        params.database = ROption::RSome(self.name.as_str().into());
        params.ssl_mode = SslMode::Disable;
        params
    }

    /// A plugin session on this database.
    pub fn session(&self, access: AccessMode) -> Box<dyn Connection> {
        connect(&self.params(access)).unwrap_or_else(|e| panic!("plugin connect: {e}"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = self.admin_config.connect(NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Connects through the plugin's API, as the host does.
pub fn connect(params: &ConnectParams) -> PluginResult<Box<dyn Connection>> {
    <PostgresPlugin as Plugin>::connect(params)
}

/// What one statement gave back.
#[derive(Debug)]
pub struct Outcome {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    pub rows_affected: Option<u64>,
}

/// Runs one statement through the plugin and reads every row.
pub fn run(session: &mut dyn Connection, sql: &str, params: &[Value]) -> PluginResult<Outcome> {
    let mut cursor = session.execute(sql, params, 0)?;
    let columns = cursor.columns();
    let width = columns.len();
    let mut values = RVec::new();
    while cursor.fetch(100, &mut values)? > 0 {}
    let rows = if width == 0 {
        Vec::new()
    } else {
        values.chunks(width).map(<[Value]>::to_vec).collect()
    };
    Ok(Outcome {
        columns,
        rows,
        rows_affected: cursor.rows_affected(),
    })
}

/// The error of a call that must fail.
pub fn expect_error<T>(result: PluginResult<T>, what: &str) -> PluginError {
    match result {
        Ok(_) => panic!("{what}: expected an error, got success"),
        Err(error) => error,
    }
}

/// The SQLSTATE of `error`, or "".
pub fn sqlstate(error: &PluginError) -> &str {
    error.sqlstate.as_ref().map(|s| s.as_str()).unwrap_or("")
}

/// Waits up to `limit` for `condition`, checking every 20 ms; returns how long it took.
pub fn wait_for(limit: Duration, mut condition: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if condition() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Text value shorthand.
pub fn text(value: &str) -> Value {
    Value::Text(value.into())
}
