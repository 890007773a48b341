//! Plenum as installed and as a person meets it: the FHS layout `PREFIX/bin/plenum` +
//! `PREFIX/lib/plenum/plugins/` (what `scripts/install`, the release archive and the Python
//! wheel lay out), help and usage errors as text on a terminal, shell completions, the man
//! page and `--pretty`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use plenum_e2e::{
    install_library, plenum_bin, plenum_mcp_bin, plugin_library, Plenum, SqliteFixture,
};
use serde_json::Value as Json;

/// A private folder holding `PREFIX/bin/plenum` and, when asked, the sqlite plugin in
/// `PREFIX/lib/plenum/plugins`.
struct Prefix {
    dir: tempfile::TempDir,
}

impl Prefix {
    fn new(bin_folder: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        set_mode(dir.path(), 0o700);
        let bin = dir.path().join("prefix").join(bin_folder);
        std::fs::create_dir_all(&bin).expect("mkdir bin");
        link_or_copy(&plenum_bin(), &bin.join("plenum"));
        Prefix { dir }
    }

    /// Puts a copy of `plenum-mcp` beside `plenum`, as every installation does (a copy, not a
    /// link: a test may change its mode).
    fn install_mcp_server(&self, bin_folder: &str) -> PathBuf {
        let target = self.root().join(bin_folder).join("plenum-mcp");
        std::fs::copy(plenum_mcp_bin(), &target).expect("copy plenum-mcp");
        target
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("prefix")
    }

    fn plugins(&self) -> PathBuf {
        self.root().join("lib").join("plenum").join("plugins")
    }

    fn install_sqlite(&self) -> PathBuf {
        std::fs::create_dir_all(self.plugins()).expect("mkdir plugins");
        install_library(&plugin_library("sqlite"), &self.plugins())
    }

    /// A folder of no importance to run from, and an empty HOME.
    fn elsewhere(&self) -> PathBuf {
        let dir = self.dir.path().join("elsewhere");
        std::fs::create_dir_all(&dir).expect("mkdir");
        dir
    }

    /// Runs `binary` with `args` from elsewhere, with no plugin path and an empty HOME.
    fn run(&self, binary: &Path, args: &[&str]) -> Json {
        let home = self.dir.path().join("home");
        std::fs::create_dir_all(&home).expect("mkdir home");
        let output = Command::new(binary)
            .args(args)
            .current_dir(self.elsewhere())
            .env_remove("PLENUM_PLUGIN_PATH")
            .env_remove("PLENUM_ALLOW_UNVERIFIED_PLUGINS")
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .output()
            .expect("run plenum");
        serde_json::from_slice(&output.stdout).expect("one envelope")
    }
}

/// A hard link is instant; a copy where the temporary folder is on another file system.
fn link_or_copy(from: &Path, to: &Path) {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).expect("copy the binary");
    }
}

fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}

fn listed<'a>(plugins: &'a Json, library: &Path) -> Option<&'a Json> {
    plugins["data"]["plugins"]
        .as_array()?
        .iter()
        .find(|plugin| plugin["path"].as_str() == library.to_str())
}

const SELECT: [&str; 7] = [
    "query",
    "--engine",
    "sqlite",
    "--file",
    "/nonexistent.db",
    "--sql",
    "SELECT 1",
];

