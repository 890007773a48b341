//! One user statement: prepared, bound to a portal, and read in batches.
//!
//! The statement is prepared with the extended protocol, so the server refuses a string that
//! holds more than one statement (`cannot insert multiple commands into a prepared
//! statement`). Rows come from a named portal inside the session's transaction, a bounded
//! number per Execute message (a [`Chunk`], which may serve several of the host's fetches): the
//! server produces rows only as far as the host pulled them plus one chunk, and a portal closed
//! early never computes the rest.
//!
//! **Text fallback.** A result column whose type has no binary decoder here (see
//! [`crate::decode`]) is read through a text cast instead: the statement is prepared a second
//! time as
//!
//! ```sql
//! WITH plenum_result (c1, c2, …) AS (
//! <the statement, trailing semicolons removed>
//! )
//! SELECT c1, c2::text, … FROM plenum_result
//! ```
//!
//! which keeps every column's name (taken from the first prepare) and casts only the unknown
//! ones. The server has already accepted the statement on its own as exactly one statement,
//! so its parentheses, quotes and block comments are balanced and the wrapper cannot change
//! its meaning; a trailing line comment is ended by the newline before `)`. The wrapped form
//! must prepare to the same parameter types and the same columns, or it is not used. It is
//! tried inside a savepoint, so a statement that cannot be wrapped (`EXPLAIN`, `SHOW`, `CALL`)
//! leaves the transaction usable and fails with [`ErrorKind::Unsupported`], naming the column
//! to cast in the query.

use plenum_plugin_api::{Column, ErrorKind, PluginError, PluginResult, Value};
use std::pin::Pin;

use futures_util::TryStreamExt;
use postgres::types::ToSql;
use postgres::{Portal, RowStream, Statement, Transaction};

use crate::decode::{type_name, Decoder, RawValue};
use crate::errors::query_error;
use crate::params::Param;

/// A statement bound to a portal, ready to be read.
pub struct OpenStatement {
    columns: Vec<Column>,
    decoders: Vec<Decoder>,
    portal: Portal,
}

/// The rows read for one fetch, by one or more [`OpenStatement::read`] calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// The values, row-major.
    pub values: Vec<Value>,
    /// How many rows `values` holds.
    pub rows: usize,
    /// The statement has no more rows.
    pub done: bool,
    /// The server's row count from the completion tag, once the statement completed.
    pub rows_affected: Option<u64>,
}

impl OpenStatement {
    /// Prepares `sql` (one statement), binds `params` and opens its portal in `transaction`.
    pub async fn open(
        transaction: &mut Transaction<'_>,
        sql: &str,
        params: &[Value],
    ) -> PluginResult<OpenStatement> {
        let statement = transaction
            .prepare(sql)
            .await
            .map_err(|e| query_error(&e))?;
        let columns: Vec<Column> = statement
            .columns()
            .iter()
            .map(|column| Column::new(column.name(), type_name(column.type_())))
            .collect();
        let needs_cast: Vec<bool> = statement
            .columns()
            .iter()
            .map(|column| Decoder::for_type(column.type_()).is_none())
            .collect();
        let to_run = if needs_cast.contains(&true) {
            prepare_text_fallback(transaction, sql, &statement, &needs_cast).await?
        } else {
            statement
        };
        let decoders = to_run
            .columns()
            .iter()
            .map(|column| {
                Decoder::for_type(column.type_()).ok_or_else(|| {
                    PluginError::internal(format!(
                        "no decoder for column \"{}\" of type {}",
                        column.name(),
                        type_name(column.type_())
                    ))
                })
            })
            .collect::<PluginResult<Vec<_>>>()?;

        let params: Vec<Param<'_>> = params.iter().map(Param).collect();
        let param_refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|param| param as &(dyn ToSql + Sync))
            .collect();
        let portal = transaction
            .bind(&to_run, &param_refs)
            .await
            .map_err(|e| query_error(&e))?;
        Ok(OpenStatement {
            columns,
            decoders,
            portal,
        })
    }

    /// The result columns, with the PostgreSQL type names of the original statement.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Asks the server for up to `max_rows` more rows of the portal (at least one), to be read
    /// with [`OpenStatement::read`]. The server sends them without waiting to be asked again,
    /// so one Execute can serve several of the host's fetches.
    pub async fn execute(
        &self,
        transaction: &mut Transaction<'_>,
        max_rows: usize,
    ) -> PluginResult<Chunk> {
        let limit = i32::try_from(max_rows.max(1)).unwrap_or(i32::MAX);
        let rows = transaction
            .query_portal_raw(&self.portal, limit)
            .await
            .map_err(|e| query_error(&e))?;
        Ok(Chunk {
            rows: Box::pin(rows),
            limit: limit as usize,
            read: 0,
            bytes: 0,
        })
    }

    /// Appends up to `max_rows` rows of `chunk` to `batch` (at least one, unless the chunk ends
    /// first). Returns whether the chunk ended; `batch.done` then says whether the statement
    /// did. A chunk whose last row was read is read to its end too, so an open chunk always
    /// has a row left.
    pub async fn read(
        &self,
        chunk: &mut Chunk,
        max_rows: usize,
        batch: &mut Batch,
    ) -> PluginResult<bool> {
        let max_rows = max_rows.max(1);
        let mut taken = 0;
        loop {
            if taken == max_rows && chunk.read < chunk.limit {
                return Ok(false);
            }
            let Some(row) = chunk
                .rows
                .as_mut()
                .try_next()
                .await
                .map_err(|e| query_error(&e))?
            else {
                // CommandComplete carries the row count; PortalSuspended (more rows wait)
                // does not.
                batch.rows_affected = chunk.rows.rows_affected();
                batch.done = batch.rows_affected.is_some() || chunk.read < chunk.limit;
                return Ok(true);
            };
            if taken == max_rows {
                return Err(PluginError::internal(
                    "the server sent more rows than were asked for",
                ));
            }
            for (index, decoder) in self.decoders.iter().enumerate() {
                let raw: RawValue<'_> = row.try_get(index).map_err(|e| {
                    PluginError::internal(format!("cannot read column {index}: {e}"))
                })?;
                chunk.bytes += raw.0.map_or(0, <[u8]>::len);
                let value = decoder.decode(raw.0).map_err(|e| {
                    PluginError::internal(format!(
                        "cannot decode column \"{}\" ({}): {e}",
                        self.columns[index].name, self.columns[index].type_name
                    ))
                })?;
                batch.values.push(value);
            }
            batch.rows += 1;
            chunk.read += 1;
            taken += 1;
        }
    }
}

