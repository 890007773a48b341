//! Each tool call: arguments → the same request the CLI builds → the shared pipeline on a
//! blocking thread → the CLI's envelope as the tool result.

use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolResponse, CallToolResult, ContentBlock, InputResponses, JsonObject, ProtocolVersion,
};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{json, Value as Json};

use super::arguments::{self, has_direct_fields, ListConnectionsArguments, NoArguments};
use super::settings::Settings;
use super::{approval, log, tools, wording};
use plenum_core::commands::introspect::{IntrospectSpec, IntrospectWhat};
use plenum_core::pipeline::exec::{OnStuck, CANCEL_GRACE};
use plenum_core::pipeline::request::{QueryInput, QueryMode, QueryRequest, Response};
use plenum_core::services::capability::{enforce, Ceiling};
use plenum_core::services::connection::{ConnectionArgs, ConnectionSpec};
use plenum_core::services::error::Failure;
use plenum_core::services::options::{Given, Values, CONNECTION, INTROSPECT, QUERY};
use plenum_core::services::plugins::Registry;
use plenum_core::services::sanitize::Sanitizer;
use plenum_gate::Tier;

/// The source named in errors when the server's ceiling refuses a call.
pub const CEILING_SOURCE: &str = "plenum mcp";

/// The source of the server's ceiling raised for one call by its user's approval (never the
/// lowest ceiling a call exceeds, since it equals the tier asked for: named for the record).
const APPROVED_SOURCE: &str = "plenum mcp, raised for this call by its user's approval";

/// Time beyond the call's timeout and the cancel grace before the server stops waiting:
/// covers loading the plugin and connecting, which run before the watchdog starts.
const WAIT_MARGIN: Duration = Duration::from_secs(2);

/// The longest a call that has no timeout argument (listing engines, connections) may take.
const LISTING_BUDGET: Duration = Duration::from_secs(30);

/// What a retried call carries beyond its arguments (protocol 2026-07-28): its user's answers
/// and the state of the input-required result it answers.
#[derive(Default)]
pub struct Retry {
    pub state: Option<String>,
    pub responses: Option<InputResponses>,
}

/// Runs the `query` tool; on protocol 2026-07-28 a call that needs its user's approval is
/// answered with an input-required result instead.
pub async fn query(
    settings: &Settings,
    context: &RequestContext<RoleServer>,
    arguments: Option<JsonObject>,
    retry: Retry,
) -> CallToolResponse {
    let started = Instant::now();
    let mut sanitizer = Sanitizer::new();
    let schema = settings.input_schema(tools::QUERY);
    // Kept to bind an approval to the exact call its user was shown.
    let call = Call {
        arguments: arguments.clone(),
        retry,
    };
    let prepared =
        arguments::parse_options(&schema, arguments, &[CONNECTION, QUERY]).and_then(|values| {
            let request = query_request(settings, &values, &mut sanitizer)?;
            Ok((request, values))
        });
    let (mut request, values) = match prepared {
        Ok(prepared) => prepared,
        Err(failure) => {
            return finish(
                context,
                tools::QUERY,
                started,
                Response::failure(None, "query", failure, sanitizer),
            )
            .into()
        }
    };
    let engine = request.connection.engine.clone();
    // The server's own ceiling, or, above it, what the client's user approves for this call.
    let ceiling = match server_ceiling_for(settings, context, &request, &values, &call).await {
        Ok(Decision::Run(ceiling)) => ceiling,
        Ok(Decision::Ask(input_required)) => {
            return CallToolResponse::InputRequired(input_required)
        }
        Err(failure) => {
            return finish(
                context,
                tools::QUERY,
                started,
                Response::failure(Some(engine), "query", failure, sanitizer),
            )
            .into()
        }
    };
    request.ceilings.push(ceiling);
    let budget = wait_budget(request.limits.timeout);
    let on_stuck = log_when_stuck(engine.clone(), request.limits.timeout);
    let pipeline_sanitizer = sanitizer.clone();
    let response = settings
        .run_blocking(context, budget, move || {
            plenum_core::commands::query::run_query(request, pipeline_sanitizer, on_stuck)
        })
        .await
        .unwrap_or_else(|failure| Response::failure(Some(engine), "query", failure, sanitizer));
    finish(context, tools::QUERY, started, response).into()
}

