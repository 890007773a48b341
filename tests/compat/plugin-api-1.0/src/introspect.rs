//! The engine-neutral shape of schema introspection.
//!
//! Plugins answer these requests with catalog queries that bind the user's names as
//! parameters; the host renders the answer as JSON.

use abi_stable::std_types::{ROption, RString, RVec};
use abi_stable::StableAbi;

/// Which introspection the host wants.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntrospectOp {
    /// The schemas (or databases) visible to the session.
    ListSchemas,
    /// Tables and views, optionally in one schema and matching a pattern.
    ListTables,
    /// Columns, keys and indexes of one table or view.
    DescribeTable,
}

/// An introspection request.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct IntrospectRequest {
    /// The operation.
    pub op: IntrospectOp,
    /// Restrict to this schema; the session's default when absent.
    pub schema: ROption<RString>,
    /// The table, for [`IntrospectOp::DescribeTable`].
    pub table: ROption<RString>,
    /// A SQL `LIKE` pattern tables must match, for [`IntrospectOp::ListTables`].
    pub pattern: ROption<RString>,
}

/// Whether a relation is a table or a view.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// A base table.
    Table,
    /// A view (or materialized view).
    View,
    /// Anything else the engine lists (foreign tables, sequences, …).
    Other,
}

/// One entry of a table listing.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct TableSummary {
    /// Schema the table lives in, for engines that have schemas.
    pub schema: ROption<RString>,
    /// Table name.
    pub name: RString,
    /// Table or view.
    pub kind: TableKind,
    /// The engine's row estimate, when it keeps one cheaply.
    pub row_estimate: ROption<i64>,
}

/// One column of a described table.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ColumnInfo {
    /// Column name.
    pub name: RString,
    /// Declared type.
    pub type_name: RString,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Default expression, as the engine stores it.
    pub default: ROption<RString>,
    /// Column comment.
    pub comment: ROption<RString>,
}

/// A foreign key (possibly composite).
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ForeignKeyInfo {
    /// Constraint name, when the engine names it.
    pub name: ROption<RString>,
    /// Referencing columns, in order.
    pub columns: RVec<RString>,
    /// Schema of the referenced table.
    pub referenced_schema: ROption<RString>,
    /// Referenced table.
    pub referenced_table: RString,
    /// Referenced columns, in the same order as `columns`.
    pub referenced_columns: RVec<RString>,
}

/// An index.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct IndexInfo {
    /// Index name.
    pub name: RString,
    /// Indexed columns (or expressions), in order.
    pub columns: RVec<RString>,
    /// Whether the index enforces uniqueness.
    pub unique: bool,
}

/// The full description of one table or view.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct TableDetail {
    /// Schema of the table.
    pub schema: ROption<RString>,
    /// Table name.
    pub name: RString,
    /// Table or view.
    pub kind: TableKind,
    /// Table comment.
    pub comment: ROption<RString>,
    /// Columns in declaration order.
    pub columns: RVec<ColumnInfo>,
    /// Primary key columns, in key order (empty when none).
    pub primary_key: RVec<RString>,
    /// Foreign keys.
    pub foreign_keys: RVec<ForeignKeyInfo>,
    /// Indexes.
    pub indexes: RVec<IndexInfo>,
    /// The view's definition, for views.
    pub view_definition: ROption<RString>,
}

/// The answer to an [`IntrospectRequest`].
// Returned once per call, so the size difference between variants costs nothing worth an
// extra allocation across the boundary.
#[allow(clippy::large_enum_variant)]
#[repr(u8)]
#[derive(StableAbi, Debug, Clone)]
pub enum IntrospectResult {
    /// Answer to [`IntrospectOp::ListSchemas`].
    Schemas(RVec<RString>),
    /// Answer to [`IntrospectOp::ListTables`].
    Tables(RVec<TableSummary>),
    /// Answer to [`IntrospectOp::DescribeTable`]; `RNone` when the table does not exist.
    Table(ROption<TableDetail>),
}
