//! What a call's names resolve to in this session (plugin API 1.2), the login's powers, and
//! the write tier's engine fence. Catalog reads only, every name bound as a parameter.
//!
//! Judgements made here (the host decides with them):
//! * a routine is `system` when it lives in `pg_catalog` or `information_schema`, or belongs
//!   to an extension installed from the server's packages that cannot reach past the
//!   session; members of extensions that can (`OUTREACHING_EXTENSIONS`, below) are user code;
//! * a login "escapes" when code it runs could act outside the session: superuser,
//!   CREATEROLE (it can grant itself the server-file roles), REPLICATION, membership in
//!   `pg_execute_server_program`, `pg_read_server_files`, `pg_write_server_files`,
//!   `pg_signal_backend`, or in a superuser role.

use plenum_plugin_api::abi_stable::std_types::{ROption, RString, RVec};
use plenum_plugin_api::{
    AccessMode, FenceOutcome, LoginPower, PluginError, PluginResult, ReachReport, ReachRequest,
    ResolvedFunction, ResolvedRelation, Routine, SqlName,
};
use postgres::GenericClient;

use crate::errors::query_error;
use crate::prepared::{Prepared, QueryOneError};
use crate::reach_cache::{Answer, Question, Validity};

/// Extensions whose functions reach past the session (other connections, server files, raw
/// storage, the WAL) or run SQL text: their members are reported as user code.
const OUTREACHING_EXTENSIONS: &[&str] = &[
    "dblink",
    "adminpack",
    "file_fdw",
    "postgres_fdw",
    "lo",
    "pg_surgery",
    "pg_visibility",
    "pg_prewarm",
    "pg_walinspect",
    "pageinspect",
    "tablefunc",
    "xml2",
];

/// The SQL condition "routine `p` in namespace `n` is the server's own".
///
/// [`OUTREACHING_EXTENSIONS`] is written into the text (fixed lower-case identifiers, no
/// input) rather than bound: a statement without parameters is planned once per session, one
/// with them on every call.
fn system_routine() -> String {
    let extensions = OUTREACHING_EXTENSIONS.join(",");
    format!(
        "(n.nspname IN ('pg_catalog', 'information_schema') OR EXISTS ( \
           SELECT 1 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid \
            WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid \
              AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e' \
              AND e.extname <> ALL('{{{extensions}}}'::text[])))"
    )
}

/// A name part as PostgreSQL reads it: unquoted identifiers fold to lower case.
fn folded(name: &SqlName, index: usize) -> Option<String> {
    let part = name.parts.get(index)?;
    let quoted = name.quoted.get(index).copied().unwrap_or(false);
    Some(if quoted {
        part.to_string()
    } else {
        part.as_str().to_lowercase()
    })
}

/// `(schema, name)` of a name: the last two parts (a leading database part is ignored).
fn schema_and_name(name: &SqlName) -> (Option<String>, String) {
    let count = name.parts.len();
    let object = count
        .checked_sub(1)
        .and_then(|last| folded(name, last))
        .unwrap_or_default();
    let schema = count.checked_sub(2).and_then(|index| folded(name, index));
    (schema, object)
}

fn one_row_error(error: QueryOneError) -> PluginError {
    match error {
        QueryOneError::Server(error) => query_error(&error),
        QueryOneError::NotOneRow => PluginError::internal("the login's catalog row is missing"),
    }
}

fn text(row: &postgres::Row, index: usize) -> PluginResult<String> {
    row.try_get::<_, Option<String>>(index)
        .map(Option::unwrap_or_default)
        .map_err(|e| PluginError::internal(format!("unexpected catalog column: {e}")))
}

fn flag(row: &postgres::Row, index: usize) -> PluginResult<bool> {
    row.try_get::<_, Option<bool>>(index)
        .map(|value| value.unwrap_or(false))
        .map_err(|e| PluginError::internal(format!("unexpected catalog column: {e}")))
}

fn index_of(row: &postgres::Row) -> PluginResult<usize> {
    let index: i64 = row
        .try_get(0)
        .map_err(|e| PluginError::internal(format!("unexpected catalog column: {e}")))?;
    usize::try_from(index - 1).map_err(|_| PluginError::internal("bad ordinality"))
}

