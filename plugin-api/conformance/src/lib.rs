//! `plenum-plugin-conformance`: a test harness that checks an engine plugin keeps the contract
//! of `plenum-plugin-api`.
//!
//! Point it at a built plugin library and a test database, give it the few SQL snippets that
//! differ between engines, and it loads the library the way the host does and checks:
//!
//! * **metadata**: the API version, name, version, engines and a dialect the gate knows;
//! * **type round-trips**: values come back exactly as the probes expect;
//! * **streaming**: batches never exceed what was asked, rows have the declared width, an
//!   exhausted cursor stays exhausted, the row-limit hint never cuts a result short;
//! * **access mode**: INSERT, UPDATE, DELETE, DDL and the engine's file-writing statements
//!   in a read session fail *at the engine* and change nothing; a write session writes;
//!   rollback undoes;
//! * **one statement per call**: two statements in one `execute`, and strings that an engine
//!   lexing differently would split in two, never run a second statement;
//! * **file access**: a read session can neither read a file outside the allowed places nor
//!   write one;
//! * **cancellation**: a cancel from another thread ends a slow statement within a bound;
//! * **error kinds**: bad SQL is a `Query` error, an unreachable server a `Connection` error
//!   whose message does not contain the password;
//! * **panic safety**: calls out of order never panic.
//!
//! The safety checks (access mode, one statement per call, file access) need SQL only the
//! author can write, so [`ConformanceTarget::new`] takes it as a [`SafetySql`], which has no
//! default. Each safety check creates the table it works on and drops it afterwards, and a
//! safety check whose SQL is missing or does not work fails; it is never skipped.
//!
//! ```no_run
//! use plenum_plugin_conformance::{api, ConformanceTarget, SafetySql, TypeProbe};
//!
//! let mut params = api::ConnectParams::new("sqlite", api::AccessMode::Read);
//! params.file = api::abi_stable::std_types::ROption::RSome("/tmp/conformance.db".into());
//! let safety = SafetySql {
//!     create_table: vec!["CREATE TABLE items (id INTEGER, label TEXT)".into()],
//!     drop_table: vec!["DROP TABLE items".into()],
//!     insert: "INSERT INTO items VALUES (1, 'a')".into(),
//!     update: "UPDATE items SET label = 'changed'".into(),
//!     delete: "DELETE FROM items".into(),
//!     ddl: "ALTER TABLE items ADD COLUMN extra INTEGER".into(),
//!     contents: "SELECT * FROM items".into(),
//!     read_file: vec!["ATTACH DATABASE '{path}' AS other".into()],
//!     write_file: vec!["VACUUM INTO '{path}'".into()],
//! };
//! let mut target =
//!     ConformanceTarget::new("target/debug/libplenum_sqlite.so", "sqlite", params, safety);
//! target.many_rows_sql =
//!     "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 5000) SELECT x FROM n"
//!         .into();
//! target.slow_query_sql =
//!     "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
//!         .into();
//! target.invalid_sql = "SELEC 1".into();
//! target.type_probes = vec![TypeProbe::new("SELECT 42", vec![api::Value::Int(42)])];
//! plenum_plugin_conformance::run(&target).assert_passed();
//! ```

mod checks;
mod files;
mod safety;
mod session;
mod table;

use std::fmt;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use plenum_plugin_api as api;
use plenum_plugin_api::{ConnectParams, PluginModuleRef, Value};

/// The placeholder in [`SafetySql::read_file`] and [`SafetySql::write_file`] that the kit
/// replaces with a file's absolute path (unquoted: quote it as your engine quotes strings).
pub const PATH_PLACEHOLDER: &str = "{path}";

/// The SQL the safety checks need. Every field is required: a safety check given an empty one
/// fails, and so does one whose statement turns out to change nothing where it is allowed.
///
/// Each safety check runs `create_table` in a DDL session, then its work, then `drop_table`
/// (whatever happened), so the table is new and empty each time. Point the kit at a database
/// or schema of its own.
#[derive(Debug, Clone)]
pub struct SafetySql {
    /// Creates the empty table the safety checks write to (and a schema for it, if needed).
    pub create_table: Vec<String>,
    /// Drops what `create_table` made. Each statement runs in a session of its own and may
    /// fail (after `ddl` dropped the table, say); the table must be gone afterwards.
    pub drop_table: Vec<String>,
    /// Inserts exactly one row into the table.
    pub insert: String,
    /// Changes every row of the table (`UPDATE items SET label = 'changed'`).
    pub update: String,
    /// Deletes every row of the table.
    pub delete: String,
    /// A schema change that changes what `contents` returns or makes it fail
    /// (`ALTER TABLE items ADD COLUMN extra INTEGER`, or `DROP TABLE items`).
    pub ddl: String,
    /// Returns every row of the table (`SELECT * FROM items`), in any order.
    pub contents: String,
    /// Statements of the engine that would return the contents of the file at
    /// [`PATH_PLACEHOLDER`] (`SELECT pg_read_file('{path}')`, `SELECT LOAD_FILE('{path}')`, a
    /// string used as a table, attaching the file as a database, …): every way your engine
    /// has. An engine without any lists what an agent would try from its SQL family; the
    /// plugin must refuse them all or return nothing of the file.
    pub read_file: Vec<String>,
    /// Statements of the engine that would create or write the file at [`PATH_PLACEHOLDER`]
    /// (`COPY … TO '{path}'`, `SELECT … INTO OUTFILE '{path}'`, `VACUUM INTO '{path}'`,
    /// attaching a new database file, …). None may create a file from a read session.
    pub write_file: Vec<String>,
}

