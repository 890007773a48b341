//! What the human is shown and the only answer that approves: the form (one boolean), the
//! message (every statement with the gate's verdict, everything the call supplied quoted and
//! escaped), and the verdict on the client's answer. Both ways of asking use it: an
//! `elicitation/create` request (protocol 2025-11-25 and earlier, [`super::elicit`]) and an
//! input-required result (2026-07-28, [`super::input_required`]).

use plenum_gate::Tier;
use rmcp::model::{ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema};
use serde_json::{json, Value as Json};

use plenum_core::services::connection::ConnectionSpec;

use super::Shown;

/// The most characters of SQL and bound values shown to the human. Beyond it the call is
/// refused without asking: cutting the text would ask the human to approve what they cannot
/// see.
const MAX_SHOWN_CHARS: usize = 8_000;

/// The elicitation request that asks the human to approve `shown`: the message and the form.
pub fn request(shown: &Shown<'_>) -> Result<ElicitRequestParams, String> {
    Ok(ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message(shown)?,
        requested_schema: schema(shown.tier)?,
    })
}

/// The verdict on the human's answer: `Ok` only for an accept whose content is exactly
/// `{"approve": true}`; otherwise why not, in words that follow "the ceiling is …;".
pub fn verdict(result: &ElicitResult) -> Result<(), String> {
    match result.action {
        ElicitationAction::Accept if approves(result.content.as_ref()) => Ok(()),
        ElicitationAction::Accept => Err(
            "the human did not approve (the answer was not exactly {\"approve\": true})".to_owned(),
        ),
        ElicitationAction::Decline => Err("the human declined to approve this call".to_owned()),
        ElicitationAction::Cancel => {
            Err("the human cancelled the approval request without approving".to_owned())
        }
        // A new action (the enum is open) is not an approval.
        _ => Err("the client's answer was not an approval".to_owned()),
    }
}

/// The only answer that approves: `{"approve": true}` and nothing else. Anything looser (an
/// extra field, `"true"` as a string, a missing field) is refused: a client that answers
/// outside the schema it was given is not showing its user what was asked.
fn approves(content: Option<&Json>) -> bool {
    content == Some(&json!({"approve": true}))
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
pub fn display(text: &str) -> String {
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
