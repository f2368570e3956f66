#!/usr/bin/env bash
# Installs dependencies and builds kefu (Release) into ./build, plus the web apps.
# Idempotent: re-running only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
bash scripts/web.sh

BUILD_DIR=${KEFU_BUILD_DIR:-build}
JOBS=${KEFU_JOBS:-$(nproc)}
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  # A fresh build: unity builds halve its CPU (KEFU_UNITY in CMakeLists.txt).
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKEFU_UNITY=${KEFU_UNITY:-ON} ${KEFU_CMAKE_ARGS:-}
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
