//! What a call's names resolve to at the server, and the login's powers (plugin API 1.2).
//!
//! Every query here is fixed text with the names bound as parameters; they run in the
//! session, inside the host's transaction (or a read-only one of their own), and only read
//! `information_schema` and `SHOW GRANTS`.
//!
//! What the plugin judges, as the API asks it to:
//!
//! * **Routines.** Every stored function or procedure in a user database is user code
//!   (`system = false`). Routines in `sys` and `mysql` ship with the server but are SQL,
//!   some of it dynamic: only the pure helpers in [`VETTED_SYSTEM_ROUTINES`] are `system`;
//!   anything else there (the `ps_setup_*` procedures that change instrumentation,
//!   `ps_thread_stack`/`ps_thread_trx_info` that show other sessions' statements,
//!   `statement_performance_analyzer`, `execute_prepared_stmt`, `table_exists`, which run
//!   SQL text, and any routine a later server adds) is reported as unvetted. Native
//!   built-ins are in no catalog and resolve to no routine; the gate knows them by name.
//!   Loadable native functions (`CREATE FUNCTION … SONAME`) are reported, when the login
//!   can read `mysql.func`, as a `mysql` routine that is not `system`, with an escaping
//!   power; otherwise their names stay unknown to the gate, which refuses them.
//! * **Relations.** `system` is the schema: `mysql`, `performance_schema`, `sys`,
//!   `information_schema`, compared case-insensitively and decided from the name alone, so
//!   a system table the login cannot see is still refused as a target.
//! * **Nothing ambient.** MariaDB and MySQL have no user-defined casts or operators, and
//!   column defaults, generated columns and CHECK constraints cannot call stored functions.
//!   Code that runs without being named: triggers (reported per target); events (run later
//!   by the scheduler in a session of their own; creating one is DDL); `init_connect` (set
//!   by an administrator, runs once at login, before any call).

use mysql::Params;
use plenum_plugin_api::abi_stable::std_types::{ROption, RVec};
use plenum_plugin_api::{
    FenceOutcome, LoginPower, PluginError, PluginResult, ReachReport, ReachRequest,
    ResolvedFunction, ResolvedRelation, Routine, SqlName,
};

use crate::grants;
use crate::session::MysqlConnection;

type Row = Vec<mysql::Value>;

/// Schemas that hold the server's own catalog and tools.
const SYSTEM_SCHEMAS: &[&str] = &["mysql", "performance_schema", "sys", "information_schema"];

/// Routines of the `sys` schema that only compute a value from their arguments or read
/// this session's own instrumentation settings (MariaDB 10.11's list, reviewed by hand).
/// `format_statement` and friends cache a `@sys.…` user variable in the session; that is
/// all they change.
const VETTED_SYSTEM_ROUTINES: &[&str] = &[
    "extract_schema_from_file_name",
    "extract_table_from_file_name",
    "format_bytes",
    "format_path",
    "format_statement",
    "format_time",
    "list_add",
    "list_drop",
    "ps_is_account_enabled",
    "ps_is_consumer_enabled",
    "ps_is_instrument_default_enabled",
    "ps_is_instrument_default_timed",
    "ps_is_thread_instrumented",
    "ps_thread_id",
    "quote_identifier",
    "sys_get_config",
    "version_major",
    "version_minor",
    "version_patch",
];

/// The session facts every answer needs.
struct Context {
    login: String,
    database: Option<String>,
    current_role: Option<String>,
    /// `lower_case_table_names` is not 0: database and table names compare without case.
    fold_case: bool,
}

fn text(row: &Row, index: usize) -> Option<String> {
    match row.get(index)? {
        mysql::Value::NULL => None,
        mysql::Value::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        mysql::Value::Int(int) => Some(int.to_string()),
        mysql::Value::UInt(uint) => Some(uint.to_string()),
        other => Some(other.as_sql(true)),
    }
}

fn bind(values: &[&str]) -> Params {
    Params::Positional(
        values
            .iter()
            .map(|value| mysql::Value::Bytes(value.as_bytes().to_vec()))
            .collect(),
    )
}

