//! Schema introspection through SQLite's table-valued pragma functions, with every name bound
//! as a parameter.

use std::cell::RefCell;
use std::collections::HashMap;

use plenum_plugin_api::abi_stable::std_types::{ROption, RString, RVec};
use plenum_plugin_api::{
    ColumnInfo, ForeignKeyInfo, IndexInfo, IntrospectOp, IntrospectRequest, IntrospectResult,
    PluginError, PluginResult, TableDetail, TableKind, TableSummary,
};
use rusqlite::types::ValueRef;
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
    let catalog = if schema.eq_ignore_ascii_case("temp") {
        Catalog::Temp
    } else if schema.eq_ignore_ascii_case("main") {
        Catalog::Main
    } else {
        return Ok(IntrospectResult::Table(ROption::RNone));
    };
    let Some(entry) = catalog_entry(connection, catalog, table)? else {
        return Ok(IntrospectResult::Table(ROption::RNone));
    };

    let mut statement = connection
        .prepare_cached(
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
        kind: kind_of(&entry.kind),
        comment: ROption::RNone,
        columns,
        primary_key: key_columns
            .into_iter()
            .map(|(_, name)| name.into())
            .collect(),
        foreign_keys: foreign_keys(connection, schema, table)?,
        indexes: indexes(connection, schema, table)?,
        view_definition: if entry.kind == "view" {
            text(entry.sql)
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
        .prepare_cached(
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
        .prepare_cached("SELECT name, \"unique\" FROM pragma_index_list(?2, ?1) ORDER BY name")
        .map_err(query_error)?;
    let list = statement
        .query_map(params![schema, table], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?))
        })
        .map_err(query_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(query_error)?;
    let mut columns_of = connection
        .prepare_cached("SELECT name FROM pragma_index_info(?2, ?1) ORDER BY seqno")
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

/// The catalog table that lists a schema's tables and views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Catalog {
    Main,
    Temp,
}

impl Catalog {
    /// The table or view named `?1`, with a view's definition (only views need it). A full
    /// scan of the catalog, which stops at the first match.
    fn by_name_sql(self) -> &'static str {
        match self {
            Catalog::Main => {
                "SELECT type, CASE WHEN type = 'view' THEN sql END FROM sqlite_schema \
                 WHERE type IN ('table', 'view') AND name = ?1"
            }
            Catalog::Temp => {
                "SELECT type, CASE WHEN type = 'view' THEN sql END FROM sqlite_temp_schema \
                 WHERE type IN ('table', 'view') AND name = ?1"
            }
        }
    }

    /// The same, at one rowid: nothing if that row is not (or no longer) the table or view
    /// named `?2`.
    fn at_rowid_sql(self) -> &'static str {
        match self {
            Catalog::Main => {
                "SELECT type, CASE WHEN type = 'view' THEN sql END FROM sqlite_schema \
                 WHERE rowid = ?1 AND name = ?2 AND type IN ('table', 'view')"
            }
            Catalog::Temp => {
                "SELECT type, CASE WHEN type = 'view' THEN sql END FROM sqlite_temp_schema \
                 WHERE rowid = ?1 AND name = ?2 AND type IN ('table', 'view')"
            }
        }
    }

    /// Every table and view with its rowid.
    fn rowids_sql(self) -> &'static str {
        match self {
            Catalog::Main => {
                "SELECT rowid, name FROM sqlite_schema WHERE type IN ('table', 'view')"
            }
            Catalog::Temp => {
                "SELECT rowid, name FROM sqlite_temp_schema WHERE type IN ('table', 'view')"
            }
        }
    }
}

/// A table's or view's row in its catalog.
struct CatalogEntry {
    /// `table` or `view`.
    kind: String,
    /// The `CREATE VIEW` statement, for a view.
    sql: Option<String>,
}

impl CatalogEntry {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(CatalogEntry {
            kind: row.get(0)?,
            sql: row.get(1)?,
        })
    }
}

