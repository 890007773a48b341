//! The flags of `plenum mcp`: what the human who starts the server allows its calls, and how
//! it serves. MCP clients cannot set any of these.

use std::time::Duration;

use clap::Args;

use plenum_core::services::capability::{parse_tier, requested_tier};
use plenum_core::services::pool::Settings;

use crate::mcp::{Approvals, ServeOptions};

/// Flags of `plenum mcp`. Whoever starts the server sets its tier ceiling: a call's
/// `allow_write` / `allow_ddl` can ask only up to it.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Let calls use the write tier (`allow_write`: INSERT, UPDATE, DELETE, MERGE, …).
    #[arg(long)]
    pub allow_write: bool,
    /// Let calls use the ddl tier (`allow_ddl`: CREATE, DROP, ALTER, …); implies --allow-write.
    #[arg(long)]
    pub allow_ddl: bool,
    /// Let a human approve, call by call, a query above this server's ceiling, up to TIER
    /// (write or ddl; at least the ceiling): when a call asks for allow_write / allow_ddl
    /// beyond --allow-*, and its client can ask its user (MCP elicitation), the user is shown
    /// the statements, their tiers and the target, and only their "approve" runs that one call
    /// with the tier raised. Without this flag no one is asked. PLENUM_MAX_CAPABILITY and a
    /// saved connection's max_capability still bind; check_only and explain never ask.
    #[arg(long, value_name = "TIER", value_parser = ["write", "ddl"])]
    pub approve_up_to: Option<String>,
    /// With --approve-up-to: seconds to wait for the human's answer before refusing the call
    /// (the call's timeout_ms starts after it).
    #[arg(
        long,
        value_name = "SECS",
        requires = "approve_up_to",
        default_value_t = crate::mcp::Approvals::DEFAULT_WAIT_SECS,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub approve_wait_secs: u64,
    /// An environment variable of this process that a call may name as `password_env`
    /// (repeat for several). Calls naming any other variable are refused, so a model cannot
    /// send an arbitrary secret of this process to a host of its choosing.
    #[arg(long = "password-env", value_name = "VAR")]
    pub password_env: Vec<String>,
    /// Serve Streamable HTTP at ADDR (IP:PORT or localhost:PORT; the endpoint is /mcp)
    /// instead of stdio. Beyond loopback a bearer token is required (--token-file or
    /// PLENUM_MCP_TOKEN).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// With --http: a file holding the bearer token every request must carry (else
    /// PLENUM_MCP_TOKEN). Never the token itself on the command line, where `ps` shows it.
    #[arg(long, value_name = "PATH", requires = "http")]
    pub token_file: Option<std::path::PathBuf>,
    /// With --http: a host name clients reach the server by, beyond the loopback names and
    /// the listening IP (repeat for several). Other `Host` headers are refused (DNS
    /// rebinding).
    #[arg(long = "allowed-host", value_name = "NAME", requires = "http")]
    pub allowed_hosts: Vec<String>,
    /// Warm sessions (the pool's hook; see `warm`).
    #[command(flatten)]
    pub pool: PoolArgs,
}

impl McpArgs {
    /// What the MCP front end serves with, or why the flags contradict each other.
    pub fn options(self) -> Result<ServeOptions, String> {
        let ceiling = requested_tier(self.allow_write, self.allow_ddl);
        let approvals = match self.approve_up_to.as_deref().map(parse_tier) {
            None => None,
            Some(Some(up_to)) if up_to >= ceiling => Some(Approvals {
                up_to,
                wait: Duration::from_secs(self.approve_wait_secs),
            }),
            // An approval below the ceiling would approve nothing; saying so beats a flag that
            // silently does not do what its reader expects.
            Some(Some(up_to)) => {
                return Err(format!(
                    "--approve-up-to {} is below the server's ceiling ({}): pass --approve-up-to \
                     {} or leave it out",
                    up_to.as_str(),
                    ceiling.as_str(),
                    ceiling.as_str()
                ))
            }
            Some(None) => return Err("--approve-up-to takes write or ddl".to_owned()),
        };
        Ok(ServeOptions {
            ceiling,
            approvals,
            password_envs: self.password_env,
            http: self.http,
            token_file: self.token_file,
            allowed_hosts: self.allowed_hosts,
            pool: self.pool.settings(),
        })
    }
}

/// Warm sessions: how many, and for how long.
#[derive(Debug, Args)]
pub struct PoolArgs {
    /// Warm sessions kept per connection target and access mode, at most (0: open a new
    /// session for every call). Only read calls that ended cleanly leave theirs warm.
    #[arg(long = "pool-size", value_name = "N", default_value_t = Settings::DEFAULT_PER_TARGET)]
    pub pool_size: usize,
    /// Seconds an unused warm session stays open.
    #[arg(long = "pool-idle-secs", value_name = "SECS", default_value_t = Settings::DEFAULT_IDLE_SECS)]
    pub pool_idle_secs: u64,
    /// Seconds after which a session is closed instead of reused, however busy.
    #[arg(long = "pool-max-age-secs", value_name = "SECS", default_value_t = Settings::DEFAULT_MAX_AGE_SECS)]
    pub pool_max_age_secs: u64,
}

impl PoolArgs {
    /// The pool's settings.
    pub fn settings(&self) -> Settings {
        Settings {
            per_target: self.pool_size,
            idle: Duration::from_secs(self.pool_idle_secs),
            max_age: Duration::from_secs(self.pool_max_age_secs),
        }
    }
}
