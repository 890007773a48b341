//! `plenum introspect`: schemas, tables and the detail of one table, answered by the plugin's
//! catalog queries (names bound as parameters, never spliced into SQL), always in a read-only
//! session with the engine's backstop on and under the call's timeout.
//!
//! One engine-neutral JSON shape whatever the plugin; listings and the summary stop at
//! `max_bytes` of JSON and say so in `meta`.

use std::time::{Duration, Instant};

use plenum_gate::Tier;
use plenum_plugin_api::abi_stable::std_types::{ROption, RString};
use plenum_plugin_api::{
    AccessMode, IntrospectOp, IntrospectRequest, IntrospectResult, TableDetail, TableSummary,
};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::pipeline::exec::{plugin_failure, OnStuck, Watchdog};
use crate::pipeline::session::open_session;
use crate::services::capability::{enforce, Ceiling};
use crate::services::connection::{resolve, ConnectionArgs, ConnectionSpec};
use crate::services::error::Failure;
use crate::services::options::Values;
use crate::services::output::Response;
use crate::services::output::{Meta, Truncation};
use crate::services::plugins::kept;
use crate::services::pool::Transaction;
use crate::services::sanitize::Sanitizer;
use crate::services::words::{hint, option};
use render::{render, DetailOut, Listing, SchemasOut, SummaryTable, TableEntry, TableOut};

mod render;

/// What to describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntrospectWhat {
    /// The schemas.
    Schemas,
    /// Tables and views of a schema, optionally matching a `LIKE` pattern.
    Tables {
        /// Schema (the session's default when `None`).
        schema: Option<String>,
        /// `LIKE` pattern.
        pattern: Option<String>,
    },
    /// One table or view in detail.
    Table {
        /// Schema (the session's default or search path when `None`).
        schema: Option<String>,
        /// Table name, exactly as stored (no quoting).
        table: String,
    },
    /// Every table of a schema with its columns and keys.
    Summary {
        /// Schema (the session's default when `None`).
        schema: Option<String>,
    },
}

/// One introspection call, as any front end builds it.
#[derive(Debug, Clone)]
pub struct IntrospectSpec {
    /// Where to connect.
    pub connection: ConnectionSpec,
    /// Ceilings in force (introspection needs only the read tier, which every ceiling allows;
    /// they are checked so no front end has to remember to).
    pub ceilings: Vec<Ceiling>,
    /// What to describe.
    pub what: IntrospectWhat,
    /// Bytes of JSON at most for listings and the summary.
    pub max_bytes: u64,
    /// Time for the whole call.
    pub timeout: Duration,
}

impl IntrospectWhat {
    /// What the options of [`crate::services::options::INTROSPECT`] ask to describe. Without
    /// `list_schemas`, `list_tables` or `table`: a summary of one schema.
    pub fn from_values(values: &Values) -> Result<Self, Failure> {
        let list_schemas = values.flag("list_schemas");
        let list_tables = values.flag("list_tables");
        let schema = values.text("schema");
        let table = values.text("table");
        let pattern = values.text("pattern");
        if list_schemas && (list_tables || table.is_some() || schema.is_some()) {
            return Err(Failure::invalid_input(format!(
                "{} takes no {}, {} or {}",
                option("list_schemas"),
                option("list_tables"),
                option("table"),
                option("schema")
            )));
        }
        if list_tables && table.is_some() {
            return Err(Failure::invalid_input(format!(
                "pass either {} or {}, not both",
                option("list_tables"),
                option("table")
            )));
        }
        if pattern.is_some() && !list_tables {
            return Err(Failure::invalid_input(format!(
                "{} works only with {}",
                option("pattern"),
                option("list_tables")
            )));
        }
        Ok(if list_schemas {
            IntrospectWhat::Schemas
        } else if list_tables {
            IntrospectWhat::Tables { schema, pattern }
        } else if let Some(table) = table {
            IntrospectWhat::Table { schema, table }
        } else {
            IntrospectWhat::Summary { schema }
        })
    }
}

