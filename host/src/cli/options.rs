//! The core's option lists as clap arguments: each flag, its help, default, range and
//! relations come from [`plenum_core::services::options`], declared there once for both front ends.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{value_parser, Arg, ArgAction, ArgMatches, Command};
use plenum_core::services::options::{Given, Kind, Opt, Values};
use secrecy::SecretString;

/// The flag that stands for `opt`: its name with dashes, unless it declares another.
pub fn long(opt: &Opt) -> String {
    opt.flag
        .map(str::to_owned)
        .unwrap_or_else(|| opt.name.replace('_', "-"))
}

fn arg(opt: &Opt) -> Arg {
    // One-paragraph help reads as a label in `--help`: no closing period, as clap's derive.
    let help = opt.help.strip_suffix('.').unwrap_or(opt.help);
    let value_name = opt
        .value_name
        .map(str::to_owned)
        .unwrap_or_else(|| opt.name.to_uppercase());
    let mut arg = Arg::new(opt.name).long(long(opt)).help(help);
    arg = match opt.kind {
        Kind::Flag => arg.action(ArgAction::SetTrue),
        Kind::Text => arg.value_parser(value_parser!(String)),
        Kind::Path => arg.value_parser(value_parser!(PathBuf)),
        Kind::Port => arg.value_parser(value_parser!(u16)),
        Kind::Count => arg.value_parser(value_parser!(u64)),
        Kind::Params => arg
            .value_parser(value_parser!(String))
            .action(ArgAction::Append),
        Kind::Choice(words) => arg.value_parser(PossibleValuesParser::new(
            words
                .iter()
                .map(|(word, meaning)| PossibleValue::new(*word).help(*meaning)),
        )),
        Kind::OptionalSecret => arg.value_parser(value_parser!(String)).num_args(0..=1),
    };
    if opt.kind != Kind::Flag {
        arg = arg.value_name(value_name);
    }
    if let Some(default) = opt.default {
        arg = arg.default_value(default.to_string());
    }
    if let Some(alias) = opt.alias {
        arg = arg.visible_alias(alias);
    }
    if opt.hyphen_values {
        arg = arg.allow_hyphen_values(true);
    }
    for other in opt.conflicts {
        arg = arg.conflicts_with(*other);
    }
    for other in opt.requires {
        arg = arg.requires(*other);
    }
    arg
}

/// `command` with a flag for every option of `lists`, in order.
pub fn augment(mut command: Command, lists: &[&[Opt]]) -> Command {
    for list in lists {
        for opt in *list {
            command = command.arg(arg(opt));
        }
    }
    command
}

/// The options `matches` holds, for the core.
pub fn values(matches: &ArgMatches, lists: &[&[Opt]]) -> Result<Values, clap::Error> {
    let mut values = Values::new();
    for list in lists {
        for opt in *list {
            let given = match opt.kind {
                Kind::Flag => matches
                    .try_get_one::<bool>(opt.name)
                    .map_err(into_clap)?
                    .copied()
                    .filter(|set| *set)
                    .map(Given::Flag),
                Kind::Text | Kind::Choice(_) => matches
                    .try_get_one::<String>(opt.name)
                    .map_err(into_clap)?
                    .cloned()
                    .map(Given::Text),
                Kind::Path => matches
                    .try_get_one::<PathBuf>(opt.name)
                    .map_err(into_clap)?
                    .cloned()
                    .map(Given::Path),
                Kind::Port => matches
                    .try_get_one::<u16>(opt.name)
                    .map_err(into_clap)?
                    .map(|port| Given::Count(u64::from(*port))),
                Kind::Count => matches
                    .try_get_one::<u64>(opt.name)
                    .map_err(into_clap)?
                    .map(|count| Given::Count(*count)),
                Kind::Params => matches
                    .try_get_many::<String>(opt.name)
                    .map_err(into_clap)?
                    .map(|texts| Given::ParamTexts(texts.cloned().collect())),
                Kind::OptionalSecret => {
                    if matches.contains_id(opt.name) && matches.value_source(opt.name).is_some() {
                        let secret = matches
                            .try_get_one::<String>(opt.name)
                            .map_err(into_clap)?
                            .map(|text| SecretString::from(text.as_str()));
                        Some(Given::Secret(secret))
                    } else {
                        None
                    }
                }
            };
            if let Some(given) = given {
                values.set(opt.name, given);
            }
        }
    }
    Ok(values)
}

fn into_clap(error: clap::parser::MatchesError) -> clap::Error {
    clap::Error::raw(clap::error::ErrorKind::ArgumentConflict, error.to_string())
}

/// Declares a clap argument group type for some option lists: `augment_args` adds their
/// flags, `from_arg_matches` reads them into [`Values`].
macro_rules! option_args {
    ($(#[$doc:meta])* $name:ident: $($list:expr),+) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Values);

        impl $name {
            const LISTS: &'static [&'static [Opt]] = &[$($list),+];
        }

        impl clap::FromArgMatches for $name {
            fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
                values(matches, Self::LISTS).map($name)
            }

            fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
                self.0 = values(matches, Self::LISTS)?;
                Ok(())
            }
        }

        impl clap::Args for $name {
            fn augment_args(command: Command) -> Command {
                augment(command, Self::LISTS)
            }

            fn augment_args_for_update(command: Command) -> Command {
                augment(command, Self::LISTS)
            }
        }
    };
}

use plenum_core::services::options::{CONNECT, CONNECTION, INTROSPECT, QUERY};

option_args!(
    /// The flags of `plenum query`.
    QueryOptions: CONNECTION, QUERY
);
option_args!(
    /// The flags of `plenum introspect`.
    IntrospectOptions: CONNECTION, INTROSPECT
);
option_args!(
    /// The flags of `plenum connect`.
    ConnectOptions: CONNECTION, CONNECT
);
