#!/usr/bin/env python3
"""Drives `plenum mcp` with the official MCP Python SDK's stdio client, or with its Streamable
HTTP client against a server already listening (--http URL; the bearer token, if any, comes
from the environment variable PLENUM_TEST_TOKEN).

Runs a fixed scenario against a SQLite database and prints one JSON object per step on
stdout ({"step": NAME, ...}); the Rust test tests/tests/mcp_client.rs judges the output. The
server's stderr passes through to this process's stderr.

    client.py --plenum BIN --db FILE [--mode MODE] [--server-arg ARG]... [--env K=V]...
              [--cwd DIR] [--http URL]

MODE is one of the SDK's own: `auto` (server/discover, else initialize), `legacy` (the
initialize handshake, offering the newest handshake revision, 2025-11-25) or `2026-07-28` (that
revision adopted without a probe); or an older handshake revision such as `2025-06-18`, which
the SDK's initialize then offers instead.
"""

import argparse
import asyncio
import json
import os
import sys

import mcp.client.session
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError


# Revisions reached only through the initialize handshake, older than the SDK's default offer.
HANDSHAKE_ONLY = ("2025-06-18", "2025-03-26", "2024-11-05")


def emit(step, **fields):
    print(json.dumps({"step": step, **fields}, sort_keys=True), flush=True)


def dump(result):
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


async def call(client, step, tool, arguments):
    """Calls a tool and prints its result, or the protocol error, or the client's complaint."""
    try:
        result = await client.call_tool(tool, arguments)
    except MCPError as error:
        emit(step, protocol_error={"code": error.code, "message": error.message})
        return
    except Exception as error:  # the client rejected the answer (e.g. output schema)
        emit(step, client_error=f"{type(error).__name__}: {error}")
        return
    emit(step, result=dump(result))


def server_for(args):
    """The server the arguments name: `plenum mcp` on stdio, or a running one over HTTP (with
    the bearer token of PLENUM_TEST_TOKEN). tests/mcp/approval.py uses it too."""
    env = dict(item.split("=", 1) for item in args.env)
    if args.http:
        token = os.environ.get("PLENUM_TEST_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return streamable_http_client(
            args.http, http_client=create_mcp_http_client(headers=headers)
        )
    return StdioServerParameters(
        command=args.plenum, args=["mcp", *args.server_arg], env=env, cwd=args.cwd
    )


async def scenario(args):
    server = server_for(args)
    sqlite = {"engine": "sqlite", "file": args.db}
    mode = args.mode
    if mode in HANDSHAKE_ONLY:
        # SDK 2.3.0 has no option to offer an older handshake revision: its initialize offers
        # the module's LATEST_HANDSHAKE_VERSION, read at call time, so that is what is set.
        mcp.client.session.LATEST_HANDSHAKE_VERSION = mode
        mode = "legacy"
    async with Client(server, mode=mode) as client:
        emit(
            "initialize",
            protocol_version=client.protocol_version,
            server_name=client.server_info.name if client.server_info else None,
            instructions=client.instructions,
            tools_capability=client.server_capabilities.tools is not None,
        )
        if mode == "legacy":
            await client.send_ping()
            emit("ping", ok=True)
        tools = await client.list_tools()
        # The cache hints as the server sent them (the model defaults them when absent).
        hints = {name: getattr(tools, name) for name in ("ttl_ms", "cache_scope")
                 if name in tools.model_fields_set}
        emit("tools", tools=[dump(tool) for tool in tools.tools], cache=hints)

        await call(client, "read", "query",
                   {"sql": "SELECT id, name FROM items ORDER BY id", **sqlite})
        await call(client, "write_without_flag", "query",
                   {"sql": "INSERT INTO items (name) VALUES ('no flag')", **sqlite})
        await call(client, "write_with_flag", "query",
                   {"sql": "INSERT INTO items (name) VALUES ('with flag')", "allow_write": True,
                    **sqlite})
        await call(client, "ddl_with_flag", "query",
                   {"sql": "CREATE TABLE made_by_agent (x INTEGER)", "allow_ddl": True, **sqlite})
        await call(client, "with_params", "query",
                   {"sql": "SELECT name FROM items WHERE id = ? OR name = ?",
                    "params": [1, "x' OR 1=1 --"], **sqlite})
        await call(client, "check_only", "query",
                   {"sql": "SELECT 1; DELETE FROM items", "check_only": True, **sqlite})
        await call(client, "explain", "query",
                   {"sql": "SELECT name FROM items WHERE id = 1", "explain": True, **sqlite})
        await call(client, "introspect", "introspect", {"list_tables": True, **sqlite})
        await call(client, "list_engines", "list_engines", {})
        await call(client, "list_connections", "list_connections", {})
        await call(client, "bad_argument_type", "query", {"sql": 42, **sqlite})
        await call(client, "password_argument", "query",
                   {"sql": "SELECT 1", "password": "Zq9-secret-PW", **sqlite})
        await call(client, "unknown_tool", "drop_everything", {})
        await call(client, "after_errors", "query",
                   {"sql": "SELECT count(*) AS n FROM items", **sqlite})
    emit("done")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plenum", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--mode", default="auto",
                        choices=["auto", "legacy", "2026-07-28", *HANDSHAKE_ONLY])
    parser.add_argument("--server-arg", action="append", default=[])
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--cwd", default=None)
    parser.add_argument("--http", default=None)
    args = parser.parse_args()
    try:
        asyncio.run(scenario(args))
    except Exception as error:
        emit("crashed", error=f"{type(error).__name__}: {error}")
        sys.exit(1)


if __name__ == "__main__":
    main()
