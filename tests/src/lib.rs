//! Support for the end-to-end tests: run the built `plenum` binary, snapshot files, reach the
//! live database servers.
//!
//! The binary and the plugin libraries must be built first (`cargo build --workspace`); the
//! tests find them next to the test executable's target directory.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value as Json;

/// The target directory the tests run from (`target/debug`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/<test> -> target/debug
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("target directory")
}

/// The `plenum` binary under test.
pub fn plenum_bin() -> PathBuf {
    built_program("plenum")
}

/// The `plenum-mcp` binary under test, which `plenum mcp` executes: it lies beside
/// [`plenum_bin`], as it does in every installation.
pub fn plenum_mcp_bin() -> PathBuf {
    built_program("plenum-mcp")
}

/// A program of the workspace in the target directory; fails the test when it was not built.
fn built_program(name: &str) -> PathBuf {
    let path = target_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace` before the tests",
        path.display()
    );
    path
}

/// The path of a plugin library built in this workspace, e.g. `plugin_library("sqlite")`.
pub fn plugin_library(crate_suffix: &str) -> PathBuf {
    let path = target_dir().join(format!(
        "{}plenum_{crate_suffix}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace` before the tests",
        path.display()
    );
    path
}

/// The result of one `plenum` run.
#[derive(Debug)]
pub struct Run {
    /// The one JSON document printed on stdout.
    pub json: Json,
    /// Exit code.
    pub code: i32,
    /// Raw stdout.
    pub stdout: String,
    /// Raw stderr.
    pub stderr: String,
}

impl Run {
    /// `ok` of the envelope.
    pub fn ok(&self) -> bool {
        self.json["ok"] == Json::Bool(true)
    }

