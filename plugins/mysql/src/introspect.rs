//! Schema introspection from `information_schema`.
//!
//! Every query here is fixed text; the user's schema, table and pattern are bound as
//! parameters, never formatted into SQL. Names are compared with `utf8mb4_bin`, so `t` and
//! `T` stay different tables as they are on a case-sensitive server; the `LIKE` pattern of
//! a table listing keeps the catalog's case-insensitive collation.

use mysql::Params;
use plenum_plugin_api::abi_stable::std_types::{ROption, RString, RVec};
use plenum_plugin_api::{
    ColumnInfo, ForeignKeyInfo, IndexInfo, IntrospectOp, IntrospectRequest, IntrospectResult,
    PluginError, PluginResult, TableDetail, TableKind, TableSummary,
};

use crate::session::MysqlConnection;

type Row = Vec<mysql::Value>;

/// Answers one introspection request; the caller provides the read-only transaction.
pub(crate) fn run(
    session: &mut MysqlConnection,
    request: &IntrospectRequest,
) -> PluginResult<IntrospectResult> {
    match request.op {
        IntrospectOp::ListSchemas => list_schemas(session),
        IntrospectOp::ListTables => {
            let schema = schema_or_current(session, request)?;
            let pattern = request
                .pattern
                .as_ref()
                .map(|p| p.to_string())
                .into_option();
            list_tables(session, &schema, pattern)
        }
        IntrospectOp::DescribeTable => {
            let schema = schema_or_current(session, request)?;
            let Some(table) = request.table.as_ref().into_option() else {
                return Err(PluginError::query("describing a table needs a table name"));
            };
            describe_table(session, &schema, table.as_str())
        }
    }
}

fn params<const N: usize>(values: [Option<&str>; N]) -> Params {
    Params::Positional(
        values
            .into_iter()
            .map(|value| match value {
                Some(text) => mysql::Value::Bytes(text.as_bytes().to_vec()),
                None => mysql::Value::NULL,
            })
            .collect(),
    )
}

/// The text of column `index`, `None` for NULL.
fn text(row: &Row, index: usize) -> Option<String> {
    match row.get(index)? {
        mysql::Value::NULL => None,
        mysql::Value::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        mysql::Value::Int(int) => Some(int.to_string()),
        mysql::Value::UInt(uint) => Some(uint.to_string()),
        other => Some(other.as_sql(true)),
    }
}

fn required(row: &Row, index: usize) -> PluginResult<String> {
    text(row, index).ok_or_else(|| PluginError::internal("the catalog returned an unexpected NULL"))
}