fn is_system_schema(schema: &str) -> bool {
    SYSTEM_SCHEMAS
        .iter()
        .any(|system| system.eq_ignore_ascii_case(schema))
}

/// Answers one request; the caller provides the transaction.
pub(crate) fn run(
    session: &mut MysqlConnection,
    request: &ReachRequest,
) -> PluginResult<ReachReport> {
    let context = context(session)?;
    let mut powers = login_powers(session, &context)?;

    // Set when the call reaches a routine, view or trigger that runs as another account.
    let mut foreign = false;
    let loadable = if request.functions.iter().any(|name| name.parts.len() == 1) {
        loadable_functions(session)
    } else {
        Vec::new()
    };
    let mut native = false;
    let mut functions = RVec::new();
    for name in request.functions.iter() {
        let mut resolved = resolve_function(session, &context, name, &mut foreign)?;
        if let [only] = name.parts.as_slice() {
            if let Some(udf) = loadable.iter().find(|udf| udf.eq_ignore_ascii_case(only)) {
                native = true;
                resolved.routines.insert(
                    0,
                    Routine {
                        schema: "mysql".into(),
                        name: udf.as_str().into(),
                        system: false,
                    },
                );
            }
        }
        functions.push(resolved);
    }
    if native {
        powers.push(LoginPower {
            power: "calls loadable native functions (CREATE FUNCTION … SONAME)".into(),
            meaning: "Such a function is native code from a server library; it needs no \
                      privilege to call and can do anything the server process can."
                .into(),
            escapes: true,
        });
    }
    let mut relations = RVec::new();
    for name in request.relations.iter() {
        relations.push(resolve_relation(
            session,
            &context,
            name,
            false,
            &mut foreign,
        )?);
    }
    for name in request.targets.iter() {
        relations.push(resolve_relation(
            session,
            &context,
            name,
            true,
            &mut foreign,
        )?);
    }
    // The login report looks at everything the login can run; a call, only at what it
    // reaches (scanning every trigger on the server per call would cost too much).
    if request.is_empty() {
        foreign = any_foreign_definer(session)?;
    }
    if foreign {
        powers.push(foreign_definer_power());
    }
    Ok(ReachReport {
        login: context.login.into(),
        powers: powers.into(),
        functions,
        relations,
        ambient: RVec::new(),
    })
}

fn context(session: &mut MysqlConnection) -> PluginResult<Context> {
    let rows = session.fixed_rows(
        "SELECT CURRENT_USER(), DATABASE(), CURRENT_ROLE(), @@lower_case_table_names",
        Params::Empty,
    )?;
    let row = rows
        .first()
        .ok_or_else(|| PluginError::internal("the server returned no session facts"))?;
    Ok(Context {
        login: text(row, 0).unwrap_or_default(),
        database: text(row, 1),
        // MySQL 8 says `NONE`; its roles are then reported as roles it may switch to.
        current_role: text(row, 2).filter(|role| role != "NONE"),
        fold_case: text(row, 3).is_some_and(|value| value != "0"),
    })
}

fn login_powers(session: &mut MysqlConnection, context: &Context) -> PluginResult<Vec<LoginPower>> {
    let lines: Vec<String> = session
        .fixed_rows("SHOW GRANTS", Params::Empty)?
        .iter()
        .filter_map(|row| text(row, 0))
        .collect();
    Ok(grants::powers(
        &lines,
        context.database.as_deref(),
        context.current_role.as_deref(),
    ))
}

/// Loadable native functions (`mysql.func`), which an unqualified name reaches before a
/// stored function of the same name. Only logins that may read `mysql.func` see them; for
/// others the list is empty and such a name stays unknown to the gate, which refuses it.
fn loadable_functions(session: &mut MysqlConnection) -> Vec<String> {
    session
        .fixed_rows("SELECT name FROM mysql.func", Params::Empty)
        .map(|rows| rows.iter().filter_map(|row| text(row, 0)).collect())
        .unwrap_or_default()
}

