#!/usr/bin/env python3
"""Checks one installed `plenum` as a user would meet it: from an unrelated folder, with an
empty HOME and none of the developer's environment.

    install_smoke.py --plenum BIN --label NAME [--version X.Y.Z]

It runs `plenum --version`, `plenum plugins` (every plugin loads and is verified), a query on
a fresh SQLite file, and an MCP session with the official MCP Python SDK (`mcp`), and prints
one line per check. Exits 1 on the first failure.
"""

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

from mcp import Client, StdioServerParameters


def fail(label, what, detail=""):
    print(f"{label}: FAILED: {what}\n{detail}", file=sys.stderr)
    sys.exit(1)


def clean_env(home):
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
        "LANG": "C.UTF-8",
    }


def run(label, plenum, args, env, cwd):
    done = subprocess.run([plenum, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60)
    try:
        envelope = json.loads(done.stdout)
    except json.JSONDecodeError:
        fail(label, f"`plenum {' '.join(args)}` did not print one JSON document",
             done.stdout + done.stderr)
    if done.returncode != 0 or envelope.get("ok") is not True:
        fail(label, f"`plenum {' '.join(args)}` failed", done.stdout + done.stderr)
    return envelope


async def mcp_session(label, plenum, env, cwd, db):
    server = StdioServerParameters(command=plenum, args=["mcp"], env=env, cwd=cwd)
    async with Client(server) as client:
        tools = sorted(tool.name for tool in (await client.list_tools()).tools)
        if "query" not in tools or "list_engines" not in tools:
            fail(label, "the MCP server lacks its tools", str(tools))
        result = await client.call_tool(
            "query", {"engine": "sqlite", "file": db, "sql": "SELECT name FROM items ORDER BY id"})
        data = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        structured = data.get("structuredContent") or {}
        rows = structured.get("data", {}).get("rows")
        if data.get("isError") or rows != [["apple"], ["pear"]]:
            fail(label, "the MCP query did not return the rows", json.dumps(data))
        refused = await client.call_tool(
            "query", {"engine": "sqlite", "file": db, "sql": "DELETE FROM items"})
        refused = refused.model_dump(mode="json", by_alias=True, exclude_none=True)
        code = (refused.get("structuredContent") or {}).get("error", {}).get("code")
        if not refused.get("isError") or code != "CAPABILITY_VIOLATION":
            fail(label, "the MCP server did not refuse a write", json.dumps(refused))
        engines = await client.call_tool("list_engines", {})
        engines = engines.model_dump(mode="json", by_alias=True, exclude_none=True)
        return client.server_info.name if client.server_info else None, tools, engines


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plenum", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--version")
    args = parser.parse_args()
    label, plenum = args.label, os.path.abspath(args.plenum)

    with tempfile.TemporaryDirectory(prefix="plenum-smoke-") as scratch:
        home = os.path.join(scratch, "home")
        work = os.path.join(scratch, "elsewhere")
        os.makedirs(home)
        os.makedirs(work)
        env = clean_env(home)

        version = subprocess.run([plenum, "--version"], env=env, cwd=work, capture_output=True,
                                 text=True, timeout=30)
        printed = json.loads(version.stdout)["data"]["text"].strip()
        if args.version and printed != f"plenum {args.version}":
            fail(label, f"--version printed {printed!r}, expected plenum {args.version}")

        plugins = run(label, plenum, ["plugins"], env, work)["data"]["plugins"]
        if not plugins:
            fail(label, "no plugin was found")
        for plugin in plugins:
            if plugin.get("status") != "ok" or plugin.get("trust", {}).get("status") != "verified":
                fail(label, f"plugin {plugin.get('path')} is not loaded and verified",
                     json.dumps(plugin, indent=2))
        engines = sorted(engine for plugin in plugins for engine in plugin.get("engines", []))
        print(f"{label}: {printed}; {len(plugins)} plugins verified, engines {', '.join(engines)}")

        db = os.path.join(scratch, "items.db")
        with sqlite3.connect(db) as connection:
            connection.executescript("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);"
                                     "INSERT INTO items (name) VALUES ('apple'), ('pear');")
        query = run(label, plenum, ["query", "--engine", "sqlite", "--file", db, "--sql",
                                    "SELECT count(*) AS n FROM items"], env, work)
        if query["data"]["rows"] != [[2]]:
            fail(label, "the query returned the wrong rows", json.dumps(query))
        print(f"{label}: CLI query ok (rows {query['data']['rows']})")

        name, tools, listed = asyncio.run(mcp_session(label, plenum, env, work, db))
        served = [plugin for plugin in (listed.get("structuredContent") or {}).get("data", {})
                  .get("plugins", []) if plugin.get("trust", {}).get("status") == "verified"]
        if listed.get("isError") or len(served) != len(plugins):
            fail(label, "list_engines over MCP does not show every plugin verified",
                 json.dumps(listed))
        print(f"{label}: MCP session ok (server {name}; tools {', '.join(tools)}; a read "
              f"answered, a write refused; list_engines: {len(served)} plugins verified)")


if __name__ == "__main__":
    main()
