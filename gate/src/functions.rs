//! Functions and relations whose effect a statement kind does not show.
//!
//! Names are matched case-insensitively on the last part of the (possibly schema-qualified)
//! name, in every dialect: the names are distinctive, and refusing a look-alike user function
//! is the safe mistake.

use crate::{Dialect, Tier};

/// What calling a function does beyond computing a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Never allowed; the text says why.
    Refused(&'static str),
    /// Allowed from this tier on.
    Needs(Tier),
}

const FILES: &str = "it reads or writes files on the database server";
const NATIVE_CODE: &str = "it loads native code into the database server";
const LARGE_OBJECTS: &str =
    "large objects move data between the database and server files outside row permissions";
const OTHER_SESSIONS: &str = "it acts on other sessions or on the server itself";
const SESSION_SETTINGS: &str =
    "session settings are owned by Plenum: each call gets a fresh session with the granted access mode";
const LOCKS: &str =
    "it takes or inspects locks that outlive the statement and can block other sessions";
const HIDDEN_SQL: &str = "it runs SQL text that the gate cannot see";
const REPLICATION: &str = "it changes replication, WAL or backup state of the server";
const SHOWS_OTHER_SQL: &str = "it shows the SQL text of other sessions, which may hold secrets";
const OS_COMMANDS: &str = "it runs operating system commands";
const NOTIFY: &str = "notifications reach other sessions";
const EDITOR: &str = "it starts an interactive editor process";
const NAMED_RELATIONS: &str =
    "it reads relations named by a value, which the gate cannot check against the relations it refuses";
const SERVER_INTERNALS: &str =
    "it changes the server's internal state (binary upgrade, OID counters, raw pages)";
const SERVER_CONFIG: &str = "it reads the server's configuration files";

/// Functions refused by exact (lower-case) name.
const REFUSED_EXACT: &[(&str, &str)] = &[
    // SQLite extensions and shell functions.
    ("load_extension", NATIVE_CODE),
    ("fts3_tokenizer", NATIVE_CODE),
    ("readfile", FILES),
    ("writefile", FILES),
    ("fsdir", FILES),
    ("zipfile", FILES),
    ("edit", EDITOR),
    // PostgreSQL server files.
    ("pg_read_file", FILES),
    ("pg_read_binary_file", FILES),
    ("pg_stat_file", FILES),
    ("pg_logdir_ls", FILES),
    // PostgreSQL large objects.
    ("lo_import", LARGE_OBJECTS),
    ("lo_export", LARGE_OBJECTS),
    ("lo_unlink", LARGE_OBJECTS),
    ("lo_create", LARGE_OBJECTS),
    ("lo_creat", LARGE_OBJECTS),
    ("lo_put", LARGE_OBJECTS),
    ("lo_get", LARGE_OBJECTS),
    ("lo_from_bytea", LARGE_OBJECTS),
    ("lo_truncate", LARGE_OBJECTS),
    ("lo_truncate64", LARGE_OBJECTS),
    ("lo_open", LARGE_OBJECTS),
    ("lo_close", LARGE_OBJECTS),
    ("lo_lseek", LARGE_OBJECTS),
    ("lo_lseek64", LARGE_OBJECTS),
    ("lo_tell", LARGE_OBJECTS),
    ("lo_tell64", LARGE_OBJECTS),
    ("loread", LARGE_OBJECTS),
    ("lowrite", LARGE_OBJECTS),
    // PostgreSQL sessions and server control.
    ("pg_terminate_backend", OTHER_SESSIONS),
    ("pg_cancel_backend", OTHER_SESSIONS),
    ("pg_reload_conf", OTHER_SESSIONS),
    ("pg_rotate_logfile", OTHER_SESSIONS),
    ("pg_rotate_logfile_old", OTHER_SESSIONS),
    ("pg_log_backend_memory_contexts", OTHER_SESSIONS),
    ("pg_import_system_collations", OTHER_SESSIONS),
    ("pg_stat_get_activity", SHOWS_OTHER_SQL),
    ("pg_stat_get_backend_activity", SHOWS_OTHER_SQL),
    ("pg_notify", NOTIFY),
    ("set_config", SESSION_SETTINGS),
    // PostgreSQL replication, WAL and backups.
    ("pg_switch_wal", REPLICATION),
    ("pg_switch_xlog", REPLICATION),
    ("pg_promote", REPLICATION),
    ("pg_start_backup", REPLICATION),
    ("pg_stop_backup", REPLICATION),
    ("pg_create_restore_point", REPLICATION),
    ("pg_drop_replication_slot", REPLICATION),
    ("pg_replication_slot_advance", REPLICATION),
    ("pg_logical_emit_message", REPLICATION),
    ("pg_log_standby_snapshot", REPLICATION),
    ("pg_stat_statements_reset", OTHER_SESSIONS),
    ("ts_stat", HIDDEN_SQL),
    // ts_rewrite(tsquery, text) runs its second argument as a query.
    ("ts_rewrite", HIDDEN_SQL),
    // tablefunc and xml2 build and run queries from their text arguments.
    ("crosstab", HIDDEN_SQL),
    ("crosstab2", HIDDEN_SQL),
    ("crosstab3", HIDDEN_SQL),
    ("crosstab4", HIDDEN_SQL),
    ("connectby", HIDDEN_SQL),
    ("xpath_table", HIDDEN_SQL),
    ("plpgsql_inline_handler", HIDDEN_SQL),
    ("plpgsql_call_handler", HIDDEN_SQL),
    ("pg_nextoid", SERVER_INTERNALS),
    ("pg_hba_file_rules", SERVER_CONFIG),
    ("pg_ident_file_mappings", SERVER_CONFIG),
    ("pg_show_all_file_settings", SERVER_CONFIG),
    // Extensions that reach past the session: pg_surgery, pg_visibility, pg_prewarm,
    // pg_walinspect (reads the WAL, which holds every session's changes).
    ("heap_force_kill", SERVER_INTERNALS),
    ("heap_force_freeze", SERVER_INTERNALS),
    ("pg_truncate_visibility_map", SERVER_INTERNALS),
    ("autoprewarm_dump_now", FILES),
    ("autoprewarm_start_worker", OTHER_SESSIONS),
    ("pg_get_wal_records_info", REPLICATION),
    ("pg_get_wal_records_info_till_end_of_wal", REPLICATION),
    ("pg_get_wal_record_info", REPLICATION),
    ("pg_get_wal_stats", REPLICATION),
    ("pg_get_wal_stats_till_end_of_wal", REPLICATION),
    // MySQL sys schema: other threads' statements.
    ("ps_thread_stack", SHOWS_OTHER_SQL),
    ("ps_thread_trx_info", SHOWS_OTHER_SQL),
    // MySQL / MariaDB.
    ("load_file", FILES),
    // MariaDB: keys from the server's DES key file (--des-key-file).
    ("des_encrypt", FILES),
    ("des_decrypt", FILES),
    ("get_lock", LOCKS),
    ("release_lock", LOCKS),
    ("release_all_locks", LOCKS),
    ("is_free_lock", LOCKS),
    ("is_used_lock", LOCKS),
    ("service_get_read_locks", LOCKS),
    ("service_get_write_locks", LOCKS),
    ("service_release_locks", LOCKS),
    ("sys_exec", OS_COMMANDS),
    ("sys_eval", OS_COMMANDS),
];

