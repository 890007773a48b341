//! The SQLite built into the plugin carries the workspace's compile-time options
//! (`.cargo/config.toml`): a build that lost them would still pass every other test, only
//! slower to start.

use plenum_plugin_api::abi_stable::std_types::{ROption, RVec};
use plenum_plugin_api::{AccessMode, ConnectParams, Plugin, Value};
use plenum_sqlite::SqlitePlugin;

#[test]
fn the_page_cache_is_not_allocated_in_bulk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut params = ConnectParams::new("sqlite", AccessMode::Read);
    let file = dir.path().join("options.db");
    rusqlite::Connection::open(&file).expect("create the file");
    params.file = ROption::RSome(file.to_string_lossy().as_ref().into());
    let mut conn = SqlitePlugin::connect(&params).expect("open");
    let mut cursor = conn
        .execute("PRAGMA compile_options", &[], 0)
        .expect("compile_options");
    let mut out = RVec::new();
    while cursor.fetch(100, &mut out).expect("fetch") > 0 {}
    let options: Vec<String> = out
        .into_iter()
        .filter_map(|value| match value {
            Value::Text(text) => Some(text.to_string()),
            _ => None,
        })
        .collect();
    assert!(
        options
            .iter()
            .any(|option| option == "DEFAULT_PCACHE_INITSZ=0"),
        "{options:?}"
    );
    // The options libsqlite3-sys sets itself are still there beside it.
    assert!(
        options.iter().any(|option| option == "ENABLE_FTS5"),
        "{options:?}"
    );
}
