//! A human in the loop for writes: a `query` call that asks for a tier above the server's
//! ceiling is put to the client's user through MCP elicitation (`elicitation/create`, form
//! mode), when the human who started the server allowed it (`plenum mcp --approve-up-to`).
//!
//! Why a model cannot approve its own call: the answer is the client's reply to a request the
//! server sends it, produced by the client's elicitation handler (its user interface), never
//! read from tool arguments, which are all a model writes. The request is made inside the call
//! in flight and awaited there, so an approval has nothing to keep or replay: it covers that
//! call's SQL, values and target, once. It raises only the server's own ceiling, only for that
//! call; every other ceiling, the gate, the reach check and the limits still apply (the caller
//! runs the call through the same pipeline).

use std::time::Duration;

use plenum_gate::{Statement, Tier};
use rmcp::model::{
    ClientResult, ElicitRequest, ElicitRequestParams, ElicitationAction, ElicitationSchema,
    ProtocolVersion, ServerRequest,
};
use rmcp::service::{PeerRequestOptions, RequestContext, RoleServer, ServiceError};
use serde_json::{json, Value as Json};

use plenum_core::services::connection::ConnectionSpec;

/// What the human who started the server allowed to be approved, and how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approvals {
    /// The highest tier a human may approve (at least the server's ceiling).
    pub up_to: Tier,
    /// How long the server waits for the answer before refusing the call.
    pub wait: Duration,
}

impl Approvals {
    /// The default wait: long enough to read a few statements, short enough that a dialog
    /// nobody looks at does not hold a call (and its client) for ever.
    pub const DEFAULT_WAIT_SECS: u64 = 300;
}

/// The most characters of SQL and bound values shown to the human. Beyond it the call is
/// refused without asking: cutting the text would ask the human to approve what they cannot
/// see.
const MAX_SHOWN_CHARS: usize = 8_000;

/// The longest piece of a client's error quoted in a refusal.
const MAX_QUOTED_ERROR: usize = 200;

/// What the human is asked to approve.
pub struct Shown<'a> {
    /// The gate's statements, as it classified them.
    pub statements: &'a [Statement],
    /// The bound values, as the call sent them.
    pub params: &'a [Json],
    /// Where the call connects, without secrets ([`target`]).
    pub target: String,
    /// The tier the call asks for.
    pub tier: Tier,
    /// The server's ceiling, which the approval raises for this call.
    pub ceiling: Tier,
}

/// Whether the client of this call can ask its user, or why not.
pub fn can_ask(context: &RequestContext<RoleServer>) -> Result<(), String> {
    // Protocol 2026-07-28 forbids server-to-client requests: a server asks by answering the
    // call with an input-required result and the client retries it. Plenum does not do that
    // yet, so such a client is told how to be asked rather than left waiting.
    if context
        .protocol_version()
        .is_some_and(|version| version >= ProtocolVersion::V_2026_07_28)
    {
        return Err(
            "the client cannot ask a human on protocol 2026-07-28, where this server cannot \
             send it an elicitation request (connect with protocol 2025-11-25 or earlier to be \
             asked)"
                .to_owned(),
        );
    }
    let elicitation = context
        .client_capabilities()
        .and_then(|capabilities| capabilities.elicitation);
    // A capability naming neither mode is form mode (the 2025-06-18 shape).
    let form = elicitation.is_some_and(|modes| modes.form.is_some() || modes.url.is_none());
    if form {
        Ok(())
    } else {
        Err(
            "the client cannot ask a human: it did not declare the elicitation capability \
             (form mode), so no one was asked"
                .to_owned(),
        )
    }
}