    /// `error.code` of the envelope, or "" when ok.
    pub fn error_code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }

    /// `error.message` of the envelope, or "".
    pub fn error_message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or("")
    }

    /// `data.rows` of a query envelope.
    pub fn rows(&self) -> Vec<Json> {
        self.json["data"]["rows"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Panics with the whole run unless the envelope is ok.
    pub fn assert_ok(&self) -> &Self {
        assert!(
            self.ok(),
            "expected ok, got: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        assert_eq!(self.code, 0, "ok envelope must exit 0");
        self
    }

    /// Panics unless the envelope failed with `code` (and exited non-zero).
    pub fn assert_error(&self, code: &str) -> &Self {
        assert_eq!(
            self.error_code(),
            code,
            "expected error {code}, got: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        assert_ne!(self.code, 0, "failed envelope must exit non-zero");
        self
    }
}

/// A `plenum` invocation being built.
#[derive(Debug, Clone)]
pub struct Plenum {
    args: Vec<std::ffi::OsString>,
    env: Vec<(String, String)>,
    env_remove: Vec<String>,
    stdin: Option<Vec<u8>>,
    cwd: Option<PathBuf>,
    binary: Option<PathBuf>,
}

impl Plenum {
    /// `plenum` with `args`. The plugin path points at the workspace's build; the ceiling and
    /// saved-connection variables of the outer environment are cleared.
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Plenum {
            args: args.into_iter().map(|a| a.as_ref().to_owned()).collect(),
            env: Vec::new(),
            env_remove: vec!["PLENUM_MAX_CAPABILITY".into(), "PLENUM_PLUGIN_PATH".into()],
            stdin: None,
            cwd: None,
            binary: None,
        }
    }

    /// Runs this copy of `plenum` instead of the one built (it finds the plugins beside it).
    pub fn binary(mut self, path: &Path) -> Self {
        self.binary = Some(path.to_path_buf());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Feeds `bytes` on standard input.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Runs in `dir`.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Runs and checks the output contract: exactly one JSON document on stdout, exit code 0
    /// iff `ok`.
    pub fn run(self) -> Run {
        let mut command = Command::new(self.binary.clone().unwrap_or_else(plenum_bin));
        command.args(&self.args);
        for key in &self.env_remove {
            command.env_remove(key);
        }
        for (key, value) in &self.env {
            command.env(key, value);
        }
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        command.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn plenum");
        if let Some(bytes) = &self.stdin {
            if let Some(mut stdin) = child.stdin.take() {
                // The process may exit before reading everything; that is its business.
                let _ = stdin.write_all(bytes);
            }
        }
        let output = child.wait_with_output().expect("wait for plenum");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let code = output.status.code().unwrap_or(-1);
        let json: Json = serde_json::from_str(&stdout).unwrap_or_else(|error| {
            panic!("stdout is not one JSON document ({error}):\n{stdout}\nstderr: {stderr}")
        });
        assert_eq!(
            stdout.trim_end().lines().count(),
            1,
            "stdout must be one line of JSON: {stdout}"
        );
        let ok = json["ok"] == Json::Bool(true);
        assert_eq!(
            code == 0,
            ok,
            "exit code {code} disagrees with ok={ok}: {stdout}"
        );
        Run {
            json,
            code,
            stdout,
            stderr,
        }
    }
}

/// Bytes of every file in a directory (not recursive), to prove nothing changed.
pub fn snapshot_dir(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_file() {
            files.insert(
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(&path).expect("read file"),
            );
        }
    }
    files
}

/// A temporary directory with a SQLite database built by `setup_sql`.
pub struct SqliteFixture {
    /// The directory (deleted on drop).
    pub dir: tempfile::TempDir,
    /// The database file.
    pub file: PathBuf,
}

impl SqliteFixture {
    /// Creates `app.db` in a new temporary directory and runs `setup_sql` on it.
    pub fn new(setup_sql: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("app.db");
        let connection = rusqlite::Connection::open(&file).expect("create database");
        connection.execute_batch(setup_sql).expect("setup SQL");
        drop(connection);
        SqliteFixture { dir, file }
    }

    /// `plenum query --engine sqlite --file <file> --sql <sql>` plus `extra` flags.
    pub fn query(&self, sql: &str, extra: &[&str]) -> Run {
        Plenum::new(["query", "--engine", "sqlite", "--file"])
            .args([self.file.as_os_str()])
            .args(["--sql", sql])
            .args(extra)
            .run()
    }

    /// Runs `sql` directly (not through plenum) and returns the first column of every row.
    pub fn direct(&self, sql: &str) -> Vec<String> {
        let connection = rusqlite::Connection::open(&self.file).expect("open database");
        let mut statement = connection.prepare(sql).expect("prepare");
        statement
            .query_map([], |row| {
                let value: rusqlite::types::Value = row.get(0)?;
                Ok(format!("{value:?}"))
            })
            .expect("query")
            .map(|value| value.expect("row"))
            .collect()
    }

    /// The directory's files and their bytes.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        snapshot_dir(self.dir.path())
    }
}

/// Whether unreachable live servers must fail the tests (`CI=true`) instead of skipping them.
pub fn live_required() -> bool {
    std::env::var("CI")
        .map(|value| value == "true" || value == "1")
        .unwrap_or(false)
}

/// The PostgreSQL test URL (`PLENUM_TEST_POSTGRES_URL`).
pub fn postgres_url() -> String {
    std::env::var("PLENUM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The MySQL/MariaDB test URL (`PLENUM_TEST_MYSQL_URL`).
pub fn mysql_url() -> String {
    std::env::var("PLENUM_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// Whether a TCP server answers at the URL's host and port. When it does not: under CI the
/// test fails; elsewhere a notice is printed and the caller should return (skip).
pub fn server_available(url: &str, what: &str) -> bool {
    let authority = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .map(|authority| authority.rsplit('@').next().unwrap_or(authority))
        .unwrap_or("");
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(authority)
        .ok()
        .and_then(|mut addresses| addresses.next())
        .map(|address| {
            std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(2))
                .is_ok()
        })
        .unwrap_or(false);
    if !reachable {
        if live_required() {
            panic!("{what} at {authority} is unreachable and CI=true requires it");
        }
        eprintln!("skipped: {what} at {authority} is unreachable (set CI=true to make this fail)");
    }
    reachable
}

/// Whether a plugin that serves `engine` loads (`plenum plugins` reports it `ok`). When none
/// does, prints a "skipped" notice and returns false: a missing plugin skips its tests even
/// under `CI=true` (plugins are built separately; `plugin_host` tests cover loading).
pub fn engine_available(engine: &str) -> bool {
    let run = Plenum::new(["plugins"]).run();
    let available = run.json["data"]["plugins"]
        .as_array()
        .map(|plugins| {
            plugins.iter().any(|plugin| {
                plugin["status"] == "ok"
                    && plugin["engines"]
                        .as_array()
                        .is_some_and(|engines| engines.iter().any(|name| name == engine))
            })
        })
        .unwrap_or(false);
    if !available {
        eprintln!("skipped: no loadable plugin serves engine '{engine}' (see `plenum plugins`)");
    }
    available
}

/// A name no other test (or earlier run) uses: `prefix_<pid>_<counter>_<nanos>`.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A temporary home and project folder for tests of saved connections: every `plenum` run
/// from [`ConfigSandbox::plenum`] has `HOME` and `XDG_CONFIG_HOME` inside it and runs in the
/// project folder.
pub struct ConfigSandbox {
    /// Holds everything (deleted on drop).
    pub root: tempfile::TempDir,
    /// The `HOME` of the runs.
    pub home: PathBuf,
    /// The `XDG_CONFIG_HOME` of the runs.
    pub xdg: PathBuf,
    /// The current directory of the runs.
    pub project: PathBuf,
}

impl Default for ConfigSandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl ConfigSandbox {
    /// Creates `home/`, `xdg/` (not created: plenum must create it) and `project/`.
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let home = root.path().join("home");
        let project = root.path().join("project");
        std::fs::create_dir_all(&home).expect("home");
        std::fs::create_dir_all(&project).expect("project");
        let xdg = root.path().join("xdg");
        ConfigSandbox {
            root,
            home,
            xdg,
            project,
        }
    }

    /// `plenum` with `args`, in the project folder, with the sandbox's HOME and XDG_CONFIG_HOME.
    pub fn plenum<I, S>(&self, args: I) -> Plenum
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Plenum::new(args)
            .env("HOME", &self.home.to_string_lossy())
            .env("XDG_CONFIG_HOME", &self.xdg.to_string_lossy())
            .current_dir(&self.project)
    }

    /// The project's `.plenum/config.json`.
    pub fn local_config(&self) -> PathBuf {
        self.project.join(".plenum").join("config.json")
    }

    /// `$XDG_CONFIG_HOME/plenum/connections.json`.
    pub fn global_config(&self) -> PathBuf {
        self.xdg.join("plenum").join("connections.json")
    }
}

/// Whether the command-line client `program` runs; when not, the same rule as for an
/// unreachable server applies (fail under `CI=true`, else print a notice and skip).
pub fn client_available(program: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false);
    if !found {
        if live_required() {
            panic!("the `{program}` client is missing and CI=true requires the live tests");
        }
        eprintln!(
            "skipped: the `{program}` client is not installed (set CI=true to make this fail)"
        );
    }
    found
}

fn run_client(mut command: Command, sql: &str, what: &str) -> String {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("spawn {what}: {error}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(sql.as_bytes())
            .expect("write SQL to the client");
    }
    let output = child.wait_with_output().expect("wait for the client");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed:\n{sql}\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs `sql` with `psql` against `url` (stops at the first error, which panics) and returns
/// the unaligned, tuples-only output. For fixtures: the SQL the tests check goes through plenum.
pub fn psql(url: &str, sql: &str) -> String {
    let mut command = Command::new("psql");
    command.args([
        url,
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-f",
        "-",
    ]);
    run_client(command, sql, "psql")
}

/// Runs `sql` with the `mysql` client against the server of `url` (user, password, host,
/// port; no database) and returns its batch output. For fixtures, like [`psql`].
pub fn mysql_client(url: &str, sql: &str) -> String {
    let rest = url.split("://").nth(1).unwrap_or("");
    let authority = rest.split('/').next().unwrap_or("");
    let (credentials, address) = authority.rsplit_once('@').unwrap_or(("root", authority));
    let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
    let (host, port) = address.rsplit_once(':').unwrap_or((address, "3306"));
    let mut command = Command::new("mysql");
    command.args([
        "--batch",
        "--skip-column-names",
        "--protocol=TCP",
        "--default-character-set=utf8mb4",
    ]);
    command.args(["-h", host, "-P", port, "-u", user]);
    if !password.is_empty() {
        command.env("MYSQL_PWD", password);
    }
    run_client(command, sql, "mysql")
}

/// `url` with its path (database) replaced by `database`.
pub fn url_with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split('/').next().unwrap_or("");
    format!("{scheme}://{authority}/{database}")
}

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .expect("workspace root")
}

