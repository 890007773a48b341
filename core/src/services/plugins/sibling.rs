//! Programs that ship beside `plenum`, found and trusted like the plugins of the installation.
//!
//! `plenum mcp` runs the MCP server, `plenum-mcp`, a program of its own so that every other
//! command starts without it (docs/PERFORMANCE.md, "The cold start, issue 19"). It is looked
//! for only in the folder of the running executable, symbolic links resolved (so `pipx`'s and
//! `uv tool`'s links find the real installation), never on `PATH` or in the current directory,
//! and it must pass the permission checks every plugin library passes (`plugins::perms`): owned
//! by the current user or root, and writable by nobody else, nor is any folder above it. Like
//! the libraries of the installation it needs no manifest: whatever could replace it could
//! replace `plenum` itself.

use std::path::PathBuf;

use super::{discovery, perms};
use crate::services::error::Failure;

/// The program `name` (without the platform's executable suffix) beside the running
/// executable, when it is there and passes the checks; a `CONFIG_ERROR` naming what is wrong
/// otherwise.
pub fn beside_executable(name: &str) -> Result<PathBuf, Failure> {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let Some(dir) = discovery::exe_dir() else {
        return Err(Failure::config(format!(
            "cannot find the folder of the running executable, where {file} should be"
        )));
    };
    let path = dir.join(&file);
    let broken = |why: String| {
        Failure::config(format!(
            "the installation is incomplete: {} {why}; reinstall Plenum (scripts/install, the \
             release archive or the Python wheel all ship it beside plenum)",
            path.display()
        ))
    };
    match std::fs::metadata(&path) {
        Ok(metadata) if metadata.is_file() => {}
        Ok(_) => return Err(broken("is not a file".to_owned())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(broken("is missing".to_owned()))
        }
        Err(error) => return Err(broken(format!("cannot be inspected ({error})"))),
    }
    perms::check(&path).map_err(|reason| {
        Failure::config(format!(
            "{} is not trusted to run: {reason}",
            path.display()
        ))
    })?;
    Ok(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_a_config_error_naming_where_it_was_looked_for() {
        let failure = beside_executable("plenum-no-such-program").unwrap_err();
        assert_eq!(failure.code, crate::services::error::ErrorCode::ConfigError);
        let dir = discovery::exe_dir().expect("the test's own folder");
        assert!(
            failure
                .message
                .contains(&dir.join("plenum-no-such-program").display().to_string()),
            "{}",
            failure.message
        );
        assert!(
            failure.message.contains("is missing"),
            "{}",
            failure.message
        );
    }
}
