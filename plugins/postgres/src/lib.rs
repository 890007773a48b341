//! `plenum-postgres`: the PostgreSQL engine plugin for Plenum.
//!
//! The host loads this library at run time and drives it through the traits of
//! [`plenum_plugin_api`]. What the plugin guarantees on its side:
//!
//! * **One statement per wire call.** User SQL only travels through the extended protocol
//!   (Parse / Bind / Execute), which the server limits to a single statement; the simple query
//!   protocol is used only for fixed SQL the plugin writes itself.
//! * **Read-only at the engine.** A [`AccessMode::Read`](plenum_plugin_api::AccessMode::Read)
//!   session starts with `default_transaction_read_only = on`, every transaction is
//!   `READ ONLY`, and a first query pins the transaction's snapshot so that a later
//!   `SET TRANSACTION READ WRITE` is refused by the server.
//! * **Flat memory.** Rows come from a server-side portal, as many per round trip as the host
//!   asks for; a cursor dropped early means the server never produced the rest.
//! * **Cancellation on the server.** The cancel handle sends PostgreSQL's cancel request, and
//!   gives up after 1 s on a server that does not take it.
//! * **Bounded waits.** Connecting is bounded by the host's `connect_timeout_ms` (TCP, TLS,
//!   authentication and session settings), and each call waits for the server at most the
//!   host's timeout plus 1 s: a server that stopped answering is given up on, and its session
//!   is not used again.
//! * **Resource ceilings.** The host's `max_temp_bytes` and `max_memory_bytes` lower
//!   `temp_file_limit` (where the login may set it) and `work_mem`; see [`limits`].
//!
//! Results are decoded from the binary wire format by type; see [`decode`] for the mapping.
//! Types without a decoder here are cast to `text` by the server (see [`statement`]).

// The driver is tokio-postgres; `postgres::` names its types throughout the plugin.
extern crate tokio_postgres as postgres;

use plenum_plugin_api::{
    Capabilities, ConnectParams, Connection, EnginePolicy, Plugin, PluginInfo, PluginResult,
};

pub mod connect;
pub mod decode;
pub mod errors;
pub mod introspect;
pub mod limits;
pub mod params;
mod policy;
pub mod prepared;
pub mod reach;
pub mod reach_cache;
pub mod session;
pub mod statement;
pub mod tls;
mod worker;

pub use session::{PgCancelHandle, PgCursor, PgSession};

/// The PostgreSQL plugin. Stateless: every [`Plugin::connect`] opens an independent session.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresPlugin;

impl Plugin for PostgresPlugin {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "plenum-postgres".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            engines: vec!["postgres".into(), "postgresql".into()].into(),
            dialect: "postgresql".into(),
            capabilities: Capabilities {
                cancel: true,
                introspect: true,
                transactions: true,
                transactional_ddl: true,
            },
            description: "PostgreSQL through the extended protocol, with TLS by rustls".into(),
        }
    }

    fn connect(params: &ConnectParams) -> PluginResult<Box<dyn Connection>> {
        Ok(Box::new(PgSession::open(params)?))
    }

    /// The engine's functions and relations that reach past the session (see `src/policy.rs`).
    fn policy() -> EnginePolicy {
        policy::engine_policy()
    }
}

plenum_plugin_api::export_plugin!(PostgresPlugin);
