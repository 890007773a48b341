//! `plenum-gate`: Plenum's capability gate.
//!
//! Every SQL input passes through [`check`] (or [`classify`]) before any engine sees it. The
//! gate lexes the input with the engine's own dialect, splits it into statements, parses each
//! one and walks its whole tree, and gives each statement a [`Tier`]: read < write < ddl.
//! Whatever it does not understand it refuses (fail closed).
//!
//! ```
//! use plenum_gate::{check, Dialect, Tier};
//!
//! let statements = check("SELECT 1; SELECT 'a;b'", Dialect::Sqlite, Tier::Read).unwrap();
//! assert_eq!(statements[1].sql, "SELECT 'a;b'");
//!
//! let error = check("DELETE FROM t", Dialect::Sqlite, Tier::Read).unwrap_err();
//! assert_eq!(error.to_string(), "statement 1 (DELETE) needs the write tier");
//! ```
//!
//! # What the host gets
//!
//! One [`Statement`] per statement in the input, in order. [`Statement::sql`] is the exact
//! source text from the statement's first token to its last: leading and trailing whitespace
//! and comments, and the terminating `;`, are not part of it; comments inside it are. For
//! `SELECT 1; /* c */ SELECT 'a;b' ;` the texts are `SELECT 1` and `SELECT 'a;b'`.
//! [`Statement::line`] and [`Statement::column`] point at that first token (1-based; columns
//! count characters). The host hands each text to the engine as one statement.
//!
//! # How statements are found
//!
//! * The whole input is tokenized once with sqlparser's tokenizer for the dialect, so strings,
//!   quoted identifiers, dollar quotes and comments are lexed the way that dialect does.
//! * It is split at top-level `;` tokens. Empty pieces are skipped; an input with nothing else
//!   is [`GateError::Empty`].
//! * Each piece must parse to exactly one statement. A `CREATE` piece that fails to parse at its
//!   end is joined with the following pieces (up to 256) until it parses, and is kept only if
//!   it is a trigger, function or procedure, whose bodies legitimately hold semicolons
//!   (SQLite `CREATE TRIGGER … BEGIN …; END`). PostgreSQL dollar-quoted bodies are single
//!   tokens and need no joining.
//! * A statement is refused or gets a tier; [`classify`] stops at the first refusal or parse
//!   error; [`check`] then reports the first statement above the grant.
//!
//! # Lexical rules, checked on the whole input first
//!
//! * A NUL character anywhere is a parse error (engines disagree on where input ends).
//! * Outside strings, quoted identifiers and comments, only ASCII space, tab, CR and LF may
//!   separate words: sqlparser treats `\v`, `\f` and Unicode spaces as whitespace where
//!   engines treat them as identifier characters or errors, so they are parse errors.
//! * MySQL: executable comments `/*! … */` and MariaDB's `/*M! … */` are refused anywhere;
//!   a word with `@` after its first character is refused (sqlparser reads `INTO@v` as one
//!   word where MySQL assigns the variable `@v`);
//!   `--` not followed by an ASCII space or control character is refused (MySQL would not read
//!   it as a comment, and sqlparser accepts Unicode spaces there). `#` starts a comment to the
//!   end of the line in both MySQL and sqlparser's MySQL dialect. Optimizer hints with
//!   `SET_VAR` (`/*+ SET_VAR(…) */`) are refused: they change session variables. The generic
//!   dialect also expands `/*! … */`, so it refuses them too.
//!
//! # Placeholders
//!
//! [`Statement::parameters`] is how many bound values a statement takes. It is counted from
//! the dialect's tokens, so a `?` or `$1` inside a string, quoted identifier, comment or
//! PostgreSQL dollar-quoted body never counts. Each statement of an input counts on its own.
//! A statement that breaks these rules is [`GateError::Parameters`] (code `INVALID_INPUT`),
//! reported once the statement has parsed and has not been refused:
//!
//! * SQLite: `?` and `?NNN` (ASCII digits, 1 to 32766). SQLite numbers them as it does:
//!   `?NNN` is number NNN (and may repeat), `?` is the highest number so far plus one; the
//!   count is the highest number (`SELECT ?3, ?` takes 4, `SELECT ?, ?1, ?` takes 2). Named
//!   placeholders (`:name`, `@name`, `$name`) are refused: SQLite reads any `:`, `@`,
//!   `$` or `#` outside quotes as the start of one, including the `@` of `a <@b`.
//! * PostgreSQL: `$1`, `$2`, …; the count is the highest number. Refused: `$0`, numbers above
//!   65535 (the protocol's limit), a gap (`$1` and `$3` without `$2`: PostgreSQL cannot infer
//!   the missing one's type), `$name`, `:name` outside `[…]` slices, and `$1$…` (the parser
//!   would read a dollar-quoted string where PostgreSQL reads `$1`). `?`, `?|` and `?&` are
//!   jsonb operators; a statement that fails to parse at a `?` (or right after a final `?`)
//!   gets the placeholder error instead of the parse error.
//! * MySQL: `?`, one value each. Refused: `?NNN`, `$1` (MySQL reads it as a name) and
//!   `:name`. `@name` is a user variable, not a placeholder.
//! * Other dialects: `?` (one value each) or `$1`, `$2`, … (as PostgreSQL); anything else the
//!   tokenizer calls a placeholder is refused.
//! * One statement may not mix `?` and `$N`.
//!
//! # Tiers
//!
//! | statement | verdict |
//! |---|---|
//! | `SELECT`, `VALUES`, `WITH … SELECT`, `TABLE t`, `SHOW …`, `DESCRIBE t`, `EXPLAIN …` (without ANALYZE), `EXPLAIN QUERY PLAN …`, read-only `PRAGMA`s, `ASSERT` | read |
//! | `INSERT`, `UPDATE`, `DELETE`, `MERGE`, `REPLACE`, upserts, `INSERT … SELECT`, `WITH … INSERT/UPDATE/DELETE` | write |
//! | a query with a data-modifying CTE (`WITH d AS (DELETE … RETURNING *) SELECT …`) | write |
//! | `SELECT … FOR UPDATE / FOR SHARE / FOR NO KEY UPDATE / FOR KEY SHARE`, MySQL `LOCK IN SHARE MODE` | write (row locks) |
//! | `nextval()`, `setval()` anywhere | write |
//! | `EXPLAIN ANALYZE s`, `EXPLAIN (ANALYZE …) s` (also `ANALYSE`, `ANALYZE false`, and any option not known to be plan-only) | the tier of `s` |
//! | `CREATE`, `DROP`, `ALTER`, `TRUNCATE`, `RENAME`, `COMMENT ON`, indexes, views, triggers, functions, procedures, sequences, types, schemas, roles, users, extensions | ddl |
//! | `CREATE TABLE … AS SELECT`, PostgreSQL `SELECT … INTO newtable` | ddl (creates a table) |
//! | `GRANT`, `REVOKE`, `DENY` | ddl |
//! | `ANALYZE`, `VACUUM` (no `INTO`), `REINDEX`, `CLUSTER`, `REFRESH MATERIALIZED VIEW`, ClickHouse/Databricks `OPTIMIZE` | ddl (maintenance rewrites storage) |
//! | `CALL` (PostgreSQL, MySQL), PostgreSQL `DO` blocks | ddl (their effect is unknown) |
//! | transaction control: `BEGIN`, `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`, `SAVEPOINT`, `RELEASE`, `SET TRANSACTION`, `XA` | refused: each call runs in its own transaction owned by Plenum |
//! | `SET`, `RESET`, `SET ROLE`, `SET SESSION AUTHORIZATION`, `USE`, `DISCARD`, `ALTER SESSION` | refused: session settings are Plenum's |
//! | `PREPARE`, `EXECUTE`, `DEALLOCATE` | refused: they run SQL the gate cannot see |
//! | `DECLARE`, `FETCH`, `MOVE`, `OPEN`, `CLOSE`, MySQL `HANDLER` | refused: state beyond one statement |
//! | `LOCK TABLE(S)`, `UNLOCK TABLES` | refused |
//! | `LISTEN`, `UNLISTEN`, `NOTIFY` | refused |
//! | `COPY` (any form), `LOAD DATA`, `LOAD` (extensions), `UNLOAD`, `IMPORT`, `EXPORT DATA`, `INSERT OVERWRITE DIRECTORY`, `INSERT INTO FUNCTION` | refused: files and external targets |
//! | SQLite `ATTACH`, `DETACH`, `VACUUM INTO` | refused: they open or create files |
//! | MySQL `SELECT … INTO OUTFILE / DUMPFILE / @var` (also `(SELECT 1) INTO OUTFILE`), any MySQL `SELECT … INTO` | refused |
//! | `PRAGMA x = v`; `PRAGMA x(v)` except the read-only table-argument pragmas; no-argument pragmas not on the read list | refused |
//! | `ALTER SYSTEM`, `KILL`, `SHUTDOWN`, `RESTART`, `FLUSH`, `PURGE`, `CHANGE …`, `START/STOP` replication, `BINLOG`, `CHECKPOINT`, `CLONE`, `CACHE` | refused: server control |
//! | `INSTALL` / `UNINSTALL` (plugins, components, extensions) | refused: native code |
//! | `INSERT`, `UPDATE`, `DELETE`, `MERGE`, `REPLACE` whose target is a system catalog: PostgreSQL `pg_catalog.*`, `information_schema.*`, `pg_toast*.*` and unqualified `pg_*` names; MySQL `mysql.*`, `performance_schema.*`, `sys.*`, `information_schema.*`; SQLite `sqlite_schema` / `sqlite_master` / `sqlite_temp_*` (in any tier; the host also checks the names the engine resolves) | refused: writes touch only user data |
//! | MariaDB `SHOW EXPLAIN FOR` / `SHOW ANALYZE FOR`; a relation named in a string cast to `regclass` (`'pg_stat_activity'::regclass`) | refused like the relation they reveal |
//! | `SHOW PROCESSLIST`, `SHOW ENGINE … STATUS`, `SHOW BINLOG / RELAYLOG EVENTS`; any reference to a relation named `processlist`, `pg_stat_activity` or `pg_stat_statements` (any schema), `performance_schema.threads` / `events_statements_*` / `events_transactions_*` / `prepared_statements_instances`, `sys.session` / `sys.processlist` / `sys.x$processlist` / `sys.innodb_lock_waits`, `information_schema.innodb_trx`, `mysql.general_log` / `mysql.slow_log` | refused: they show other sessions' SQL, which may hold secrets |
//! | MySQL `DO`, procedural statements outside a body (`IF`, `WHILE`, `CASE`, `SIGNAL`, …) | refused |
//! | anything else sqlparser parses but the gate does not list | refused (fail closed) |
//! | anything that does not parse | parse error |
//!
//! Read pragmas, no argument: `user_version`, `schema_version`, `application_id`,
//! `foreign_keys`, `journal_mode`, `page_count`, `page_size`, `freelist_count`, `encoding`,
//! `integrity_check`, `quick_check`, `foreign_key_check`, `table_list`, `database_list`,
//! `collation_list`, `function_list`, `module_list`, `pragma_list`, `compile_options`,
//! `data_version`, and settings such as `cache_size`, `synchronous` and `busy_timeout`, which
//! without an argument only report. With one argument (identifier, string or number; `PRAGMA table_info(users)`
//! is handled by the gate because sqlparser 0.63 does not parse it): `table_info`,
//! `table_xinfo`, `index_list`, `index_info`, `index_xinfo`, `foreign_key_list`,
//! `foreign_key_check`, `integrity_check`, `quick_check`, `table_list`.
//!
//! # Functions
//!
//! Function calls are checked anywhere in the tree (select list, `WHERE`, `FROM` table
//! functions, defaults, nested subqueries, `CALL`), by the last part of the name,
//! case-insensitively (`pg_catalog.lo_export` and `LO_EXPORT` match). In every dialect:
//!
//! * refused: SQLite `load_extension`, `readfile`, `writefile`, `edit`, `fts3_tokenizer`,
//!   `zipfile`, `fsdir`; PostgreSQL large objects (`lo_*`, `loread`, `lowrite`),
//!   `pg_read_file`, `pg_read_binary_file`, `pg_ls_*`, `pg_stat_file`, `pg_file_*`,
//!   `pg_terminate_backend`, `pg_cancel_backend`, `pg_reload_conf`, `pg_rotate_logfile`,
//!   `set_config`, `pg_notify`, `pg_advisory_*`, `pg_try_advisory_*`, replication slot, WAL,
//!   backup and promote functions, `pg_stat_reset*`, `pg_stat_get_activity`, `pg_stat_get_backend_activity`, `dblink*`,
//!   `query_to_xml*`, `cursor_to_xml*`, `ts_stat` (the last three run a query string),
//!   `pg_stat_statements_reset`; MySQL `LOAD_FILE`, `DES_ENCRYPT`, `DES_DECRYPT`, `GET_LOCK`, `RELEASE_LOCK`,
//!   `RELEASE_ALL_LOCKS`, `IS_FREE_LOCK`, `IS_USED_LOCK`, the locking-service functions,
//!   `sys_exec`, `sys_eval`;
//! * write: `nextval`, `setval`;
//! * allowed at read: `pg_sleep`, MySQL `SLEEP` and `BENCHMARK` — they only cost time, and the
//!   host's timeout cancels them on the server;
//! * refused as well: `ts_rewrite` (runs its text argument as a query), `table_to_xml*`,
//!   `schema_to_xml*`, `database_to_xml*` (read relations named by a value), `crosstab*`,
//!   `connectby`, `xpath_table` (build and run queries), `binary_upgrade_*`, `pg_nextoid`,
//!   `pg_read_*`, the configuration-file readers, pg_surgery / pg_visibility / pg_walinspect /
//!   pg_prewarm functions that reach past the session, MySQL `sys.ps_thread_stack` and
//!   `ps_thread_trx_info`;
//! * ddl: `brin_summarize_*`, `brin_desummarize_range`, `gin_clean_pending_list` (they rewrite
//!   index storage, as maintenance statements do);
//! * allowed at read: every other function. Built-ins are listed per engine in
//!   `gate/builtins/` (PostgreSQL 15, MariaDB 10.11, SQLite), each checked against the live
//!   server's own list by a test, so a new server version's functions are reviewed before they
//!   are known; [`function_is_classified`] says whether a name is. User-defined functions are
//!   not the gate's to judge: the gate reports every name a statement calls or reads in
//!   [`Statement::reach`], and the host resolves them at the engine before anything runs —
//!   refusing user code on logins that could act outside the session through it, and built-ins
//!   the gate has not classified.
//!
//! SQLite virtual tables over files (`zipfile`, `fsdir`, `csv`, `fileio` modules) are refused
//! in `CREATE VIRTUAL TABLE`. Function names computed at run time (Snowflake `IDENTIFIER(…)`)
//! are refused.
//!
//! Bodies the parser sees (SQLite trigger bodies, MySQL and MSSQL procedure bodies) are
//! checked with the same rules, so a body with a refused function, `COMMIT` or `SET` makes
//! its `CREATE` refused. Bodies that are strings (PostgreSQL `AS $$ … $$`, `DO` blocks) are
//! opaque: the gate cannot see what they call, which is why they need the ddl tier.
//!
//! # Forms handled by the gate itself
//!
//! sqlparser 0.63 does not parse some reads agents use; the gate recognizes exactly these:
//! `PRAGMA [schema.]name[(argument)]` (all PRAGMA forms go through the gate's recognizer),
//! PostgreSQL/MySQL `TABLE t [ORDER BY …] [LIMIT …]` (parsed as `SELECT * FROM t …`), MySQL
//! `… LOCK IN SHARE MODE` at the end of a query (write), `SHOW` variants made only of names,
//! strings, numbers and `=` (read), PostgreSQL `DO [LANGUAGE l] 'body'` (ddl), `VACUUM`,
//! `REINDEX`, `CLUSTER` and `REFRESH MATERIALIZED VIEW` with names and options only (ddl),
//! and PostgreSQL
//! `FOR NO KEY UPDATE` / `FOR KEY SHARE` (parsed as `FOR UPDATE` / `FOR SHARE`, write).
//! `DESCRIBE t` and most `SHOW` forms parse natively.
//!
//! # Other decisions
//!
//! * `USE db` is refused like other session changes: connect to that database instead.
//! * `ASSERT` (BigQuery) is a read; Spark `CACHE`/`UNCACHE`, Snowflake `PUT`/`LIST`/`REMOVE`
//!   and procedural statements (`IF`, `WHILE`, `RAISE`, MSSQL `PRINT`/`THROW`/`WAITFOR`) are
//!   refused.
//! * `CREATE EXTENSION`, `ALTER ROLE`, `CREATE SERVER` and other catalog objects are ddl: the
//!   ddl grant is the human's explicit trust in schema changes. `LOAD` (a library) is refused.
//! * `EXPLAIN` of a refused statement or of a refused function is refused, although plain
//!   `EXPLAIN` does not run anything: refusing is the side the gate errs on.
//! * A relation named `processlist` or `pg_stat_activity` is refused in any statement,
//!   including a user table of that name.
//!
//! Not supported (parse errors): MySQL `LOCK IN SHARE MODE` inside a subquery, `SHOW` with
//! parentheses, `CREATE` forms sqlparser does not know (e.g. `CREATE RULE`).
//!
//! # An engine's declared policy
//!
//! [`classify_with`] and [`check_with`] add an engine's [`Policy`] (declared by its plugin,
//! plugin API 1.2) to the dialect's rules: functions and table functions refused or raised
//! (by name, case-insensitively, anywhere in the tree), statement labels refused or raised,
//! relations refused by name, relations written as string literals (`FROM 'file.csv'`)
//! refused, and the engine's [`Lexing`]. With a declared lexing, the input is read a second
//! time as the engine reads it (escape strings, backslash escapes, nested comments,
//! executable comments, dollar quotes, backticks, `#` comments) and refused where the two
//! readings put a string, quoted name or comment in different places. A policy only adds
//! refusals and raises tiers; it cannot lower a tier or lift a refusal of the host's.
//!
//! The function and relation rules listed above are themselves each dialect's default
//! policy ([`Policy::dialect_default`], in `src/defaults/`), checked by the same code as a
//! declared one: [`classify`] enforces the default, [`classify_with`] the default and the
//! declaration together, where any refusal wins and otherwise the highest tier.
//!
//! # Assumptions
//!
//! The engine lexes strings the way sqlparser's dialect does: MySQL with backslash escapes
//! (no `NO_BACKSLASH_ESCAPES`), PostgreSQL with `standard_conforming_strings = on`. Plugins
//! must not change those settings. Each statement text is sent through a one-statement
//! protocol, so a disagreement the gate misses fails at the engine instead of running.
//!
//! # Messages
//!
//! A statement above the grant is reported by its position and label, and, when something
//! inside it (not its own kind) decides its tier, by that thing: [`Statement::cause`].
//! For example `statement 1 (DELETE) needs the write tier`, but
//! ``statement 1 (WITH … SELECT) contains a DELETE (in CTE `d`), which needs the write
//! tier``, `statement 1 (EXPLAIN ANALYZE) runs an UPDATE, which needs the write tier`,
//! `statement 1 (SELECT) calls nextval(), which needs the write tier` and
//! `statement 1 (SELECT) takes row locks with FOR UPDATE or FOR SHARE, which needs the write
//! tier`. Refusals found inside a statement name the function, relation or nested
//! statement, and the CTE it is in: ``WITH … SELECT is refused: readfile() (in CTE `x`): …``.
//! Messages are built from statement kinds and from function, relation and CTE names; they
//! never repeat a literal of the SQL, which may hold a secret.
//!
//! Messages name tiers, never how a caller grants one (a command-line flag, a tool
//! argument): that is the host's to word. [`GateError::NeedsTier`] carries the tiers and the
//! cause, so the host can build its own sentence.
//!
//! # Robustness
//!
//! Parsing never panics the caller (a panic inside sqlparser becomes a parse error), nesting
//! depth is bounded by sqlparser's recursion limit (50), and long left-deep chains
//! (`1+1+…`, repeated `UNION`) run on a stack sized from the statement's token count, so they
//! cannot overflow the caller's stack. Statements over 1,000,000 tokens are refused as parse
//! errors.

