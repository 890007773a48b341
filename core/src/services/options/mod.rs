//! Every option a caller can set on a call, declared once.
//!
//! Each [`Opt`] carries its name, the kind of value, its default, its range, the options it
//! excludes or needs, and its documentation. The front ends derive everything from these lists:
//! the CLI its flags and `--help` (`--allow-write`), the MCP server its tools' input schemas
//! (`allow_write`), and both hand the core the same [`Values`], which the core reads into a
//! request with one set of rules ([`crate::pipeline::request::QueryInput`], [`crate::commands::introspect`],
//! [`crate::services::connection::ConnectionArgs::from_values`]). Messages name options with
//! [`crate::services::words::option`], so each front end says them in its own words.

mod values;

pub use values::{Given, Values};

use crate::services::limits::Limits;

/// The kind of value an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Present or not (`--explain`; `true`/`false` in MCP).
    Flag,
    /// Text.
    Text,
    /// A file path (MCP: a string).
    Path,
    /// A TCP port, 1 to 65535.
    Port,
    /// A non-negative integer.
    Count,
    /// Bound parameters: a JSON value per `--param` on the CLI, an array of JSON scalars in
    /// MCP.
    Params,
    /// One of a fixed set of words, each with what it means.
    Choice(&'static [(&'static str, &'static str)]),
    /// A secret whose value may be left out (then the CLI reads it at a hidden prompt).
    OptionalSecret,
}

/// How an option appears in the MCP tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mcp {
    /// Not offered: the option reads local files or standard input, or carries what must
    /// never pass through a tool call (a DSN may hold a password), or is a human's setting.
    Absent,
    /// Offered without a description: the tool's description explains it, and every session
    /// pays for `tools/list` in context.
    Bare,
    /// Offered with this description.
    Described(&'static str),
}

/// One option.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    /// The option's name: the MCP argument, and the CLI flag with `-` for `_`.
    pub name: &'static str,
    /// The CLI flag's name when it is not [`Opt::name`] with dashes (`param` for `params`).
    pub flag: Option<&'static str>,
    /// The value.
    pub kind: Kind,
    /// The default when absent, for counts.
    pub default: Option<u64>,
    /// The smallest value accepted, for counts.
    pub min: Option<u64>,
    /// The value's placeholder in `--help` (the upper-cased name when `None`).
    pub value_name: Option<&'static str>,
    /// The documentation: `--help` on the CLI.
    pub help: &'static str,
    /// How MCP offers it.
    pub mcp: Mcp,
    /// Options that cannot be given with this one.
    pub conflicts: &'static [&'static str],
    /// Options this one needs.
    pub requires: &'static [&'static str],
    /// The value may start with `-` (SQL starting with a comment, a negative number).
    pub hyphen_values: bool,
    /// Another name the CLI accepts for the flag, shown in `--help`.
    pub alias: Option<&'static str>,
}

impl Opt {
    const fn new(name: &'static str, kind: Kind, help: &'static str) -> Opt {
        Opt {
            name,
            flag: None,
            kind,
            default: None,
            min: None,
            value_name: None,
            help,
            mcp: Mcp::Bare,
            conflicts: &[],
            requires: &[],
            hyphen_values: false,
            alias: None,
        }
    }

    const fn alias(mut self, alias: &'static str) -> Opt {
        self.alias = Some(alias);
        self
    }

    const fn flag_name(mut self, flag: &'static str) -> Opt {
        self.flag = Some(flag);
        self
    }

    const fn default(mut self, default: u64) -> Opt {
        self.default = Some(default);
        self
    }

    const fn min(mut self, min: u64) -> Opt {
        self.min = Some(min);
        self
    }

    const fn value_name(mut self, value_name: &'static str) -> Opt {
        self.value_name = Some(value_name);
        self
    }

    const fn mcp(mut self, mcp: Mcp) -> Opt {
        self.mcp = mcp;
        self
    }

    const fn conflicts(mut self, conflicts: &'static [&'static str]) -> Opt {
        self.conflicts = conflicts;
        self
    }

    const fn requires(mut self, requires: &'static [&'static str]) -> Opt {
        self.requires = requires;
        self
    }

    const fn hyphen_values(mut self) -> Opt {
        self.hyphen_values = true;
        self
    }

    /// Whether MCP offers this option.
    pub fn in_mcp(&self) -> bool {
        self.mcp != Mcp::Absent
    }
}

