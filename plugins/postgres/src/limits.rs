//! Per-session resource ceilings, from the host's `max_temp_bytes` and `max_memory_bytes`
//! options.
//!
//! * `max_temp_bytes` becomes `temp_file_limit`: the temporary files one session may hold at
//!   once (sorts, hashes and materialised results that spill to disk). Only a superuser, or a
//!   role granted `SET` on the parameter (PostgreSQL 15+), may set it; for any other login the
//!   setting is left as the server and the role have it (`ALTER ROLE … SET temp_file_limit`
//!   makes it binding for such a login).
//! * `max_memory_bytes` becomes `work_mem`: the memory one sort or hash step uses before it
//!   spills to temporary files. PostgreSQL has no ceiling on a backend's total memory: a large
//!   value (a huge string) is bounded by nothing here.
//!
//! Both only ever lower the setting the session starts with: a role whose own setting is
//! stricter keeps it.

use plenum_plugin_api::{ConnectParams, PluginError, PluginResult};
use postgres::error::SqlState;
use postgres::Client;

use crate::errors::query_error;

/// The ceilings a session is opened with (`None` = leave the server's setting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ceilings {
    /// `temp_file_limit`, in kB.
    pub temp_kb: Option<i64>,
    /// `work_mem`, in kB.
    pub work_mem_kb: Option<i64>,
}

/// PostgreSQL's smallest `work_mem`, in kB.
const MIN_WORK_MEM_KB: i64 = 64;

impl Ceilings {
    /// Reads the ceilings from the host's options.
    pub fn from_params(params: &ConnectParams) -> PluginResult<Self> {
        let kb = |key: &str| -> PluginResult<Option<i64>> {
            params
                .option(key)
                .map(|text| {
                    text.trim()
                        .parse::<u64>()
                        .map(|bytes| i64::try_from(bytes / 1024).unwrap_or(i64::MAX))
                        // Both settings are 32-bit integers of kB on the server.
                        .map(|kb| kb.min(i64::from(i32::MAX)))
                        .map_err(|_| {
                            PluginError::connection(format!(
                                "{key} must be a number of bytes, not {text:?}"
                            ))
                        })
                })
                .transpose()
        };
        Ok(Ceilings {
            temp_kb: kb("max_temp_bytes")?,
            work_mem_kb: kb("max_memory_bytes")?.map(|kb| kb.max(MIN_WORK_MEM_KB)),
        })
    }
}

/// Lowers the session's settings to `ceilings` (fixed SQL, values bound). A login that may
/// not set `temp_file_limit` keeps the server's setting.
pub async fn apply(client: &mut Client, ceilings: &Ceilings) -> PluginResult<()> {
    if let Some(kb) = ceilings.work_mem_kb {
        lower(client, "work_mem", kb, false).await?;
    }
    if let Some(kb) = ceilings.temp_kb {
        match lower(client, "temp_file_limit", kb, true).await {
            Err(error)
                if error
                    .sqlstate
                    .as_ref()
                    .into_option()
                    .map(|state| state.as_str())
                    == Some(SqlState::INSUFFICIENT_PRIVILEGE.code()) => {}
            other => other?,
        }
    }
    Ok(())
}

/// Sets `name` to `kb` unless the session's setting is already lower (`-1`, unlimited, counts
/// as higher when `minus_one_is_unlimited`).
async fn lower(
    client: &mut Client,
    name: &str,
    kb: i64,
    minus_one_is_unlimited: bool,
) -> PluginResult<()> {
    let sql = "SELECT set_config(name, $2::bigint::text, false) FROM pg_settings \
               WHERE name = $1 AND (setting::bigint > $2 OR ($3 AND setting::bigint < 0))";
    client
        .query(sql, &[&name, &kb, &minus_one_is_unlimited])
        .await
        .map(|_| ())
        .map_err(|error| query_error(&error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_become_kilobytes_within_what_the_server_accepts() {
        let mut params = ConnectParams::new("postgres", plenum_plugin_api::AccessMode::Read);
        assert_eq!(
            Ceilings::from_params(&params).ok(),
            Some(Ceilings::default())
        );
        params
            .options
            .push(("max_temp_bytes".into(), "1048576".into()).into());
        params
            .options
            .push(("max_memory_bytes".into(), "1000".into()).into());
        let ceilings = Ceilings::from_params(&params).ok();
        assert_eq!(
            ceilings,
            Some(Ceilings {
                temp_kb: Some(1024),
                work_mem_kb: Some(MIN_WORK_MEM_KB)
            })
        );
        params.options.clear();
        params
            .options
            .push(("max_temp_bytes".into(), u64::MAX.to_string().into()).into());
        assert_eq!(
            Ceilings::from_params(&params).ok().and_then(|c| c.temp_kb),
            Some(i64::from(i32::MAX))
        );
        params.options.clear();
        params
            .options
            .push(("max_temp_bytes".into(), "lots".into()).into());
        assert!(Ceilings::from_params(&params).is_err());
    }
}
