//! Asking on protocol 2026-07-28, which allows no request from server to client: the call is
//! answered with an input-required result carrying the elicitation request and an opaque
//! `requestState`; the client asks its user and retries the same call with the answer and
//! that state.
//!
//! The state is a handle to what the server keeps, never the approval itself: random, single
//! use, expiring after the approval wait, and bound to the exact arguments of the call its
//! user was shown. A retry whose arguments differ, a handle that is unknown, used or expired,
//! or an answer without a handle approves nothing; the human must be asked again.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use plenum_gate::Tier;
use rmcp::model::{
    ElicitRequest, ElicitResult, InputRequest, InputRequests, InputRequiredResult, InputResponses,
    JsonObject,
};

use super::{form, Shown};

/// The key of the one input request, and of the one answer a retry may carry.
const KEY: &str = "approval";

/// Approvals waiting for an answer at once, across every client of the server. Beyond it a
/// call is refused rather than asked: the store stays bounded whatever clients do.
const MAX_WAITING: usize = 64;

/// The approvals this server asked for and has not yet seen answered.
#[derive(Default)]
pub struct Pending {
    waiting: Mutex<HashMap<String, Waiting>>,
}

/// What a retry must match to be judged.
struct Waiting {
    arguments: Option<JsonObject>,
    tier: Tier,
    asked: Instant,
    wait: Duration,
}

impl Pending {
    /// The answer to a call that needs its user's approval of `shown`: an input-required
    /// result, and a handle kept for `wait` that only a retry with the same `arguments` can
    /// use, once.
    pub fn ask(
        &self,
        arguments: &Option<JsonObject>,
        shown: &Shown<'_>,
        wait: Duration,
    ) -> Result<InputRequiredResult, String> {
        let request = ElicitRequest::new(form::request(shown)?);
        let handle = new_handle()?;
        let now = Instant::now();
        let mut waiting = self.lock();
        waiting.retain(|_, pending| now.duration_since(pending.asked) <= pending.wait);
        if waiting.len() >= MAX_WAITING {
            return Err(format!(
                "{MAX_WAITING} approvals are already waiting for an answer, so no one was asked"
            ));
        }
        waiting.insert(
            handle.clone(),
            Waiting {
                arguments: arguments.clone(),
                tier: shown.tier,
                asked: now,
                wait,
            },
        );
        let mut requests = InputRequests::new();
        requests.insert(KEY.to_owned(), InputRequest::Elicitation(request));
        Ok(InputRequiredResult::new(Some(requests), Some(handle)))
    }

    /// The verdict on a retry carrying `state` and `responses`, for a call with `arguments`
    /// asking for `tier`. The handle is spent whatever the verdict.
    pub fn answer(
        &self,
        state: &str,
        responses: Option<&InputResponses>,
        arguments: &Option<JsonObject>,
        tier: Tier,
    ) -> Result<(), String> {
        let Some(pending) = self.lock().remove(state) else {
            return Err(
                "the approval the retry answers is unknown or was already used, so it approves \
                 nothing"
                    .to_owned(),
            );
        };
        if pending.asked.elapsed() > pending.wait {
            return Err(format!(
                "no one answered the approval request within {} s",
                pending.wait.as_secs()
            ));
        }
        if pending.arguments != *arguments || pending.tier != tier {
            return Err(
                "the retry's arguments differ from the call its user was asked about".to_owned(),
            );
        }
        let answer = match responses {
            Some(responses) if responses.len() == 1 => responses.get(KEY),
            _ => None,
        };
        let Some(answer) = answer else {
            return Err(format!(
                "the retry did not carry exactly one answer, to the request {KEY:?}"
            ));
        };
        let result: ElicitResult = serde_json::from_value(answer.clone())
            .map_err(|_| "the client's answer was not an elicitation result".to_owned())?;
        form::verdict(&result)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Waiting>> {
        // The map holds no invariant a panic elsewhere could break halfway.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// 128 bits from the operating system, in hex: a handle no client can guess.
fn new_handle() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|_| "no random handle could be made, so no one was asked".to_owned())?;
    let mut handle = String::from("plenum-approval-");
    for byte in bytes {
        let _ = write!(handle, "{byte:02x}");
    }
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shown() -> Shown<'static> {
        Shown {
            statements: &[],
            params: &[],
            target: "sqlite".to_owned(),
            tier: Tier::Write,
            ceiling: Tier::Read,
        }
    }

    fn arguments(sql: &str) -> Option<JsonObject> {
        json!({"sql": sql, "allow_write": true})
            .as_object()
            .cloned()
    }

    fn approval() -> InputResponses {
        let mut responses = InputResponses::new();
        responses.insert(
            KEY.to_owned(),
            json!({"action": "accept", "content": {"approve": true}}),
        );
        responses
    }

    fn ask(pending: &Pending, sql: &str, wait: Duration) -> String {
        let asked = pending.ask(&arguments(sql), &shown(), wait);
        asked
            .ok()
            .and_then(|result| result.request_state)
            .unwrap_or_default()
    }

    #[test]
    fn a_handle_approves_its_own_call_once() {
        let pending = Pending::default();
        let state = ask(&pending, "INSERT 1", Duration::from_secs(60));
        let answer = |sql| pending.answer(&state, Some(&approval()), &arguments(sql), Tier::Write);
        assert_eq!(answer("INSERT 1"), Ok(()));
        assert!(answer("INSERT 1").is_err_and(|why| why.contains("already used")));
    }

    #[test]
    fn other_arguments_spend_the_handle_and_approve_nothing() {
        let pending = Pending::default();
        let state = ask(&pending, "INSERT 1", Duration::from_secs(60));
        let other = pending.answer(&state, Some(&approval()), &arguments("DELETE"), Tier::Write);
        assert!(other.is_err_and(|why| why.contains("differ")));
        let shown = pending.answer(
            &state,
            Some(&approval()),
            &arguments("INSERT 1"),
            Tier::Write,
        );
        assert!(shown.is_err());
    }

    #[test]
    fn an_expired_handle_or_extra_answers_approve_nothing() {
        let pending = Pending::default();
        let state = ask(&pending, "INSERT 1", Duration::ZERO);
        std::thread::sleep(Duration::from_millis(5));
        let late = pending.answer(
            &state,
            Some(&approval()),
            &arguments("INSERT 1"),
            Tier::Write,
        );
        assert!(late.is_err_and(|why| why.contains("within 0 s")));

        let state = ask(&pending, "INSERT 1", Duration::from_secs(60));
        let mut extra = approval();
        extra.insert("other".to_owned(), json!({"action": "accept"}));
        let answer = pending.answer(&state, Some(&extra), &arguments("INSERT 1"), Tier::Write);
        assert!(answer.is_err_and(|why| why.contains("exactly one answer")));
    }

    #[test]
    fn the_store_is_bounded_and_handles_are_unguessable() {
        let pending = Pending::default();
        let states: Vec<String> = (0..MAX_WAITING)
            .map(|_| ask(&pending, "INSERT 1", Duration::from_secs(60)))
            .collect();
        assert!(states.iter().all(|state| state.len() == 48));
        let mut distinct = states.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), MAX_WAITING);
        let refused = pending.ask(&arguments("INSERT 1"), &shown(), Duration::from_secs(60));
        assert!(refused.is_err_and(|why| why.contains("already waiting")));
    }
}
