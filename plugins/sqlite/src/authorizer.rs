//! The SQLite authorizer: the engine-level backstop behind the host's gate.

use plenum_plugin_api::AccessMode;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

/// Pragmas that only read, and accept a table or index name as their argument.
const READ_PRAGMAS_WITH_ARGUMENT: &[&str] = &[
    "table_info",
    "table_xinfo",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "foreign_key_check",
    "table_list",
    "integrity_check",
    "quick_check",
];

/// Functions that reach outside the database or load code.
const DENIED_FUNCTIONS: &[&str] = &[
    "load_extension",
    "readfile",
    "writefile",
    "edit",
    "fts3_tokenizer",
    "zipfile",
];

/// Decides one action for a session of the given tier.
pub(crate) fn authorize(access: AccessMode, context: &AuthContext<'_>) -> Authorization {
    use AuthAction::*;
    let allowed = match context.action {
        Select | Read { .. } | Recursive | Transaction { .. } | Savepoint { .. } => true,
        Function { function_name } => !DENIED_FUNCTIONS
            .iter()
            .any(|denied| function_name.eq_ignore_ascii_case(denied)),
        Pragma {
            pragma_name,
            pragma_value,
        } => match pragma_value {
            None => true,
            Some(_) => READ_PRAGMAS_WITH_ARGUMENT
                .iter()
                .any(|name| pragma_name.eq_ignore_ascii_case(name)),
        },
        Insert { .. } | Update { .. } | Delete { .. } => access >= AccessMode::Write,
        CreateIndex { .. }
        | CreateTable { .. }
        | CreateTempIndex { .. }
        | CreateTempTable { .. }
        | CreateTempTrigger { .. }
        | CreateTempView { .. }
        | CreateTrigger { .. }
        | CreateView { .. }
        | DropIndex { .. }
        | DropTable { .. }
        | DropTempIndex { .. }
        | DropTempTable { .. }
        | DropTempTrigger { .. }
        | DropTempView { .. }
        | DropTrigger { .. }
        | DropView { .. }
        | AlterTable { .. }
        | Reindex { .. }
        | Analyze { .. }
        | CreateVtable { .. }
        | DropVtable { .. } => access >= AccessMode::Ddl,
        // ATTACH can create files and reach other databases; no tier allows it.
        Attach { .. } | Detach { .. } => false,
        _ => false,
    };
    if allowed {
        Authorization::Allow
    } else {
        Authorization::Deny
    }
}