/// Answers a [`ReachRequest`] for a session opened in `access` mode.
///
/// What each name fires, and user code reached without a name, matter only where the host
/// refuses user code: on a login whose powers let it escape, and for read statements in a
/// session opened for writing. Elsewhere those lookups (the costliest) are skipped.
pub async fn reach(
    client: &mut impl GenericClient,
    prepared: &mut Prepared,
    request: &ReachRequest,
    access: AccessMode,
) -> PluginResult<ReachReport> {
    let (login, powers, validity) = powers(client, prepared, request.is_empty()).await?;
    let escapes = powers.iter().any(|power| power.escapes);
    let with_fires = escapes || access != AccessMode::Read;
    // Kept answers serve read sessions only (see `reach_cache`).
    let validity = validity.filter(|_| access == AccessMode::Read);
    let question = Question::new(request, with_fires, escapes);
    if let Some(answer) = validity
        .as_ref()
        .and_then(|now| prepared.answers.get(now, &question))
    {
        return Ok(ReachReport {
            login: login.into(),
            powers,
            functions: answer.functions,
            relations: answer.relations,
            ambient: answer.ambient,
        });
    }
    let functions = functions(client, prepared, &request.functions).await?;
    let mut names: Vec<(SqlName, bool)> = request
        .relations
        .iter()
        .map(|name| (name.clone(), request.targets.contains(name)))
        .collect();
    for target in request.targets.iter() {
        if !request.relations.contains(target) {
            names.push((target.clone(), true));
        }
    }
    let relations = relations(client, prepared, &names, with_fires).await?;
    // User code reached without a name matters only where user code is refused: on a login
    // whose powers let it escape (the host checks nothing else against it). Asked also for
    // calls that name nothing but apply an operator or a cast.
    let ambient = if escapes {
        ambient(client, prepared).await?
    } else {
        RVec::new()
    };
    if let Some(now) = validity {
        prepared.answers.put(
            now,
            question,
            Answer {
                functions: functions.clone(),
                relations: relations.clone(),
                ambient: ambient.clone(),
            },
        );
    }
    Ok(ReachReport {
        login: login.into(),
        powers,
        functions,
        relations,
        ambient,
    })
}

fn power(power: &str, meaning: &str, escapes: bool) -> LoginPower {
    LoginPower {
        power: power.into(),
        meaning: meaning.into(),
        escapes,
    }
}