impl IntrospectSpec {
    /// The call `values` ask for, at `connection` under `ceilings`.
    pub fn from_values(
        values: &Values,
        connection: ConnectionSpec,
        ceilings: Vec<Ceiling>,
    ) -> Result<Self, Failure> {
        Ok(IntrospectSpec {
            connection,
            ceilings,
            what: IntrospectWhat::from_values(values)?,
            max_bytes: values.count_or_default("max_bytes", crate::services::options::INTROSPECT),
            timeout: Duration::from_millis(
                values.count_or_default("timeout_ms", crate::services::options::INTROSPECT),
            ),
        })
    }
}

/// Runs `plenum introspect` with the options `values`: one call per process (a plugin that
/// ignores a cancel ends it with a TIMEOUT envelope).
pub fn introspect(values: &Values) -> Response {
    let mut sanitizer = Sanitizer::new();
    let connection = ConnectionArgs::from_values(values);
    let resolved = match resolve(&connection, &mut sanitizer) {
        Ok(resolved) => resolved,
        Err(failure) => {
            return Response::failure(connection.engine, "introspect", failure, sanitizer)
        }
    };
    let engine = resolved.spec.engine.clone();
    let spec = match IntrospectSpec::from_values(values, resolved.spec, resolved.ceilings) {
        Ok(spec) => spec,
        Err(failure) => return Response::failure(Some(engine), "introspect", failure, sanitizer),
    };
    let on_stuck = crate::pipeline::session::exit_on_stuck(
        Some(engine),
        "introspect",
        spec.timeout,
        sanitizer.clone(),
    );
    run_introspect(spec, sanitizer, on_stuck)
}

/// Runs one introspection call and returns its response (never panics on bad input).
pub fn run_introspect(spec: IntrospectSpec, sanitizer: Sanitizer, on_stuck: OnStuck) -> Response {
    let engine = spec.connection.engine.clone();
    match run(&spec, on_stuck) {
        Ok((data, meta)) => Response {
            engine: Some(engine),
            command: "introspect",
            outcome: Ok((data, Some(meta))),
            sanitizer,
        },
        Err(failure) => Response::failure(Some(engine), "introspect", failure, sanitizer),
    }
}

fn run(spec: &IntrospectSpec, on_stuck: OnStuck) -> Result<(Box<RawValue>, Meta), Failure> {
    let started = Instant::now();
    enforce(Tier::Read, &spec.ceilings)?;
    check_names(&spec.what)?;
    let plugin = kept::engine(&spec.connection.engine)?;
    if !plugin.info().capabilities.introspect {
        return Err(Failure::invalid_input(format!(
            "the {} plugin does not implement introspection; {} the \
             engine's catalog instead",
            plugin.info().name,
            hint("query_command")
        )));
    }
    let mut session = open_session(
        &plugin,
        &spec.connection,
        AccessMode::Read,
        spec.timeout,
        on_stuck,
    )?;
    let transaction = session
        .connection
        .begin()
        .map_err(|error| plugin_failure(error, &session.watchdog))?;
    let answer = {
        let mut catalog = Catalog {
            transaction,
            watchdog: &session.watchdog,
        };
        // A failed answer drops the transaction, which rolls it back; the answer's error is
        // the one reported.
        let answer = answer(&mut catalog, spec)?;
        catalog
            .transaction
            .rollback()
            .map_err(|error| plugin_failure(error, catalog.watchdog))?;
        answer
    };
    // Catalog reads in a read session that ended cleanly: it may stay warm (crate::services::pool).
    session.finish_read();
    let data = answer.data;
    let meta = Meta::new(started, AccessMode::Read, 0).rows(answer.entries, answer.truncated_by);
    Ok((data, meta))
}

/// The longest schema, table or pattern accepted (no engine allows names near this).
const MAX_NAME_BYTES: usize = 4096;

