//! SECURITY.md stays true to the code: every test its guarantee and known-issue tables name
//! exists, and the hygiene rules it states (no `unsafe` outside the ABI, no `unwrap`/`expect`
//! outside tests) hold in the sources.

use std::path::{Path, PathBuf};

use plenum_e2e::workspace_root;

/// The rows of the table under the `## {heading}` section of SECURITY.md (header and
/// separator rows left out).
fn table_rows(markdown: &str, heading: &str) -> Vec<String> {
    let mut rows = Vec::new();
    let mut inside = false;
    for line in markdown.lines() {
        if line.starts_with("## ") {
            inside = line.trim_start_matches("## ").trim() == heading;
            continue;
        }
        if inside && line.starts_with('|') {
            rows.push(line.to_owned());
        }
    }
    // The first two rows are the header and the `|---|` separator.
    rows.into_iter().skip(2).collect()
}

/// Every `` `path.rs::name` `` in a table row.
fn test_references(row: &str) -> Vec<(String, String)> {
    row.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|code| code.split_once(".rs::"))
        .map(|(path, name)| (format!("{path}.rs"), name.to_owned()))
        .collect()
}

fn defines_test(source: &str, name: &str) -> bool {
    source.lines().any(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("pub ").unwrap_or(line);
        let line = line.strip_prefix("async ").unwrap_or(line);
        line.strip_prefix("fn ")
            .and_then(|rest| rest.strip_prefix(name))
            .is_some_and(|rest| rest.starts_with('('))
    })
}

fn security_md() -> String {
    std::fs::read_to_string(workspace_root().join("SECURITY.md")).expect("read SECURITY.md")
}

/// Problems with the tests `rows` name; `require_one` says each row must name one.
fn missing_tests(rows: &[String], require_one: bool) -> Vec<String> {
    let root = workspace_root();
    let mut problems = Vec::new();
    for row in rows {
        let references = test_references(row);
        if require_one && references.is_empty() {
            problems.push(format!("names no test: {row}"));
        }
        for (path, name) in references {
            match std::fs::read_to_string(root.join(&path)) {
                Ok(source) if defines_test(&source, &name) => {}
                Ok(_) => problems.push(format!("{path} has no `fn {name}`")),
                Err(error) => problems.push(format!("{path}: {error}")),
            }
        }
    }
    problems
}

#[test]
fn every_guarantee_names_tests_that_exist() {
    let markdown = security_md();
    let rows = table_rows(&markdown, "Guarantees");
    assert!(
        rows.len() >= 20,
        "the guarantee table has {} rows",
        rows.len()
    );
    let problems = missing_tests(&rows, true);
    assert!(problems.is_empty(), "SECURITY.md:\n{}", problems.join("\n"));
}

#[test]
fn every_known_issue_has_a_status_and_fixed_ones_a_regression_test() {
    let markdown = security_md();
    let rows = table_rows(&markdown, "Known issues");
    let audit = rows
        .iter()
        .filter(|row| row.starts_with("| Audit:"))
        .count();
    assert!(
        audit >= 5,
        "the audit's five weaknesses must be listed, found {audit}"
    );
    for row in &rows {
        let status = row.split('|').nth(2).unwrap_or("").trim();
        assert!(
            ["fixed", "open", "by design"]
                .iter()
                .any(|word| status.starts_with(word)),
            "a known issue needs a status (fixed, open, by design): {row}"
        );
        if status.starts_with("fixed") {
            assert!(
                !test_references(row).is_empty(),
                "a fixed issue needs its regression test: {row}"
            );
        }
    }
    let problems = missing_tests(&rows, false);
    assert!(problems.is_empty(), "SECURITY.md:\n{}", problems.join("\n"));
}

