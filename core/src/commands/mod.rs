//! What a caller can ask. Each command turns a request into a [`crate::Response`], using the
//! pipeline and the services below; none calls another's internals or anything above it.

pub mod check;
pub mod connect;
pub mod explain;
pub mod introspect;
pub mod plugins;
pub mod query;
