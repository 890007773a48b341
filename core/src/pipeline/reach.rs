//! The reach check: what a call's names stand for at the engine, vetted before anything runs.
//!
//! The gate reads SQL text; it cannot see that `f(x)` is a user function that runs SQL of its
//! own, that `v` is a view over a relation the gate refuses, or that an INSERT fires a
//! trigger. The plugin resolves the names in the session that will run them
//! ([`plenum_plugin_api::reach`]) and this module decides, with no engine names:
//!
//! * a write whose target resolves to a system catalog is refused, on every login;
//! * a relation that resolves to one the gate refuses by name is refused;
//! * a view's definition is vetted by the gate as if the statement contained it (views of
//!   views too, a few levels deep), so a view cannot hide a refused function or relation;
//! * a built-in the engine reports but the gate has not classified (a newer server's) is
//!   refused;
//! * user code (user functions, trigger functions, rules, policies, defaults, user casts and
//!   operators, `DO` blocks) is refused when the login could escape the session through it
//!   (superuser, server-file and program roles, MySQL FILE/SUPER, …), and, in a session
//!   opened above read, when a read statement reaches it (the engine cannot lower one
//!   statement's mode) — unless the human named it in the saved connection's
//!   `allowed_routines`.
//!
//! Anything that cannot be resolved is refused.

use std::collections::BTreeSet;

use plenum_gate::{Dialect, Name, Policy, Statement, Tier};
use plenum_plugin_api::{
    AccessMode, ConnectionBox, ErrorKind, PluginError, ReachReport, ReachRequest, Routine, SqlName,
};
use serde::Serialize;

use crate::services::error::Failure;

/// Levels of views inside views that are followed; deeper nesting is refused.
const MAX_VIEW_DEPTH: usize = 4;

/// Vets what `statements` reach at the engine; `Ok` means they may run. `allowed` is the
/// human's list of user routines (`schema.name` or `name`, case-insensitive).
pub fn vet(
    connection: &mut ConnectionBox,
    statements: &[Statement],
    dialect: Dialect,
    policy: &Policy,
    access: AccessMode,
    allowed: &[String],
) -> Result<(), Failure> {
    if statements
        .iter()
        .all(|statement| statement.reach.is_empty())
    {
        return Ok(());
    }
    let request = request_for(statements.iter().map(|statement| &statement.reach));
    let report = match connection.reach(&request).into_result() {
        Ok(report) => report,
        Err(error) if error.kind == ErrorKind::Unsupported => {
            return unresolvable(statements, dialect);
        }
        Err(error) => return Err(Failure::from_plugin(error)),
    };
    let vetter = Vetter {
        dialect,
        policy,
        access,
        allowed,
        privileged: report.privileged(),
        powers: power_words(&report),
    };
    for (index, statement) in statements.iter().enumerate() {
        let at = Place::Statement {
            index: index + 1,
            kind: &statement.kind,
        };
        vetter.statement(&at, statement, &report)?;
    }
    vetter.views(connection, statements, &report)?;
    vetter.ambient(&report)
}

/// Without a plugin that resolves names, functions the gate does not know as built-ins, and
/// code it cannot read, are refused: nothing says they are not user code with powers.
fn unresolvable(statements: &[Statement], dialect: Dialect) -> Result<(), Failure> {
    for (index, statement) in statements.iter().enumerate() {
        if statement.reach.opaque_code {
            return Err(Failure::capability(format!(
                "statement {} ({}) runs code the gate cannot read, and this plugin cannot say \
                 whether the login could act outside the session through it",
                index + 1,
                statement.kind
            )));
        }
        for function in &statement.reach.functions {
            if plenum_gate::function_is_classified(function.last(), dialect) == Some(false) {
                return Err(Failure::capability(format!(
                    "statement {} ({}) calls {}(), which is not a built-in the gate knows, and \
                     this plugin cannot resolve it at the engine",
                    index + 1,
                    statement.kind,
                    function.dotted()
                )));
            }
        }
    }
    Ok(())
}

fn sql_name(name: &Name) -> SqlName {
    SqlName {
        parts: name
            .parts
            .iter()
            .map(|part| part.value.as_str().into())
            .collect(),
        quoted: name.parts.iter().map(|part| part.quoted).collect(),
    }
}

