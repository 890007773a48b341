//! Functions and relations whose effect a statement kind does not show.
//!
//! Names are matched case-insensitively on the last part of the (possibly schema-qualified)
//! name, in every dialect: the names are distinctive, and refusing a look-alike user function
//! is the safe mistake.

use crate::Tier;

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
    // MySQL / MariaDB.
    ("load_file", FILES),
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
    ("query_to_xml", HIDDEN_SQL),
    ("cursor_to_xml", HIDDEN_SQL),
];

/// Functions that change rows (sequence values), so they need the write tier.
const WRITE_EXACT: &[&str] = &["nextval", "setval"];

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
    None
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
    let sensitive: &[&str] = if is(schema, "performance_schema") {
        &[
            "threads",
            "events_statements_current",
            "events_statements_history",
            "events_statements_history_long",
        ]
    } else if is(schema, "sys") {
        &["x$processlist", "session", "x$session"]
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
