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
//! * **access mode**: a write in a read session fails *at the engine* and changes nothing; a
//!   write session writes; rollback undoes;
//! * **one statement per call**: two statements in one `execute` are refused, not run;
//! * **cancellation**: a cancel from another thread ends a slow statement within a bound;
//! * **error kinds**: bad SQL is a `Query` error, an unreachable server a `Connection` error
//!   whose message does not contain the password;
//! * **panic safety**: calls out of order never panic.
//!
//! ```no_run
//! use plenum_plugin_conformance::{api, ConformanceTarget, TypeProbe};
//!
//! let mut params = api::ConnectParams::new("sqlite", api::AccessMode::Read);
//! params.file = api::abi_stable::std_types::ROption::RSome("/tmp/conformance.db".into());
//! let mut target = ConformanceTarget::new("target/debug/libplenum_sqlite.so", "sqlite", params);
//! target.setup_sql = vec!["CREATE TABLE items (id INTEGER, label TEXT)".into()];
//! target.cleanup_sql = vec!["DROP TABLE items".into()];
//! target.insert_sql = "INSERT INTO items VALUES (1, 'a')".into();
//! target.count_sql = "SELECT count(*) FROM items".into();
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
mod session;

use std::fmt;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use plenum_plugin_api as api;
use plenum_plugin_api::{ConnectParams, PluginModuleRef, Value};

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
    /// Statements run once, in a DDL session, before the data checks: create the table that
    /// `insert_sql` and `count_sql` use (and a schema or database of its own, if needed).
    pub setup_sql: Vec<String>,
    /// Statements run at the end in a DDL session, whatever happened (drop what setup made).
    pub cleanup_sql: Vec<String>,
    /// Inserts exactly one row into the setup table.
    pub insert_sql: String,
    /// Returns one row with one integer column: the setup table's row count.
    pub count_sql: String,
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
    /// A target with no SQL yet; fill in the public fields.
    pub fn new(library: impl Into<PathBuf>, engine: &str, params: ConnectParams) -> Self {
        ConformanceTarget {
            library: library.into(),
            engine: engine.to_owned(),
            params,
            setup_sql: Vec::new(),
            cleanup_sql: Vec::new(),
            insert_sql: String::new(),
            count_sql: String::new(),
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
    /// The check could not run (the target gave no SQL for it, or an earlier check failed).
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
    // Setup first: for a file engine it is what creates the database.
    let setup = run_check(&kit, "setup", checks::setup);
    let setup_ok = matches!(setup.outcome, Outcome::Passed(_));
    report.checks.push(setup);
    report
        .checks
        .push(run_check(&kit, "connect", checks::connect));
    let independent: [(&'static str, CheckFn); 6] = [
        ("type_round_trip", checks::type_round_trip),
        ("streaming", checks::streaming),
        ("row_limit_hint", checks::row_limit_hint),
        ("error_kinds", checks::error_kinds),
        ("cancel", checks::cancel),
        ("panic_safety", checks::panic_safety),
    ];
    for (name, check) in independent {
        report.checks.push(run_check(&kit, name, check));
    }
    // These need the table setup made; cleanup runs whatever happened.
    let data_checks: [(&'static str, CheckFn); 5] = [
        ("read_only_session", checks::read_only_session),
        ("write_session", checks::write_session),
        ("rollback", checks::rollback),
        ("one_statement_per_call", checks::one_statement_per_call),
        ("cleanup", checks::cleanup),
    ];
    for (name, check) in data_checks {
        if setup_ok || name == "cleanup" {
            report.checks.push(run_check(&kit, name, check));
        } else {
            report.checks.push(CheckResult {
                name,
                outcome: Outcome::Skipped("setup failed".to_owned()),
                elapsed: Duration::ZERO,
            });
        }
    }
    report
}
