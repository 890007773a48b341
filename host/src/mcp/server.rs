//! The MCP server: what it says about itself, its tools, and the routing of tool calls.

use std::sync::Arc;

use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, DiscoverResult, Implementation,
    ListToolsResult, PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler};

use super::settings::Settings;
use super::{calls, tools};

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

    async fn discover(
        &self,
        _context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, ErrorData> {
        // What discovery says (versions, capabilities, the ceiling in the instructions) is
        // fixed for the server's life, like the tool list: the same hints.
        Ok(DiscoverResult::from_server_info(
            self.supported_protocol_versions().into_owned(),
            self.get_info(),
        )
        .with_ttl_ms(tools::LIST_TTL_MS)
        .with_cache_scope(CacheScope::Public))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(tools::list(
            self.settings.tools(),
            speaks_cache_hints(&context),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let settings = &self.settings;
        let context = &context;
        let arguments = request.arguments;
        let result = match request.name.as_ref() {
            tools::QUERY => {
                let retry = calls::Retry {
                    state: request.request_state,
                    responses: request.input_responses,
                };
                return Ok(calls::query(settings, context, arguments, retry).await);
            }
            tools::INTROSPECT => calls::introspect(settings, context, arguments).await,
            tools::LIST_CONNECTIONS => calls::list_connections(settings, context, arguments).await,
            tools::LIST_ENGINES => calls::list_engines(settings, context, arguments).await,
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

/// Whether the request's peer speaks 2026-07-28 or later, the first revision with cache hints.
fn speaks_cache_hints(context: &RequestContext<RoleServer>) -> bool {
    // Revisions are ISO dates: they compare as strings in time order.
    context
        .protocol_version()
        .is_some_and(|version| version.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}