/// Asks the client's user to approve `shown`, waiting at most `wait`, and stops waiting when
/// the call is cancelled. `Ok` only for an accept whose content is exactly `{"approve":
/// true}`; otherwise why not, in words that follow "the ceiling is …;".
pub async fn ask(
    context: &RequestContext<RoleServer>,
    wait: Duration,
    shown: &Shown<'_>,
) -> Result<(), String> {
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message(shown)?,
        requested_schema: schema(shown.tier)?,
    };
    let request = ServerRequest::from(ElicitRequest::new(params));
    // rmcp's own timeout is not used: on a timeout or a cancel the server also tells the
    // client to close its dialog (notifications/cancelled), which needs the request's handle.
    let mut handle = context
        .peer
        .send_cancellable_request(request, PeerRequestOptions::no_options())
        .await
        .map_err(|error| could_not_ask(&error))?;
    let waited = tokio::select! {
        biased;
        () = context.ct.cancelled() => Waited::Cancelled,
        answer = &mut handle.rx => Waited::Answered(answer),
        () = tokio::time::sleep(wait) => Waited::TimedOut,
    };
    let answer = match waited {
        Waited::Answered(answer) => answer,
        Waited::Cancelled => {
            // Best effort: the call is over either way, and a late answer is ignored.
            let _ = handle
                .cancel(Some("the tool call was cancelled".to_owned()))
                .await;
            return Err("the client cancelled the call while its user was asked".to_owned());
        }
        Waited::TimedOut => {
            let _ = handle
                .cancel(Some("no answer in time; the call was refused".to_owned()))
                .await;
            return Err(format!(
                "no one answered the approval request within {} s",
                wait.as_secs()
            ));
        }
    };
    match answer {
        Ok(Ok(ClientResult::ElicitResult(result))) => match result.action {
            ElicitationAction::Accept if approves(result.content.as_ref()) => Ok(()),
            ElicitationAction::Accept => Err(
                "the human did not approve (the answer was not exactly {\"approve\": true})"
                    .to_owned(),
            ),
            ElicitationAction::Decline => Err("the human declined to approve this call".to_owned()),
            ElicitationAction::Cancel => {
                Err("the human cancelled the approval request without approving".to_owned())
            }
            // A new action (the enum is open) is not an approval.
            _ => Err("the client's answer was not an approval".to_owned()),
        },
        Ok(Ok(_)) => Err("the client's answer was not an elicitation result".to_owned()),
        Ok(Err(error)) => Err(could_not_ask(&error)),
        Err(_) => Err("the client went away before answering".to_owned()),
    }
}

/// How the wait for the answer ended.
enum Waited {
    Answered(Result<Result<ClientResult, ServiceError>, tokio::sync::oneshot::error::RecvError>),
    Cancelled,
    TimedOut,
}

/// The only answer that approves: `{"approve": true}` and nothing else. Anything looser (an
/// extra field, `"true"` as a string, a missing field) is refused: a client that answers
/// outside the schema it was given is not showing its user what was asked.
fn approves(content: Option<&Json>) -> bool {
    content == Some(&json!({"approve": true}))
}

fn could_not_ask(error: &ServiceError) -> String {
    let text: String = error.to_string().chars().take(MAX_QUOTED_ERROR).collect();
    format!("the client could not ask its user ({})", display(&text))
}

/// The form: one boolean. Anything richer would be something a human could misread.
fn schema(tier: Tier) -> Result<ElicitationSchema, String> {
    let schema = json!({
        "type": "object",
        "properties": {
            "approve": {
                "type": "boolean",
                "title": "Approve",
                "description": format!("Run this call once with the {} tier", tier.as_str()),
                "default": false
            }
        },
        "required": ["approve"]
    });
    match schema {
        Json::Object(object) => ElicitationSchema::from_json_schema(object)
            .map_err(|error| format!("the approval form could not be built ({error})")),
        _ => Err("the approval form could not be built".to_owned()),
    }
}