/// Whether the login can run routines or triggers that carry another account's privileges.
fn any_foreign_definer(session: &mut MysqlConnection) -> PluginResult<bool> {
    let rows = session.fixed_rows(
        "SELECT \
           (SELECT COUNT(*) FROM information_schema.ROUTINES \
            WHERE SECURITY_TYPE = 'DEFINER' AND DEFINER <> CURRENT_USER() \
              AND ROUTINE_SCHEMA NOT IN ('mysql', 'sys', 'performance_schema', 'information_schema')) \
         + (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE DEFINER <> CURRENT_USER())",
        Params::Empty,
    )?;
    let count = rows
        .first()
        .and_then(|row| text(row, 0))
        .unwrap_or_default();
    Ok(count != "0")
}

/// Code that runs as its definer gives a least-privilege login whatever that account may
/// do, which this login cannot read.
fn foreign_definer_power() -> LoginPower {
    LoginPower {
        power: "runs code defined by other accounts (SQL SECURITY DEFINER)".into(),
        meaning: "Routines, views and triggers run with their definer's privileges, which may \
                  include files, other sessions or accounts, whatever this login's own are."
            .into(),
        escapes: true,
    }
}

/// Whether code with this security type and definer runs as another account.
fn runs_as_other(context: &Context, security: Option<&str>, definer: Option<&str>) -> bool {
    security.is_none_or(|security| security.eq_ignore_ascii_case("DEFINER"))
        && definer != Some(context.login.as_str())
}

/// The schema and object a name refers to in this session; `None` when it cannot name one.
fn split(context: &Context, name: &SqlName) -> Option<(String, String)> {
    match name.parts.as_slice() {
        [object] => Some((context.database.clone()?, object.to_string())),
        [schema, object] => Some((schema.to_string(), object.to_string())),
        _ => None,
    }
}

fn resolve_function(
    session: &mut MysqlConnection,
    context: &Context,
    name: &SqlName,
    foreign: &mut bool,
) -> PluginResult<ResolvedFunction> {
    let mut routines = RVec::new();
    if let Some((schema, routine)) = split(context, name) {
        // Routine names never depend on case; the catalog's collation compares without it.
        let sql = if context.fold_case {
            "SELECT ROUTINE_SCHEMA, ROUTINE_NAME, SECURITY_TYPE, DEFINER \
             FROM information_schema.ROUTINES \
             WHERE LOWER(ROUTINE_SCHEMA) = LOWER(?) AND ROUTINE_NAME = ? \
             ORDER BY ROUTINE_SCHEMA, ROUTINE_NAME"
        } else {
            "SELECT ROUTINE_SCHEMA, ROUTINE_NAME, SECURITY_TYPE, DEFINER \
             FROM information_schema.ROUTINES \
             WHERE ROUTINE_SCHEMA = ? COLLATE utf8mb4_bin AND ROUTINE_NAME = ? \
             ORDER BY ROUTINE_SCHEMA, ROUTINE_NAME"
        };
        for row in session.fixed_rows(sql, bind(&[&schema, &routine]))? {
            let (Some(schema), Some(name)) = (text(&row, 0), text(&row, 1)) else {
                continue;
            };
            *foreign |= runs_as_other(context, text(&row, 2).as_deref(), text(&row, 3).as_deref());
            let system = schema.eq_ignore_ascii_case("sys")
                && VETTED_SYSTEM_ROUTINES
                    .iter()
                    .any(|vetted| vetted.eq_ignore_ascii_case(&name));
            routines.push(Routine {
                schema: schema.into(),
                name: name.into(),
                system,
            });
        }
    }
    Ok(ResolvedFunction {
        name: name.clone(),
        routines,
    })
}