/// The login and what it can do beyond the tiers' assumptions. The powers that do not let
/// code escape (schemas it owns, roles it may switch to) are looked up only when `detailed`
/// (the login report): a call needs only the others. Also what kept reach answers must match
/// to be reused ([`Validity`]), unless the transaction has written something.
async fn powers(
    client: &mut impl GenericClient,
    prepared: &mut Prepared,
    detailed: bool,
) -> PluginResult<(String, RVec<LoginPower>, Option<Validity>)> {
    // Two statements rather than one with `detailed` bound: see `system_routine`.
    let (name, detailed) = if detailed {
        ("powers_detailed", "true")
    } else {
        ("powers", "false")
    };
    let row = prepared
        .query_one(
            client,
            name,
            || {
                format!("SELECT current_user::text, r.rolsuper, r.rolcreaterole, r.rolcreatedb, \
                    r.rolreplication, r.rolbypassrls, \
                    pg_catalog.pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER'), \
                    pg_catalog.pg_has_role(current_user, 'pg_read_server_files', 'MEMBER'), \
                    pg_catalog.pg_has_role(current_user, 'pg_write_server_files', 'MEMBER'), \
                    pg_catalog.pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'), \
                    pg_catalog.pg_has_role(current_user, 'pg_read_all_data', 'MEMBER'), \
                    pg_catalog.pg_has_role(current_user, 'pg_write_all_data', 'MEMBER'), \
                    pg_catalog.has_database_privilege(current_database(), 'CREATE'), \
                    CASE WHEN {detailed} THEN (SELECT pg_catalog.string_agg(quote_ident(s.nspname), ', ' \
                       ORDER BY s.nspname) FROM pg_catalog.pg_namespace s WHERE s.nspowner = r.oid \
                        AND s.nspname NOT LIKE 'pg\\_%' AND s.nspname <> 'information_schema') END, \
                    CASE WHEN {detailed} THEN (SELECT pg_catalog.string_agg(quote_ident(b.rolname), ', ' \
                       ORDER BY b.rolname) FROM pg_catalog.pg_roles b WHERE b.oid <> r.oid \
                        AND b.rolname NOT LIKE 'pg\\_%' \
                        AND pg_catalog.pg_has_role(current_user, b.oid, 'MEMBER')) END, \
                    EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m \
                        JOIN pg_catalog.pg_roles b ON b.oid = m.roleid \
                       WHERE b.rolsuper AND b.oid <> r.oid \
                         AND pg_catalog.pg_has_role(current_user, b.oid, 'MEMBER')), \
                    pg_catalog.pg_current_snapshot()::text, \
                    pg_catalog.current_setting('search_path'), \
                    pg_catalog.pg_my_temp_schema()::text, \
                    pg_catalog.pg_current_xact_id_if_assigned() IS NOT NULL \
               FROM pg_catalog.pg_roles r WHERE r.rolname = current_user")
            },
            &[],
        ).await
        .map_err(one_row_error)?;
    let login = text(&row, 0)?;
    let validity = if flag(&row, 19)? {
        None
    } else {
        Some(Validity {
            snapshot: text(&row, 16)?,
            login: login.clone(),
            search_path: text(&row, 17)?,
            temp_schema: text(&row, 18)?,
        })
    };
    let superuser = flag(&row, 1)?;
    let mut powers = RVec::new();
    if superuser {
        powers.push(power(
            "superuser",
            "it bypasses every privilege check: through code the gate cannot read it can run \
             programs on the server (COPY … TO PROGRAM), read and write server files and \
             change any role",
            true,
        ));
    } else {
        if flag(&row, 2)? {
            powers.push(power(
                "CREATEROLE",
                "it can create roles and grant itself roles that run programs or touch \
                 server files",
                true,
            ));
        }
        if flag(&row, 4)? {
            powers.push(power(
                "REPLICATION",
                "it can create and consume replication slots, which outlive the session",
                true,
            ));
        }
        for (index, role, meaning) in [
            (
                6,
                "pg_execute_server_program",
                "it can run programs on the database server (COPY … TO PROGRAM)",
            ),
            (
                7,
                "pg_read_server_files",
                "it can read any file the server can (COPY … FROM a file, pg_read_file)",
            ),
            (
                8,
                "pg_write_server_files",
                "it can write files on the database server (COPY … TO a file)",
            ),
            (
                9,
                "pg_signal_backend",
                "it can cancel and terminate other sessions",
            ),
        ] {
            if flag(&row, index)? {
                powers.push(power(&format!("member of {role}"), meaning, true));
            }
        }
        if flag(&row, 15)? {
            powers.push(power(
                "member of a superuser role",
                "it can SET ROLE to a superuser",
                true,
            ));
        }
        if flag(&row, 3)? {
            powers.push(power("CREATEDB", "it can create databases", false));
        }
        if flag(&row, 5)? {
            powers.push(power(
                "BYPASSRLS",
                "row-level security policies do not limit what it reads",
                false,
            ));
        }
        if flag(&row, 10)? {
            powers.push(power(
                "member of pg_read_all_data",
                "it can read every table, whatever the grants",
                false,
            ));
        }
        if flag(&row, 11)? {
            powers.push(power(
                "member of pg_write_all_data",
                "it can write every table, whatever the grants",
                false,
            ));
        }
    }
    if !superuser {
        if flag(&row, 12)? {
            powers.push(power(
                "CREATE on the database",
                "it can create schemas, so with the ddl tier it can add code of its own",
                false,
            ));
        }
        let owned = text(&row, 13)?;
        if !owned.is_empty() {
            powers.push(power(
                &format!("owns schema {owned}"),
                "it can create and replace tables and functions there with the ddl tier, and \
                 grant them to others",
                false,
            ));
        }
        let roles = text(&row, 14)?;
        if !roles.is_empty() {
            powers.push(power(
                &format!("may SET ROLE to {roles}"),
                "it holds those roles' privileges too",
                false,
            ));
        }
    }
    Ok((login, powers, validity))
}