fn check_names(what: &IntrospectWhat) -> Result<(), Failure> {
    let names: Vec<(&str, &str)> = match what {
        IntrospectWhat::Schemas => Vec::new(),
        IntrospectWhat::Tables { schema, pattern } => [("schema", schema), ("pattern", pattern)]
            .into_iter()
            .filter_map(|(what, value)| value.as_deref().map(|value| (what, value)))
            .collect(),
        IntrospectWhat::Table { schema, table } => {
            let mut names = vec![("table", table.as_str())];
            names.extend(schema.as_deref().map(|schema| ("schema", schema)));
            names
        }
        IntrospectWhat::Summary { schema } => schema
            .as_deref()
            .map(|schema| ("schema", schema))
            .into_iter()
            .collect(),
    };
    for (what, value) in names {
        if value.is_empty() || value.len() > MAX_NAME_BYTES || value.contains('\0') {
            return Err(Failure::invalid_input(format!(
                "the {what} name must be 1 to {MAX_NAME_BYTES} bytes without NUL characters"
            )));
        }
    }
    Ok(())
}

/// The catalog reads of one call: its read-only transaction and the watchdog that bounds it.
struct Catalog<'s> {
    transaction: Transaction<'s>,
    watchdog: &'s Watchdog,
}

/// Data plus how many entries it holds and which limit cut it, if any.
struct Answer {
    data: Box<RawValue>,
    entries: u64,
    truncated_by: Option<Truncation>,
}

/// Bytes of JSON still allowed.
struct Budget(u64);

impl Budget {
    /// Takes room for `value` (plus its separator); false when it does not fit.
    fn fits(&mut self, value: &impl Serialize) -> bool {
        let size = serde_json::to_vec(value)
            .map(|bytes| bytes.len() as u64 + 1)
            .unwrap_or(u64::MAX);
        if size > self.0 {
            return false;
        }
        self.0 -= size;
        true
    }
}

fn ask(
    session: &mut Catalog<'_>,
    op: IntrospectOp,
    schema: Option<&str>,
    table: Option<&str>,
    pattern: Option<&str>,
) -> Result<IntrospectResult, Failure> {
    let text = |value: Option<&str>| -> ROption<RString> { value.map(RString::from).into() };
    let request = IntrospectRequest {
        op,
        schema: text(schema),
        table: text(table),
        pattern: text(pattern),
    };
    session
        .transaction
        .introspect(&request)
        .into_result()
        .map_err(|error| plugin_failure(error, session.watchdog))
}

fn wrong_answer(op: &str) -> Failure {
    Failure::plugin(format!(
        "the plugin answered a {op} request with another kind of result"
    ))
}

fn answer(session: &mut Catalog<'_>, spec: &IntrospectSpec) -> Result<Answer, Failure> {
    let mut budget = Budget(spec.max_bytes);
    match &spec.what {
        IntrospectWhat::Schemas => {
            let IntrospectResult::Schemas(names) =
                ask(session, IntrospectOp::ListSchemas, None, None, None)?
            else {
                return Err(wrong_answer("schema list"));
            };
            let total = names.len();
            let schemas: Vec<String> = names
                .into_iter()
                .map(String::from)
                .take_while(|name| budget.fits(name))
                .collect();
            Ok(Answer {
                entries: schemas.len() as u64,
                truncated_by: (schemas.len() < total).then_some(Truncation::MaxBytes),
                data: render(&SchemasOut {
                    schemas,
                    schemas_total: total,
                })?,
            })
        }
        IntrospectWhat::Tables { schema, pattern } => {
            let tables = list_tables(session, schema.as_deref(), pattern.as_deref())?;
            let total = tables.len();
            let listed_schema = listed_schema(schema.as_deref(), &tables);
            let entries: Vec<TableEntry> = tables
                .iter()
                .map(|table| TableEntry::new(table, listed_schema.as_deref()))
                .take_while(|entry| budget.fits(entry))
                .collect();
            Ok(Answer {
                entries: entries.len() as u64,
                truncated_by: (entries.len() < total).then_some(Truncation::MaxBytes),
                data: render(&Listing {
                    schema: listed_schema,
                    tables: entries,
                    tables_total: total,
                })?,
            })
        }
        IntrospectWhat::Table { schema, table } => {
            let detail = describe(session, schema.as_deref(), table)?.ok_or_else(|| {
                let place = schema
                    .as_deref()
                    .map(|schema| format!("in schema '{schema}'"))
                    .unwrap_or_else(|| "in the default schema".to_owned());
                Failure::invalid_input(format!(
                    "no table or view named '{table}' {place}; names are exact (no quotes, \
                     case-sensitive): {}",
                    hint("list_tables")
                ))
            })?;
            Ok(Answer {
                entries: 1,
                truncated_by: None,
                data: render(&DetailOut {
                    table: TableOut::from(detail),
                })?,
            })
        }
        IntrospectWhat::Summary { schema } => {
            // Stop describing with a quarter of the time left, so a huge schema yields a
            // partial summary rather than a TIMEOUT with nothing.
            let deadline = Instant::now() + spec.timeout.mul_f64(0.75);
            summary(session, schema.as_deref(), &mut budget, deadline)
        }
    }
}