fn resolve_relation(
    session: &mut MysqlConnection,
    context: &Context,
    name: &SqlName,
    target: bool,
    foreign: &mut bool,
) -> PluginResult<ResolvedRelation> {
    let mut resolved = ResolvedRelation {
        name: name.clone(),
        schema: ROption::RNone,
        system: false,
        view_definition: ROption::RNone,
        fires: RVec::new(),
    };
    let Some((schema, table)) = split(context, name) else {
        return Ok(resolved);
    };
    resolved.system = is_system_schema(&schema);
    if resolved.system {
        // Whether this login can see the table or not, the schema is the server's own.
        resolved.schema = ROption::RSome(schema.to_ascii_lowercase().into());
    }
    let sql = if context.fold_case {
        "SELECT TABLE_SCHEMA, TABLE_TYPE FROM information_schema.TABLES \
         WHERE LOWER(TABLE_SCHEMA) = LOWER(?) AND LOWER(TABLE_NAME) = LOWER(?)"
    } else {
        "SELECT TABLE_SCHEMA, TABLE_TYPE FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = ? COLLATE utf8mb4_bin AND TABLE_NAME = ? COLLATE utf8mb4_bin"
    };
    let rows = session.fixed_rows(sql, bind(&[&schema, &table]))?;
    let Some(row) = rows.first() else {
        return Ok(resolved);
    };
    let found_schema = text(row, 0).unwrap_or(schema);
    resolved.schema = ROption::RSome(found_schema.clone().into());
    if text(row, 1).as_deref() == Some("VIEW") {
        let (definition, runs_as) = view_definition(session, context, &found_schema, &table)?;
        *foreign |= runs_as;
        if target {
            resolved.fires = view_triggers(session, context, &definition, foreign)?.into();
        }
        resolved.view_definition = ROption::RSome(definition.into());
    } else if target && !resolved.system {
        resolved.fires = table_triggers(session, context, &found_schema, &table, foreign)?.into();
    }
    Ok(resolved)
}

fn view_definition(
    session: &mut MysqlConnection,
    context: &Context,
    schema: &str,
    view: &str,
) -> PluginResult<(String, bool)> {
    let sql = if context.fold_case {
        "SELECT VIEW_DEFINITION, SECURITY_TYPE, DEFINER FROM information_schema.VIEWS \
         WHERE LOWER(TABLE_SCHEMA) = LOWER(?) AND LOWER(TABLE_NAME) = LOWER(?)"
    } else {
        "SELECT VIEW_DEFINITION, SECURITY_TYPE, DEFINER FROM information_schema.VIEWS \
         WHERE TABLE_SCHEMA = ? COLLATE utf8mb4_bin AND TABLE_NAME = ? COLLATE utf8mb4_bin"
    };
    let rows = session.fixed_rows(sql, bind(&[schema, view]))?;
    let runs_as = rows.first().is_some_and(|row| {
        runs_as_other(context, text(row, 1).as_deref(), text(row, 2).as_deref())
    });
    // The server hides the text from logins without SHOW VIEW (it sends ''), and then what
    // the view reaches cannot be checked.
    rows.first()
        .and_then(|row| text(row, 0))
        .filter(|definition| !definition.trim().is_empty())
        .map(|definition| (definition, runs_as))
        .ok_or_else(|| {
            PluginError::query(format!(
                "the definition of view `{schema}`.`{view}` is not visible to this login \
                 (it needs the SHOW VIEW privilege), so what the view reaches cannot be checked"
            ))
        })
}

fn table_triggers(
    session: &mut MysqlConnection,
    context: &Context,
    schema: &str,
    table: &str,
    foreign: &mut bool,
) -> PluginResult<Vec<Routine>> {
    // The server lists the triggers of tables the login holds TRIGGER on; others stay
    // invisible (a limit of the catalog, see the crate's notes).
    let sql = if context.fold_case {
        "SELECT TRIGGER_SCHEMA, TRIGGER_NAME, DEFINER FROM information_schema.TRIGGERS \
         WHERE LOWER(EVENT_OBJECT_SCHEMA) = LOWER(?) AND LOWER(EVENT_OBJECT_TABLE) = LOWER(?) \
         ORDER BY TRIGGER_SCHEMA, TRIGGER_NAME"
    } else {
        "SELECT TRIGGER_SCHEMA, TRIGGER_NAME, DEFINER FROM information_schema.TRIGGERS \
         WHERE EVENT_OBJECT_SCHEMA = ? COLLATE utf8mb4_bin \
           AND EVENT_OBJECT_TABLE = ? COLLATE utf8mb4_bin \
         ORDER BY TRIGGER_SCHEMA, TRIGGER_NAME"
    };
    let rows = session.fixed_rows(sql, bind(&[schema, table]))?;
    // A trigger always runs as its definer.
    *foreign |= rows
        .iter()
        .any(|row| runs_as_other(context, None, text(row, 2).as_deref()));
    Ok(rows.iter().filter_map(|row| trigger(row, 0, 1)).collect())
}

