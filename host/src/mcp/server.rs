//! The MCP server: what it says about itself, its tools, and the routing of tool calls.

use std::sync::Arc;
use std::time::Duration;

use plenum_gate::Tier;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, JsonObject, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler};
use tokio::sync::Semaphore;

use super::{calls, tools};
use crate::error::{ErrorCode, Failure};
use crate::request::Response;

/// Engine calls that may run at once; more wait their turn (the wait is not part of their
/// timeout).
const MAX_ENGINE_CALLS: usize = 32;

/// What the human who started the server decided, and what every call shares.
pub struct Settings {
    ceiling: Tier,
    password_envs: Vec<String>,
    tools: Vec<Tool>,
    engine_slots: Arc<Semaphore>,
}

impl Settings {
    /// Settings for a server whose tier ceiling is `ceiling` and whose calls may name the
    /// environment variables `password_envs` as `password_env`.
    pub fn new(ceiling: Tier, password_envs: Vec<String>) -> Self {
        Settings {
            ceiling,
            password_envs,
            tools: tools::all(ceiling),
            engine_slots: Arc::new(Semaphore::new(MAX_ENGINE_CALLS)),
        }
    }

    /// The tier ceiling set when the server was started.
    pub fn ceiling(&self) -> Tier {
        self.ceiling
    }

    /// Whether a call may name `variable` as its `password_env`.
    pub fn allows_password_env(&self, variable: &str) -> bool {
        self.password_envs.iter().any(|allowed| allowed == variable)
    }

    /// The environment variables calls may name as `password_env`.
    pub fn password_envs(&self) -> &[String] {
        &self.password_envs
    }

    /// The input schema of tool `name`.
    pub fn input_schema(&self, name: &str) -> JsonObject {
        self.tools
            .iter()
            .find(|tool| tool.name == name)
            .map(|tool| tool.input_schema.as_ref().clone())
            .unwrap_or_default()
    }

    /// Runs `work` on a blocking thread (engine code never runs on the runtime's workers) and
    /// waits for it at most `budget`. Past the budget the call is answered with TIMEOUT and
    /// the thread is left to finish on its own.
    pub async fn run_blocking<F>(&self, budget: Duration, work: F) -> Result<Response, Failure>
    where
        F: FnOnce() -> Response + Send + 'static,
    {
        let _slot = Arc::clone(&self.engine_slots)
            .acquire_owned()
            .await
            .map_err(|_| Failure::internal("the server is shutting down"))?;
        let task = tokio::task::spawn_blocking(work);
        match tokio::time::timeout(budget, task).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) => Err(Failure::internal(format!(
                "plenum hit a bug while running the call ({}); please report it",
                panic_text(error)
            ))),
            Err(_) => Err(Failure::new(
                ErrorCode::Timeout,
                format!(
                    "the call did not finish within {} ms and the engine did not stop when \
                     cancelled; its work was abandoned",
                    budget.as_millis()
                ),
            )),
        }
    }
}

fn panic_text(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned()),
        Err(_) => "the task was cancelled".to_owned(),
    }
}

/// The `rmcp` handler of `plenum mcp`.
#[derive(Clone)]
pub struct PlenumServer {
    settings: Arc<Settings>,
}

impl PlenumServer {
    /// A server with `settings`.
    pub fn new(settings: Settings) -> Self {
        PlenumServer {
            settings: Arc::new(settings),
        }
    }
}

impl ServerHandler for PlenumServer {
    fn get_info(&self) -> ServerConfig {
        let ceiling = self.settings.ceiling();
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("plenum", env!("CARGO_PKG_VERSION"))
                    .with_title("Plenum")
                    .with_description(
                        "Database control for AI agents: SQL in, one JSON envelope out, least privilege by default",
                    ),
            )
            .with_instructions(format!(
                "Plenum runs SQL on databases with least privilege. This server's tier ceiling \
                 is {}. Start with list_connections or list_engines to see what you can reach, \
                 introspect to learn the schema, then query. Every result is a JSON envelope in \
                 structuredContent; failures have isError true and a stable error.code.",
                ceiling.as_str()
            ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.settings.tools.clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let settings = &self.settings;
        let result = match request.name.as_ref() {
            tools::QUERY => calls::query(settings, request.arguments).await,
            tools::INTROSPECT => calls::introspect(settings, request.arguments).await,
            tools::LIST_CONNECTIONS => calls::list_connections(settings, request.arguments).await,
            tools::LIST_ENGINES => calls::list_engines(settings, request.arguments).await,
            other => {
                return Err(ErrorData::invalid_params(
                    format!(
                        "Unknown tool: {other}. The tools are {}, {}, {} and {}",
                        tools::QUERY,
                        tools::INTROSPECT,
                        tools::LIST_CONNECTIONS,
                        tools::LIST_ENGINES
                    ),
                    None,
                ))
            }
        };
        Ok(CallToolResponse::Complete(result))
    }
}
