//! MySQL's and MariaDB's SQL policy for the host's gate: the functions and relations that
//! reach past the session (server files, locks, operating system commands, other sessions'
//! SQL), and how the server lexes.
//!
//! The host enforces these together with its default policy for the `mysql` dialect, which
//! holds the same tables, so a third-party plugin of this dialect gets them too. Names beyond
//! the default are marked.

use plenum_plugin_api::EnginePolicy;

const FILES: &str = "it reads or writes files on the database server";
const LOCKS: &str =
    "it takes or inspects locks that outlive the statement and can block other sessions";
const OS_COMMANDS: &str = "it runs operating system commands";
const SHOWS_OTHER_SQL: &str = "it shows the SQL text of other sessions, which may hold secrets";

/// The policy the plugin declares.
pub(crate) fn engine_policy() -> EnginePolicy {
    let mut policy = EnginePolicy::default();
    // DES_ENCRYPT and DES_DECRYPT read keys from the server's DES key file.
    for name in ["load_file", "des_encrypt", "des_decrypt"] {
        policy.refuse_function(name, FILES);
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
        policy.refuse_function(name, LOCKS);
    }
    for name in ["sys_exec", "sys_eval"] {
        policy.refuse_function(name, OS_COMMANDS);
    }
    for name in ["sys.ps_thread_stack", "sys.ps_thread_trx_info"] {
        policy.refuse_function(name, SHOWS_OTHER_SQL);
    }
    policy.refuse_relation("processlist", SHOWS_OTHER_SQL);
    // Beyond the default: MariaDB's QUERY_CACHE_INFO plugin lists cached statements.
    policy.refuse_relation("information_schema.query_cache_info", SHOWS_OTHER_SQL);
    // `performance_schema.threads`, `sys.session` and the like are not declared here: a
    // declared name also matches where it is written without its schema, and `threads` or
    // `session` may be a user's table. The host's default refuses them only with their
    // schema, which the engine resolves.
    policy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declares_files_locks_and_other_sessions_sql() {
        let policy = engine_policy();
        let named = |name: &str| {
            policy
                .functions
                .iter()
                .any(|rule| rule.name.last().is_some_and(|last| last == name))
        };
        assert!(named("load_file") && named("get_lock") && named("ps_thread_stack"));
        assert!(policy.relations.iter().any(|rule| rule
            .name
            .last()
            .is_some_and(|last| last == "query_cache_info")));
    }
}