#[test]
fn the_checker_itself_catches_a_wrong_name() {
    let rows = vec![
        "| 1 | x | `tests/tests/security_guarantees.rs::no_such_test_here` |".to_owned(),
        "| 2 | y | `tests/tests/security_guarantees.rs::the_checker_itself_catches_a_wrong_name` |"
            .to_owned(),
        "| 3 | z | none |".to_owned(),
    ];
    let problems = missing_tests(&rows, true);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("no `fn no_such_test_here`"));
    assert!(problems[1].starts_with("names no test"));
}

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files
}

/// The members of the workspace: each takes the lints of the root Cargo.toml.
const MEMBERS: &[&str] = &[
    "plugin-api",
    "plugin-api/conformance",
    "gate",
    "core",
    "host",
    "plugins/sqlite",
    "plugins/postgres",
    "plugins/mysql",
    "tests",
    "tests/plugins/testplugin",
    "tests/plugins/probe",
];

/// Members that must also build outside the workspace (the author kit): their own lints.
const STANDALONE: &[&str] = &["plugin-api", "plugin-api/conformance"];

/// Crates outside the workspace (their own workspaces), with the attribute their root carries
/// instead: `forbid`, or `deny` where one module needs `unsafe` and says why.
const OTHER_ROOTS: &[(&str, &str)] = &[
    ("examples/plugin-template/src/lib.rs", "forbid"),
    ("fuzz/src/lib.rs", "forbid"),
    ("plugins/duckdb/src/lib.rs", "deny"),
];

/// The only files that may relax the `unsafe_code` lint, each for a reason it states.
const UNSAFE_ALLOWED: &[&str] = &[
    // abi_stable's macros expand to `unsafe` (`abi`), reading a root module through an older
    // prefix layout (`loader`) and the export macro's private module (`lib`).
    "plugin-api/src/abi.rs",
    "plugin-api/src/lib.rs",
    "plugin-api/src/loader.rs",
    // The host's private stdout and exit guard (`atexit`, `_exit`).
    "core/src/services/output/stdio.rs",
    // The crash handler (`sigaction`, `write`, `_exit`), which answers for an abort or a fault.
    "core/src/services/output/crash.rs",
    // The SQLite plugin's C `log` (`no_mangle`), so it needs no libm.so.6 at load.
    "plugins/sqlite/src/math.rs",
    // A root module exported by hand, and a loader initialiser, to test the loader.
    "tests/plugins/probe/src/lib.rs",
    // Strings that are not UTF-8, made on purpose for the hostile-plugin tests.
    "tests/plugins/testplugin/src/raw.rs",
    // Aborts, faults, stack overflows and `pthread_exit`, on purpose, for the same tests.
    "tests/plugins/testplugin/src/crash.rs",
    // DuckDB's C API (its own workspace): statement extraction, the database and the
    // streaming connection, and the streamed results.
    "plugins/duckdb/src/extract.rs",
    "plugins/duckdb/src/raw.rs",
    "plugins/duckdb/src/stream.rs",
];

/// The levels below `deny` (`allow`, `warn`, `expect`) that the attributes of `source` set for
/// `unsafe_code`: the word before the parenthesis that names it.
fn unsafe_code_relaxed(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in source.match_indices("unsafe_code") {
        let before = &source[..at];
        // Only inside an attribute: after its `#[` or `#![`, before its `]`.
        let Some(attribute) = before.rfind("#[").max(before.rfind("#![")) else {
            continue;
        };
        if before[attribute..].contains(']') {
            continue;
        }
        let Some(open) = before.rfind('(') else {
            continue;
        };
        let level: String = before[..open]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if matches!(level.as_str(), "allow" | "warn" | "expect") {
            found.push(level);
        }
    }
    found
}

