//! A DuckDB session: opened locked down, one statement per call, host-owned transactions,
//! reads streamed.

use std::path::Path;
use std::sync::Arc;

use duckdb::{InterruptHandle, Rows, Statement};
use ouroboros::self_referencing;
use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{
    AccessMode, CancelHandle, Column, ConnectParams, Connection, Cursor, FenceOutcome, PluginError,
    PluginResult, ReachReport, ReachRequest, ServerInfo, Value,
};

use crate::allowed::{refuse_readers_without_directories, Allowed};
use crate::extract::Splitter;
use crate::file_statements::refuse_file_statements;
use crate::raw::{Interrupter, RawConnection, RawDatabase};
use crate::stream::StreamCursor;
use crate::values::{query_error, to_value};

/// One open DuckDB database: a duckdb-rs connection for the host's transaction, writes, reach
/// and the fence, and a C API connection that streams the reads of a read session. Fields
/// drop in order: both connections before the database.
pub(crate) struct DuckSession {
    connection: duckdb::Connection,
    reader: RawConnection,
    _database: RawDatabase,
    access: AccessMode,
    splitter: Splitter,
    name: String,
    files: bool,
    in_transaction: bool,
    schema_at_begin: Option<String>,
}

/// Settings every session opens with: no extensions beyond those built in, no persistent
/// secrets. Without allowed directories, external access goes off and the configuration is
/// locked here too; with them, [`confine`] does both once DuckDB knows the directories (it
/// takes them only from a started database, and only while external access is on). DuckDB
/// cannot open `:memory:` read-only; nothing written there outlives the session, and the gate
/// stands in front of it.
fn settings(access: AccessMode, in_memory: bool, files: bool) -> Vec<(&'static str, &'static str)> {
    let mode = match access {
        AccessMode::Read if !in_memory => "READ_ONLY",
        _ => "READ_WRITE",
    };
    let mut settings = vec![
        ("access_mode", mode),
        ("autoinstall_known_extensions", "false"),
        ("autoload_known_extensions", "false"),
        ("allow_community_extensions", "false"),
        ("allow_persistent_secrets", "false"),
    ];
    if !files {
        settings.push(("enable_external_access", "false"));
        settings.push(("lock_configuration", "true"));
    }
    settings
}

