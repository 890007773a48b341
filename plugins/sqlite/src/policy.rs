//! SQLite's SQL policy for the host's gate: the extension and shell functions that load
//! native code or reach files, and the virtual tables over the database file itself.
//!
//! The host enforces these together with its default policy for the `sqlite` dialect, which
//! holds the same functions, so a third-party plugin of this dialect gets them too. Names
//! beyond the default are marked. (ATTACH, VACUUM INTO, pragma setters and file-reading
//! virtual-table modules are statement shapes the gate refuses itself.)

use plenum_plugin_api::EnginePolicy;

const FILES: &str = "it reads or writes files on the database server";
const NATIVE_CODE: &str = "it loads native code into the database server";

/// The policy the plugin declares.
pub(crate) fn engine_policy() -> EnginePolicy {
    let mut policy = EnginePolicy::default();
    for name in ["load_extension", "fts3_tokenizer"] {
        policy.refuse_function(name, NATIVE_CODE);
    }
    for name in ["readfile", "writefile", "fsdir", "zipfile"] {
        policy.refuse_function(name, FILES);
    }
    policy.refuse_function("edit", "it starts an interactive editor process");
    // Beyond the default: builds with SQLITE_ENABLE_DBPAGE_VTAB expose the file's raw pages,
    // and writing them rewrites the schema under every check. `sqlite_` names are reserved,
    // so no user table is refused with it.
    policy.refuse_relation(
        "sqlite_dbpage",
        "it reads and writes the database file's raw pages, beneath the schema",
    );
    policy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declares_native_code_files_and_raw_pages() {
        let policy = engine_policy();
        let names: Vec<String> = policy
            .functions
            .iter()
            .map(|rule| rule.name.iter().map(|part| part.as_str()).collect())
            .collect();
        assert!(names.iter().any(|name| name == "load_extension"));
        assert!(names.iter().any(|name| name == "readfile"));
        assert_eq!(policy.relations.len(), 1);
    }
}
