//! A token-level reading for SQL the parser cannot read: an engine's own canonical text of a
//! view (MariaDB's `cast(x as char charset utf8mb4)`, `a MOD 2`) that sqlparser does not
//! parse. It cannot classify a statement, only list what it names: every word before `(` is
//! a call, every other dotted name may be a relation. Refused functions and relations
//! refuse the text, and so does anything that needs a tier above read; the host resolves
//! the names it returns like those of a parsed statement.

use sqlparser::tokenizer::Token;

use crate::lex::{self, is_trivia, LexError};
use crate::names::{Name, NamePart, Reach};
use crate::{Dialect, GateError, Policy, Rule, Tier};

/// See the module documentation.
pub(crate) fn scan(sql: &str, dialect: Dialect) -> Result<Reach, GateError> {
    let lexed = lex::lex(sql, dialect).map_err(|error| match error {
        LexError::Parse(error) => error,
        LexError::Refused { kind, reason, .. } => refused(kind, reason),
    })?;
    let tokens: Vec<&Token> = lexed
        .tokens
        .iter()
        .map(|token| &token.token)
        .filter(|token| !is_trivia(token))
        .collect();
    let rules = Policy::dialect_default(dialect);
    let mut reach = Reach::default();
    let mut index = 0;
    while index < tokens.len() {
        let Token::Word(_) = tokens[index] else {
            index += 1;
            continue;
        };
        // A dotted name: word (. word)*.
        let mut parts = Vec::new();
        let mut end = index;
        while let Some(Token::Word(word)) = tokens.get(end) {
            parts.push(NamePart {
                value: word.value.clone(),
                quoted: word.quote_style.is_some(),
            });
            if matches!(tokens.get(end + 1), Some(Token::Period))
                && matches!(tokens.get(end + 2), Some(Token::Word(_)))
            {
                end += 2;
            } else {
                break;
            }
        }
        let name = Name { parts };
        let is_call = matches!(tokens.get(end + 1), Some(Token::LParen));
        let texts: Vec<&str> = name.parts.iter().map(|part| part.value.as_str()).collect();
        if is_call {
            match rules.function_rule(&texts) {
                Some(Rule::Refused(reason)) => {
                    return Err(refused("VIEW", format!("{}(): {reason}", name.last())))
                }
                Some(Rule::Needs(tier)) if *tier > Tier::Read => {
                    return Err(refused(
                        "VIEW",
                        format!("{}() needs the {tier} tier", name.last()),
                    ))
                }
                _ => reach.add_function(name),
            }
        } else {
            if let Some(reason) = rules.relation_refusal(&texts) {
                return Err(refused("VIEW", format!("{}: {reason}", name.dotted())));
            }
            reach.add_relation(name);
        }
        index = end + 1;
    }
    Ok(reach)
}

fn refused(kind: impl Into<String>, reason: impl Into<String>) -> GateError {
    GateError::Refused {
        index: 1,
        kind: kind.into(),
        reason: reason.into(),
        line: 1,
        column: 1,
    }
}
