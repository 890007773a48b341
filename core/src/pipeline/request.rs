//! The front-end-neutral request: the CLI and the MCP server both build one of these and
//! render the [`Response`] the pipeline gives back.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use plenum_plugin_api::Value;

use crate::pipeline::exec::Limits;
use crate::services::capability::{requested_tier, Ceiling};
use crate::services::connection::ConnectionSpec;
use crate::services::error::Failure;
use crate::services::options::{Given, Values, QUERY};
/// The response lives with the envelope it becomes, so the commands below the pipeline can
/// return one without depending on the request.
pub use crate::services::output::Response;
use crate::services::words::option;

/// One `query` call.
#[derive(Debug, Clone)]
pub struct QueryRequest {
    /// Where to connect.
    pub connection: ConnectionSpec,
    /// The SQL text (one or more statements).
    pub sql: String,
    /// Bound parameters (for a single statement).
    pub params: Vec<Value>,
    /// The tier the caller asked for.
    pub requested: plenum_gate::Tier,
    /// Ceilings in force.
    pub ceilings: Vec<Ceiling>,
    /// Limits.
    pub limits: Limits,
    /// Rows of the result to skip before the returned page (paging re-runs the query).
    pub offset: u64,
    /// Run the SQL, only check it, or explain it.
    pub mode: QueryMode,
}

/// What a `query` call asks, apart from where to connect: the options of
/// [`crate::services::options::QUERY`] read into values the pipeline uses.
#[derive(Debug, Clone)]
pub struct QueryInput {
    /// The SQL text.
    pub sql: String,
    /// Bound parameters.
    pub params: Vec<Value>,
    /// Rows to skip.
    pub offset: u64,
    /// Run, check or explain.
    pub mode: QueryMode,
    /// The tier asked for.
    pub requested: plenum_gate::Tier,
    /// Limits.
    pub limits: Limits,
}

impl QueryInput {
    /// Reads `values`: the SQL (`sql`, or the file `sql_file`, `-` for standard input), the
    /// parameters (`params`, or the JSON array in `param_file`), the mode, the tier and the
    /// limits with their declared defaults.
    pub fn from_values(values: &Values) -> Result<Self, Failure> {
        let stdin = Path::new("-");
        if values.path("sql_file").as_deref() == Some(stdin)
            && values.path("param_file").as_deref() == Some(stdin)
        {
            return Err(Failure::invalid_input(format!(
                "{} - and {} - cannot both read standard input",
                option("sql_file"),
                option("param_file")
            )));
        }
        if values.flag("check_only") && values.flag("explain") {
            return Err(Failure::invalid_input(format!(
                "pass either {} or {}, not both",
                option("check_only"),
                option("explain")
            )));
        }
        let sql = read_sql(values)?;
        let params = match (values.path("param_file"), values.get("params")) {
            (Some(path), _) => crate::services::params::read_file(&path)?,
            (None, Some(Given::ParamTexts(texts))) => texts
                .iter()
                .enumerate()
                .map(|(index, text)| crate::services::params::parse_cli(text, index + 1))
                .collect::<Result<_, _>>()?,
            (None, Some(Given::ParamValues(values))) => {
                crate::services::params::from_json_array(values)?
            }
            (None, _) => Vec::new(),
        };
        let count = |name| values.count_or_default(name, QUERY);
        Ok(QueryInput {
            sql,
            params,
            offset: count("offset"),
            mode: QueryMode::from_flags(values.flag("check_only"), values.flag("explain")),
            requested: requested_tier(values.flag("allow_write"), values.flag("allow_ddl")),
            limits: Limits {
                max_rows: count("max_rows"),
                max_bytes: count("max_bytes"),
                timeout: Duration::from_millis(count("timeout_ms")),
            },
        })
    }

    /// The request to run this input at `connection` under `ceilings`.
    pub fn at(self, connection: ConnectionSpec, ceilings: Vec<Ceiling>) -> QueryRequest {
        QueryRequest {
            connection,
            sql: self.sql,
            params: self.params,
            requested: self.requested,
            ceilings,
            limits: self.limits,
            offset: self.offset,
            mode: self.mode,
        }
    }
}

fn read_sql(values: &Values) -> Result<String, Failure> {
    if let Some(sql) = values.text("sql") {
        return Ok(sql);
    }
    let Some(path) = values.path("sql_file") else {
        return Err(Failure::invalid_input(format!(
            "no SQL given: pass {} TEXT or {} PATH",
            option("sql"),
            option("sql_file")
        )));
    };
    let mut bytes = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(&path).and_then(|mut file| file.read_to_end(&mut bytes).map(|_| ()))
    };
    read.map_err(|error| {
        Failure::invalid_input(format!("cannot read {}: {error}", path.display()))
    })?;
    String::from_utf8(bytes).map_err(|error| {
        Failure::invalid_input(format!(
            "{} is not valid UTF-8 (first bad byte at offset {})",
            path.display(),
            error.utf8_error().valid_up_to()
        ))
    })
}

/// What a `query` call does with its SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryMode {
    /// Run the statements.
    #[default]
    Run,
    /// Run the gate only: report the statements and whether the grant allows them, without
    /// connecting.
    CheckOnly,
    /// Return the engine's plan for the one statement, without executing it.
    Explain,
}

impl QueryMode {
    /// The mode the flags (or MCP arguments) `check_only` and `explain` ask for; the front
    /// ends refuse both at once.
    pub fn from_flags(check_only: bool, explain: bool) -> Self {
        if check_only {
            QueryMode::CheckOnly
        } else if explain {
            QueryMode::Explain
        } else {
            QueryMode::Run
        }
    }

    /// The envelope's `command`, which tells the shape of its `data`.
    pub fn command(self) -> &'static str {
        match self {
            QueryMode::Run => "query",
            QueryMode::CheckOnly => "check",
            QueryMode::Explain => "explain",
        }
    }
}
