#!/usr/bin/env python3
"""Load over Streamable HTTP with the official MCP Python SDK: CALLS `query` calls on one
session, IN_FLIGHT at a time, every answer checked (ten rows of `items`, each carrying the
call's number). Prints one JSON line of figures. Run by tests/tests/mcp_load.rs.

    load_http.py --url URL --db FILE [--calls N] [--in-flight N]
"""

import argparse
import asyncio
import json
import time

from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def run(args):
    sqlite = {"engine": "sqlite", "file": args.db}
    latencies = []
    failures = []
    async with Client(streamable_http_client(args.url), mode="legacy") as client:
        gate = asyncio.Semaphore(args.in_flight)

        async def one(i):
            async with gate:
                started = time.perf_counter()
                result = await client.call_tool(
                    "query",
                    {"sql": f"SELECT id, name, {i} AS call FROM items WHERE id <= 10 ORDER BY id",
                     **sqlite},
                )
                latencies.append((time.perf_counter() - started) * 1000)
                rows = (result.structured_content or {}).get("data", {}).get("rows", [])
                if result.is_error or len(rows) != 10 or any(row[2] != i for row in rows):
                    failures.append(i)

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(args.calls)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    print(json.dumps({
        "calls": args.calls,
        "in_flight": args.in_flight,
        "failures": len(failures),
        "elapsed_s": round(elapsed, 3),
        "calls_per_s": round(args.calls / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2], 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
    }))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=16)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
