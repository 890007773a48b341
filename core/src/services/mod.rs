//! What the pipeline stands on. No service names the pipeline or a command.

pub mod capability;
pub mod connection;
pub mod error;
pub mod limits;
pub mod options;
pub mod output;
pub mod params;
pub mod plugins;
pub mod pool;
pub mod release;
pub mod sanitize;
pub mod supervisor;
pub mod words;
