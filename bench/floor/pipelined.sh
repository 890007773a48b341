#!/usr/bin/env bash
# How far fewer round trips could move the PostgreSQL floor: a warm read call's statements
# (bench/floor/postgres-call.sql) sent by pgbench as they are sent today (the reset pipelined,
# then one round trip per statement), in two pipelines (the reset, the begin and the login's
# powers; then the query and the rollback: the fewest a client can use, since the powers must
# be back before the call's statement may be sent), and in one pipeline (an upper bound no
# safe client reaches: the statement would go out before its check came back). Each beside
# `pgbench -S`, in alternated rounds, 16 clients on 2 threads, as bench/warm.sh runs them.
#
#   bench/floor/pipelined.sh [--seconds N] [--rounds N]
#
# Environment: BENCH_PG_HOST/PORT/USER (127.0.0.1, 5432, postgres). Needs the scale-1 database
# `plenum_pgbench` that bench/warm.sh creates. See docs/PERFORMANCE.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PG_HOST=${BENCH_PG_HOST:-127.0.0.1}
PG_PORT=${BENCH_PG_PORT:-5432}
PG_USER=${BENCH_PG_USER:-postgres}
SECONDS_PER_RUN=10
ROUNDS=3
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) SECONDS_PER_RUN=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "pipelined.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

PGBENCH=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/pgbench
[ -x "$PGBENCH" ] || { echo "pipelined.sh: pgbench not found under /usr/lib/postgresql/*/bin" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The statements of postgres-call.sql, in its order: the reset (between the pipeline marks),
# then the begin, the powers query, the call's query and the rollback.
python3 - "$ROOT/bench/floor/postgres-call.sql" "$WORK" <<'PY'
import sys
lines = [line for line in open(sys.argv[1]).read().splitlines() if line.strip()]
end = lines.index("\\endpipeline")
reset = lines[1:end]
begin, powers, query, rollback = lines[end + 1:end + 5]
pipe = lambda *statements: ["\\startpipeline", *statements, "\\endpipeline"]
scripts = {
    "two.sql": pipe(*reset, begin, powers) + pipe(query, rollback),
    "one.sql": pipe(*reset, begin, powers, query, rollback),
}
for name, script in scripts.items():
    open(f"{sys.argv[2]}/{name}", "w").write("\n".join(script) + "\n")
PY

tps() {
    "$PGBENCH" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -c 16 -j 2 -T "$SECONDS_PER_RUN" -n \
        "$@" plenum_pgbench 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -n 1
}

echo "date: $(date -u); cpus: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %12s %12s %12s %12s   %s\n' round "pgbench -S" "as today" "two trips" "one trip" \
    "ratios to pgbench -S"
for round in $(seq 1 "$ROUNDS"); do
    select_only=$(tps -S)
    today=$(tps -M prepared -f "$ROOT/bench/floor/postgres-call.sql")
    two=$(tps -M prepared -f "$WORK/two.sql")
    one=$(tps -M prepared -f "$WORK/one.sql")
    ratios=$(python3 -c "s=$select_only; print(' '.join(f'{x / s:.3f}x' for x in ($today, $two, $one)))")
    printf '%-6s %12.0f %12.0f %12.0f %12.0f   %s\n' "$round" "$select_only" "$today" "$two" "$one" \
        "$ratios"
done
