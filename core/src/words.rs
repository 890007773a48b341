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

/// One reference found in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term<'a> {
    /// An option by its snake_case name (`allow_write`, `max_rows`, `params`, `sql_file`).
    Option(&'a str),
    /// A phrase that differs between front ends by more than option names, by key (for
    /// example `list_tables`: "run `plenum introspect --list-tables`" or "call the introspect
    /// tool with list_tables").
    Hint(&'a str),
}

/// A reference to the option `name`, in snake_case (`allow_write` for `--allow-write`).
pub fn option(name: &str) -> String {
    format!("{OPEN}{name}{CLOSE}")
}

/// A reference to the front-end phrase `key`.
pub fn hint(key: &str) -> String {
    format!("{OPEN}#{key}{CLOSE}")
}

/// Words every reference in `text` with `word`; text without references is borrowed as is.
pub fn render<'t>(text: &'t str, word: &dyn Fn(Term<'_>) -> Cow<'static, str>) -> Cow<'t, str> {
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
            Some(key) => Term::Hint(key),
            None => Term::Option(name),
        };
        out.push_str(&word(term));
        rest = &after[end + CLOSE.len_utf8()..];
    }
    out.push_str(&rest.replace(CLOSE, ""));
    Cow::Owned(out)
}

/// Removes reference markers from text that did not come from the core.
pub fn strip(text: &str) -> Cow<'_, str> {
    if text.contains([OPEN, CLOSE]) {
        Cow::Owned(text.replace([OPEN, CLOSE], ""))
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
            Term::Hint(key) => format!("<{key}>").into(),
        }
    }

    #[test]
    fn references_are_worded_and_other_text_kept() {
        let text = format!(
            "pass {} or see {}.",
            option("allow_write"),
            hint("list_tables")
        );
        assert_eq!(
            render(&text, &cli),
            "pass --allow-write or see <list_tables>."
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
