#!/usr/bin/env bash
# Runs the web apps' tests in one `node --test` run: the unit tests of the
# widget (web/widget/test) and the agent workspace (web/agent/test), no server,
# and the browser end-to-end tests (web/e2e/*.test.mjs) against a real kefu server.
# Installs nothing: run scripts/web.sh first (npm packages + both builds) and
# build the server. Environment:
#   KEFU_BIN      server binary (default build/src/app/kefu, relative to the repo root)
#   CHROMIUM_BIN  browser (default /usr/bin/chromium)
# Screenshots go to web/test-results/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [[ ! -d "$here/node_modules/playwright-core" ]]; then
  echo "web/e2e: playwright-core is not installed; run scripts/web.sh first" >&2
  exit 2
fi
if [[ ! -f "$root/web/widget/dist/index.html" ]]; then
  echo "web/e2e: web/widget/dist is missing; run scripts/web.sh first" >&2
  exit 2
fi
if [[ ! -f "$root/web/agent/dist/index.html" ]]; then
  echo "web/e2e: web/agent/dist is missing (the agent workspace served at /agent); run scripts/web.sh first" >&2
  exit 2
fi
mkdir -p "$root/web/test-results"
cd "$root"
exec node --test --test-concurrency=1 "$root"/web/widget/test/*.test.mjs "$root"/web/agent/test/*.test.mjs "$here"/*.test.mjs
