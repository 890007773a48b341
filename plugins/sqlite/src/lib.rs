//! The SQLite engine plugin for Plenum, built on `rusqlite` with a bundled SQLite.
//!
//! Layers this plugin adds under the host's gate:
//!
//! * Read sessions open the file with `SQLITE_OPEN_READ_ONLY` (never creating it), turn on
//!   `query_only`, and refuse any prepared statement SQLite does not call read-only.
//! * An authorizer denies, per tier, what that tier must not do (writes, schema changes,
//!   ATTACH/DETACH, pragma setters, file and extension functions).
//! * Each `execute` prepares exactly one statement: `rusqlite` refuses a tail.
//! * Reach (API 1.2): a file has no login powers and no SQL-defined functions; relations
//!   resolve through `temp` then `main`. The write fence compares `schema_version` with its
//!   value when the transaction began.
//! * Rows stream from `sqlite3_step`; a timeout interrupts through `sqlite3_interrupt`.
//! * Resource ceilings: the host's `max_memory_bytes` option becomes SQLite's
//!   `hard_heap_limit` (which is the whole process's: every SQLite session in it shares it),
//!   and temporary data (sorts, temporary tables) is kept in memory (`temp_store = MEMORY`),
//!   under that same ceiling, so no query can fill the disk with temporary files.

mod authorizer;
mod connection;
mod cursor;
mod introspect;
mod math;
mod policy;
mod reach;
mod values;

use plenum_plugin_api::{
    Capabilities, ConnectParams, Connection, EnginePolicy, Plugin, PluginError, PluginInfo,
    PluginResult,
};

/// The SQLite plugin.
pub struct SqlitePlugin;

impl Plugin for SqlitePlugin {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "plenum-sqlite".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            engines: vec!["sqlite".into()].into(),
            dialect: "sqlite".into(),
            capabilities: Capabilities {
                cancel: true,
                introspect: true,
                transactions: true,
                transactional_ddl: true,
            },
            description: format!("SQLite {} (bundled) through rusqlite", rusqlite::version())
                .into(),
        }
    }

    /// The engine's functions and relations that reach past the session (see `src/policy.rs`).
    fn policy() -> EnginePolicy {
        policy::engine_policy()
    }

    fn connect(params: &ConnectParams) -> PluginResult<Box<dyn Connection>> {
        let file = params.file.as_ref().into_option().ok_or_else(|| {
            PluginError::connection(
                "the sqlite engine needs a database file (the `file` connection parameter)",
            )
        })?;
        let max_memory = params
            .option("max_memory_bytes")
            .map(|text| {
                text.trim().parse::<u64>().map_err(|_| {
                    PluginError::connection(format!(
                        "max_memory_bytes must be a number of bytes, not {text:?}"
                    ))
                })
            })
            .transpose()?;
        Ok(Box::new(connection::SqliteConnection::open(
            file.as_str(),
            params.access,
            params.statement_timeout_ms,
            max_memory,
        )?))
    }
}

plenum_plugin_api::export_plugin!(SqlitePlugin);
