//! The checks. Each takes the loaded plugin and its target and says how it ended.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use plenum_plugin_api::abi_stable::std_types::ROption;
use plenum_plugin_api::loader::load_root_module;
use plenum_plugin_api::{
    AccessMode, ErrorKind, IntrospectOp, IntrospectRequest, PluginModuleRef, API_VERSION,
};

use crate::session::{self, CallError};
use crate::{Kit, Outcome};

/// The dialect names the host's gate accepts.
const KNOWN_DIALECTS: &[&str] = &[
    "sqlite",
    "postgresql",
    "postgres",
    "mysql",
    "generic",
    "mssql",
    "snowflake",
    "duckdb",
    "bigquery",
    "ansi",
    "hive",
    "redshift",
    "clickhouse",
    "databricks",
    "spark",
    "sparksql",
    "oracle",
    "teradata",
];

/// The password the kit puts into unreachable parameters, to catch it in messages.
const MARKER_PASSWORD: &str = "conformance-Secret-7f3a";

/// Loads the library the way the host does and checks its API version.
pub(crate) fn load(library: &Path) -> Result<PluginModuleRef, String> {
    let module = load_root_module(library).map_err(|error| {
        let text = error.to_string();
        let summary: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .take(4)
            .collect();
        format!("cannot load {}: {}", library.display(), summary.join(" "))
    })?;
    let api = module.api_version();
    if api.major != API_VERSION.major || api.minor > API_VERSION.minor {
        return Err(format!(
            "built against plugin API {api}; this kit speaks {API_VERSION} (same major, minor no newer)"
        ));
    }
    Ok(module)
}

pub(crate) fn skipped_without(what: &str) -> Outcome {
    Outcome::Skipped(format!("the target gives no {what}"))
}

/// Fails with the panic's message when `error` is a caught panic.
pub(crate) fn unless_panicked(error: &CallError, otherwise: impl FnOnce() -> Outcome) -> Outcome {
    match error.panic_message() {
        Some(message) => Outcome::Failed(format!("the plugin panicked: {message}")),
        None => otherwise(),
    }
}

pub(crate) fn metadata(kit: &Kit) -> Outcome {
    let info = match (kit.module.info())().into_result() {
        Ok(info) => info,
        Err(error) => return Outcome::Failed(format!("info failed: {error}")),
    };
    let mut problems = Vec::new();
    if info.name.trim().is_empty() {
        problems.push("the name is empty".to_owned());
    }
    let version = info.version.as_str();
    let semver = version
        .split(['-', '+'])
        .next()
        .map(|core| {
            let parts: Vec<&str> = core.split('.').collect();
            parts.len() == 3 && parts.iter().all(|part| part.parse::<u64>().is_ok())
        })
        .unwrap_or(false);
    if !semver {
        problems.push(format!("version '{version}' is not semver (x.y.z)"));
    }
    if info.engines.is_empty() {
        problems.push("it serves no engine".to_owned());
    }
    for engine in &info.engines {
        if engine.as_str() != engine.to_ascii_lowercase() || engine.trim().is_empty() {
            problems.push(format!("engine name '{engine}' is not lower case"));
        }
    }
    if !info
        .engines
        .iter()
        .any(|engine| engine.as_str() == kit.target.engine)
    {
        problems.push(format!("it does not list engine '{}'", kit.target.engine));
    }
    if !KNOWN_DIALECTS.contains(&info.dialect.as_str()) {
        problems.push(format!(
            "dialect '{}' is not one the gate knows ({})",
            info.dialect,
            KNOWN_DIALECTS.join(", ")
        ));
    }
    if info.description.trim().is_empty() {
        problems.push("the description is empty".to_owned());
    }
    if let Some(about) = kit
        .module
        .about()
        .filter(|_| kit.module.api_version().minor >= 1)
    {
        if let Err(error) = about().into_result() {
            problems.push(format!("about failed: {error}"));
        }
    }
    if problems.is_empty() {
        Outcome::Passed(format!(
            "{} {} serves {:?} with dialect {}",
            info.name,
            info.version,
            info.engines.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
            info.dialect
        ))
    } else {
        Outcome::Failed(problems.join("; "))
    }
}