fn list_tables(
    session: &mut Catalog<'_>,
    schema: Option<&str>,
    pattern: Option<&str>,
) -> Result<Vec<TableSummary>, Failure> {
    match ask(session, IntrospectOp::ListTables, schema, None, pattern)? {
        IntrospectResult::Tables(tables) => Ok(tables.into_iter().collect()),
        _ => Err(wrong_answer("table list")),
    }
}

fn describe(
    session: &mut Catalog<'_>,
    schema: Option<&str>,
    table: &str,
) -> Result<Option<TableDetail>, Failure> {
    match ask(
        session,
        IntrospectOp::DescribeTable,
        schema,
        Some(table),
        None,
    )? {
        IntrospectResult::Table(detail) => Ok(detail.into_option()),
        _ => Err(wrong_answer("table description")),
    }
}

/// The schema a listing is in: the one asked for, else the one the plugin reports.
fn listed_schema(asked: Option<&str>, tables: &[TableSummary]) -> Option<String> {
    asked.map(str::to_owned).or_else(|| {
        tables.first().and_then(|table| {
            table
                .schema
                .as_ref()
                .map(|schema| schema.to_string())
                .into_option()
        })
    })
}

fn summary(
    session: &mut Catalog<'_>,
    schema: Option<&str>,
    budget: &mut Budget,
    deadline: Instant,
) -> Result<Answer, Failure> {
    let tables = list_tables(session, schema, None)?;
    let listed_schema = listed_schema(schema, &tables);
    let total = tables.len();
    let mut described = Vec::new();
    let mut truncated_by = None;
    for table in &tables {
        if Instant::now() >= deadline {
            truncated_by = Some(Truncation::Timeout);
            break;
        }
        // Ask in the table's own schema, so a name that also exists earlier on a search
        // path is not described instead.
        let table_schema = table
            .schema
            .as_ref()
            .map(|schema| schema.as_str())
            .into_option()
            .or(schema);
        // A table dropped since the listing is simply left out.
        let Some(detail) = describe(session, table_schema, table.name.as_str())? else {
            continue;
        };
        let entry = SummaryTable::new(detail, listed_schema.as_deref());
        if !budget.fits(&entry) {
            truncated_by = Some(Truncation::MaxBytes);
            break;
        }
        described.push(entry);
    }
    Ok(Answer {
        entries: described.len() as u64,
        truncated_by,
        data: render(&Listing {
            schema: listed_schema,
            tables: described,
            tables_total: total,
        })?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_stops_at_the_first_entry_that_does_not_fit() {
        let mut budget = Budget(10);
        assert!(budget.fits(&"abc")); // "abc" + separator = 6
        assert!(!budget.fits(&"abcd")); // 7 > 4 left
        assert!(budget.fits(&"a")); // 4 = 4 left
        assert!(!budget.fits(&""));
    }

    #[test]
    fn names_with_nul_or_empty_are_refused() {
        for table in ["", "a\0b"] {
            let what = IntrospectWhat::Table {
                schema: None,
                table: table.into(),
            };
            assert!(check_names(&what).is_err(), "{table:?}");
        }
        let what = IntrospectWhat::Table {
            schema: Some("s".into()),
            table: "x'); DROP TABLE t; --".into(),
        };
        assert!(check_names(&what).is_ok());
    }
}
