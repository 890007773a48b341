#!/usr/bin/env python3
"""1,000,000 DuckDB rows to JSON: `plenum query --engine duckdb` against the DuckDB Python client.

Both read the same `events` table (1,000,000 rows: integers, decimals, text, timestamps and
NULLs) from one DuckDB file and write every row as JSON to a pipe that discards it: plenum its
envelope; the Python client two ways, `json.dumps` of rows fetched 10,000 at a time (the
natural way to stream rows with it) and DuckDB's own JSON writer (`COPY (…) TO '/dev/stdout'
(FORMAT json)`), the fastest it has. Rounds are interleaved (each round runs each command once, in turn) so both
see the same load on a shared machine. Reported per command: median wall time, and median peak
resident memory (the kernel's `ru_maxrss` of the child).

    bench/duckdb.py                        # builds nothing; uses target/release and pip's duckdb
    bench/duckdb.py --rounds 5 --rows 100000

Needs: a release `plenum` (`cargo build --release -p plenum`), the DuckDB plugin built in
release against libduckdb 1.4.4 (`plugins/duckdb/scripts/fetch-libduckdb`, then
`DUCKDB_LIB_DIR=$PWD/plugins/duckdb/lib cargo build --release --manifest-path
plugins/duckdb/Cargo.toml --target-dir target/external`), and the Python client of the same
DuckDB (`pip install duckdb==1.4.4`). The plugin is installed with its manifest into
target/bench/duckdb-plugins/ the first time.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "target", "bench")

QUERY = "SELECT * FROM events"

# The same rows written by the Python client: a JSON array of arrays, 10,000 rows a fetch.
CLIENT = r"""
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
cur = con.execute(sys.argv[2])
out = sys.stdout
out.write('{"rows":[')
first = True
while True:
    rows = cur.fetchmany(10000)
    if not rows:
        break
    for row in rows:
        if not first:
            out.write(",")
        first = False
        out.write(json.dumps(row, default=str))
out.write("]}\n")
"""


# DuckDB's own JSON writer, driven from the Python client: the fastest way it has.
CLIENT_COPY = r"""
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute(f"COPY ({sys.argv[2]}) TO '/dev/stdout' (FORMAT json, ARRAY true)")
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plenum", default=os.path.join(ROOT, "target", "release", "plenum"))
    parser.add_argument(
        "--plugin",
        default=os.path.join(ROOT, "target", "external", "release", "libplenum_duckdb.so"),
    )
    parser.add_argument(
        "--libduckdb", default=os.path.join(ROOT, "plugins", "duckdb", "lib", "libduckdb.so")
    )
    parser.add_argument("--python", default=sys.executable, help="a Python with duckdb installed")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=1)
    return parser.parse_args()


def database(args):
    """The events table in a DuckDB file, made once by the Python client."""
    os.makedirs(BENCH, exist_ok=True)
    path = os.path.join(BENCH, f"events-{args.rows}.duckdb")
    if not os.path.exists(path):
        sql = (
            "CREATE TABLE events AS SELECT range AS id, 'kind-' || (range % 7) AS kind, "
            "(range * 0.25)::DECIMAL(18,2) AS amount, "
            "CASE WHEN range % 10 = 0 THEN NULL "
            "ELSE printf('note %d with \"quotes\" and é', range) END AS note, "
            "TIMESTAMP '2024-01-01' + to_seconds(range) AS at "
            f"FROM range({args.rows})"
        )
        make = "import sys, duckdb; con = duckdb.connect(sys.argv[1]); con.execute(sys.argv[2]); con.close()"
        subprocess.run([args.python, "-c", make, path, sql], check=True)
    return path


def plugin_folder(args):
    """The plugin and libduckdb with a verified manifest, as a user installs them."""
    folder = os.path.join(BENCH, "duckdb-plugins")
    os.makedirs(folder, exist_ok=True)
    plugin = os.path.join(folder, "libplenum_duckdb.so")
    shutil.copy2(args.plugin, plugin)
    shutil.copy2(args.libduckdb, os.path.join(folder, "libduckdb.so"))
    verify = [args.plenum, "plugins", "verify", "--write", plugin]
    subprocess.run(verify, check=True, stdout=subprocess.DEVNULL)
    manifest = os.path.join(folder, "libplenum_duckdb.manifest.json")
    with open(manifest) as handle:
        data = json.load(handle)
    data["dependencies"] = [{"path": "libduckdb.so", "sha256": "0"}]
    with open(manifest, "w") as handle:
        json.dump(data, handle)
    subprocess.run(verify, check=True, stdout=subprocess.DEVNULL)
    return folder


def run_once(command, env):
    """Wall seconds and peak RSS (KiB) of one run, its stdout discarded (counted)."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    size = 0
    while True:
        chunk = child.stdout.read(1 << 16)
        if not chunk:
            break
        size += len(chunk)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    stderr = child.stderr.read().decode(errors="replace")
    if status != 0:
        sys.exit(f"{command[0]} failed ({status}): {stderr[:500]}")
    return elapsed, usage.ru_maxrss, size


def main():
    args = parse_args()
    db = database(args)
    env = dict(os.environ, PLENUM_PLUGIN_PATH=plugin_folder(args))
    limits = ["--max-rows", str(args.rows), "--max-bytes", str(1 << 30), "--timeout-ms", "600000"]
    commands = [
        ("plenum", [args.plenum, "query", "--engine", "duckdb", "--file", db, *limits,
                    "--sql", QUERY]),
        ("python json.dumps", [args.python, "-c", CLIENT, db, QUERY]),
        ("python COPY json", [args.python, "-c", CLIENT_COPY, db, QUERY]),
    ]
    for _ in range(args.warmup):
        for _, command in commands:
            run_once(command, env)
    results = {name: [] for name, _ in commands}
    for _ in range(args.rounds):
        for name, command in commands:
            results[name].append(run_once(command, env))
    version = subprocess.run(
        [args.python, "-c", "import duckdb; print(duckdb.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    print(f"{args.rows} rows, {args.rounds} interleaved rounds, nproc {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}, Python duckdb {version}")
    print(f"{'command':<18} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MiB':>9} {'MB out':>7}")
    for name, runs in results.items():
        times = [run[0] for run in runs]
        peaks = [run[1] / 1024 for run in runs]
        print(f"{name:<18} {statistics.median(times):>9.2f} {min(times):>7.2f} {max(times):>7.2f} "
              f"{statistics.median(peaks):>9.1f} {runs[0][2] / 1e6:>7.1f}")


if __name__ == "__main__":
    main()
