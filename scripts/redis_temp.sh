#!/usr/bin/env bash
# A throwaway Redis 7 server for tests and local runs: Debian's redis-server
# on a free loopback port, its data in a temporary directory. No system
# service, nothing outside the directory.
#
#   scripts/redis_temp.sh start STATE_DIR   # prints the URL; writes STATE_DIR/url
#   scripts/redis_temp.sh stop STATE_DIR    # stops the server, removes its files
#   scripts/redis_temp.sh down STATE_DIR    # stops the server, keeps its data and port
#   scripts/redis_temp.sh up STATE_DIR      # starts it again after down (same port, same data)
#
# STATE_DIR/url holds a URL such as redis://127.0.0.1:43121. down/up are for
# outage tests: the server shuts down cleanly (its append-only file keeps the
# streams) and comes back on the same address. Without redis-server installed
# (KEFU_REDIS_SERVER names another binary), start says so and exits 0 without
# writing a URL, and the tests that need it skip.
set -euo pipefail

cmd=${1:-}
state=${2:-}
if [[ -z "$cmd" || -z "$state" ]]; then
  echo "usage: $0 start|stop|down|up STATE_DIR" >&2
  exit 2
fi
REDIS=${KEFU_REDIS_SERVER:-/usr/bin/redis-server}
mkdir -p "$state"
state=$(cd "$state" && pwd)

# Stops the server of this state dir (if running) and waits for it to exit.
shutdown_server() {
  local dir=$1 pid
  [[ -f "$dir/redis.pid" ]] || return 0
  pid=$(cat "$dir/redis.pid" 2>/dev/null || true)
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/redis.pid"
}

# Whether a Redis answers PING on 127.0.0.1:$1.
answers() {
  local port=$1 reply
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  read -r -t 1 reply <&3 || true
  exec 3<&- 3>&-
  [[ "$reply" == +PONG* ]]
}

# Starts redis-server in $1 on port $2; fails if it does not answer in 10 s.
launch() {
  local dir=$1 port=$2
  "$REDIS" --port "$port" --bind 127.0.0.1 --protected-mode yes --dir "$dir" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    --save "" --appendonly yes --appendfsync everysec >/dev/null 2>&1 || return 1
  for _ in $(seq 1 100); do
    answers "$port" && return 0
    sleep 0.1
  done
  return 1
}

stop() {
  if [[ -f "$state/dir" ]]; then
    local dir
    dir=$(cat "$state/dir")
    shutdown_server "$dir"
    rm -rf "$dir"
  fi
  rm -f "$state/dir" "$state/url" "$state/port"
}

case "$cmd" in
  start)
    stop
    if [[ ! -x "$REDIS" ]]; then
      echo "redis_temp: $REDIS not found (apt-get install redis-server): Redis tests will skip" >&2
      exit 0
    fi
    dir=$(mktemp -d /tmp/kefu-redis.XXXXXX)
    echo "$dir" >"$state/dir"
    # A free TCP port on loopback (the kernel picks it; if another process
    # takes it meanwhile, redis-server fails and we try another).
    for attempt in 1 2 3; do
      port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
      if launch "$dir" "$port"; then
        break
      fi
      shutdown_server "$dir"
      if [[ $attempt -eq 3 ]]; then
        echo "redis_temp: cannot start redis-server:" >&2
        cat "$dir/redis.log" >&2 2>/dev/null || true
        exit 1
      fi
    done
    echo "$port" >"$state/port"
    url="redis://127.0.0.1:$port"
    echo "$url" >"$state/url"
    echo "$url"
    ;;
  stop)
    stop
    ;;
  down)
    [[ -f "$state/dir" ]] && shutdown_server "$(cat "$state/dir")"
    ;;
  up)
    if [[ ! -f "$state/dir" || ! -f "$state/port" ]]; then
      echo "redis_temp: nothing started in $state" >&2
      exit 1
    fi
    dir=$(cat "$state/dir")
    port=$(cat "$state/port")
    answers "$port" && exit 0
    if ! launch "$dir" "$port"; then
      echo "redis_temp: cannot restart redis-server on port $port:" >&2
      tail -20 "$dir/redis.log" >&2 2>/dev/null || true
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 start|stop|down|up STATE_DIR" >&2
    exit 2
    ;;
esac