/// Builds a Cargo project kept outside the workspace (the plugin template, the plugin built
/// against an older API) into `target/external`, and returns the folder its libraries land in
/// (`target/external/debug`). `manifest` is relative to the workspace root.
pub fn build_external(manifest: &str) -> PathBuf {
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = BUILD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let target = target_dir()
        .parent()
        .map(|dir| dir.join("external"))
        .expect("target directory");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--quiet", "--manifest-path"])
        .arg(workspace_root().join(manifest))
        .arg("--target-dir")
        .arg(&target)
        .stdin(Stdio::null())
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "cargo build --manifest-path {manifest} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target.join("debug")
}

/// Copies the library `source` into `dir` (same file name, mode 0755) and returns the copy.
pub fn install_library(source: &Path, dir: &Path) -> PathBuf {
    let copy = dir.join(source.file_name().expect("library file name"));
    std::fs::copy(source, &copy).expect("copy library");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    copy
}

impl Plenum {
    fn command(&self) -> Command {
        let mut command = Command::new(self.binary.clone().unwrap_or_else(plenum_bin));
        command.args(&self.args);
        for key in &self.env_remove {
            command.env_remove(key);
        }
        for (key, value) in &self.env {
            command.env(key, value);
        }
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Starts the run without waiting for it (stdin, if set, is written and closed); end it
    /// with [`finish`], which checks the output contract as [`Plenum::run`] does.
    pub fn spawn(self) -> std::process::Child {
        let mut child = self.command().spawn().expect("spawn plenum");
        if let Some(bytes) = &self.stdin {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(bytes);
            }
        }
        child
    }

