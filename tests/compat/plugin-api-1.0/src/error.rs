//! Errors that cross the plugin boundary.

use abi_stable::std_types::{ROption, RString};
use abi_stable::StableAbi;
use std::fmt;

/// What went wrong, in classes the host maps to its stable error codes.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The session could not be opened (unreachable, authentication, missing database, TLS).
    Connection,
    /// The engine refused or failed the statement.
    Query,
    /// The statement was cancelled or ran past its time.
    Timeout,
    /// The plugin does not implement what was asked.
    Unsupported,
    /// A bug or broken invariant inside the plugin (including a caught panic).
    Internal,
}

/// An error returned by a plugin: a kind, a message and the SQLSTATE when the engine has one.
///
/// Messages may contain anything the driver said; the host scrubs them of secrets before any
/// of it reaches the user, but plugins should still never format a password into one.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// The class of the error.
    pub kind: ErrorKind,
    /// A human-readable message.
    pub message: RString,
    /// The five-character SQLSTATE, when the engine reports one.
    pub sqlstate: ROption<RString>,
}

impl PluginError {
    /// An error of `kind` with `message` and no SQLSTATE.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PluginError {
            kind,
            message: RString::from(message.into()),
            sqlstate: ROption::RNone,
        }
    }

    /// A [`ErrorKind::Connection`] error.
    pub fn connection(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Connection, message)
    }

    /// A [`ErrorKind::Query`] error.
    pub fn query(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Query, message)
    }

    /// A [`ErrorKind::Timeout`] error.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    /// A [`ErrorKind::Unsupported`] error.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// A [`ErrorKind::Internal`] error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// The same error with a SQLSTATE attached.
    pub fn with_sqlstate(mut self, sqlstate: impl Into<String>) -> Self {
        self.sqlstate = ROption::RSome(RString::from(sqlstate.into()));
        self
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)?;
        if let ROption::RSome(state) = &self.sqlstate {
            write!(f, " (SQLSTATE {state})")?;
        }
        Ok(())
    }
}

impl std::error::Error for PluginError {}

/// Result type of every plugin call.
pub type PluginResult<T> = Result<T, PluginError>;