/// The rows of one Execute on a portal, read as the host asks for them.
pub struct Chunk {
    rows: Pin<Box<RowStream>>,
    limit: usize,
    read: usize,
    bytes: usize,
}

impl Chunk {
    /// Rows read so far and their size on the wire, to size the next Execute.
    pub fn read_so_far(&self) -> (usize, usize) {
        (self.read, self.bytes)
    }
}

/// The wrapped statement text that casts the columns marked in `cast` to `text`.
pub fn text_fallback_sql(sql: &str, cast: &[bool]) -> String {
    let body = sql.trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    let names: Vec<String> = (1..=cast.len()).map(|n| format!("c{n}")).collect();
    let outputs: Vec<String> = names
        .iter()
        .zip(cast)
        .map(|(name, &cast)| {
            if cast {
                format!("{name}::text")
            } else {
                name.clone()
            }
        })
        .collect();
    format!(
        "WITH plenum_result ({}) AS (\n{body}\n)\nSELECT {} FROM plenum_result",
        names.join(", "),
        outputs.join(", ")
    )
}

async fn prepare_text_fallback(
    transaction: &mut Transaction<'_>,
    sql: &str,
    original: &Statement,
    cast: &[bool],
) -> PluginResult<Statement> {
    let wrapped_sql = text_fallback_sql(sql, cast);
    let savepoint = transaction
        .savepoint("plenum_text_fallback")
        .await
        .map_err(|e| query_error(&e))?;
    let prepared = savepoint.prepare(&wrapped_sql).await;
    let wrapped = match prepared {
        Ok(wrapped) => {
            savepoint.commit().await.map_err(|e| query_error(&e))?;
            wrapped
        }
        Err(error) => {
            savepoint.rollback().await.map_err(|e| query_error(&e))?;
            return Err(cannot_cast(original, cast, &query_error(&error).message));
        }
    };
    let same_shape = wrapped.params() == original.params()
        && wrapped.columns().len() == original.columns().len()
        && wrapped
            .columns()
            .iter()
            .zip(original.columns())
            .zip(cast)
            .all(|((after, before), &cast)| {
                if cast {
                    *after.type_() == postgres::types::Type::TEXT
                } else {
                    Decoder::for_type(after.type_()) == Decoder::for_type(before.type_())
                }
            });
    if same_shape {
        Ok(wrapped)
    } else {
        Err(cannot_cast(
            original,
            cast,
            "the wrapped statement has a different shape",
        ))
    }
}

fn cannot_cast(original: &Statement, cast: &[bool], why: &str) -> PluginError {
    let columns: Vec<String> = original
        .columns()
        .iter()
        .zip(cast)
        .filter(|(_, &cast)| cast)
        .map(|(column, _)| format!("\"{}\" ({})", column.name(), type_name(column.type_())))
        .collect();
    PluginError::new(
        ErrorKind::Unsupported,
        format!(
            "columns {} can only be read as text, and this statement cannot be wrapped in a \
             text cast ({why}); cast them in the query, e.g. column::text",
            columns.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_casts_only_the_marked_columns_and_ends_line_comments() {
        assert_eq!(
            text_fallback_sql("SELECT a, b FROM t -- note;\n ;; ", &[false, true]),
            "WITH plenum_result (c1, c2) AS (\nSELECT a, b FROM t -- note\n)\n\
             SELECT c1, c2::text FROM plenum_result"
        );
    }
}
