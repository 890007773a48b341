#!/usr/bin/env bash
# Plenum's benchmark suite: whole processes of `plenum` side by side with the native clients
# (sqlite3, psql, mariadb), timed with hyperfine and measured with /usr/bin/time -v, plus the
# MCP load test and the gate's criterion benchmark. Writes every raw measurement and a summary
# (summary.md, summary.json: medians, ratios, targets met or not) to a results folder.
#
#   bench/run.sh [--quick] [--no-build] [--only cold,full,limit,timeout,mcp,gate]
#
# --quick      fewer runs (a smoke test of the suite; figures are noisy)
# --no-build   reuse the release build in target/release
# --only LIST  run only these sections (default: all)
#
# Environment: PLENUM_BENCH_DIR (data and results; default target/bench), PLENUM_BENCH_ROWS
# (default 1000000), BENCH_PG_HOST/PORT/USER (127.0.0.1, 5432, postgres), BENCH_MY_HOST/PORT/USER
# (127.0.0.1, 3306, root). The servers must accept these users without a password; the data
# goes to databases named plenum_bench. See docs/PERFORMANCE.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${PLENUM_BENCH_DIR:-$ROOT/target/bench}
ROWS=${PLENUM_BENCH_ROWS:-1000000}
PG_HOST=${BENCH_PG_HOST:-127.0.0.1}
PG_PORT=${BENCH_PG_PORT:-5432}
PG_USER=${BENCH_PG_USER:-postgres}
MY_HOST=${BENCH_MY_HOST:-127.0.0.1}
MY_PORT=${BENCH_MY_PORT:-3306}
MY_USER=${BENCH_MY_USER:-root}
DATABASE=plenum_bench

