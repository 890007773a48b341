//! The checks on the table: a write session writes and rolls back, a read session refuses
//! every kind of write at the engine, and one call never runs two statements.

use plenum_plugin_api::AccessMode;

use crate::session::{self, Attempt};
use crate::table::{self, Contents};
use crate::{files, Kit, Outcome};

pub(crate) fn write_session(kit: &Kit) -> Outcome {
    table::with_table(kit, |kit| {
        let insert = &kit.target.safety.insert;
        let affected = match session::attempt(kit, AccessMode::Write, insert) {
            Ok(Attempt::Ran(rows)) => rows.affected,
            Ok(Attempt::Refused(reason)) => {
                return Outcome::Failed(format!("a write session cannot insert: {reason}"))
            }
            Err(reason) => return Outcome::Failed(reason),
        };
        match (affected, table::contents(kit)) {
            (Some(1), Ok(after)) if after.rows.len() == 1 => {
                Outcome::Passed("one row inserted and committed".to_owned())
            }
            (affected, Ok(after)) if after.rows.len() == 1 => Outcome::Failed(format!(
                "the row was inserted but rows_affected is {affected:?}, not Some(1)"
            )),
            (_, Ok(after)) => Outcome::Failed(format!(
                "insert left {} rows in the new table, not 1",
                after.rows.len()
            )),
            (_, Err(reason)) => Outcome::Failed(reason),
        }
    })
}

pub(crate) fn rollback(kit: &Kit) -> Outcome {
    table::with_table(kit, |kit| {
        let mut connection = match session::open(kit, AccessMode::Write) {
            Ok(connection) => connection,
            Err(error) => return Outcome::Failed(format!("connect: {error}")),
        };
        if let Err(error) = connection.begin().into_result() {
            return Outcome::Failed(format!("begin: {error}"));
        }
        if let Err(error) = session::run_one(&mut connection, &kit.target.safety.insert, &[], 0) {
            return Outcome::Failed(format!("insert: {error}"));
        }
        if let Err(error) = connection.rollback().into_result() {
            return Outcome::Failed(format!("rollback: {error}"));
        }
        drop(connection);
        match table::contents(kit) {
            Ok(after) if after.rows.is_empty() => {
                Outcome::Passed("a rolled-back insert left no row".to_owned())
            }
            Ok(after) => Outcome::Failed(format!(
                "after rollback the table holds {} rows, 0 before",
                after.rows.len()
            )),
            Err(reason) => Outcome::Failed(reason),
        }
    })
}