fn request_for<'a>(reaches: impl Iterator<Item = &'a plenum_gate::Reach>) -> ReachRequest {
    let mut functions = BTreeSet::new();
    let mut relations = BTreeSet::new();
    let mut targets = BTreeSet::new();
    for reach in reaches {
        functions.extend(reach.functions.iter().map(sql_name));
        relations.extend(reach.relations.iter().map(sql_name));
        targets.extend(reach.targets.iter().map(sql_name));
    }
    ReachRequest {
        functions: functions.into_iter().collect(),
        relations: relations.into_iter().collect(),
        targets: targets.into_iter().collect(),
    }
}

/// Where a refusal is: `statement 2 (SELECT)`, or `the view public.v`.
enum Place<'a> {
    Statement { index: usize, kind: &'a str },
    View(&'a str),
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Statement { index, kind } => write!(f, "statement {index} ({kind})"),
            Place::View(view) => write!(f, "the view {view}"),
        }
    }
}

struct Vetter<'a> {
    dialect: Dialect,
    /// The engine's declared policy, applied to view definitions as to statements.
    policy: &'a Policy,
    access: AccessMode,
    allowed: &'a [String],
    privileged: bool,
    /// The powers that make the login privileged, for messages.
    powers: String,
}

fn power_words(report: &ReachReport) -> String {
    let words: Vec<&str> = report
        .powers
        .iter()
        .filter(|power| power.escapes)
        .map(|power| power.power.as_str())
        .collect();
    words.join(", ")
}

