//! MySQL's and MariaDB's functions and relations that reach past the session.

use super::{refuse, refuse_in_schema, refuse_relation, FILES, LOCKS, SHOWS_OTHER_SQL};
use crate::Policy;

const OS_COMMANDS: &str = "it runs operating system commands";

pub(super) fn add(policy: &mut Policy) {
    // sys schema: other threads' statements.
    for name in ["ps_thread_stack", "ps_thread_trx_info"] {
        refuse(policy, name, SHOWS_OTHER_SQL);
    }
    // MariaDB's DES functions read keys from the server's DES key file (--des-key-file).
    for name in ["load_file", "des_encrypt", "des_decrypt"] {
        refuse(policy, name, FILES);
    }
    for name in [
        "get_lock",
        "release_lock",
        "release_all_locks",
        "is_free_lock",
        "is_used_lock",
        "service_get_read_locks",
        "service_get_write_locks",
        "service_release_locks",
    ] {
        refuse(policy, name, LOCKS);
    }
    for name in ["sys_exec", "sys_eval"] {
        refuse(policy, name, OS_COMMANDS);
    }
    relations(policy);
}

/// Relations that show other sessions' SQL (the data `SHOW PROCESSLIST` shows): `processlist`
/// in any schema, the others only with their schema (a user table `threads` or `session` is
/// not refused; an unqualified name is checked once the engine has resolved it).
fn relations(policy: &mut Policy) {
    refuse_relation(policy, "processlist", SHOWS_OTHER_SQL);
    for name in [
        "events_statements_*",
        "events_transactions_*",
        "prepared_statements_instances",
        "threads",
    ] {
        refuse_in_schema(policy, "performance_schema", name, SHOWS_OTHER_SQL);
    }
    for name in [
        "processlist",
        "x$processlist",
        "session",
        "x$session",
        "innodb_lock_waits",
        "x$innodb_lock_waits",
    ] {
        refuse_in_schema(policy, "sys", name, SHOWS_OTHER_SQL);
    }
    // trx_query holds each open transaction's running statement.
    refuse_in_schema(policy, "information_schema", "innodb_trx", SHOWS_OTHER_SQL);
    // The general and slow query logs, when logged to tables, hold every statement.
    for name in ["general_log", "slow_log"] {
        refuse_in_schema(policy, "mysql", name, SHOWS_OTHER_SQL);
    }
}
