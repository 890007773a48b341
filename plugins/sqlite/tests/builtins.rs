//! Every function of the bundled SQLite build, as the plugin's own session sees them, for
//! the gate's classification.
//!
//! `PLENUM_WRITE_BUILTINS=1` writes the sorted, lower-case list to `gate/builtins/sqlite.txt` (the gate's list)
//! beside this crate's manifest; without it, the test fails on any name missing from that
//! file (when it exists), so a SQLite upgrade cannot slip a function past the list.

use std::collections::BTreeSet;

use plenum_plugin_api::abi_stable::std_types::{ROption, RVec};
use plenum_plugin_api::{AccessMode, ConnectParams, Plugin, Value};
use plenum_sqlite::SqlitePlugin;

fn names(sql: &str) -> BTreeSet<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("builtins.db");
    let mut params = ConnectParams::new("sqlite", AccessMode::Ddl);
    params.file = ROption::RSome(file.to_string_lossy().as_ref().into());
    let mut conn = SqlitePlugin::connect(&params).expect("open");
    let mut cursor = conn.execute(sql, &[], 0).expect(sql);
    let mut out = RVec::new();
    while cursor.fetch(100, &mut out).expect("fetch") > 0 {}
    out.iter()
        .map(|value| match value {
            Value::Text(name) => name.to_ascii_lowercase(),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn every_builtin_function_is_listed() {
    let names = names("SELECT DISTINCT name FROM pragma_function_list");
    for known in ["abs", "json_extract", "printf", "load_extension"] {
        assert!(names.contains(known), "{known} was not found");
    }
    let list: String = "# SQLite built-in function names of the bundled build, one per line (lower case). Checked by\n# plugins/sqlite/tests/builtins.rs (PLENUM_WRITE_BUILTINS=1 rewrites it).\n".to_owned() + &names.iter().map(|name| format!("{name}\n")).collect::<String>();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gate/builtins/sqlite.txt");
    if std::env::var("PLENUM_WRITE_BUILTINS").as_deref() == Ok("1") {
        std::fs::write(&path, list).expect("write the list");
        return;
    }
    {
        let listed = std::fs::read_to_string(&path).expect("the gate's built-in list");
        let listed: BTreeSet<&str> = listed.lines().collect();
        let missing: Vec<&String> = names
            .iter()
            .filter(|name| !listed.contains(name.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "functions of this SQLite build missing from {}: {missing:?}",
            path.display()
        );
    }
}

/// Virtual-table modules are not functions (creating a table over one is DDL); they are
/// printed for review. Eponymous ones such as `json_each` are not in this list.
#[test]
fn virtual_table_modules_are_printed() {
    let modules = names("SELECT name FROM pragma_module_list");
    eprintln!("modules: {modules:?}");
    assert!(modules.contains("fts5"));
}