/// Runs the `introspect` tool.
pub async fn introspect(
    settings: &Settings,
    context: &RequestContext<RoleServer>,
    arguments: Option<JsonObject>,
) -> CallToolResult {
    let started = Instant::now();
    let mut sanitizer = Sanitizer::new();
    let schema = settings.input_schema(tools::INTROSPECT);
    let prepared = arguments::parse_options(&schema, arguments, &[CONNECTION, INTROSPECT])
        .and_then(|values| introspect_spec(settings, &values, &mut sanitizer));
    let spec = match prepared {
        Ok(spec) => spec,
        Err(failure) => {
            return finish(
                context,
                tools::INTROSPECT,
                started,
                Response::failure(None, "introspect", failure, sanitizer),
            )
        }
    };
    let engine = spec.connection.engine.clone();
    let budget = wait_budget(spec.timeout);
    let on_stuck = log_when_stuck(engine.clone(), spec.timeout);
    let pipeline_sanitizer = sanitizer.clone();
    let response = settings
        .run_blocking(context, budget, move || {
            plenum_core::commands::introspect::run_introspect(spec, pipeline_sanitizer, on_stuck)
        })
        .await
        .unwrap_or_else(|failure| {
            Response::failure(Some(engine), "introspect", failure, sanitizer)
        });
    finish(context, tools::INTROSPECT, started, response)
}

/// Runs the `list_connections` tool: the same data as `plenum connect --list`.
pub async fn list_connections(
    settings: &Settings,
    context: &RequestContext<RoleServer>,
    arguments: Option<JsonObject>,
) -> CallToolResult {
    let started = Instant::now();
    let schema = settings.input_schema(tools::LIST_CONNECTIONS);
    let parsed = match arguments::parse::<ListConnectionsArguments>(&schema, arguments) {
        Ok(parsed) => parsed,
        Err(failure) => {
            return finish(
                context,
                tools::LIST_CONNECTIONS,
                started,
                Response::failure(None, "connect", failure, Sanitizer::new()),
            )
        }
    };
    // Reading config files, and testing a connection, is blocking work. A test may take the
    // default timeout to connect.
    let response = match parsed.test {
        None => {
            settings
                .run_blocking(context, LISTING_BUDGET, list_saved_connections)
                .await
        }
        Some(name) => {
            settings
                .run_blocking(context, TEST_BUDGET, move || test_saved_connection(&name))
                .await
        }
    }
    .unwrap_or_else(|failure| Response::failure(None, "connect", failure, Sanitizer::new()));
    finish(context, tools::LIST_CONNECTIONS, started, response)
}

/// Time a `list_connections` call with `test` may take: a connect and a few catalog reads
/// within the default query timeout.
const TEST_BUDGET: Duration =
    Duration::from_millis(plenum_core::pipeline::exec::Limits::DEFAULT_TIMEOUT_MS + 5_000);

/// The saved connection `name` opened read-only: the server and the login's powers (what
/// `plenum connect --test --connection NAME` answers).
fn test_saved_connection(name: &str) -> Response {
    let mut values = Values::new();
    values.set("connection", Given::Text(name.to_owned()));
    values.set("test", Given::Flag(true));
    plenum_core::commands::connect::connect(
        plenum_core::commands::connect::ConnectArgs::from_values(&values),
    )
}

/// The saved connections (what `plenum connect --list` answers).
fn list_saved_connections() -> Response {
    plenum_core::commands::connect::list_saved()
}

/// Runs the `list_engines` tool: the same data as `plenum plugins`.
pub async fn list_engines(
    settings: &Settings,
    context: &RequestContext<RoleServer>,
    arguments: Option<JsonObject>,
) -> CallToolResult {
    let started = Instant::now();
    let schema = settings.input_schema(tools::LIST_ENGINES);
    if let Err(failure) = arguments::parse::<NoArguments>(&schema, arguments) {
        return finish(
            context,
            tools::LIST_ENGINES,
            started,
            Response::failure(None, "plugins", failure, Sanitizer::new()),
        );
    }
    // Loading a plugin runs its code: off the async workers like any engine work.
    let response = settings
        .run_blocking(context, LISTING_BUDGET, || {
            let registry = Registry::discover();
            Response::data(
                None,
                "plugins",
                &json!({ "plugins": registry.list(), "search_path": registry.dirs() }),
                None,
                Sanitizer::new(),
            )
        })
        .await
        .unwrap_or_else(|failure| Response::failure(None, "plugins", failure, Sanitizer::new()));
    finish(context, tools::LIST_ENGINES, started, response)
}

/// The request of a `query` call, with every ceiling in force but the server's own, which
/// [`server_ceiling_for`] decides.
fn query_request(
    settings: &Settings,
    values: &Values,
    sanitizer: &mut Sanitizer,
) -> Result<QueryRequest, Failure> {
    let (connection, ceilings) = resolve_connection(settings, values, sanitizer)?;
    Ok(QueryInput::from_values(values)?.at(connection, ceilings))
}

/// A `query` call as it arrived: its arguments, and what a retry carries beyond them.
struct Call {
    arguments: Option<JsonObject>,
    retry: Retry,
}