/// Where to connect, for every command that talks to a database.
pub const CONNECTION: &[Opt] = &[
    Opt::new(
        "connection",
        Kind::Text,
        "A saved connection (see `plenum connect --list`); the other flags override its \
         fields. Without it, the project's default connection applies unless --engine or \
         --dsn is given.",
    )
    .value_name("NAME"),
    Opt::new(
        "engine",
        Kind::Text,
        "Engine name, as a plugin declares it (`sqlite`, `postgres`, `mysql`, …).",
    ),
    Opt::new(
        "dsn",
        Kind::Text,
        "Connection URL, e.g. `postgres://user@host:5432/db?sslmode=require`. A password in \
         it works but is discouraged; prefer --password-env.",
    )
    .mcp(Mcp::Absent),
    Opt::new(
        "file",
        Kind::Path,
        "Database file (file engines such as SQLite).",
    ),
    Opt::new("host", Kind::Text, "Server host."),
    Opt::new("port", Kind::Port, "Server port."),
    Opt::new("user", Kind::Text, "User name."),
    Opt::new(
        "password_env",
        Kind::Text,
        "Name of an environment variable that holds the password.",
    )
    .value_name("VAR"),
    Opt::new("database", Kind::Text, "Database name."),
    Opt::new(
        "ssl_mode",
        Kind::Text,
        "TLS mode: disable, prefer, require, verify-ca, verify-full.",
    )
    .value_name("MODE"),
    Opt::new(
        "ssl_ca",
        Kind::Path,
        "PEM file with CA certificates to trust.",
    )
    .value_name("FILE"),
    Opt::new("connect_timeout_ms", Kind::Count, CONNECT_TIMEOUT_HELP)
        .value_name("MS")
        .min(1),
    Opt::new(
        "max_temp_mb",
        Kind::Count,
        "Temporary files (on-disk temporary tables) one session may use, in MiB. On a call it \
         can only lower the saved connection's ceiling (default 1024).",
    )
    .value_name("MIB")
    .mcp(Mcp::Absent),
    Opt::new(
        "max_memory_mb",
        Kind::Count,
        "Memory one sort, hash or in-memory temporary table may use (SQLite: the whole heap), \
         in MiB. On a call it can only lower the saved connection's ceiling (default 256).",
    )
    .value_name("MIB")
    .mcp(Mcp::Absent),
    Opt::new(
        "max_recursion",
        Kind::Count,
        "Iterations of one recursive query. On a call it can only lower the saved \
         connection's ceiling (default 100000).",
    )
    .value_name("N")
    .mcp(Mcp::Absent),
];

// Checked against the constant in a test: the help states the default in prose.
const CONNECT_TIMEOUT_HELP: &str = "Milliseconds connecting may take (TCP, TLS, \
     authentication) before CONNECTION_FAILED; never more than --timeout-ms. Default 5000.";

/// `query`, after [`CONNECTION`].
pub const QUERY: &[Opt] = &[
    Opt::new(
        "sql",
        Kind::Text,
        "The SQL to run (it may start with `-`, e.g. a `--` comment).",
    )
    .mcp(Mcp::Described(
        "One statement, or several split by `;` (one transaction).",
    ))
    .conflicts(&["sql_file"])
    .hyphen_values(),
    Opt::new(
        "sql_file",
        Kind::Path,
        "Read the SQL from a file (`-` for standard input).",
    )
    .value_name("PATH")
    .mcp(Mcp::Absent),
    Opt::new(
        "allow_write",
        Kind::Flag,
        "Allow INSERT, UPDATE, DELETE, MERGE and other data changes.",
    ),
    Opt::new(
        "allow_ddl",
        Kind::Flag,
        "Allow schema changes (CREATE, DROP, ALTER, …); implies --allow-write.",
    ),
    Opt::new(
        "max_rows",
        Kind::Count,
        "Rows returned at most (the result is flagged truncated beyond).",
    )
    .default(Limits::DEFAULT_MAX_ROWS)
    .min(0),
    Opt::new(
        "max_bytes",
        Kind::Count,
        "Bytes of row JSON returned at most.",
    )
    .default(Limits::DEFAULT_MAX_BYTES)
    .min(0),
    Opt::new(
        "timeout_ms",
        Kind::Count,
        "Milliseconds before the query is cancelled on the server.",
    )
    .default(Limits::DEFAULT_TIMEOUT_MS)
    .min(1),
    Opt::new(
        "params",
        Kind::Params,
        "A bound parameter, as a JSON value (`42`, `'\"text\"'`, `true`, `null`); repeat it \
         once per placeholder (`?` for SQLite and MySQL, `$1…` for PostgreSQL), in order.",
    )
    .flag_name("param")
    .value_name("JSON")
    .mcp(Mcp::Described(
        "Values for the placeholders (? or $1), in order.",
    ))
    .conflicts(&["param_file"])
    .hyphen_values(),
    Opt::new(
        "param_file",
        Kind::Path,
        "Read the bound parameters from a file holding one JSON array (`-` for standard \
         input).",
    )
    .value_name("PATH")
    .mcp(Mcp::Absent),
    Opt::new(
        "offset",
        Kind::Count,
        "Skip this many rows of the result before returning a page (a re-run, not a cursor: \
         pass the `meta.next_offset` of the previous page).",
    )
    .default(0)
    .min(0),
    Opt::new(
        "check_only",
        Kind::Flag,
        "Only run the gate: list the statements, their kind and tier, and whether the flags \
         given allow them. Never connects.",
    )
    .conflicts(&["explain"]),
    Opt::new(
        "explain",
        Kind::Flag,
        "Return the engine's plan for the statement as a tree, without executing it.",
    ),
];

