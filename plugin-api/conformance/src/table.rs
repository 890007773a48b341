//! The table a safety check works on: made new for the check, read back to see what a
//! statement changed, and dropped afterwards.

use plenum_plugin_api::AccessMode;

use crate::{session, Kit, Outcome, SafetySql};

/// What [`SafetySql::contents`] returned: column names and rows, as text, rows sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contents {
    pub(crate) columns: Vec<String>,
    pub(crate) rows: Vec<String>,
}

/// The table's contents now, read in a fresh read session; an error when the read fails (the
/// table is gone, say).
pub(crate) fn contents(kit: &Kit) -> Result<Contents, String> {
    let sql = &kit.target.safety.contents;
    let results = session::run_committed(kit, AccessMode::Read, std::slice::from_ref(sql))?;
    let rows = results.into_iter().next().unwrap_or_default();
    let mut lines: Vec<String> = rows.rows.iter().map(|row| format!("{row:?}")).collect();
    lines.sort();
    Ok(Contents {
        columns: rows
            .columns
            .iter()
            .map(|column| column.name.to_string())
            .collect(),
        rows: lines,
    })
}

/// Whether the table's contents differ from `before` (which becomes what they are now); an
/// error when the table can no longer be read.
pub(crate) fn changed(kit: &Kit, before: &mut Contents) -> Result<bool, String> {
    let now = contents(kit).map_err(|reason| format!("the table cannot be read: {reason}"))?;
    Ok(now != std::mem::replace(before, now.clone()))
}

/// The fields of `safety` a table check needs that are empty.
fn missing(safety: &SafetySql) -> Vec<&'static str> {
    let fields = [
        ("create_table", safety.create_table.is_empty()),
        ("drop_table", safety.drop_table.is_empty()),
        ("insert", safety.insert.trim().is_empty()),
        ("update", safety.update.trim().is_empty()),
        ("delete", safety.delete.trim().is_empty()),
        ("ddl", safety.ddl.trim().is_empty()),
        ("contents", safety.contents.trim().is_empty()),
    ];
    fields
        .into_iter()
        .filter(|(_, empty)| *empty)
        .map(|(name, _)| name)
        .collect()
}

/// Creates the table, runs `body` on it and drops it, whatever `body` found. A missing
/// statement, a table that cannot be made, is not empty, or survives the drop fails the check.
pub(crate) fn with_table(kit: &Kit, body: impl FnOnce(&Kit) -> Outcome) -> Outcome {
    let safety = &kit.target.safety;
    let missing = missing(safety);
    if !missing.is_empty() {
        return Outcome::Failed(format!(
            "the target's SafetySql has no {}: a safety check cannot run without it",
            missing.join(", ")
        ));
    }
    let outcome = match session::run_committed(kit, AccessMode::Ddl, &safety.create_table) {
        Err(reason) => Outcome::Failed(format!("create_table in a DDL session failed: {reason}")),
        Ok(_) => match contents(kit) {
            Ok(new) if new.rows.is_empty() => body(kit),
            Ok(new) => Outcome::Failed(format!(
                "the new table holds {} rows, not 0",
                new.rows.len()
            )),
            Err(reason) => Outcome::Failed(format!("contents of the new table: {reason}")),
        },
    };
    // Each drop statement on its own: `ddl` may have dropped the table already.
    for sql in &safety.drop_table {
        let _ = session::run_committed(kit, AccessMode::Ddl, std::slice::from_ref(sql));
    }
    match (outcome, contents(kit)) {
        (Outcome::Passed(_), Ok(_)) => Outcome::Failed(
            "the table is still there after drop_table (contents still reads it)".to_owned(),
        ),
        (outcome, _) => outcome,
    }
}

/// Inserts the one row the check starts from, in a write session.
pub(crate) fn seed(kit: &Kit) -> Result<Contents, String> {
    session::run_committed(
        kit,
        AccessMode::Write,
        std::slice::from_ref(&kit.target.safety.insert),
    )
    .map_err(|reason| format!("insert in a write session failed: {reason}"))?;
    let seeded = contents(kit)?;
    if seeded.rows.len() == 1 {
        Ok(seeded)
    } else {
        Err(format!(
            "insert must add exactly one row; the table holds {}",
            seeded.rows.len()
        ))
    }
}