/// Hands DuckDB the allowed directories, then turns external access off and locks the
/// configuration, and checks that both took.
fn confine(connection: &duckdb::Connection, allowed: &Allowed) -> PluginResult<()> {
    if allowed.any() {
        for sql in [
            allowed.setting_sql().as_str(),
            "SET enable_external_access = false",
            "SET lock_configuration = true",
        ] {
            connection
                .execute_batch(sql)
                .map_err(|error| PluginError::connection(error.to_string()))?;
        }
    }
    let (external, locked): (bool, bool) = connection
        .query_row(
            "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(|error| PluginError::connection(error.to_string()))?;
    if external || !locked {
        return Err(PluginError::connection(
            "DuckDB did not take the session's locked settings",
        ));
    }
    Ok(())
}

impl DuckSession {
    pub(crate) fn open(params: &ConnectParams) -> PluginResult<Self> {
        let file = params.file.as_ref().into_option().map(|f| f.as_str());
        let in_memory = file.is_none_or(|f| f == ":memory:" || f.ends_with("/:memory:"));
        let allowed = Allowed::from_params(params)?;
        let settings = settings(params.access, in_memory, allowed.any());
        let (path, name) = if in_memory {
            (None, ":memory:".to_owned())
        } else {
            let path = file.unwrap_or_default();
            // DuckDB would create a missing file even read-only in some versions; a read
            // never creates anything.
            if params.access == AccessMode::Read && !Path::new(path).is_file() {
                return Err(PluginError::connection(format!(
                    "no DuckDB database at {path} (a read never creates one)"
                )));
            }
            (Some(path), path.to_owned())
        };
        let database = RawDatabase::open(path, &settings)?;
        let connection = database.rust_connection()?;
        confine(&connection, &allowed)?;
        let reader = database.raw_connection()?;
        Ok(DuckSession {
            connection,
            reader,
            _database: database,
            access: params.access,
            splitter: Splitter::new()?,
            name,
            files: allowed.any(),
            in_transaction: false,
            schema_at_begin: None,
        })
    }

    fn command(&self, sql: &str) -> PluginResult<()> {
        self.connection.execute_batch(sql).map_err(query_error)
    }
}

impl Connection for DuckSession {
    fn begin(&mut self) -> PluginResult<()> {
        self.command("BEGIN TRANSACTION")?;
        self.in_transaction = true;
        self.schema_at_begin = match self.access {
            AccessMode::Write => Some(crate::reach::schema_fingerprint(&self.connection)?),
            _ => None,
        };
        Ok(())
    }

    fn execute<'a>(
        &'a mut self,
        sql: &str,
        params: &[Value],
        _row_limit_hint: u64,
    ) -> PluginResult<Box<dyn Cursor + 'a>> {
        // duckdb-rs's `prepare` runs every statement but the last: DuckDB's own extraction
        // must find exactly one before it is called.
        let count = self.splitter.count(sql)?;
        if count != 1 {
            return Err(PluginError::query(format!(
                "DuckDB reads {count} statements in this text; one is run per call"
            )));
        }
        refuse_file_statements(sql)?;
        if !self.files {
            refuse_readers_without_directories(sql)?;
        }
        if self.access == AccessMode::Read {
            // DuckDB's own parser, behind the gate's: a read session runs only queries (a
            // read-only database still lets COPY, EXPORT and ATTACH write files, and with
            // allowed directories they could write there). Checked before anything is
            // prepared: binding EXPORT DATABASE already creates its directory.
            if !self.splitter.is_query(sql)? {
                return Err(PluginError::query(
                    "DuckDB reads this statement as something other than a query; a read \
                     session runs only queries",
                ));
            }
            // Reads stream from the second connection: its chunks are pulled as the host
            // asks, so memory stays flat and `--max-rows` stops DuckDB early.
            return Ok(Box::new(StreamCursor::start(
                self.reader.handle(),
                sql,
                params,
            )?));
        }
        let mut statement = self.connection.prepare(sql).map_err(query_error)?;
        let values: Vec<duckdb::types::Value> = params.iter().map(to_duck).collect();
        let changed = statement
            .execute(duckdb::params_from_iter(values))
            .map_err(query_error)?;
        let names = statement.column_names();
        if is_plain_write(sql) && names.len() == 1 && names[0] == "Count" {
            // The result's one value is the count (`execute`'s own is 0 for CREATE … AS).
            let mut rows = statement.raw_query();
            let counted = match rows.next().map_err(query_error)? {
                Some(row) => row.get::<_, i64>(0).ok(),
                None => None,
            };
            let affected = counted
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(changed as u64);
            return Ok(Box::new(DoneCursor(Some(affected))));
        }
        let columns = (0..names.len())
            .map(|index| {
                let type_name = format!("{}", statement.column_type(index));
                Column::new(names[index].as_str(), type_name.to_uppercase())
            })
            .collect();
        let inner = StatementRowsBuilder {
            statement,
            rows_builder: |statement| statement.raw_query(),
        }
        .build();
        Ok(Box::new(RowCursor {
            columns,
            inner,
            done: false,
        }))
    }

    fn commit(&mut self) -> PluginResult<()> {
        if std::mem::take(&mut self.in_transaction) {
            self.command("COMMIT")?;
        }
        Ok(())
    }

    fn rollback(&mut self) -> PluginResult<()> {
        if std::mem::take(&mut self.in_transaction) {
            self.command("ROLLBACK")?;
        }
        Ok(())
    }

    fn cancel_handle(&self) -> PluginResult<Box<dyn CancelHandle>> {
        Ok(Box::new(DuckCancel(
            self.connection.interrupt_handle(),
            self.reader.interrupter(),
        )))
    }

    fn server_info(&mut self) -> PluginResult<ServerInfo> {
        let version: String = self
            .connection
            .query_row("SELECT version()", [], |row| row.get(0))
            .map_err(query_error)?;
        Ok(ServerInfo {
            version: format!("DuckDB {version}").into(),
            database: Some(self.name.clone().into()).into(),
            user: None.into(),
        })
    }

    fn explain(&mut self, sql: &str, params: &[Value]) -> PluginResult<String> {
        // The plan-only form goes through `execute` like any statement: one statement, the
        // file-statement refusals, and in a read session DuckDB's parser must read it as a
        // plan-only EXPLAIN of one query.
        let wrapped = crate::explain::wrap(sql);
        let mut cursor = self.execute(&wrapped, params, 0)?;
        let width = cursor.columns().len().max(1);
        let mut cells = RVec::new();
        while cursor.fetch(256, &mut cells)? > 0 {}
        drop(cursor);
        // One row, `(explain_key, explain_value)`: the plan is its last cell.
        let rows: Vec<&[Value]> = cells.as_slice().chunks(width).collect();
        match rows.as_slice() {
            [row] => match row.last() {
                Some(Value::Text(text)) => {
                    crate::explain::tree(text.as_str()).map_err(PluginError::query)
                }
                _ => Err(PluginError::query("DuckDB's plan row holds no JSON text")),
            },
            _ => Err(PluginError::query(format!(
                "DuckDB answered {} rows for EXPLAIN (FORMAT JSON); one was expected",
                rows.len()
            ))),
        }
    }

    fn reach(&mut self, request: &ReachRequest) -> PluginResult<ReachReport> {
        crate::reach::resolve(&self.connection, request)
    }

    fn write_fence(&mut self) -> PluginResult<FenceOutcome> {
        let Some(before) = &self.schema_at_begin else {
            return Ok(FenceOutcome::Unknown("not a write-mode session".into()));
        };
        let after = crate::reach::schema_fingerprint(&self.connection)?;
        Ok(if &after == before {
            FenceOutcome::Unchanged
        } else {
            FenceOutcome::Changed(
                "the schema (tables, views, macros, indexes, sequences, types) changed".into(),
            )
        })
    }
}

