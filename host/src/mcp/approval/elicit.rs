//! Asking through an `elicitation/create` request sent to the client in the middle of the
//! call (protocol 2025-11-25 and earlier): the call waits for the answer, so an approval has
//! nothing to keep or replay.

use std::time::Duration;

use rmcp::model::{ClientResult, ElicitRequest, ServerRequest};
use rmcp::service::{PeerRequestOptions, RequestContext, RoleServer, ServiceError};

use super::{form, Shown};

/// The longest piece of a client's error quoted in a refusal.
const MAX_QUOTED_ERROR: usize = 200;

/// Asks the client's user to approve `shown`, waiting at most `wait`, and stops waiting when
/// the call is cancelled. `Ok` only for an approval ([`form::verdict`]); otherwise why not, in
/// words that follow "the ceiling is …;".
pub async fn ask(
    context: &RequestContext<RoleServer>,
    wait: Duration,
    shown: &Shown<'_>,
) -> Result<(), String> {
    let request = ServerRequest::from(ElicitRequest::new(form::request(shown)?));
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
        Ok(Ok(ClientResult::ElicitResult(result))) => form::verdict(&result),
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

fn could_not_ask(error: &ServiceError) -> String {
    let text: String = error.to_string().chars().take(MAX_QUOTED_ERROR).collect();
    format!(
        "the client could not ask its user ({})",
        form::display(&text)
    )
}
