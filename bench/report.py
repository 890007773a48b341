#!/usr/bin/env python3
"""Summarises one results folder of bench/run.sh: medians, ratios to the native clients, peak
memory, output bytes, and whether each target of docs/PERFORMANCE.md is met.

    bench/report.py target/bench/results/<run>

Writes summary.md and summary.json into the folder and prints summary.md.
"""

import glob
import json
import os
import re
import statistics
import sys

MIB = 1024  # /usr/bin/time reports KiB

ENGINES = [("sqlite", "SQLite", "sqlite3 -json"), ("postgres", "PostgreSQL", "psql"),
           ("mariadb", "MariaDB", "mariadb")]


def load_hyperfine(out, name):
    """The runs of comparison `name` by command label, pooled over its rounds (run.sh runs a
    pair of commands twice, in opposite orders): median, min, max and mean CPU times."""
    pooled = {}
    for path in (os.path.join(out, f"{name}.json"), os.path.join(out, f"{name}.reversed.json")):
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as file:
            for result in json.load(file)["results"]:
                entry = pooled.setdefault(result["command"], {"times": [], "user": [],
                                                             "system": []})
                runs = len(result["times"])
                entry["times"].extend(result["times"])
                entry["user"].extend([result["user"]] * runs)
                entry["system"].extend([result["system"]] * runs)
    for entry in pooled.values():
        times = entry["times"]
        entry.update(median=statistics.median(times), min=min(times), max=max(times),
                     stddev=statistics.pstdev(times), user=statistics.fmean(entry["user"]),
                     system=statistics.fmean(entry["system"]))
    return pooled or None


def load_memory(out, name):
    """Median peak RSS (KiB) and median stdout bytes of the runs of `name`, or None."""
    peaks, sizes = [], []
    for path in sorted(glob.glob(os.path.join(out, "mem", f"{name}.*.time"))):
        with open(path, encoding="utf-8") as file:
            match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", file.read())
        if match:
            peaks.append(int(match.group(1)))
        bytes_path = path[: -len(".time")] + ".bytes"
        if os.path.exists(bytes_path):
            with open(bytes_path, encoding="utf-8") as file:
                text = file.read().strip()
            if text.isdigit():
                sizes.append(int(text))
    if not peaks:
        return None
    return {"peak_kib": statistics.median(peaks), "peaks_kib": peaks,
            "bytes": statistics.median(sizes) if sizes else None}


def read_text(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as file:
        return file.read()


def ms(seconds):
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.2f} s"


def mib(kib):
    return f"{kib / MIB:.1f} MiB"


def verdict(ok):
    return "met" if ok else "**not met**"


