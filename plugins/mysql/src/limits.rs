//! Per-session resource ceilings, from the host's `max_temp_bytes`, `max_memory_bytes` and
//! `max_recursion` options, as session variables:
//!
//! | option | MariaDB | MySQL |
//! |---|---|---|
//! | `max_temp_bytes` | `tmp_disk_table_size` (one on-disk temporary table) | — (no session setting) |
//! | `max_memory_bytes` | `tmp_table_size`, `max_heap_table_size` (one in-memory temporary table; beyond it the table goes to disk) | the same |
//! | `max_recursion` | `max_recursive_iterations` | `cte_max_recursion_depth` |
//!
//! Each only ever lowers the value the session starts with, so a stricter setting of the
//! server or the account stays. The current values are read and compared here: the servers'
//! `LEAST()` compares a 64-bit unsigned "unlimited" as a negative number.

use plenum_plugin_api::{ConnectParams, PluginError, PluginResult};

use crate::session::ServerKind;

/// The smallest `max_heap_table_size` the servers accept (bytes).
const MIN_MEMORY_BYTES: u64 = 16 * 1024;

/// The ceilings a session is opened with (`None` = leave the server's setting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ceilings {
    /// Bytes of one on-disk temporary table.
    pub temp_bytes: Option<u64>,
    /// Bytes of one in-memory temporary table.
    pub memory_bytes: Option<u64>,
    /// Iterations of a recursive query.
    pub recursion: Option<u64>,
}

impl Ceilings {
    /// Reads the ceilings from the host's options.
    pub fn from_params(params: &ConnectParams) -> PluginResult<Self> {
        let number = |key: &str| -> PluginResult<Option<u64>> {
            params
                .option(key)
                .map(|text| {
                    text.trim().parse::<u64>().map_err(|_| {
                        PluginError::connection(format!("{key} must be a number, not {text:?}"))
                    })
                })
                .transpose()
        };
        Ok(Ceilings {
            temp_bytes: number("max_temp_bytes")?,
            memory_bytes: number("max_memory_bytes")?.map(|bytes| bytes.max(MIN_MEMORY_BYTES)),
            recursion: number("max_recursion")?,
        })
    }

    /// The session variables and the ceiling for each, on `server`.
    pub fn variables(&self, server: ServerKind) -> Vec<(&'static str, u64)> {
        let mut variables = Vec::new();
        if let (Some(bytes), ServerKind::MariaDb) = (self.temp_bytes, server) {
            variables.push(("tmp_disk_table_size", bytes));
        }
        if let Some(bytes) = self.memory_bytes {
            variables.push(("tmp_table_size", bytes));
            variables.push(("max_heap_table_size", bytes));
        }
        if let Some(iterations) = self.recursion {
            let name = match server {
                ServerKind::MariaDb => "max_recursive_iterations",
                ServerKind::MySql => "cte_max_recursion_depth",
            };
            // MySQL refuses depths above 2^32 - 1.
            variables.push((name, iterations.min(u64::from(u32::MAX))));
        }
        variables
    }

    /// `name = LEAST(@@SESSION.name, ceiling)` for each ceiling: the session's value is
    /// lowered to the ceiling, never raised, and without reading it first (a round trip
    /// fewer after every reset of a warm session). Both sides are cast: in a `SET`, MariaDB
    /// 10.11 compares an unsigned maximum with a plain number wrongly (the session's
    /// `tmp_disk_table_size` of 2^64 - 1 against 2^30 gave 1024).
    pub fn assignments(&self, server: ServerKind) -> Vec<String> {
        self.variables(server)
            .into_iter()
            .map(|(name, ceiling)| {
                format!(
                    "{name} = LEAST(CAST(@@SESSION.{name} AS UNSIGNED), CAST({ceiling} AS UNSIGNED))"
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_server_gets_the_variables_it_has() {
        let ceilings = Ceilings {
            temp_bytes: Some(1 << 20),
            memory_bytes: Some(1 << 10),
            recursion: Some(u64::MAX),
        };
        assert_eq!(
            ceilings.variables(ServerKind::MariaDb),
            vec![
                ("tmp_disk_table_size", 1 << 20),
                ("tmp_table_size", 1 << 10),
                ("max_heap_table_size", 1 << 10),
                ("max_recursive_iterations", u64::from(u32::MAX)),
            ]
        );
        assert_eq!(
            ceilings.variables(ServerKind::MySql),
            vec![
                ("tmp_table_size", 1 << 10),
                ("max_heap_table_size", 1 << 10),
                ("cte_max_recursion_depth", u64::from(u32::MAX)),
            ]
        );
        assert!(Ceilings::default()
            .variables(ServerKind::MariaDb)
            .is_empty());
    }

    #[test]
    fn ceilings_lower_and_never_raise() {
        let ceilings = Ceilings {
            temp_bytes: Some(1 << 20),
            memory_bytes: None,
            recursion: None,
        };
        assert_eq!(
            ceilings.assignments(ServerKind::MariaDb),
            vec![
                "tmp_disk_table_size = LEAST(CAST(@@SESSION.tmp_disk_table_size AS UNSIGNED), \
                 CAST(1048576 AS UNSIGNED))"
            ]
        );
    }
}
