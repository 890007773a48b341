//! The host's own rules about functions and relations, as the default [`Policy`] of each
//! dialect: the same value a plugin declares (plugin API 1.2), enforced by the same code.
//!
//! A plugin's declared policy is enforced together with its dialect's default, which it
//! cannot remove or loosen (see [`crate::Policy`]): a plugin that declares nothing, or a
//! third-party plugin of a built-in engine's dialect, still gets every rule here.
//!
//! Every dialect gets every engine's tables. The names are distinctive, engines imitate one
//! another (PostgreSQL-wire and MySQL-compatible servers, MariaDB's sequences), and refusing
//! a look-alike user function is the safe mistake. Rules that need the statement's shape
//! rather than a name stay in the walker: catalog write targets, file-reading virtual-table
//! modules, MySQL `SELECT … INTO`.

use std::sync::OnceLock;

use crate::{Dialect, Policy, Rule, Tier};

mod mysql;
mod postgres;
mod sqlite;

const FILES: &str = "it reads or writes files on the database server";
const NATIVE_CODE: &str = "it loads native code into the database server";
const OTHER_SESSIONS: &str = "it acts on other sessions or on the server itself";
const SESSION_SETTINGS: &str =
    "session settings are owned by Plenum: each call gets a fresh session with the granted access mode";
const LOCKS: &str =
    "it takes or inspects locks that outlive the statement and can block other sessions";
const HIDDEN_SQL: &str = "it runs SQL text that the gate cannot see";
const SHOWS_OTHER_SQL: &str = "it shows the SQL text of other sessions, which may hold secrets";

/// The default policy of `dialect`.
pub(crate) fn for_dialect(dialect: Dialect) -> &'static Policy {
    // One value today: see the module documentation for why every dialect gets all tables.
    let _ = dialect;
    static ALL: OnceLock<Policy> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut policy = Policy::default();
        // The order is the order reasons are looked for: the first refusal a name matches
        // gives the message.
        sqlite::add(&mut policy);
        postgres::add(&mut policy);
        mysql::add(&mut policy);
        // Sequences (PostgreSQL, MariaDB, DuckDB): the value changes for every session.
        for name in ["nextval", "setval"] {
            needs(&mut policy, name, Tier::Write);
        }
        policy
    })
}

/// A refused function, by its last name part (`*` matches any run of characters).
fn refuse(policy: &mut Policy, name: &str, reason: &str) {
    policy
        .functions
        .push((vec![name.to_owned()], Rule::Refused(reason.to_owned())));
}

/// A function that needs `tier`.
fn needs(policy: &mut Policy, name: &str, tier: Tier) {
    policy
        .functions
        .push((vec![name.to_owned()], Rule::Needs(tier)));
}

/// A relation refused in any schema.
fn refuse_relation(policy: &mut Policy, name: &str, reason: &str) {
    policy
        .relations
        .push((vec![name.to_owned()], reason.to_owned()));
}

/// A relation refused where it is written or resolved with the schema `schema`; a table of
/// the same name elsewhere is not.
fn refuse_in_schema(policy: &mut Policy, schema: &str, name: &str, reason: &str) {
    policy
        .schema_relations
        .push((vec![schema.to_owned(), name.to_owned()], reason.to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(name: &str) -> Option<Rule> {
        for_dialect(Dialect::PostgreSql)
            .function_rule(&[name])
            .cloned()
    }

    #[test]
    fn exact_prefix_and_slot_names() {
        let refused = |name: &str| matches!(function(name), Some(Rule::Refused(_)));
        assert!(refused("LO_EXPORT"));
        assert!(refused("pg_ls_waldir"));
        assert!(refused("pg_try_advisory_xact_lock_shared"));
        assert!(refused("pg_create_logical_replication_slot"));
        assert!(refused("pg_copy_physical_replication_slot"));
        assert_eq!(function("pg_create_table"), None);
        assert_eq!(function("NextVal"), Some(Rule::Needs(Tier::Write)));
        assert_eq!(
            function("brin_summarize_range"),
            Some(Rule::Needs(Tier::Ddl))
        );
        for allowed in ["pg_sleep", "sleep", "benchmark", "lower"] {
            assert_eq!(function(allowed), None, "{allowed}");
        }
    }

    #[test]
    fn sensitive_relations() {
        let refused = |parts: &[&str]| {
            for_dialect(Dialect::MySql)
                .relation_refusal(parts)
                .is_some()
        };
        assert!(refused(&["information_schema", "PROCESSLIST"]));
        assert!(refused(&["pg_catalog", "pg_stat_activity"]));
        assert!(refused(&["performance_schema", "threads"]));
        assert!(refused(&[
            "performance_schema",
            "events_statements_current"
        ]));
        assert!(refused(&["db", "performance_schema", "threads"]));
        assert!(!refused(&["threads"]));
        assert!(refused(&["sys", "session"]));
        assert!(!refused(&["app", "session"]));
        assert!(!refused(&[]));
    }

    #[test]
    fn every_dialect_has_the_defaults() {
        for dialect in Dialect::ALL {
            let policy = for_dialect(dialect);
            assert!(matches!(
                policy.function_rule(&["pg_read_file"]),
                Some(Rule::Refused(_))
            ));
            assert!(policy.lexing.is_none(), "{dialect}");
        }
    }
}