#[test]
fn unsafe_code_is_denied_except_in_the_modules_that_say_why() {
    let root = workspace_root();
    // `deny`, not `forbid`, so that the modules above can allow it; the scan below keeps every
    // other module from doing the same.
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("read Cargo.toml");
    let lints = manifest
        .split("[workspace.lints.rust]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .unwrap_or_default();
    assert!(
        lints.contains("unsafe_code = \"deny\"") && lints.contains("missing_docs = \"warn\""),
        "Cargo.toml's [workspace.lints.rust] must deny unsafe_code and warn on missing_docs"
    );
    for member in MEMBERS {
        assert!(
            manifest.contains(&format!("\"{member}\"")),
            "{member} is not a member of the workspace"
        );
        let own = std::fs::read_to_string(root.join(member).join("Cargo.toml"))
            .expect("read member Cargo.toml");
        if STANDALONE.contains(member) {
            // The author kit builds outside the workspace, so it repeats the lints and
            // inherits nothing.
            assert!(
                own.contains("[lints.rust]\nunsafe_code = \"deny\"\nmissing_docs = \"warn\""),
                "{member}/Cargo.toml lacks its own `[lints.rust]` denying unsafe_code"
            );
            assert!(
                !own.contains("workspace = true"),
                "{member}/Cargo.toml inherits from the workspace"
            );
        } else {
            assert!(
                own.contains("[lints]\nworkspace = true"),
                "{member}/Cargo.toml lacks `[lints] workspace = true`"
            );
        }
    }
    for (path, level) in OTHER_ROOTS {
        let source = std::fs::read_to_string(root.join(path)).expect("read crate root");
        let attribute = format!("#![{level}(unsafe_code)]");
        assert!(source.contains(&attribute), "{path} lacks {attribute}");
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    for member in MEMBERS {
        for part in ["src", "tests", "benches", "examples"] {
            dirs.push(root.join(member).join(part));
        }
    }
    for (path, _) in OTHER_ROOTS {
        dirs.extend(root.join(path).parent().map(Path::to_path_buf));
    }
    let mut scanned = 0;
    for dir in dirs {
        for file in rust_files(&dir) {
            let source = std::fs::read_to_string(&file).expect("read");
            let relative = file
                .strip_prefix(&root)
                .map(|path| path.to_string_lossy().into_owned())
                .unwrap_or_default();
            scanned += 1;
            let relaxed = unsafe_code_relaxed(&source);
            assert!(
                relaxed.is_empty() || UNSAFE_ALLOWED.contains(&relative.as_str()),
                "{relative} relaxes the unsafe_code lint ({relaxed:?})"
            );
        }
    }
    assert!(scanned > 100, "only {scanned} files scanned");
}

/// Lines of non-test code (before the first `#[cfg(test)]`) that call `unwrap()` or `expect(`.
fn unwraps_in(source: &str) -> Vec<String> {
    source
        .lines()
        .take_while(|line| !line.trim_start().starts_with("#[cfg(test)]"))
        .filter(|line| {
            let code = line.split("//").next().unwrap_or("");
            code.contains(".unwrap()") || code.contains(".expect(")
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn no_unwrap_or_expect_outside_tests() {
    let root = workspace_root();
    let mut found = Vec::new();
    let mut scanned = 0;
    for dir in [
        "host/src",
        "gate/src",
        "plugin-api/src",
        "plugins/sqlite/src",
        "plugins/postgres/src",
        "plugins/mysql/src",
    ] {
        for file in rust_files(&root.join(dir)) {
            scanned += 1;
            let source = std::fs::read_to_string(&file).expect("read");
            for line in unwraps_in(&source) {
                found.push(format!("{}: {}", file.display(), line.trim()));
            }
        }
    }
    assert!(scanned > 50, "only {scanned} files scanned");
    assert!(
        found.is_empty(),
        "unwrap/expect in non-test code:\n{}",
        found.join("\n")
    );
    // The scan itself sees what it looks for.
    assert_eq!(
        unwraps_in("let x = y.unwrap();\n#[cfg(test)]\nz.unwrap();").len(),
        1
    );
    assert!(unwraps_in("// a.unwrap()\nlet b = c.unwrap_or(1);").is_empty());
}
