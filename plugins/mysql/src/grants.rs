//! Reading the login's privileges from `SHOW GRANTS`, and what they mean for the tiers.
//!
//! `SHOW GRANTS` is the one place MariaDB lists the privileges of the session's enabled role
//! next to the user's own (`information_schema.USER_PRIVILEGES` shows the user's only). Its
//! lines are parsed token by token; a line that does not parse becomes a power with
//! `escapes` set, so a grant this code does not understand is never read as harmless. No
//! text of a line reaches a message (a `GRANT … IDENTIFIED BY PASSWORD` line carries a hash).

use std::collections::BTreeSet;

use plenum_plugin_api::LoginPower;

/// One token of a `SHOW GRANTS` line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An unquoted word, upper-cased.
    Word(String),
    /// A backquoted identifier.
    Ident(String),
    /// A quoted string.
    Str(String),
    /// One of `( ) , . @ *`.
    Punct(char),
}

fn tokenize(line: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = line.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        if c.is_whitespace() {
            index += 1;
        } else if c == '`' || c == '\'' || c == '"' {
            let mut text = String::new();
            index += 1;
            loop {
                let current = *chars.get(index)?;
                if current == '\\' && c != '`' {
                    text.push(*chars.get(index + 1)?);
                    index += 2;
                } else if current == c {
                    if chars.get(index + 1) == Some(&c) {
                        text.push(c);
                        index += 2;
                    } else {
                        index += 1;
                        break;
                    }
                } else {
                    text.push(current);
                    index += 1;
                }
            }
            tokens.push(if c == '`' {
                Token::Ident(text)
            } else {
                Token::Str(text)
            });
        } else if "(),.@*".contains(c) {
            tokens.push(Token::Punct(c));
            index += 1;
        } else {
            let start = index;
            while index < chars.len()
                && !chars[index].is_whitespace()
                && !"(),.@*`'\"".contains(chars[index])
            {
                index += 1;
            }
            let word: String = chars[start..index].iter().collect();
            tokens.push(Token::Word(word.to_ascii_uppercase()));
        }
    }
    Some(tokens)
}

/// What a `GRANT … ON` line applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Object {
    /// `*.*`
    Global,
    /// `` `db`.* `` (the name may hold `%`/`_` wildcards).
    Database(String),
    /// `` `db`.`t` ``, or a routine.
    Table(String, String),
    /// `PROXY ON user@host`.
    Proxy,
}

/// One parsed line of `SHOW GRANTS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Grant {
    /// `GRANT privileges ON object TO grantee [WITH GRANT OPTION]`.
    Privileges {
        privileges: Vec<String>,
        object: Object,
        grant_option: bool,
    },
    /// `GRANT role TO grantee`: roles the grantee may switch to.
    Roles(Vec<String>),
    /// `SET DEFAULT ROLE …`: informational.
    Other,
}

fn is_word(token: Option<&Token>, word: &str) -> bool {
    matches!(token, Some(Token::Word(w)) if w == word)
}

fn name_of(token: &Token) -> Option<String> {
    match token {
        Token::Ident(text) | Token::Str(text) => Some(text.clone()),
        Token::Word(word) => Some(word.clone()),
        Token::Punct(_) => None,
    }
}

/// Parses one line; `None` when its shape is unknown.
pub(crate) fn parse(line: &str) -> Option<Grant> {
    let tokens = tokenize(line)?;
    let mut at = 0;
    match tokens.first() {
        Some(Token::Word(word)) if word == "GRANT" => at += 1,
        Some(Token::Word(word)) if word == "SET" => return Some(Grant::Other),
        _ => return None,
    }
    // The list before ON (privileges) or TO (roles), skipping column lists.
    let mut items: Vec<String> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut role_names = Vec::new();
    let ends_with_on = loop {
        let token = tokens.get(at)?;
        at += 1;
        match token {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth = depth.checked_sub(1)?,
            _ if depth > 0 => {}
            Token::Word(word) if word == "ON" => break true,
            Token::Word(word) if word == "TO" => break false,
            Token::Punct(',') => {
                if !current.is_empty() {
                    items.push(current.join(" "));
                    current.clear();
                }
            }
            Token::Word(word) => current.push(word.clone()),
            Token::Ident(name) => role_names.push(name.clone()),
            _ => return None,
        }
    };
    if !current.is_empty() {
        items.push(current.join(" "));
    }
    if !ends_with_on {
        // `GRANT role TO grantee`. A role granted to the enabled role is reported like
        // one granted to the user: whether SHOW GRANTS lists its privileges is not relied on.
        role_names.extend(items);
        return Some(Grant::Roles(role_names));
    }
    if !role_names.is_empty() || items.is_empty() {
        return None;
    }
    // The object, up to TO.
    let mut object_tokens = Vec::new();
    loop {
        let token = tokens.get(at)?;
        at += 1;
        if *token == Token::Word("TO".into()) {
            break;
        }
        object_tokens.push(token.clone());
    }
    if matches!(
        object_tokens.first(),
        Some(Token::Word(w)) if w == "FUNCTION" || w == "PROCEDURE" || w == "PACKAGE"
    ) {
        object_tokens.remove(0);
        if is_word(object_tokens.first(), "BODY") {
            object_tokens.remove(0);
        }
    }
    let object = if items.iter().any(|item| item == "PROXY") {
        Object::Proxy
    } else {
        match object_tokens.as_slice() {
            [Token::Punct('*'), Token::Punct('.'), Token::Punct('*')] => Object::Global,
            [db, Token::Punct('.'), Token::Punct('*')] => Object::Database(name_of(db)?),
            [db, Token::Punct('.'), table] => Object::Table(name_of(db)?, name_of(table)?),
            _ => return None,
        }
    };
    let rest = &tokens[at..];
    let grant_option = rest.windows(2).any(|pair| {
        pair[0] == Token::Word("GRANT".into()) && pair[1] == Token::Word("OPTION".into())
    });
    Some(Grant::Privileges {
        privileges: items,
        object,
        grant_option,
    })
}

