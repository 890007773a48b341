//! The database file: a header line, then one line per table and one per row, tab-separated,
//! each value tagged with its type so it reads back exactly as written.
//!
//! ```text
//! minidb 1
//! table<TAB>items<TAB>id:INTEGER<TAB>label:TEXT
//! row<TAB>items<TAB>i1<TAB>sone
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use plenum_plugin_api::{PluginError, PluginResult, Value};

const HEADER: &str = "minidb 1";

/// One table: its (column, type) pairs and its rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Columns and their declared types.
    pub columns: Vec<(String, String)>,
    /// Rows, each as wide as `columns`.
    pub rows: Vec<Vec<Value>>,
}

/// Every table, by name.
pub type Tables = BTreeMap<String, Table>;

/// What the file looked like when it was read: a commit refuses to overwrite a file that
/// changed since (another session committed in between).
pub type Stamp = Option<(u64, SystemTime)>;

/// The file's stamp now (`None` when it does not exist).
pub fn stamp(path: &Path) -> Stamp {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.len(), metadata.modified().ok()?))
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '\t' => escaped.push_str("\\t"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            c => escaped.push(c),
        }
    }
    escaped
}

fn unescape(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            plain.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => plain.push('\t'),
            Some('n') => plain.push('\n'),
            Some('r') => plain.push('\r'),
            Some(other) => plain.push(other),
            None => {}
        }
    }
    plain
}

fn encode(value: &Value) -> String {
    match value {
        Value::Null => "n".to_owned(),
        Value::Bool(flag) => format!("b{}", u8::from(*flag)),
        Value::Int(number) => format!("i{number}"),
        Value::UInt(number) => format!("u{number}"),
        // The bits, so every float reads back exactly.
        Value::Float(number) => format!("f{:016x}", number.to_bits()),
        Value::Decimal(text) => format!("d{}", escape(text)),
        Value::Text(text) => format!("s{}", escape(text)),
        Value::Bytes(bytes) => {
            let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
            format!("x{hex}")
        }
        Value::Json(text) => format!("j{}", escape(text)),
    }
}

fn decode(field: &str) -> Option<Value> {
    let (tag, rest) = field.split_at_checked(1)?;
    Some(match tag {
        "n" => Value::Null,
        "b" => Value::Bool(rest == "1"),
        "i" => Value::Int(rest.parse().ok()?),
        "u" => Value::UInt(rest.parse().ok()?),
        "f" => Value::Float(f64::from_bits(u64::from_str_radix(rest, 16).ok()?)),
        "d" => Value::Decimal(unescape(rest).into()),
        "s" => Value::Text(unescape(rest).into()),
        "x" => {
            let bytes: Option<Vec<u8>> = (0..rest.len())
                .step_by(2)
                .map(|at| u8::from_str_radix(rest.get(at..at + 2)?, 16).ok())
                .collect();
            Value::Bytes(bytes?.into())
        }
        "j" => Value::Json(unescape(rest).into()),
        _ => return None,
    })
}

/// Reads every table of the file at `path`.
pub fn load(path: &Path) -> PluginResult<Tables> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        PluginError::connection(format!("cannot read {}: {error}", path.display()))
    })?;
    let corrupt = |line: usize| {
        PluginError::connection(format!(
            "{} is not a minidb file (line {line})",
            path.display()
        ))
    };
    let mut lines = text.lines().enumerate();
    if lines.next().map(|(_, line)| line) != Some(HEADER) {
        return Err(corrupt(1));
    }
    let mut tables = Tables::new();
    for (index, line) in lines {
        let mut fields = line.split('\t');
        let (kind, name) = (fields.next(), fields.next());
        match (kind, name) {
            (Some("table"), Some(name)) => {
                let columns = fields
                    .map(|field| {
                        let (column, type_name) = field.split_once(':').unwrap_or((field, ""));
                        (column.to_owned(), type_name.to_owned())
                    })
                    .collect();
                tables.insert(
                    name.to_owned(),
                    Table {
                        columns,
                        rows: Vec::new(),
                    },
                );
            }
            (Some("row"), Some(name)) => {
                let row: Option<Vec<Value>> = fields.map(decode).collect();
                let table = tables.get_mut(name).ok_or_else(|| corrupt(index + 1))?;
                match row {
                    Some(row) if row.len() == table.columns.len() => table.rows.push(row),
                    _ => return Err(corrupt(index + 1)),
                }
            }
            _ => return Err(corrupt(index + 1)),
        }
    }
    Ok(tables)
}

/// Writes every table to `path` through a temporary file and a rename, so a reader never
/// sees half a database.
pub fn save(path: &Path, tables: &Tables) -> PluginResult<()> {
    let mut text = format!("{HEADER}\n");
    for (name, table) in tables {
        text.push_str("table\t");
        text.push_str(name);
        for (column, type_name) in &table.columns {
            text.push_str(&format!("\t{column}:{type_name}"));
        }
        text.push('\n');
        for row in &table.rows {
            text.push_str("row\t");
            text.push_str(name);
            for value in row {
                text.push('\t');
                text.push_str(&encode(value));
            }
            text.push('\n');
        }
    }
    let temporary = path.with_extension("minidb-tmp");
    let written = std::fs::File::create(&temporary)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    written.map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        PluginError::query(format!("cannot write {}: {error}", path.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_reads_back_exactly() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db.minidb");
        let row = vec![
            Value::Null,
            Value::Bool(true),
            Value::Int(i64::MIN),
            Value::UInt(u64::MAX),
            Value::Float(0.1),
            Value::Decimal("12.50".into()),
            Value::Text("tab\tnew\nline \\ é".into()),
            Value::Bytes(vec![0, 255, 16].into()),
            Value::Json("{\"a\":1}".into()),
        ];
        let columns = (0..row.len())
            .map(|i| (format!("c{i}"), String::new()))
            .collect();
        let mut tables = Tables::new();
        tables.insert(
            "t".into(),
            Table {
                columns,
                rows: vec![row],
            },
        );
        save(&path, &tables).expect("save");
        assert_eq!(load(&path).expect("load"), tables);
    }
}
