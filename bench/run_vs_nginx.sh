#!/usr/bin/env bash
# kefu beside a static nginx, driven by the same load tool (issue 16, item 3).
#
# Starts a static nginx on a free loopback port (its own temporary prefix and
# config, no system service) and, per measurement, a fresh kefu server with the
# demo tenant, then drives both with bench/kefu_loadgen: the same number of
# keep-alive HTTP/1.1 connections for the same time. nginx serves a 612-byte
# static page (GET, --mode http-get); kefu answers a bot turn (POST
# /v1/conversations/{id}/messages, which returns the reply, --mode http-turn;
# each connection owns one conversation). Prints req/s, p50/p99, server CPU per
# request and the ratio kefu/nginx.
#
#   bench/run_vs_nginx.sh                       # closed loop, -c 50 -s 10, 2 rounds
#   bench/run_vs_nginx.sh -c 50 -s 12 --rounds 3
#   bench/run_vs_nginx.sh --rate 1500 -c 500    # open loop: p99 at a fixed rate (WebSocket
#                                               # conversations, --kefu-mode to change)
#   KEFU_BUILDS="/work/wt-base/build build" bench/run_vs_nginx.sh   # A/B: builds alternate,
#                                               # nginx measured in every round
#
# Environment: KEFU_BUILDS (kefu build dirs, default $KEFU_BUILD_DIR or build),
# KEFU_LOADGEN (default: the first build's bench/kefu_loadgen), NGINX_WORKERS
# (default 2: the development machine's cores), NGINX (default nginx from PATH;
# scripts/deps.sh installs nginx-light). When wrk is installed the script also
# prints wrk's figure against the same nginx, as the ceiling of the load tool.
set -euo pipefail
cd "$(dirname "$0")/.."

conns=50 seconds=10 warmup=2 rounds=2 rate=0 kefu_mode="" threads=1
while (($#)); do
  case "$1" in
    -c) conns=$2; shift 2 ;;
    -s) seconds=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --kefu-mode) kefu_mode=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ -z "$kefu_mode" ]] && { [[ "$rate" != 0 ]] && kefu_mode=ws || kefu_mode=http-turn; }

read -r -a builds <<< "${KEFU_BUILDS:-${KEFU_BUILD_DIR:-build}}"
loadgen=${KEFU_LOADGEN:-${builds[0]}/bench/kefu_loadgen}
[[ -n "${KEFU_LOADGEN:-}" ]] || cmake --build "${builds[0]}" --target kefu_loadgen >/dev/null  # built on demand
nginx_bin=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
for b in "${builds[@]}"; do [[ -x "$b/src/app/kefu" ]] || { echo "no $b/src/app/kefu" >&2; exit 1; }; done
[[ -x "$loadgen" ]] || { echo "no $loadgen (ninja kefu_loadgen)" >&2; exit 1; }
[[ -x "$nginx_bin" ]] || { echo "no nginx: run scripts/deps.sh" >&2; exit 1; }

tmp=$(mktemp -d)
nginx_pid="" kefu_pid=""
cleanup() {
  [[ -n "$kefu_pid" ]] && { kill "$kefu_pid" 2>/dev/null || true; wait "$kefu_pid" 2>/dev/null || true; }
  [[ -n "$nginx_pid" ]] && { kill -QUIT "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; }
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- static nginx ---------------------------------------------------------
mkdir -p "$tmp/nginx/www" "$tmp/nginx/logs"
python3 - "$tmp/nginx/www/index.html" <<'EOF'
import sys
# The size of nginx's own welcome page (612 bytes), the usual static benchmark.
body = "<!DOCTYPE html>\n<html><head><title>static</title></head><body>\n"
body += "<p>" + "x" * (612 - len(body) - len("<p></p>\n</body></html>\n")) + "</p>\n</body></html>\n"
open(sys.argv[1], "w").write(body)
EOF
# nginx started as root serves as an unprivileged user: let it read the page.
chmod a+rx "$tmp" "$tmp/nginx" "$tmp/nginx/www"; chmod a+r "$tmp/nginx/www/index.html"
nginx_port=$(free_port)
cat > "$tmp/nginx/nginx.conf" <<EOF
daemon off;
worker_processes ${NGINX_WORKERS:-2};
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  client_body_temp_path $tmp/nginx/tmp_body;
  proxy_temp_path $tmp/nginx/tmp_proxy;
  fastcgi_temp_path $tmp/nginx/tmp_fastcgi;
  uwsgi_temp_path $tmp/nginx/tmp_uwsgi;
  scgi_temp_path $tmp/nginx/tmp_scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $tmp/nginx/www;
  }
}
EOF
"$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log" &
nginx_pid=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/index.html" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/index.html" ||
  { echo "nginx does not serve the page:" >&2; tail -3 "$tmp/nginx/logs/error.log" >&2; exit 1; }
nginx_pids() { echo "$nginx_pid$(pgrep -P "$nginx_pid" | sed 's/^/,/' | tr -d '\n')"; }

# --- kefu -------------------------------------------------------------------
start_kefu() {  # $1 = build dir; sets kefu_pid, kefu_port
  rm -rf "$tmp/kefu"; mkdir -p "$tmp/kefu"
  # All the load comes from one address (127.0.0.1): no per-address connection cap.
  KEFU_LOG_LEVEL=warn KEFU_SERVER_MAX_CONNECTIONS_PER_IP=0 "$1/src/app/kefu" serve --demo --port 0 --data-dir "$tmp/kefu" --port-file "$tmp/kefu/port" \
    > "$tmp/kefu.log" 2>&1 &
  kefu_pid=$!
  for _ in $(seq 300); do [[ -s "$tmp/kefu/port" ]] && break; sleep 0.1; done
  [[ -s "$tmp/kefu/port" ]] || { echo "kefu did not start" >&2; cat "$tmp/kefu.log" >&2; exit 1; }
  kefu_port=$(cat "$tmp/kefu/port")
}
stop_kefu() { kill "$kefu_pid" 2>/dev/null || true; wait "$kefu_pid" 2>/dev/null || true; kefu_pid=""; }
label() { echo "kefu $(basename "$(cd "$1" && cd .. && pwd)")/$(basename "$1")"; }  # kefu wt-perf/build