mod buffers;
mod classify;
mod defaults;
mod dialect;
mod driver;
mod enforced;
mod error;
mod functions;
mod labels;
mod lex;
mod lexing;
mod names;
mod params;
mod policy;
mod reasons;
mod scan;
mod special;
mod tier;
mod walk;

pub use dialect::Dialect;
pub use error::GateError;
pub use names::{Name, NamePart, Reach, TableRef};
pub use policy::{Lexing, Policy, Rule};
pub use tier::Tier;

use enforced::Enforced;

/// One classified statement of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement's exact source text, from its first token to its last (no surrounding
    /// whitespace or comments, no trailing `;`). This is the text to hand to the engine.
    pub sql: String,
    /// Upper-case label for messages: `SELECT`, `INSERT`, `CREATE TABLE`, `PRAGMA`,
    /// `EXPLAIN ANALYZE`, `WITH … DELETE`, …
    pub kind: String,
    /// The tier the statement needs.
    pub tier: Tier,
    /// What inside the statement raised its tier above what its kind needs, as words that
    /// follow its kind: ``contains a DELETE (in CTE `d`)``, `runs a DELETE` (under `EXPLAIN
    /// ANALYZE`), `calls nextval()`, `takes row locks with FOR UPDATE or FOR SHARE`,
    /// `creates a new table` (`SELECT … INTO`). `None` when the kind alone explains the tier
    /// (`DELETE`, `CREATE TABLE`). Built from statement kinds and function and CTE names only,
    /// never from literals in the SQL.
    pub cause: Option<String>,
    /// The functions it calls and the relations it reads and writes, as written: what the
    /// host asks the engine to resolve before the statement runs (user code, views,
    /// triggers). Empty for statements the gate recognizes without parsing.
    pub reach: Reach,
    /// The tables it names in `FROM`, joins and as write targets, with their aliases, in the
    /// order written (each distinct reference once), at every depth: subqueries, CTEs and
    /// nested statements too. Empty for statements the gate recognizes without parsing. See
    /// [`TableRef`].
    pub tables: Vec<TableRef>,
    /// Line of the statement's first token (1-based).
    pub line: u64,
    /// Column of the statement's first token (1-based, in characters).
    pub column: u64,
    /// How many bound values the statement's placeholders take (`?` for SQLite and MySQL,
    /// `$1…` for PostgreSQL); 0 when it has none. See the crate documentation for the rules.
    pub parameters: usize,
}