/// Global privileges and what they mean: (privilege, power, meaning, escapes).
const GLOBAL: &[(&str, &str, &str, bool)] = &[
    ("SUPER", "superuser (SUPER)",
     "It changes server settings, ends other sessions and writes files through server variables, also from functions and triggers the gate cannot see.", true),
    ("FILE", "reads and writes server files (FILE)",
     "LOAD_FILE and SELECT … INTO OUTFILE reach the server's files, also from functions the gate cannot see.", true),
    ("CREATE USER", "creates and changes accounts (CREATE USER)",
     "It can create, rename and drop accounts and roles.", true),
    ("SET USER", "creates code that runs as other accounts (SET USER)",
     "It can give a routine, view or trigger any account as its definer, and so that account's privileges.", true),
    ("CONNECTION ADMIN", "ends other sessions (CONNECTION ADMIN)",
     "KILL reaches every session on the server, also from functions the gate cannot see.", true),
    ("SHUTDOWN", "stops the server (SHUTDOWN)",
     "It can shut the whole server down.", true),
    ("RELOAD", "flushes and resets server state (RELOAD)",
     "FLUSH and RESET change the server's caches, logs and privileges for every session.", true),
    ("FEDERATED ADMIN", "connects the server to other servers (FEDERATED ADMIN)",
     "CREATE SERVER makes the server open connections elsewhere.", true),
    ("REPLICATION MASTER ADMIN", "administers replication (REPLICATION MASTER ADMIN)",
     "It changes how the server replicates, which affects every session.", true),
    ("REPLICATION SLAVE ADMIN", "administers replication (REPLICATION SLAVE ADMIN)",
     "It starts, stops and re-points replication, which opens connections to other servers.", true),
    ("BINLOG ADMIN", "administers the binary log (BINLOG ADMIN)",
     "It purges and switches the binary log, server state shared by every session.", true),
    ("BINLOG REPLAY", "replays binary-log events (BINLOG REPLAY)",
     "BINLOG statements apply row events the gate cannot read.", true),
    ("READ_ONLY ADMIN", "writes when the server is read-only (READ_ONLY ADMIN)",
     "It bypasses the server-wide read_only setting.", true),
    ("CREATE TABLESPACE", "manages tablespaces (CREATE TABLESPACE)",
     "It creates and drops tablespace files on the server.", true),
    ("PROCESS", "sees other sessions (PROCESS)",
     "SHOW PROCESSLIST and information_schema show the statements other sessions run.", false),
    ("REPLICATION SLAVE", "reads the replication stream (REPLICATION SLAVE)",
     "A replication connection reads every change on the server.", false),
    ("REPLICATION CLIENT", "monitors replication (REPLICATION CLIENT)",
     "It reads replication and binary-log status.", false),
    ("BINLOG MONITOR", "monitors the binary log (BINLOG MONITOR)",
     "It reads binary-log status and events.", false),
    ("SLAVE MONITOR", "monitors replication (SLAVE MONITOR)",
     "It reads replication status.", false),
    ("SHOW DATABASES", "lists every database (SHOW DATABASES)",
     "It sees the names of all databases on the server.", false),
];

/// Privileges that write data or schema: held on every database, or on `mysql`, they reach
/// the account and routine tables.
const WRITES: &[&str] = &[
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "ALTER",
    "INDEX",
    "DELETE HISTORY",
    "CREATE VIEW",
    "TRIGGER",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "EVENT",
];