class Report:
    def __init__(self, out):
        self.out = out
        self.lines = []
        self.targets = []
        self.data = {}

    def line(self, text=""):
        self.lines.append(text)

    def target(self, what, goal, measured, ok):
        self.targets.append((what, goal, measured, ok))

    def pair(self, name):
        """The plenum/native medians of comparison `name`, and their ratio."""
        results = load_hyperfine(self.out, name)
        if not results or "plenum" not in results or "native" not in results:
            return None
        plenum, native = results["plenum"], results["native"]
        pair = {"plenum_median_s": plenum["median"], "native_median_s": native["median"],
                "plenum_stddev_s": plenum["stddev"], "native_stddev_s": native["stddev"],
                "plenum_cpu_s": plenum["user"] + plenum["system"],
                "native_cpu_s": native["user"] + native["system"],
                "runs": len(plenum["times"]), "ratio": plenum["median"] / native["median"]}
        self.data[name] = pair
        return pair

    def machine(self):
        text = read_text(os.path.join(self.out, "machine.txt")) or ""
        info = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        self.data["machine"] = info
        memory = int(info.get("mem_total_kib", "0")) / MIB / 1024
        self.line(f"Machine: {info.get('nproc', '?')} cores, {info.get('cpu', '?')}, "
                  f"{memory:.1f} GiB memory, Linux {info.get('kernel', '?')}; "
                  f"load average {info.get('load_before', '?')} before, "
                  f"{info.get('load_after', '?')} after. {info.get('date', '')}")
        self.line(f"Build: {info.get('plenum', '?')}, commit {info.get('commit', '?')}.")
        self.line(f"Clients: {info.get('sqlite3', '?')} (sqlite3), {info.get('psql', '?')}, "
                  f"{info.get('mariadb', '?')}; {info.get('hyperfine', '?')}.")
        if info.get("quick") == "1":
            self.line("**Quick run (--quick): few runs per figure; do not quote these.**")
        self.line()

    def cold(self):
        rows = []
        for engine, label, client in ENGINES:
            pair = self.pair(f"cold_{engine}")
            if not pair:
                continue
            rows.append(f"| {label} | {ms(pair['plenum_median_s'])} | {client}: "
                        f"{ms(pair['native_median_s'])} | {pair['ratio']:.2f}× | "
                        f"{ms(pair['plenum_cpu_s'])} / {ms(pair['native_cpu_s'])} | "
                        f"{pair['runs']} |")
            if engine == "sqlite":
                self.target("cold `SELECT 1`, SQLite", "≤ 1.2× sqlite3 -json",
                            f"{pair['ratio']:.2f}×", pair["ratio"] <= 1.2)
        if not rows:
            return
        self.line("## Cold `SELECT 1` (a new process each time)")
        self.line()
        self.line("| engine | plenum | native client | ratio | CPU (user+sys) plenum / native "
                  "| runs |")
        self.line("|---|---|---|---|---|---|")
        self.lines.extend(rows)
        floor = load_hyperfine(self.out, "cold_floor")
        if floor and "plenum --version" in floor:
            start = floor["plenum --version"]
            self.data["cold_floor"] = {"median_s": start["median"]}
            self.line()
            self.line(f"For scale: `plenum --version` (process start, no plugin, no database) "
                      f"takes {ms(start['median'])} (median of {len(start['times'])}).")
        plenum = load_memory(self.out, "cold_sqlite_plenum")
        native = load_memory(self.out, "cold_sqlite_native")
        if plenum and native:
            self.line()
            self.line(f"Peak memory, SQLite: plenum {mib(plenum['peak_kib'])}, "
                      f"sqlite3 {mib(native['peak_kib'])}.")
        self.line()

    def full(self):
        names = sorted({os.path.basename(path)[len("full_"):-len(".json")]
                        for path in glob.glob(os.path.join(self.out, "full_*.json"))
                        if not path.endswith(".reversed.json")})
        if not names:
            return
        self.line("## Whole results to stdout")
        self.line()
        self.line("| engine | rows | plenum | native | time ratio | CPU plenum / native "
                  "| plenum peak | native peak | plenum bytes | native bytes | runs |")
        self.line("|---|---|---|---|---|---|---|---|---|---|---|")
        for engine, label, client in ENGINES:
            sizes = sorted(int(name.split("_")[1]) for name in names
                           if name.startswith(engine + "_"))
            for rows in sizes:
                name = f"full_{engine}_{rows}"
                pair = self.pair(name)
                if not pair:
                    continue
                plenum = load_memory(self.out, f"{name}_plenum") or {}
                native = load_memory(self.out, f"{name}_native") or {}
                self.data[name]["plenum_memory"] = plenum
                self.data[name]["native_memory"] = native
                self.line(
                    f"| {label} | {rows:,} | {ms(pair['plenum_median_s'])} | {client}: "
                    f"{ms(pair['native_median_s'])} | {pair['ratio']:.2f}× | "
                    f"{ms(pair['plenum_cpu_s'])} / {ms(pair['native_cpu_s'])} | "
                    f"{mib(plenum['peak_kib']) if plenum else '?'} | "
                    f"{mib(native['peak_kib']) if native else '?'} | "
                    f"{plenum.get('bytes') or 0:,.0f} | {native.get('bytes') or 0:,.0f} | "
                    f"{pair['runs']} |")
                peak = plenum.get("peak_kib")
                if engine == "sqlite" and rows < 1_000_000:
                    continue
                if engine == "sqlite":
                    self.target(f"{rows:,} rows JSON, SQLite: time", "≤ 0.7× sqlite3 -json",
                                f"{pair['ratio']:.2f}×", pair["ratio"] <= 0.7)
                    if peak:
                        self.target(f"{rows:,} rows JSON, SQLite: peak memory", "≤ 32 MiB",
                                    mib(peak), peak <= 32 * MIB)
                else:
                    native_name = "psql --csv" if engine == "postgres" else "mariadb --quick -B"
                    self.target(f"{rows:,} rows, {label}: time", f"≤ 1.2× {native_name}",
                                f"{pair['ratio']:.2f}×", pair["ratio"] <= 1.2)
                    if peak:
                        self.target(f"{rows:,} rows, {label}: peak memory", "≤ 64 MiB",
                                    mib(peak), peak <= 64 * MIB)
        self.line()

    def limit(self):
        rows = []
        for engine, label, client in ENGINES:
            pair = self.pair(f"limit_{engine}")
            if not pair:
                continue
            big = load_memory(self.out, f"limit_{engine}_big")
            small = load_memory(self.out, f"limit_{engine}_small")
            growth = big["peak_kib"] - small["peak_kib"] if big and small else None
            self.data[f"limit_{engine}"]["peak_big_kib"] = big and big["peak_kib"]
            self.data[f"limit_{engine}"]["peak_small_kib"] = small and small["peak_kib"]
            rows.append(
                f"| {label} | {ms(pair['plenum_median_s'])} | {client} `LIMIT 100`: "
                f"{ms(pair['native_median_s'])} | {pair['ratio']:.2f}× | "
                f"{mib(big['peak_kib']) if big else '?'} | "
                f"{mib(small['peak_kib']) if small else '?'} | "
                f"{'?' if growth is None else f'{growth / MIB:+.1f} MiB'} |")
            self.target(f"`--max-rows 100` over 1,000,000 rows, {label}: time",
                        "≤ 1.5× native `LIMIT 100`", f"{pair['ratio']:.2f}×",
                        pair["ratio"] <= 1.5)
            if growth is not None:
                self.target(f"`--max-rows 100`, {label}: memory vs a 1,000-row table",
                            "within 2 MiB", f"{growth / MIB:+.1f} MiB", abs(growth) <= 2 * MIB)
        if not rows:
            return
        self.line("## `--max-rows 100` over the 1,000,000-row table")
        self.line()
        self.line("| engine | plenum | native | ratio | plenum peak, 1,000,000 rows "
                  "| plenum peak, 1,000 rows | difference |")
        self.line("|---|---|---|---|---|---|---|")
        self.lines.extend(rows)
        self.line()

    def timeout(self):
        rows = []
        for engine, label, _ in ENGINES:
            results = load_hyperfine(self.out, f"timeout_{engine}")
            if not results:
                continue
            run = results["plenum"]
            envelope = read_text(os.path.join(self.out, "timeout", f"{engine}.json")) or ""
            try:
                code = json.loads(envelope)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "?"
            left = read_text(os.path.join(self.out, "timeout", f"{engine}.server"))
            left = left.strip() if left is not None else "n/a (in process)"
            self.data[f"timeout_{engine}"] = {"median_s": run["median"], "max_s": run["max"],
                                              "error_code": code, "left_on_server": left}
            rows.append(f"| {label} | {ms(run['median'])} | {ms(run['max'])} | {code} | {left} |")
            self.target(f"timeout 500 ms, {label}: exit", "≤ 600 ms",
                        f"{ms(run['median'])} (max {ms(run['max'])})", run["median"] <= 0.6)
            if engine != "sqlite":
                self.target(f"timeout, {label}: running on the server 1 s later", "nothing",
                            f"{left} statements", left == "0")
        if not rows:
            return
        self.line("## `--timeout-ms 500` on a runaway query")
        self.line()
        self.line("| engine | exit after (median) | slowest | error code | "
                  "statements still on the server 1 s later |")
        self.line("|---|---|---|---|---|")
        self.lines.extend(rows)
        self.line()

    def mcp(self):
        text = read_text(os.path.join(self.out, "mcp.txt"))
        if text is None:
            return
        # The test harness may print the test's name on the same line first.
        found = re.findall(r"MCP load, (.*)$", text, re.MULTILINE)
        self.line("## MCP: one session under load (tests/tests/mcp_load.rs)")
        self.line()
        if not found:
            self.line("The MCP load test printed no figures; see mcp.txt.")
        for line in found:
            self.line(f"- {line}")
        self.data["mcp"] = found
        self.line()

    def gate(self):
        rates = []
        for path in sorted(glob.glob(os.path.join(self.out, "criterion", "*", "*", "new",
                                                  "estimates.json"))):
            folder = os.path.dirname(path)
            with open(path, encoding="utf-8") as file:
                nanoseconds = json.load(file)["median"]["point_estimate"]
            with open(os.path.join(folder, "benchmark.json"), encoding="utf-8") as file:
                benchmark = json.load(file)
            elements = (benchmark.get("throughput") or {}).get("Elements")
            if not elements:
                continue
            rate = elements / (nanoseconds / 1e9)
            rates.append((benchmark["group_id"], benchmark.get("value_str") or
                          benchmark.get("function_id") or "", rate))
        if not rates:
            return
        self.line("## The gate alone (criterion, one core)")
        self.line()
        self.line("| workload | dialect | statements per second |")
        self.line("|---|---|---|")
        for group, dialect, rate in rates:
            self.line(f"| {group} | {dialect} | {rate:,.0f} |")
        self.data["gate"] = [{"group": g, "dialect": d, "per_second": r} for g, d, r in rates]
        typical = [rate for group, _, rate in rates if group == "typical_one_per_call"]
        if typical:
            self.target("gate, typical statements, one core", "≥ 200,000 /s",
                        f"{min(typical):,.0f} /s (slowest dialect)", min(typical) >= 200_000)
        self.line()

    def render(self):
        self.line("# Plenum benchmark summary")
        self.line()
        self.machine()
        self.cold()
        self.full()
        self.limit()
        self.timeout()
        self.mcp()
        self.gate()
        if self.targets:
            self.line("## Targets")
            self.line()
            self.line("| target | goal | measured | |")
            self.line("|---|---|---|---|")
            for what, goal, measured, ok in self.targets:
                self.line(f"| {what} | {goal} | {measured} | {verdict(ok)} |")
            self.line()
        self.data["targets"] = [{"target": w, "goal": g, "measured": m, "met": ok}
                                for w, g, m, ok in self.targets]
        return "\n".join(self.lines)


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: bench/report.py RESULTS_FOLDER")
    out = sys.argv[1]
    report = Report(out)
    text = report.render()
    with open(os.path.join(out, "summary.md"), "w", encoding="utf-8") as file:
        file.write(text + "\n")
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as file:
        json.dump(report.data, file, indent=2)
    print(text)


if __name__ == "__main__":
    main()