results="$tmp/results.tsv"
: > "$results"
run() {  # $1 = label, $2 = json out, rest = loadgen args
  local label=$1 out=$2; shift 2
  if "$loadgen" --threads "$threads" -s "$seconds" --warmup "$warmup" --json "$out" "$@" > "$out.txt" 2>&1; then :; else
    echo "  ($label: load generator reported errors)" >&2; tail -3 "$out.txt" >&2
  fi
  python3 - "$label" "$out" >> "$results" <<'EOF'
import json, sys
j = json.load(open(sys.argv[2]))
print("\t".join(str(x) for x in [sys.argv[1], j["mode"], round(j["turns_per_s"]), round(j["p50_ms"], 2),
      round(j["p99_ms"], 2), round(j.get("server_cpu_us_per_turn", -1), 1), j["errors"],
      round(j.get("kib_per_idle_conversation", 0), 1), j.get("late_sends", 0)]))
EOF
  tail -1 "$results" | awk -F'\t' '{printf "  %-22s %-9s %8s req/s  p50 %7s ms  p99 %7s ms  CPU %7s us/req  errors %s\n", $1, $2, $3, $4, $5, $6, $7}'
}

echo "load: $conns connections, ${seconds}s (+${warmup}s warm-up), $rounds round(s); nginx workers ${NGINX_WORKERS:-2};" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
if [[ "$rate" == 0 ]]; then
  for ((r = 1; r <= rounds; r++)); do
    echo "round $r"
    run "nginx static GET" "$tmp/n$r.json" --mode http-get --path /index.html --port "$nginx_port" -c "$conns" \
      --server-pid "$(nginx_pids)"
    for b in "${builds[@]}"; do
      start_kefu "$b"
      run "$(label "$b")" "$tmp/k$r-${b//\//_}.json" --mode "$kefu_mode" --port "$kefu_port" -c "$conns" \
        --server-pid "$kefu_pid"
      stop_kefu
    done
  done
  if command -v wrk >/dev/null; then
    w=$(wrk -t1 -c "$conns" -d "${seconds}s" "http://127.0.0.1:$nginx_port/index.html" | awk '/Requests\/sec/ {print $2}')
    echo "  reference: wrk -t1 -c $conns against the same nginx: ${w} req/s (the load tool's own ceiling differs)"
  fi
  echo
  python3 - "$results" <<'EOF'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows: by.setdefault(r[0], []).append(r)
nginx = [float(r[2]) for r in by.get("nginx static GET", [])]
print("summary (median of rounds)        req/s     p50 ms    p99 ms  CPU us/req   kefu/nginx req/s (per round)")
for label, rs in by.items():
    rps = statistics.median(float(r[2]) for r in rs)
    line = "  %-28s %8.0f %10.2f %9.2f %11.1f" % (label, rps, statistics.median(float(r[3]) for r in rs),
            statistics.median(float(r[4]) for r in rs), statistics.median(float(r[5]) for r in rs))
    if label != "nginx static GET" and nginx:
        ratios = [float(k[2]) / float(n) for k, n in zip(rs, nginx)]
        line += "   %5.2f %% (%s)" % (100 * statistics.median(ratios), ", ".join("%.2f %%" % (100 * x) for x in ratios))
        cpu_n = statistics.median(float(r[5]) for r in by["nginx static GET"])
        cpu_k = statistics.median(float(r[5]) for r in rs)
        if cpu_n > 0 and cpu_k > 0:
            line += "; by CPU per request %.2f %%" % (100 * cpu_n / cpu_k)
    print(line)
print("(req/s on a shared machine moves with whatever else runs; CPU per request is the steadier figure)")
EOF
else
  # Open loop: kefu at a fixed rate over $conns conversations, nginx at the same rate beside it.
  for ((r = 1; r <= rounds; r++)); do
    echo "round $r (open loop, $rate/s offered)"
    run "nginx static GET" "$tmp/n$r.json" --mode http-get --path /index.html --port "$nginx_port" -c "$conns" \
      --rate "$rate" --server-pid "$(nginx_pids)"
    for b in "${builds[@]}"; do
      start_kefu "$b"
      run "$(label "$b")" "$tmp/k$r-${b//\//_}.json" --mode "$kefu_mode" --port "$kefu_port" -c "$conns" \
        --rate "$rate" --server-pid "$kefu_pid"
      stop_kefu
    done
  done
  echo
  python3 - "$results" "$rate" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
rate = float(sys.argv[2])
for r in rows:
    if r[0].startswith("kefu"):
        met = float(r[4]) < 20 and float(r[2]) >= 0.98 * rate and r[6] == "0"
        print("  %-22s served %s/s of %.0f offered, p99 %s ms, %s late sends, %s KiB per idle conversation: p99 < 20 ms %s"
              % (r[0], r[2], rate, r[4], r[8], r[7], "yes" if met else "NO"))
print("(issue 16's target: p99 < 20 ms at 1,500 turns/s over 500 conversations, -c 500 --rate 1500)")
EOF
fi