/// `introspect`, after [`CONNECTION`].
pub const INTROSPECT: &[Opt] = &[
    Opt::new(
        "list_schemas",
        Kind::Flag,
        "List the schemas (databases, for engines that conflate the two).",
    )
    .conflicts(&["list_tables", "table", "schema"]),
    Opt::new(
        "list_tables",
        Kind::Flag,
        "List tables and views: name, kind and the engine's row estimate.",
    )
    .conflicts(&["table"]),
    Opt::new(
        "schema",
        Kind::Text,
        "The schema to look in (the session's default when absent).",
    )
    .value_name("SCHEMA"),
    Opt::new(
        "pattern",
        Kind::Text,
        "Only tables whose name matches this SQL LIKE pattern (with --list-tables).",
    )
    .value_name("PATTERN")
    .requires(&["list_tables"]),
    Opt::new(
        "table",
        Kind::Text,
        "Describe one table or view: columns, primary key, foreign keys, indexes, definition.",
    )
    .value_name("TABLE"),
    Opt::new(
        "max_bytes",
        Kind::Count,
        "Bytes of JSON returned at most by listings and the summary (flagged truncated \
         beyond).",
    )
    .default(Limits::DEFAULT_MAX_BYTES)
    .min(0),
    Opt::new(
        "timeout_ms",
        Kind::Count,
        "Milliseconds before the introspection is cancelled on the server.",
    )
    .default(Limits::DEFAULT_TIMEOUT_MS)
    .min(1),
];

/// `connect`, after [`CONNECTION`]: saving and managing named connections is a human's
/// work, so MCP offers none of these.
pub const CONNECT: &[Opt] = &[
    Opt::new(
        "name",
        Kind::Text,
        "Save the connection given by the flags under this name.",
    )
    .value_name("NAME")
    .conflicts(&["connection"])
    .mcp(Mcp::Absent),
    Opt::new(
        "save",
        Kind::Choice(&[
            ("local", "The project's `.plenum/config.json`"),
            ("global", "The user's `connections.json`"),
        ]),
        "Which config file to write: local (the project's .plenum/config.json) or global \
         (~/.config/plenum/connections.json). Default: local.",
    )
    .alias("scope")
    .value_name("WHERE")
    .mcp(Mcp::Absent),
    Opt::new(
        "password",
        Kind::OptionalSecret,
        "Store this password in the config file (discouraged: prefer --password-env). Without \
         a value, it is read from the terminal without echo.",
    )
    .value_name("PASSWORD")
    .requires(&["name"])
    .conflicts(&["password_env"])
    .mcp(Mcp::Absent),
    Opt::new(
        "max_capability",
        Kind::Text,
        "The highest tier any call through this connection may use: read, write or ddl.",
    )
    .value_name("TIER")
    .requires(&["name"])
    .mcp(Mcp::Absent),
    Opt::new(
        "default",
        Kind::Flag,
        "Make this the default connection (of the project, or of --save global). With \
         --connection NAME alone, only sets the default.",
    )
    .mcp(Mcp::Absent),
    Opt::new(
        "test",
        Kind::Flag,
        "Open the connection and report the server's version, database and user.",
    )
    .mcp(Mcp::Absent),
    Opt::new(
        "list",
        Kind::Flag,
        "List the saved connections (never their secrets).",
    )
    .conflicts(&["name", "remove", "test", "default"])
    .mcp(Mcp::Absent),
    Opt::new(
        "remove",
        Kind::Text,
        "Remove a saved connection (from the local file first, unless --save says which).",
    )
    .value_name("NAME")
    .conflicts(&["name", "test", "default"])
    .mcp(Mcp::Absent),
    Opt::new("timeout_ms", Kind::Count, "Milliseconds --test may take.")
        .default(Limits::DEFAULT_TIMEOUT_MS)
        .min(1)
        .mcp(Mcp::Absent),
];

/// The option named `name` in any list, for wording a reference to it.
pub fn find(name: &str) -> Option<&'static Opt> {
    CONNECTION
        .iter()
        .chain(QUERY)
        .chain(INTROSPECT)
        .chain(CONNECT)
        .find(|opt| opt.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::connection::limits::DEFAULT_CONNECT_TIMEOUT_MS;

    #[test]
    fn prose_defaults_agree_with_the_constants() {
        assert!(CONNECT_TIMEOUT_HELP.contains(&format!("Default {DEFAULT_CONNECT_TIMEOUT_MS}.")));
    }

    #[test]
    fn every_relation_names_a_declared_option() {
        for list in [QUERY, INTROSPECT, CONNECT] {
            for opt in list {
                for other in opt.conflicts.iter().chain(opt.requires) {
                    assert!(
                        list.iter().chain(CONNECTION).any(|o| o.name == *other),
                        "{} names {other}",
                        opt.name
                    );
                }
            }
        }
    }
}
