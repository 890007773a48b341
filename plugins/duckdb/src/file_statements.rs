//! Statements that write files or open other databases, refused by the plugin in every
//! session, behind the gate's refusal. With allowed directories DuckDB would let `COPY … TO`,
//! `EXPORT DATABASE` and `ATTACH` write inside them, in any access mode; a read session also
//! has DuckDB's parser check (`Splitter::is_query`), and this covers the write and ddl tiers.
//!
//! The statement's first words are read past whitespace, comments (nested, as DuckDB nests
//! them) and opening parentheses; `EXPLAIN` and `ANALYZE` are looked through.

use plenum_plugin_api::{PluginError, PluginResult};

/// First words refused, upper case.
const REFUSED: &[&str] = &[
    "COPY",
    "EXPORT",
    "IMPORT",
    "ATTACH",
    "DETACH",
    "INSTALL",
    "LOAD",
    "FORCE",
    "USE",
    "CHECKPOINT",
    "VACUUM",
];

/// Skips whitespace, `--` and (nested) `/* */` comments and `(`.
fn skip_noise(mut text: &str) -> &str {
    loop {
        let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(rest) = trimmed.strip_prefix("--") {
            text = rest.find('\n').map_or("", |end| &rest[end..]);
        } else if trimmed.starts_with("/*") {
            let mut depth = 0usize;
            let mut index = 0;
            let bytes = trimmed.as_bytes();
            while index < bytes.len() {
                if bytes[index..].starts_with(b"/*") {
                    depth += 1;
                    index += 2;
                } else if bytes[index..].starts_with(b"*/") {
                    depth -= 1;
                    index += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    index += 1;
                }
            }
            text = trimmed.get(index..).unwrap_or("");
        } else {
            return trimmed;
        }
    }
}

/// The next word (letters and `_`), upper case, and the text after it.
fn word(text: &str) -> (String, &str) {
    let text = skip_noise(text);
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    (text[..end].to_ascii_uppercase(), &text[end..])
}

/// Refuses a statement whose first word (past `EXPLAIN`, `ANALYZE` and their options) writes
/// files or opens another database.
pub(crate) fn refuse_file_statements(sql: &str) -> PluginResult<()> {
    let (mut first, mut rest) = word(sql);
    while matches!(first.as_str(), "EXPLAIN" | "ANALYZE" | "ANALYSE") {
        let after = skip_noise(rest);
        // `EXPLAIN (FORMAT JSON, ANALYZE) …`: the options are not the statement.
        let after = match rest.trim_start().strip_prefix('(') {
            Some(options) => options.find(')').map_or("", |end| &options[end + 1..]),
            None => after,
        };
        (first, rest) = word(after);
    }
    if REFUSED.contains(&first.as_str()) {
        return Err(PluginError::query(format!(
            "{first} writes files or opens another database; the DuckDB plugin never runs it"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::refuse_file_statements;

    #[test]
    fn file_statements_are_refused_however_they_start() {
        for sql in [
            "COPY t TO 'x.csv'",
            "copy (SELECT 1) TO 'x'",
            "  /* a /* nested */ comment */ COPY t TO 'x'",
            "-- note\nEXPORT DATABASE 'd'",
            "(COPY t TO 'x')",
            "EXPLAIN ANALYZE COPY t TO 'x'",
            "EXPLAIN (ANALYZE, FORMAT JSON) COPY t TO 'x'",
            "ATTACH 'x.duckdb' AS y",
            "FORCE INSTALL httpfs",
            "IMPORT DATABASE 'd'",
        ] {
            assert!(refuse_file_statements(sql).is_err(), "{sql}");
        }
        for sql in [
            "SELECT 'COPY'",
            "INSERT INTO copy VALUES (1)",
            "CREATE TABLE exports AS SELECT 1",
            "EXPLAIN SELECT 1",
            "SELECT * FROM copy",
        ] {
            assert!(refuse_file_statements(sql).is_ok(), "{sql}");
        }
    }
}