#[test]
fn plugins_in_prefix_lib_plenum_plugins_belong_to_prefix_bin_plenum() {
    let prefix = Prefix::new("bin");
    let library = prefix.install_sqlite();
    let binary = prefix.root().join("bin").join("plenum");

    let plugins = prefix.run(&binary, &["plugins"]);
    let entry = listed(&plugins, &library).unwrap_or_else(|| panic!("not listed: {plugins}"));
    assert_eq!(entry["status"], "ok", "{entry}");
    assert_eq!(entry["trust"]["status"], "installation", "{entry}");
    let searched = plugins["data"]["search_path"].to_string();
    assert!(
        searched.contains(&format!("{}\"", prefix.plugins().display())),
        "{searched}"
    );
    // The plugin served the query: the missing file is the engine's complaint, not a
    // missing plugin.
    let query = prefix.run(&binary, &SELECT);
    assert_eq!(query["error"]["code"], "CONNECTION_FAILED", "{query}");

    // A manifest written at install time makes it verified, as scripts/install does.
    let verified = prefix.run(
        &binary,
        &[
            "plugins",
            "verify",
            library.to_str().expect("utf-8"),
            "--write",
        ],
    );
    assert_eq!(verified["ok"], true, "{verified}");
    let plugins = prefix.run(&binary, &["plugins"]);
    let entry = listed(&plugins, &library).unwrap_or_else(|| panic!("not listed: {plugins}"));
    assert_eq!(entry["trust"]["status"], "verified", "{entry}");
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_to_the_binary_finds_the_plugins_of_its_real_location() {
    // `pipx` and `uv tool` put a link in ~/.local/bin to the environment's bin/plenum.
    let prefix = Prefix::new("bin");
    let library = prefix.install_sqlite();
    let links = prefix.dir.path().join("links").join("bin");
    std::fs::create_dir_all(&links).expect("mkdir");
    let link = links.join("plenum");
    std::os::unix::fs::symlink(prefix.root().join("bin").join("plenum"), &link).expect("link");
    let plugins = prefix.run(&link, &["plugins"]);
    let entry = listed(&plugins, &library).unwrap_or_else(|| panic!("not listed: {plugins}"));
    assert_eq!(entry["trust"]["status"], "installation", "{entry}");
}

#[cfg(unix)]
#[test]
fn prefix_lib_plenum_plugins_gets_the_same_permission_checks() {
    let prefix = Prefix::new("bin");
    let library = prefix.install_sqlite();
    let binary = prefix.root().join("bin").join("plenum");
    set_mode(&prefix.plugins(), 0o777);
    let query = prefix.run(&binary, &SELECT);
    assert_eq!(query["error"]["code"], "PLUGIN_ERROR", "{query}");
    assert!(
        query["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("writable by every user")),
        "{query}"
    );
    let plugins = prefix.run(&binary, &["plugins"]);
    let entry = listed(&plugins, &library).unwrap_or_else(|| panic!("not listed: {plugins}"));
    assert_eq!(entry["trust"]["status"], "refused", "{entry}");
}

#[test]
fn lib_plenum_plugins_is_searched_only_beside_a_bin_folder() {
    let prefix = Prefix::new("tools");
    let library = prefix.install_sqlite();
    let plugins = prefix.run(&prefix.root().join("tools").join("plenum"), &["plugins"]);
    assert!(listed(&plugins, &library).is_none(), "{plugins}");
    let searched = plugins["data"]["search_path"].to_string();
    assert!(!searched.contains("lib/plenum/plugins"), "{searched}");
}

/// Runs `plenum ARGS` with a pseudo-terminal as stdout (`script`, from util-linux), as a
/// person at a terminal would; `None` when `script` is not installed.
fn on_a_terminal(args: &str) -> Option<Output> {
    let has_script = Command::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !has_script {
        eprintln!("skipped: `script` (util-linux) is not installed, so no terminal can be faked");
        return None;
    }
    let command_line = format!("{} {args}", plenum_bin().display());
    Some(
        Command::new("script")
            .args(["-qec", &command_line, "/dev/null"])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run script"),
    )
}

#[test]
fn help_is_text_on_a_terminal_and_json_in_a_pipe() {
    let Some(terminal) = on_a_terminal("--help") else {
        return;
    };
    let text = String::from_utf8_lossy(&terminal.stdout);
    assert_eq!(terminal.status.code(), Some(0), "{text}");
    assert!(text.contains("Usage: plenum [OPTIONS] <COMMAND>"), "{text}");
    assert!(text.contains("\n  query "), "{text}");
    assert!(text.contains("completions"), "{text}");
    assert!(!text.contains("{\"ok\""), "{text}");
    assert!(
        !text.contains("\\n"),
        "escaped newlines on a terminal: {text}"
    );

    let piped = Plenum::new(["--help"]).run();
    piped.assert_ok();
    assert_eq!(piped.json["command"], "help");
    assert!(piped.json["data"]["text"]
        .as_str()
        .is_some_and(|help| help.contains("Usage: plenum")));
}

#[test]
fn usage_errors_are_text_on_a_terminal_and_an_envelope_in_a_pipe() {
    let Some(terminal) = on_a_terminal("query --no-such-flag") else {
        return;
    };
    let text = String::from_utf8_lossy(&terminal.stdout);
    assert_eq!(terminal.status.code(), Some(2), "{text}");
    assert!(
        text.contains("error: unexpected argument '--no-such-flag'"),
        "{text}"
    );
    assert!(text.contains("Usage: plenum query"), "{text}");
    assert!(!text.contains("{\"ok\""), "{text}");

    let piped = Plenum::new(["query", "--no-such-flag"]).run();
    piped.assert_error("INVALID_INPUT");
    assert!(piped.error_message().contains("--no-such-flag"));
}

#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _plenum"),
        ("zsh", "#compdef plenum"),
        ("fish", "complete -c plenum"),
        ("elvish", "edit:completion:arg-completer[plenum]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let output = Command::new(plenum_bin())
            .args(["completions", shell])
            .output()
            .expect("run plenum");
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{shell}: {script}");
        assert!(script.contains(marker), "{shell}: {script}");
        // The subcommands and their flags are completed.
        assert!(script.contains("introspect"), "{shell}");
        assert!(script.contains("allow-write"), "{shell}");
    }
    let unknown = Plenum::new(["completions", "tcsh"]).run();
    unknown.assert_error("INVALID_INPUT");
}

#[test]
fn the_man_page_documents_every_command() {
    let output = Command::new(plenum_bin())
        .arg("man")
        .output()
        .expect("run plenum");
    let page = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{page}");
    assert!(page.contains(".TH plenum 1"), "{page}");
    assert!(page.contains(env!("CARGO_PKG_VERSION")), "{page}");
    assert!(page.contains("introspect"), "{page}");

    let dir = tempfile::tempdir().expect("temp dir");
    let written = Plenum::new(["man", "--out-dir"])
        .args([dir.path().as_os_str()])
        .run();
    written.assert_ok();
    for page in [
        "plenum.1",
        "plenum-query.1",
        "plenum-mcp.1",
        "plenum-plugins.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_default();
        assert!(text.starts_with(".ie"), "{page}: {text}");
    }
    let query = std::fs::read_to_string(dir.path().join("plenum-query.1")).unwrap_or_default();
    assert!(query.contains("allow\\-write"), "{query}");
}

#[test]
fn pretty_indents_the_same_document() {
    let fixture = SqliteFixture::new(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
         INSERT INTO users (name) VALUES ('Ada'), ('Grace');",
    );
    let sql = "SELECT id, name FROM users ORDER BY id";
    let compact = fixture.query(sql, &[]);
    compact.assert_ok();
    let output = Command::new(plenum_bin())
        .args(["query", "--engine", "sqlite", "--file"])
        .arg(&fixture.file)
        .args(["--sql", sql, "--pretty"])
        .env_remove("PLENUM_PLUGIN_PATH")
        .output()
        .expect("run plenum");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.starts_with("{\n  \"ok\": true,\n"), "{text}");
    // A row reads as a line of a table.
    assert!(
        text.contains("\n      [1, \"Ada\"],\n      [2, \"Grace\"]\n"),
        "{text}"
    );
    let mut pretty: Json = serde_json::from_str(&text).expect("one JSON document");
    let mut compact = compact.json.clone();
    for document in [&mut pretty, &mut compact] {
        document["meta"]["execution_ms"] = Json::Null;
    }
    assert_eq!(pretty, compact);

    // Every command's envelope, including errors.
    let refused = Command::new(plenum_bin())
        .args(["query", "--engine", "sqlite", "--file"])
        .arg(&fixture.file)
        .args(["--sql", "DELETE FROM users", "--pretty"])
        .output()
        .expect("run plenum");
    let text = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(1), "{text}");
    assert!(
        text.contains("\n    \"code\": \"CAPABILITY_VIOLATION\",\n"),
        "{text}"
    );
}

