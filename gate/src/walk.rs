//! The verdict for a parsed statement: an exhaustive allow-list over statement kinds, plus a
//! walk over the whole tree for effects that hide inside queries and expressions.
//!
//! The walk also says what raised the tier when it was not the statement's own kind (a
//! `DELETE` in a CTE, `nextval()`, a locking clause), so messages can name it. Those words are
//! built only from statement kinds, function, relation and CTE names: never from literals,
//! which may hold secrets.

use std::borrow::Cow;
use std::ops::ControlFlow;

use sqlparser::ast::{
    DataType, Expr, Ident, ObjectName, ObjectNamePart, Query, Select, SetExpr, Statement,
    TableFactor, TableObject, Visit, Visitor,
};

use crate::enforced::Enforced;
use crate::functions;
use crate::labels::{refused_relation_label, statement_label};
use crate::names::{self, Name, Reach, TableRef};
use crate::reasons;
use crate::{Dialect, Rule, Tier};

/// What a parsed statement needs.
#[derive(Debug)]
pub(crate) struct Needs {
    pub tier: Tier,
    /// What inside the statement raised `tier` above what its own kind needs, as a phrase
    /// that follows the statement's label: ``contains a DELETE (in CTE `d`)``, `calls
    /// nextval()`. `None` when the statement's own kind decides the tier.
    pub cause: Option<String>,
    /// The names the engine must resolve.
    pub reach: Reach,
    /// The tables named where a table goes, with their aliases.
    pub tables: Vec<TableRef>,
}

/// The tier a parsed statement needs, or why it is refused.
pub(crate) fn statement_tier(
    statement: &Statement,
    dialect: Dialect,
    rules: Enforced<'_>,
) -> Result<Needs, Cow<'static, str>> {
    let mut walker = Walker {
        dialect,
        rules,
        tier: Tier::Read,
        cause: None,
        plain_explain_depth: 0,
        running_explain_depth: 0,
        statement_depth: 0,
        query_depth: 0,
        own_body: own_body(statement),
        root_is_query: matches!(statement, Statement::Query(_)),
        cte_bodies: Vec::new(),
        ctes: Vec::new(),
        reach: Reach::default(),
        cte_names: Vec::new(),
        tables: Vec::new(),
    };
    match statement.visit(&mut walker) {
        ControlFlow::Continue(()) => {
            let mut reach = walker.reach;
            reach.forget_ctes(&walker.cte_names);
            Ok(Needs {
                tier: walker.tier,
                cause: walker.cause,
                reach,
                tables: walker.tables,
            })
        }
        ControlFlow::Break(reason) => Err(reason),
    }
}

/// `WITH … DELETE` parses as a query whose body is the DELETE: that statement is the query
/// itself, not something nested in it.
fn own_body(statement: &Statement) -> Option<*const Statement> {
    match statement {
        Statement::Query(query) => match &*query.body {
            SetExpr::Insert(inner)
            | SetExpr::Update(inner)
            | SetExpr::Delete(inner)
            | SetExpr::Merge(inner) => Some(inner as *const Statement),
            _ => None,
        },
        _ => None,
    }
}

struct Walker<'a> {
    dialect: Dialect,
    /// The function and relation rules: the dialect's default and the engine's declared.
    rules: Enforced<'a>,
    tier: Tier,
    /// Why `tier` is above what the statement's own kind needs (see [`Needs::cause`]).
    cause: Option<String>,
    /// Inside a plain EXPLAIN nothing runs, so tiers found there do not count; refusals do,
    /// because refusing is always the safe side.
    plain_explain_depth: usize,
    /// Inside an EXPLAIN that runs its statement (messages say "runs" rather than "contains").
    running_explain_depth: usize,
    /// Statements entered and not yet left; 1 while in the top-level statement itself.
    statement_depth: usize,
    /// Queries entered and not yet left.
    query_depth: usize,
    /// See [`own_body`]. Only compared by address, never read through.
    own_body: Option<*const Statement>,
    /// The statement being classified is a query (its label is the query's, `SELECT INTO`).
    root_is_query: bool,
    /// CTE bodies of the queries entered, not yet reached: body address and CTE name.
    cte_bodies: Vec<(*const Query, Option<String>)>,
    /// CTE bodies being walked, innermost last: body address and CTE name.
    ctes: Vec<(*const Query, Option<String>)>,
    /// The names found so far.
    reach: Reach,
    /// Every CTE name the statement defines (a reference to one is not a relation).
    cte_names: Vec<String>,
    /// See [`Needs::tables`].
    tables: Vec<TableRef>,
}

