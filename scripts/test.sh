#!/usr/bin/env bash
# Sets everything up and runs every test: GoogleTest suites (units, integration
# against real SQLite and real HTTP/WebSocket on port 0, the LLM path against a
# fake OpenAI-compatible server, conversation scenarios) via ctest, then the
# Playwright end-to-end tests of the web apps in Debian's chromium, then the
# concurrent modules' unit tests under ThreadSanitizer (scripts/tsan.sh), then
# the code a remote client reaches under AddressSanitizer + UBSan (scripts/asan.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage's start in seconds since this script began (CI's 30-minute budget).
stage() { echo "== [$(printf '%5d' "$SECONDS") s] $*"; }
stage "deps and build"
bash scripts/build.sh

BUILD_DIR=${KEFU_BUILD_DIR:-build}
export KEFU_BIN="$PWD/$BUILD_DIR/src/app/kefu"
export KEFU_SOURCE_DIR="$PWD"

stage "ctest"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "${KEFU_JOBS:-$(nproc)}"

stage "web end-to-end (Playwright + chromium)"
bash web/e2e/run.sh

if [[ "${KEFU_TSAN:-1}" != 0 ]]; then
  stage "ThreadSanitizer (storage, bus, knowledge, dialogue)"
  bash scripts/tsan.sh
fi

if [[ "${KEFU_ASAN:-1}" != 0 ]]; then
  stage "AddressSanitizer + UBSan (http, api, text, nlu, knowledge, dialogue, storage, scenarios)"
  bash scripts/asan.sh
fi
stage "all tests passed"
