//! PostgreSQL's SQL policy for the host's gate: the functions and relations that reach past
//! the session (server files, large objects, other sessions, replication, SQL run from text).
//!
//! The host enforces these together with its default policy for the `postgresql` dialect,
//! which holds the same tables, so a third-party plugin of this dialect gets them too. The
//! engine's facts belong here; the default is the floor no plugin can lower. Names beyond
//! the default are marked.

use plenum_plugin_api::{AccessMode, EnginePolicy};

const FILES: &str = "it reads or writes files on the database server";
const LARGE_OBJECTS: &str =
    "large objects move data between the database and server files outside row permissions";
const OTHER_SESSIONS: &str = "it acts on other sessions or on the server itself";
const SHOWS_OTHER_SQL: &str = "it shows the SQL text of other sessions, which may hold secrets";
const SETTINGS: &str = "session settings are owned by Plenum";
const LOCKS: &str =
    "it takes or inspects locks that outlive the statement and can block other sessions";
const REPLICATION: &str = "it changes replication, WAL or backup state of the server";
const HIDDEN_SQL: &str =
    "it runs SQL text, or reads relations named by a value, which the gate cannot see";
const SERVER: &str = "it changes the server's internal state or reads its configuration files";

/// Each group: a reason and the names (`*` matches any run of characters).
const REFUSED: &[(&str, &[&str])] = &[
    (
        FILES,
        &[
            "pg_read_*",
            "pg_ls_*",
            "pg_file_*",
            "pg_stat_file",
            "pg_logdir_ls",
            "autoprewarm_dump_now",
        ],
    ),
    (LARGE_OBJECTS, &["lo_*", "loread", "lowrite"]),
    (
        OTHER_SESSIONS,
        &[
            "pg_terminate_backend",
            "pg_cancel_backend",
            "pg_reload_conf",
            "pg_rotate_logfile*",
            "pg_log_backend_memory_contexts",
            "pg_import_system_collations",
            "pg_stat_reset*",
            "pg_stat_statements_reset",
            "pg_notify",
            "autoprewarm_start_worker",
        ],
    ),
    (
        SHOWS_OTHER_SQL,
        &[
            "pg_stat_get_activity",
            "pg_stat_get_backend_activity",
            // Beyond the default: the function form of the view (pg_stat_statements(true)).
            "pg_stat_statements",
        ],
    ),
    (SETTINGS, &["set_config"]),
    (LOCKS, &["pg_advisory_*", "pg_try_advisory_*"]),
    (
        REPLICATION,
        &[
            "pg_switch_wal",
            "pg_switch_xlog",
            "pg_promote",
            "pg_start_backup",
            "pg_stop_backup",
            "pg_backup_*",
            "pg_create_restore_point",
            "pg_create_*slot",
            "pg_copy_*slot",
            "pg_drop_replication_slot",
            "pg_replication_slot_advance",
            "pg_logical_slot_*",
            "pg_logical_emit_message",
            "pg_log_standby_snapshot",
            "pg_replication_origin_*",
            "pg_wal_replay_*",
            "pg_xlog_replay_*",
            // pg_walinspect reads the WAL, which holds every session's changes.
            "pg_get_wal_record_info",
            "pg_get_wal_records_info*",
            "pg_get_wal_stats*",
        ],
    ),
    (
        HIDDEN_SQL,
        &[
            "dblink*",
            "query_to_xml*",
            "cursor_to_xml*",
            "table_to_xml*",
            "schema_to_xml*",
            "database_to_xml*",
            "ts_stat",
            "ts_rewrite",
            "crosstab*",
            "connectby",
            "xpath_table",
            "plpgsql_inline_handler",
            "plpgsql_call_handler",
        ],
    ),
    (
        SERVER,
        &[
            "binary_upgrade_*",
            "pg_nextoid",
            "heap_force_kill",
            "heap_force_freeze",
            "pg_truncate_visibility_map",
            "pg_hba_file_rules",
            "pg_ident_file_mappings",
            "pg_show_all_file_settings",
        ],
    ),
];

/// The policy the plugin declares.
pub(crate) fn engine_policy() -> EnginePolicy {
    let mut policy = EnginePolicy::default();
    for (reason, names) in REFUSED {
        for name in *names {
            policy.refuse_function(name, reason);
        }
    }
    for name in ["nextval", "setval"] {
        policy.function_needs(name, AccessMode::Write);
    }
    // Index maintenance rewrites storage, as VACUUM and REINDEX do.
    for name in [
        "brin_summarize_new_values",
        "brin_summarize_range",
        "brin_desummarize_range",
        "gin_clean_pending_list",
    ] {
        policy.function_needs(name, AccessMode::Ddl);
    }
    for name in ["pg_stat_activity", "pg_stat_statements"] {
        policy.refuse_relation(name, SHOWS_OTHER_SQL);
    }
    policy
}

#[cfg(test)]
mod tests {
    use super::*;
    use plenum_plugin_api::RuleEffect;

    #[test]
    fn declares_file_functions_refused_and_sequences_at_write() {
        let policy = engine_policy();
        let effect = |name: &str| {
            policy
                .functions
                .iter()
                .find(|rule| rule.name.len() == 1 && rule.name[0] == name)
                .map(|rule| rule.effect.clone())
        };
        assert!(matches!(effect("pg_read_*"), Some(RuleEffect::Refused(_))));
        assert!(matches!(effect("lo_*"), Some(RuleEffect::Refused(_))));
        assert_eq!(
            effect("nextval"),
            Some(RuleEffect::Needs(AccessMode::Write))
        );
        assert!(policy.lexing == plenum_plugin_api::Lexing::default());
    }
}
