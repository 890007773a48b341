//! Names of the parts of a statement, for messages: built from kinds and names in the tree,
//! never from the statement's text, so no literal (which may hold a secret) reaches a message.

use std::borrow::Cow;

use sqlparser::ast::Statement;

use crate::walk::{explain_executes, query_kind};
use crate::{Dialect, Policy};

/// The name of a refused relation, as the list of refused names spells it (lower case): the
/// last part, with its schema when the schema is what makes it refused
/// (`performance_schema.threads`).
pub(crate) fn refused_relation_label(parts: &[&str]) -> String {
    let last = parts.last().copied().unwrap_or_default();
    let lower = |part: &str| part.to_ascii_lowercase();
    match parts {
        [.., schema, _]
            if Policy::dialect_default(Dialect::Generic)
                .relation_refusal(&[last])
                .is_none() =>
        {
            format!("{}.{}", lower(schema), lower(last))
        }
        _ => lower(last),
    }
}

/// The upper-case label of a statement nested in another: `DELETE`, `REPLACE`,
/// `CREATE TABLE`, … Built from the statement's kind only, never from its text. Rarer kinds
/// are a `nested statement`.
pub(crate) fn statement_label(statement: &Statement) -> Cow<'static, str> {
    use Statement as S;
    let label = match statement {
        S::Insert(insert) if insert.replace_into => "REPLACE",
        S::Insert(_) => "INSERT",
        S::Update(_) => "UPDATE",
        S::Delete(_) => "DELETE",
        S::Merge(_) => "MERGE",
        S::Query(query) => return Cow::Owned(query_kind(query)),
        S::Explain { .. } if explain_executes(statement) => "EXPLAIN ANALYZE",
        S::Explain { .. } => "EXPLAIN",
        S::Drop { object_type, .. } => return Cow::Owned(format!("DROP {object_type}")),
        S::CreateTable(_) => "CREATE TABLE",
        S::CreateVirtualTable { .. } => "CREATE VIRTUAL TABLE",
        S::CreateView(view) if view.materialized => "CREATE MATERIALIZED VIEW",
        S::CreateView(_) => "CREATE VIEW",
        S::CreateIndex(_) => "CREATE INDEX",
        S::CreateSchema { .. } => "CREATE SCHEMA",
        S::CreateDatabase { .. } => "CREATE DATABASE",
        S::CreateSequence { .. } => "CREATE SEQUENCE",
        S::CreateFunction(_) => "CREATE FUNCTION",
        S::CreateProcedure { .. } => "CREATE PROCEDURE",
        S::CreateTrigger(_) => "CREATE TRIGGER",
        S::CreateType { .. } => "CREATE TYPE",
        S::CreateRole(_) => "CREATE ROLE",
        S::CreateUser(_) => "CREATE USER",
        S::CreateExtension(_) => "CREATE EXTENSION",
        S::AlterTable(_) => "ALTER TABLE",
        S::AlterIndex { .. } => "ALTER INDEX",
        S::AlterView { .. } => "ALTER VIEW",
        S::AlterRole { .. } => "ALTER ROLE",
        S::AlterUser(_) => "ALTER USER",
        S::DropFunction(_) => "DROP FUNCTION",
        S::DropTrigger(_) => "DROP TRIGGER",
        S::DropProcedure { .. } => "DROP PROCEDURE",
        S::DropExtension(_) => "DROP EXTENSION",
        S::Truncate(_) => "TRUNCATE",
        S::RenameTable(_) => "RENAME TABLE",
        S::Comment { .. } => "COMMENT",
        S::Grant(_) => "GRANT",
        S::Revoke(_) => "REVOKE",
        S::Analyze(_) => "ANALYZE",
        S::Vacuum(_) => "VACUUM",
        S::Call(_) => "CALL",
        S::StartTransaction { .. } => "START TRANSACTION",
        S::Commit { .. } => "COMMIT",
        S::Rollback { .. } => "ROLLBACK",
        S::Savepoint { .. } => "SAVEPOINT",
        S::ReleaseSavepoint { .. } => "RELEASE SAVEPOINT",
        S::Set(_) => "SET",
        S::Reset(_) => "RESET",
        S::Use(_) => "USE",
        S::Discard { .. } => "DISCARD",
        S::Prepare { .. } => "PREPARE",
        S::Execute { .. } => "EXECUTE",
        S::Deallocate { .. } => "DEALLOCATE",
        S::Lock(_) | S::LockTables { .. } => "LOCK",
        S::UnlockTables => "UNLOCK TABLES",
        S::LISTEN { .. } => "LISTEN",
        S::UNLISTEN { .. } => "UNLISTEN",
        S::NOTIFY { .. } => "NOTIFY",
        S::Copy { .. } => "COPY",
        S::LoadData { .. } => "LOAD DATA",
        S::Load { .. } => "LOAD",
        S::Install { .. } => "INSTALL",
        S::AttachDatabase { .. } => "ATTACH",
        S::Kill { .. } => "KILL",
        S::Flush { .. } => "FLUSH",
        S::Declare { .. } => "DECLARE",
        S::Fetch { .. } => "FETCH",
        S::Open(_) => "OPEN",
        S::Close { .. } => "CLOSE",
        S::Pragma { .. } => "PRAGMA",
        S::ShowProcessList { .. } => "SHOW PROCESSLIST",
        _ => "nested statement",
    };
    Cow::Borrowed(label)
}

/// The first statement of `sql`, parsed as PostgreSQL (for the unit tests of this crate).
#[cfg(test)]
pub(crate) fn parse_postgres(sql: &str) -> Statement {
    sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql)
        .unwrap()
        .remove(0)
}

#[cfg(test)]
mod tests {
    use super::parse_postgres as parse;
    use super::*;

    #[test]
    fn nested_statement_labels_come_from_the_kind_only() {
        let cases = [
            ("CREATE TABLE t2 AS SELECT 'hunter2'", "CREATE TABLE"),
            ("CREATE INDEX i ON t (a)", "CREATE INDEX"),
            ("TRUNCATE t", "TRUNCATE"),
            ("DROP MATERIALIZED VIEW v", "DROP MATERIALIZED VIEW"),
            ("INSERT INTO t VALUES ('hunter2')", "INSERT"),
            ("WITH d AS (SELECT 1) SELECT * FROM d", "WITH … SELECT"),
            ("COMMIT", "COMMIT"),
            ("START TRANSACTION", "START TRANSACTION"),
            ("LISTEN hunter2", "LISTEN"),
            (
                "CREATE MATERIALIZED VIEW v AS SELECT 1",
                "CREATE MATERIALIZED VIEW",
            ),
            ("SHOW TABLES", "nested statement"),
        ];
        for (sql, label) in cases {
            assert_eq!(statement_label(&parse(sql)), label, "{sql}");
        }
    }

    #[test]
    fn refused_relations_are_named_as_the_list_spells_them() {
        assert_eq!(
            refused_relation_label(&["INFORMATION_SCHEMA", "ProcessList"]),
            "processlist"
        );
        assert_eq!(
            refused_relation_label(&["Performance_Schema", "THREADS"]),
            "performance_schema.threads"
        );
        assert_eq!(
            refused_relation_label(&["pg_stat_activity"]),
            "pg_stat_activity"
        );
    }
}
