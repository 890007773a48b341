//! MCP's words for what the core's messages name ([`plenum_core::services::words`]): an option is the
//! tool argument of the same name, and a hint points at a tool instead of a command line.

use std::borrow::Cow;

use plenum_core::services::words::Term;

/// Says `term` as a tool caller would act on it.
pub fn word(term: Term<'_>) -> Cow<'static, str> {
    match term {
        Term::Option(name) => name.to_owned().into(),
        Term::Hint(key, value) => hint(key, value.unwrap_or_default()),
    }
}

fn hint(key: &str, value: &str) -> Cow<'static, str> {
    match key {
        "engine_dsn_or_connection" | "engine_or_dsn" => {
            "pass `engine` (see list_engines) or `connection` (see list_connections)".into()
        }
        "list_tables" => "call the introspect tool with list_tables to see them".into(),
        "save_connection" => "a human saves them with `plenum connect`".into(),
        "param_per_placeholder" => "pass one `params` element per placeholder".into(),
        "query_command" => "use the query tool with".into(),
        "plugins_list" => "list_engines".into(),
        "write_manifest" => {
            format!("a human writes one with `plenum plugins verify {value}` (its write option)")
                .into()
        }
        other => other.replace('_', " ").into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plenum_core::services::words::{hint as hint_ref, option, render, tier_option};

    #[test]
    fn options_are_tool_arguments_and_hints_point_at_tools() {
        let tier = tier_option(plenum_gate::Tier::Write).unwrap_or_default();
        let message = format!("statement 1 (DELETE) needs {tier}");
        assert_eq!(
            render(&message, &word),
            "statement 1 (DELETE) needs allow_write"
        );
        let message = format!(
            "{} pages through the rows of a result; {} returns a plan, not rows",
            option("offset"),
            option("explain")
        );
        assert_eq!(
            render(&message, &word),
            "offset pages through the rows of a result; explain returns a plan, not rows"
        );
        let message = format!("no engine given: {}", hint_ref("engine_dsn_or_connection"));
        assert_eq!(
            render(&message, &word),
            "no engine given: pass `engine` (see list_engines) or `connection` (see \
             list_connections)"
        );
    }

    #[test]
    fn no_hint_names_a_flag() {
        for key in [
            "engine_dsn_or_connection",
            "engine_or_dsn",
            "list_tables",
            "save_connection",
            "param_per_placeholder",
            "query_command",
            "plugins_list",
            "write_manifest",
        ] {
            let said = hint(key, "/lib.so");
            assert!(!said.contains("--"), "{key}: {said}");
        }
    }
}
