//! Reads the first rows of a table through the plugin the way the host does, for measuring
//! time and memory with `/usr/bin/time -v`.
//!
//! ```text
//! stream_probe <database> <table> <rows>    # rows = 0 reads the whole table
//! ```
//!
//! Connects to 127.0.0.1:5432 as `postgres` unless `PLENUM_TEST_POSTGRES_URL`'s host, port and
//! user say otherwise (parsed here with the driver's own URL parser).

use std::str::FromStr;
use std::time::Instant;

use plenum_plugin_api::abi_stable::std_types::{ROption, RVec};
use plenum_plugin_api::{AccessMode, ConnectParams, Plugin, SslMode};
use plenum_postgres::PostgresPlugin;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, database, table, rows] = args.as_slice() else {
        return Err("usage: stream_probe <database> <table> <rows>".into());
    };
    let wanted: usize = rows.parse()?;
    let url = std::env::var("PLENUM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let config = postgres::Config::from_str(&url)?;

    let mut params = ConnectParams::new("postgres", AccessMode::Read);
    if let Some(postgres::config::Host::Tcp(host)) = config.get_hosts().first() {
        params.host = ROption::RSome(host.as_str().into());
    }
    params.port = config.get_ports().first().copied().into();
    params.user = config.get_user().map(Into::into).into();
    params.database = ROption::RSome(database.as_str().into());
    params.ssl_mode = SslMode::Disable;

    let started = Instant::now();
    let mut session = <PostgresPlugin as Plugin>::connect(&params)?;
    session.begin()?;
    // A table name from the command line of a measuring tool, quoted as an identifier.
    let sql = format!("SELECT * FROM \"{}\"", table.replace('"', "\"\""));
    // Like the host: a hint of max rows + 1 probe row, batches of at most 1000.
    let hint = if wanted == 0 { 0 } else { wanted as u64 + 1 };
    let mut read = 0usize;
    {
        let mut cursor = session.execute(&sql, &[], hint)?;
        let mut batch = RVec::new();
        loop {
            let ask = if wanted == 0 {
                1000
            } else {
                1000.min(wanted + 1 - read)
            };
            batch.clear();
            let fetched = cursor.fetch(ask, &mut batch)?;
            read += fetched;
            if fetched == 0 || (wanted != 0 && read > wanted) {
                break;
            }
        }
    }
    session.rollback()?;
    println!(
        "read {read} rows of {table} in {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}
