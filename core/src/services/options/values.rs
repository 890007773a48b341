//! The options a call was given, as either front end hands them to the core.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::SecretString;

/// One option's value as given.
#[derive(Debug, Clone)]
pub enum Given {
    /// A flag that was set.
    Flag(bool),
    /// Text.
    Text(String),
    /// A path.
    Path(PathBuf),
    /// A number.
    Count(u64),
    /// Bound parameters, each as JSON text (CLI `--param`, read one by one).
    ParamTexts(Vec<String>),
    /// Bound parameters as JSON values (MCP `params`).
    ParamValues(Vec<serde_json::Value>),
    /// A secret, or `None` when the option was given without its value.
    Secret(Option<SecretString>),
}

/// The options of one call, by [`super::Opt::name`]. Absent options are not in the map; a
/// front end fills defaults from the declaration ([`super::Opt`]`::default`) or leaves them to
/// the core, which applies the same ones.
#[derive(Debug, Clone, Default)]
pub struct Values {
    given: BTreeMap<&'static str, Given>,
}

impl Values {
    /// No option given.
    pub fn new() -> Self {
        Values::default()
    }

    /// Records `value` for the option `name`.
    pub fn set(&mut self, name: &'static str, value: Given) {
        self.given.insert(name, value);
    }

    /// The value given for `name`.
    pub fn get(&self, name: &str) -> Option<&Given> {
        self.given.get(name)
    }

    /// Whether the flag `name` is set.
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some(Given::Flag(true)))
    }

    /// The text given for `name`.
    pub fn text(&self, name: &str) -> Option<String> {
        match self.get(name) {
            Some(Given::Text(text)) => Some(text.clone()),
            Some(Given::Path(path)) => Some(path.to_string_lossy().into_owned()),
            _ => None,
        }
    }

    /// The path given for `name` (a string from MCP is a path too).
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        match self.get(name) {
            Some(Given::Path(path)) => Some(path.clone()),
            Some(Given::Text(text)) => Some(PathBuf::from(text)),
            _ => None,
        }
    }

    /// The number given for `name`.
    pub fn count(&self, name: &str) -> Option<u64> {
        match self.get(name) {
            Some(Given::Count(count)) => Some(*count),
            _ => None,
        }
    }

    /// The number given for `name`, or its declared default.
    pub fn count_or_default(&self, name: &str, list: &[super::Opt]) -> u64 {
        self.count(name)
            .or_else(|| {
                list.iter()
                    .find(|opt| opt.name == name)
                    .and_then(|opt| opt.default)
            })
            .unwrap_or(0)
    }

    /// The secret given for `name`: `Some(None)` when the option came without a value.
    pub fn secret(&self, name: &str) -> Option<Option<SecretString>> {
        match self.get(name) {
            Some(Given::Secret(secret)) => Some(secret.clone()),
            _ => None,
        }
    }

    /// The port given for `name`.
    pub fn port(&self, name: &str) -> Option<u16> {
        self.count(name).and_then(|port| u16::try_from(port).ok())
    }
}