/// A plugin library, a test database and the engine-specific SQL the checks need.
///
/// Every SQL snippet runs through the plugin exactly as written, one statement per call.
/// The kit changes nothing else in the database: point it at a database (or schema) of its own.
#[derive(Debug, Clone)]
pub struct ConformanceTarget {
    /// The built plugin library (`libplenum_<name>.so`, …).
    pub library: PathBuf,
    /// The engine to ask for; the plugin must list it.
    pub engine: String,
    /// Where the test database is. The kit sets `engine` and `access` for each session.
    pub params: ConnectParams,
    /// What the safety checks need; see [`SafetySql`].
    pub safety: SafetySql,
    /// Fixtures for the other checks, run once in a DDL session before them (a file engine's
    /// database is created here, a table `many_rows_sql` reads, …). May be empty.
    pub setup_sql: Vec<String>,
    /// Statements run at the end in a DDL session, whatever happened (drop what setup made).
    pub cleanup_sql: Vec<String>,
    /// A read returning at least [`ConformanceTarget::many_rows`] rows.
    pub many_rows_sql: String,
    /// How many rows `many_rows_sql` returns at least.
    pub many_rows: u64,
    /// A read that runs far longer than [`ConformanceTarget::cancel_within`] unless cancelled.
    pub slow_query_sql: String,
    /// How soon after the cancel the slow statement must have returned.
    pub cancel_within: Duration,
    /// SQL the engine rejects as invalid.
    pub invalid_sql: String,
    /// Single-row reads and the values they must return.
    pub type_probes: Vec<TypeProbe>,
    /// Parameters that cannot open a session (a closed port, a missing file). The kit adds a
    /// password and checks the error is a `Connection` error that does not repeat it.
    pub unreachable_params: Option<ConnectParams>,
    /// How long any one check may take before it counts as hung.
    pub check_timeout: Duration,
}

impl ConformanceTarget {
    /// A target with the safety checks' SQL and nothing else yet; fill in the public fields.
    pub fn new(
        library: impl Into<PathBuf>,
        engine: &str,
        params: ConnectParams,
        safety: SafetySql,
    ) -> Self {
        ConformanceTarget {
            library: library.into(),
            engine: engine.to_owned(),
            params,
            safety,
            setup_sql: Vec::new(),
            cleanup_sql: Vec::new(),
            many_rows_sql: String::new(),
            many_rows: 5000,
            slow_query_sql: String::new(),
            cancel_within: Duration::from_secs(5),
            invalid_sql: String::new(),
            type_probes: Vec::new(),
            unreachable_params: None,
            check_timeout: Duration::from_secs(60),
        }
    }
}

/// A single-row read and the row it must return.
#[derive(Debug, Clone)]
pub struct TypeProbe {
    /// The statement.
    pub sql: String,
    /// Parameters bound to it.
    pub params: Vec<Value>,
    /// The one row it must return.
    pub expected: Vec<Value>,
}

impl TypeProbe {
    /// `sql` must return exactly the row `expected`.
    pub fn new(sql: &str, expected: Vec<Value>) -> Self {
        TypeProbe {
            sql: sql.to_owned(),
            params: Vec::new(),
            expected,
        }
    }

    /// `sql` (e.g. `SELECT ?`) with `value` bound must return `value` unchanged.
    pub fn echo(sql: &str, value: Value) -> Self {
        TypeProbe {
            sql: sql.to_owned(),
            params: vec![value.clone()],
            expected: vec![value],
        }
    }
}

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The plugin did what the contract asks.
    Passed(String),
    /// It did not.
    Failed(String),
    /// The check could not run: the target gave no SQL for it. Only checks that are not about
    /// safety skip; `assert_passed` counts a skip as a problem all the same.
    Skipped(String),
}

/// The result of one check.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The check's name, e.g. `read_only_session`.
    pub name: &'static str,
    /// How it ended.
    pub outcome: Outcome,
    /// How long it took.
    pub elapsed: Duration,
}