async fn functions(
    client: &mut impl GenericClient,
    prepared: &mut Prepared,
    names: &[SqlName],
) -> PluginResult<RVec<ResolvedFunction>> {
    let mut resolved: Vec<ResolvedFunction> = names
        .iter()
        .map(|name| ResolvedFunction {
            name: name.clone(),
            routines: RVec::new(),
        })
        .collect();
    if names.is_empty() {
        return Ok(resolved.into());
    }
    let (schemas, objects): (Vec<Option<String>>, Vec<String>) =
        names.iter().map(schema_and_name).unzip();
    // Unqualified names are looked up where the session's search path looks (pg_catalog
    // included); every overload counts, since the engine picks one by argument types.
    let sql = || {
        let system = system_routine();
        format!(
            "SELECT q.i, n.nspname::text, p.proname::text, {system} \
               FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(schema, name, i) \
               JOIN pg_catalog.pg_proc p ON p.proname = q.name \
               JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
              WHERE (q.schema IS NULL AND n.nspname = ANY (pg_catalog.current_schemas(true))) \
                 OR n.nspname = q.schema"
        )
    };
    let rows = prepared
        .query(client, "functions", sql, &[&schemas, &objects])
        .await
        .map_err(|e| query_error(&e))?;
    for row in rows {
        let index = index_of(&row)?;
        if let Some(entry) = resolved.get_mut(index) {
            entry.routines.push(Routine {
                schema: text(&row, 1)?.into(),
                name: text(&row, 2)?.into(),
                system: flag(&row, 3)?,
            });
        }
    }
    Ok(resolved.into())
}

async fn relations(
    client: &mut impl GenericClient,
    prepared: &mut Prepared,
    names: &[(SqlName, bool)],
    with_fires: bool,
) -> PluginResult<RVec<ResolvedRelation>> {
    let mut resolved: Vec<ResolvedRelation> = names
        .iter()
        .map(|(name, _)| ResolvedRelation {
            name: name.clone(),
            schema: ROption::RNone,
            system: false,
            view_definition: ROption::RNone,
            fires: RVec::new(),
        })
        .collect();
    if names.is_empty() {
        return Ok(resolved.into());
    }
    let (schemas, objects): (Vec<Option<String>>, Vec<String>) =
        names.iter().map(|(name, _)| schema_and_name(name)).unzip();
    let targets: Vec<bool> = names.iter().map(|(_, target)| *target).collect();
    // to_regclass resolves as the engine will: the search path, pg_temp first.
    let rows = prepared
        .query(
            client,
            "relations",
            || {
                "SELECT q.i, n.nspname::text, \
                    (n.nspname IN ('pg_catalog', 'information_schema') \
                     OR n.nspname LIKE 'pg\\_toast%'), \
                    CASE WHEN c.relkind = 'v' THEN pg_catalog.pg_get_viewdef(c.oid) END, \
                    c.oid \
               FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(schema, name, i) \
               JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass( \
                    CASE WHEN q.schema IS NULL THEN pg_catalog.quote_ident(q.name) \
                         ELSE pg_catalog.quote_ident(q.schema) || '.' \
                              || pg_catalog.quote_ident(q.name) END) \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                    .to_owned()
            },
            &[&schemas, &objects],
        )
        .await
        .map_err(|e| query_error(&e))?;
    let mut oids: Vec<(usize, u32)> = Vec::new();
    for row in rows {
        let index = index_of(&row)?;
        let oid: u32 = row
            .try_get(4)
            .map_err(|e| PluginError::internal(format!("unexpected catalog column: {e}")))?;
        if let Some(entry) = resolved.get_mut(index) {
            entry.schema = ROption::RSome(text(&row, 1)?.into());
            entry.system = flag(&row, 2)?;
            let definition = text(&row, 3)?;
            if !definition.is_empty() {
                // pg_get_viewdef ends the query with `;`: one statement either way.
                entry.view_definition =
                    ROption::RSome(definition.trim().trim_end_matches(';').into());
            }
            oids.push((index, oid));
        }
    }
    if with_fires && !oids.is_empty() {
        let (indexes, starts): (Vec<usize>, Vec<u32>) = oids.into_iter().unzip();
        let written: Vec<bool> = indexes
            .iter()
            .map(|index| targets.get(*index).copied().unwrap_or(false))
            .collect();
        for (position, routine) in fires(client, prepared, &starts, &written).await? {
            if let Some(entry) = indexes
                .get(position)
                .and_then(|index| resolved.get_mut(*index))
            {
                entry.fires.push(routine);
            }
        }
    }
    Ok(resolved.into())
}

