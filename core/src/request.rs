//! The front-end-neutral request: the CLI and the MCP server both build one of these and
//! render the [`Response`] the pipeline gives back.

use plenum_plugin_api::Value;

use crate::capability::Ceiling;
use crate::connection::ConnectionSpec;
use crate::exec::Limits;
/// The response lives with the envelope it becomes, so the commands below the pipeline can
/// return one without depending on the request.
pub use crate::output::Response;

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
