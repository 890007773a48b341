//! Schema introspection from the system catalogs.
//!
//! Every query is fixed text; the user's schema, table and pattern are bound parameters
//! (`$1`, `$2`), never formatted into SQL. The session runs them in a read-only transaction
//! (or in the host's open transaction).
//!
//! * Schemas: all but `pg_catalog`, `information_schema`, `pg_toast*` and temporary schemas.
//! * Tables: tables, partitioned tables, views, materialized views (as views) and foreign
//!   tables (as other) of one schema — `current_schema()` when none is given — whose name is
//!   `LIKE` the pattern. The row estimate is `pg_class.reltuples`, absent for views and for
//!   tables never analyzed.
//! * A table without a schema is the one an unqualified name resolves to on the search path.

use std::collections::BTreeMap;

use plenum_plugin_api::abi_stable::std_types::{ROption, RString, RVec};
use plenum_plugin_api::{
    ColumnInfo, ForeignKeyInfo, IndexInfo, IntrospectOp, IntrospectRequest, IntrospectResult,
    PluginError, PluginResult, TableDetail, TableKind, TableSummary,
};
use postgres::types::{FromSql, ToSql};
use postgres::{GenericClient, Row};

use crate::errors::query_error;

/// Answers `request` with catalog queries on `client`.
pub async fn run(
    client: &mut impl GenericClient,
    request: &IntrospectRequest,
) -> PluginResult<IntrospectResult> {
    let schema = request.schema.as_ref().into_option().map(RString::as_str);
    match request.op {
        IntrospectOp::ListSchemas => list_schemas(client).await.map(IntrospectResult::Schemas),
        IntrospectOp::ListTables => {
            let pattern = request.pattern.as_ref().into_option().map(RString::as_str);
            list_tables(client, schema, pattern)
                .await
                .map(IntrospectResult::Tables)
        }
        IntrospectOp::DescribeTable => {
            let table = request
                .table
                .as_ref()
                .into_option()
                .map(RString::as_str)
                .ok_or_else(|| PluginError::query("describing a table needs the table's name"))?;
            describe_table(client, schema, table)
                .await
                .map(|detail| IntrospectResult::Table(detail.into()))
        }
    }
}

const LIST_SCHEMAS: &str = "\
SELECT nspname::text
FROM pg_catalog.pg_namespace
WHERE nspname NOT IN ('pg_catalog', 'information_schema')
  AND nspname NOT LIKE 'pg\\_toast%'
  AND nspname NOT LIKE 'pg\\_temp\\_%'
ORDER BY nspname";

const LIST_TABLES: &str = "\
SELECT n.nspname::text, c.relname::text, c.relkind::text, c.reltuples::float8
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = COALESCE($1::text, current_schema()::text)
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND ($2::text IS NULL OR c.relname::text LIKE $2::text)
ORDER BY c.relname";

const FIND_TABLE: &str = "\
SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text,
       pg_catalog.obj_description(c.oid, 'pg_class'),
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid, true) END
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = $2::text
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND CASE WHEN $1::text IS NULL THEN pg_catalog.pg_table_is_visible(c.oid)
           ELSE n.nspname = $1::text END";

const COLUMNS: &str = "\
SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid),
       pg_catalog.col_description(a.attrelid, a.attnum)
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum";

const PRIMARY_KEY: &str = "\
SELECT a.attname::text
FROM pg_catalog.pg_constraint con
CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, position)
JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
WHERE con.conrelid = $1 AND con.contype = 'p'
ORDER BY k.position";

const FOREIGN_KEYS: &str = "\
SELECT con.conname::text, fn.nspname::text, fc.relname::text, a.attname::text, fa.attname::text
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, fattnum, position)
JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
JOIN pg_catalog.pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = k.fattnum
WHERE con.conrelid = $1 AND con.contype = 'f'
ORDER BY con.conname, k.position";

// Key columns only (not INCLUDE columns); expressions come back as their SQL text.
const INDEXES: &str = "\
SELECT ic.relname::text, i.indisunique,
       CASE WHEN i.indkey[k.position - 1] <> 0 THEN a.attname::text
            ELSE pg_catalog.pg_get_indexdef(i.indexrelid, k.position::int, true) END
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
CROSS JOIN LATERAL generate_series(1, i.indnkeyatts) AS k(position)
LEFT JOIN pg_catalog.pg_attribute a
       ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k.position - 1]
WHERE i.indrelid = $1
ORDER BY ic.relname, k.position";