/// Splits `sql` into statements and gives each its tier.
///
/// Errors: [`GateError::Parse`] if any statement does not lex or parse, [`GateError::Empty`] if
/// there is no statement, [`GateError::Refused`] for the first statement that is never
/// allowed, [`GateError::Parameters`] for the first statement whose placeholders break the
/// dialect's rules. Nothing of the input may run unless this returns `Ok`.
pub fn classify(sql: &str, dialect: Dialect) -> Result<Vec<Statement>, GateError> {
    driver::classify(sql, dialect, Enforced::new(dialect, &Policy::default()))
}

/// [`classify`] with an engine's declared [`Policy`] on top of the dialect's rules: the
/// input is also read with the engine's declared lexing (refused where the readings
/// disagree), and each statement is refused or raised by the policy's rules. A policy only
/// adds refusals and raises tiers; an empty one changes nothing.
pub fn classify_with(
    sql: &str,
    dialect: Dialect,
    policy: &Policy,
) -> Result<Vec<Statement>, GateError> {
    // The walk checks functions and relations against the default and the declaration
    // together; what remains are the rules about whole statements.
    let mut statements = driver::classify(sql, dialect, Enforced::new(dialect, policy))?;
    for (position, statement) in statements.iter_mut().enumerate() {
        policy.apply_to_statement(position + 1, statement)?;
    }
    Ok(statements)
}

