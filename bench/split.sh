#!/usr/bin/env bash
# Two builds of plenum side by side, interleaved round by round (issue 14's "the benchmark
# figures do not regress"): the cold SELECT 1 and a --max-rows 100 page (bench/cold.py, with
# rusage), then a full 1,000,000-row SQLite result as JSON (wall time and peak RSS of each run).
#
#   bench/split.sh OLD_PLENUM [NEW_PLENUM] [ROUNDS]
#
# Each binary needs its engine plugins beside it (a release build's target/release does). NEW
# defaults to target/release/plenum. The data comes from bench/generate.py (SQLite only).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OLD=${1:?usage: bench/split.sh OLD_PLENUM [NEW_PLENUM] [ROUNDS]}
NEW=${2:-$ROOT/target/release/plenum}
ROUNDS=${3:-200}
DATA=${PLENUM_BENCH_DIR:-$ROOT/target/bench}
python3 "$ROOT/bench/generate.py" --dir "$DATA" --engines sqlite >/dev/null
DB="$DATA/bench.sqlite"
python3 "$ROOT/bench/cold.py" --plenum "$NEW" --baseline "$OLD" --rounds "$ROUNDS" --limit-db "$DB"
echo
echo "full result: SELECT * FROM events (1,000,000 rows), 5 interleaved rounds: seconds, peak KiB"
for round in 1 2 3 4 5; do
    for which in old new; do
        bin=$OLD; [ "$which" = new ] && bin=$NEW
        /usr/bin/time -f "$which %e s %M KiB" "$bin" query --engine sqlite --file "$DB" \
            --sql "SELECT * FROM events" --max-rows 2000000 --max-bytes 4000000000 >/dev/null
    done
done 2>&1 | sort | awk '{print; t[$1]+=$2; if ($4>m[$1]) m[$1]=$4} END {for (k in t) printf "%s: mean %.3f s, max %d KiB\n", k, t[k]/5, m[k]}'
