//! Plain data that crosses the plugin boundary.
//!
//! Every type here is `#[repr(C)]`/`#[repr(u8)]` and derives [`StableAbi`], so the host and a
//! plugin built by a different compiler version agree on its layout. Enums are closed on
//! purpose: adding a variant is a major version of the API.

use abi_stable::std_types::{ROption, RString, RVec, Tuple2};
use abi_stable::StableAbi;

/// The tier a session is opened with. The host decides it from the gate's verdict; the plugin
/// enforces it at the engine as a second layer (read-only open, read-only transaction, …).
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
///
/// What each mode asks of a plugin, and what the host checks itself:
///
/// | mode | the plugin must | the host checks |
/// |---|---|---|
/// | `Read` | open the session read-only at the engine (read-only open or transaction), so a write that reached it fails | the gate's verdict (reads only); [`crate::reach`]: user code on a login with powers, views, refused relations |
/// | `Write` | run in an ordinary read-write transaction; report in [`crate::Connection::write_fence`] whether the transaction changed the schema or a system catalog, if the engine can tell | the gate (no schema statements, no catalog targets); the reach check; the fence's answer before `commit` |
/// | `Ddl` | run in an ordinary read-write transaction | the gate; the reach check |
///
/// No mode asks a plugin to classify SQL: the host hands it only statements its gate accepted
/// for the mode.
pub enum AccessMode {
    /// Reads only. The engine session must refuse writes of any kind.
    Read,
    /// Data changes (INSERT/UPDATE/DELETE/…). The host refuses schema statements and catalog
    /// targets before they reach the plugin and asks the plugin's write fence before it
    /// commits; the plugin itself only opens a read-write transaction.
    Write,
    /// Data and schema changes.
    Ddl,
}

impl AccessMode {
    /// Lower-case name as used on the command line and in JSON (`read`, `write`, `ddl`).
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::Read => "read",
            AccessMode::Write => "write",
            AccessMode::Ddl => "ddl",
        }
    }
}

/// Transport security requested for network engines (ignored by file engines).
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Never use TLS.
    Disable,
    /// Use TLS when the server offers it, without verifying the certificate.
    Prefer,
    /// Require TLS, without verifying the certificate.
    Require,
    /// Require TLS and a certificate signed by a trusted CA.
    VerifyCa,
    /// Require TLS, a trusted certificate, and a host name that matches it.
    VerifyFull,
}

/// Everything a plugin needs to open one session. The host fills it from flags, a DSN or a
/// saved connection; plugins never read configuration of their own.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ConnectParams {
    /// The engine name the user asked for (a plugin may serve several).
    pub engine: RString,
    /// Database file for file-based engines, always an absolute UTF-8 path.
    pub file: ROption<RString>,
    /// Server host name or address.
    pub host: ROption<RString>,
    /// Server port.
    pub port: ROption<u16>,
    /// User name.
    pub user: ROption<RString>,
    /// Password, already resolved by the host (from an environment variable, prompt or config).
    /// Plugins must never put it in an error message; the host scrubs messages anyway.
    pub password: ROption<RString>,
    /// Database (or schema, for engines that conflate the two) to use.
    pub database: ROption<RString>,
    /// Transport security.
    pub ssl_mode: SslMode,
    /// PEM file with the CA certificates to trust.
    pub ssl_ca: ROption<RString>,
    /// Tier of the session. Read sessions must be read-only at the engine.
    pub access: AccessMode,
    /// The host's timeout for each statement, for a server-side backstop (0 = none).
    pub statement_timeout_ms: u64,
    /// Engine-specific options (`key`, `value`), e.g. from a DSN query string.
    pub options: RVec<Tuple2<RString, RString>>,
}

impl ConnectParams {
    /// Parameters with only the engine and access mode set.
    pub fn new(engine: &str, access: AccessMode) -> Self {
        ConnectParams {
            engine: engine.into(),
            file: ROption::RNone,
            host: ROption::RNone,
            port: ROption::RNone,
            user: ROption::RNone,
            password: ROption::RNone,
            database: ROption::RNone,
            ssl_mode: SslMode::Prefer,
            ssl_ca: ROption::RNone,
            access,
            statement_timeout_ms: 0,
            options: RVec::new(),
        }
    }

    /// The value of an engine-specific option, if set.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|kv| kv.0.as_str() == key)
            .map(|kv| kv.1.as_str())
    }
}

/// One value of a result row.
///
/// The host turns these into JSON: integers stay numbers (as strings beyond 2^53), `Decimal`
/// stays a string so no precision is lost, `Bytes` becomes base64, `Json` is embedded as JSON,
/// non-finite floats become `null`. Dates and times are `Text` in ISO 8601.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer that may not fit in `i64`.
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// An exact decimal number in its text form (`"12.50"`).
    Decimal(RString),
    /// Text, including dates and times in ISO 8601.
    Text(RString),
    /// Binary data.
    Bytes(RVec<u8>),
    /// A JSON document in its text form (must be valid JSON; the host checks).
    Json(RString),
}

/// Name and database type of a result column.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name as the engine reports it.
    pub name: RString,
    /// The engine's type name (`INTEGER`, `int8`, `VARCHAR`, …); empty when unknown.
    pub type_name: RString,
}

impl Column {
    /// A column with the given name and type name.
    pub fn new(name: impl Into<RString>, type_name: impl Into<RString>) -> Self {
        Column {
            name: name.into(),
            type_name: type_name.into(),
        }
    }
}

/// Features a plugin supports, so the host can say "unsupported" before calling.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// The cancel handle really stops a running statement.
    pub cancel: bool,
    /// `introspect` is implemented.
    pub introspect: bool,
    /// Statements of one call can run in one all-or-nothing transaction.
    pub transactions: bool,
    /// DDL can be rolled back inside the host's transaction.
    pub transactional_ddl: bool,
}

/// What a plugin says about itself. Returned by the root module's `info` function.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct PluginInfo {
    /// Plugin name, e.g. `plenum-sqlite`.
    pub name: RString,
    /// Plugin version (semver).
    pub version: RString,
    /// Engine names this plugin serves, e.g. `["mysql", "mariadb"]`.
    pub engines: RVec<RString>,
    /// The SQL dialect the host parses this engine's SQL with. One of sqlparser's dialect
    /// names: `sqlite`, `postgresql`, `mysql`, `mssql`, `snowflake`, `generic`, ….
    pub dialect: RString,
    /// Optional features.
    pub capabilities: Capabilities,
    /// One line describing the plugin.
    pub description: RString,
}

/// Facts about the server a session is connected to (for `connect --test`).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default)]
pub struct ServerInfo {
    /// Server product and version, e.g. `PostgreSQL 15.19`.
    pub version: RString,
    /// Current database (or file).
    pub database: ROption<RString>,
    /// Current user.
    pub user: ROption<RString>,
}

/// Who maintains a plugin and under what terms (plugin API 1.1). Informational: the host
/// shows it in `plenum plugins` and never decides anything from it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginAbout {
    /// Home page or source repository.
    pub homepage: ROption<RString>,
    /// SPDX license expression, e.g. `MIT OR Apache-2.0`.
    pub license: ROption<RString>,
    /// Authors or maintainers.
    pub authors: RVec<RString>,
}
