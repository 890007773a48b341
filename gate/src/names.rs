//! The names a statement uses, which only the engine can resolve: the functions it calls, the
//! relations it reads and the relations it writes. The host asks the engine what they stand
//! for (user code, views, triggers) before anything runs.

use sqlparser::ast::{
    FromTable, Ident, ObjectName, ObjectNamePart, Statement, TableFactor, TableObject,
    TableWithJoins, UpdateTableFromKind,
};

use crate::Dialect;

/// One part of a name as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NamePart {
    /// The part's text, without quotes.
    pub value: String,
    /// Whether it was quoted (then its case is exact).
    pub quoted: bool,
}

/// A name as written in the SQL, its parts outermost first (`public.f` is `["public", "f"]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name {
    /// The parts, outermost first.
    pub parts: Vec<NamePart>,
}

impl Name {
    pub(crate) fn from_idents<'a>(idents: impl IntoIterator<Item = &'a Ident>) -> Name {
        Name {
            parts: idents
                .into_iter()
                .map(|ident| NamePart {
                    value: ident.value.clone(),
                    quoted: ident.quote_style.is_some(),
                })
                .collect(),
        }
    }

    /// The name of an [`ObjectName`], or `None` when a part is computed at run time (the
    /// walk refuses those).
    pub(crate) fn from_object(name: &ObjectName) -> Option<Name> {
        let mut idents = Vec::with_capacity(name.0.len());
        for part in &name.0 {
            match part {
                ObjectNamePart::Identifier(ident) => idents.push(ident),
                ObjectNamePart::Function(_) => return None,
            }
        }
        Some(Name::from_idents(idents))
    }

    /// The last part: the object's own name.
    pub fn last(&self) -> &str {
        self.parts
            .last()
            .map(|part| part.value.as_str())
            .unwrap_or("")
    }

    /// The parts joined with `.`, for messages.
    pub fn dotted(&self) -> String {
        self.parts
            .iter()
            .map(|part| part.value.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// A table a statement names where a table goes: in `FROM`, in a join, or as the table an
/// `INSERT`, `UPDATE`, `DELETE` or `MERGE` writes, with the alias it gives the table there
/// (`FROM users u`, `UPDATE t AS x`). Engines that name a table in their plans by its alias
/// (MySQL, SQLite) can be read back through these.
///
/// Only tables by name: derived tables (`(SELECT …) d`) and table functions (`f(1) g`) are not
/// tables, so their aliases are not here. A name may be a CTE the statement defines: the gate
/// keeps references as written and does not tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableRef {
    /// The table's name as written, parts outermost first (`main.orders`).
    pub name: Name,
    /// The alias, without quotes; `None` when the reference gives none.
    pub alias: Option<String>,
}

/// What a statement names that the engine resolves. Each list holds each name once, in the
/// order first seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// Functions, procedures and table functions called by name (also by `CALL`).
    pub functions: Vec<Name>,
    /// Relations read (not counting CTEs the statement defines itself).
    pub relations: Vec<Name>,
    /// Relations written by `INSERT`, `UPDATE`, `DELETE`, `MERGE`, `REPLACE`.
    pub targets: Vec<Name>,
    /// The statement runs code whose text the gate cannot read (a PostgreSQL `DO` block).
    pub opaque_code: bool,
    /// The statement may run code it does not name: it applies an operator or casts to a
    /// type the gate does not know (user-defined operators, casts and domain checks run
    /// routines of their own).
    pub implicit: bool,
    /// A relation is written as a string literal (`FROM 'file.csv'`), which some engines
    /// read as a file.
    pub string_relations: bool,
}

impl Reach {
    /// Whether the statement names nothing the engine must resolve.
    pub fn is_empty(&self) -> bool {
        self.functions.is_empty()
            && self.relations.is_empty()
            && self.targets.is_empty()
            && !self.opaque_code
            && !self.implicit
    }

    pub(crate) fn add_function(&mut self, name: Name) {
        if !self.functions.contains(&name) {
            self.functions.push(name);
        }
    }

