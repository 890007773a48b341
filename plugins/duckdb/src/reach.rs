//! What names resolve to in DuckDB's catalog. DuckDB runs no user code but macros (SQL
//! text, reported as user routines with `system: false`); built-in functions are `system`.
//! The write fence compares a fingerprint of the schema before and after.

use plenum_plugin_api::{
    PluginResult, ReachReport, ReachRequest, ResolvedFunction, ResolvedRelation, Routine, SqlName,
};

use crate::values::query_error;

const FUNCTIONS: &str = "SELECT DISTINCT schema_name, function_name, internal \
     FROM duckdb_functions() \
     WHERE lower(function_name) = lower(?) AND (? = '' OR lower(schema_name) = lower(?)) \
     ORDER BY ALL";

const RELATIONS: &str = "SELECT schema_name, internal, NULL AS sql FROM duckdb_tables() \
     WHERE lower(table_name) = lower(?) AND (? = '' OR lower(schema_name) = lower(?)) \
     UNION ALL \
     SELECT schema_name, internal, sql FROM duckdb_views() \
     WHERE lower(view_name) = lower(?) AND (? = '' OR lower(schema_name) = lower(?)) \
     ORDER BY ALL";

const FINGERPRINT: &str = "SELECT coalesce(string_agg(item, chr(10) ORDER BY item), '') FROM ( \
     SELECT 'table ' || database_name || '.' || schema_name || '.' || table_name || ' ' || coalesce(sql, '') AS item FROM duckdb_tables() \
     UNION ALL SELECT 'view ' || database_name || '.' || schema_name || '.' || view_name || ' ' || coalesce(sql, '') FROM duckdb_views() WHERE NOT internal \
     UNION ALL SELECT 'index ' || database_name || '.' || schema_name || '.' || index_name || ' ' || coalesce(sql, '') FROM duckdb_indexes() \
     UNION ALL SELECT 'sequence ' || database_name || '.' || schema_name || '.' || sequence_name FROM duckdb_sequences() \
     UNION ALL SELECT 'routine ' || database_name || '.' || schema_name || '.' || function_name || ' ' || coalesce(macro_definition, '') FROM duckdb_functions() WHERE NOT internal \
     UNION ALL SELECT 'schema ' || database_name || '.' || schema_name FROM duckdb_schemas() WHERE NOT internal)";

/// The name's schema (the part before the last, or "") and its own name.
fn split(name: &SqlName) -> (String, String) {
    let parts = &name.parts;
    let schema = if parts.len() >= 2 {
        parts[parts.len() - 2].to_string()
    } else {
        String::new()
    };
    (schema, name.last().to_owned())
}

pub(crate) fn resolve(
    connection: &duckdb::Connection,
    request: &ReachRequest,
) -> PluginResult<ReachReport> {
    let mut report = ReachReport {
        login: "duckdb".into(),
        ..ReachReport::default()
    };
    let mut functions = connection.prepare(FUNCTIONS).map_err(query_error)?;
    for name in request.functions.iter() {
        let (schema, own) = split(name);
        let routines = functions
            .query_map(duckdb::params![own, schema, schema], |row| {
                Ok(Routine {
                    schema: row.get::<_, String>(0)?.into(),
                    name: row.get::<_, String>(1)?.into(),
                    system: row.get::<_, bool>(2)?,
                })
            })
            .map_err(query_error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(query_error)?;
        report.functions.push(ResolvedFunction {
            name: name.clone(),
            routines: routines.into(),
        });
    }
    let mut relations = connection.prepare(RELATIONS).map_err(query_error)?;
    for name in request.relations.iter().chain(request.targets.iter()) {
        let (schema, own) = split(name);
        let found = relations
            .query_map(
                duckdb::params![own, schema, schema, own, schema, schema],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, bool>(1)?,
                        row.get::<_, Option<String>>(2)?,
                    ))
                },
            )
            .map_err(query_error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(query_error)?;
        let resolved = match found.into_iter().next() {
            Some((schema, internal, sql)) => {
                let system = internal
                    || schema.eq_ignore_ascii_case("information_schema")
                    || schema.eq_ignore_ascii_case("pg_catalog");
                ResolvedRelation {
                    name: name.clone(),
                    schema: Some(schema.into()).into(),
                    system,
                    // The host vets a user view's definition as if the statement held it.
                    view_definition: sql.filter(|_| !system).map(Into::into).into(),
                    fires: Default::default(),
                }
            }
            None => ResolvedRelation {
                name: name.clone(),
                schema: None.into(),
                system: false,
                view_definition: None.into(),
                fires: Default::default(),
            },
        };
        report.relations.push(resolved);
    }
    Ok(report)
}

/// The schema's objects and definitions, in one text: equal before and after means the
/// transaction changed no schema object.
pub(crate) fn schema_fingerprint(connection: &duckdb::Connection) -> PluginResult<String> {
    connection
        .query_row(FINGERPRINT, [], |row| row.get(0))
        .map_err(query_error)
}