pub(crate) fn connect(kit: &Kit) -> Outcome {
    let mut connection = match session::open(kit, AccessMode::Read) {
        Ok(connection) => connection,
        Err(error) => {
            return unless_panicked(&error, || {
                Outcome::Failed(format!("a read session does not open: {error}"))
            })
        }
    };
    match connection.server_info().into_result() {
        Ok(info) if !info.version.trim().is_empty() => {
            Outcome::Passed(format!("server {}", info.version))
        }
        Ok(_) => Outcome::Failed("server_info reports an empty version".to_owned()),
        Err(error) => Outcome::Failed(format!("server_info failed: {error}")),
    }
}

/// The target's fixtures for the checks that are not about safety, run once.
pub(crate) fn setup(kit: &Kit) -> Outcome {
    run_fixtures(kit, &kit.target.setup_sql)
}

/// Drops the fixtures, whatever happened.
pub(crate) fn cleanup(kit: &Kit) -> Outcome {
    run_fixtures(kit, &kit.target.cleanup_sql)
}

fn run_fixtures(kit: &Kit, statements: &[String]) -> Outcome {
    if statements.is_empty() {
        return Outcome::Passed("the target has no fixtures".to_owned());
    }
    match session::run_committed(kit, AccessMode::Ddl, statements) {
        Ok(_) => Outcome::Passed(format!("{} statements", statements.len())),
        Err(reason) => Outcome::Failed(format!("in a DDL session: {reason}")),
    }
}

pub(crate) fn type_round_trip(kit: &Kit) -> Outcome {
    if kit.target.type_probes.is_empty() {
        return skipped_without("type_probes");
    }
    let mut connection = match session::open(kit, AccessMode::Read) {
        Ok(connection) => connection,
        Err(error) => return Outcome::Failed(format!("connect: {error}")),
    };
    if let Err(error) = connection.begin().into_result() {
        return Outcome::Failed(format!("begin: {error}"));
    }
    let mut problems = Vec::new();
    for probe in &kit.target.type_probes {
        match session::run_one(&mut connection, &probe.sql, &probe.params, 0) {
            Ok(rows) => match rows.rows.as_slice() {
                [row] if *row == probe.expected => {}
                [row] => problems.push(format!(
                    "{}: expected {:?}, got {row:?}",
                    probe.sql, probe.expected
                )),
                other => problems.push(format!("{}: {} rows, not 1", probe.sql, other.len())),
            },
            Err(error) => problems.push(format!("{}: {error}", probe.sql)),
        }
    }
    let _ = connection.rollback();
    if problems.is_empty() {
        Outcome::Passed(format!("{} probes", kit.target.type_probes.len()))
    } else {
        Outcome::Failed(problems.join("; "))
    }
}

pub(crate) fn streaming(kit: &Kit) -> Outcome {
    let target = &kit.target;
    if target.many_rows_sql.is_empty() {
        return skipped_without("many_rows_sql");
    }
    let mut connection = match session::open(kit, AccessMode::Read) {
        Ok(connection) => connection,
        Err(error) => return Outcome::Failed(format!("connect: {error}")),
    };
    if let Err(error) = connection.begin().into_result() {
        return Outcome::Failed(format!("begin: {error}"));
    }
    let outcome = (|| {
        let mut cursor = connection
            .execute(target.many_rows_sql.as_str().into(), Default::default(), 0)
            .into_result()
            .map_err(CallError::from)?;
        // An odd batch size, so a plugin that ignores it shows.
        session::drain(&mut cursor, 7)
    })();
    let _ = connection.rollback();
    match outcome {
        Ok(rows) if rows.rows.len() as u64 >= target.many_rows => Outcome::Passed(format!(
            "{} rows of {} columns in batches of at most 7",
            rows.rows.len(),
            rows.columns.len()
        )),
        Ok(rows) => Outcome::Failed(format!(
            "{} rows, fewer than the {} many_rows_sql returns",
            rows.rows.len(),
            target.many_rows
        )),
        Err(error) => unless_panicked(&error, || Outcome::Failed(error.to_string())),
    }
}

