//! `plenum-minidb`: a template engine plugin for Plenum.
//!
//! minidb keeps tables in one text file and understands a small SQL subset ([`sql`]). It is
//! deliberately simple; what it shows is the shape every plugin has:
//!
//! * [`MiniDb`] implements [`Plugin`]: what the plugin is, and opening a session;
//! * [`Session`] implements [`Connection`]: the host-owned transaction (`begin`, one statement
//!   per `execute`, `commit`/`rollback`) and the access mode enforced *by the engine*;
//! * [`RowsCursor`] implements [`Cursor`]: rows handed out in the batches the host asks for;
//! * [`Cancel`] implements [`CancelHandle`]: stops a running statement from another thread;
//! * [`export_plugin!`](plenum_plugin_api::export_plugin) exports it all as the library's root
//!   module, catching panics on the way.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod sql;
pub mod store;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use plenum_plugin_api::abi_stable::std_types::{ROption, RVec};
use plenum_plugin_api::{
    AccessMode, CancelHandle, Capabilities, Column, ConnectParams, Connection, Cursor,
    FenceOutcome, PluginAbout, PluginError, PluginInfo, PluginResult, ReachReport, ReachRequest,
    ResolvedFunction, ResolvedRelation, ServerInfo, Value,
};

use sql::{Expr, SelectItem, Statement};
use store::{Stamp, Table, Tables};

/// The plugin: no state of its own, it describes itself and opens sessions.
pub struct MiniDb;

impl plenum_plugin_api::Plugin for MiniDb {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "plenum-minidb".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            engines: RVec::from(vec!["minidb".into()]),
            // The host's gate parses the SQL with this dialect before the plugin sees it.
            dialect: "sqlite".into(),
            capabilities: Capabilities {
                cancel: true,
                introspect: false,
                transactions: true,
                transactional_ddl: true,
            },
            description: "a tiny SQL subset over tables kept in one text file (template plugin)"
                .into(),
        }
    }

    fn about() -> PluginAbout {
        PluginAbout {
            license: ROption::RSome(env!("CARGO_PKG_LICENSE").into()),
            ..PluginAbout::default()
        }
    }

    fn connect(params: &ConnectParams) -> PluginResult<Box<dyn Connection>> {
        let Some(file) = params.file.as_ref().into_option() else {
            return Err(PluginError::connection(
                "minidb needs a database file (--file PATH)",
            ));
        };
        let path = PathBuf::from(file.as_str());
        // Like SQLite in Plenum: a read never creates anything, and only DDL creates a file.
        if !path.exists() && params.access < AccessMode::Ddl {
            return Err(PluginError::connection(format!(
                "database file does not exist: {file} (a new database is created only with --allow-ddl)"
            )));
        }
        if path.exists() {
            // Fail at connect, as a connection error, when the file is not a minidb database.
            store::load(&path)?;
        }
        Ok(Box::new(Session {
            path,
            access: params.access,
            transaction: None,
            cancelled: Arc::new(AtomicBool::new(false)),
        }))
    }
}

/// The open transaction: the tables as this session sees them, and the file's stamp when
/// they were read.
struct Transaction {
    tables: Tables,
    read_at: Stamp,
    dirty: bool,
}

/// One session on one database file, in one access mode.
pub struct Session {
    path: PathBuf,
    access: AccessMode,
    transaction: Option<Transaction>,
    cancelled: Arc<AtomicBool>,
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Bool(_) => "BOOLEAN",
        Value::Int(_) | Value::UInt(_) => "INTEGER",
        Value::Float(_) => "REAL",
        Value::Decimal(_) => "DECIMAL",
        Value::Text(_) => "TEXT",
        Value::Bytes(_) => "BLOB",
        Value::Json(_) => "JSON",
    }
}

impl Session {
    fn tables(&mut self) -> PluginResult<&mut Transaction> {
        self.transaction
            .as_mut()
            .ok_or_else(|| PluginError::query("no transaction: the host calls begin first"))
    }

