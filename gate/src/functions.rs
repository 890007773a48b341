//! What the gate knows of engines' functions beyond its policies: the built-ins of the
//! engines whose full list it carries, and SQLite's file-reading virtual-table modules. The
//! functions that are refused or raised are the dialects' default policies
//! (`crate::defaults`).

use crate::{Dialect, Policy};

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
    let ruled = Policy::dialect_default(dialect)
        .function_rule(&[&lower])
        .is_some();
    Some(ruled || builtins.binary_search(&lower).is_ok())
}

/// SQLite virtual-table modules that read or write files.
pub(crate) fn is_file_module(module: &str) -> bool {
    ["zipfile", "fsdir", "csv", "fileio"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(module))
}