async fn query(
    client: &mut impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> PluginResult<Vec<Row>> {
    client.query(sql, params).await.map_err(|e| query_error(&e))
}

fn get<'a, T: FromSql<'a>>(row: &'a Row, index: usize) -> PluginResult<T> {
    row.try_get(index)
        .map_err(|e| PluginError::internal(format!("unexpected catalog column {index}: {e}")))
}

async fn list_schemas(client: &mut impl GenericClient) -> PluginResult<RVec<RString>> {
    query(client, LIST_SCHEMAS, &[])
        .await?
        .iter()
        .map(|row| get::<String>(row, 0).map(RString::from))
        .collect()
}

fn table_kind(relkind: &str) -> TableKind {
    match relkind {
        "r" | "p" => TableKind::Table,
        "v" | "m" => TableKind::View,
        _ => TableKind::Other,
    }
}

async fn list_tables(
    client: &mut impl GenericClient,
    schema: Option<&str>,
    pattern: Option<&str>,
) -> PluginResult<RVec<TableSummary>> {
    query(client, LIST_TABLES, &[&schema, &pattern])
        .await?
        .iter()
        .map(|row| {
            let kind = table_kind(&get::<String>(row, 2)?);
            let reltuples: f64 = get(row, 3)?;
            // -1 means "never analyzed"; views keep no count at all.
            let row_estimate =
                (kind != TableKind::View && reltuples >= 0.0).then_some(reltuples as i64);
            Ok(TableSummary {
                schema: ROption::RSome(get::<String>(row, 0)?.into()),
                name: get::<String>(row, 1)?.into(),
                kind,
                row_estimate: row_estimate.into(),
            })
        })
        .collect()
}

async fn describe_table(
    client: &mut impl GenericClient,
    schema: Option<&str>,
    table: &str,
) -> PluginResult<Option<TableDetail>> {
    let found = query(client, FIND_TABLE, &[&schema, &table]).await?;
    let Some(row) = found.first() else {
        return Ok(None);
    };
    let oid: u32 = get(row, 0)?;
    let mut detail = TableDetail {
        schema: ROption::RSome(get::<String>(row, 1)?.into()),
        name: get::<String>(row, 2)?.into(),
        kind: table_kind(&get::<String>(row, 3)?),
        comment: optional(get(row, 4)?),
        columns: RVec::new(),
        primary_key: RVec::new(),
        foreign_keys: RVec::new(),
        indexes: RVec::new(),
        view_definition: optional(get(row, 5)?),
    };

    for row in query(client, COLUMNS, &[&oid]).await? {
        detail.columns.push(ColumnInfo {
            name: get::<String>(&row, 0)?.into(),
            type_name: get::<String>(&row, 1)?.into(),
            nullable: get(&row, 2)?,
            default: optional(get(&row, 3)?),
            comment: optional(get(&row, 4)?),
        });
    }
    for row in query(client, PRIMARY_KEY, &[&oid]).await? {
        detail.primary_key.push(get::<String>(&row, 0)?.into());
    }

    let mut foreign_keys: BTreeMap<String, ForeignKeyInfo> = BTreeMap::new();
    for row in query(client, FOREIGN_KEYS, &[&oid]).await? {
        let name: String = get(&row, 0)?;
        let key = foreign_keys
            .entry(name.clone())
            .or_insert_with(|| ForeignKeyInfo {
                name: ROption::RSome(name.into()),
                columns: RVec::new(),
                referenced_schema: ROption::RNone,
                referenced_table: RString::new(),
                referenced_columns: RVec::new(),
            });
        key.referenced_schema = ROption::RSome(get::<String>(&row, 1)?.into());
        key.referenced_table = get::<String>(&row, 2)?.into();
        key.columns.push(get::<String>(&row, 3)?.into());
        key.referenced_columns.push(get::<String>(&row, 4)?.into());
    }
    detail.foreign_keys = foreign_keys.into_values().collect();

    let mut indexes: BTreeMap<String, IndexInfo> = BTreeMap::new();
    for row in query(client, INDEXES, &[&oid]).await? {
        let name: String = get(&row, 0)?;
        let unique: bool = get(&row, 1)?;
        let column: String = get(&row, 2)?;
        indexes
            .entry(name.clone())
            .or_insert_with(|| IndexInfo {
                name: name.into(),
                columns: RVec::new(),
                unique,
            })
            .columns
            .push(column.into());
    }
    detail.indexes = indexes.into_values().collect();
    Ok(Some(detail))
}

fn optional(text: Option<String>) -> ROption<RString> {
    text.map(RString::from).into()
}
