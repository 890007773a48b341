#!/usr/bin/env python3
"""Cold starts of `plenum` against `sqlite3 -json`, interleaved run by run.

hyperfine times one command for all its runs, then the next; on a shared machine the load
changes between the two and moves the ratio by tens of percent. Here every round runs each
command once, in turn, so both see the same moments. Besides the wall time it reports what the
kernel counted for each child (rusage): CPU time (user + system, all threads), minor page
faults and context switches, which vary far less than wall times.

    bench/cold.py                                  # SELECT 1 on a one-row database, 300 rounds
    bench/cold.py --baseline /tmp/old/plenum       # also an older build (its plugins beside it)
    bench/cold.py --baseline /tmp/a/plenum --baseline /tmp/b/plenum   # several, in the same rounds
    bench/cold.py --limit-db target/bench/bench.sqlite   # and --max-rows 100 over `events`
    bench/cold.py --version --empty target/bench/empty-main --load target/bench/load-main  # floors

Each configuration is run a few times before the rounds start (warm page cache, and the layout
memo of the plugin loader written).
"""

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plenum", default=os.path.join(ROOT, "target", "release", "plenum"))
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        help="another plenum binary to run in the same rounds (repeatable)",
    )
    parser.add_argument("--sqlite3", default=shutil.which("sqlite3"))
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--limit-db",
        help="a database made by generate.py: also time --max-rows 100 over its events table",
    )
    parser.add_argument("--version", action="store_true", help="also time `plenum --version`")
    parser.add_argument(
        "--empty",
        help="also time this program with no arguments: an empty Rust binary built with the "
        "release profile shows the floor (bench/empty-main.rs)",
    )
    parser.add_argument(
        "--load",
        help="also time this program with the SQLite plugin beside --plenum as its argument: "
        "an empty Rust binary that only loads the library shows the floor of any plugin host "
        "(bench/load-main.rs)",
    )
    return parser.parse_args()


def one_row_db():
    folder = os.path.join(ROOT, "target", "bench")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "cold.sqlite")
    if not os.path.exists(path):
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE t (x INTEGER)")
            db.execute("INSERT INTO t VALUES (1)")
    return path


def commands(args):
    db = one_row_db()
    plenum_query = lambda binary, path, *rest: [
        binary, "query", "--engine", "sqlite", "--file", path, *rest
    ]
    runs = [
        ("plenum SELECT 1", plenum_query(args.plenum, db, "--sql", "SELECT 1")),
        ("sqlite3 SELECT 1", [args.sqlite3, "-json", db, "SELECT 1"]),
    ]
    for number, baseline in enumerate(args.baseline, 1):
        label = "baseline SELECT 1" if len(args.baseline) == 1 else f"baseline {number} SELECT 1"
        runs.append((label, plenum_query(baseline, db, "--sql", "SELECT 1")))
    if args.version:
        runs.append(("plenum --version", [args.plenum, "--version"]))
    if args.empty:
        runs.append(("empty program", [os.path.abspath(args.empty)]))
    if args.load:
        plugin = os.path.join(os.path.dirname(args.plenum), "libplenum_sqlite.so")
        runs.append(("empty program + plugin", [os.path.abspath(args.load), plugin]))
    if args.limit_db:
        runs.append((
            "plenum --max-rows 100",
            plenum_query(args.plenum, args.limit_db, "--max-rows", "100", "--sql",
                         "SELECT * FROM events"),
        ))
        runs.append((
            "sqlite3 LIMIT 100",
            [args.sqlite3, "-json", args.limit_db, "SELECT * FROM events LIMIT 100"],
        ))
    return runs


def run_once(argv, devnull):
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
        (os.POSIX_SPAWN_DUP2, devnull, 1)
    ])
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"cold.py: {' '.join(argv)} failed")
    return {
        "wall": wall * 1000,
        "cpu": (usage.ru_utime + usage.ru_stime) * 1000,
        "faults": usage.ru_minflt,
        "switches": usage.ru_nvcsw + usage.ru_nivcsw,
    }


def main():
    args = parse_args()
    args.plenum = os.path.abspath(args.plenum)
    args.baseline = [os.path.abspath(baseline) for baseline in args.baseline]
    if not args.sqlite3:
        sys.exit("cold.py: sqlite3 is missing (apt-get install sqlite3)")
    runs = commands(args)
    devnull = os.open(os.devnull, os.O_WRONLY)
    for _ in range(args.warmup):
        for _, argv in runs:
            run_once(argv, devnull)
    samples = {label: [] for label, _ in runs}
    for _ in range(args.rounds):
        for label, argv in runs:
            samples[label].append(run_once(argv, devnull))
    load = open("/proc/loadavg").read().split()[:3]
    print(f"{args.rounds} rounds, load average {' '.join(load)}; medians:")
    print(f"{'':24} {'wall ms':>8} {'(p25-p75)':>13} {'cpu ms':>7} {'faults':>7} {'switches':>8}")
    medians = {}
    for label, values in samples.items():
        wall = sorted(value["wall"] for value in values)
        quartiles = statistics.quantiles(wall, n=4)
        medians[label] = statistics.median(wall)
        cpu = statistics.median(value["cpu"] for value in values)
        faults = statistics.median(value["faults"] for value in values)
        switches = statistics.median(value["switches"] for value in values)
        print(f"{label:24} {medians[label]:8.2f} {quartiles[0]:6.2f}-{quartiles[2]:<6.2f} "
              f"{cpu:7.2f} {faults:7.0f} {switches:8.0f}")
    pairs = [("plenum SELECT 1", "sqlite3 SELECT 1")]
    pairs += [(label, "sqlite3 SELECT 1") for label in medians if label.startswith("baseline")]
    pairs += [("plenum --max-rows 100", "sqlite3 LIMIT 100")]
    for ours, theirs in pairs:
        if ours in medians:
            print(f"{ours} / {theirs}: {medians[ours] / medians[theirs]:.2f}x")


if __name__ == "__main__":
    main()