    pub(crate) fn add_relation(&mut self, name: Name) {
        if !self.relations.contains(&name) {
            self.relations.push(name);
        }
    }

    pub(crate) fn add_target(&mut self, name: Name) {
        if !self.targets.contains(&name) {
            self.targets.push(name);
        }
    }

    /// Drops unqualified relation names that are CTEs of the statement: they are not
    /// relations at the engine. (`ctes` are lower-case.)
    pub(crate) fn forget_ctes(&mut self, ctes: &[String]) {
        if ctes.is_empty() {
            return;
        }
        let is_cte = |name: &Name| {
            name.parts.len() == 1 && ctes.iter().any(|cte| cte.eq_ignore_ascii_case(name.last()))
        };
        self.relations.retain(|name| !is_cte(name));
        self.targets.retain(|name| !is_cte(name));
    }
}

/// The relations a write statement writes. Conservative: for `DELETE` every table named
/// before `USING` counts, and for a joined `UPDATE` every joined table.
pub(crate) fn write_targets(statement: &Statement) -> Vec<&ObjectName> {
    let mut targets = Vec::new();
    match statement {
        Statement::Insert(insert) => {
            if let TableObject::TableName(name) = &insert.table {
                targets.push(name);
            }
        }
        Statement::Update(update) => {
            joined(&update.table, &mut targets);
            // MySQL-style `UPDATE a, b SET …` parses the other tables as FROM before SET.
            if let Some(UpdateTableFromKind::BeforeSet(from)) = &update.from {
                for table in from {
                    joined(table, &mut targets);
                }
            }
        }
        Statement::Delete(delete) => {
            targets.extend(delete.tables.iter());
            let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
            for table in from {
                joined(table, &mut targets);
            }
        }
        Statement::Merge(merge) => factor(&merge.table, &mut targets),
        _ => {}
    }
    targets
}

fn joined<'a>(table: &'a TableWithJoins, out: &mut Vec<&'a ObjectName>) {
    factor(&table.relation, out);
    for join in &table.joins {
        factor(&join.relation, out);
    }
}

fn factor<'a>(factor: &'a TableFactor, out: &mut Vec<&'a ObjectName>) {
    if let TableFactor::Table { name, .. } = factor {
        out.push(name);
    }
}

/// Why writing `name` is refused: it is (literally) a system catalog of the dialect's
/// engines. The engine also resolves unqualified names through the session's search path
/// and current database; the host checks that resolution too.
pub(crate) fn system_target(name: &Name, dialect: Dialect) -> Option<&'static str> {
    let last = name.last();
    let schema = name
        .parts
        .len()
        .checked_sub(2)
        .map(|index| name.parts[index].value.as_str());
    let in_schema = |schemas: &[&str]| {
        schema.is_some_and(|schema| schemas.iter().any(|s| s.eq_ignore_ascii_case(schema)))
    };
    let is_system = match dialect {
        // pg_catalog comes first on every search path, and PostgreSQL reserves the pg_
        // prefix: an unqualified pg_… name is a catalog whenever one of that name exists.
        Dialect::PostgreSql | Dialect::Redshift => {
            in_schema(&["pg_catalog", "information_schema", "pg_toast"])
                || (schema.is_none() && starts_with(last, "pg_"))
                || schema.is_some_and(|schema| starts_with(schema, "pg_toast"))
        }
        Dialect::MySql => in_schema(&["mysql", "performance_schema", "sys", "information_schema"]),
        Dialect::Sqlite => [
            "sqlite_schema",
            "sqlite_master",
            "sqlite_temp_schema",
            "sqlite_temp_master",
        ]
        .iter()
        .any(|table| table.eq_ignore_ascii_case(last)),
        _ => in_schema(&["information_schema", "pg_catalog", "sys", "mysql"]),
    };
    is_system.then_some(
        "it writes a system catalog, which holds the engine's own schema, users and privileges; \
         no tier writes those (change them with the statements made for it, which need the ddl tier)",
    )
}

/// Case-insensitive ASCII prefix test that never splits a character.
fn starts_with(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}