QUICK=0
BUILD=1
SECTIONS="cold,full,limit,timeout,mcp,gate"
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --no-build) BUILD=0 ;;
        --only) SECTIONS=$2; shift ;;
        --only=*) SECTIONS=${1#--only=} ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
wants() { [[ ",$SECTIONS," == *",$1,"* ]]; }

# Runs per measurement: many for the short cold starts, fewer for the long full results.
if [ "$QUICK" = 1 ]; then
    COLD_RUNS=10 FULL_RUNS=3 BIG_RUNS=2 LIMIT_RUNS=5 TIMEOUT_RUNS=2 MEM_RUNS=2
else
    COLD_RUNS=40 FULL_RUNS=10 BIG_RUNS=5 LIMIT_RUNS=20 TIMEOUT_RUNS=5 MEM_RUNS=5
fi

log() { printf 'bench: %s\n' "$*" >&2; }

# ---- tools ---------------------------------------------------------------------------------
if ! command -v hyperfine >/dev/null; then
    log "installing hyperfine"
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y hyperfine >/dev/null || { apt-get update >/dev/null && apt-get install -y hyperfine >/dev/null; }
    else
        sudo apt-get install -y hyperfine >/dev/null
    fi
fi
[ -x /usr/bin/time ] || { log "/usr/bin/time is missing (apt-get install time)"; exit 1; }
PSQL=$(ls -d /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1)
PSQL=${PSQL:-$(command -v psql || true)}
MARIADB=$(command -v mariadb || command -v mysql || true)
SQLITE3=$(command -v sqlite3 || true)
PYTHON=$(command -v python3)
for tool in "$PSQL" "$MARIADB" "$SQLITE3"; do
    [ -n "$tool" ] || { log "sqlite3, psql and mariadb (or mysql) clients are needed"; exit 1; }
done

# ---- build and data ------------------------------------------------------------------------
cd "$ROOT"
if [ "$BUILD" = 1 ]; then
    log "building release binaries (cargo build --release --workspace)"
    cargo build --release --workspace
fi
PLENUM=$ROOT/target/release/plenum
[ -x "$PLENUM" ] || { log "$PLENUM is missing: run without --no-build"; exit 1; }

mkdir -p "$BENCH_DIR"
"$PYTHON" "$ROOT/bench/generate.py" --dir "$BENCH_DIR" --rows "$ROWS" --psql "$PSQL" \
    --pg-host "$PG_HOST" --pg-port "$PG_PORT" --pg-user "$PG_USER" --mariadb "$MARIADB" \
    --my-host "$MY_HOST" --my-port "$MY_PORT" --my-user "$MY_USER"
SQLITE_DB=$BENCH_DIR/bench.sqlite

OUT=$BENCH_DIR/results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT/mem" "$OUT/timeout"
log "results go to $OUT"

# ---- the machine ---------------------------------------------------------------------------
{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "mem_total_kib=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "plenum=$("$PLENUM" --version 2>/dev/null | sed -n 's/.*"text":"\([^"\\]*\).*/\1/p')"
    echo "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "sqlite3=$("$SQLITE3" --version | cut -d' ' -f1)"
    echo "psql=$("$PSQL" --version)"
    echo "mariadb=$("$MARIADB" --version)"
    echo "hyperfine=$(hyperfine --version)"
    echo "rows=$ROWS"
    echo "quick=$QUICK"
} > "$OUT/machine.txt"

# ---- the commands --------------------------------------------------------------------------
# hyperfine runs them without a shell (-N), so a process start is all that is timed; the same
# strings are run through `sh -c exec` for /usr/bin/time.
PG_CONNINFO="host=$PG_HOST port=$PG_PORT user=$PG_USER dbname=$DATABASE sslmode=disable"
P_SQLITE="$PLENUM query --engine sqlite --file $SQLITE_DB"
P_PG="$PLENUM query --engine postgres --host $PG_HOST --port $PG_PORT --user $PG_USER --database $DATABASE --ssl-mode disable"
P_MY="$PLENUM query --engine mariadb --host $MY_HOST --port $MY_PORT --user $MY_USER --database $DATABASE --ssl-mode disable"
N_SQLITE="$SQLITE3 -json $SQLITE_DB"
N_PG_AT="$PSQL -X -At -d '$PG_CONNINFO'"
N_PG_CSV="$PSQL -X --csv -d '$PG_CONNINFO'"
N_MY="$MARIADB --protocol=TCP -h $MY_HOST -P $MY_PORT -u $MY_USER --skip-ssl -B $DATABASE"
N_MY_QUICK="$MARIADB --protocol=TCP -h $MY_HOST -P $MY_PORT -u $MY_USER --skip-ssl --quick -B $DATABASE"
# Raised limits for whole results; a long timeout so a slow run is measured, not cut.
BIG="--max-rows 2000000 --max-bytes 4000000000 --timeout-ms 600000"

# compare NAME RUNS WARMUP LABEL CMD [LABEL CMD]: one comparison, exported. Two commands run
# in two rounds, the second in the opposite order, so a change in the machine's load during a
# round does not favour one side; report.py pools the runs of both rounds.
compare() {
    local name=$1 runs=$2 warmup=$3
    shift 3
    local half=$(((runs + 1) / 2))
    log "timing $name"
    if [ $# -eq 4 ]; then
        hyperfine_round "$name" "$half" "$warmup" -n "$1" "$2" -n "$3" "$4"
        hyperfine_round "$name.reversed" "$half" "$warmup" -n "$3" "$4" -n "$1" "$2"
    else
        hyperfine_round "$name" "$runs" "$warmup" -n "$1" "$2"
    fi
}

hyperfine_round() {
    local name=$1 runs=$2 warmup=$3
    shift 3
    # -i: a timed-out query exits non-zero on purpose.
    hyperfine -N -i --style basic --output=pipe --runs "$runs" --warmup "$warmup" \
        --export-json "$OUT/$name.json" "$@" >"$OUT/$name.txt" 2>&1 || {
        log "hyperfine failed for $name:"; cat "$OUT/$name.txt" >&2; return 1; }
}

# memory NAME CMD: peak RSS (from /usr/bin/time -v) and stdout bytes, MEM_RUNS times.
memory() {
    local name=$1 cmd=$2 run
    log "measuring memory of $name"
    for run in $(seq "$MEM_RUNS"); do
        /usr/bin/time -v -o "$OUT/mem/$name.$run.time" sh -c "exec $cmd" 2>/dev/null \
            | wc -c >"$OUT/mem/$name.$run.bytes" || true
    done
}

# ---- cold SELECT 1 -------------------------------------------------------------------------
if wants cold; then
    # The floor: starting the binary, without loading a plugin or opening a database.
    compare cold_floor "$COLD_RUNS" 5 "plenum --version" "$PLENUM --version"
    compare cold_sqlite "$COLD_RUNS" 5 \
        plenum "$P_SQLITE --sql 'SELECT 1'" native "$N_SQLITE 'SELECT 1'"
    compare cold_postgres "$COLD_RUNS" 5 \
        plenum "$P_PG --sql 'SELECT 1'" native "$N_PG_AT -c 'SELECT 1'"
    compare cold_mariadb "$COLD_RUNS" 5 \
        plenum "$P_MY --sql 'SELECT 1'" native "$N_MY -e 'SELECT 1'"
    memory cold_sqlite_plenum "$P_SQLITE --sql 'SELECT 1'"
    memory cold_sqlite_native "$N_SQLITE 'SELECT 1'"
fi

# ---- whole results to stdout ---------------------------------------------------------------
if wants full; then
    for rows in 100000 "$ROWS"; do
        sql="SELECT * FROM events WHERE id <= $rows"
        runs=$FULL_RUNS
        [ "$rows" -ge 1000000 ] && runs=$BIG_RUNS
        compare "full_sqlite_$rows" "$runs" 1 \
            plenum "$P_SQLITE $BIG --sql '$sql'" native "$N_SQLITE '$sql'"
        compare "full_postgres_$rows" "$runs" 1 \
            plenum "$P_PG $BIG --sql '$sql'" native "$N_PG_CSV -c '$sql'"
        compare "full_mariadb_$rows" "$runs" 1 \
            plenum "$P_MY $BIG --sql '$sql'" native "$N_MY_QUICK -e '$sql'"
        memory "full_sqlite_${rows}_plenum" "$P_SQLITE $BIG --sql '$sql'"
        memory "full_sqlite_${rows}_native" "$N_SQLITE '$sql'"
        memory "full_postgres_${rows}_plenum" "$P_PG $BIG --sql '$sql'"
        memory "full_postgres_${rows}_native" "$N_PG_CSV -c '$sql'"
        memory "full_mariadb_${rows}_plenum" "$P_MY $BIG --sql '$sql'"
        memory "full_mariadb_${rows}_native" "$N_MY_QUICK -e '$sql'"
    done
fi

# ---- --max-rows 100 over the big table -----------------------------------------------------
if wants limit; then
    compare limit_sqlite "$LIMIT_RUNS" 3 \
        plenum "$P_SQLITE --max-rows 100 --sql 'SELECT * FROM events'" \
        native "$N_SQLITE 'SELECT * FROM events LIMIT 100'"
    compare limit_postgres "$LIMIT_RUNS" 3 \
        plenum "$P_PG --max-rows 100 --sql 'SELECT * FROM events'" \
        native "$N_PG_CSV -c 'SELECT * FROM events LIMIT 100'"
    compare limit_mariadb "$LIMIT_RUNS" 3 \
        plenum "$P_MY --max-rows 100 --sql 'SELECT * FROM events'" \
        native "$N_MY_QUICK -e 'SELECT * FROM events LIMIT 100'"
    for engine in sqlite postgres mariadb; do
        case $engine in
            sqlite) base=$P_SQLITE ;;
            postgres) base=$P_PG ;;
            mariadb) base=$P_MY ;;
        esac
        memory "limit_${engine}_big" "$base --max-rows 100 --sql 'SELECT * FROM events'"
        memory "limit_${engine}_small" "$base --max-rows 100 --sql 'SELECT * FROM events_1k'"
    done