/// User code that reading (policies) or writing (also triggers, rules, defaults,
/// constraints, index expressions) each relation of `oids` runs — following a write to the
/// partitions and inheritance children it routes to and the tables whose foreign keys
/// cascade from it. One query for all of them; answers (position in `oids`, routine).
async fn fires(
    client: &mut impl GenericClient,
    prepared: &mut Prepared,
    oids: &[u32],
    written: &[bool],
) -> PluginResult<Vec<(usize, Routine)>> {
    let sql = || {
        let system = system_routine();
        format!(
            "WITH RECURSIVE start AS ( \
             SELECT s.oid, s.written, s.i FROM unnest($1::oid[], $2::bool[]) \
                    WITH ORDINALITY AS s(oid, written, i) \
         ), rels(i, written, oid) AS ( \
             SELECT i, written, oid FROM start \
             UNION \
             SELECT rels.i, rels.written, x.child FROM rels, LATERAL ( \
                 SELECT h.inhrelid AS child FROM pg_catalog.pg_inherits h \
                  WHERE h.inhparent = rels.oid AND rels.written \
                 UNION ALL \
                 SELECT k.conrelid FROM pg_catalog.pg_constraint k \
                  WHERE k.confrelid = rels.oid AND k.contype = 'f' AND rels.written) x \
         ), objects(i, classid, objid) AS ( \
             SELECT r.i, 'pg_catalog.pg_policy'::pg_catalog.regclass, p.oid \
               FROM rels r JOIN pg_catalog.pg_policy p ON p.polrelid = r.oid \
             UNION ALL SELECT r.i, 'pg_catalog.pg_trigger'::pg_catalog.regclass, t.oid \
               FROM rels r JOIN pg_catalog.pg_trigger t ON t.tgrelid = r.oid \
              WHERE r.written AND NOT t.tgisinternal AND t.tgenabled <> 'D' \
             UNION ALL SELECT r.i, 'pg_catalog.pg_rewrite'::pg_catalog.regclass, w.oid \
               FROM rels r JOIN pg_catalog.pg_rewrite w ON w.ev_class = r.oid \
              WHERE r.written AND w.rulename <> '_RETURN' \
             UNION ALL SELECT r.i, 'pg_catalog.pg_attrdef'::pg_catalog.regclass, a.oid \
               FROM rels r JOIN pg_catalog.pg_attrdef a ON a.adrelid = r.oid WHERE r.written \
             UNION ALL SELECT r.i, 'pg_catalog.pg_constraint'::pg_catalog.regclass, k.oid \
               FROM rels r JOIN pg_catalog.pg_constraint k ON k.conrelid = r.oid WHERE r.written \
             UNION ALL SELECT r.i, 'pg_catalog.pg_class'::pg_catalog.regclass, x.indexrelid \
               FROM rels r JOIN pg_catalog.pg_index x ON x.indrelid = r.oid WHERE r.written \
         ) \
         SELECT DISTINCT o.i, n.nspname::text, p.proname::text, {system} \
           FROM objects o \
           JOIN pg_catalog.pg_depend d ON d.classid = o.classid AND d.objid = o.objid \
                AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass \
           JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid \
           JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
         UNION \
         SELECT r.i, n.nspname::text, 'rule ' || w.rulename || ' on ' || c.relname, false \
           FROM rels r JOIN pg_catalog.pg_rewrite w ON w.ev_class = r.oid \
           JOIN pg_catalog.pg_class c ON c.oid = w.ev_class \
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
          WHERE r.written AND w.rulename <> '_RETURN'"
        )
    };
    let rows = prepared
        .query(client, "fires", sql, &[&oids, &written])
        .await
        .map_err(|e| query_error(&e))?;
    let mut found = Vec::new();
    for row in rows {
        if flag(&row, 3)? {
            continue;
        }
        found.push((
            index_of(&row)?,
            Routine {
                schema: text(&row, 1)?.into(),
                name: text(&row, 2)?.into(),
                system: false,
            },
        ));
    }
    Ok(found)
}

