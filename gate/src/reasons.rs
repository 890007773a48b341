//! Why things are refused, in words an agent can act on.

use sqlparser::ast::Set;

pub(crate) const TRANSACTION: &str =
    "each call runs in its own transaction owned by Plenum; send all statements in one call instead";
pub(crate) const SESSION: &str =
    "session settings are owned by Plenum: each call gets a fresh session with the granted access mode";
pub(crate) const SET_ROLE: &str =
    "changing the role or session user would change what the session may do; connect as that user instead";
pub(crate) const PREPARED: &str =
    "prepared statements run SQL that the gate cannot see; send the statement itself";
pub(crate) const LOCK: &str =
    "explicit locks outlive the statement and block other sessions; use SELECT … FOR UPDATE (needs the write tier)";
pub(crate) const NOTIFY: &str = "notifications reach other sessions";
pub(crate) const FILES: &str =
    "it reads or writes files outside the database; use SELECT to read rows and INSERT to add them";
pub(crate) const EXTENSION: &str = "it loads native code into the database server";
pub(crate) const ATTACH: &str =
    "it opens or creates other database files; connect to that database instead";
pub(crate) const VACUUM_INTO: &str = "VACUUM INTO writes a copy of the database to a file";
pub(crate) const SERVER: &str = "it acts on other sessions or on the server itself";
pub(crate) const PROCESSLIST: &str =
    "it shows the SQL text of other sessions, which may hold secrets";
pub(crate) const CURSOR: &str =
    "cursors and variables live beyond one statement; send a plain SELECT instead";
pub(crate) const PROCEDURAL: &str =
    "procedural blocks are not supported outside a function or procedure body";
pub(crate) const UNKNOWN: &str =
    "the gate does not know this kind of statement, so it does not allow it";
pub(crate) const PRAGMA_SHAPE: &str =
    "this PRAGMA form is not recognised; use PRAGMA name or PRAGMA name(argument)";
pub(crate) const PRAGMA_SETTER: &str =
    "sets a value, and PRAGMA setters change the connection or the database file; only read-only pragmas are allowed";
pub(crate) const PRAGMA_NOT_READ: &str =
    "is not on the list of read-only pragmas, so it is not allowed";
pub(crate) const MYSQL_SELECT_INTO: &str =
    "SELECT … INTO writes files or session variables; select the rows without INTO";
pub(crate) const INSERT_INTO_FUNCTION: &str =
    "INSERT INTO FUNCTION writes outside the database's tables";
pub(crate) const FILE_MODULE: &str = "this virtual-table module reads or writes files";
pub(crate) const MYSQL_DO: &str =
    "DO evaluates expressions for their side effects only; use SELECT to see the result";
pub(crate) const DO_ELSEWHERE: &str = "DO blocks are only understood for PostgreSQL";

/// The reason a `SET …` statement is refused.
pub(crate) fn set_reason(set: &Set) -> &'static str {
    match set {
        Set::SetTransaction { .. } => TRANSACTION,
        Set::SetRole { .. } | Set::SetSessionAuthorization(_) => SET_ROLE,
        _ => SESSION,
    }
}

/// A `SHOW` that exposes other sessions' SQL text: PROCESSLIST (sessions), ENGINE … STATUS
/// (the latest deadlock's statements), BINLOG / RELAYLOG EVENTS (every logged statement).
pub(crate) fn show_refusal<'a>(mut words: impl Iterator<Item = &'a str>) -> Option<&'static str> {
    words
        .any(|word| {
            // MariaDB `SHOW EXPLAIN FOR id` / `SHOW ANALYZE FOR id` show another
            // connection's running statement.
            [
                "processlist",
                "engine",
                "binlog",
                "relaylog",
                "explain",
                "analyze",
            ]
            .iter()
            .any(|w| w.eq_ignore_ascii_case(word))
        })
        .then_some(PROCESSLIST)
}

/// Statements refused by their first word(s), before parsing: many of them do not parse with
/// sqlparser at all, and a clear refusal helps more than a syntax error. Returns the label and
/// the reason.
pub(crate) fn leading_refusal(first: &str, second: Option<&str>) -> Option<(String, &'static str)> {
    let upper = first.to_ascii_uppercase();
    let second_upper = second.map(str::to_ascii_uppercase);
    let two = |label: &str| match &second_upper {
        Some(s) => format!("{label} {s}"),
        None => label.to_owned(),
    };
    let refusal = match upper.as_str() {
        "BEGIN" | "COMMIT" | "ROLLBACK" | "ABORT" | "END" | "SAVEPOINT" | "RELEASE" | "XA" => {
            (upper.clone(), TRANSACTION)
        }
        "START" => match second_upper.as_deref() {
            Some("TRANSACTION") | None => (two("START"), TRANSACTION),
            _ => (two("START"), SERVER),
        },
        "SET" => match second_upper.as_deref() {
            Some("TRANSACTION") => ("SET TRANSACTION".to_owned(), TRANSACTION),
            Some("ROLE") => ("SET ROLE".to_owned(), SET_ROLE),
            Some("SESSION") | Some("LOCAL") => (two("SET"), SESSION),
            _ => ("SET".to_owned(), SESSION),
        },
        "RESET" | "DISCARD" | "USE" => (upper.clone(), SESSION),
        "PREPARE" | "EXECUTE" | "EXEC" | "DEALLOCATE" => (upper.clone(), PREPARED),
        "DECLARE" | "FETCH" | "MOVE" | "CLOSE" | "OPEN" => (upper.clone(), CURSOR),
        "LOCK" | "UNLOCK" => (two(&upper), LOCK),
        "LISTEN" | "UNLISTEN" | "NOTIFY" => (upper.clone(), NOTIFY),
        "COPY" | "UNLOAD" | "IMPORT" => (upper.clone(), FILES),
        "LOAD" => (two("LOAD"), FILES),
        "ATTACH" | "DETACH" => (upper.clone(), ATTACH),
        "INSTALL" | "UNINSTALL" => (two(&upper), EXTENSION),
        "KILL" | "SHUTDOWN" | "RESTART" | "FLUSH" | "PURGE" | "CHANGE" | "STOP" | "BINLOG"
        | "CHECKPOINT" | "CLONE" | "CACHE" => (upper.clone(), SERVER),
        "HANDLER" => (upper.clone(), CURSOR),
        "SIGNAL" | "RESIGNAL" | "IF" | "WHILE" | "LOOP" | "REPEAT" | "CASE" | "RAISE" => {
            (upper.clone(), PROCEDURAL)
        }
        "ALTER" if second_upper.as_deref() == Some("SYSTEM") => ("ALTER SYSTEM".to_owned(), SERVER),
        "ALTER" if second_upper.as_deref() == Some("SESSION") => {
            ("ALTER SESSION".to_owned(), SESSION)
        }
        _ => return None,
    };
    Some(refusal)
}