/// Every check's result.
#[derive(Debug, Clone)]
pub struct Report {
    /// The library checked.
    pub library: PathBuf,
    /// Results in the order the checks ran.
    pub checks: Vec<CheckResult>,
}

impl Report {
    /// The checks that failed or were skipped.
    pub fn problems(&self) -> Vec<&CheckResult> {
        self.checks
            .iter()
            .filter(|check| !matches!(check.outcome, Outcome::Passed(_)))
            .collect()
    }

    /// The result of the check called `name`.
    pub fn check(&self, name: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|check| check.name == name)
    }

    /// Panics with the whole report unless every check passed (a skipped check is a problem:
    /// give the target the SQL it needs).
    pub fn assert_passed(&self) {
        assert!(
            self.problems().is_empty(),
            "the plugin does not conform:\n{self}"
        );
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "conformance of {}:", self.library.display())?;
        for check in &self.checks {
            let (word, detail) = match &check.outcome {
                Outcome::Passed(detail) => ("pass", detail),
                Outcome::Failed(detail) => ("FAIL", detail),
                Outcome::Skipped(detail) => ("SKIP", detail),
            };
            writeln!(
                f,
                "  {word} {:<24} {detail} ({} ms)",
                check.name,
                check.elapsed.as_millis()
            )?;
        }
        Ok(())
    }
}

/// The loaded plugin and its target, shared with the threads checks run on.
pub(crate) struct Kit {
    pub(crate) target: ConformanceTarget,
    pub(crate) module: PluginModuleRef,
}

type CheckFn = fn(&Kit) -> Outcome;

/// Runs one check on its own thread, so a plugin that hangs fails the check instead of the
/// whole run. A hung check's thread is left behind.
fn run_check(kit: &Arc<Kit>, name: &'static str, check: CheckFn) -> CheckResult {
    let started = Instant::now();
    let (sender, receiver) = mpsc::channel();
    let shared = Arc::clone(kit);
    let spawned = std::thread::Builder::new()
        .name(format!("conformance-{name}"))
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&shared)))
                .unwrap_or_else(|_| Outcome::Failed("the check itself panicked".to_owned()));
            let _ = sender.send(outcome);
        });
    let outcome = match spawned {
        Err(error) => Outcome::Failed(format!("cannot start the check's thread: {error}")),
        Ok(_) => match receiver.recv_timeout(kit.target.check_timeout) {
            Ok(outcome) => outcome,
            Err(RecvTimeoutError::Timeout) => Outcome::Failed(format!(
                "the plugin did not answer within {} ms",
                kit.target.check_timeout.as_millis()
            )),
            Err(RecvTimeoutError::Disconnected) => {
                Outcome::Failed("the check's thread stopped".to_owned())
            }
        },
    };
    CheckResult {
        name,
        outcome,
        elapsed: started.elapsed(),
    }
}

/// Loads `target.library` and runs every check against `target`.
pub fn run(target: &ConformanceTarget) -> Report {
    let started = Instant::now();
    let mut report = Report {
        library: target.library.clone(),
        checks: Vec::new(),
    };
    let module = match checks::load(&target.library) {
        Ok(module) => module,
        Err(reason) => {
            report.checks.push(CheckResult {
                name: "load",
                outcome: Outcome::Failed(reason),
                elapsed: started.elapsed(),
            });
            return report;
        }
    };
    report.checks.push(CheckResult {
        name: "load",
        outcome: Outcome::Passed(format!(
            "plugin API {}, which this kit ({}) speaks",
            module.api_version(),
            plenum_plugin_api::API_VERSION
        )),
        elapsed: started.elapsed(),
    });
    let kit = Arc::new(Kit {
        target: target.clone(),
        module,
    });
    report
        .checks
        .push(run_check(&kit, "metadata", checks::metadata));
    // Fixtures first: for a file engine they are what creates the database.
    report.checks.push(run_check(&kit, "setup", checks::setup));
    let checks: [(&'static str, CheckFn); 12] = [
        ("connect", checks::connect),
        ("type_round_trip", checks::type_round_trip),
        ("streaming", checks::streaming),
        ("row_limit_hint", checks::row_limit_hint),
        ("error_kinds", checks::error_kinds),
        ("cancel", checks::cancel),
        ("panic_safety", checks::panic_safety),
        // The safety checks: each makes its own table (and files) and removes them.
        ("write_session", safety::write_session),
        ("rollback", safety::rollback),
        ("read_only_session", safety::read_only_session),
        ("one_statement_per_call", safety::one_statement_per_call),
        ("file_access", files::file_access),
    ];
    for (name, check) in checks {
        report.checks.push(run_check(&kit, name, check));
    }
    report
        .checks
        .push(run_check(&kit, "cleanup", checks::cleanup));
    report
}