/// The text the human reads: who asks for what, where, and every statement with the gate's
/// verdict. Everything the call supplied (SQL, values, file, host, names) is quoted with
/// control and invisible characters escaped, so it cannot lay out text that looks like more
/// of the message (a fake statement line, a reversed word).
fn message(shown: &Shown<'_>) -> Result<String, String> {
    let values = if shown.params.is_empty() {
        String::new()
    } else {
        serde_json::to_string(shown.params).unwrap_or_default()
    };
    let length = shown
        .statements
        .iter()
        .map(|statement| statement.sql.chars().count())
        .sum::<usize>()
        + values.chars().count();
    if length > MAX_SHOWN_CHARS {
        return Err(format!(
            "the call is too long to show a human in full ({length} characters of SQL and \
             values; at most {MAX_SHOWN_CHARS}), so no one was asked"
        ));
    }
    let tier = shown.tier.as_str();
    let mut text = format!(
        "An AI agent asks Plenum to run one query with the {tier} tier ({}). This MCP server \
         allows the {} tier unless you approve this call.\n\nTarget: {}\n\nStatements, as \
         Plenum's gate classified them:\n",
        match shown.tier {
            Tier::Ddl => "allow_ddl",
            _ => "allow_write",
        },
        shown.ceiling.as_str(),
        shown.target
    );
    for (index, statement) in shown.statements.iter().enumerate() {
        text.push_str(&format!(
            "{}. {} (tier {}{})\n   {}\n",
            index + 1,
            display(&statement.kind),
            statement.tier.as_str(),
            statement
                .cause
                .as_deref()
                .map(|cause| format!(": {}", display(cause)))
                .unwrap_or_default(),
            quoted(&statement.sql)
        ));
    }
    if !values.is_empty() {
        text.push_str(&format!("Bound values: {}\n", display(&values)));
    }
    text.push_str(&format!(
        "\nApproving runs exactly this, once, in one transaction, with the {tier} tier for this \
         call only; the database's own rights and Plenum's other limits still apply."
    ));
    Ok(text)
}

/// Where the call connects, in words, without secrets: the engine, the saved connection's
/// name, the file or the server, user and database. Never the password, TLS files or engine
/// options.
pub fn target(spec: &ConnectionSpec, saved: Option<&str>) -> String {
    let mut parts = vec![display(&spec.engine)];
    if let Some(name) = saved {
        parts.push(format!("saved connection {}", quoted(name)));
    }
    if let Some(file) = &spec.file {
        parts.push(format!("file {}", quoted(&file.to_string_lossy())));
    }
    if let Some(host) = &spec.host {
        let server = match spec.port {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        parts.push(format!("server {}", quoted(&server)));
    }
    if let Some(user) = &spec.user {
        parts.push(format!("user {}", quoted(user)));
    }
    if let Some(database) = &spec.database {
        parts.push(format!("database {}", quoted(database)));
    }
    parts.join(", ")
}

/// `text` in double quotes, with quotes, backslashes, control and invisible characters
/// escaped.
fn quoted(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{}\"", display(&escaped))
}

/// `text` with control characters (line breaks too) and invisible or direction-changing
/// characters written as escapes, so what a human reads is what the text holds.
fn display(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || invisible(c) => {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Format characters that change how text around them looks: zero-width ones, direction
/// marks, embeddings, overrides and isolates, the soft hyphen and the byte-order mark.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exactly_approve_true_approves() {
        assert!(approves(Some(&json!({"approve": true}))));
        for answer in [
            json!({"approve": false}),
            json!({"approve": "true"}),
            json!({"approve": 1}),
            json!({"approve": true, "also": "DROP TABLE x"}),
            json!({}),
            json!([true]),
            json!(true),
        ] {
            assert!(!approves(Some(&answer)), "{answer}");
        }
        assert!(!approves(None));
    }

    #[test]
    fn shown_text_cannot_fake_lines_or_reverse_words() {
        assert_eq!(
            quoted("a\"b\\c\nd\u{202E}e\u{200B}"),
            "\"a\\\"b\\\\c\\nd\\u{202e}e\\u{200b}\""
        );
        assert_eq!(display("x\u{0007}"), "x\\u{0007}");
    }

    #[test]
    fn the_schema_is_one_boolean() {
        let schema = schema(Tier::Write).map(|s| serde_json::to_value(s).unwrap_or_default());
        let schema = schema.unwrap_or_default();
        assert_eq!(
            schema["properties"]["approve"]["type"], "boolean",
            "{schema}"
        );
        assert_eq!(schema["required"], json!(["approve"]), "{schema}");
        assert_eq!(schema["properties"].as_object().map(|p| p.len()), Some(1));
    }
}