    fn value(&self, expr: &Expr, params: &[Value]) -> PluginResult<Value> {
        match expr {
            Expr::Literal(value) => Ok(value.clone()),
            Expr::Param(index) => Ok(params[*index].clone()),
            Expr::Sleep(millis) => {
                let until = Instant::now() + Duration::from_millis(*millis);
                while Instant::now() < until {
                    if self.cancelled.load(Ordering::SeqCst) {
                        return Err(PluginError::timeout("the statement was cancelled")
                            .with_sqlstate("57014"));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(Value::Null)
            }
        }
    }

    fn run(&mut self, statement: Statement, params: &[Value]) -> PluginResult<RowsCursor> {
        let missing = |table: &str| PluginError::query(format!("no such table: {table}"));
        match statement {
            Statement::Select(items, None) => {
                let mut columns = Vec::new();
                let mut row = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    let SelectItem::Expr(expr) = item else {
                        return Err(PluginError::query("*, count(*) and columns need FROM"));
                    };
                    let value = self.value(expr, params)?;
                    columns.push(Column::new(
                        format!("column{}", index + 1),
                        type_name(&value),
                    ));
                    row.push(value);
                }
                Ok(RowsCursor::new(columns, vec![row], None))
            }
            Statement::Select(items, Some(name)) => {
                let transaction = self.tables()?;
                let table = transaction
                    .tables
                    .get(&name)
                    .ok_or_else(|| missing(&name))?;
                if items == [SelectItem::Count] {
                    let count = i64::try_from(table.rows.len()).unwrap_or(i64::MAX);
                    let columns = vec![Column::new("count(*)", "INTEGER")];
                    return Ok(RowsCursor::new(
                        columns,
                        vec![vec![Value::Int(count)]],
                        None,
                    ));
                }
                let mut picked = Vec::new();
                for item in &items {
                    match item {
                        SelectItem::Star => picked.extend(0..table.columns.len()),
                        SelectItem::Column(column) => picked.push(
                            table
                                .columns
                                .iter()
                                .position(|(name, _)| name == column)
                                .ok_or_else(|| {
                                    PluginError::query(format!("no such column: {column}"))
                                })?,
                        ),
                        _ => return Err(PluginError::query("select * or columns from a table")),
                    }
                }
                let columns = picked
                    .iter()
                    .map(|&at| {
                        Column::new(table.columns[at].0.as_str(), table.columns[at].1.as_str())
                    })
                    .collect();
                let rows = table
                    .rows
                    .iter()
                    .map(|row| picked.iter().map(|&at| row[at].clone()).collect())
                    .collect();
                Ok(RowsCursor::new(columns, rows, None))
            }
            Statement::Insert(name, columns, rows) => {
                let mut values = Vec::with_capacity(rows.len());
                for row in &rows {
                    values.push(
                        row.iter()
                            .map(|expr| self.value(expr, params))
                            .collect::<PluginResult<Vec<Value>>>()?,
                    );
                }
                let transaction = self.tables()?;
                let table = transaction
                    .tables
                    .get_mut(&name)
                    .ok_or_else(|| missing(&name))?;
                let positions: Vec<usize> = match &columns {
                    None => (0..table.columns.len()).collect(),
                    Some(names) => names
                        .iter()
                        .map(|column| {
                            table
                                .columns
                                .iter()
                                .position(|(name, _)| name == column)
                                .ok_or_else(|| {
                                    PluginError::query(format!("no such column: {column}"))
                                })
                        })
                        .collect::<PluginResult<_>>()?,
                };
                for row in values {
                    if row.len() != positions.len() {
                        return Err(PluginError::query(format!(
                            "{} values for {} columns",
                            row.len(),
                            positions.len()
                        )));
                    }
                    let mut full = vec![Value::Null; table.columns.len()];
                    for (value, &at) in row.into_iter().zip(&positions) {
                        full[at] = value;
                    }
                    table.rows.push(full);
                }
                transaction.dirty = true;
                Ok(RowsCursor::new(
                    Vec::new(),
                    Vec::new(),
                    Some(rows.len() as u64),
                ))
            }
            Statement::Update(name, assignments) => {
                let mut values = Vec::with_capacity(assignments.len());
                for (column, expr) in &assignments {
                    values.push((column, self.value(expr, params)?));
                }
                let transaction = self.tables()?;
                let table = transaction
                    .tables
                    .get_mut(&name)
                    .ok_or_else(|| missing(&name))?;
                let mut positioned = Vec::with_capacity(values.len());
                for (column, value) in values {
                    let at = table
                        .columns
                        .iter()
                        .position(|(name, _)| name == column)
                        .ok_or_else(|| PluginError::query(format!("no such column: {column}")))?;
                    positioned.push((at, value));
                }
                for row in &mut table.rows {
                    for (at, value) in &positioned {
                        row[*at] = value.clone();
                    }
                }
                let updated = table.rows.len() as u64;
                transaction.dirty = true;
                Ok(RowsCursor::new(Vec::new(), Vec::new(), Some(updated)))
            }
            Statement::Delete(name) => {
                let transaction = self.tables()?;
                let table = transaction
                    .tables
                    .get_mut(&name)
                    .ok_or_else(|| missing(&name))?;
                let deleted = table.rows.len() as u64;
                table.rows.clear();
                transaction.dirty = true;
                Ok(RowsCursor::new(Vec::new(), Vec::new(), Some(deleted)))
            }
            Statement::CreateTable(name, columns) => {
                let transaction = self.tables()?;
                if transaction.tables.contains_key(&name) {
                    return Err(PluginError::query(format!("table {name} already exists")));
                }
                transaction.tables.insert(
                    name,
                    Table {
                        columns,
                        rows: Vec::new(),
                    },
                );
                transaction.dirty = true;
                Ok(RowsCursor::new(Vec::new(), Vec::new(), Some(0)))
            }
            Statement::DropTable(name) => {
                let transaction = self.tables()?;
                transaction
                    .tables
                    .remove(&name)
                    .ok_or_else(|| missing(&name))?;
                transaction.dirty = true;
                Ok(RowsCursor::new(Vec::new(), Vec::new(), Some(0)))
            }
        }
    }
}

impl Connection for Session {
    fn begin(&mut self) -> PluginResult<()> {
        if self.transaction.is_some() {
            return Err(PluginError::query("a transaction is already open"));
        }
        let read_at = store::stamp(&self.path);
        let tables = if read_at.is_some() {
            store::load(&self.path)?
        } else {
            Tables::new()
        };
        self.transaction = Some(Transaction {
            tables,
            read_at,
            dirty: false,
        });
        Ok(())
    }

