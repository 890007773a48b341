//! No import cycles between the modules of `plenum-core` (and of the `plenum` crate's library,
//! which is cheap to scan from here).
//!
//! Run it with `cargo test -p plenum-core --test layers`.
//!
//! The test reads the sources under `core/src` and `host/src` and builds the graph of module
//! dependencies. A module is a file or folder under `src/` (`services/output/stdio.rs` is
//! `services::output::stdio`; `introspect.rs` goes together with `introspect/`). An edge is a
//! path the code names: `crate::a::b…` (in `use` items, brace groups such as `use crate::{a, b::{c, d}}`, and expressions),
//! `super::…` and `self::…`, resolved against the module the file (or inline `mod`) is.
//!
//! It then looks for cycles — a module that depends, directly or through others, on a module
//! that depends on it — at every level: between the top-level modules of each crate, and
//! between the children of every folder (an edge `a::b::x -> a::c` counts as `b -> c` inside
//! `a`; a child naming its own folder's `mod.rs` through `super::` is how a folder shares its
//! items, and is not counted).
//!
//! A cycle is reported by the imports that close it: `a -> b` where `a` names `b` and `b` leads
//! back to `a` (the edges inside a strongly connected component), each with a shortest cycle
//! through it and where each of its imports is named.
//!
//! What is not code does not count: comments (so intra-doc links such as
//! ``[`crate::pipeline`]`` are not dependencies: they shape no build order), string and
//! character literals, and `#[cfg(test)]` items (unit tests may reach anywhere).
//!
//! There are no cycles, and [`KNOWN_CYCLES`] is empty; an entry there would let one stand, and
//! the test also fails when a listed one no longer exists. A third test holds the core's
//! layers in order: `commands` may name `pipeline` and `services`, `pipeline` may name
//! `services`, and `services` names neither.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The imports that close a cycle today, per crate: `a -> b` where `a` names `b` and `b`
/// leads back to `a` (at the same level: both top-level, or both children of one folder).
/// Remove an entry once its import is gone or no longer closes a cycle; never add one without
/// a reason.
const KNOWN_CYCLES: &[(&str, &str)] = &[];

/// The crates scanned: a name for the report and the source folder, relative to this crate.
const CRATES: &[(&str, &str)] = &[("core", "src"), ("host", "../host/src")];

/// Files that are crate roots, not modules: they declare modules and re-export.
const ROOTS: &[&str] = &["lib.rs", "main.rs"];

// ---------------------------------------------------------------------------------------------
// Tokens: identifiers and punctuation of the code, without comments and literals.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// A token and the line it starts on (1-based).
type Spanned = (Token, usize);

