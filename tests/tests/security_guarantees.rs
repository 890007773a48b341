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

/// The crate roots of the workspace's shipped and test crates, with the attribute each must
/// carry: `forbid`, or `deny` for the crates whose ABI needs `unsafe` in macro expansions (and
/// the host, whose one module `output/stdio.rs` registers the exit guard).
const CRATE_ROOTS: &[(&str, &str)] = &[
    ("host/src/main.rs", "deny"),
    ("gate/src/lib.rs", "forbid"),
    ("plugin-api/src/lib.rs", "deny"),
    ("plugin-api/conformance/src/lib.rs", "forbid"),
    ("plugins/sqlite/src/lib.rs", "forbid"),
    ("plugins/postgres/src/lib.rs", "forbid"),
    ("plugins/mysql/src/lib.rs", "forbid"),
    ("tests/src/lib.rs", "forbid"),
    ("tests/plugins/testplugin/src/lib.rs", "deny"),
    ("tests/plugins/probe/src/lib.rs", "deny"),
    ("examples/plugin-template/src/lib.rs", "forbid"),
    ("fuzz/src/lib.rs", "forbid"),
];

#[test]
fn every_crate_forbids_unsafe_code_except_the_abi() {
    let root = workspace_root();
    for (path, level) in CRATE_ROOTS {
        let source = std::fs::read_to_string(root.join(path)).expect("read crate root");
        let attribute = format!("#![{level}(unsafe_code)]");
        assert!(source.contains(&attribute), "{path} lacks {attribute}");
    }
    // Where `unsafe` is merely denied, it may appear only in the modules that say why.
    let allowed = [
        "plugin-api/src/abi.rs",
        "plugin-api/src/lib.rs",
        "plugin-api/src/loader.rs",
        "tests/plugins/probe/src/lib.rs",
        // The host's private stdout and exit guard (`atexit`, `_exit`).
        "host/src/output/stdio.rs",
        // Strings that are not UTF-8, made on purpose for the hostile-plugin tests.
        "tests/plugins/testplugin/src/raw.rs",
    ];
    for dir in [
        "plugin-api/src",
        "tests/plugins/probe/src",
        "host/src",
        "tests/plugins/testplugin/src",
    ] {
        for file in rust_files(&root.join(dir)) {
            let source = std::fs::read_to_string(&file).expect("read");
            let relative = file
                .strip_prefix(&root)
                .map(|path| path.to_string_lossy().into_owned())
                .unwrap_or_default();
            if source.contains("allow(unsafe_code)") || source.contains("unsafe {") {
                assert!(
                    allowed.contains(&relative.as_str()),
                    "{relative} uses unsafe code"
                );
            }
        }
    }
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
