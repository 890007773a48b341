//! A human in the loop for writes: a `query` call that asks for a tier above the server's
//! ceiling is put to the client's user through MCP elicitation (form mode), when the human who
//! started the server allowed it (`plenum mcp --approve-up-to`).
//!
//! Two ways to ask, by protocol revision: up to 2025-11-25 the server sends an
//! `elicitation/create` request in the middle of the call and waits ([`elicit`]); on
//! 2026-07-28, which allows no request from server to client, the call is answered with an
//! input-required result and the client retries it with its user's answer
//! ([`input_required`]). Both show the same message and form and judge the answer the same way
//! ([`form`]).
//!
//! Why a model cannot approve its own call: the answer is produced by the client's elicitation
//! handler (its user interface) and travels outside the tool arguments, which are all a model
//! writes. An approval covers one call's SQL, values and target, once: on 2026-07-28 the
//! server keeps a single-use handle bound to the exact arguments shown. It raises only the
//! server's own ceiling, only for that call; every other ceiling, the gate, the reach check
//! and the limits still apply (the caller runs the call through the same pipeline).

mod elicit;
mod form;
mod input_required;

use std::time::Duration;

use plenum_gate::{Statement, Tier};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::Value as Json;

pub use elicit::ask;
pub use form::target;
pub use input_required::Pending;

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
    // On 2026-07-28 the capabilities come with each request; before, from initialize.
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
