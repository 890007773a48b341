//! SQLite's extension and shell functions.

use super::{refuse, FILES, NATIVE_CODE};
use crate::Policy;

const EDITOR: &str = "it starts an interactive editor process";

pub(super) fn add(policy: &mut Policy) {
    for name in ["load_extension", "fts3_tokenizer"] {
        refuse(policy, name, NATIVE_CODE);
    }
    for name in ["readfile", "writefile", "fsdir", "zipfile"] {
        refuse(policy, name, FILES);
    }
    refuse(policy, "edit", EDITOR);
}