/// Functions refused by name prefix (lower-case).
const REFUSED_PREFIX: &[(&str, &str)] = &[
    ("pg_ls_", FILES),
    ("pg_file_", FILES),
    ("pg_advisory_", LOCKS),
    ("pg_try_advisory_", LOCKS),
    ("pg_backup_", REPLICATION),
    ("pg_wal_replay_", REPLICATION),
    ("pg_xlog_replay_", REPLICATION),
    ("pg_logical_slot_", REPLICATION),
    ("pg_replication_origin_", REPLICATION),
    ("pg_stat_reset", OTHER_SESSIONS),
    ("dblink", HIDDEN_SQL),
    ("binary_upgrade_", SERVER_INTERNALS),
    ("pg_read_", FILES),
    // table_to_xml('pg_stat_activity', …), schema_to_xml('pg_catalog', …), database_to_xml(…).
    ("table_to_xml", NAMED_RELATIONS),
    ("schema_to_xml", NAMED_RELATIONS),
    ("database_to_xml", NAMED_RELATIONS),
    ("query_to_xml", HIDDEN_SQL),
    ("cursor_to_xml", HIDDEN_SQL),
];

/// Functions that change rows (sequence values), so they need the write tier.
const WRITE_EXACT: &[&str] = &["nextval", "setval"];

/// Functions that rewrite index storage, as maintenance statements do: the ddl tier.
const DDL_EXACT: &[&str] = &[
    "brin_summarize_new_values",
    "brin_summarize_range",
    "brin_desummarize_range",
    "gin_clean_pending_list",
];

/// The effect of calling the function whose last name part is `name`, or `None` for an
/// ordinary function (builtin or user-defined) that is allowed at read.
pub(crate) fn function_effect(name: &str) -> Option<Effect> {
    let lower = name.to_ascii_lowercase();
    let lower = lower.as_str();
    if let Some((_, reason)) = REFUSED_EXACT.iter().find(|(n, _)| *n == lower) {
        return Some(Effect::Refused(reason));
    }
    if let Some((_, reason)) = REFUSED_PREFIX.iter().find(|(p, _)| lower.starts_with(p)) {
        return Some(Effect::Refused(reason));
    }
    // Replication slot creation and copying: pg_create_physical_replication_slot,
    // pg_create_logical_replication_slot, pg_copy_*_replication_slot.
    if (lower.starts_with("pg_create_") || lower.starts_with("pg_copy_"))
        && lower.ends_with("_slot")
    {
        return Some(Effect::Refused(REPLICATION));
    }
    if WRITE_EXACT.contains(&lower) {
        return Some(Effect::Needs(Tier::Write));
    }
    if DDL_EXACT.contains(&lower) {
        return Some(Effect::Needs(Tier::Ddl));
    }
    None
}

