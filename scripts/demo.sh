#!/usr/bin/env bash
# Sets everything up and starts kefu with the demo tenant 示例商城.
#   ./scripts/demo.sh [--port N] [--data-dir DIR] [other `kefu serve` flags]
# Then open http://localhost:8080/ (widget key "demo", admin API key "demo-admin-key").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec "${KEFU_BUILD_DIR:-build}/src/app/kefu" serve --demo "$@"