/// Privileges that only read or are ordinary in a database.
const ORDINARY: &[&str] = &[
    "SELECT",
    "SHOW VIEW",
    "EXECUTE",
    "REFERENCES",
    "LOCK TABLES",
    "CREATE TEMPORARY TABLES",
];

fn power(power: impl Into<String>, meaning: &str, escapes: bool) -> LoginPower {
    LoginPower {
        power: power.into().into(),
        meaning: meaning.into(),
        escapes,
    }
}

/// Whether a grant's database name (with `%`/`_` wildcards and `\` escapes) covers `mysql`.
fn covers_mysql(pattern: &str) -> bool {
    fn matches(pattern: &[char], name: &[char]) -> bool {
        match pattern.split_first() {
            None => name.is_empty(),
            Some(('%', rest)) => (0..=name.len()).any(|skip| matches(rest, &name[skip..])),
            Some(('_', rest)) => !name.is_empty() && matches(rest, &name[1..]),
            Some(('\\', rest)) if !rest.is_empty() => {
                !name.is_empty() && rest[0] == name[0] && matches(&rest[1..], &name[1..])
            }
            Some((c, rest)) => {
                !name.is_empty() && c.eq_ignore_ascii_case(&name[0]) && matches(rest, &name[1..])
            }
        }
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = "mysql".chars().collect();
    matches(&pattern, &name)
}

/// Unescapes a grant's database name (`test\_db` → `test_db`) for comparing with
/// `DATABASE()`.
fn unescaped(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The powers that the grant lines give, given the session's current database and the
/// role it has enabled.
pub(crate) fn powers(
    lines: &[String],
    database: Option<&str>,
    current_role: Option<&str>,
) -> Vec<LoginPower> {
    let mut out = Vec::new();
    let mut global: BTreeSet<String> = BTreeSet::new();
    let mut global_grant_option = false;
    let mut mysql_writes: BTreeSet<String> = BTreeSet::new();
    let mut elsewhere: BTreeSet<String> = BTreeSet::new();
    let mut roles: BTreeSet<String> = BTreeSet::new();
    let mut unreadable = false;
    for line in lines {
        match parse(line) {
            None => unreadable = true,
            Some(Grant::Other) => {}
            Some(Grant::Roles(names)) => roles.extend(names),
            Some(Grant::Privileges {
                privileges,
                object,
                grant_option,
            }) => match object {
                Object::Global => {
                    global_grant_option |= grant_option;
                    global.extend(privileges);
                }
                Object::Proxy => out.push(power(
                    "acts as other accounts (PROXY)",
                    "It can log in with the identity and privileges of other accounts.",
                    true,
                )),
                Object::Database(db) | Object::Table(db, _) => {
                    let all = privileges
                        .iter()
                        .any(|p| p == "ALL PRIVILEGES" || p == "ALL");
                    if covers_mysql(&db)
                        && (all || privileges.iter().any(|p| WRITES.contains(&p.as_str())))
                    {
                        mysql_writes.insert(db.clone());
                    }
                    let own = database.is_some_and(|current| unescaped(&db) == current);
                    if !own && !privileges.iter().all(|p| p == "USAGE") {
                        elsewhere.insert(db);
                    }
                }
            },
        }
    }
    if global.contains("ALL PRIVILEGES") || global.contains("ALL") {
        out.push(power(
            "superuser (ALL PRIVILEGES on every database)",
            "It can do anything on the server: read and write files, change accounts and \
             settings, end other sessions, also from functions and triggers the gate cannot see.",
            true,
        ));
    } else {
        for (privilege, name, meaning, escapes) in GLOBAL {
            if global.contains(*privilege) {
                out.push(power(*name, meaning, *escapes));
            }
        }
        let writes: Vec<&str> = WRITES
            .iter()
            .copied()
            .filter(|p| global.contains(*p))
            .collect();
        if !writes.is_empty() {
            out.push(power(
                format!("writes every database ({})", writes.join(", ")),
                "This includes the account and routine tables of the mysql schema, so \
                 functions and triggers the gate cannot see could grant privileges or create code.",
                true,
            ));
        }
        let ordinary: Vec<&str> = ORDINARY
            .iter()
            .copied()
            .filter(|p| global.contains(*p))
            .collect();
        if !ordinary.is_empty() {
            out.push(power(
                format!("privileges on every database ({})", ordinary.join(", ")),
                "It reaches every database on the server, including the account tables.",
                false,
            ));
        }
        let known = |p: &String| {
            p == "USAGE"
                || GLOBAL.iter().any(|(name, ..)| name == p)
                || WRITES.contains(&p.as_str())
                || ORDINARY.contains(&p.as_str())
        };
        let unknown: Vec<&str> = global
            .iter()
            .filter(|p| !known(p))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            out.push(power(
                format!("other server privileges ({})", unknown.join(", ")),
                "This plugin does not know what these privileges allow, so it assumes the worst.",
                true,
            ));
        }
    }
    if global_grant_option {
        out.push(power(
            "grants privileges to other accounts (GRANT OPTION)",
            "It can pass its server-wide privileges on to other accounts and roles.",
            true,
        ));
    }
    for db in &mysql_writes {
        out.push(power(
            format!("writes the mysql system schema (grant on {db})"),
            "The account and routine tables live there, so functions and triggers the gate \
             cannot see could grant privileges or create code.",
            true,
        ));
    }
    for db in elsewhere.difference(&mysql_writes) {
        out.push(power(
            format!("privileges on database {db}"),
            "Statements can reach this database besides the connection's own.",
            false,
        ));
    }
    for role in roles {
        if Some(role.as_str()) == current_role {
            // Its grants are among the lines already.
            continue;
        }
        out.push(power(
            format!("may SET ROLE to {role}"),
            "A function can switch the session to this role, whose privileges the login \
             cannot read, so the plugin assumes the worst.",
            true,
        ));
    }
    if unreadable {
        out.push(power(
            "a grant this plugin cannot read",
            "One line of SHOW GRANTS has a shape the plugin does not know, so it assumes the worst.",
            true,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_shapes() {
        assert_eq!(
            parse("GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"),
            Some(Grant::Privileges {
                privileges: vec!["ALL PRIVILEGES".into()],
                object: Object::Global,
                grant_option: true
            })
        );
        assert_eq!(
            parse("GRANT SELECT (`a`, `b``c`), INSERT ON `d``b`.`t` TO `u`@`%`"),
            Some(Grant::Privileges {
                privileges: vec!["SELECT".into(), "INSERT".into()],
                object: Object::Table("d`b".into(), "t".into()),
                grant_option: false
            })
        );
        assert_eq!(
            parse("GRANT EXECUTE ON FUNCTION `db`.`f` TO `u`@`%`"),
            Some(Grant::Privileges {
                privileges: vec!["EXECUTE".into()],
                object: Object::Table("db".into(), "f".into()),
                grant_option: false
            })
        );
        assert_eq!(
            parse("GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION"),
            Some(Grant::Privileges {
                privileges: vec!["PROXY".into()],
                object: Object::Proxy,
                grant_option: true
            })
        );
        assert_eq!(
            parse("GRANT `r1`,`r2` TO `u`@`%` WITH ADMIN OPTION"),
            Some(Grant::Roles(vec!["r1".into(), "r2".into()]))
        );
        assert_eq!(
            parse("GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*AB'"),
            Some(Grant::Privileges {
                privileges: vec!["USAGE".into()],
                object: Object::Global,
                grant_option: false
            })
        );
        assert_eq!(
            parse("SET DEFAULT ROLE `r` FOR `u`@`%`"),
            Some(Grant::Other)
        );
        assert_eq!(parse("REVOKE x"), None);
        assert_eq!(parse("GRANT SELECT ON `unterminated TO x"), None);
    }

    #[test]
    fn least_privilege_has_no_power() {
        let lines = [
            "GRANT USAGE ON *.* TO `u`@`%`".to_owned(),
            "GRANT SELECT, INSERT ON `app`.* TO `u`@`%`".to_owned(),
        ];
        assert!(powers(&lines, Some("app"), None).is_empty());
        let other = powers(&lines, Some("other"), None);
        assert_eq!(other.len(), 1);
        assert!(!other[0].escapes);
    }

    #[test]
    fn mysql_schema_writes_escape() {
        let lines = ["GRANT INSERT ON `mysq_`.* TO `u`@`%`".to_owned()];
        assert!(powers(&lines, Some("app"), None).iter().any(|p| p.escapes));
        let lines = ["GRANT SELECT ON `mysql`.* TO `u`@`%`".to_owned()];
        assert!(!powers(&lines, Some("app"), None).iter().any(|p| p.escapes));
        assert!(covers_mysql("%"));
        assert!(!covers_mysql("mysql\\_x"));
    }

    #[test]
    fn unknown_lines_and_roles_escape() {
        let lines = ["WHATEVER".to_owned()];
        assert!(powers(&lines, None, None).iter().any(|p| p.escapes));
        let lines = ["GRANT `admin` TO `u`@`%`".to_owned()];
        assert!(powers(&lines, None, None).iter().any(|p| p.escapes));
        assert!(powers(&lines, None, Some("admin")).is_empty());
    }
}