#[test]
fn pretty_indents_a_result_streamed_in_chunks() {
    // Past 1 MiB of rows (allowed by a raised --max-bytes) the envelope is written as rows are
    // read, in chunks: the indenting must carry across them.
    let fixture = SqliteFixture::new(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)
         INSERT INTO t (s) SELECT printf('%.1000c', 'x') || ', \"[]{}' FROM n;",
    );
    let output = Command::new(plenum_bin())
        .args(["query", "--engine", "sqlite", "--file"])
        .arg(&fixture.file)
        .args([
            "--sql",
            "SELECT id, s FROM t ORDER BY id",
            "--max-rows",
            "2000",
        ])
        .args(["--max-bytes", "10000000", "--pretty"])
        .env_remove("PLENUM_PLUGIN_PATH")
        .output()
        .expect("run plenum");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", &text[..text.len().min(500)]);
    let document: Json = serde_json::from_str(&text).expect("one JSON document");
    assert_eq!(
        document["data"]["rows"].as_array().map(Vec::len),
        Some(1500)
    );
    // One line per row, plus the envelope around them.
    let row_lines = text
        .lines()
        .filter(|line| line.starts_with("      ["))
        .count();
    assert_eq!(row_lines, 1500);
    assert!(
        text.ends_with("  \"ok\": true\n}\n"),
        "{}",
        &text[text.len() - 200..]
    );
}