/// User code any statement may run without naming it: casts and operators implemented by
/// user routines, domain constraints that call them, and enabled event triggers.
///
/// Asked from the side of the user routines (those outside `pg_catalog` and
/// `information_schema`, usually few) rather than from every cast and operator: the same
/// answer for a tenth of the server's work, which matters because it is asked on every call
/// of a login whose powers let it escape.
async fn ambient(
    client: &mut impl GenericClient,
    prepared: &mut Prepared,
) -> PluginResult<RVec<Routine>> {
    let sql = || {
        let system = system_routine();
        format!(
            "WITH u AS MATERIALIZED ( \
                 SELECT p.oid, p.pronamespace, p.proname \
                   FROM pg_catalog.pg_proc p \
                   JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
                  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')) \
             SELECT DISTINCT n.nspname::text, p.proname::text \
               FROM u p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
              WHERE (EXISTS (SELECT 1 FROM pg_catalog.pg_cast c WHERE c.castfunc = p.oid) \
                  OR EXISTS (SELECT 1 FROM pg_catalog.pg_operator o WHERE o.oprcode = p.oid) \
                  OR EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger e \
                              WHERE e.evtfoid = p.oid AND e.evtenabled <> 'D') \
                  OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                               JOIN pg_catalog.pg_constraint k \
                                 ON d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass \
                                AND d.objid = k.oid AND k.contypid <> 0 \
                              WHERE d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass \
                                AND d.refobjid = p.oid)) \
                AND NOT {system}"
        )
    };
    let rows = prepared
        .query(client, "ambient", sql, &[])
        .await
        .map_err(|e| query_error(&e))?;
    let mut routines = RVec::new();
    for row in rows {
        routines.push(Routine {
            schema: text(&row, 0)?.into(),
            name: text(&row, 1)?.into(),
            system: false,
        });
    }
    Ok(routines)
}

/// The write tier's fence: PostgreSQL counts, per transaction, the rows each relation had
/// inserted, updated and deleted; DML on user tables adds none to the system catalogs, so
/// any count there means a function, trigger or rule changed the schema, a role or a
/// privilege. The counts exist only while `track_counts` is on; a superuser's function could
/// switch it off first, which is why such logins rely on the reach check instead, and why
/// the fence answers "changed" (fail closed) when it finds it off.
pub async fn write_fence(client: &mut impl GenericClient) -> PluginResult<FenceOutcome> {
    let row = client
        .query_one(
            "SELECT pg_catalog.current_setting('track_counts')::bool, \
                    COALESCE(pg_catalog.sum(pg_catalog.pg_stat_get_xact_tuples_inserted(c.oid) \
                      + pg_catalog.pg_stat_get_xact_tuples_updated(c.oid) \
                      + pg_catalog.pg_stat_get_xact_tuples_deleted(c.oid)), 0)::int8 \
               FROM pg_catalog.pg_class c \
              WHERE c.relnamespace = 'pg_catalog'::pg_catalog.regnamespace AND c.relkind = 'r'",
            &[],
        )
        .await
        .map_err(|e| query_error(&e))?;
    let tracking = flag(&row, 0)?;
    let changes: i64 = row
        .try_get(1)
        .map_err(|e| PluginError::internal(format!("unexpected catalog column: {e}")))?;
    Ok(if !tracking {
        FenceOutcome::Changed(RString::from(
            "track_counts is off in this session, so catalog changes cannot be seen",
        ))
    } else if changes > 0 {
        FenceOutcome::Changed(RString::from(format!(
            "{changes} row(s) of the system catalogs changed"
        )))
    } else {
        FenceOutcome::Unchanged
    })
}

#[cfg(test)]
mod tests {
    use super::OUTREACHING_EXTENSIONS;

    #[test]
    fn the_extension_names_written_into_the_catalog_queries_need_no_quoting() {
        for name in OUTREACHING_EXTENSIONS {
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name}"
            );
        }
    }
}
