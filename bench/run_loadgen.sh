#!/usr/bin/env bash
# Starts kefu with the demo tenant in a temporary data dir and runs the load
# generator against it. Extra arguments go to kefu_loadgen.
#   bench/run_loadgen.sh -c 500 -s 20
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${KEFU_BUILD_DIR:-build}
cmake --build "$BUILD_DIR" --target kefu_loadgen >/dev/null  # benches are built on demand
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
# All the load comes from 127.0.0.1: no per-address connection cap (default 256).
KEFU_LOG_LEVEL=warn KEFU_SERVER_MAX_CONNECTIONS_PER_IP=0 "$BUILD_DIR/src/app/kefu" serve --demo --port 0 --data-dir "$tmp" --port-file "$tmp/port" &
pid=$!
for _ in $(seq 100); do [[ -s "$tmp/port" ]] && break; sleep 0.1; done
port=$(cat "$tmp/port")
"$BUILD_DIR/bench/kefu_loadgen" --port "$port" --server-pid "$pid" "$@"