fn integer(row: &Row, index: usize) -> Option<i64> {
    match row.get(index)? {
        mysql::Value::Int(int) => Some(*int),
        mysql::Value::UInt(uint) => i64::try_from(*uint).ok(),
        mysql::Value::Bytes(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok(),
        _ => None,
    }
}

fn non_empty(text: Option<String>) -> ROption<RString> {
    text.filter(|text| !text.is_empty())
        .map(RString::from)
        .into()
}

fn schema_or_current(
    session: &mut MysqlConnection,
    request: &IntrospectRequest,
) -> PluginResult<String> {
    if let ROption::RSome(schema) = &request.schema {
        return Ok(schema.to_string());
    }
    let rows = session.fixed_rows("SELECT DATABASE()", Params::Empty)?;
    rows.first().and_then(|row| text(row, 0)).ok_or_else(|| {
        PluginError::query("no schema was given and the session has no current database")
    })
}

fn list_schemas(session: &mut MysqlConnection) -> PluginResult<IntrospectResult> {
    let rows = session.fixed_rows(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA \
         WHERE SCHEMA_NAME NOT IN ('information_schema', 'performance_schema', 'mysql', 'sys') \
         ORDER BY SCHEMA_NAME",
        Params::Empty,
    )?;
    let names = rows
        .iter()
        .map(|row| required(row, 0).map(RString::from))
        .collect::<PluginResult<RVec<_>>>()?;
    Ok(IntrospectResult::Schemas(names))
}

fn table_kind(table_type: &str) -> TableKind {
    match table_type {
        // MariaDB lists system-versioned tables with their own type.
        "BASE TABLE" | "SYSTEM VERSIONED" => TableKind::Table,
        "VIEW" | "SYSTEM VIEW" => TableKind::View,
        _ => TableKind::Other,
    }
}

fn list_tables(
    session: &mut MysqlConnection,
    schema: &str,
    pattern: Option<String>,
) -> PluginResult<IntrospectResult> {
    let pattern = pattern.as_deref();
    let rows = session.fixed_rows(
        "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_ROWS \
         FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = ? COLLATE utf8mb4_bin \
           AND (? IS NULL OR TABLE_NAME LIKE ?) \
         ORDER BY TABLE_NAME",
        params([Some(schema), pattern, pattern]),
    )?;
    let tables = rows
        .iter()
        .map(|row| {
            Ok(TableSummary {
                schema: text(row, 0).map(RString::from).into(),
                name: required(row, 1)?.into(),
                kind: table_kind(&text(row, 2).unwrap_or_default()),
                row_estimate: integer(row, 3).into(),
            })
        })
        .collect::<PluginResult<RVec<_>>>()?;
    Ok(IntrospectResult::Tables(tables))
}

fn describe_table(
    session: &mut MysqlConnection,
    schema: &str,
    table: &str,
) -> PluginResult<IntrospectResult> {
    let names = params([Some(schema), Some(table)]);
    let found = session.fixed_rows(
        "SELECT TABLE_TYPE, TABLE_COMMENT FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = ? COLLATE utf8mb4_bin AND TABLE_NAME = ? COLLATE utf8mb4_bin",
        names.clone(),
    )?;
    let Some(found) = found.first() else {
        return Ok(IntrospectResult::Table(ROption::RNone));
    };
    let kind = table_kind(&text(found, 0).unwrap_or_default());
    // Views carry the placeholder comment "VIEW" rather than a comment of their own.
    let comment = text(found, 1).filter(|comment| !(kind == TableKind::View && comment == "VIEW"));

    let columns = session
        .fixed_rows(
            "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, COLUMN_COMMENT \
             FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? COLLATE utf8mb4_bin AND TABLE_NAME = ? COLLATE utf8mb4_bin \
             ORDER BY ORDINAL_POSITION",
            names.clone(),
        )?
        .iter()
        .map(|row| {
            Ok(ColumnInfo {
                name: required(row, 0)?.into(),
                type_name: required(row, 1)?.into(),
                nullable: text(row, 2).as_deref() == Some("YES"),
                default: text(row, 3).map(RString::from).into(),
                comment: non_empty(text(row, 4)),
            })
        })
        .collect::<PluginResult<RVec<_>>>()?;

    let primary_key = session
        .fixed_rows(
            "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
             WHERE TABLE_SCHEMA = ? COLLATE utf8mb4_bin AND TABLE_NAME = ? COLLATE utf8mb4_bin \
               AND CONSTRAINT_NAME = 'PRIMARY' \
             ORDER BY ORDINAL_POSITION",
            names.clone(),
        )?
        .iter()
        .map(|row| required(row, 0).map(RString::from))
        .collect::<PluginResult<RVec<_>>>()?;

    let foreign_keys = foreign_keys(session, names.clone())?;
    let indexes = indexes(session, names.clone())?;

    let view_definition = if kind == TableKind::View {
        let rows = session.fixed_rows(
            "SELECT VIEW_DEFINITION FROM information_schema.VIEWS \
             WHERE TABLE_SCHEMA = ? COLLATE utf8mb4_bin AND TABLE_NAME = ? COLLATE utf8mb4_bin",
            names,
        )?;
        rows.first().and_then(|row| text(row, 0))
    } else {
        None
    };

    Ok(IntrospectResult::Table(ROption::RSome(TableDetail {
        schema: ROption::RSome(schema.into()),
        name: table.into(),
        kind,
        comment: non_empty(comment),
        columns,
        primary_key,
        foreign_keys,
        indexes,
        view_definition: view_definition.map(RString::from).into(),
    })))
}

fn foreign_keys(
    session: &mut MysqlConnection,
    names: Params,
) -> PluginResult<RVec<ForeignKeyInfo>> {
    let rows = session.fixed_rows(
        "SELECT CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, \
                REFERENCED_COLUMN_NAME \
         FROM information_schema.KEY_COLUMN_USAGE \
         WHERE TABLE_SCHEMA = ? COLLATE utf8mb4_bin AND TABLE_NAME = ? COLLATE utf8mb4_bin \
           AND REFERENCED_TABLE_NAME IS NOT NULL \
         ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION",
        names,
    )?;
    let mut keys: RVec<ForeignKeyInfo> = RVec::new();
    for row in &rows {
        let name = required(row, 0)?;
        let column = RString::from(required(row, 1)?);
        let referenced_column = RString::from(required(row, 4)?);
        match keys.last_mut() {
            Some(key) if key.name.as_ref().map(|n| n.as_str()).into_option() == Some(&name) => {
                key.columns.push(column);
                key.referenced_columns.push(referenced_column);
            }
            _ => keys.push(ForeignKeyInfo {
                name: ROption::RSome(name.into()),
                columns: RVec::from(vec![column]),
                referenced_schema: text(row, 2).map(RString::from).into(),
                referenced_table: required(row, 3)?.into(),
                referenced_columns: RVec::from(vec![referenced_column]),
            }),
        }
    }
    Ok(keys)
}

fn indexes(session: &mut MysqlConnection, names: Params) -> PluginResult<RVec<IndexInfo>> {
    let rows = session.fixed_rows(
        "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME \
         FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = ? COLLATE utf8mb4_bin AND TABLE_NAME = ? COLLATE utf8mb4_bin \
         ORDER BY INDEX_NAME, SEQ_IN_INDEX",
        names,
    )?;
    let mut indexes: RVec<IndexInfo> = RVec::new();
    for row in &rows {
        let name = required(row, 0)?;
        // MySQL 8 functional key parts have no column name.
        let column = RString::from(text(row, 2).unwrap_or_else(|| "(expression)".to_owned()));
        match indexes.last_mut() {
            Some(index) if index.name.as_str() == name => index.columns.push(column),
            _ => indexes.push(IndexInfo {
                name: name.into(),
                columns: RVec::from(vec![column]),
                unique: integer(row, 1) == Some(0),
            }),
        }
    }
    Ok(indexes)
}
