#!/usr/bin/env bash
# ThreadSanitizer over the unit tests of the modules that share state between
# threads: storage (group commit, reader pool, the PostgreSQL pool against a
# throwaway server from scripts/pg_temp.sh), bus (delivery threads, the Redis
# connections against a throwaway server from scripts/redis_temp.sh), knowledge
# (indexes swapped under searches) and dialogue (turn gate, hub, conversation service). Builds them with
# -fsanitize=thread into ${KEFU_TSAN_BUILD_DIR:-build-tsan} and fails on any
# report. Called by scripts/test.sh (KEFU_TSAN=0 skips it); about 7 minutes on
# 2 cores from scratch. The agents' desk tests pass under it too (35 tests,
# 4 minutes more; run with KEFU_TSAN_AGENTS=1).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${KEFU_TSAN_BUILD_DIR:-build-tsan}
JOBS=${KEFU_JOBS:-$(nproc)}
targets=(kefu_storage_test kefu_bus_test kefu_knowledge_test kefu_dialogue_test)
[[ "${KEFU_TSAN_AGENTS:-0}" == 1 ]] && targets+=(kefu_agents_test)
if [[ ! -f "$DIR/build.ninja" ]]; then
  # -O1 -g1: a third less compile time than RelWithDebInfo's -O2 -g, and file:line in reports.
  cmake -S . -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DKEFU_SANITIZE=thread -DKEFU_UNITY=${KEFU_UNITY:-ON} -DKEFU_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$DIR" -j "$JOBS" --target "${targets[@]}"
export KEFU_SOURCE_DIR="$PWD"
# The PostgreSQL engine's pool too: a throwaway server for this run.
pg=$(mktemp -d)
redis=$(mktemp -d)
trap 'bash scripts/pg_temp.sh stop "$pg" >/dev/null 2>&1 || true; rm -rf "$pg";
      bash scripts/redis_temp.sh stop "$redis" >/dev/null 2>&1 || true; rm -rf "$redis"' EXIT
bash scripts/pg_temp.sh start "$pg" >/dev/null
[[ -s "$pg/url" ]] && export KEFU_TEST_PG_URL="$(cat "$pg/url")"
# The bus's Redis tests: a throwaway server too.
bash scripts/redis_temp.sh start "$redis" >/dev/null
[[ -s "$redis/url" ]] && export KEFU_TEST_REDIS_URL="$(cat "$redis/url")"
export KEFU_BIN="$PWD/${KEFU_BUILD_DIR:-build}/src/app/kefu"
# halt_on_error: the first report fails the run; exitcode 66 tells it from a test failure.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
# The retrieval evaluations are single-threaded and take minutes under TSan.
skip='FaqEval.DemoKbParaphrases:QuestionMatcherTest.TrainsOnAfqmcWhenPresent'
for t in "${targets[@]}"; do
  module=${t#kefu_}
  module=${module%_test}
  echo "== tsan $t"
  "$DIR/src/$module/$t" --gtest_filter="-$skip" --gtest_brief=1
done
