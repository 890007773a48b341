#!/usr/bin/env bash
# What the reach check and the write tier's engine fence cost per call on a live PostgreSQL,
# interleaved with the same calls without them (docs/PERFORMANCE.md, "Reach and fence").
# Usage: bench/reach.sh [ROUNDS]   (PLENUM_TEST_POSTGRES_URL as for the tests)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --release -p plenum-postgres --example reach_cost -- "${1:-2000}"