impl Walker<'_> {
    /// Raises the tier for the statement's own kind: no cause to name.
    fn raise(&mut self, tier: Tier) {
        if self.plain_explain_depth == 0 {
            self.tier = self.tier.max(tier);
        }
    }

    /// Raises the tier for something inside the statement; `what` says what, and is only
    /// called when it raises the tier.
    fn raise_for(&mut self, tier: Tier, what: impl FnOnce(&Self) -> String) {
        if self.plain_explain_depth == 0 && tier > self.tier {
            self.tier = tier;
            let mut cause = what(self);
            cause.push_str(&self.place());
            self.cause = Some(cause);
        }
    }

    /// `` (in CTE `d`)`` inside a CTE, else nothing.
    fn place(&self) -> String {
        match self.ctes.last() {
            Some((_, Some(name))) => format!(" (in CTE `{name}`)"),
            Some((_, None)) => " (in a CTE)".to_owned(),
            None => String::new(),
        }
    }

    /// Whether `statement` is the statement being classified (its label already names it).
    fn is_own(&self, statement: &Statement) -> bool {
        self.statement_depth == 0
            || (self.statement_depth == 1
                && self.query_depth == 1
                && self.ctes.is_empty()
                && self
                    .own_body
                    .is_some_and(|body| std::ptr::eq(body, statement)))
    }

    /// `contains a DELETE`, or `runs a DELETE` under an EXPLAIN that runs it.
    fn nested(&self, label: &str) -> String {
        let verb = if self.running_explain_depth > 0 {
            "runs"
        } else {
            "contains"
        };
        let article = if label.starts_with(['A', 'E', 'I', 'O', 'U']) {
            "an"
        } else {
            "a"
        };
        format!("{verb} {article} {label}")
    }

    /// Notes a table reference. A name computed at run time is left out: the relation check
    /// refuses it.
    fn table(&mut self, name: &ObjectName, alias: Option<&Ident>) {
        if let Some(name) = Name::from_object(name) {
            let table = TableRef {
                name,
                alias: alias.map(|alias| alias.value.clone()),
            };
            if !self.tables.contains(&table) {
                self.tables.push(table);
            }
        }
    }

    fn function(&mut self, name: &ObjectName) -> ControlFlow<Cow<'static, str>> {
        let Some(last) = name.0.last() else {
            return ControlFlow::Continue(());
        };
        let ObjectNamePart::Identifier(ident) = last else {
            return ControlFlow::Break(Cow::Borrowed(
                "a function whose name is computed at run time cannot be checked",
            ));
        };
        match Name::from_object(name) {
            Some(name) => self.reach.add_function(name),
            None => {
                return ControlFlow::Break(Cow::Borrowed(
                    "a function whose name is computed at run time cannot be checked",
                ))
            }
        }
        let parts: Vec<&str> = name
            .0
            .iter()
            .filter_map(|part| part.as_ident().map(|ident| ident.value.as_str()))
            .collect();
        match self.rules.function(&parts) {
            None => ControlFlow::Continue(()),
            Some(Rule::Needs(tier)) => {
                self.raise_for(*tier, |_| format!("calls {}()", ident.value));
                ControlFlow::Continue(())
            }
            Some(Rule::Refused(reason)) => ControlFlow::Break(Cow::Owned(format!(
                "{}(){}: {reason}",
                ident.value,
                self.place()
            ))),
        }
    }
}

