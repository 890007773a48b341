//! `plenum-mysql`: the MySQL and MariaDB engine plugin for Plenum.
//!
//! Built on the pure-Rust `mysql` driver (rustls with the ring provider, no OpenSSL).
//!
//! How the plugin keeps the host's guarantees at the engine:
//!
//! * **One statement per call.** User SQL goes only through prepared statements (the binary
//!   protocol), which the server limits to one statement, with parameters bound. The text
//!   protocol, which runs stacked statements, carries only SQL the plugin writes itself, plus
//!   one narrow fallback for a single `SHOW`/`DESCRIBE`/`EXPLAIN` a server refuses to
//!   prepare (error 1295), by a strict check: no `;`, no comment markers, no backslash.
//!   MariaDB 10.11 prepares every such form tried, so there it never happens. SQL with
//!   `:name` markers is refused,
//!   because the driver would rewrite them before sending.
//! * **Read-only sessions.** A read session sets `tx_read_only = 1` (MySQL:
//!   `transaction_read_only`) and `autocommit = 0` after connecting and after every reset, so
//!   its transaction starts read-only with the call's statement (`begin` sends nothing) and
//!   ends with the call's `ROLLBACK`; write and DDL sessions use
//!   `START TRANSACTION READ WRITE` and commit only when the host asks. DDL commits
//!   implicitly on these servers, so `transactional_ddl` is false.
//! * **Server-side timeout backstop.** The host's statement timeout plus 500 ms becomes
//!   MariaDB's `max_statement_time` or MySQL's `max_execution_time` (which MySQL applies to
//!   read-only `SELECT` only).
//! * **Early stop.** `row_limit_hint` becomes `sql_select_limit`, so a result the host stops
//!   reading is not streamed to the end by the driver when the cursor is dropped. The server
//!   applies it only to result sets of `SELECT`s sent to the client; the host still enforces
//!   its own limit.
//! * **Cancel.** The cancel handle opens a second connection and sends `KILL QUERY <id>`.
//! * **Reach (API 1.2).** What a call's names resolve to (`information_schema`, bound
//!   parameters, in the session) and the login's powers (`SHOW GRANTS`, which alone lists
//!   the enabled role's privileges): see `reach.rs` and `grants.rs`. The write fence is
//!   `Unchanged` by proof: functions and triggers cannot run DDL on these servers.
//! * **No secrets in messages.** Options are built field by field (never from a URL) and
//!   every message is scrubbed of the password.
//!
//! `sql_mode` is left as the server has it: changing it would change what the agent's SQL
//! means compared with every other client of the same server.
//!
//! Values are decoded from the column types, flags and character sets the server reports.
//! MariaDB stores `JSON` as `LONGTEXT` with a `JSON_VALID` check; its result metadata says
//! `LONGTEXT` (the `json` format name travels only in MariaDB's extended metadata, which the
//! driver does not negotiate), so such columns arrive as text. MySQL's native `JSON` type
//! arrives as JSON.
//!
//! * **Bounded connect.** The host's `connect_timeout_ms` bounds the whole of connecting
//!   (TCP, TLS, authentication, session settings); the socket's read and write timeouts sit a
//!   second past the statement timeout, so a server that goes silent mid-statement ends the
//!   wait, and a lost connection is never waited on again.
//! * **Resource ceilings.** The host's `max_temp_bytes`, `max_memory_bytes` and
//!   `max_recursion` options lower the session's temporary-table and recursion settings (see
//!   the `limits` module); MariaDB's warning that a recursive query stopped at
//!   `max_recursive_iterations` becomes an error instead of a short result.
//!
//! Other engine-specific connection options (`ConnectParams::options`) are not used.

mod cancel;
mod cursor;
mod decode;
mod error;
mod fallback;
mod grants;
mod introspect;
mod limits;
mod policy;
mod reach;
mod session;

use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{
    Capabilities, ConnectParams, Connection, EnginePolicy, Plugin, PluginInfo, PluginResult,
};

pub use session::{MysqlConnection, ServerKind};

/// The plugin: serves the `mysql` and `mariadb` engines with the `mysql` SQL dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct MysqlPlugin;

impl Plugin for MysqlPlugin {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "plenum-mysql".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            engines: RVec::from(vec!["mysql".into(), "mariadb".into()]),
            dialect: "mysql".into(),
            capabilities: Capabilities {
                cancel: true,
                introspect: true,
                transactions: true,
                transactional_ddl: false,
            },
            description: "MySQL and MariaDB through prepared statements, read-only at the engine \
                          for read sessions"
                .into(),
        }
    }

    fn connect(params: &ConnectParams) -> PluginResult<Box<dyn Connection>> {
        Ok(Box::new(MysqlConnection::open(params)?))
    }

    /// The engine's functions and relations that reach past the session (see `src/policy.rs`).
    fn policy() -> EnginePolicy {
        policy::engine_policy()
    }
}

plenum_plugin_api::export_plugin!(MysqlPlugin);