fn trigger(row: &Row, schema: usize, name: usize) -> Option<Routine> {
    Some(Routine {
        schema: text(row, schema)?.into(),
        name: text(row, name)?.into(),
        system: false,
    })
}

/// `` `schema`.`name` `` as the server writes it in a view's canonical text.
fn quoted(schema: &str, name: &str) -> String {
    format!(
        "`{}`.`{}`",
        schema.replace('`', "``"),
        name.replace('`', "``")
    )
}

/// Triggers a write through a view may fire: those on every table its text names, through
/// views it names in turn. The server writes each table in a view's text as
/// `` `schema`.`table` ``, so the match is on that spelling; the catalog has no list of a
/// view's tables on MariaDB 10.11.
fn view_triggers(
    session: &mut MysqlConnection,
    context: &Context,
    definition: &str,
    foreign: &mut bool,
) -> PluginResult<Vec<Routine>> {
    let views: Vec<(String, String)> = session
        .fixed_rows(
            "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS",
            Params::Empty,
        )?
        .iter()
        .filter_map(|row| Some((quoted(&text(row, 0)?, &text(row, 1)?), text(row, 2)?)))
        .collect();
    let mut texts = vec![definition.to_owned()];
    let mut seen = Vec::new();
    let mut index = 0;
    while let Some(current) = texts.get(index).cloned() {
        index += 1;
        for (name, body) in &views {
            if !seen.contains(name) && current.contains(name.as_str()) {
                seen.push(name.clone());
                texts.push(body.clone());
            }
        }
    }
    let all = texts.join("\n");
    let rows: Vec<Row> = session
        .fixed_rows(
            "SELECT TRIGGER_SCHEMA, TRIGGER_NAME, EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE, \
                    DEFINER \
             FROM information_schema.TRIGGERS ORDER BY TRIGGER_SCHEMA, TRIGGER_NAME",
            Params::Empty,
        )?
        .into_iter()
        .filter(|row| match (text(row, 2), text(row, 3)) {
            (Some(schema), Some(table)) => all.contains(&quoted(&schema, &table)),
            _ => false,
        })
        .collect();
    *foreign |= rows
        .iter()
        .any(|row| runs_as_other(context, None, text(row, 4).as_deref()));
    Ok(rows.iter().filter_map(|row| trigger(row, 0, 1)).collect())
}

/// The write tier's fence: MariaDB and MySQL need no check after the statements.
///
/// A stored function or trigger cannot change the schema: the server refuses, when the
/// routine is created and again when a procedure it calls is run, every statement that
/// commits explicitly or implicitly (all DDL, GRANT, account changes: error 1422), dynamic
/// SQL (`PREPARE`, 1336) and `FLUSH` (1336). `tests/reach.rs` proves each on the live server.
/// What such code can still do inside a write transaction is DML, including DML on the
/// `mysql` schema's tables: the powers report and the host's refusal of unvetted code on
/// logins that can write there are the layer for that, not this fence. `CREATE TEMPORARY
/// TABLE` is allowed in functions; it touches only the session, never the schema.
pub(crate) fn write_fence() -> FenceOutcome {
    FenceOutcome::Unchanged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_schemas_ignore_case() {
        assert!(is_system_schema("MySQL"));
        assert!(is_system_schema("INFORMATION_SCHEMA"));
        assert!(!is_system_schema("mysql2"));
    }

    #[test]
    fn quoting_doubles_backquotes() {
        assert_eq!(quoted("a`b", "t"), "`a``b`.`t`");
    }
}
