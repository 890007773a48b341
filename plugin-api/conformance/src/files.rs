//! File access from a read session: the kit makes a folder holding a secret file, asks the
//! plugin to read that file and to write new ones there, and judges by the file's bytes and
//! the folder's contents.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use plenum_plugin_api::{AccessMode, Value};

use crate::session::{self, Attempt};
use crate::{table, Kit, Outcome, PATH_PLACEHOLDER};

const SECRET_NAME: &str = "secret.txt";

/// A folder of the kit's own with one secret file in it, removed on drop.
struct Scratch {
    dir: PathBuf,
    marker: String,
}

impl Scratch {
    fn new() -> Result<Self, String> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        let unique = format!(
            "{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(format!("plenum-conformance-{unique}"));
        std::fs::create_dir(&dir)
            .map_err(|error| format!("cannot make {}: {error}", dir.display()))?;
        let scratch = Scratch {
            dir,
            marker: format!("plenum-conformance-secret-{unique}"),
        };
        std::fs::write(scratch.secret(), &scratch.marker)
            .map_err(|error| format!("cannot write the secret file: {error}"))?;
        open_to_the_engine(&scratch.dir, &scratch.secret())?;
        Ok(scratch)
    }

    fn secret(&self) -> PathBuf {
        self.dir.join(SECRET_NAME)
    }

    /// What changed in the folder: files other than the secret, or the secret's bytes.
    fn changes(&self) -> Option<String> {
        let mut names: Vec<String> = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name != SECRET_NAME)
                .collect(),
            Err(error) => return Some(format!("the folder cannot be read: {error}")),
        };
        names.sort();
        if !names.is_empty() {
            return Some(format!(
                "files appeared in the folder: {}",
                names.join(", ")
            ));
        }
        match std::fs::read(self.secret()) {
            Ok(bytes) if bytes == self.marker.as_bytes() => None,
            Ok(_) => Some("the secret file's bytes changed".to_owned()),
            Err(error) => Some(format!("the secret file is gone: {error}")),
        }
    }

    /// Whether `value` holds the secret (as text, bytes or hexadecimal).
    fn leaks(&self, value: &Value) -> bool {
        let hex: String = self
            .marker
            .bytes()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let holds =
            |text: &str| text.contains(&self.marker) || text.to_ascii_lowercase().contains(&hex);
        match value {
            Value::Text(text) | Value::Json(text) | Value::Decimal(text) => holds(text),
            Value::Bytes(bytes) => holds(&String::from_utf8_lossy(bytes)),
            _ => false,
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A database server on this machine runs as another user: the folder must let it write and
/// the secret let it read, so that what stops it is the plugin and the engine, not the kit.
#[cfg(unix)]
fn open_to_the_engine(dir: &Path, secret: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))
        .and_then(|()| std::fs::set_permissions(secret, std::fs::Permissions::from_mode(0o644)))
        .map_err(|error| format!("cannot open the scratch folder to the engine: {error}"))
}

#[cfg(not(unix))]
fn open_to_the_engine(_dir: &Path, _secret: &Path) -> Result<(), String> {
    Ok(())
}

/// `statements` with the placeholder filled in, or why they are unusable.
fn templates<'a>(statements: &'a [String], field: &str) -> Result<&'a [String], String> {
    if statements.is_empty() {
        return Err(format!(
            "the target's SafetySql has no {field}: the file check cannot run without the \
             engine's statements for it"
        ));
    }
    match statements
        .iter()
        .find(|sql| !sql.contains(PATH_PLACEHOLDER))
    {
        Some(sql) => Err(format!(
            "{field} statement {sql:?} has no {PATH_PLACEHOLDER}"
        )),
        None => Ok(statements),
    }
}

fn fill(template: &str, path: &Path) -> String {
    template.replace(PATH_PLACEHOLDER, &path.to_string_lossy())
}

/// Runs each of the target's file writes in a read session, aimed at a new file in a fresh
/// folder: `Ok` says what the plugin did when no file appeared, `Err` what went wrong.
pub(crate) fn attempt_writes(kit: &Kit) -> Result<String, String> {
    let statements = templates(&kit.target.safety.write_file, "write_file")?;
    let scratch = Scratch::new()?;
    let mut notes = Vec::new();
    for (n, template) in statements.iter().enumerate() {
        let sql = fill(template, &scratch.dir.join(format!("written-{n}")));
        let note = match session::attempt(kit, AccessMode::Read, &sql)? {
            Attempt::Refused(reason) => format!("refused: {reason}"),
            Attempt::Ran(_) => "ran, wrote nothing".to_owned(),
        };
        if let Some(change) = scratch.changes() {
            return Err(format!("{sql:?} in a read session wrote a file: {change}"));
        }
        notes.push(format!("{sql:?} {note}"));
    }
    Ok(format!("file writes: {}", notes.join("; ")))
}

