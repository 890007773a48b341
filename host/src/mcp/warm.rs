//! The flags of `plenum mcp` that set its warm-session pool (see [`plenum_core::pool`]).

use std::time::Duration;

use clap::Args;

use plenum_core::pool::Settings;

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
