//! DuckDB's SQL policy for the host's gate: what its functions and statements reach beyond
//! the session's rows, and how it lexes. The gate adds these to its own rules for the
//! `duckdb` dialect (which already refuse COPY, ATTACH, INSTALL/LOAD, SET, PRAGMA setters,
//! CHECKPOINT and transaction control, and raise `nextval` to the write tier).

use plenum_plugin_api::{AccessMode, ConnectParams, EnginePolicy, Lexing};

const FILES: &str = "it reads or writes files or URLs (DuckDB's external access is off as well)";
const OTHER_DATABASES: &str = "it reaches another database or server";
const HIDDEN_SQL: &str =
    "it runs SQL text or reads relations named by a value, which the gate cannot see";
const SECRETS: &str = "DuckDB secrets hold credentials";
const SETTINGS: &str = "session settings are owned by Plenum";
const STORAGE: &str = "it changes the database file's storage outside the transaction";

/// Functions that reach files, URLs or the environment beyond what DuckDB's allowed
/// directories confine. The plain file readers ([`crate::allowed::READERS`]: `read_csv`,
/// `read_parquet`, `read_json`, `read_text`, `read_blob`, `glob`, …) are not here: they depend
/// on the connection ([`session_policy`]).
const FILE_FUNCTIONS: &[&str] = &[
    "read_xlsx",
    "st_read",
    "st_read_meta",
    "delta_scan",
    "iceberg_scan",
    "iceberg_metadata",
    "iceberg_snapshots",
    "read_duckdb",
    "getenv",
    "load_aws_credentials",
    "httpfs_get",
    "read_avro",
];

const DATABASE_FUNCTIONS: &[&str] = &[
    "sqlite_scan",
    "sqlite_attach",
    "sqlite_query",
    "postgres_scan",
    "postgres_scan_pushdown",
    "postgres_attach",
    "postgres_query",
    "postgres_execute",
    "mysql_query",
    "mysql_execute",
    "mysql_scan",
];

const NO_DIRECTORIES: &str =
    "it reads files, and this connection allows no directory (a human sets the connection \
     option allowed_directories)";

/// The rules for one connection: without allowed directories the gate refuses the file
/// readers too (and the plugin and DuckDB would); with them, DuckDB confines the readers to
/// those directories, and the gate lets them through. The option is only looked at here, not
/// resolved: a directory that does not resolve fails the connection itself.
pub(crate) fn session_policy(params: &ConnectParams) -> EnginePolicy {
    let mut policy = EnginePolicy::default();
    let names_directories = params
        .option(crate::allowed::OPTION)
        .is_some_and(|value| std::env::split_paths(value).any(|dir| !dir.as_os_str().is_empty()));
    if !names_directories {
        for name in crate::allowed::READERS {
            policy.refuse_function(name, NO_DIRECTORIES);
        }
    }
    policy
}

/// The policy the plugin declares.
pub(crate) fn engine_policy() -> EnginePolicy {
    let mut policy = EnginePolicy::default();
    for name in FILE_FUNCTIONS {
        policy.refuse_function(name, FILES);
    }
    for name in DATABASE_FUNCTIONS {
        policy.refuse_function(name, OTHER_DATABASES);
    }
    for name in ["query", "query_table", "json_execute_serialized_sql"] {
        policy.refuse_function(name, HIDDEN_SQL);
    }
    for name in ["duckdb_secrets", "which_secret"] {
        policy.refuse_function(name, SECRETS);
        policy.refuse_relation(name, SECRETS);
    }
    for name in [
        "enable_logging",
        "disable_logging",
        "truncate_duckdb_logs",
        "set_config",
    ] {
        policy.refuse_function(name, SETTINGS);
    }
    for name in ["checkpoint", "force_checkpoint"] {
        policy.refuse_function(name, STORAGE);
    }
    // `currval` reads a sequence; `nextval` (write) is the host's own rule.
    policy.function_needs("setval", AccessMode::Write);
    for label in [
        "CREATE SECRET",
        "CREATE PERSISTENT SECRET",
        "CREATE TEMPORARY SECRET",
        "CREATE OR REPLACE SECRET",
        "CREATE OR REPLACE PERSISTENT SECRET",
        "CREATE OR REPLACE TEMPORARY SECRET",
        "DROP SECRET",
        "DROP PERSISTENT SECRET",
        "DROP TEMPORARY SECRET",
    ] {
        policy.refuse_statement(label, SECRETS);
    }
    for label in [
        "ATTACH", "DETACH", "EXPORT", "IMPORT", "INSTALL", "LOAD", "COPY", "USE",
    ] {
        policy.refuse_statement(label, FILES);
    }
    policy.refuse_statement("CHECKPOINT", STORAGE);
    policy.refuse_statement("FORCE CHECKPOINT", STORAGE);
    policy.refuse_statement("VACUUM", STORAGE);
    policy.refuse_string_relations =
        Some("DuckDB reads a table named by a string as a file (a replacement scan)".into()).into();
    policy.lexing = Lexing {
        declared: true,
        escape_strings: true,
        nested_comments: true,
        dollar_quotes: true,
        ..Lexing::default()
    };
    policy
}