pub(crate) fn row_limit_hint(kit: &Kit) -> Outcome {
    let target = &kit.target;
    if target.many_rows_sql.is_empty() {
        return skipped_without("many_rows_sql");
    }
    let mut connection = match session::open(kit, AccessMode::Read) {
        Ok(connection) => connection,
        Err(error) => return Outcome::Failed(format!("connect: {error}")),
    };
    if let Err(error) = connection.begin().into_result() {
        return Outcome::Failed(format!("begin: {error}"));
    }
    let hint = 11;
    let outcome = session::run_one(&mut connection, &target.many_rows_sql, &[], hint);
    let _ = connection.rollback();
    match outcome {
        Ok(rows) if rows.rows.len() as u64 >= hint => Outcome::Passed(format!(
            "with a hint of {hint} rows, {} rows came back",
            rows.rows.len()
        )),
        Ok(rows) => Outcome::Failed(format!(
            "with a hint of {hint} rows only {} came back: a hint may stop the server early, \
             never return fewer rows",
            rows.rows.len()
        )),
        Err(error) => unless_panicked(&error, || Outcome::Failed(error.to_string())),
    }
}

pub(crate) fn error_kinds(kit: &Kit) -> Outcome {
    let target = &kit.target;
    if target.invalid_sql.is_empty() {
        return skipped_without("invalid_sql");
    }
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    match session::open(kit, AccessMode::Read) {
        Ok(mut connection) => {
            if let Err(error) = connection.begin().into_result() {
                problems.push(format!("begin: {error}"));
            }
            match session::run_one(&mut connection, &target.invalid_sql, &[], 0) {
                Ok(_) => problems.push(format!("'{}' was accepted", target.invalid_sql)),
                Err(CallError::Plugin(error)) if error.kind == ErrorKind::Query => {
                    if let ROption::RSome(state) = &error.sqlstate {
                        if state.len() != 5 || !state.chars().all(|c| c.is_ascii_alphanumeric()) {
                            problems.push(format!("SQLSTATE '{state}' is not five characters"));
                        }
                    }
                    notes.push("invalid SQL is a Query error".to_owned());
                }
                Err(error) => {
                    problems.push(format!("invalid SQL gave {error}, expected a Query error"))
                }
            }
            let _ = connection.rollback();
        }
        Err(error) => problems.push(format!("connect: {error}")),
    }
    if let Some(unreachable) = &target.unreachable_params {
        let mut params = unreachable.clone();
        params.engine = target.engine.as_str().into();
        params.access = AccessMode::Read;
        params.password = ROption::RSome(MARKER_PASSWORD.into());
        match (kit.module.connect())(&params).into_result() {
            Ok(_) => problems.push("unreachable_params opened a session".to_owned()),
            Err(error) if error.kind != ErrorKind::Connection => problems.push(format!(
                "an unreachable database gave {error}, expected a Connection error"
            )),
            Err(error) if error.message.contains(MARKER_PASSWORD) => {
                problems.push("the connection error repeats the password".to_owned())
            }
            Err(_) => notes.push(
                "an unreachable database is a Connection error without the password".to_owned(),
            ),
        }
    }
    if problems.is_empty() {
        Outcome::Passed(notes.join("; "))
    } else {
        Outcome::Failed(problems.join("; "))
    }
}

pub(crate) fn cancel(kit: &Kit) -> Outcome {
    let target = &kit.target;
    if target.slow_query_sql.is_empty() {
        return skipped_without("slow_query_sql");
    }
    let declares_cancel = (kit.module.info())()
        .into_result()
        .map(|info| info.capabilities.cancel)
        .unwrap_or(false);
    let mut connection = match session::open(kit, AccessMode::Read) {
        Ok(connection) => connection,
        Err(error) => return Outcome::Failed(format!("connect: {error}")),
    };
    let handle = match connection.cancel_handle().into_result() {
        Ok(handle) => handle,
        Err(error) => return Outcome::Failed(format!("cancel_handle: {error}")),
    };
    if !declares_cancel {
        return match idle_cancel(&handle) {
            Some(problem) => Outcome::Failed(problem),
            None => Outcome::Passed(
                "the plugin declares no cancel; cancel() returns and does nothing".to_owned(),
            ),
        };
    }
    if let Err(error) = connection.begin().into_result() {
        return Outcome::Failed(format!("begin: {error}"));
    }
    let (sender, receiver) = mpsc::channel();
    let sql = target.slow_query_sql.clone();
    let runner = std::thread::spawn(move || {
        let started = Instant::now();
        let result = session::run_one(&mut connection, &sql, &[], 0);
        let _ = sender.send((result.map(|rows| rows.rows.len()), started.elapsed()));
        let _ = connection.rollback();
    });
    let delay = Duration::from_millis(300);
    std::thread::sleep(delay);
    if let Ok((result, elapsed)) = receiver.try_recv() {
        return Outcome::Failed(format!(
            "slow_query_sql finished in {} ms, before the cancel ({result:?}): make it slower",
            elapsed.as_millis()
        ));
    }
    let cancelled_at = Instant::now();
    if let Err(error) = handle.cancel().into_result() {
        return Outcome::Failed(format!("cancel failed: {error}"));
    }
    match receiver.recv_timeout(target.cancel_within) {
        Ok((result, _)) => {
            let _ = runner.join();
            let waited = cancelled_at.elapsed().as_millis();
            if let Some(problem) = idle_cancel(&handle) {
                return Outcome::Failed(problem);
            }
            match result {
                Err(error) => unless_panicked(&error, || {
                    Outcome::Passed(format!(
                        "the statement stopped {waited} ms after the cancel: {error}"
                    ))
                }),
                Ok(rows) => Outcome::Passed(format!(
                    "the statement returned ({rows} rows) {waited} ms after the cancel"
                )),
            }
        }
        Err(_) => Outcome::Failed(format!(
            "the statement was still running {} ms after the cancel",
            target.cancel_within.as_millis()
        )),
    }
}

