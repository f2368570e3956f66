#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for tests and local runs: initdb in a
# temporary directory, pg_ctl on a free loopback port with its unix socket in
# that directory. No system service, nothing outside the directory.
#
#   scripts/pg_temp.sh start STATE_DIR   # prints the URL; writes STATE_DIR/url
#   scripts/pg_temp.sh stop STATE_DIR    # stops the server, removes its files
#
# STATE_DIR/url holds a libpq URL such as
#   postgresql://kefu@127.0.0.1:54321/kefu?host=/tmp/kefu-pg.XXXX
# (the socket directory in host=, the TCP port for other tools). initdb refuses
# to run as root; as root the server runs as the unprivileged user
# ${KEFU_PG_USER:-nobody}. fsync is off unless KEFU_PG_DURABLE=1 (for
# benchmarks). KEFU_PG_PORT=N listens on that port instead of a free one the
# kernel picks. Without PostgreSQL installed, start says so and
# exits 0 without writing a URL, and the tests that need it skip.
set -euo pipefail

cmd=${1:-}
state=${2:-}
if [[ -z "$cmd" || -z "$state" ]]; then
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
fi
PG_BIN=${KEFU_PG_BIN:-/usr/lib/postgresql/15/bin}
mkdir -p "$state"
state=$(cd "$state" && pwd)

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u "${KEFU_PG_USER:-nobody}" -- "$@"
  else
    "$@"
  fi
}

stop() {
  if [[ -f "$state/dir" ]]; then
    local dir
    dir=$(cat "$state/dir")
    if [[ -d "$dir/data" ]]; then
      as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    # The tests leave tens of thousands of files (a schema per test): removing
    # them took 20-35 s at the end of ctest. The server is stopped; the files go
    # in the background.
    if mv "$dir" "$dir.gone" 2>/dev/null; then
      (rm -rf "$dir.gone" >/dev/null 2>&1 &)
    else
      rm -rf "$dir"
    fi
  fi
  rm -f "$state/dir" "$state/url"
}

case "$cmd" in
  start)
    stop
    if [[ ! -x "$PG_BIN/initdb" ]]; then
      echo "pg_temp: PostgreSQL not found in $PG_BIN (apt-get install postgresql-15): PostgreSQL tests will skip" >&2
      exit 0
    fi
    # Tests need no durability; KEFU_PG_DURABLE=1 keeps PostgreSQL's defaults
    # (fsync, synchronous commit) for benchmarks.
    durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [[ "${KEFU_PG_DURABLE:-0}" == 1 ]] && durability=""
    dir=$(mktemp -d /tmp/kefu-pg.XXXXXX)
    echo "$dir" >"$state/dir"
    if [[ $(id -u) -eq 0 ]]; then chown "${KEFU_PG_USER:-nobody}" "$dir"; fi
    chmod 700 "$dir"
    # A free TCP port on loopback (the kernel picks it; a race with another
    # process taking it in between makes pg_ctl fail, and we try again).
    for attempt in 1 2 3; do
      port=${KEFU_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
      if [[ ! -d "$dir/data" ]]; then
        as_owner "$PG_BIN/initdb" -D "$dir/data" -U kefu --auth=trust --no-locale -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
          echo "pg_temp: initdb failed:" >&2
          cat "$dir/initdb.log" >&2
          exit 1
        }
      fi
      if as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir $durability -c max_connections=200" \
        start >/dev/null 2>&1; then
        break
      fi
      if [[ $attempt -eq 3 ]]; then
        echo "pg_temp: cannot start PostgreSQL:" >&2
        cat "$dir/server.log" >&2
        exit 1
      fi
    done
    as_owner "$PG_BIN/createdb" -h "$dir" -p "$port" -U kefu kefu
    url="postgresql://kefu@127.0.0.1:$port/kefu?host=$dir"
    echo "$url" >"$state/url"
    echo "$url"
    ;;
  stop)
    stop
    ;;
  *)
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
