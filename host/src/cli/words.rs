//! The command line's words for what the core's messages name ([`plenum_core::services::words`]).

use std::borrow::Cow;

use plenum_core::services::words::Term;

/// Says `term` as a person at a shell would type it.
pub fn word(term: Term<'_>) -> Cow<'static, str> {
    match term {
        Term::Option(name) => match plenum_core::services::options::find(name) {
            Some(opt) => format!("--{}", super::options::long(opt)).into(),
            None => format!("--{}", name.replace('_', "-")).into(),
        },
        Term::Hint(key, value) => hint(key, value.unwrap_or_default()),
    }
}

fn hint(key: &str, value: &str) -> Cow<'static, str> {
    match key {
        "engine_dsn_or_connection" => "pass --engine NAME (see `plenum plugins`), --dsn URL, or \
                                       --connection NAME (see `plenum connect --list`)"
            .into(),
        "engine_or_dsn" => "pass --engine NAME (see `plenum plugins`) or --dsn URL".into(),
        "list_tables" => "run `plenum introspect --list-tables` to see them".into(),
        "save_connection" => "save one with `plenum connect --name NAME …`".into(),
        "param_per_placeholder" => "pass one --param per placeholder".into(),
        "query_command" => "use `plenum query` with".into(),
        "plugins_list" => "`plenum plugins`".into(),
        "write_manifest" => {
            format!("write one with `plenum plugins verify {value} --write`").into()
        }
        other => other.replace('_', " ").into(),
    }
}