impl Vetter<'_> {
    fn is_allowed(&self, routine: &Routine) -> bool {
        let dotted = routine.dotted();
        self.allowed.iter().any(|entry| {
            entry.eq_ignore_ascii_case(&dotted) || entry.eq_ignore_ascii_case(&routine.name)
        })
    }

    /// Why user code reached from a statement of tier `tier` may not run, if it may not.
    fn user_code_refusal(&self, tier: Tier) -> Option<String> {
        if self.privileged {
            return Some(format!(
                "the login has powers beyond the tiers ({}), so code the gate cannot read could \
                 act outside the session; a human may allow a routine by naming it in the saved \
                 connection's allowed_routines",
                self.powers
            ));
        }
        if tier == Tier::Read && self.access != AccessMode::Read {
            return Some(
                "the call runs in a session opened for writing, where a read statement's user \
                 code would run with the write tier's powers; run the read in a call of its \
                 own"
                .to_owned(),
            );
        }
        None
    }

    fn refuse_user_code(
        &self,
        at: &Place<'_>,
        tier: Tier,
        routine: &Routine,
        how: &str,
    ) -> Result<(), Failure> {
        if routine.system || self.is_allowed(routine) {
            return Ok(());
        }
        match self.user_code_refusal(tier) {
            Some(why) => Err(Failure::capability(format!(
                "{at} {how} {}, which is user code: {why}",
                routine.dotted()
            ))),
            None => Ok(()),
        }
    }

    fn statement(
        &self,
        at: &Place<'_>,
        statement: &Statement,
        report: &ReachReport,
    ) -> Result<(), Failure> {
        let reach = &statement.reach;
        if reach.opaque_code && self.privileged {
            return Err(Failure::capability(format!(
                "{at} runs code the gate cannot read, and the login has powers beyond the tiers \
                 ({}) that such code could use outside the session",
                self.powers
            )));
        }
        for name in &reach.functions {
            let asked = sql_name(name);
            let Some(resolved) = report.functions.iter().find(|f| f.name == asked) else {
                return Err(Failure::capability(format!(
                    "{at} calls {}(), which the plugin did not resolve",
                    name.dotted()
                )));
            };
            for routine in resolved.routines.iter() {
                if routine.system
                    && plenum_gate::function_is_classified(&routine.name, self.dialect)
                        == Some(false)
                {
                    return Err(Failure::capability(format!(
                        "{at} calls {}(), a built-in of this server that the gate has not \
                         classified (a newer server version's); it is refused until the gate \
                         knows what it does",
                        routine.dotted()
                    )));
                }
                self.refuse_user_code(at, statement.tier, routine, "calls")?;
            }
        }
        for name in reach.relations.iter().chain(reach.targets.iter()) {
            let asked = sql_name(name);
            let is_target = reach.targets.contains(name);
            let Some(resolved) = report.relations.iter().find(|r| r.name == asked) else {
                return Err(Failure::capability(format!(
                    "{at} uses {}, which the plugin did not resolve",
                    name.dotted()
                )));
            };
            if let Some(schema) = resolved.schema.as_ref().into_option() {
                let parts = [schema.as_str(), name.last()];
                if let Some(reason) =
                    plenum_gate::relation_refusal_with(&parts, self.dialect, self.policy)
                {
                    return Err(Failure::capability(format!(
                        "{at} reads {}.{}: {reason}",
                        schema,
                        name.last()
                    )));
                }
                if is_target && resolved.system {
                    return Err(Failure::capability(format!(
                        "{at} writes {}.{}, a system catalog, which holds the engine's own \
                         schema, users and privileges; no tier writes those",
                        schema,
                        name.last()
                    )));
                }
            }
            let how = if is_target { "fires" } else { "reads through" };
            for routine in resolved.fires.iter() {
                self.refuse_user_code(at, statement.tier, routine, how)?;
            }
        }
        Ok(())
    }

    /// Vets view definitions, and the views and functions they use, level by level.
    fn views(
        &self,
        connection: &mut ConnectionBox,
        statements: &[Statement],
        report: &ReachReport,
    ) -> Result<(), Failure> {
        // The tier each statement reading a view runs at: the lowest reader decides.
        let reader_tier = statements
            .iter()
            .map(|statement| statement.tier)
            .min()
            .unwrap_or(Tier::Read);
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let targets: Vec<SqlName> = statements
            .iter()
            .flat_map(|statement| statement.reach.targets.iter().map(sql_name))
            .collect();
        let mut pending = definitions(report, &mut seen, &targets);
        let mut depth = 0;
        while !pending.is_empty() {
            depth += 1;
            if depth > MAX_VIEW_DEPTH {
                return Err(Failure::capability(format!(
                    "views are nested more than {MAX_VIEW_DEPTH} levels deep; the gate does not \
                     follow them further"
                )));
            }
            let mut inner = Vec::new();
            for (view, definition, written) in &pending {
                let refused = |error: plenum_gate::GateError| {
                    Failure::capability(format!(
                        "the view {view} is refused; in its definition: {error}"
                    ))
                };
                let vetted = match plenum_gate::classify_with(definition, self.dialect, self.policy)
                {
                    Ok(vetted) => vetted,
                    // The engine's own text of the view, in a shape the parser does not
                    // read: its names are still vetted, token by token.
                    Err(plenum_gate::GateError::Parse { .. }) => {
                        let reach = plenum_gate::scan(definition, self.dialect).map_err(refused)?;
                        let mut statement = Statement {
                            sql: String::new(),
                            kind: "VIEW".to_owned(),
                            tier: Tier::Read,
                            cause: None,
                            reach,
                            tables: Vec::new(),
                            line: 1,
                            column: 1,
                            parameters: 0,
                        };
                        self.policy.apply(1, &mut statement).map_err(refused)?;
                        vec![statement]
                    }
                    Err(error) => return Err(refused(error)),
                };
                for statement in &vetted {
                    if statement.tier > reader_tier {
                        return Err(Failure::capability(format!(
                            "the view {view} {}, which a read does not allow",
                            statement
                                .cause
                                .clone()
                                .unwrap_or_else(|| format!("runs a {}", statement.kind))
                        )));
                    }
                }
                for mut statement in vetted {
                    // Writing through an updatable view writes its base relations: they are
                    // targets too (a view over a catalog is a catalog target).
                    if *written {
                        statement.reach.targets = statement.reach.relations.clone();
                    }
                    inner.push((view.clone(), statement));
                }
            }
            let request = request_for(inner.iter().map(|(_, statement)| &statement.reach));
            if request.is_empty() {
                break;
            }
            let report = connection
                .reach(&request)
                .into_result()
                .map_err(Failure::from_plugin)?;
            for (view, statement) in &inner {
                let at = Place::View(view);
                let mut as_read = statement.clone();
                as_read.tier = reader_tier;
                self.statement(&at, &as_read, &report)?;
            }
            pending = definitions(&report, &mut seen, &request.targets);
        }
        Ok(())
    }

    fn ambient(&self, report: &ReachReport) -> Result<(), Failure> {
        for routine in report.ambient.iter() {
            if !routine.system && !self.is_allowed(routine) && self.privileged {
                return Err(Failure::capability(format!(
                    "the database defines {}, user code that statements run without naming it \
                     (a cast, operator or event trigger); {}",
                    routine.dotted(),
                    self.user_code_refusal(Tier::Read).unwrap_or_default()
                )));
            }
        }
        Ok(())
    }
}

