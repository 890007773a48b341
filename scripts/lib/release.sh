# Sourced by scripts/install and scripts/dist: the release build and the installation layout
# both share. Nothing here runs on its own.
#
# The layout (FHS), relative to a prefix or to the root of the release archive:
#   bin/plenum, bin/plenum-mcp (the MCP server `plenum mcp` runs; found beside plenum only)
#   lib/plenum/plugins/libplenum_<engine>.so + libplenum_<engine>.manifest.json (sha256)
#   share/man/man1/plenum.1, plenum-<command>.1
#   share/bash-completion/completions/plenum, share/zsh/site-functions/_plenum,
#   share/fish/vendor_completions.d/plenum.fish
# `plenum` finds its plugins in PREFIX/lib/plenum/plugins and `plenum-mcp` beside itself from
# its own real location, so the tree works wherever it is put.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# The engine plugins that ship: every package under plugins/ that is a member of this
# workspace. A plugin that is its own workspace (plugins/duckdb, which needs a vendor library
# at build time) is installed on its own, as its README says.
plugin_packages() {
    local manifest
    for manifest in "$REPO"/plugins/*/Cargo.toml; do
        grep -q '^\[workspace\]' "$manifest" && continue
        sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | head -n 1
    done
}

# The library file cargo writes for a plugin package (plenum-sqlite -> libplenum_sqlite.so).
plugin_library() {
    local stem="${1//-/_}"
    case "$(uname -s)" in
        Darwin) echo "lib${stem}.dylib" ;;
        *) echo "lib${stem}.so" ;;
    esac
}

host_target() {
    rustc -vV | sed -n 's/^host: //p'
}

# Builds the binary and the plugins in release mode, each on its own, as `cargo install` and
# maturin would build the binary: the same features, so the wheel's build reuses this one.
build_release() {
    local packages=() package
    while read -r package; do packages+=(-p "$package"); done < <(plugin_packages)
    (cd "$REPO" && cargo build --release --locked -p plenum && cargo build --release --locked "${packages[@]}")
}

release_dir() {
    echo "${CARGO_TARGET_DIR:-$REPO/target}/release"
}

# The version, from the one place it is set (the workspace's Cargo.toml), as the binary reports it.
built_version() {
    # Piped, `--version` is an envelope: {"ok":true,…,"data":{"text":"plenum 0.1.0\n"}}.
    "$(release_dir)/plenum" --version | sed -n 's/.*"text":"plenum \([^"\\]*\).*/\1/p'
}

# stage DIR: lays the installation out under DIR (which must exist): binary, plugins with
# manifests written by the staged binary, man pages and completions.
stage() {
    local dir="$1" release package library
    release="$(release_dir)"
    install -d -m 755 "$dir/bin" "$dir/lib/plenum/plugins" "$dir/share/man/man1" \
        "$dir/share/bash-completion/completions" "$dir/share/zsh/site-functions" \
        "$dir/share/fish/vendor_completions.d"
    install -m 755 "$release/plenum" "$dir/bin/plenum"
    install -m 755 "$release/plenum-mcp" "$dir/bin/plenum-mcp"
    while read -r package; do
        library="$(plugin_library "$package")"
        install -m 755 "$release/$library" "$dir/lib/plenum/plugins/$library"
        # The manifest records the library's sha256 at install time; the host checks it before
        # loading anything, so a library changed afterwards is refused.
        "$dir/bin/plenum" plugins verify "$dir/lib/plenum/plugins/$library" --write >/dev/null \
            || { echo "error: cannot write the manifest of $library" >&2; return 1; }
        chmod 644 "$dir/lib/plenum/plugins/${library%.*}.manifest.json"
    done < <(plugin_packages)
    "$dir/bin/plenum" man --out-dir "$dir/share/man/man1" >/dev/null
    chmod 644 "$dir"/share/man/man1/*.1
    "$dir/bin/plenum" completions bash > "$dir/share/bash-completion/completions/plenum"
    "$dir/bin/plenum" completions zsh > "$dir/share/zsh/site-functions/_plenum"
    "$dir/bin/plenum" completions fish > "$dir/share/fish/vendor_completions.d/plenum.fish"
    chmod 644 "$dir/share/bash-completion/completions/plenum" \
        "$dir/share/zsh/site-functions/_plenum" "$dir/share/fish/vendor_completions.d/plenum.fish"
}

# check_installation BIN: `plenum plugins` from an unrelated folder, with an empty HOME, must
# list every shipped engine as verified, and the MCP server must lie beside BIN.
check_installation() {
    local bin="$1" home out expected verified
    if [ ! -x "$(dirname "$bin")/plenum-mcp" ]; then
        echo "error: $(dirname "$bin")/plenum-mcp, the MCP server plenum mcp runs, is missing" >&2
        return 1
    fi
    home="$(mktemp -d)"
    out="$(cd "$home" && HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" \
        PLENUM_PLUGIN_PATH= "$bin" plugins)" || { rm -rf "$home"; echo "$out" >&2; return 1; }
    rm -rf "$home"
    expected="$(plugin_packages | wc -l)"
    # Only a trust decision can say "verified" (a plugin's own status is "ok" or "broken").
    verified="$(grep -o '"status":"verified"' <<<"$out" | wc -l)"
    if [ "$verified" -ne "$expected" ]; then
        echo "error: $bin lists $verified of $expected plugins as verified:" >&2
        echo "$out" >&2
        return 1
    fi
    echo "$verified of $expected engine plugins verified"
}
