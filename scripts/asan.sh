#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer over what a remote client
# reaches: the HTTP/WebSocket server and its request parser (kefu_http_test),
# the API's edge helpers, the modules a turn runs through (text, nlu,
# knowledge, dialogue, storage on SQLite and on a throwaway PostgreSQL from
# scripts/pg_temp.sh, the bus that carries customers' messages between nodes
# on a throwaway Redis from scripts/redis_temp.sh), and the conversation
# scenarios plus random text through the conversation service
# (kefu_scenario_test); KEFU_ASAN_SERVER=1 adds the whole-server tests in
# tests/ (real HTTP turns, random text over HTTP, the security and hardening
# regressions, the LLM path against the fake server, PostgreSQL, two nodes). Builds them into ${KEFU_ASAN_BUILD_DIR:-build-asan} with
# -fsanitize=address,undefined, _GLIBCXX_ASSERTIONS (an index past a
# container's size but inside its capacity, which ASan cannot see) and leak
# checks, and fails on the first report. Called by scripts/test.sh
# (KEFU_ASAN=0 skips it).
#
# Time from scratch on the 2-core development VM (2026-12-07, other builds
# running beside it): 6.2 minutes (11.7 minutes of CPU, nearly all of it the
# build); with KEFU_ASAN_SERVER=1 about 11.5 (a from-scratch run took 13.9 with
# the tests one after another, 4.7 of them; two at a time they take 2.3), since
# the whole-server tests link every module (agents, inbox, the data hub, the
# app). Later runs rebuild only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${KEFU_ASAN_BUILD_DIR:-build-asan}
JOBS=${KEFU_JOBS:-$(nproc)}
# Slowest first (they run in parallel below).
units=(kefu_knowledge_test kefu_scenario_test kefu_http_test kefu_nlu_test kefu_storage_test kefu_bus_test
       kefu_text_test kefu_dialogue_test kefu_api_edge_test)
servers=(kefu_llm_server_test kefu_hardening_test kefu_server_test kefu_postgres_server_test kefu_cluster_test
         kefu_integration_test kefu_security_test)
targets=("${units[@]}")
[[ "${KEFU_ASAN_SERVER:-0}" != 0 ]] && targets=("${servers[@]}" "${units[@]}")
# -Og: the sanitizers check every access it keeps, and it compiles in about
# 60 % of -O1's time under them (UBSan's checks make optimising builds slow)
# while the tests take about 1.5 times as long; -g1: file and line in reports.
# Configured every time (a few seconds), so these flags always apply.
cmake -S . -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-Og -g1" \
  -DCMAKE_CXX_FLAGS="-fno-sanitize-recover=undefined -D_GLIBCXX_ASSERTIONS" -DKEFU_SANITIZE=address,undefined -DKEFU_UNITY=${KEFU_UNITY:-ON} \
  -DKEFU_BUILD_BENCH=OFF >/dev/null
cmake --build "$DIR" -j "$JOBS" --target "${targets[@]}"
export KEFU_SOURCE_DIR="$PWD"
# The PostgreSQL engine and the whole server on it, and the bus on Redis:
# throwaway servers for this run.
pg=$(mktemp -d)
redis=$(mktemp -d)
logs=$(mktemp -d)
trap 'bash scripts/pg_temp.sh stop "$pg" >/dev/null 2>&1 || true; bash scripts/redis_temp.sh stop "$redis" \
      >/dev/null 2>&1 || true; rm -rf "$pg" "$redis" "$logs"' EXIT
bash scripts/pg_temp.sh start "$pg" >/dev/null
[[ -s "$pg/url" ]] && export KEFU_TEST_PG_URL="$(cat "$pg/url")"
bash scripts/redis_temp.sh start "$redis" >/dev/null
[[ -s "$redis/url" ]] && export KEFU_TEST_REDIS_URL="$(cat "$redis/url")"
# The first report fails the run (exit code 66: ASan, 67: UBSan, told apart
# from a test failure); leaks are reported at exit (none needs suppressing);
# handle_abort: a failed _GLIBCXX_ASSERTIONS check is reported with its stack.
export ASAN_OPTIONS="halt_on_error=1:exitcode=66:detect_leaks=1:print_stacktrace=1:handle_abort=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:exitcode=67:print_stacktrace=1"
# Single-threaded evaluations over whole data sets: minutes under the
# sanitizers and nothing a remote client reaches.
skip='FaqEval.DemoKbParaphrases:QuestionMatcherTest.TrainsOnAfqmcWhenPresent'
run_one() {
  local t=$1 module=${1#kefu_} bin=$DIR/tests/$1
  module=${module%_test}
  [[ -x "$bin" ]] || bin=$DIR/src/$module/$t
  [[ -x "$bin" ]] || bin=$DIR/src/${module%%_*}/$t  # kefu_api_edge_test lives in src/api
  if "$bin" --gtest_filter="-$skip" --gtest_brief=1 >"$logs/$t.log" 2>&1; then
    echo "== asan $t: $(grep -E '^\[  PASSED  \]' "$logs/$t.log" || echo ok)"
  else
    local rc=$?
    echo "== asan $t: FAILED (exit $rc; 66 = AddressSanitizer, 67 = UBSan)"
    grep -v '^{"' "$logs/$t.log" | tail -150  # the report, without the servers' JSON log lines
    return 1
  fi
}
# The binaries run $JOBS at a time (each is mostly one busy thread), the
# slowest first; every failure is printed with its report.
failed=0 running=0
for t in "${targets[@]}"; do
  if ((running >= JOBS)); then
    wait -n || failed=1
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
while ((running > 0)); do
  wait -n || failed=1
  running=$((running - 1))
done
exit "$failed"
