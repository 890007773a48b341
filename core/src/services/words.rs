//! What a message names of the caller's own controls, as data.
//!
//! The core does not know whether its caller typed `--allow-write` on a command line or sent
//! `allow_write` in a tool call. A message that tells the caller what to pass holds a
//! *reference* ([`option`], [`hint`]) instead of a word; each front end words every reference
//! in its own vocabulary when it renders the envelope ([`render`]). References are private-use
//! characters around a name, so no text from outside (a plugin's message, the engine's, the
//! caller's SQL) can forge one: [`strip`] removes them from such text on its way in.

use std::borrow::Cow;

const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';
const ARGUMENT: char = '\u{E002}';

/// One reference found in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term<'a> {
    /// An option by its snake_case name (`allow_write`, `max_rows`, `params`, `sql_file`).
    Option(&'a str),
    /// A phrase that differs between front ends by more than option names, by key (for
    /// example `list_tables`: "run `plenum introspect --list-tables`" or "call the introspect
    /// tool with list_tables"), and the value it names, if any (a path).
    Hint(&'a str, Option<&'a str>),
}

/// How a front end says each [`Term`].
pub trait Vocabulary {
    /// The words for `term`.
    fn word(&self, term: Term<'_>) -> Cow<'static, str>;
}

impl<F: Fn(Term<'_>) -> Cow<'static, str>> Vocabulary for F {
    fn word(&self, term: Term<'_>) -> Cow<'static, str> {
        self(term)
    }
}

/// A reference to the option `name` (snake_case, as [`crate::services::options`] declares it).
pub fn option(name: &str) -> String {
    format!("{OPEN}{name}{CLOSE}")
}

/// A reference to the option that grants `tier` (`allow_write`, `allow_ddl`), or `None` for
/// the read tier, which every call has.
pub fn tier_option(tier: plenum_gate::Tier) -> Option<String> {
    match tier {
        plenum_gate::Tier::Read => None,
        plenum_gate::Tier::Write => Some(option("allow_write")),
        plenum_gate::Tier::Ddl => Some(option("allow_ddl")),
    }
}

/// A reference to the front-end phrase `key`.
pub fn hint(key: &str) -> String {
    format!("{OPEN}#{key}{CLOSE}")
}

/// A reference to the front-end phrase `key` about `value` (a path, a name), which the
/// phrase quotes.
pub fn hint_about(key: &str, value: &str) -> String {
    format!("{OPEN}#{key}{ARGUMENT}{}{CLOSE}", strip(value))
}

/// Words every reference in `text` with `word`; text without references is borrowed as is.
pub fn render<'t>(text: &'t str, vocabulary: &dyn Vocabulary) -> Cow<'t, str> {
    if !text.contains([OPEN, CLOSE]) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len_utf8()..];
        let Some(end) = after.find(CLOSE) else {
            rest = after;
            continue;
        };
        let name = &after[..end];
        let term = match name.strip_prefix('#') {
            Some(hint) => match hint.split_once(ARGUMENT) {
                Some((key, value)) => Term::Hint(key, Some(value)),
                None => Term::Hint(hint, None),
            },
            None => Term::Option(name),
        };
        out.push_str(&vocabulary.word(term));
        rest = &after[end + CLOSE.len_utf8()..];
    }
    out.push_str(&rest.replace(CLOSE, ""));
    Cow::Owned(out)
}

/// Removes reference markers from text that did not come from the core.
pub fn strip(text: &str) -> Cow<'_, str> {
    if text.contains([OPEN, CLOSE, ARGUMENT]) {
        Cow::Owned(text.replace([OPEN, CLOSE, ARGUMENT], ""))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(term: Term<'_>) -> Cow<'static, str> {
        match term {
            Term::Option(name) => format!("--{}", name.replace('_', "-")).into(),
            Term::Hint(key, None) => format!("<{key}>").into(),
            Term::Hint(key, Some(value)) => format!("<{key} {value}>").into(),
        }
    }

    #[test]
    fn references_are_worded_and_other_text_kept() {
        let text = format!(
            "pass {} or see {} {}.",
            option("allow_write"),
            hint("list_tables"),
            hint_about("verify", "/p")
        );
        assert_eq!(
            render(&text, &cli),
            "pass --allow-write or see <list_tables> <verify /p>."
        );
        assert!(matches!(render("plain", &cli), Cow::Borrowed("plain")));
    }

    #[test]
    fn forged_or_broken_markers_do_not_survive() {
        let forged = format!("x{}y", option("allow_write"));
        assert_eq!(strip(&forged), "xallow_writey");
        assert_eq!(render("a\u{E000}b", &cli), "ab");
        assert_eq!(render("a\u{E001}b", &cli), "ab");
    }
}
