//! `plenum-duckdb`: a Plenum engine plugin for DuckDB, built only against the public plugin
//! API (as a vendor outside the Plenum repository would build one).
//!
//! * Sessions open the database file (or `:memory:`) read-only in the read tier; every
//!   session runs with `enable_external_access = false`, extension auto-install and
//!   auto-load off, and `lock_configuration = true`, so SQL cannot reach files, extensions or
//!   the network, nor switch those settings back.
//! * `execute` runs exactly one statement: DuckDB's own statement extraction must find one
//!   (duckdb-rs's `prepare` would run every statement but the last).
//! * The engine's policy ([`policy::engine_policy`]) tells the host's gate which DuckDB
//!   functions and statements touch files, extensions, secrets or other databases, and how
//!   DuckDB lexes (escape strings, nested comments, dollar quotes).
//! * Values: DECIMAL and HUGEINT exact (text), LIST/STRUCT/MAP/UNION/ARRAY as JSON, ENUM and
//!   UUID as text, INTERVAL as ISO 8601 duration, timestamps as ISO 8601, BLOB as bytes.
#![deny(unsafe_code)] // allowed only in `extract`, which calls DuckDB's C API

mod allowed;
mod cells;
mod connection;
mod explain;
mod extract;
mod file_statements;
mod policy;
mod raw;
mod reach;
mod stream;
mod values;

use plenum_plugin_api::{
    Capabilities, ConnectParams, Connection, EnginePolicy, Plugin, PluginAbout, PluginInfo,
    PluginResult,
};

/// The plugin type exported to the host.
pub struct DuckDbPlugin;

impl Plugin for DuckDbPlugin {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "plenum-duckdb".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            engines: vec!["duckdb".into()].into(),
            dialect: "duckdb".into(),
            capabilities: Capabilities {
                cancel: true,
                introspect: false,
                transactions: true,
                transactional_ddl: true,
            },
            description: "DuckDB files and :memory:, through the official libduckdb".into(),
        }
    }

    fn connect(params: &ConnectParams) -> PluginResult<Box<dyn Connection>> {
        Ok(Box::new(connection::DuckSession::open(params)?))
    }

    fn about() -> PluginAbout {
        PluginAbout {
            homepage: Some("https://github.com/plenum-db/plenum".into()).into(),
            license: Some("MIT OR Apache-2.0".into()).into(),
            authors: vec!["Plenum contributors".into()].into(),
        }
    }

    fn policy() -> EnginePolicy {
        policy::engine_policy()
    }

    fn policy_for(params: &ConnectParams) -> EnginePolicy {
        policy::session_policy(params)
    }
}

plenum_plugin_api::export_plugin!(DuckDbPlugin);
