//! Cursors: rows stream from `sqlite3_step` as the host asks for them.

use ouroboros::self_referencing;
use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{Column, Cursor, PluginResult, Value};
use rusqlite::{Rows, Statement};

use crate::values::{query_error, read_value};

/// The cursor of a statement that returned no rows.
pub(crate) struct DoneCursor {
    rows_affected: Option<u64>,
}

impl DoneCursor {
    pub(crate) fn new(rows_affected: Option<u64>) -> Self {
        DoneCursor { rows_affected }
    }
}

impl Cursor for DoneCursor {
    fn columns(&self) -> Vec<Column> {
        Vec::new()
    }

    fn fetch(&mut self, _max_rows: usize, _out: &mut RVec<Value>) -> PluginResult<usize> {
        Ok(0)
    }

    fn rows_affected(&self) -> Option<u64> {
        self.rows_affected
    }
}

// `Rows` borrows the statement mutably; both live in one cursor so the host can pull batches.
#[self_referencing]
struct StatementRows<'conn> {
    statement: Statement<'conn>,
    #[borrows(mut statement)]
    #[not_covariant]
    rows: Rows<'this>,
}

/// The cursor of a statement that returns rows.
pub(crate) struct RowCursor<'conn> {
    columns: Vec<Column>,
    inner: StatementRows<'conn>,
    done: bool,
}

impl<'conn> RowCursor<'conn> {
    pub(crate) fn new(statement: Statement<'conn>) -> Self {
        let columns = statement
            .columns()
            .map(|column| Column::new(column.name(), column.decl_type().unwrap_or("")))
            .collect();
        let inner = StatementRowsBuilder {
            statement,
            rows_builder: |statement| statement.raw_query(),
        }
        .build();
        RowCursor {
            columns,
            inner,
            done: false,
        }
    }
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
                            out.push(read_value(row, index)?);
                        }
                        fetched += 1;
                    }
                    None => return Ok::<_, plenum_plugin_api::PluginError>((fetched, true)),
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
