//! What the engine tests share: running one statement to its rows.

use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{Connection, Value};

/// The rows of `sql` on `session`, or the plugin's error message.
pub fn run(session: &mut dyn Connection, sql: &str) -> Result<Vec<Vec<Value>>, String> {
    let mut cursor = session
        .execute(sql, &[], 0)
        .map_err(|error| error.message.to_string())?;
    let width = cursor.columns().len();
    let mut out = RVec::new();
    while cursor
        .fetch(100, &mut out)
        .map_err(|error| error.message.to_string())?
        > 0
    {}
    Ok(out.chunks(width.max(1)).map(|row| row.to_vec()).collect())
}