/// Whether the gate has classified the function `name` (the last part of its name) for
/// `dialect`: it is refused, raises the tier, or is a built-in of the dialect's engine that
/// only computes a value. `None` when the gate carries no list of built-ins for the dialect
/// (then only its refusal and tier lists apply). The host uses it for functions the engine
/// reports as its own built-ins: one the gate has not classified (a newer server's) is
/// refused rather than trusted.
pub fn function_is_classified(name: &str, dialect: Dialect) -> Option<bool> {
    functions::is_classified(name, dialect)
}

/// Why reading the relation `parts` (outermost first, as the engine resolved it) is
/// refused, if it is: relations that show other sessions' SQL. The host applies it to the
/// names the engine resolved (an unqualified `innodb_trx` read with `information_schema` as
/// the current database).
pub fn relation_refusal(parts: &[&str]) -> Option<&'static str> {
    Policy::dialect_default(Dialect::Generic).relation_refusal(parts)
}

/// [`relation_refusal`] for an engine of `dialect` with the declared `policy`: the dialect's
/// default and the declaration together.
pub fn relation_refusal_with<'p>(
    parts: &[&str],
    dialect: Dialect,
    policy: &'p Policy,
) -> Option<&'p str> {
    Enforced::new(dialect, policy).relation(parts)
}

