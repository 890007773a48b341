//! The path one call takes, whichever command runs it: the request and its plan, the session
//! opened in the access mode the statements need, the reach check, and execution within the
//! call's limits.

pub mod exec;
pub mod plan;
pub mod reach;
pub mod request;
pub mod session;