/// What [`server_ceiling_for`] decided: run under a ceiling, or ask the client's user first
/// (protocol 2026-07-28: the call's answer is the question).
enum Decision {
    Run(Ceiling),
    Ask(rmcp::model::InputRequiredResult),
}

/// The server's ceiling for this call: the one its human set, unless the call asks for more,
/// a run, within `--approve-up-to`, and the client's user approves it; then the tier asked
/// for, for this call only. A refusal on the way is the call's answer.
async fn server_ceiling_for(
    settings: &Settings,
    context: &RequestContext<RoleServer>,
    request: &QueryRequest,
    values: &Values,
    call: &Call,
) -> Result<Decision, Failure> {
    let approvals = match settings.approvals() {
        Some(approvals) if request.requested > settings.ceiling() => approvals,
        _ => return Ok(Decision::Run(server_ceiling(settings))),
    };
    // A check or a plan runs nothing to approve; they get the server's ceiling as they are.
    if request.mode != QueryMode::Run {
        return Ok(Decision::Run(server_ceiling(settings)));
    }
    if request.requested > approvals.up_to {
        return Err(refusal(
            settings,
            request,
            &format!(
                "a human may approve calls up to the {} tier only, so no one was asked",
                approvals.up_to.as_str()
            ),
        ));
    }
    let raised = Ceiling {
        tier: request.requested,
        source: APPROVED_SOURCE.to_owned(),
    };
    // What the human is shown is what the pipeline's own checks make of the call with the
    // raised ceiling: a call they would refuse anyway (another ceiling, the gate, an unknown
    // engine) is answered with that refusal and no one is asked. A retry is checked again:
    // nothing about the call is taken from the first round.
    let mut preview = request.clone();
    preview.ceilings.push(raised.clone());
    let statements = settings
        .run_blocking(context, LISTING_BUDGET, move || {
            plenum_core::commands::query::classify(&preview)
        })
        .await??;
    // A retry answers an approval asked for earlier: judged against what was kept, once.
    if let Some(state) = &call.retry.state {
        let answer = settings.pending().answer(
            state,
            call.retry.responses.as_ref(),
            &call.arguments,
            request.requested,
        );
        return judged(
            answer,
            "the retry with its user's answer",
            request.requested,
        )
        .map(|()| Decision::Run(raised))
        .map_err(|why| refusal(settings, request, &why));
    }
    if call.retry.responses.is_some() {
        return Err(refusal(
            settings,
            request,
            "the call carried answers but not the request state they answer, so they approve \
             nothing",
        ));
    }
    approval::can_ask(context).map_err(|why| refusal(settings, request, &why))?;
    let params = match values.get("params") {
        Some(Given::ParamValues(params)) => params.clone(),
        _ => Vec::new(),
    };
    let shown = approval::Shown {
        statements: &statements,
        params: &params,
        target: approval::target(&request.connection, values.text("connection").as_deref()),
        tier: request.requested,
        ceiling: settings.ceiling(),
    };
    if speaks_input_required(context) {
        // Nothing waits here: the client asks its user and retries the call.
        log(&format!(
            "query: asking the client's user to approve one call with the {} tier (input \
             required; the answer may come for {} s)",
            request.requested.as_str(),
            approvals.wait.as_secs()
        ));
        return settings
            .pending()
            .ask(&call.arguments, &shown, approvals.wait)
            .map(Decision::Ask)
            .map_err(|why| refusal(settings, request, &why));
    }
    let asked = Instant::now();
    log(&format!(
        "query: asking the client's user to approve one call with the {} tier",
        request.requested.as_str()
    ));
    let answer = approval::ask(context, approvals.wait, &shown).await;
    judged(
        answer,
        &format!("after {} ms", asked.elapsed().as_millis()),
        request.requested,
    )
    .map(|()| Decision::Run(raised))
    .map_err(|why| refusal(settings, request, &why))
}

/// Logs the verdict on an approval (the reason, not the call: tool arguments are never
/// logged) and passes it on.
fn judged(answer: Result<(), String>, when: &str, tier: Tier) -> Result<(), String> {
    log(&format!(
        "query: {} ({when})",
        match &answer {
            Ok(()) => format!("the user approved the call with the {} tier", tier.as_str()),
            Err(why) => format!("not approved: {why}"),
        }
    ));
    answer
}

/// Whether the call's client speaks 2026-07-28 or later, where a server asks its client by
/// answering with an input-required result (no request from server to client is allowed).
fn speaks_input_required(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|version| version >= ProtocolVersion::V_2026_07_28)
}

/// The server ceiling's refusal of `request`, followed by why no human raised it.
fn refusal(settings: &Settings, request: &QueryRequest, why: &str) -> Failure {
    let ceiling = enforce(request.requested, &[server_ceiling(settings)])
        .err()
        .map(|failure| failure.message)
        .unwrap_or_default();
    Failure::capability(format!("{ceiling}; {why}; nothing ran"))
}