/// A token-level reading of SQL that [`classify`] cannot parse (an engine's own canonical
/// text of a view, say): the names it uses, for the host to resolve at the engine. It
/// cannot tell a statement's kind, so it refuses any refused function or relation name and
/// any function that needs a tier above read. Never a way to run SQL: only for vetting text
/// the engine itself wrote.
pub fn scan(sql: &str, dialect: Dialect) -> Result<Reach, GateError> {
    scan::scan(sql, dialect)
}

/// [`classify`], then requires every statement's tier to be at most `granted`.
///
/// On success returns the statements to run, in order. Otherwise reports the first problem:
/// a parse error or refusal anywhere, else the first statement above the grant as
/// [`GateError::NeedsTier`].
pub fn check(sql: &str, dialect: Dialect, granted: Tier) -> Result<Vec<Statement>, GateError> {
    check_with(sql, dialect, granted, &Policy::default())
}

/// [`check`] with an engine's declared [`Policy`] (see [`classify_with`]).
pub fn check_with(
    sql: &str,
    dialect: Dialect,
    granted: Tier,
    policy: &Policy,
) -> Result<Vec<Statement>, GateError> {
    let statements = classify_with(sql, dialect, policy)?;
    if let Some((position, statement)) = statements
        .iter()
        .enumerate()
        .find(|(_, statement)| statement.tier > granted)
    {
        return Err(GateError::NeedsTier {
            index: position + 1,
            kind: statement.kind.clone(),
            needed: statement.tier,
            cause: statement.cause.clone(),
            granted,
            line: statement.line,
            column: statement.column,
        });
    }
    Ok(statements)
}