/// Where each table and view of one catalog sits, by rowid, as last read on this thread.
///
/// Neither `sqlite_schema` nor `sqlite_temp_schema` is indexed by name, so finding a table by
/// name reads the catalog, and describing every table of a schema (the summary) did that once
/// per table. A hint only says where to look first: the row it points to is read again and
/// must still be that table or view, so a stale hint costs a scan, never a wrong answer.
struct CatalogHints {
    /// The database file the hints are for.
    file: String,
    /// The catalog they are for.
    catalog: Catalog,
    /// Name to rowid, for every table and view with a UTF-8 name; empty until a second lookup
    /// in the same catalog, so describing one table does not pay for reading every name.
    rowids: HashMap<String, i64>,
}

thread_local! {
    /// One set of hints per thread, so no lock: the summary asks for every table of one
    /// catalog in a row on one thread. Replaced when another catalog is asked about.
    static HINTS: RefCell<Option<CatalogHints>> = const { RefCell::new(None) };
}

/// The catalog row of the table or view named exactly `table` (case-sensitive, as the
/// catalog's `name = ?` is; SQLite itself finds tables whatever their case).
fn catalog_entry(
    connection: &Connection,
    catalog: Catalog,
    table: &str,
) -> PluginResult<Option<CatalogEntry>> {
    let file = connection.path().unwrap_or_default();
    // `None`: the first lookup in this catalog; else the hinted rowid, if any.
    let hint = HINTS.with(|hints| {
        hints
            .borrow()
            .as_ref()
            .filter(|hints| hints.catalog == catalog && hints.file == file)
            .map(|hints| hints.rowids.get(table).copied())
    });
    match hint {
        None => HINTS.with(|hints| {
            *hints.borrow_mut() = Some(CatalogHints {
                file: file.to_owned(),
                catalog,
                rowids: HashMap::new(),
            });
        }),
        Some(hint) => {
            if let Some(entry) = hint
                .map(|rowid| entry_at(connection, catalog, rowid, table))
                .transpose()?
                .flatten()
            {
                return Ok(Some(entry));
            }
            // Another lookup in this catalog with no usable hint: read every rowid once.
            let rowids = read_rowids(connection, catalog)?;
            let hint = rowids.get(table).copied();
            HINTS.with(|hints| {
                *hints.borrow_mut() = Some(CatalogHints {
                    file: file.to_owned(),
                    catalog,
                    rowids,
                });
            });
            if let Some(entry) = hint
                .map(|rowid| entry_at(connection, catalog, rowid, table))
                .transpose()?
                .flatten()
            {
                return Ok(Some(entry));
            }
        }
    }
    // The lookup by name decides whenever no hint held.
    connection
        .prepare_cached(catalog.by_name_sql())
        .map_err(query_error)?
        .query_row(params![table], CatalogEntry::from_row)
        .optional()
        .map_err(query_error)
}

/// The table or view named `table` at `rowid` of the catalog, if it is still there.
fn entry_at(
    connection: &Connection,
    catalog: Catalog,
    rowid: i64,
    table: &str,
) -> PluginResult<Option<CatalogEntry>> {
    connection
        .prepare_cached(catalog.at_rowid_sql())
        .map_err(query_error)?
        .query_row(params![rowid, table], CatalogEntry::from_row)
        .optional()
        .map_err(query_error)
}