/// The target's writes, each with the session mode that may run it.
fn writes(kit: &Kit) -> [(&'static str, &str, AccessMode); 4] {
    let safety = &kit.target.safety;
    [
        ("INSERT", safety.insert.as_str(), AccessMode::Write),
        ("UPDATE", safety.update.as_str(), AccessMode::Write),
        ("DELETE", safety.delete.as_str(), AccessMode::Write),
        ("DDL", safety.ddl.as_str(), AccessMode::Ddl),
    ]
}

pub(crate) fn read_only_session(kit: &Kit) -> Outcome {
    table::with_table(kit, |kit| {
        let mut before = match table::seed(kit) {
            Ok(seeded) => seeded,
            Err(reason) => return Outcome::Failed(reason),
        };
        let mut problems = Vec::new();
        let mut refusals = Vec::new();
        // The host would never send a write to a read session; the engine must refuse it
        // anyway, and the table must be as it was.
        for (what, sql, _) in writes(kit) {
            match session::attempt(kit, AccessMode::Read, sql) {
                Err(reason) => return Outcome::Failed(reason),
                Ok(Attempt::Ran(_)) => problems.push(format!(
                    "{what} in a read session reported success and committed"
                )),
                Ok(Attempt::Refused(reason)) => refusals.push(format!("{what}: {reason}")),
            }
            match table::changed(kit, &mut before) {
                Ok(false) => {}
                Ok(true) => problems.push(format!("{what} in a read session changed the table")),
                Err(reason) => return Outcome::Failed(format!("after {what}: {reason}")),
            }
        }
        match files::attempt_writes(kit) {
            Ok(done) => refusals.push(done),
            Err(problem) => problems.push(problem),
        }
        // The same statements where they are allowed must change the table, or their refusal
        // above proves nothing.
        problems.extend(controls(kit, before));
        if problems.is_empty() {
            Outcome::Passed(format!(
                "the engine refused every write in a read session ({})",
                refusals.join("; ")
            ))
        } else {
            Outcome::Failed(problems.join("; "))
        }
    })
}

/// Runs each write where it is allowed and says which changed nothing.
fn controls(kit: &Kit, mut before: Contents) -> Vec<String> {
    let mut problems = Vec::new();
    for (what, sql, access) in writes(kit) {
        if let Err(reason) = session::run_committed(kit, access, &[sql.to_owned()]) {
            problems.push(format!(
                "the target's {what} fails even in a {access:?} session, so its refusal in a \
                 read session proves nothing: {reason}"
            ));
            continue;
        }
        // A DDL statement may drop the table: a read that now fails is a change.
        match table::contents(kit) {
            Ok(after) if after == before => problems.push(format!(
                "the target's {what} changed nothing in a {access:?} session, so its refusal in a \
                 read session proves nothing"
            )),
            Ok(after) => before = after,
            Err(_) => break,
        }
    }
    problems
}

/// Texts that hold a second statement, each with whether the plugin must refuse it outright.
/// The lexing cases are one statement to some engines and two to others: they may run, but
/// the insert in them never may.
fn stacked(kit: &Kit) -> Vec<(String, bool)> {
    let safety = &kit.target.safety;
    let insert = safety.insert.trim().trim_end_matches(';');
    let contents = safety.contents.trim().trim_end_matches(';');
    let delete = safety.delete.trim().trim_end_matches(';');
    vec![
        (format!("{insert}; {insert}"), true),
        (format!("{contents}; {insert}"), true),
        (format!("{insert}; {delete}"), true),
        // Escape strings: two statements where `E'\''` is a whole string.
        (format!("SELECT E'\\''; {insert}; -- '"), false),
        // Backslash escapes in every string.
        (format!("SELECT 'a\\''; {insert}; -- '"), false),
        // Dollar quotes: `$$'$$` is a whole string.
        (format!("SELECT $$'$$; {insert}; -- '"), false),
        // Block comments that do not nest: the comment ends at the first `*/`.
        (format!("SELECT 1 /* /* */; {insert}; -- */"), false),
        // Executable comments: the engine runs what `/*! … */` holds.
        (format!("SELECT 1 /*!; {insert}; */"), false),
        // `#` comments to the end of the line.
        (format!("SELECT 1 #'\n; {insert}; -- '"), false),
    ]
}

pub(crate) fn one_statement_per_call(kit: &Kit) -> Outcome {
    table::with_table(kit, |kit| {
        // A row to begin with, so that a delete that ran shows too.
        let mut before = match table::seed(kit) {
            Ok(seeded) => seeded,
            Err(reason) => return Outcome::Failed(reason),
        };
        let mut problems = Vec::new();
        let texts = stacked(kit);
        for (text, must_refuse) in &texts {
            // A write session, committed: a plugin that ran the second statement shows it.
            match session::attempt(kit, AccessMode::Write, text) {
                Err(reason) => return Outcome::Failed(reason),
                Ok(Attempt::Ran(_)) if *must_refuse => problems.push(format!(
                    "{text:?} was accepted as one statement: use the engine's one-statement \
                     protocol"
                )),
                Ok(_) => {}
            }
            match table::changed(kit, &mut before) {
                Ok(false) => {}
                Ok(true) => problems.push(format!("{text:?} in one call changed the table")),
                Err(reason) => return Outcome::Failed(format!("after {text:?}: {reason}")),
            }
        }
        if problems.is_empty() {
            Outcome::Passed(format!(
                "{} texts holding a second statement ran none of it",
                texts.len()
            ))
        } else {
            Outcome::Failed(problems.join("; "))
        }
    })
}
