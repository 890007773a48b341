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

use mysql::Params;
use plenum_plugin_api::{ConnectParams, PluginError, PluginResult};

use crate::session::{MysqlConnection, ServerKind};

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

    /// Lowers the session's variables to these ceilings.
    pub fn apply(&self, session: &mut MysqlConnection) -> PluginResult<()> {
        let variables = self.variables(session.server_kind());
        if variables.is_empty() {
            return Ok(());
        }
        let select = variables
            .iter()
            .map(|(name, _)| format!("@@SESSION.{name}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = session.fixed_rows(&format!("SELECT {select}"), Params::Empty)?;
        let current = rows.into_iter().next().unwrap_or_default();
        let mut settings = Vec::new();
        for (index, (name, ceiling)) in variables.iter().enumerate() {
            let now = current.get(index).and_then(as_u64);
            if now.is_none_or(|now| now > *ceiling) {
                settings.push(format!("{name} = {ceiling}"));
            }
        }
        if settings.is_empty() {
            return Ok(());
        }
        session.set_session(&format!("SET SESSION {}", settings.join(", ")))
    }
}

fn as_u64(value: &mysql::Value) -> Option<u64> {
    match value {
        mysql::Value::UInt(number) => Some(*number),
        mysql::Value::Int(number) => u64::try_from(*number).ok(),
        mysql::Value::Bytes(bytes) => std::str::from_utf8(bytes).ok()?.trim().parse().ok(),
        _ => None,
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
    fn values_of_every_shape_read_as_numbers() {
        assert_eq!(as_u64(&mysql::Value::UInt(u64::MAX)), Some(u64::MAX));
        assert_eq!(as_u64(&mysql::Value::Bytes(b"1024".to_vec())), Some(1024));
        assert_eq!(as_u64(&mysql::Value::Int(-1)), None);
    }
}