/// A cancel when nothing runs must return promptly and not panic. (What it does to the
/// session's next statement is the engine's business: PostgreSQL, for one, may cancel it; the
/// host abandons a session once it has cancelled.)
fn idle_cancel(handle: &plenum_plugin_api::CancelHandleBox) -> Option<String> {
    let started = Instant::now();
    let result = handle.cancel().into_result();
    if let Err(error) = &result {
        if error.message.starts_with("plugin panicked") {
            return Some(format!("cancel on an idle session panicked: {error}"));
        }
    }
    (started.elapsed() > Duration::from_secs(2)).then(|| {
        format!(
            "cancel on an idle session took {} ms",
            started.elapsed().as_millis()
        )
    })
}

pub(crate) fn panic_safety(kit: &Kit) -> Outcome {
    let mut panics = Vec::new();
    let mut note = |what: &str, error: Option<CallError>| {
        if let Some(message) = error.as_ref().and_then(CallError::panic_message) {
            panics.push(format!("{what}: {message}"));
        }
    };
    let mut connection = match session::open(kit, AccessMode::Read) {
        Ok(connection) => connection,
        Err(error) => return Outcome::Failed(format!("connect: {error}")),
    };
    // Out of order: commit and rollback without begin, twice.
    note(
        "commit before begin",
        connection.commit().into_result().err().map(Into::into),
    );
    note(
        "rollback before begin",
        connection.rollback().into_result().err().map(Into::into),
    );
    note(
        "rollback again",
        connection.rollback().into_result().err().map(Into::into),
    );
    note(
        "begin",
        connection.begin().into_result().err().map(Into::into),
    );
    note(
        "begin twice",
        connection.begin().into_result().err().map(Into::into),
    );
    note(
        "empty statement",
        session::run_one(&mut connection, "", &[], 0).err(),
    );
    note(
        "whitespace statement",
        session::run_one(&mut connection, "  \n ", &[], 0).err(),
    );
    if !kit.target.invalid_sql.is_empty() {
        let too_many = vec![plenum_plugin_api::Value::Int(1); 3];
        note(
            "statement with unexpected parameters",
            session::run_one(&mut connection, &kit.target.invalid_sql, &too_many, 0).err(),
        );
    }
    note(
        "server_info",
        connection.server_info().into_result().err().map(Into::into),
    );
    for op in [
        IntrospectOp::ListSchemas,
        IntrospectOp::ListTables,
        IntrospectOp::DescribeTable,
    ] {
        // No table named for DescribeTable: an error, never a panic.
        let request = IntrospectRequest {
            op,
            schema: ROption::RNone,
            table: ROption::RNone,
            pattern: ROption::RNone,
        };
        note(
            "introspect without arguments",
            connection
                .introspect(&request)
                .into_result()
                .err()
                .map(Into::into),
        );
    }
    note(
        "rollback",
        connection.rollback().into_result().err().map(Into::into),
    );
    if panics.is_empty() {
        Outcome::Passed("calls out of order returned values or errors, never panics".to_owned())
    } else {
        Outcome::Failed(format!("the plugin panicked: {}", panics.join("; ")))
    }
}
