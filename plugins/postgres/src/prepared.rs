//! The plugin's own catalog queries, prepared once per session and kept.
//!
//! Every call's reach check asks the same few catalog questions. Parsing and planning them
//! again on each call cost the server more than answering them (a warm MCP call spent most of
//! its server time there), and asking through the driver's `query(&str)` cost two round trips
//! (prepare, then bind and execute) where a kept statement needs one.
//!
//! Prepared statements outlive transactions, rolled back or not, and the session reset keeps
//! them (it deallocates only what SQL `PREPARE` made; see `worker::reset`). Any error on a
//! kept statement forgets them all, so a session whose statements were dropped behind its back
//! prepares them again instead of failing call after call. The answers they gave are kept
//! beside them while the catalog has provably not changed ([`ReachCache`]).

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{GenericClient, Row, Statement};

use crate::reach_cache::ReachCache;

/// One session's kept catalog statements, by a name of the plugin's choosing, and the reach
/// answers they gave.
#[derive(Default)]
pub struct Prepared {
    statements: HashMap<&'static str, Statement>,
    /// Reach answers kept while the catalog has not changed.
    pub answers: ReachCache,
}

impl Prepared {
    /// Runs the statement kept as `name`, preparing `sql()` first if it is not kept yet.
    pub async fn query(
        &mut self,
        client: &mut impl GenericClient,
        name: &'static str,
        sql: impl FnOnce() -> String,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = match self.statements.get(name) {
            Some(statement) => statement.clone(),
            None => {
                let statement = client.prepare(&sql()).await?;
                self.statements.insert(name, statement.clone());
                statement
            }
        };
        let rows = client.query(&statement, params).await;
        if rows.is_err() {
            self.forget();
        }
        rows
    }

    /// Like [`Prepared::query`], for a statement that returns exactly one row.
    pub async fn query_one(
        &mut self,
        client: &mut impl GenericClient,
        name: &'static str,
        sql: impl FnOnce() -> String,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, QueryOneError> {
        let mut rows = self.query(client, name, sql, params).await?;
        match (rows.pop(), rows.is_empty()) {
            (Some(row), true) => Ok(row),
            _ => Err(QueryOneError::NotOneRow),
        }
    }

    /// Drops every kept statement (the server's copies go when the driver's last handle does)
    /// and every kept answer.
    pub fn forget(&mut self) {
        self.statements.clear();
        self.answers.forget();
    }
}

/// Why [`Prepared::query_one`] failed.
#[derive(Debug)]
pub enum QueryOneError {
    /// The server refused or failed the statement.
    Server(postgres::Error),
    /// It answered no row, or more than one.
    NotOneRow,
}

impl From<postgres::Error> for QueryOneError {
    fn from(error: postgres::Error) -> Self {
        QueryOneError::Server(error)
    }
}