/// The view definitions of `report` not vetted yet: (view name, definition, whether the
/// call writes through the view). Views in the engine's system schemas are the engine's own:
/// the gate's relation lists vet them by name.
fn definitions(
    report: &ReachReport,
    seen: &mut BTreeSet<String>,
    targets: &[SqlName],
) -> Vec<(String, String, bool)> {
    report
        .relations
        .iter()
        .filter(|relation| !relation.system)
        .filter_map(|relation| {
            let definition = relation.view_definition.as_ref().into_option()?;
            let name = match relation.schema.as_ref().into_option() {
                Some(schema) => format!("{}.{}", schema, relation.name.last()),
                None => relation.name.dotted(),
            };
            let written = targets.contains(&relation.name);
            seen.insert(name.to_ascii_lowercase())
                .then(|| (name, definition.to_string(), written))
        })
        .collect()
}

/// What a login can do beyond the tiers' assumptions (`connect --test`).
#[derive(Debug, Serialize)]
pub struct LoginReport {
    /// The login as the engine names it.
    pub user: String,
    /// Some power lets code the gate cannot read act outside the session.
    pub privileged: bool,
    /// Each power and what it means.
    pub powers: Vec<PowerOut>,
    /// What that means for each tier.
    pub tiers: TiersOut,
}

/// One power of a login.
#[derive(Debug, Serialize)]
pub struct PowerOut {
    /// Short words for it.
    pub power: String,
    /// What it means, one sentence.
    pub meaning: String,
    /// Code the gate cannot read could use it outside the session.
    pub escapes: bool,
}

/// What a login's powers mean per tier.
#[derive(Debug, Serialize)]
pub struct TiersOut {
    /// The read tier.
    pub read: &'static str,
    /// The write tier.
    pub write: &'static str,
    /// The ddl tier.
    pub ddl: &'static str,
}

/// The login's powers, from the plugin's reach call with no names; `None` when the plugin
/// cannot say.
pub fn login_report(connection: &mut ConnectionBox) -> Result<Option<LoginReport>, PluginError> {
    let report = match connection.reach(&ReachRequest::default()).into_result() {
        Ok(report) => report,
        Err(error) if error.kind == ErrorKind::Unsupported => return Ok(None),
        Err(error) => return Err(error),
    };
    let privileged = report.privileged();
    let tiers = if privileged {
        TiersOut {
            read:
                "reads only; user functions, DO blocks and views or triggers that reach them are \
                   refused (the engine's read-only transaction does not stop this login's code \
                   from acting outside the session), unless named in allowed_routines",
            write: "changes rows; the same user code is refused, and the engine fence rolls back \
                    any schema or catalog change",
            ddl: "changes the schema, as this login may; the same user code is refused",
        }
    } else {
        TiersOut {
            read: "reads only: the engine's read-only session and the login's privileges stop \
                   anything user code would change",
            write: "changes rows only: the engine fence rolls back any schema or catalog change \
                    that functions or triggers make",
            ddl: "changes the schema, within the login's privileges",
        }
    };
    Ok(Some(LoginReport {
        user: report.login.to_string(),
        privileged,
        powers: report
            .powers
            .iter()
            .map(|power| PowerOut {
                power: power.power.to_string(),
                meaning: power.meaning.to_string(),
                escapes: power.escapes,
            })
            .collect(),
        tiers,
    }))
}
