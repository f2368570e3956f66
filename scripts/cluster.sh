#!/usr/bin/env bash
# A kefu cluster on loopback for trials and tests: PostgreSQL and Redis
# (throwaway servers from scripts/pg_temp.sh and scripts/redis_temp.sh), two
# kefu nodes (build/src/app/kefu serve --demo) on one database and one bus,
# and Debian's haproxy in front, round robin with health checks. Nothing
# outside STATE_DIR and the temporary server directories.
#
#   scripts/cluster.sh start STATE_DIR    # prints the front URL; writes STATE_DIR/front_url
#   scripts/cluster.sh status STATE_DIR   # each process, its port and /healthz
#   scripts/cluster.sh stop STATE_DIR     # stops everything, removes the servers' files
#   scripts/cluster.sh kill STATE_DIR N   # SIGKILL node N (1 or 2), as a crash would
#   scripts/cluster.sh restart STATE_DIR N  # starts node N again (same port, same config)
#
# Environment:
#   KEFU_BIN              the kefu binary (default build/src/app/kefu)
#   KEFU_CLUSTER_NODES    number of kefu nodes (default 2)
#   KEFU_CLUSTER_PG_URL   use this PostgreSQL database instead of starting one
#   KEFU_CLUSTER_REDIS_URL  use this Redis instead of starting one
#   KEFU_CLUSTER_FRONT=proxy|none  none: no haproxy; front_url is empty and
#                         STATE_DIR/node_urls lists the nodes (clients balance)
#   KEFU_CLUSTER_WORKERS  server.worker_threads of each node (default 4)
#
# STATE_DIR/nodeN/ holds node N's kefu.toml, log, pid and port; the config
# keys are the real ones (docs/operations.md, "Several nodes").
set -euo pipefail

cmd=${1:-}
state=${2:-}
if [[ -z "$cmd" || -z "$state" ]]; then
  echo "usage: $0 start|stop|status|kill|restart STATE_DIR [NODE]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
KEFU_BIN=${KEFU_BIN:-$root/build/src/app/kefu}
NODES=${KEFU_CLUSTER_NODES:-2}
FRONT=${KEFU_CLUSTER_FRONT:-proxy}
WORKERS=${KEFU_CLUSTER_WORKERS:-4}
mkdir -p "$state"
state=$(cd "$state" && pwd)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# HTTP status of GET http://127.0.0.1:$1$2 ("000" when nothing answers).
http_status() {
  curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1$2" 2>/dev/null || true
}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_node() {
  local n=$1 dir="$state/node$1" port
  port=$(cat "$dir/port")
  # The first node loads the demo tenant; the others find it in the database.
  (cd "$root" && exec "$KEFU_BIN" serve --config "$dir/kefu.toml" --demo >>"$dir/log" 2>&1) &
  echo $! >"$dir/pid"
  for _ in $(seq 1 600); do
    [[ "$(http_status "$port" /healthz)" == 200 ]] && return 0
    if ! alive "$dir/pid"; then
      echo "cluster: node $n exited; its log:" >&2
      tail -20 "$dir/log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "cluster: node $n did not answer /healthz on port $port in 60 s" >&2
  return 1
}

write_node_config() {
  local n=$1 pg=$2 redis=$3 dir="$state/node$1"
  mkdir -p "$dir/data"
  free_port >"$dir/port"
  cat >"$dir/kefu.toml" <<EOF
# kefu node $n of the cluster in $state (scripts/cluster.sh)
[server]
host = "127.0.0.1"
port = $(cat "$dir/port")
worker_threads = $WORKERS
max_connections_per_ip = 0   # behind haproxy every client has the proxy's address
shutdown_grace_ms = 5000

[storage]
url = "$pg"
data_dir = "$dir/data"
pool_size = 16

[bus]
url = "$redis"
node_id = "node-$n"

[dialogue]
lease_ttl_ms = 5000
lease_wait_ms = 1000
lease_linger_ms = 200
failover_interval_ms = 1000
EOF
}

write_haproxy_config() {
  local front=$1 cfg="$state/haproxy.cfg"
  cat >"$cfg" <<EOF
# scripts/cluster.sh: round robin over the kefu nodes, health-checked on /healthz.
global
  maxconn 4096

defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  timeout tunnel 1h          # WebSockets
  option redispatch
  retries 2
  # A request whose node died before answering goes to another node: messages
  # are idempotent by client_msg_id, so resending a POST is safe here.
  retry-on conn-failure empty-response response-timeout

frontend kefu_front
  bind 127.0.0.1:$front
  default_backend kefu_nodes

backend kefu_nodes
  balance roundrobin
  option httpchk GET /healthz
  http-check expect status 200
  default-server inter 500ms fall 2 rise 2
EOF
  for n in $(seq 1 "$NODES"); do
    echo "  server node$n 127.0.0.1:$(cat "$state/node$n/port") check" >>"$cfg"
  done
}