/// Built-in function names of the engines whose full list the gate carries, lower-case and
/// sorted: what a server of the version the list was taken from ships. A name here is
/// classified: it has an entry in the lists above or it only computes a value.
fn builtins(dialect: Dialect) -> Option<&'static [String]> {
    use std::sync::OnceLock;
    static POSTGRES: OnceLock<Vec<String>> = OnceLock::new();
    static MYSQL: OnceLock<Vec<String>> = OnceLock::new();
    static SQLITE: OnceLock<Vec<String>> = OnceLock::new();
    let (cell, text) = match dialect {
        Dialect::PostgreSql => (&POSTGRES, include_str!("../builtins/postgresql.txt")),
        Dialect::MySql => (&MYSQL, include_str!("../builtins/mysql.txt")),
        Dialect::Sqlite => (&SQLITE, include_str!("../builtins/sqlite.txt")),
        _ => return None,
    };
    Some(cell.get_or_init(|| {
        let mut names: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_ascii_lowercase)
            .collect();
        names.sort_unstable();
        names
    }))
}

/// Whether the gate has classified the function `name` (its last name part) for `dialect`:
/// it is on a refusal or tier list, or it is a built-in of the dialect's engine that only
/// computes a value. `None` when the gate carries no built-in list for the dialect.
pub(crate) fn is_classified(name: &str, dialect: Dialect) -> Option<bool> {
    let builtins = builtins(dialect)?;
    let lower = name.to_ascii_lowercase();
    Some(function_effect(&lower).is_some() || builtins.binary_search(&lower).is_ok())
}

/// SQLite virtual-table modules that read or write files.
pub(crate) fn is_file_module(module: &str) -> bool {
    ["zipfile", "fsdir", "csv", "fileio"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(module))
}

/// Relations that expose the SQL text of other sessions (the data `SHOW PROCESSLIST` shows).
/// `parts` are the name parts, outermost first.
pub(crate) fn relation_refusal(parts: &[&str]) -> Option<&'static str> {
    let last = parts.last()?;
    let schema = if parts.len() >= 2 {
        Some(parts[parts.len() - 2])
    } else {
        None
    };
    let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    if is(last, "processlist") || is(last, "pg_stat_activity") || is(last, "pg_stat_statements") {
        return Some(SHOWS_OTHER_SQL);
    }
    let schema = schema?;
    let starts = |a: &str, prefix: &str| {
        a.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    if is(schema, "performance_schema")
        && (starts(last, "events_statements_")
            || starts(last, "events_transactions_")
            || is(last, "prepared_statements_instances"))
    {
        return Some(SHOWS_OTHER_SQL);
    }
    let sensitive: &[&str] = if is(schema, "performance_schema") {
        &["threads"]
    } else if is(schema, "sys") {
        &[
            "processlist",
            "x$processlist",
            "session",
            "x$session",
            "innodb_lock_waits",
            "x$innodb_lock_waits",
        ]
    } else if is(schema, "information_schema") {
        // MariaDB/MySQL: trx_query holds each open transaction's running statement.
        &["innodb_trx"]
    } else if is(schema, "mysql") {
        // The general and slow query logs, when logged to tables, hold every statement.
        &["general_log", "slow_log"]
    } else {
        &[]
    };
    sensitive
        .iter()
        .any(|name| is(last, name))
        .then_some(SHOWS_OTHER_SQL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_prefix_and_slot_names() {
        assert_eq!(
            function_effect("LO_EXPORT"),
            Some(Effect::Refused(LARGE_OBJECTS))
        );
        assert_eq!(
            function_effect("pg_ls_waldir"),
            Some(Effect::Refused(FILES))
        );
        assert_eq!(
            function_effect("pg_try_advisory_xact_lock_shared"),
            Some(Effect::Refused(LOCKS))
        );
        assert_eq!(
            function_effect("pg_create_logical_replication_slot"),
            Some(Effect::Refused(REPLICATION))
        );
        assert_eq!(function_effect("pg_create_table"), None);
        assert_eq!(function_effect("NextVal"), Some(Effect::Needs(Tier::Write)));
        assert_eq!(function_effect("pg_sleep"), None);
        assert_eq!(function_effect("sleep"), None);
        assert_eq!(function_effect("benchmark"), None);
        assert_eq!(function_effect("lower"), None);
    }

    #[test]
    fn sensitive_relations() {
        assert!(relation_refusal(&["information_schema", "PROCESSLIST"]).is_some());
        assert!(relation_refusal(&["pg_catalog", "pg_stat_activity"]).is_some());
        assert!(relation_refusal(&["performance_schema", "threads"]).is_some());
        assert!(relation_refusal(&["threads"]).is_none());
        assert!(relation_refusal(&["sys", "session"]).is_some());
        assert!(relation_refusal(&["app", "session"]).is_none());
        assert!(relation_refusal(&[]).is_none());
    }
}
