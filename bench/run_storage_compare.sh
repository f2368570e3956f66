#!/usr/bin/env bash
# Turns/s of one kefu node on SQLite and on PostgreSQL 15, side by side: the
# same binary, the demo tenant, the same kefu_loadgen arguments, the runs
# alternating (SQLite, PostgreSQL, SQLite, ...). PostgreSQL is a throwaway
# server from scripts/pg_temp.sh with its durable defaults (fsync and
# synchronous commit on, as SQLite's WAL with synchronous=NORMAL is durable
# across a process crash). Extra arguments go to kefu_loadgen.
#   bench/run_storage_compare.sh -c 50 -s 10 --warmup 2
#   KEFU_BENCH_ROUNDS=2 bench/run_storage_compare.sh -c 50 -s 10
# KEFU_BENCH_PG_WORKERS=N gives the PostgreSQL server N worker threads (its
# turns wait on the network and fsync, not the CPU); KEFU_BENCH_PG_SYNC=off
# runs PostgreSQL with synchronous_commit=off (a commit survives a kefu crash but
# not a PostgreSQL or OS crash; closer to SQLite's WAL with synchronous=NORMAL,
# which survives a process crash but not an OS crash).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${KEFU_BUILD_DIR:-build}
cmake --build "$BUILD_DIR" --target kefu_loadgen >/dev/null  # benches are built on demand
ROUNDS=${KEFU_BENCH_ROUNDS:-1}
tmp=$(mktemp -d)
pid=""
cleanup() {
  [[ -n "$pid" ]] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  bash scripts/pg_temp.sh stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
KEFU_PG_DURABLE=1 bash scripts/pg_temp.sh start "$tmp/pg" >/dev/null
pg_base=$(cat "$tmp/pg/url")

run() {  # run ENGINE ROUND LOADGEN-ARGS...
  local engine=$1 round=$2 data="$tmp/$1-$2" url=""
  shift 2
  mkdir -p "$data"
  if [[ "$engine" == postgresql ]]; then
    local db="kefu_bench_$round"
    psql -q "$pg_base" -c "CREATE DATABASE $db" >/dev/null
    url="${pg_base/\/kefu\?//$db?}"
    [[ "${KEFU_BENCH_PG_SYNC:-on}" == off ]] && url="$url&options=-c%20synchronous_commit%3Doff"
  fi
  local workers=${KEFU_SERVER_WORKER_THREADS:-2}
  [[ "$engine" == postgresql ]] && workers=${KEFU_BENCH_PG_WORKERS:-$workers}
  KEFU_LOG_LEVEL=warn KEFU_STORAGE_URL="$url" KEFU_SERVER_WORKER_THREADS=$workers "$BUILD_DIR/src/app/kefu" serve --demo --port 0 --data-dir "$data" \
    --port-file "$data/port" &
  pid=$!
  for _ in $(seq 300); do [[ -s "$data/port" ]] && break; sleep 0.1; done
  echo "== $engine (round $round, $workers worker threads)"
  "$BUILD_DIR/bench/kefu_loadgen" --port "$(cat "$data/port")" --server-pid "$pid" --json "$data/result.json" "$@"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
  python3 -c "import json,sys; r=json.load(open('$data/result.json')); print('$engine', round(r.get('turns_per_s', 0)), 'turns/s, p99', round(r.get('p99_ms', 0), 1), 'ms')" \
    >>"$tmp/summary"
}

for round in $(seq "$ROUNDS"); do
  run sqlite "$round" "$@"
  run postgresql "$round" "$@"
done
echo "== turns/s"
cat "$tmp/summary"