/// Reads the secret with each of the target's file reads in a read session.
fn attempt_reads(kit: &Kit, scratch: &Scratch) -> Result<String, String> {
    let statements = templates(&kit.target.safety.read_file, "read_file")?;
    let mut notes = Vec::new();
    for template in statements {
        let sql = fill(template, &scratch.secret());
        let mut connection =
            session::open(kit, AccessMode::Read).map_err(|error| format!("connect: {error}"))?;
        connection
            .begin()
            .into_result()
            .map_err(|error| format!("begin: {error}"))?;
        let result = session::run_one(&mut connection, &sql, &[], 0);
        let _ = connection.rollback();
        match result {
            Ok(rows) if rows.rows.iter().flatten().any(|value| scratch.leaks(value)) => {
                return Err(format!(
                    "{sql:?} in a read session returned the secret file's contents"
                ))
            }
            Ok(_) => notes.push(format!("{sql:?} ran, returned nothing of the file")),
            Err(error) => match error.panic_message() {
                Some(message) => return Err(format!("the plugin panicked on {sql:?}: {message}")),
                None => notes.push(format!("{sql:?} refused: {error}")),
            },
        }
    }
    Ok(format!("file reads: {}", notes.join("; ")))
}

/// Inside the check's table, so that statements copying a table to a file have one.
pub(crate) fn file_access(kit: &Kit) -> Outcome {
    table::with_table(kit, files_of_a_read_session)
}

fn files_of_a_read_session(kit: &Kit) -> Outcome {
    let scratch = match Scratch::new() {
        Ok(scratch) => scratch,
        Err(reason) => return Outcome::Failed(reason),
    };
    let reads = attempt_reads(kit, &scratch);
    let writes = attempt_writes(kit);
    let changed = scratch.changes();
    match (reads, writes, changed) {
        (Ok(reads), Ok(writes), None) => Outcome::Passed(format!("{reads}; {writes}")),
        (reads, writes, changed) => Outcome::Failed(
            [reads.err(), writes.err(), changed]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; "),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_found_as_text_bytes_or_hex_and_nowhere_else() {
        let scratch = Scratch::new().expect("scratch folder");
        let marker = scratch.marker.clone();
        let hex: String = marker.bytes().map(|byte| format!("{byte:02X}")).collect();
        assert!(scratch.leaks(&Value::Text(format!("x{marker}\n").into())));
        assert!(scratch.leaks(&Value::Bytes(marker.as_bytes().to_vec().into())));
        assert!(scratch.leaks(&Value::Text(format!("\\x{hex}").into())));
        assert!(scratch.leaks(&Value::Json(format!("[\"{marker}\"]").into())));
        assert!(!scratch.leaks(&Value::Text("plenum-conformance-secret".into())));
        assert!(!scratch.leaks(&Value::Int(1)));
    }

    #[test]
    fn a_new_file_or_a_changed_secret_is_a_change_and_the_folder_goes_away() {
        let scratch = Scratch::new().expect("scratch folder");
        let dir = scratch.dir.clone();
        assert_eq!(scratch.changes(), None);
        std::fs::write(scratch.secret(), "other").expect("change the secret");
        assert!(scratch
            .changes()
            .is_some_and(|change| change.contains("bytes changed")));
        std::fs::write(scratch.secret(), &scratch.marker).expect("restore the secret");
        std::fs::write(dir.join("written-0"), "x").expect("write a file");
        assert!(scratch
            .changes()
            .is_some_and(|change| change.contains("written-0")));
        drop(scratch);
        assert!(!dir.exists());
    }

    #[test]
    fn templates_need_the_placeholder() {
        assert!(templates(&[], "read_file").is_err());
        assert!(templates(&["SELECT 1".to_owned()], "read_file").is_err());
        let good = ["SELECT f('{path}')".to_owned()];
        assert!(templates(&good, "read_file").is_ok());
        assert_eq!(fill(&good[0], Path::new("/t/s")), "SELECT f('/t/s')");
    }
}