stop_all() {
  if alive "$state/haproxy.pid"; then kill "$(cat "$state/haproxy.pid")" 2>/dev/null || true; fi
  rm -f "$state/haproxy.pid"
  for dir in "$state"/node*; do
    [[ -d "$dir" ]] || continue
    if alive "$dir/pid"; then
      local pid
      pid=$(cat "$dir/pid")
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/pid"
  done
  if [[ -f "$state/own_pg" ]]; then bash "$root/scripts/pg_temp.sh" stop "$state/pg" || true; fi
  if [[ -f "$state/own_redis" ]]; then bash "$root/scripts/redis_temp.sh" stop "$state/redis" || true; fi
  rm -f "$state/own_pg" "$state/own_redis" "$state/front_url" "$state/node_urls" "$state/pg_url" "$state/redis_url"
}

case "$cmd" in
  start)
    stop_all
    rm -rf "$state"/node*
    if [[ ! -x "$KEFU_BIN" ]]; then
      echo "cluster: $KEFU_BIN not found (build it: ninja -C build kefu)" >&2
      exit 1
    fi
    if [[ "$FRONT" == proxy ]] && ! command -v haproxy >/dev/null; then
      echo "cluster: haproxy not found (scripts/deps.sh installs it); KEFU_CLUSTER_FRONT=none runs without" >&2
      exit 1
    fi
    pg=${KEFU_CLUSTER_PG_URL:-}
    if [[ -z "$pg" ]]; then
      pg=$(bash "$root/scripts/pg_temp.sh" start "$state/pg")
      touch "$state/own_pg"
    fi
    redis=${KEFU_CLUSTER_REDIS_URL:-}
    if [[ -z "$redis" ]]; then
      redis=$(bash "$root/scripts/redis_temp.sh" start "$state/redis")
      touch "$state/own_redis"
    fi
    if [[ -z "$pg" || -z "$redis" ]]; then
      echo "cluster: PostgreSQL or Redis is not installed (scripts/deps.sh)" >&2
      stop_all
      exit 1
    fi
    : >"$state/node_urls"
    for n in $(seq 1 "$NODES"); do
      write_node_config "$n" "$pg" "$redis"
      echo "http://127.0.0.1:$(cat "$state/node$n/port")" >>"$state/node_urls"
    done
    for n in $(seq 1 "$NODES"); do
      start_node "$n" || { stop_all; exit 1; }
    done
    front_url=""
    if [[ "$FRONT" == proxy ]]; then
      front=$(free_port)
      write_haproxy_config "$front"
      haproxy -f "$state/haproxy.cfg" -D -p "$state/haproxy.pid" || { stop_all; exit 1; }
      for _ in $(seq 1 100); do
        [[ "$(http_status "$front" /healthz)" == 200 ]] && break
        sleep 0.1
      done
      front_url="http://127.0.0.1:$front"
    fi
    echo "$front_url" >"$state/front_url"
    echo "$pg" >"$state/pg_url"
    echo "$redis" >"$state/redis_url"
    if [[ -n "$front_url" ]]; then echo "$front_url"; else cat "$state/node_urls"; fi
    ;;
  stop)
    stop_all
    ;;
  status)
    for dir in "$state"/node*; do
      [[ -d "$dir" ]] || continue
      port=$(cat "$dir/port" 2>/dev/null || echo "?")
      if alive "$dir/pid"; then
        echo "$(basename "$dir"): pid $(cat "$dir/pid"), port $port, /healthz $(http_status "$port" /healthz)"
      else
        echo "$(basename "$dir"): not running (port $port)"
      fi
    done
    if alive "$state/haproxy.pid"; then
      echo "haproxy: pid $(cat "$state/haproxy.pid"), front $(cat "$state/front_url")"
    else
      echo "haproxy: not running"
    fi
    echo "postgresql: $(cat "$state/pg_url" 2>/dev/null || echo '?')"
    echo "redis: $(cat "$state/redis_url" 2>/dev/null || echo '?')"
    ;;
  kill)
    n=${3:?node number}
    alive "$state/node$n/pid" || { echo "cluster: node $n is not running" >&2; exit 1; }
    kill -KILL "$(cat "$state/node$n/pid")"
    ;;
  restart)
    n=${3:?node number}
    alive "$state/node$n/pid" && { echo "cluster: node $n is running" >&2; exit 1; }
    start_node "$n"
    ;;
  *)
    echo "usage: $0 start|stop|status|kill|restart STATE_DIR [NODE]" >&2
    exit 2
    ;;
esac
