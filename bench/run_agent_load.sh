#!/usr/bin/env bash
# Starts kefu with the demo tenant in a temporary data dir and runs the agent
# benchmark against it (200 agents, 2,000 customers by default). Extra
# arguments go to kefu_agent_load.
#   bench/run_agent_load.sh --rate 400 -s 20
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${KEFU_BUILD_DIR:-build}
cmake --build "$BUILD_DIR" --target kefu_agent_load >/dev/null  # benches are built on demand
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
# Manual assignment: the benchmark hands customer i to agent (i mod N) by accept,
# so it knows which screen each message must reach.
KEFU_AGENTS_ASSIGNMENT=manual KEFU_LOG_LEVEL=warn "$BUILD_DIR/src/app/kefu" serve --demo --port 0 --data-dir "$tmp" --port-file "$tmp/port" &
pid=$!
for _ in $(seq 100); do [[ -s "$tmp/port" ]] && break; sleep 0.1; done
port=$(cat "$tmp/port")
"$BUILD_DIR/bench/kefu_agent_load" --port "$port" "$@"
