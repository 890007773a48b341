//! Schema introspection through SQLite's table-valued pragma functions, with every name bound
//! as a parameter.

use plenum_plugin_api::abi_stable::std_types::{ROption, RString, RVec};
use plenum_plugin_api::{
    ColumnInfo, ForeignKeyInfo, IndexInfo, IntrospectOp, IntrospectRequest, IntrospectResult,
    PluginError, PluginResult, TableDetail, TableKind, TableSummary,
};
use rusqlite::{params, Connection, OptionalExtension};

use crate::values::query_error;

fn text(value: Option<String>) -> ROption<RString> {
    value.map(RString::from).into()
}

fn kind_of(kind: &str) -> TableKind {
    match kind {
        "table" => TableKind::Table,
        "view" => TableKind::View,
        _ => TableKind::Other,
    }
}

/// Answers one introspection request.
pub(crate) fn introspect(
    connection: &Connection,
    request: &IntrospectRequest,
) -> PluginResult<IntrospectResult> {
    let schema = request
        .schema
        .as_ref()
        .map(|schema| schema.as_str())
        .unwrap_or("main");
    match request.op {
        IntrospectOp::ListSchemas => list_schemas(connection),
        IntrospectOp::ListTables => list_tables(
            connection,
            schema,
            request
                .pattern
                .as_ref()
                .map(|pattern| pattern.as_str())
                .into_option(),
        ),
        IntrospectOp::DescribeTable => {
            let table =
                request.table.as_ref().into_option().ok_or_else(|| {
                    PluginError::query("describing a table needs the table's name")
                })?;
            describe_table(connection, schema, table.as_str())
        }
    }
}

fn list_schemas(connection: &Connection) -> PluginResult<IntrospectResult> {
    let mut statement = connection
        .prepare("SELECT name FROM pragma_database_list ORDER BY seq")
        .map_err(query_error)?;
    let names = statement
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(query_error)?
        .map(|name| name.map(RString::from).map_err(query_error))
        .collect::<PluginResult<RVec<RString>>>()?;
    Ok(IntrospectResult::Schemas(names))
}

fn list_tables(
    connection: &Connection,
    schema: &str,
    pattern: Option<&str>,
) -> PluginResult<IntrospectResult> {
    let mut statement = connection
        .prepare(
            "SELECT name, type FROM pragma_table_list \
             WHERE schema = ?1 AND type IN ('table', 'view') \
               AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
               AND (?2 IS NULL OR name LIKE ?2) \
             ORDER BY name",
        )
        .map_err(query_error)?;
    let tables = statement
        .query_map(params![schema, pattern], |row| {
            Ok(TableSummary {
                schema: ROption::RSome(schema.into()),
                name: row.get::<_, String>(0)?.into(),
                kind: kind_of(&row.get::<_, String>(1)?),
                row_estimate: ROption::RNone,
            })
        })
        .map_err(query_error)?
        .collect::<Result<RVec<_>, _>>()
        .map_err(query_error)?;
    Ok(IntrospectResult::Tables(tables))
}