fn introspect_spec(
    settings: &Settings,
    values: &Values,
    sanitizer: &mut Sanitizer,
) -> Result<IntrospectSpec, Failure> {
    // What to describe is checked before connecting: a call that contradicts itself needs
    // no server.
    IntrospectWhat::from_values(values)?;
    let (connection, mut ceilings) = resolve_connection(settings, values, sanitizer)?;
    ceilings.push(server_ceiling(settings));
    IntrospectSpec::from_values(values, connection, ceilings)
}

fn server_ceiling(settings: &Settings) -> Ceiling {
    Ceiling {
        tier: settings.ceiling(),
        source: CEILING_SOURCE.to_owned(),
    }
}

/// Resolves the connection arguments into a target and every ceiling in force for it
/// (`PLENUM_MAX_CAPABILITY`, a saved connection's), through the same resolution as the CLI.
/// Secrets resolved here are registered with `sanitizer`.
fn resolve_connection(
    settings: &Settings,
    values: &Values,
    sanitizer: &mut Sanitizer,
) -> Result<(ConnectionSpec, Vec<Ceiling>), Failure> {
    let fields = ConnectionArgs::from_values(values);
    if fields.connection.is_some() && has_direct_fields(values) {
        return Err(Failure::invalid_input(
            "`connection` names a saved connection, which is used exactly as saved: leave \
             out engine, file, host, port, user, database, password_env, ssl_mode and ssl_ca",
        ));
    }
    if fields.connection.is_none() && fields.engine.is_none() && has_direct_fields(values) {
        return Err(Failure::invalid_input(
            "connection fields without `engine`: pass `engine` (see list_engines) or \
             `connection` (see list_connections)",
        ));
    }
    if let Some(variable) = &fields.password_env {
        if !settings.allows_password_env(variable) {
            let allowed = if settings.password_envs().is_empty() {
                "none were named".to_owned()
            } else {
                format!("allowed: {}", settings.password_envs().join(", "))
            };
            return Err(Failure::invalid_input(format!(
                "password_env '{variable}' is not allowed: this server accepts only variables \
                 the human who started it named ({allowed})"
            )));
        }
    }
    // No DSN and no ceilings: MCP offers neither (a DSN could carry a password, and
    // passwords never come through arguments; ceilings are a human's).
    let args = fields;
    let resolved = plenum_core::services::connection::resolve(&args, sanitizer)?;
    Ok((resolved.spec, resolved.ceilings))
}

/// How long to wait for a call whose watchdog fires after `timeout`.
fn wait_budget(timeout: Duration) -> Duration {
    timeout
        .saturating_add(CANCEL_GRACE)
        .saturating_add(WAIT_MARGIN)
}

/// In the server a plugin that ignores a cancel must not end the process: note it and let
/// the call's own wait budget answer TIMEOUT.
fn log_when_stuck(engine: String, timeout: Duration) -> OnStuck {
    Box::new(move || {
        log(&format!(
            "a {engine} call passed its timeout of {} ms and did not stop when cancelled; its \
             thread is abandoned",
            timeout.as_millis()
        ));
    })
}

/// The tool result for `response`: the envelope as `structuredContent`, the same JSON as
/// text, and `isError` when it failed. A call whose request was cancelled is noted in the log
/// (its result is dropped: a cancelled request gets no answer).
fn finish(
    context: &RequestContext<RoleServer>,
    tool: &str,
    started: Instant,
    response: Response,
) -> CallToolResult {
    let ok = response.ok();
    let text = response.to_json(&wording::word);
    let structured: Json = serde_json::from_str(&text).unwrap_or_else(|error| {
        json!({"ok": false, "engine": null, "command": tool,
               "error": {"code": "INTERNAL_ERROR", "message": format!("cannot render the result: {error}")}})
    });
    let code = structured["error"]["code"]
        .as_str()
        .unwrap_or("INTERNAL_ERROR");
    // Also set when the session ended with the call still running: rmcp then cancels it too.
    if context.ct.is_cancelled() {
        log(&format!(
            "{tool}: cancelled by the client; stopped after {} ms ({}); no answer is sent",
            started.elapsed().as_millis(),
            if ok { "it had finished" } else { code }
        ));
    } else if !ok {
        log(&format!(
            "{tool}: {code} after {} ms",
            started.elapsed().as_millis()
        ));
    }
    // The envelope's text is the content as it is; `CallToolResult::structured` would render
    // the parsed value to text a second time.
    let content = vec![ContentBlock::text(text)];
    let mut result = if ok {
        CallToolResult::success(content)
    } else {
        CallToolResult::error(content)
    };
    result.structured_content = Some(structured);
    result
}