/// INSERT, UPDATE, DELETE without RETURNING and CREATE TABLE … AS: DuckDB answers with one
/// `Count` column, which is the number of rows changed, not a result.
fn is_plain_write(sql: &str) -> bool {
    let first = sql
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(first.as_str(), "insert" | "update" | "delete" | "create")
        && !sql.to_ascii_lowercase().contains("returning")
}

fn to_duck(value: &Value) -> duckdb::types::Value {
    use duckdb::types::Value as Duck;
    match value {
        Value::Null => Duck::Null,
        Value::Bool(b) => Duck::Boolean(*b),
        Value::Int(i) => Duck::BigInt(*i),
        Value::UInt(u) => Duck::UBigInt(*u),
        Value::Float(f) => Duck::Double(*f),
        Value::Decimal(text) | Value::Text(text) | Value::Json(text) => {
            Duck::Text(text.to_string())
        }
        Value::Bytes(bytes) => Duck::Blob(bytes.to_vec()),
    }
}

struct DuckCancel(Arc<InterruptHandle>, Interrupter);

impl CancelHandle for DuckCancel {
    fn cancel(&self) -> PluginResult<()> {
        self.0.interrupt();
        self.1.interrupt();
        Ok(())
    }
}

struct DoneCursor(Option<u64>);

impl Cursor for DoneCursor {
    fn columns(&self) -> Vec<Column> {
        Vec::new()
    }

    fn fetch(&mut self, _max_rows: usize, _out: &mut RVec<Value>) -> PluginResult<usize> {
        Ok(0)
    }

    fn rows_affected(&self) -> Option<u64> {
        self.0
    }
}

// `Rows` borrows the statement; both live in the cursor so the host can pull batches.
#[self_referencing]
struct StatementRows<'conn> {
    statement: Statement<'conn>,
    #[borrows(statement)]
    #[not_covariant]
    rows: Rows<'this>,
}

struct RowCursor<'conn> {
    columns: Vec<Column>,
    inner: StatementRows<'conn>,
    done: bool,
}

impl Cursor for RowCursor<'_> {
    fn columns(&self) -> Vec<Column> {
        self.columns.clone()
    }

    fn fetch(&mut self, max_rows: usize, out: &mut RVec<Value>) -> PluginResult<usize> {
        if self.done {
            return Ok(0);
        }
        let width = self.columns.len();
        let (fetched, done) = self.inner.with_rows_mut(|rows| {
            let mut fetched = 0;
            while fetched < max_rows {
                match rows.next().map_err(query_error)? {
                    Some(row) => {
                        for index in 0..width {
                            let value = row.get_ref(index).map_err(query_error)?.to_owned();
                            out.push(to_value(value));
                        }
                        fetched += 1;
                    }
                    None => return Ok::<_, PluginError>((fetched, true)),
                }
            }
            Ok((fetched, false))
        })?;
        self.done = done;
        Ok(fetched)
    }

    fn rows_affected(&self) -> Option<u64> {
        None
    }
}
