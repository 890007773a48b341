//! Tiers the caller asks for, and the ceilings that bound what may be asked.
//!
//! A flag can raise the tier only up to the lowest ceiling in force; the ceiling is set by the
//! human (environment, saved connection, `plenum mcp --allow-*`), never by the SQL or the agent's
//! per-call flags.

use plenum_gate::Tier;
use plenum_plugin_api::AccessMode;

use crate::services::error::Failure;

/// A bound on the tier, and where it was set (named in errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceiling {
    /// The highest tier allowed.
    pub tier: Tier,
    /// Where it was set, e.g. `PLENUM_MAX_CAPABILITY`.
    pub source: String,
}

impl Ceiling {
    /// The ceiling a saved connection carries, named by the connection and the file that
    /// holds it (as errors quote it: `saved connection 'prod' in /app/.plenum/config.json`).
    pub fn saved(tier: Tier, name: &str, file: &std::path::Path) -> Self {
        Ceiling {
            tier,
            source: format!("saved connection '{name}' in {}", file.display()),
        }
    }
}

/// The environment variable that caps every call of this process.
pub const MAX_CAPABILITY_ENV: &str = "PLENUM_MAX_CAPABILITY";

/// Parses `read`, `write` or `ddl`.
pub fn parse_tier(text: &str) -> Option<Tier> {
    match text.trim().to_ascii_lowercase().as_str() {
        "read" | "readonly" | "read-only" => Some(Tier::Read),
        "write" => Some(Tier::Write),
        "ddl" | "admin" => Some(Tier::Ddl),
        _ => None,
    }
}

/// The ceiling from `PLENUM_MAX_CAPABILITY`, if set. An unknown value fails closed.
pub fn ceiling_from_env() -> Result<Option<Ceiling>, Failure> {
    match std::env::var(MAX_CAPABILITY_ENV) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => parse_tier(&value)
            .map(|tier| {
                Some(Ceiling {
                    tier,
                    source: MAX_CAPABILITY_ENV.to_owned(),
                })
            })
            .ok_or_else(|| {
                Failure::config(format!(
                    "{MAX_CAPABILITY_ENV} must be read, write or ddl (it is set to something else)"
                ))
            }),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Failure::config(format!(
            "{MAX_CAPABILITY_ENV} must be read, write or ddl"
        ))),
    }
}

/// The tier the flags ask for: `--allow-ddl` implies write.
pub fn requested_tier(allow_write: bool, allow_ddl: bool) -> Tier {
    if allow_ddl {
        Tier::Ddl
    } else if allow_write {
        Tier::Write
    } else {
        Tier::Read
    }
}

/// Fails when `requested` exceeds any ceiling, naming the lowest one it exceeds.
pub fn enforce(requested: Tier, ceilings: &[Ceiling]) -> Result<(), Failure> {
    let lowest = ceilings
        .iter()
        .filter(|c| requested > c.tier)
        .min_by_key(|c| c.tier);
    match lowest {
        None => Ok(()),
        Some(ceiling) => Err(Failure::capability(format!(
            "{} asks for the {} tier, but the ceiling is {} (set by {}); only a human can raise it",
            crate::services::words::tier_option(requested).unwrap_or_else(|| "the call".to_owned()),
            requested.as_str(),
            ceiling.tier.as_str(),
            ceiling.source
        ))),
    }
}

/// The session access mode for a tier.
pub fn access_mode(tier: Tier) -> AccessMode {
    match tier {
        Tier::Read => AccessMode::Read,
        Tier::Write => AccessMode::Write,
        Tier::Ddl => AccessMode::Ddl,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ceiling(tier: Tier, source: &str) -> Ceiling {
        Ceiling {
            tier,
            source: source.into(),
        }
    }

    #[test]
    fn lowest_ceiling_wins_and_is_named() {
        let ceilings = [ceiling(Tier::Ddl, "A"), ceiling(Tier::Read, "B")];
        assert!(enforce(Tier::Read, &ceilings).is_ok());
        let error = enforce(Tier::Write, &ceilings)
            .err()
            .map(|f| f.message)
            .unwrap_or_default();
        assert!(error.contains("ceiling is read (set by B)"), "{error}");
    }

    #[test]
    fn ddl_implies_write() {
        assert_eq!(requested_tier(false, true), Tier::Ddl);
        assert_eq!(requested_tier(true, false), Tier::Write);
        assert_eq!(requested_tier(false, false), Tier::Read);
    }

    #[test]
    fn tier_names_parse_and_unknown_fails() {
        assert_eq!(parse_tier(" Write "), Some(Tier::Write));
        assert_eq!(parse_tier("everything"), None);
    }
}