/// Splits Rust source into tokens, dropping comments (line, block — nested — and doc
/// comments), string literals (plain, byte, C, raw with any number of `#`), character and
/// byte literals and numbers. Lifetimes (`'a`) are dropped too.
fn tokenize(source: &str) -> Vec<Spanned> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Advances over `chars[from..to]`, counting the line breaks skipped.
    let count_lines =
        |from: usize, to: usize| chars[from..to].iter().filter(|&&c| c == '\n').count();
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let start = i;
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += count_lines(start, i);
        } else if c == '"' {
            let start = i;
            i = skip_quoted(&chars, i + 1, '"');
            line += count_lines(start, i);
        } else if c == '\'' {
            // A character literal is `'x'` or `'\…'`; anything else is a lifetime or label.
            if next == Some('\\') {
                i = skip_quoted(&chars, i + 1, '\'');
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
            }
        } else if is_ident_start(c) {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let after = chars.get(i).copied();
            // String prefixes: b"…", c"…", r"…", r#"…"#, br#"…"#, cr"…"; and b'…'.
            let raw = matches!(word.as_str(), "r" | "br" | "cr");
            if raw && matches!(after, Some('"') | Some('#')) {
                let mut hashes = 0;
                let mut j = i;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) == Some(&'"') {
                    let start = i;
                    i = skip_raw(&chars, j + 1, hashes);
                    line += count_lines(start, i);
                    continue;
                }
                if word == "r" && hashes == 1 {
                    // A raw identifier, `r#type`: the identifier after the `#`.
                    let begin = j;
                    let mut end = j;
                    while end < chars.len() && is_ident_char(chars[end]) {
                        end += 1;
                    }
                    tokens.push((Token::Ident(chars[begin..end].iter().collect()), line));
                    i = end;
                    continue;
                }
            }
            if matches!(word.as_str(), "b" | "c") && after == Some('"') {
                let start = i;
                i = skip_quoted(&chars, i + 1, '"');
                line += count_lines(start, i);
                continue;
            }
            if word == "b" && after == Some('\'') {
                i = skip_quoted(&chars, i + 1, '\'');
                continue;
            }
            tokens.push((Token::Ident(word), line));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (is_ident_char(chars[i]) || chars[i] == '.') {
                // `1..2` is a range, not a number with two dots.
                if chars[i] == '.' && chars.get(i + 1) == Some(&'.') {
                    break;
                }
                i += 1;
            }
        } else if c == ':' && next == Some(':') {
            tokens.push((Token::PathSep, line));
            i += 2;
        } else {
            tokens.push((Token::Punct(c), line));
            i += 1;
        }
    }
    tokens
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// The index after the closing `quote` of a literal whose body starts at `i` (escapes skipped).
fn skip_quoted(chars: &[char], mut i: usize, quote: char) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// The index after the closing `"` and `hashes` `#` of a raw string whose body starts at `i`.
fn skip_raw(chars: &[char], mut i: usize, hashes: usize) -> usize {
    while i < chars.len() {
        if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

/// Removes every item marked `#[cfg(test)]`: the attribute and the item after it, up to its
/// closing brace or semicolon.
fn without_test_items(tokens: Vec<Spanned>) -> Vec<Spanned> {
    let is = |i: usize, token: Token| tokens.get(i).map(|(t, _)| t) == Some(&token);
    let ident = |i: usize, word: &str| is(i, Token::Ident(word.to_owned()));
    let mut kept = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let cfg_test = is(i, Token::Punct('#'))
            && is(i + 1, Token::Punct('['))
            && ident(i + 2, "cfg")
            && is(i + 3, Token::Punct('('))
            && ident(i + 4, "test")
            && is(i + 5, Token::Punct(')'))
            && is(i + 6, Token::Punct(']'));
        if !cfg_test {
            kept.push(tokens[i].clone());
            i += 1;
            continue;
        }
        // Skip to the end of the item: the first `;` outside braces, or the brace that closes
        // the first block.
        i += 7;
        let mut depth = 0;
        while i < tokens.len() {
            match tokens[i].0 {
                Token::Punct('{') => depth += 1,
                Token::Punct('}') => {
                    depth -= 1;
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                Token::Punct(';') if depth == 0 => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
    }
    kept
}

// ---------------------------------------------------------------------------------------------
// Paths named in one file.

/// Every path that starts with `crate`, `super` or `self` in `tokens`, each with its line; a
/// brace group contributes one path per leaf (`crate::{a, b::{c, d}}` is `a`, `b::c`, `b::d`).
/// Paths are relative to `module` (the file's module path), with inline `mod name { … }`
/// blocks taken into account; each is returned absolute, from the crate root.
fn named_paths(tokens: &[Spanned], module: &[String]) -> Vec<(Vec<String>, usize)> {
    let mut found = Vec::new();
    // The module the current position is in: the file's, plus open inline modules with the
    // brace depth at which each was opened.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].0 {
            Token::Punct('{') => depth += 1,
            Token::Punct('}') => {
                depth -= 1;
                if inline
                    .last()
                    .is_some_and(|(_, opened)| *opened == depth + 1)
                {
                    inline.pop();
                }
            }
            Token::Ident(word) if word == "mod" => {
                if let (Some((Token::Ident(name), _)), Some((Token::Punct('{'), _))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                {
                    inline.push((name.clone(), depth + 1));
                }
            }
            Token::Ident(word)
                if matches!(word.as_str(), "crate" | "super" | "self")
                    && tokens.get(i + 1).map(|(t, _)| t) == Some(&Token::PathSep)
                    // `a::self` and `x::super` continue a path already read.
                    && (i == 0 || tokens[i - 1].0 != Token::PathSep) =>
            {
                let line = tokens[i].1;
                let mut here: Vec<String> = module.to_vec();
                here.extend(inline.iter().map(|(name, _)| name.clone()));
                let mut base = Vec::new();
                let mut j = i;
                // The leading `crate::`, `self::` or run of `super::`.
                loop {
                    match (&tokens[j].0, tokens.get(j + 1).map(|(t, _)| t)) {
                        (Token::Ident(w), Some(Token::PathSep)) if w == "crate" && j == i => {
                            here.clear();
                        }
                        (Token::Ident(w), Some(Token::PathSep)) if w == "self" && j == i => {}
                        (Token::Ident(w), Some(Token::PathSep)) if w == "super" => {
                            here.pop();
                        }
                        _ => break,
                    }
                    j += 2;
                }
                base.extend(here);
                let (leaves, end) = use_tree(tokens, j);
                for leaf in leaves {
                    let mut path = base.clone();
                    path.extend(leaf);
                    found.push((path, line));
                }
                i = end.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Reads a use tree (or the rest of a plain path) at `i`: `a::b::c`, `a::{b, c::d}`, `*`,
/// `self`. Returns its leaf paths (without `self` and `*`) and the index after it.
fn use_tree(tokens: &[Spanned], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        match tokens.get(i).map(|(t, _)| t) {
            Some(Token::Ident(word)) => {
                if word != "self" {
                    prefix.push(word.clone());
                }
                i += 1;
                if tokens.get(i).map(|(t, _)| t) == Some(&Token::PathSep) {
                    i += 1;
                    continue;
                }
                return (vec![prefix], i);
            }
            Some(Token::Punct('{')) => {
                i += 1;
                let mut leaves = Vec::new();
                loop {
                    match tokens.get(i).map(|(t, _)| t) {
                        Some(Token::Punct('}')) | None => return (leaves, i + 1),
                        Some(Token::Punct(',')) => i += 1,
                        Some(Token::Ident(word)) if word == "as" => i += 2,
                        _ => {
                            let (inner, next) = use_tree(tokens, i);
                            for leaf in inner {
                                let mut path = prefix.clone();
                                path.extend(leaf);
                                leaves.push(path);
                            }
                            // A token the tree reader does not know: step over it.
                            i = next.max(i + 1);
                        }
                    }
                }
            }
            // `*` or the end of the path.
            Some(Token::Punct('*')) => return (vec![prefix], i + 1),
            _ => return (vec![prefix], i),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The graph of one crate.

/// One crate's modules and the edges between them, each edge with where it is named.
struct Graph {
    /// Every module, by its path (`a`, `a::b`, `a::b::c`).
    modules: BTreeSet<String>,
    /// (from, to) → first place it is named, as "file:line". Nodes are module paths.
    edges: BTreeMap<(String, String), String>,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read source folder")
        .map(|entry| entry.expect("read folder entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src`: `a.rs` and `a/mod.rs` are `[a]`, `a/b.rs` is
/// `[a, b]`; `None` for a crate root.
fn module_of(relative: &Path) -> Option<Vec<String>> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop()?;
    if parts.is_empty() && ROOTS.contains(&file.as_str()) {
        return None;
    }
    let stem = file.trim_end_matches(".rs").to_owned();
    if stem != "mod" {
        parts.push(stem);
    }
    Some(parts)
}

fn build(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut modules: BTreeSet<String> = BTreeSet::new();
    let mut parsed = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(src)
            .expect("file under src")
            .to_path_buf();
        let Some(module) = module_of(&relative) else {
            continue;
        };
        for depth in 1..=module.len() {
            modules.insert(module[..depth].join("::"));
        }
        parsed.push((relative, module));
    }
    // A path names the deepest known module it starts with.
    let node_of = |path: &[String]| -> Option<String> {
        (1..=path.len())
            .rev()
            .map(|depth| path[..depth].join("::"))
            .find(|candidate| modules.contains(candidate))
    };
    let mut edges = BTreeMap::new();
    for (relative, module) in &parsed {
        let source = std::fs::read_to_string(src.join(relative)).expect("read source");
        let tokens = without_test_items(tokenize(&source));
        let Some(from) = node_of(module) else {
            continue;
        };
        for (path, line) in named_paths(&tokens, module) {
            let Some(to) = node_of(&path) else {
                continue;
            };
            if to != from {
                edges
                    .entry((from.clone(), to))
                    .or_insert_with(|| format!("{}:{line}", relative.display()));
            }
        }
    }
    Graph { modules, edges }
}

/// The strongly connected components with more than one node, each sorted, of the graph given
/// by `edges` over `nodes` (Tarjan's algorithm).
fn cycles(nodes: &BTreeSet<String>, edges: &BTreeSet<(String, String)>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeSet<(String, String)>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(state: &mut State<'a>, node: &'a str) {
        let index = state.index.len();
        state.index.insert(node, index);
        state.low.insert(node, index);
        state.stack.push(node);
        state.on_stack.insert(node);
        let targets: Vec<&'a str> = state
            .edges
            .iter()
            .filter(|(from, _)| from == node)
            .map(|(_, to)| to.as_str())
            .collect();
        for target in targets {
            if !state.index.contains_key(target) {
                visit(state, target);
                let low = state.low[node].min(state.low[target]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(target) {
                let low = state.low[node].min(state.index[target]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                component.push(member.to_owned());
                if member == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                state.found.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in nodes {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.found.sort();
    state.found
}

/// One import that closes a cycle: `from` names `to`, and `to` leads back to `from`.
struct Cyclic {
    /// `from -> to`, the form [`KNOWN_CYCLES`] lists.
    edge: String,
    /// A shortest cycle through the edge: `from -> to -> … -> from`.
    cycle: String,
    /// Where each import of that cycle is named, as "file:line".
    at: Vec<String>,
}

/// The edges of one level (top-level modules, or the children of one folder), each with the
/// place it is first named.
type Level = BTreeMap<(String, String), String>;

/// The levels of one crate: its top-level modules, and the children of every folder module
/// at any depth. An edge between two modules counts, at the level of the deepest folder that
/// holds both, as an edge between the children of that folder they are in (`a::b::x -> a::c`
/// is `b -> c` inside `a`).
fn levels(graph: &Graph) -> Vec<Level> {
    let child_of = |folder: &str, node: &str| -> Option<String> {
        let rest = if folder.is_empty() {
            Some(node)
        } else {
            node.strip_prefix(folder)
                .and_then(|rest| rest.strip_prefix("::"))
        }?;
        Some(rest.split("::").next().unwrap_or(rest).to_owned())
    };
    let folders = std::iter::once(String::new()).chain(
        graph
            .modules
            .iter()
            .filter(|module| {
                graph
                    .modules
                    .iter()
                    .any(|other| other.starts_with(&format!("{module}::")))
            })
            .cloned(),
    );
    folders
        .map(|folder| {
            let mut level = Level::new();
            for ((from, to), at) in &graph.edges {
                if let (Some(a), Some(b)) = (child_of(&folder, from), child_of(&folder, to)) {
                    if a != b {
                        let name = |child: String| {
                            if folder.is_empty() {
                                child
                            } else {
                                format!("{folder}::{child}")
                            }
                        };
                        level
                            .entry((name(a), name(b)))
                            .or_insert_with(|| at.clone());
                    }
                }
            }
            level
        })
        .collect()
}

/// The imports of `level` that close a cycle: the edges inside a strongly connected component.
fn cyclic_edges(level: &Level) -> Vec<Cyclic> {
    let edges: BTreeSet<(String, String)> = level.keys().cloned().collect();
    let nodes: BTreeSet<String> = edges
        .iter()
        .flat_map(|(from, to)| [from.clone(), to.clone()])
        .collect();
    let mut found = Vec::new();
    for component in cycles(&nodes, &edges) {
        for (from, to) in &edges {
            if !component.contains(from) || !component.contains(to) {
                continue;
            }
            let back = shortest_path(&edges, to, from);
            let mut path = vec![from.clone()];
            path.extend(back);
            let at = path
                .windows(2)
                .filter_map(|pair| level.get(&(pair[0].clone(), pair[1].clone())).cloned())
                .collect();
            found.push(Cyclic {
                edge: format!("{from} -> {to}"),
                cycle: path.join(" -> "),
                at,
            });
        }
    }
    found
}

/// The nodes of a shortest path from `start` to `goal` (both included), by breadth-first
/// search; `[start]` if there is none (not reached for nodes of one component).
fn shortest_path(edges: &BTreeSet<(String, String)>, start: &str, goal: &str) -> Vec<String> {
    let mut previous: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.to_owned()]);
    let mut seen = BTreeSet::from([start.to_owned()]);
    while let Some(node) = queue.pop_front() {
        if node == goal {
            let mut path = vec![node.clone()];
            let mut at = node;
            while let Some(before) = previous.get(&at) {
                path.push(before.clone());
                at = before.clone();
            }
            path.reverse();
            return path;
        }
        for (_, to) in edges.iter().filter(|(from, _)| *from == node) {
            if seen.insert(to.clone()) {
                previous.insert(to.clone(), node.clone());
                queue.push_back(to.clone());
            }
        }
    }
    vec![start.to_owned()]
}

#[test]
fn no_new_import_cycles() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut report = String::new();
    let mut found_all = Vec::new();
    for (name, dir) in CRATES {
        let graph = build(&here.join(dir));
        assert!(
            !graph.modules.is_empty(),
            "no modules found under {dir}: the scan is broken"
        );
        for level in levels(&graph) {
            for cyclic in cyclic_edges(&level) {
                if !KNOWN_CYCLES.contains(&(name, cyclic.edge.as_str())) {
                    report.push_str(&format!(
                        "  new in {name}: {}  (cycle {}; {})\n",
                        cyclic.edge,
                        cyclic.cycle,
                        cyclic.at.join(", ")
                    ));
                }
                found_all.push((*name, cyclic.edge));
            }
        }
    }
    for (krate, edge) in KNOWN_CYCLES {
        if !found_all
            .iter()
            .any(|(name, found)| name == krate && found == edge)
        {
            report.push_str(&format!(
                "  gone in {krate}: {edge} no longer closes a cycle: remove it from KNOWN_CYCLES\n"
            ));
        }
    }
    assert!(
        report.is_empty(),
        "import cycles differ from KNOWN_CYCLES in core/tests/layers.rs:\n{report}"
    );
}

/// The layers of `plenum-core`, highest first: a module may name its own layer's modules and
/// those of the layers below, never one above.
const CORE_LAYERS: &[&str] = &["commands", "pipeline", "services"];

#[test]
fn core_layers_only_point_down() {
    let graph = build(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let rank = |node: &str| {
        let top = node.split("::").next().unwrap_or(node);
        CORE_LAYERS.iter().position(|layer| *layer == top)
    };
    for module in &graph.modules {
        if !module.contains("::") {
            assert!(
                rank(module).is_some(),
                "core/src/{module} is outside the layers {CORE_LAYERS:?}: put it in one"
            );
        }
    }
    let upward: Vec<String> = graph
        .edges
        .iter()
        .filter(|((from, to), _)| matches!((rank(from), rank(to)), (Some(a), Some(b)) if b < a))
        .map(|((from, to), at)| format!("  {from} -> {to} ({at})"))
        .collect();
    assert!(
        upward.is_empty(),
        "modules that name a layer above their own:\n{}",
        upward.join("\n")
    );
}

/// Where the crates of each front end may be named: clap only in the command line, rmcp and
/// tokio only in the MCP server, none of them in the core.
const FRONT_END_CRATES: &[(&str, &str)] = &[
    ("clap", "cli/"),
    ("clap_complete", "cli/"),
    ("clap_mangen", "cli/"),
    ("rmcp", "mcp/"),
    ("tokio", "mcp/"),
    ("hyper", "mcp/"),
];

#[test]
fn front_end_crates_stay_in_their_front_end() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut misplaced = Vec::new();
    for (name, dir) in CRATES {
        let src = here.join(dir);
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in files {
            let relative = file
                .strip_prefix(&src)
                .expect("file under src")
                .to_path_buf();
            let source = std::fs::read_to_string(&file).expect("read source");
            for (token, line) in tokenize(&source) {
                let Token::Ident(word) = token else {
                    continue;
                };
                for (krate, home) in FRONT_END_CRATES {
                    let at_home = *name == "host" && relative.starts_with(home);
                    if word == *krate && !at_home {
                        misplaced.push(format!(
                            "  {name}: {}:{line} names {krate}",
                            relative.display()
                        ));
                    }
                }
            }
        }
    }
    let manifest = std::fs::read_to_string(here.join("Cargo.toml")).expect("read Cargo.toml");
    for (krate, _) in FRONT_END_CRATES {
        if manifest
            .lines()
            .any(|line| line.trim_start().starts_with(&format!("{krate} ")))
        {
            misplaced.push(format!("  core/Cargo.toml depends on {krate}"));
        }
    }
    assert!(
        misplaced.is_empty(),
        "front-end crates outside their front end:\n{}",
        misplaced.join("\n")
    );
}

#[test]
fn the_scanner_reads_paths_not_comments_or_strings() {
    let source = r###"
        //! See [`crate::docs_only`].
        /// [`crate::also_docs`] and `crate::code_span`
        /* crate::block /* nested crate::inner */ still comment */
        use crate::{a, b::{c, d as e}, f::*};
        use super::g;
        fn x() -> &'static str {
            let _ = 'c';
            let _ = '\'';
            let _ = b"crate::bytes";
            let _ = r#"crate::raw "quoted""#;
            let _ = crate::h::i(1..2);
            "crate::string"
        }
        mod inner {
            use super::j;
        }
        #[cfg(test)]
        mod tests {
            use crate::test_only;
        }
        use self::k::l;
    "###;
    let tokens = without_test_items(tokenize(source));
    let module = vec!["m".to_owned(), "n".to_owned()];
    let paths: Vec<String> = named_paths(&tokens, &module)
        .into_iter()
        .map(|(path, _)| path.join("::"))
        .collect();
    assert_eq!(
        paths,
        [
            "a",
            "b::c",
            "b::d",
            "f",
            "m::g",
            "h::i",
            "m::n::j",
            "m::n::k::l"
        ]
    );
}