/// `plenum mcp` runs `plenum-mcp` from beside the real `plenum` only, trusted like a plugin of
/// the installation; without it the answer is one `CONFIG_ERROR` envelope, never a search of
/// `PATH`.
#[test]
fn plenum_mcp_runs_the_server_beside_plenum_or_says_it_is_missing() {
    let prefix = Prefix::new("bin");
    let binary = prefix.root().join("bin").join("plenum");
    // A `plenum-mcp` on PATH must not be run.
    let decoy = prefix.dir.path().join("decoy");
    std::fs::create_dir_all(&decoy).expect("mkdir decoy");
    link_or_copy(&plenum_mcp_bin(), &decoy.join("plenum-mcp"));
    // Writes one message, reads one line of the answer (if any) with stdin still open, then
    // closes stdin: what a client does, without racing the server's end of input.
    let mcp = |message: &str| {
        let mut child = Command::new(&binary)
            .arg("mcp")
            .current_dir(prefix.elsewhere())
            .env("PATH", &decoy)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run plenum mcp");
        let mut input = child.stdin.take().expect("stdin");
        // The server may be gone already (a refusal): a broken pipe is its answer.
        let _ = writeln!(input, "{message}");
        let mut line = String::new();
        let mut output = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        std::io::BufRead::read_line(&mut output, &mut line).expect("read");
        drop(input);
        let status = child.wait().expect("wait");
        (status.code(), line)
    };
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

    let (code, answer) = mcp(initialize);
    assert_eq!(code, Some(1));
    let envelope: Json = serde_json::from_str(&answer).expect("one envelope");
    assert_eq!(envelope["ok"], false, "{envelope}");
    assert_eq!(envelope["command"], "mcp", "{envelope}");
    assert_eq!(envelope["error"]["code"], "CONFIG_ERROR", "{envelope}");
    let message = envelope["error"]["message"].as_str().unwrap_or_default();
    let expected = prefix.root().join("bin").join("plenum-mcp");
    assert!(
        message.contains(&format!("{} is missing", expected.display())),
        "{message}"
    );

    let server = prefix.install_mcp_server("bin");
    #[cfg(unix)]
    {
        set_mode(&server, 0o777);
        let (code, answer) = mcp(initialize);
        assert_eq!(code, Some(1));
        let envelope: Json = serde_json::from_str(&answer).expect("one envelope");
        assert_eq!(envelope["error"]["code"], "CONFIG_ERROR", "{envelope}");
        assert!(
            envelope["error"]["message"]
                .as_str()
                .is_some_and(|message| message.contains("writable by every user")),
            "{envelope}"
        );
        set_mode(&server, 0o755);
    }

    let (code, answer) = mcp(initialize);
    assert_eq!(code, Some(0));
    let answer: Json = serde_json::from_str(&answer).expect("one JSON-RPC message");
    assert_eq!(answer["id"], 1, "{answer}");
    assert_eq!(answer["result"]["serverInfo"]["name"], "plenum", "{answer}");
}