    /// Starts the run with standard input left open (a pipe nobody writes to), for a process
    /// that must be interrupted while it waits; end it with [`finish`].
    pub fn spawn_waiting_on_stdin(self) -> std::process::Child {
        let mut command = self.command();
        command.stdin(Stdio::piped());
        command.spawn().expect("spawn plenum")
    }

    /// [`Plenum::run`] as another user (Unix; the caller must be root).
    #[cfg(unix)]
    pub fn run_as(self, uid: u32, gid: u32) -> Run {
        use std::os::unix::process::CommandExt;
        let mut command = self.command();
        // std clears the supplementary groups when root changes the user.
        command.uid(uid).gid(gid);
        let mut child = command.spawn().expect("spawn plenum as another user");
        if let Some(bytes) = &self.stdin {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(bytes);
            }
        }
        finish(child)
    }
}

/// Waits for a `plenum` started with [`Plenum::spawn`] and checks the output contract: exactly
/// one JSON document on stdout, exit code 0 iff `ok`.
pub fn finish(child: std::process::Child) -> Run {
    let output = child.wait_with_output().expect("wait for plenum");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let code = output.status.code().unwrap_or(-1);
    let json: Json = serde_json::from_str(&stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not one JSON document ({error}), status {:?}:\n{stdout}\nstderr: {stderr}",
            output.status
        )
    });
    assert_eq!(
        stdout.trim_end().lines().count(),
        1,
        "stdout must be one line of JSON: {stdout}"
    );
    let ok = json["ok"] == Json::Bool(true);
    assert_eq!(
        code == 0,
        ok,
        "exit code {code} disagrees with ok={ok}: {stdout}"
    );
    Run {
        json,
        code,
        stdout,
        stderr,
    }
}

/// Sends `signal` (`"TERM"`, `"INT"`, …) to a running child with the system's `kill`.
pub fn send_signal(child: &std::process::Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {} failed", child.id());
}

/// Whether this process can write where file permissions say it cannot (root, or a user with
/// CAP_DAC_OVERRIDE): tried, not guessed, on a fresh read-only folder.
pub fn permissions_are_bypassed() -> bool {
    let dir = tempfile::tempdir().expect("temp dir");
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).expect("mkdir");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    }
    let bypassed = std::fs::write(locked.join("probe"), b"x").is_ok();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755));
    }
    bypassed
}
