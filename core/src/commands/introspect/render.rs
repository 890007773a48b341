//! The JSON shapes `plenum introspect` prints, built from the plugin API's types.

use plenum_plugin_api::abi_stable::std_types::{ROption, RString};
use plenum_plugin_api::{ForeignKeyInfo, TableDetail, TableKind, TableSummary};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::services::error::Failure;

pub(super) fn render(data: &impl Serialize) -> Result<Box<RawValue>, Failure> {
    serde_json::value::to_raw_value(data)
        .map_err(|error| Failure::internal(format!("cannot render the result: {error}")))
}

/// `data` of `--list-schemas`.
#[derive(Serialize)]
pub(super) struct SchemasOut {
    pub(super) schemas: Vec<String>,
    pub(super) schemas_total: usize,
}

/// `data` of `--list-tables` and of the summary.
#[derive(Serialize)]
pub(super) struct Listing<T> {
    pub(super) schema: Option<String>,
    pub(super) tables: Vec<T>,
    pub(super) tables_total: usize,
}

/// `data` of `--table`.
#[derive(Serialize)]
pub(super) struct DetailOut {
    pub(super) table: TableOut,
}

fn kind_name(kind: TableKind) -> &'static str {
    match kind {
        TableKind::Table => "table",
        TableKind::View => "view",
        TableKind::Other => "other",
    }
}

fn text(value: &ROption<RString>) -> Option<String> {
    value.as_ref().map(|text| text.to_string()).into_option()
}

fn texts(values: &[RString]) -> Vec<String> {
    values.iter().map(|value| value.to_string()).collect()
}

/// One entry of a table listing; `schema` only when it differs from the listing's.
#[derive(Serialize)]
pub(super) struct TableEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
    name: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    row_estimate: Option<i64>,
}

impl TableEntry {
    pub(super) fn new(table: &TableSummary, listed_schema: Option<&str>) -> Self {
        TableEntry {
            schema: text(&table.schema).filter(|schema| Some(schema.as_str()) != listed_schema),
            name: table.name.to_string(),
            kind: kind_name(table.kind),
            row_estimate: table.row_estimate.into_option(),
        }
    }
}

#[derive(Serialize)]
pub(super) struct ColumnOut {
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    nullable: bool,
    default: Option<String>,
    comment: Option<String>,
}

#[derive(Serialize)]
pub(super) struct ReferenceOut {
    schema: Option<String>,
    table: String,
    columns: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct ForeignKeyOut {
    name: Option<String>,
    columns: Vec<String>,
    references: ReferenceOut,
}

impl From<&ForeignKeyInfo> for ForeignKeyOut {
    fn from(key: &ForeignKeyInfo) -> Self {
        ForeignKeyOut {
            name: text(&key.name),
            columns: texts(&key.columns),
            references: ReferenceOut {
                schema: text(&key.referenced_schema),
                table: key.referenced_table.to_string(),
                columns: texts(&key.referenced_columns),
            },
        }
    }
}

#[derive(Serialize)]
pub(super) struct IndexOut {
    name: String,
    columns: Vec<String>,
    unique: bool,
}

/// The full description of one table, every field present (null or empty when absent).
#[derive(Serialize)]
pub(super) struct TableOut {
    schema: Option<String>,
    name: String,
    kind: &'static str,
    comment: Option<String>,
    columns: Vec<ColumnOut>,
    primary_key: Vec<String>,
    foreign_keys: Vec<ForeignKeyOut>,
    indexes: Vec<IndexOut>,
    view_definition: Option<String>,
}

impl From<TableDetail> for TableOut {
    fn from(detail: TableDetail) -> Self {
        TableOut {
            schema: text(&detail.schema),
            name: detail.name.to_string(),
            kind: kind_name(detail.kind),
            comment: text(&detail.comment),
            columns: detail
                .columns
                .iter()
                .map(|column| ColumnOut {
                    name: column.name.to_string(),
                    type_name: column.type_name.to_string(),
                    nullable: column.nullable,
                    default: text(&column.default),
                    comment: text(&column.comment),
                })
                .collect(),
            primary_key: texts(&detail.primary_key),
            foreign_keys: detail
                .foreign_keys
                .iter()
                .map(ForeignKeyOut::from)
                .collect(),
            indexes: detail
                .indexes
                .iter()
                .map(|index| IndexOut {
                    name: index.name.to_string(),
                    columns: texts(&index.columns),
                    unique: index.unique,
                })
                .collect(),
            view_definition: text(&detail.view_definition),
        }
    }
}

#[derive(Serialize)]
pub(super) struct SummaryColumn {
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    nullable: bool,
}

/// A table in the summary: compact, with the facts needed to write queries and joins.
#[derive(Serialize)]
pub(super) struct SummaryTable {
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
    name: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    columns: Vec<SummaryColumn>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    primary_key: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    foreign_keys: Vec<ForeignKeyOut>,
}

impl SummaryTable {
    pub(super) fn new(detail: TableDetail, listed_schema: Option<&str>) -> Self {
        SummaryTable {
            schema: text(&detail.schema).filter(|schema| Some(schema.as_str()) != listed_schema),
            name: detail.name.to_string(),
            kind: kind_name(detail.kind),
            comment: text(&detail.comment),
            columns: detail
                .columns
                .iter()
                .map(|column| SummaryColumn {
                    name: column.name.to_string(),
                    type_name: column.type_name.to_string(),
                    nullable: column.nullable,
                })
                .collect(),
            primary_key: texts(&detail.primary_key),
            foreign_keys: detail
                .foreign_keys
                .iter()
                .map(ForeignKeyOut::from)
                .collect(),
        }
    }
}