fn describe_table(
    connection: &Connection,
    schema: &str,
    table: &str,
) -> PluginResult<IntrospectResult> {
    // The schema table is indexed by name; `pragma_table_list` would describe every table.
    let catalog = if schema.eq_ignore_ascii_case("temp") {
        "SELECT type FROM sqlite_temp_schema WHERE type IN ('table', 'view') AND name = ?1"
    } else if schema.eq_ignore_ascii_case("main") {
        "SELECT type FROM sqlite_schema WHERE type IN ('table', 'view') AND name = ?1"
    } else {
        return Ok(IntrospectResult::Table(ROption::RNone));
    };
    let kind: Option<String> = connection
        .query_row(catalog, params![table], |row| row.get(0))
        .optional()
        .map_err(query_error)?;
    let Some(kind) = kind else {
        return Ok(IntrospectResult::Table(ROption::RNone));
    };

    let mut statement = connection
        .prepare(
            "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_xinfo(?2, ?1) \
             WHERE hidden IN (0, 2, 3) ORDER BY cid",
        )
        .map_err(query_error)?;
    let mut key_columns: Vec<(i64, String)> = Vec::new();
    let mut columns = RVec::new();
    let rows = statement
        .query_map(params![schema, table], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?.unwrap_or_default(),
                row.get::<_, bool>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, i64>(4)?,
            ))
        })
        .map_err(query_error)?;
    for row in rows {
        let (name, type_name, not_null, default, key_position) = row.map_err(query_error)?;
        if key_position > 0 {
            key_columns.push((key_position, name.clone()));
        }
        columns.push(ColumnInfo {
            name: name.into(),
            type_name: type_name.into(),
            nullable: !not_null && key_position == 0,
            default: text(default),
            comment: ROption::RNone,
        });
    }
    key_columns.sort();

    Ok(IntrospectResult::Table(ROption::RSome(TableDetail {
        schema: ROption::RSome(schema.into()),
        name: table.into(),
        kind: kind_of(&kind),
        comment: ROption::RNone,
        columns,
        primary_key: key_columns
            .into_iter()
            .map(|(_, name)| name.into())
            .collect(),
        foreign_keys: foreign_keys(connection, schema, table)?,
        indexes: indexes(connection, schema, table)?,
        view_definition: if kind == "view" {
            view_definition(connection, schema, table)?
        } else {
            ROption::RNone
        },
    })))
}

fn foreign_keys(
    connection: &Connection,
    schema: &str,
    table: &str,
) -> PluginResult<RVec<ForeignKeyInfo>> {
    let mut statement = connection
        .prepare(
            "SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?2, ?1) \
             ORDER BY id, seq",
        )
        .map_err(query_error)?;
    let rows = statement
        .query_map(params![schema, table], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<String>>(3)?,
            ))
        })
        .map_err(query_error)?;
    let mut keys: Vec<(i64, ForeignKeyInfo)> = Vec::new();
    for row in rows {
        let (id, referenced, from, to) = row.map_err(query_error)?;
        if keys.last().map(|(last, _)| *last) != Some(id) {
            keys.push((
                id,
                ForeignKeyInfo {
                    name: ROption::RNone,
                    columns: RVec::new(),
                    referenced_schema: ROption::RSome(schema.into()),
                    referenced_table: referenced.into(),
                    referenced_columns: RVec::new(),
                },
            ));
        }
        if let Some((_, key)) = keys.last_mut() {
            key.columns.push(from.into());
            // A NULL target column means "the referenced table's primary key".
            key.referenced_columns.push(to.unwrap_or_default().into());
        }
    }
    Ok(keys.into_iter().map(|(_, key)| key).collect())
}

fn indexes(connection: &Connection, schema: &str, table: &str) -> PluginResult<RVec<IndexInfo>> {
    let mut statement = connection
        .prepare("SELECT name, \"unique\" FROM pragma_index_list(?2, ?1) ORDER BY name")
        .map_err(query_error)?;
    let list = statement
        .query_map(params![schema, table], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?))
        })
        .map_err(query_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(query_error)?;
    let mut columns_of = connection
        .prepare("SELECT name FROM pragma_index_info(?2, ?1) ORDER BY seqno")
        .map_err(query_error)?;
    let mut indexes = RVec::new();
    for (name, unique) in list {
        let columns = columns_of
            .query_map(params![schema, name], |row| {
                Ok(row
                    .get::<_, Option<String>>(0)?
                    .unwrap_or_else(|| "<expression>".into()))
            })
            .map_err(query_error)?
            .map(|column| column.map(RString::from).map_err(query_error))
            .collect::<PluginResult<RVec<RString>>>()?;
        indexes.push(IndexInfo {
            name: name.into(),
            columns,
            unique,
        });
    }
    Ok(indexes)
}

fn view_definition(
    connection: &Connection,
    schema: &str,
    view: &str,
) -> PluginResult<ROption<RString>> {
    let catalog = if schema.eq_ignore_ascii_case("temp") {
        "SELECT sql FROM sqlite_temp_schema WHERE type = 'view' AND name = ?1"
    } else {
        "SELECT sql FROM sqlite_schema WHERE type = 'view' AND name = ?1"
    };
    let sql: Option<Option<String>> = connection
        .query_row(catalog, params![view], |row| row.get(0))
        .optional()
        .map_err(query_error)?;
    Ok(text(sql.flatten()))
}
