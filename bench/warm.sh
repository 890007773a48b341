#!/usr/bin/env bash
# Warm sessions in `plenum mcp` beside the native select-only loads, in one run:
#
#   1. pgbench -S -c 16 -j 2 (select-only, persistent connections) on a scale-1 pgbench database;
#   2. mariadb-slap, 16 clients on persistent connections, a point select by primary key;
#   3. the MCP load test (tests/tests/mcp_load.rs): one `plenum mcp`, a raw JSON-RPC client,
#      16 calls in flight, 10 rows each, on SQLite, PostgreSQL and MariaDB — with warm sessions,
#      and with --pool-size 0 (a new session per call, as before) for comparison;
#   4. the same PostgreSQL and MariaDB loads with every server session of the database killed
#      halfway, as a server restart would do (failed calls are counted);
#   5. the floor: the statements a warm read call sends, from pgbench and mariadb-slap (C
#      clients, no JSON, no gate), 16 clients — the most any client doing that per call could
#      get from the database (bench/floor/README.md); also every round trip a warm call
#      needs, reset and parse or prepare included, from bench/floor/postgres-call.c (libpq;
#      Debian: libpq-dev) and bench/floor/mariadb-call.c (Debian: libmariadb-dev) when their
#      headers are installed.
#
#   bench/warm.sh [--no-build] [--seconds N] [--calls N]
#
# Environment: BENCH_PG_HOST/PORT/USER (127.0.0.1, 5432, postgres), BENCH_MY_HOST/PORT/USER
# (127.0.0.1, 3306, root); PLENUM_TEST_POSTGRES_URL / PLENUM_TEST_MYSQL_URL for the load test.
# Output: target/bench/warm-<time>/ (raw outputs and summary.txt). See docs/PERFORMANCE.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_HOST=${BENCH_PG_HOST:-127.0.0.1}
PG_PORT=${BENCH_PG_PORT:-5432}
PG_USER=${BENCH_PG_USER:-postgres}
MY_HOST=${BENCH_MY_HOST:-127.0.0.1}
MY_PORT=${BENCH_MY_PORT:-3306}
MY_USER=${BENCH_MY_USER:-root}
BUILD=1
SECONDS_PER_RUN=10
CALLS=10000
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) BUILD=0 ;;
        --seconds) SECONDS_PER_RUN=$2; shift ;;
        --calls) CALLS=$2; shift ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "warm.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

