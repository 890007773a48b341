//! PostgreSQL's functions and relations that reach past the session: server files, large
//! objects, other sessions, replication, and SQL run from text.

use super::{
    needs, refuse, refuse_relation, FILES, HIDDEN_SQL, LOCKS, OTHER_SESSIONS, SESSION_SETTINGS,
    SHOWS_OTHER_SQL,
};
use crate::{Policy, Tier};

const LARGE_OBJECTS: &str =
    "large objects move data between the database and server files outside row permissions";
const NOTIFY: &str = "notifications reach other sessions";
const REPLICATION: &str = "it changes replication, WAL or backup state of the server";
const NAMED_RELATIONS: &str =
    "it reads relations named by a value, which the gate cannot check against the relations it refuses";
const SERVER_INTERNALS: &str =
    "it changes the server's internal state (binary upgrade, OID counters, raw pages)";
const SERVER_CONFIG: &str = "it reads the server's configuration files";

/// Each group: a reason and the names (`*` matches any run of characters).
const REFUSED: &[(&str, &[&str])] = &[
    (
        FILES,
        &[
            "pg_read_file",
            "pg_read_binary_file",
            "pg_stat_file",
            "pg_logdir_ls",
            "pg_read_*",
            "pg_ls_*",
            "pg_file_*",
            // pg_prewarm
            "autoprewarm_dump_now",
        ],
    ),
    (
        LARGE_OBJECTS,
        &[
            "lo_import",
            "lo_export",
            "lo_unlink",
            "lo_create",
            "lo_creat",
            "lo_put",
            "lo_get",
            "lo_from_bytea",
            "lo_truncate",
            "lo_truncate64",
            "lo_open",
            "lo_close",
            "lo_lseek",
            "lo_lseek64",
            "lo_tell",
            "lo_tell64",
            "loread",
            "lowrite",
        ],
    ),
    (
        OTHER_SESSIONS,
        &[
            "pg_terminate_backend",
            "pg_cancel_backend",
            "pg_reload_conf",
            "pg_rotate_logfile",
            "pg_rotate_logfile_old",
            "pg_log_backend_memory_contexts",
            "pg_import_system_collations",
            "pg_stat_statements_reset",
            "pg_stat_reset*",
            "autoprewarm_start_worker",
        ],
    ),
    (
        SHOWS_OTHER_SQL,
        &["pg_stat_get_activity", "pg_stat_get_backend_activity"],
    ),
    (NOTIFY, &["pg_notify"]),
    (SESSION_SETTINGS, &["set_config"]),
    (LOCKS, &["pg_advisory_*", "pg_try_advisory_*"]),
    (
        REPLICATION,
        &[
            "pg_switch_wal",
            "pg_switch_xlog",
            "pg_promote",
            "pg_start_backup",
            "pg_stop_backup",
            "pg_create_restore_point",
            "pg_drop_replication_slot",
            "pg_replication_slot_advance",
            "pg_logical_emit_message",
            "pg_log_standby_snapshot",
            "pg_backup_*",
            "pg_wal_replay_*",
            "pg_xlog_replay_*",
            "pg_logical_slot_*",
            "pg_replication_origin_*",
            // Slot creation and copying: pg_create_physical_replication_slot,
            // pg_copy_logical_replication_slot, …
            "pg_create_*slot",
            "pg_copy_*slot",
            // pg_walinspect reads the WAL, which holds every session's changes.
            "pg_get_wal_records_info",
            "pg_get_wal_records_info_till_end_of_wal",
            "pg_get_wal_record_info",
            "pg_get_wal_stats",
            "pg_get_wal_stats_till_end_of_wal",
        ],
    ),
    (
        HIDDEN_SQL,
        &[
            "ts_stat",
            // ts_rewrite(tsquery, text) runs its second argument as a query.
            "ts_rewrite",
            // tablefunc and xml2 build and run queries from their text arguments.
            "crosstab",
            "crosstab2",
            "crosstab3",
            "crosstab4",
            "connectby",
            "xpath_table",
            "plpgsql_inline_handler",
            "plpgsql_call_handler",
            "dblink*",
            "query_to_xml*",
            "cursor_to_xml*",
        ],
    ),
    // table_to_xml('pg_stat_activity', …), schema_to_xml('pg_catalog', …), database_to_xml(…).
    (
        NAMED_RELATIONS,
        &["table_to_xml*", "schema_to_xml*", "database_to_xml*"],
    ),
    (
        SERVER_INTERNALS,
        &[
            "pg_nextoid",
            "binary_upgrade_*",
            // pg_surgery and pg_visibility.
            "heap_force_kill",
            "heap_force_freeze",
            "pg_truncate_visibility_map",
        ],
    ),
    (
        SERVER_CONFIG,
        &[
            "pg_hba_file_rules",
            "pg_ident_file_mappings",
            "pg_show_all_file_settings",
        ],
    ),
];

/// Functions that rewrite index storage, as maintenance statements do: the ddl tier.
const DDL: &[&str] = &[
    "brin_summarize_new_values",
    "brin_summarize_range",
    "brin_desummarize_range",
    "gin_clean_pending_list",
];

pub(super) fn add(policy: &mut Policy) {
    for (reason, names) in REFUSED {
        for name in *names {
            refuse(policy, name, reason);
        }
    }
    for name in DDL {
        needs(policy, name, Tier::Ddl);
    }
    for name in ["pg_stat_activity", "pg_stat_statements"] {
        refuse_relation(policy, name, SHOWS_OTHER_SQL);
    }
}
