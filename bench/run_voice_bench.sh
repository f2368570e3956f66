#!/usr/bin/env bash
# The voice channel's benchmark (issue 17; docs/voice.md "Latency and capacity"):
# starts kefu with the demo tenant and the embedded engines (pocketsphinx,
# espeak-ng) pinned to two cores, speaks five English customer questions with
# espeak-ng, and drives voice calls with kefu_voice_bench:
#   1. one call, endpointer mode (the customer stops talking; no button), real time:
#      end of speech → transcript → reply text → first reply audio, p50/p95;
#   2. push-to-talk, 1, 2, 4, 6, 8 concurrent calls in real time: the
#      recogniser's real-time factor (end_of_turn → transcript over the
#      utterance's length) while the calls talk at once, and the server's CPU
#      time per call-second (what bounds the calls two cores carry, whatever
#      else runs on the machine; the load average is printed after each run).
#   bench/run_voice_bench.sh [--cores 0,1] [--turns 10] [--levels "1 2 4 6 8"]
# Recognition streams while the customer speaks (voice.streaming_asr, the
# default); KEFU_VOICE_STREAMING_ASR=false in the environment measures the
# whole-utterance path instead.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${KEFU_BUILD_DIR:-build}
cmake --build "$BUILD_DIR" --target kefu_voice_bench >/dev/null  # benches are built on demand
cores=0,1
turns=10
levels="1 2 4 6 8"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cores) cores=$2; shift 2 ;;
    --turns) turns=$2; shift 2 ;;
    --levels) levels=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
kefu="$BUILD_DIR/src/app/kefu"
bench="$BUILD_DIR/bench/kefu_voice_bench"
tmp=$(mktemp -d)
pid=
trap '[[ -n "$pid" ]] && { kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; }; rm -rf "$tmp"' EXIT

i=0
for q in "Where is my parcel?" "I want to return these shoes." "How long does a refund take?" \
         "Can I change my delivery address?" "Do you ship to Hong Kong?"; do
  i=$((i + 1))
  "$kefu" tts "$q" --voice en-us+klatt2 -o "$tmp/q$i.wav" >/dev/null
done

cat >"$tmp/kefu.toml" <<EOF
[asr]
engine = "pocketsphinx"
decoders = 2
[tts]
engine = "espeak"
[voice]
workers = 4
max_sessions = 64
EOF
KEFU_LOG_LEVEL=warn taskset -c "$cores" "$kefu" serve --config "$tmp/kefu.toml" --demo --port 0 \
  --data-dir "$tmp/data" --port-file "$tmp/port" &
pid=$!
for _ in $(seq 300); do [[ -s "$tmp/port" ]] && break; sleep 0.1; done
port=$(cat "$tmp/port")
echo "kefu on port $port, pinned to cores $cores ($(nproc) online here), streaming_asr=${KEFU_VOICE_STREAMING_ASR:-true}"

echo "== one call, endpointer, real time, $turns turns"
"$bench" --port "$port" --server-pid "$pid" --turns "$turns" --json "$tmp"/q*.wav | tail -7
uptime
for c in $levels; do
  echo "== $c concurrent calls, push-to-talk, real time, $turns turns each"
  "$bench" --port "$port" --server-pid "$pid" --calls "$c" --turns "$turns" --push-to-talk --json "$tmp"/q*.wav | tail -8
  uptime
done