log() { printf 'warm: %s\n' "$*" >&2; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PGBENCH=$PGBIN/pgbench
PSQL=$PGBIN/psql
SLAP=$(command -v mariadb-slap || command -v mysqlslap)
MARIADB=$(command -v mariadb || command -v mysql)
[ -x "$PGBENCH" ] || { log "pgbench not found under /usr/lib/postgresql/*/bin"; exit 1; }

OUT=$ROOT/target/bench/warm-$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
cd "$ROOT"
if [ "$BUILD" = 1 ]; then
    log "building release binaries"
    cargo build --release -p plenum -p plenum-sqlite -p plenum-postgres -p plenum-mysql
fi
log "building the load test"
cargo test --release -p plenum-e2e --test mcp_load --no-run >"$OUT/build.txt" 2>&1

{
    echo "date: $(date -u)"
    echo "commit: $(git rev-parse --short HEAD)"
    echo "cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo)"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "pgbench: $($PGBENCH --version)"
    echo "slap: $($SLAP --version)"
} >"$OUT/machine.txt"

# ---- pgbench -S ------------------------------------------------------------------------------
pgq() { "$PSQL" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -X -q -t -A "$@"; }
if [ -z "$(pgq -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'plenum_pgbench'")" ]; then
    pgq -d postgres -c "CREATE DATABASE plenum_pgbench"
    "$PGBENCH" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -i -s 1 -q plenum_pgbench >"$OUT/pgbench-init.txt" 2>&1
fi
log "pgbench -S -c 16 -j 2 -T $SECONDS_PER_RUN"
"$PGBENCH" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -S -c 16 -j 2 -T "$SECONDS_PER_RUN" -n \
    plenum_pgbench >"$OUT/pgbench.txt" 2>&1
PGBENCH_TPS=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$OUT/pgbench.txt" | tail -n 1)

# ---- mariadb-slap ----------------------------------------------------------------------------
myq() { "$MARIADB" -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" --skip-ssl -N -B "$@"; }
myq -e "CREATE DATABASE IF NOT EXISTS plenum_slap;
        CREATE TABLE IF NOT EXISTS plenum_slap.accounts (aid INT PRIMARY KEY, abalance INT, filler CHAR(84));
        INSERT IGNORE INTO plenum_slap.accounts SELECT seq, 0, '' FROM plenum_slap.seq_1_to_100000;"
# Queries in total, spread over the 16 clients: about as long as the pgbench run.
SLAP_QUERIES=$(python3 -c "print(max(16000, int(float('${PGBENCH_TPS:-10000}') * $SECONDS_PER_RUN) // 16 * 16))")
log "mariadb-slap --concurrency=16, $SLAP_QUERIES point selects"
started=$(date +%s.%N)
"$SLAP" -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" --skip-ssl --create-schema=plenum_slap \
    --concurrency=16 --number-of-queries="$SLAP_QUERIES" --iterations=1 \
    --query="SELECT abalance FROM accounts WHERE aid = 4242" >"$OUT/slap.txt" 2>&1
ended=$(date +%s.%N)
SLAP_QPS=$(python3 -c "print(round($SLAP_QUERIES / ($ended - $started)))")

# ---- the floor: a warm call's statements without Plenum --------------------------------------
log "pgbench -M prepared -f bench/floor/postgres-call.sql -c 16 -j 2 -T $SECONDS_PER_RUN"
"$PGBENCH" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -M prepared -f bench/floor/postgres-call.sql \
    -c 16 -j 2 -T "$SECONDS_PER_RUN" -n plenum_pgbench >"$OUT/floor-postgres.txt" 2>&1
FLOOR_PG=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$OUT/floor-postgres.txt" | tail -n 1)
# The same with every round trip the plugin needs (the reset as one simple query, the parse
# of each call's statement) from libpq (bench/floor/postgres-call.c; needs a C compiler and
# libpq's headers, Debian's libpq-dev).
FLOOR_PG_C=
if command -v pg_config >/dev/null 2>&1 \
    && cc -O2 -o "$OUT/postgres-call" bench/floor/postgres-call.c -I"$(pg_config --includedir)" \
        -lpq -lpthread >"$OUT/floor-postgres-c-build.txt" 2>&1; then
    log "bench/floor/postgres-call.c, 16 clients, $SECONDS_PER_RUN s"
    "$OUT/postgres-call" "host=$PG_HOST port=$PG_PORT user=$PG_USER dbname=plenum_pgbench" \
        "$SECONDS_PER_RUN" 16 bench/floor/postgres-call.sql >"$OUT/floor-postgres-c.txt" 2>&1 || true
    FLOOR_PG_C=$(sed -n 's/^calls\/s: //p' "$OUT/floor-postgres-c.txt")
else
    log "no C compiler or pg_config (Debian: libpq-dev): the PostgreSQL C floor is skipped"
fi
# Four statements a call; as many calls as the point selects above.
FLOOR_MY_STATEMENTS=$((SLAP_QUERIES / 16 * 16 * 4))
log "mariadb-slap --concurrency=16, bench/floor/mariadb-call.sql"
started=$(date +%s.%N)
"$SLAP" -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" --skip-ssl --create-schema=plenum_slap \
    --concurrency=16 --number-of-queries="$FLOOR_MY_STATEMENTS" --iterations=1 --delimiter=";" \
    --query=bench/floor/mariadb-call.sql >"$OUT/floor-mariadb.txt" 2>&1
ended=$(date +%s.%N)
FLOOR_MY=$(python3 -c "print(round($FLOOR_MY_STATEMENTS / 4 / ($ended - $started)))")

# The same with every step the plugin sends, reset and prepare included, from a C client
# (bench/floor/mariadb-call.c; needs a C compiler and MariaDB Connector/C, Debian's
# libmariadb-dev); then with the query as one text round trip instead of prepare and execute.
FLOOR_MY_C=
FLOOR_MY_TEXT=
if command -v mariadb_config >/dev/null 2>&1 \
    && cc -O2 -o "$OUT/mariadb-call" bench/floor/mariadb-call.c $(mariadb_config --cflags --libs) \
        -lpthread >"$OUT/floor-mariadb-c-build.txt" 2>&1; then
    floor_c() { # label, extra argument
        log "bench/floor/mariadb-call.c, 16 clients, $SECONDS_PER_RUN s ($1)"
        "$OUT/mariadb-call" "$MY_HOST" "$MY_PORT" "$MY_USER" plenum_slap "$SECONDS_PER_RUN" 16 \
            bench/floor/mariadb-call.sql ${2:+"$2"} >"$OUT/floor-mariadb-$1.txt" 2>&1 || true
        sed -n 's/^calls\/s: //p' "$OUT/floor-mariadb-$1.txt"
    }
    FLOOR_MY_C=$(floor_c c)
    FLOOR_MY_TEXT=$(floor_c c-text text)
else
    log "no C compiler or mariadb_config (Debian: libmariadb-dev): the C floor is skipped"
fi

# ---- the MCP load ----------------------------------------------------------------------------
mcp() { # label, extra environment
    local label=$1; shift
    log "MCP load: $label"
    env PLENUM_LOAD_CALLS="$CALLS" "$@" cargo test --release -p plenum-e2e --test mcp_load -- \
        --ignored --nocapture --test-threads 1 >"$OUT/mcp-$label.txt" 2>&1 \
        || log "the MCP load ($label) failed: see $OUT/mcp-$label.txt"
}
mcp warm
mcp per-call PLENUM_LOAD_POOL_SIZE=0
mcp killed PLENUM_LOAD_KILL_AT=$((CALLS / 2))

rate() { # file, engine
    sed -n "s/^.*MCP load, $2: .* \([0-9]*\) calls\/s.*/\1/p" "$1" | head -n 1
}
{
    cat "$OUT/machine.txt"
    echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "pgbench -S -c 16 -j 2: $PGBENCH_TPS tps"
    echo "mariadb-slap, 16 clients, point select: $SLAP_QPS queries/s"
    echo "floor, a warm call's statements from pgbench: $FLOOR_PG calls/s"
    echo "floor, every round trip of a warm call from C (libpq): ${FLOOR_PG_C:-skipped} calls/s"
    echo "floor, a warm call's statements from mariadb-slap: $FLOOR_MY calls/s"
    echo "floor, every step of a warm call from C (reset, settings, prepare, execute, rollback): ${FLOOR_MY_C:-skipped} calls/s"
    echo "floor, the same with a text query instead of prepare and execute: ${FLOOR_MY_TEXT:-skipped} calls/s"
    for label in warm per-call killed; do
        grep -h "MCP load\|MCP floor" "$OUT/mcp-$label.txt" | sed "s/^/[$label] /" || true
    done
    pg=$(rate "$OUT/mcp-warm.txt" PostgreSQL)
    my=$(rate "$OUT/mcp-warm.txt" MariaDB)
    python3 - "$pg" "$PGBENCH_TPS" "$my" "$SLAP_QPS" "$FLOOR_PG" "$FLOOR_MY" "$FLOOR_MY_C" \
        "$FLOOR_MY_TEXT" "$FLOOR_PG_C" <<'PY'
import sys
pg, tps, my, qps, floor_pg, floor_my, floor_c, floor_text, floor_pg_c = (
    float(x or 0) for x in sys.argv[1:])
print(f"PostgreSQL warm MCP / pgbench -S: {pg / tps:.3f}x (target >= 0.25x)" if tps else "no pgbench figure")
print(f"MariaDB warm MCP / mariadb-slap: {my / qps:.3f}x (target >= 0.25x)" if qps else "no slap figure")
if tps and floor_pg:
    print(f"PostgreSQL floor / pgbench -S: {floor_pg / tps:.3f}x; warm MCP / floor: {pg / floor_pg:.2f}")
if qps and floor_my:
    print(f"MariaDB floor / mariadb-slap: {floor_my / qps:.3f}x; warm MCP / floor: {my / floor_my:.2f}")
if tps and floor_pg_c:
    print(f"PostgreSQL floor, every round trip from C / pgbench -S: {floor_pg_c / tps:.3f}x; warm MCP / that floor: {pg / floor_pg_c:.2f}")
if qps and floor_c:
    print(f"MariaDB floor, every step from C / mariadb-slap: {floor_c / qps:.3f}x; warm MCP / that floor: {my / floor_c:.2f}")
if qps and floor_text:
    print(f"MariaDB floor, text query from C / mariadb-slap: {floor_text / qps:.3f}x")
PY
} | tee "$OUT/summary.txt"