impl Visitor for Walker<'_> {
    type Break = Cow<'static, str>;

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<Self::Break> {
        let own = self.is_own(statement);
        match local_tier(statement) {
            Ok(tier) if own => self.raise(tier),
            Ok(tier) => self.raise_for(tier, |walker| walker.nested(&statement_label(statement))),
            Err(reason) if own => return ControlFlow::Break(reason),
            Err(reason) => {
                return ControlFlow::Break(Cow::Owned(format!(
                    "it {}{}, which is refused: {reason}",
                    self.nested(&statement_label(statement)),
                    self.place()
                )))
            }
        }
        if let Statement::Call(function) = statement {
            self.function(&function.name)?;
        }
        // The target of an INSERT is no table factor; the other writes' targets are.
        if let Statement::Insert(insert) = statement {
            if let TableObject::TableName(name) = &insert.table {
                self.table(name, insert.table_alias.as_ref().map(|alias| &alias.alias));
            }
        }
        for target in names::write_targets(statement) {
            let Some(name) = Name::from_object(target) else {
                return ControlFlow::Break(Cow::Borrowed(
                    "a table whose name is computed at run time cannot be checked",
                ));
            };
            if let Some(reason) = names::system_target(&name, self.dialect) {
                return ControlFlow::Break(Cow::Owned(format!(
                    "{}{}: {reason}",
                    refused_relation_label(
                        &name
                            .parts
                            .iter()
                            .map(|p| p.value.as_str())
                            .collect::<Vec<_>>()
                    ),
                    self.place()
                )));
            }
            self.reach.add_target(name);
        }
        if is_plain_explain(statement) {
            self.plain_explain_depth += 1;
        } else if matches!(statement, Statement::Explain { .. }) {
            self.running_explain_depth += 1;
        }
        self.statement_depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_statement(&mut self, statement: &Statement) -> ControlFlow<Self::Break> {
        if is_plain_explain(statement) {
            self.plain_explain_depth = self.plain_explain_depth.saturating_sub(1);
        } else if matches!(statement, Statement::Explain { .. }) {
            self.running_explain_depth = self.running_explain_depth.saturating_sub(1);
        }
        self.statement_depth = self.statement_depth.saturating_sub(1);
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Self::Break> {
        if let Some(at) = self
            .cte_bodies
            .iter()
            .rposition(|(body, _)| std::ptr::eq(*body, query))
        {
            let cte = self.cte_bodies.swap_remove(at);
            self.ctes.push(cte);
        }
        if let Some(with) = &query.with {
            self.cte_names.extend(
                with.cte_tables
                    .iter()
                    .map(|cte| cte.alias.name.value.to_ascii_lowercase()),
            );
            self.cte_bodies.extend(with.cte_tables.iter().map(|cte| {
                let name = &cte.alias.name.value;
                let printable =
                    name.len() <= 64 && !name.contains(|c: char| c == '`' || c.is_control());
                (&*cte.query as *const Query, printable.then(|| name.clone()))
            }));
        }
        self.query_depth += 1;
        // FOR UPDATE / FOR SHARE / FOR NO KEY UPDATE take row locks, which the read-only
        // transaction refuses in PostgreSQL and which block writers elsewhere.
        if !query.locks.is_empty() {
            self.raise_for(Tier::Write, |_| {
                "takes row locks with FOR UPDATE or FOR SHARE".to_owned()
            });
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &Query) -> ControlFlow<Self::Break> {
        if self
            .ctes
            .last()
            .is_some_and(|(body, _)| std::ptr::eq(*body, query))
        {
            self.ctes.pop();
        }
        self.query_depth = self.query_depth.saturating_sub(1);
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<Self::Break> {
        if select.into.is_some() {
            if self.dialect == Dialect::MySql {
                return ControlFlow::Break(Cow::Borrowed(reasons::MYSQL_SELECT_INTO));
            }
            // PostgreSQL (and the other dialects that accept it): SELECT … INTO creates a table.
            // In the top-level query the statement's label already says SELECT INTO.
            let top = self.root_is_query
                && self.statement_depth == 1
                && self.query_depth == 1
                && self.ctes.is_empty();
            self.raise_for(Tier::Ddl, |walker| {
                if top {
                    "creates a new table".to_owned()
                } else {
                    walker.nested("SELECT … INTO")
                }
            });
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Self::Break> {
        if let Expr::Function(function) = expr {
            self.function(&function.name)?;
        }
        if matches!(expr, Expr::BinaryOp { .. } | Expr::UnaryOp { .. })
            || matches!(
                expr,
                Expr::Cast {
                    data_type: DataType::Custom(..),
                    ..
                }
            )
        {
            self.reach.implicit = true;
        }
        // `'pg_stat_activity'::regclass` names a relation in a string: refused like the
        // relation itself.
        if let Expr::Cast {
            expr: inner,
            data_type,
            ..
        } = expr
        {
            if let (Expr::Value(value), true) = (
                &**inner,
                data_type.to_string().eq_ignore_ascii_case("regclass"),
            ) {
                if let Some(text) = value.value.clone().into_string() {
                    let parts: Vec<String> = text
                        .split('.')
                        .map(|part| part.trim().trim_matches('"').to_owned())
                        .collect();
                    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
                    if let Some(reason) = self.rules.relation(&parts) {
                        return ControlFlow::Break(Cow::Owned(format!(
                            "{} (named in a string){}: {reason}",
                            refused_relation_label(&parts),
                            self.place()
                        )));
                    }
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Self::Break> {
        match factor {
            // `FROM f(args)`: a table-valued function call.
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            }
            | TableFactor::Function { name, .. } => self.function(name),
            TableFactor::Table { name, alias, .. } => {
                self.table(name, alias.as_ref().map(|alias| &alias.name));
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<Self::Break> {
        let mut parts: [&str; 4] = [""; 4];
        let mut count = 0;
        for part in relation.0.iter().rev().take(4) {
            match part {
                ObjectNamePart::Identifier(ident) => {
                    parts[count] = ident.value.as_str();
                    count += 1;
                }
                ObjectNamePart::Function(_) => {
                    return ControlFlow::Break(Cow::Borrowed(
                        "a table whose name is computed at run time cannot be checked",
                    ))
                }
            }
        }
        if relation.0.iter().any(|part| {
            matches!(part, ObjectNamePart::Identifier(ident) if ident.quote_style == Some('\''))
        }) {
            self.reach.string_relations = true;
        }
        let parts = &mut parts[..count];
        parts.reverse();
        if let Some(name) = Name::from_object(relation) {
            self.reach.add_relation(name);
        }
        match self.rules.relation(parts) {
            Some(reason) => ControlFlow::Break(Cow::Owned(format!(
                "{}{}: {reason}",
                refused_relation_label(parts),
                self.place()
            ))),
            None => ControlFlow::Continue(()),
        }
    }
}

/// `EXPLAIN` without ANALYZE in any spelling: the statement is planned, not run.
fn is_plain_explain(statement: &Statement) -> bool {
    matches!(statement, Statement::Explain { .. }) && !explain_executes(statement)
}

/// `EXPLAIN (…)` options that never run the statement. Any other option, including
/// `ANALYZE`, its PostgreSQL spelling `ANALYSE`, `ANALYZE false`, and options this list does
/// not know, counts as running it: guessing wrong in that direction only asks for a higher
/// tier.
const PLAN_ONLY_OPTIONS: &[&str] = &[
    "verbose",
    "costs",
    "settings",
    "generic_plan",
    "buffers",
    "serialize",
    "wal",
    "timing",
    "summary",
    "memory",
    "format",
];

/// Whether an EXPLAIN runs its statement.
pub(crate) fn explain_executes(statement: &Statement) -> bool {
    match statement {
        Statement::Explain {
            analyze, options, ..
        } => {
            *analyze
                || options.as_ref().is_some_and(|options| {
                    options.iter().any(|option| {
                        !PLAN_ONLY_OPTIONS
                            .iter()
                            .any(|name| option.name.value.eq_ignore_ascii_case(name))
                    })
                })
        }
        _ => false,
    }
}

/// The tier of one statement node on its own, not counting what is nested inside it (the walk
/// adds that). Everything not listed is refused: the gate allows what it knows.
fn local_tier(statement: &Statement) -> Result<Tier, Cow<'static, str>> {
    use Statement as S;
    let tier = match statement {
        // Reads.
        S::Query(_)
        | S::ExplainTable { .. }
        | S::Explain { .. }
        | S::Assert { .. }
        | S::ShowFunctions { .. }
        | S::ShowStatus { .. }
        | S::ShowVariables { .. }
        | S::ShowCreate { .. }
        | S::ShowColumns { .. }
        | S::ShowCatalogs { .. }
        | S::ShowDatabases { .. }
        | S::ShowSchemas { .. }
        | S::ShowCharset(_)
        | S::ShowObjects(_)
        | S::ShowTables { .. }
        | S::ShowViews { .. }
        | S::ShowCollation { .. } => Tier::Read,
        S::ShowVariable { variable } => {
            let words = variable.iter().map(|ident| ident.value.as_str());
            if let Some(reason) = reasons::show_refusal(words) {
                return Err(Cow::Borrowed(reason));
            }
            Tier::Read
        }

        // Row changes.
        S::Insert(insert) => {
            if matches!(insert.table, TableObject::TableFunction(_)) {
                return Err(Cow::Borrowed(reasons::INSERT_INTO_FUNCTION));
            }
            Tier::Write
        }
        S::Update(_) | S::Delete(_) | S::Merge(_) => Tier::Write,

        // Schema and everything whose effect is not limited to rows.
        S::CreateVirtualTable { module_name, .. } => {
            if functions::is_file_module(&module_name.value) {
                return Err(Cow::Borrowed(reasons::FILE_MODULE));
            }
            Tier::Ddl
        }
        S::Analyze(_)
        | S::Truncate(_)
        | S::Msck(_)
        | S::Call(_)
        | S::CreateView(_)
        | S::CreateTable(_)
        | S::CreateIndex(_)
        | S::CreateRole(_)
        | S::CreateSecret { .. }
        | S::CreateServer(_)
        | S::CreatePolicy(_)
        | S::CreateConnector(_)
        | S::CreateOperator(_)
        | S::CreateOperatorFamily(_)
        | S::CreateOperatorClass(_)
        | S::CreateTextSearch(_)
        | S::AlterTable(_)
        | S::AlterSchema(_)
        | S::AlterIndex { .. }
        | S::AlterView { .. }
        | S::AlterFunction(_)
        | S::AlterType(_)
        | S::AlterCollation(_)
        | S::AlterOperator(_)
        | S::AlterOperatorFamily(_)
        | S::AlterOperatorClass(_)
        | S::AlterTextSearch(_)
        | S::AlterRole { .. }
        | S::AlterPolicy(_)
        | S::AlterConnector { .. }
        | S::Drop { .. }
        | S::DropFunction(_)
        | S::DropDomain(_)
        | S::DropProcedure { .. }
        | S::DropSecret { .. }
        | S::DropPolicy(_)
        | S::DropConnector { .. }
        | S::CreateExtension(_)
        | S::CreateCollation(_)
        | S::DropExtension(_)
        | S::DropOperator(_)
        | S::DropOperatorFamily(_)
        | S::DropOperatorClass(_)
        | S::Comment { .. }
        | S::CreateSchema { .. }
        | S::CreateDatabase { .. }
        | S::CreateFunction(_)
        | S::CreateTrigger(_)
        | S::DropTrigger(_)
        | S::CreateProcedure { .. }
        | S::CreateMacro { .. }
        | S::CreateStage { .. }
        | S::CreateFileFormat { .. }
        | S::CreateWarehouse(_)
        | S::Grant(_)
        | S::Deny(_)
        | S::Revoke(_)
        | S::CreateSequence { .. }
        | S::CreateDomain(_)
        | S::CreateType { .. }
        | S::OptimizeTable { .. }
        | S::RenameTable(_)
        | S::CreateUser(_)
        | S::AlterUser(_)
        | S::Vacuum(_) => Tier::Ddl,

        // Everything else, named where a specific reason helps.
        S::StartTransaction { .. }
        | S::Commit { .. }
        | S::Rollback { .. }
        | S::Savepoint { .. }
        | S::ReleaseSavepoint { .. } => return Err(Cow::Borrowed(reasons::TRANSACTION)),
        S::Set(set) => return Err(Cow::Borrowed(reasons::set_reason(set))),
        S::Reset(_) | S::AlterSession { .. } | S::Use(_) | S::Discard { .. } => {
            return Err(Cow::Borrowed(reasons::SESSION))
        }
        S::Prepare { .. } | S::Execute { .. } | S::Deallocate { .. } => {
            return Err(Cow::Borrowed(reasons::PREPARED))
        }
        S::Lock(_) | S::LockTables { .. } | S::UnlockTables => {
            return Err(Cow::Borrowed(reasons::LOCK))
        }
        S::LISTEN { .. } | S::UNLISTEN { .. } | S::NOTIFY { .. } => {
            return Err(Cow::Borrowed(reasons::NOTIFY))
        }
        S::Copy { .. }
        | S::CopyIntoSnowflake { .. }
        | S::LoadData { .. }
        | S::Directory { .. }
        | S::Unload { .. }
        | S::ExportData(_)
        | S::List(_)
        | S::Put { .. }
        | S::Remove(_) => return Err(Cow::Borrowed(reasons::FILES)),
        S::Load { .. } | S::Install { .. } => return Err(Cow::Borrowed(reasons::EXTENSION)),
        S::AttachDatabase { .. }
        | S::AttachDuckDBDatabase { .. }
        | S::DetachDuckDBDatabase { .. } => return Err(Cow::Borrowed(reasons::ATTACH)),
        S::Kill { .. } | S::Flush { .. } => return Err(Cow::Borrowed(reasons::SERVER)),
        S::ShowProcessList { .. } => return Err(Cow::Borrowed(reasons::PROCESSLIST)),
        S::Declare { .. } | S::Fetch { .. } | S::Open(_) | S::Close { .. } => {
            return Err(Cow::Borrowed(reasons::CURSOR))
        }
        S::Pragma { .. } => return Err(Cow::Borrowed(reasons::PRAGMA_SHAPE)),
        _ => return Err(Cow::Borrowed(reasons::UNKNOWN)),
    };
    Ok(tier)
}

/// The upper-case label of a parsed query: `SELECT`, `VALUES`, `WITH … DELETE`, …
pub(crate) fn query_kind(query: &Query) -> String {
    // Iterative, so a long UNION chain cannot exhaust the stack.
    let mut body: &SetExpr = &query.body;
    let mut with = query.with.is_some();
    let label = loop {
        match body {
            SetExpr::Select(select) => {
                break if select.into.is_some() {
                    "SELECT INTO"
                } else {
                    "SELECT"
                }
            }
            SetExpr::Query(inner) => {
                with |= inner.with.is_some();
                body = &inner.body;
            }
            SetExpr::SetOperation { left, .. } => body = left,
            SetExpr::Values(_) => break "VALUES",
            SetExpr::Insert(Statement::Insert(insert)) if insert.replace_into => break "REPLACE",
            SetExpr::Insert(_) => break "INSERT",
            SetExpr::Update(_) => break "UPDATE",
            SetExpr::Delete(_) => break "DELETE",
            SetExpr::Merge(_) => break "MERGE",
            SetExpr::Table(_) => break "TABLE",
        }
    };
    if with {
        format!("WITH … {label}")
    } else {
        label.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::parse_postgres as parse;

    #[test]
    fn unprintable_cte_names_are_not_repeated() {
        let none = crate::Policy::default();
        let rules = Enforced::new(Dialect::PostgreSql, &none);
        let needs = |sql: &str| statement_tier(&parse(sql), Dialect::PostgreSql, rules).unwrap();
        let long = "n".repeat(65);
        let needs_long = needs(&format!(
            "WITH {long} AS (DELETE FROM t RETURNING *) SELECT * FROM {long}"
        ));
        assert_eq!(
            needs_long.cause.as_deref(),
            Some("contains a DELETE (in a CTE)")
        );
        let needs_tick = needs("WITH \"a`b\" AS (DELETE FROM t RETURNING *) SELECT 1");
        assert_eq!(
            needs_tick.cause.as_deref(),
            Some("contains a DELETE (in a CTE)")
        );
        let needs_ok = needs("WITH \"a b\" AS (DELETE FROM t RETURNING *) SELECT 1");
        assert_eq!(
            needs_ok.cause.as_deref(),
            Some("contains a DELETE (in CTE `a b`)")
        );
    }
}
