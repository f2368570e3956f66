#!/usr/bin/env bash
# Installs the web apps' npm packages from their lockfiles and builds the chat
# widget into web/widget/dist (served by `kefu serve` at /) and the agent
# workspace into web/agent/dist (served at /agent). Idempotent:
# `npm ci` runs only when node_modules is missing or older than the lockfile,
# the build only when a source file is newer than dist. No browser is downloaded:
# the e2e tests use Debian's chromium (scripts/deps.sh).
#   scripts/web.sh           install + build
#   scripts/web.sh --force   reinstall and rebuild
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
force=0
[[ "${1:-}" == "--force" ]] && force=1
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

install() {  # $1 = package dir
  local dir="$1" stamp="$1/node_modules/.package-lock.json"
  if ((force)) || [[ ! -f "$stamp" || "$dir/package-lock.json" -nt "$stamp" ]]; then
    echo "web: npm ci in ${dir#"$root"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  else
    echo "web: ${dir#"$root"/}/node_modules up to date"
  fi
}

install "$root/web/widget"
install "$root/web/agent"
install "$root/web/e2e"

build() {  # $1 = app dir: vite build when dist is missing or a source is newer
  local dir="$1" dist_index="$1/dist/index.html"
  if ((force)) || [[ ! -f "$dist_index" ]] || [[ -n "$(find "$dir/src" "$dir/index.html" "$dir/vite.config.js" \
        "$dir/package-lock.json" $([[ -d "$dir/public" ]] && echo "$dir/public") -newer "$dist_index" -print -quit 2>/dev/null)" ]]; then
    echo "web: building ${dir#"$root"/}/dist"
    (cd "$dir" && npm run --silent build)
  else
    echo "web: ${dir#"$root"/}/dist up to date"
  fi
}

build "$root/web/widget"
build "$root/web/agent"