    fn execute<'a>(
        &'a mut self,
        sql: &str,
        params: &[Value],
        _row_limit_hint: u64,
    ) -> PluginResult<Box<dyn Cursor + 'a>> {
        // A cancel aimed at an earlier statement must not stop this one.
        self.cancelled.store(false, Ordering::SeqCst);
        let (statement, wanted) = sql::parse(sql)?;
        if wanted != params.len() {
            return Err(PluginError::query(format!(
                "the statement takes {wanted} parameters, {} given",
                params.len()
            )));
        }
        // The engine's own backstop: the session's access mode bounds what it runs, whatever
        // reached it.
        if statement.needs() > self.access {
            return Err(PluginError::query(format!(
                "refused by the session's access mode ({}): the statement needs {}",
                self.access.as_str(),
                statement.needs().as_str()
            ))
            .with_sqlstate("25006"));
        }
        Ok(Box::new(self.run(statement, params)?))
    }

    fn commit(&mut self) -> PluginResult<()> {
        let Some(transaction) = self.transaction.take() else {
            return Ok(());
        };
        if !transaction.dirty || self.access == AccessMode::Read {
            return Ok(());
        }
        // Another session committed since this one read the file: refuse rather than lose
        // its changes.
        if store::stamp(&self.path) != transaction.read_at {
            return Err(PluginError::query(
                "the database changed since this transaction began; run it again",
            )
            .with_sqlstate("40001"));
        }
        store::save(&self.path, &transaction.tables)
    }

    fn rollback(&mut self) -> PluginResult<()> {
        self.transaction = None;
        Ok(())
    }

    fn cancel_handle(&self) -> PluginResult<Box<dyn CancelHandle>> {
        Ok(Box::new(Cancel(Arc::clone(&self.cancelled))))
    }

    fn server_info(&mut self) -> PluginResult<ServerInfo> {
        Ok(ServerInfo {
            version: concat!("minidb ", env!("CARGO_PKG_VERSION")).into(),
            database: ROption::RSome(self.path.display().to_string().into()),
            user: ROption::RNone,
        })
    }

    /// What a call's names stand for (plugin API 1.2). minidb has no logins, no user-defined
    /// functions, views or triggers, and no catalog a statement could write: every name
    /// resolves to nothing that runs code, and the login has no powers. An engine with user
    /// code reports it here (see plugins/postgres/src/reach.rs).
    fn reach(&mut self, request: &ReachRequest) -> PluginResult<ReachReport> {
        Ok(ReachReport {
            login: "".into(),
            powers: RVec::new(),
            functions: request
                .functions
                .iter()
                .map(|name| ResolvedFunction {
                    name: name.clone(),
                    routines: RVec::new(),
                })
                .collect(),
            relations: request
                .relations
                .iter()
                .chain(request.targets.iter())
                .map(|name| ResolvedRelation {
                    name: name.clone(),
                    schema: ROption::RSome("main".into()),
                    system: false,
                    view_definition: ROption::RNone,
                    fires: RVec::new(),
                })
                .collect(),
            ambient: RVec::new(),
        })
    }

    /// minidb has no schema a function could change behind a write.
    fn write_fence(&mut self) -> PluginResult<FenceOutcome> {
        Ok(FenceOutcome::Unchanged)
    }
}

/// Rows of one statement, handed out in the batches the host asks for.
pub struct RowsCursor {
    columns: Vec<Column>,
    rows: std::vec::IntoIter<Vec<Value>>,
    affected: Option<u64>,
}

impl RowsCursor {
    fn new(columns: Vec<Column>, rows: Vec<Vec<Value>>, affected: Option<u64>) -> Self {
        RowsCursor {
            columns,
            rows: rows.into_iter(),
            affected,
        }
    }
}

impl Cursor for RowsCursor {
    fn columns(&self) -> Vec<Column> {
        self.columns.clone()
    }

    fn fetch(&mut self, max_rows: usize, out: &mut RVec<Value>) -> PluginResult<usize> {
        let mut fetched = 0;
        // Never more than asked: the host's limits depend on it.
        for row in self.rows.by_ref().take(max_rows) {
            out.extend(row);
            fetched += 1;
        }
        Ok(fetched)
    }

    fn rows_affected(&self) -> Option<u64> {
        self.affected
    }
}

/// Stops the statement running on its session.
pub struct Cancel(Arc<AtomicBool>);

impl CancelHandle for Cancel {
    fn cancel(&self) -> PluginResult<()> {
        self.0.store(true, Ordering::SeqCst);
        Ok(())
    }
}

plenum_plugin_api::export_plugin!(MiniDb);