/// The rowid of every table and view of the catalog with a UTF-8 name (no other name can be
/// asked for).
fn read_rowids(connection: &Connection, catalog: Catalog) -> PluginResult<HashMap<String, i64>> {
    let mut statement = connection
        .prepare_cached(catalog.rowids_sql())
        .map_err(query_error)?;
    let mut rows = statement.query([]).map_err(query_error)?;
    let mut rowids = HashMap::new();
    while let Some(row) = rows.next().map_err(query_error)? {
        if let ValueRef::Text(name) = row.get_ref(1).map_err(query_error)? {
            if let Ok(name) = std::str::from_utf8(name) {
                // The first row wins, as it does for the lookup by name.
                rowids
                    .entry(name.to_owned())
                    .or_insert(row.get(0).map_err(query_error)?);
            }
        }
    }
    Ok(rowids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe(connection: &Connection, schema: &str, table: &str) -> Option<TableDetail> {
        let request = IntrospectRequest {
            op: IntrospectOp::DescribeTable,
            schema: ROption::RSome(schema.into()),
            table: ROption::RSome(table.into()),
            pattern: ROption::RNone,
        };
        match introspect(connection, &request) {
            Ok(IntrospectResult::Table(detail)) => detail.into_option(),
            Ok(other) => panic!("not a table description: {other:?}"),
            Err(error) => panic!("describe {table}: {error:?}"),
        }
    }

    /// Kind, column names and view definition: what the catalog lookup decides.
    fn shape(detail: &TableDetail) -> (TableKind, Vec<String>, Option<String>) {
        (
            detail.kind,
            detail
                .columns
                .iter()
                .map(|column| column.name.to_string())
                .collect(),
            detail
                .view_definition
                .as_ref()
                .map(|sql| sql.to_string())
                .into_option(),
        )
    }

    fn open(dir: &tempfile::TempDir, name: &str, setup: &str) -> Connection {
        let connection = Connection::open(dir.path().join(name)).expect("open");
        connection.execute_batch(setup).expect("setup");
        connection
    }

    #[test]
    fn stale_hints_never_change_an_answer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let connection = open(
            &dir,
            "a.db",
            "CREATE TABLE a (x INTEGER); CREATE TABLE b (y TEXT); CREATE TABLE c (z REAL); \
             CREATE TABLE d (k INTEGER);",
        );
        // Each round: look every name up (so the hints are fresh), change the schema, then
        // ask again. A dropped last catalog row's rowid goes to the next object created, so
        // the old hint points at a row that is now something else.
        let rounds: [(&[&str], &str, &str, Option<_>); 4] = [
            // The hinted row is now a view with another name.
            (
                &["a", "b", "c", "d"],
                "DROP TABLE d; CREATE VIEW v AS SELECT x AS w FROM a;",
                "d",
                None,
            ),
            // The hinted row now holds an index of the same name.
            (
                &["a", "b", "c", "v"],
                "DROP VIEW v; CREATE INDEX v ON a (x);",
                "v",
                None,
            ),
            // The hinted row now holds a view of the same name.
            (
                &["a", "b", "c"],
                "DROP INDEX v; DROP TABLE c; CREATE VIEW c AS SELECT y AS w FROM b;",
                "c",
                Some((
                    TableKind::View,
                    vec!["w".to_owned()],
                    Some("CREATE VIEW c AS SELECT y AS w FROM b".to_owned()),
                )),
            ),
            // Two names trade rows.
            (
                &["a", "b", "c"],
                "ALTER TABLE a RENAME TO tmp; ALTER TABLE b RENAME TO a; \
                 ALTER TABLE tmp RENAME TO b;",
                "a",
                Some((TableKind::Table, vec!["y".to_owned()], None)),
            ),
        ];
        for (names, change, asked, expected) in rounds {
            for name in names {
                assert!(describe(&connection, "main", name).is_some(), "{name}");
            }
            connection.execute_batch(change).expect(change);
            let answer = describe(&connection, "main", asked);
            assert_eq!(answer.as_ref().map(shape), expected, "after {change}");
        }
        let b = describe(&connection, "main", "b").expect("b");
        assert_eq!(shape(&b), (TableKind::Table, vec!["x".into()], None));
    }

    #[test]
    fn names_are_exact_whatever_was_looked_up_before() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = open(
            &dir,
            "first.db",
            "CREATE TABLE orders (id INTEGER PRIMARY KEY); \
             CREATE TEMP TABLE scratch (t TEXT);",
        );
        let second = open(&dir, "second.db", "CREATE VIEW orders AS SELECT 1 AS one;");
        assert_eq!(
            describe(&first, "main", "orders").map(|d| d.kind),
            Some(TableKind::Table)
        );
        // SQLite finds tables case-insensitively; the lookup by exact name does not.
        assert!(describe(&first, "main", "ORDERS").is_none());
        assert!(describe(&first, "main", "scratch").is_none());
        assert_eq!(
            describe(&first, "temp", "scratch").map(|d| d.kind),
            Some(TableKind::Table)
        );
        assert!(describe(&first, "temp", "orders").is_none());
        // Another database file on the same thread: same name, another kind.
        assert_eq!(
            describe(&second, "main", "orders").map(|d| d.kind),
            Some(TableKind::View)
        );
        assert_eq!(
            describe(&first, "main", "orders").map(|d| d.kind),
            Some(TableKind::Table)
        );
    }
}
