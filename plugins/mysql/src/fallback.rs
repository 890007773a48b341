//! The one case where user SQL may use the text protocol.
//!
//! Some servers refuse to prepare a few `SHOW`/`DESCRIBE` forms (error 1295,
//! ER_UNSUPPORTED_PS). The text protocol would run them, but it also runs stacked statements,
//! so it is used only for a statement that is a single `SHOW`, `DESCRIBE`, `DESC` or
//! `EXPLAIN` by a check much stricter than the server's lexer: no `;`, no comment markers and
//! no backslash anywhere, not even inside quotes. Anything else keeps the server's error.
//!
//! MariaDB 10.11 prepares every `SHOW`, `DESCRIBE` and `EXPLAIN` form tried (tables, columns,
//! indexes, create statements, status, variables, grants, processlist, engine status, …), so
//! on it this path is never taken; it exists for servers that refuse some of them.

/// ER_UNSUPPORTED_PS: "This command is not supported in the prepared statement protocol yet".
pub(crate) const UNSUPPORTED_IN_PREPARED: u16 = 1295;

const KEYWORDS: [&str; 4] = ["SHOW", "DESCRIBE", "DESC", "EXPLAIN"];

/// Whether `sql` may be sent through the text protocol after a failed prepare.
pub(crate) fn is_single_show_statement(sql: &str) -> bool {
    let trimmed = sql.trim_start();
    let Some(first) = trimmed.split_ascii_whitespace().next() else {
        return false;
    };
    let keyword_then_space = trimmed[first.len()..].starts_with(|c: char| c.is_ascii_whitespace());
    if !keyword_then_space || !KEYWORDS.iter().any(|k| first.eq_ignore_ascii_case(k)) {
        return false;
    }
    // `;` separates statements, `#`, `--` and `/*` open comments (and `/*!` executable
    // comments), and a backslash lexes differently under NO_BACKSLASH_ESCAPES.
    let forbidden = [";", "#", "--", "/*", "*/", "\\"];
    if forbidden.iter().any(|marker| sql.contains(marker)) {
        return false;
    }
    // EXPLAIN ANALYZE / ANALYZE FORMAT run the statement they explain.
    !sql.split_ascii_whitespace()
        .any(|word| word.eq_ignore_ascii_case("ANALYZE"))
}

#[cfg(test)]
mod tests {
    use super::is_single_show_statement;

    #[test]
    fn accepts_plain_show_forms() {
        for sql in [
            "SHOW TABLES",
            "  show full processlist",
            "DESCRIBE t",
            "desc `a b`",
            "EXPLAIN SELECT * FROM t",
            "SHOW TABLES LIKE 'a%'",
            "SHOW\tCREATE TABLE t",
        ] {
            assert!(is_single_show_statement(sql), "{sql}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        for sql in [
            "",
            "SHOW",
            "SHOWTABLES",
            "SELECT 1",
            "SHOW TABLES; DELETE FROM t",
            "SHOW TABLES LIKE ';'",
            "SHOW TABLES /*! ; DELETE FROM t */",
            "SHOW TABLES -- x\n",
            "SHOW TABLES # x",
            "SHOW TABLES LIKE 'a\\'",
            "/* x */ SHOW TABLES",
            "EXPLAIN ANALYZE DELETE FROM t",
            "DELETE FROM t",
            "SHOW(1)",
        ] {
            assert!(!is_single_show_statement(sql), "{sql:?}");
        }
    }
}