fi

# ---- --timeout-ms 500 on a runaway query ---------------------------------------------------
if wants timeout; then
    # The marker comment finds the statement on the server afterwards.
    RUNAWAY_SQLITE="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT /* plenum-bench-runaway */ count(*) FROM c"
    RUNAWAY_SERVER="SELECT /* plenum-bench-runaway */ count(*) FROM events a JOIN events b ON a.score + b.score = 7"
    compare timeout_sqlite "$TIMEOUT_RUNS" 0 \
        plenum "$P_SQLITE --timeout-ms 500 --sql '$RUNAWAY_SQLITE'"
    compare timeout_postgres "$TIMEOUT_RUNS" 0 \
        plenum "$P_PG --timeout-ms 500 --sql '$RUNAWAY_SERVER'"
    compare timeout_mariadb "$TIMEOUT_RUNS" 0 \
        plenum "$P_MY --timeout-ms 500 --sql '$RUNAWAY_SERVER'"
    # One more run each, then what the server still runs one second after plenum exited.
    log "checking server state after a timeout"
    sh -c "exec $P_SQLITE --timeout-ms 500 --sql '$RUNAWAY_SQLITE'" >"$OUT/timeout/sqlite.json" || true
    sh -c "exec $P_PG --timeout-ms 500 --sql '$RUNAWAY_SERVER'" >"$OUT/timeout/postgres.json" || true
    sleep 1
    "$PSQL" -X -At -d "$PG_CONNINFO" -c "SELECT count(*) FROM pg_stat_activity
        WHERE query LIKE '%plenum-bench-runaway%' AND pid <> pg_backend_pid()" \
        >"$OUT/timeout/postgres.server"
    sh -c "exec $P_MY --timeout-ms 500 --sql '$RUNAWAY_SERVER'" >"$OUT/timeout/mariadb.json" || true
    sleep 1
    "$MARIADB" --protocol=TCP -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" --skip-ssl -N -B \
        -e "SELECT count(*) FROM information_schema.processlist
            WHERE info LIKE '%plenum-bench-runaway%' AND id <> connection_id()" \
        >"$OUT/timeout/mariadb.server"
fi

# ---- MCP: one session under load -----------------------------------------------------------
if wants mcp; then
    log "running the MCP load test (tests/tests/mcp_load.rs)"
    cargo test --release -p plenum-e2e --test mcp_load -- --ignored --nocapture --test-threads 1 \
        >"$OUT/mcp.txt" 2>&1 || { log "the MCP load test failed:"; tail -n 20 "$OUT/mcp.txt" >&2; }
fi

# ---- the gate alone ------------------------------------------------------------------------
if wants gate; then
    log "running the gate benchmark on one core (gate/benches/gate.rs)"
    cargo bench -p plenum-gate --bench gate --no-run >"$OUT/gate.txt" 2>&1
    rm -rf "$ROOT/target/criterion/typical_one_per_call" "$ROOT/target/criterion/typical_100_per_call"
    gate_args=()
    [ "$QUICK" = 1 ] && gate_args=(--warm-up-time 1 --measurement-time 2)
    taskset -c 0 cargo bench -p plenum-gate --bench gate -- "${gate_args[@]}" >>"$OUT/gate.txt" 2>&1
    cp -r "$ROOT/target/criterion" "$OUT/criterion"
fi

echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
"$PYTHON" "$ROOT/bench/report.py" "$OUT"
log "summary: $OUT/summary.md"
