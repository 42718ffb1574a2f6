#!/usr/bin/env bash
# Soak tests behind the closing note's memory figures (bounded, loopback only).
#   scripts/soak.sh serve MODEL TEST_CSV [MINUTES]  carvision loadtest at 2,000 req/s against serve --model;
#                                                   RSS each minute (the first minute is warm-up)
#   scripts/soak.sh console [MINUTES]              console --demo on the monitor page; RSS each minute, CPU
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$(pwd)/bin/carvision}
W=$(mktemp -d); S="cv-soak-$$"
cleanup() { tmux -L "$S" kill-server 2>/dev/null || true; [ -n "${P:-}" ] && kill "$P" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
cp config.yaml "$W/"
rss() { awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$1/status"; }
case "${1:-}" in
serve)
  model=$2 test=$3 min=${4:-6}
  "$BIN" --config "$W/config.yaml" serve --model "$model" --addr 127.0.0.1:18292 >"$W/serve.log" 2>&1 & P=$!
  until curl -sf 127.0.0.1:18292/ready >/dev/null; do sleep 0.1; done
  echo "idle RSS $(rss $P) MB"
  "$BIN" --config "$W/config.yaml" loadtest --url http://127.0.0.1:18292/predict --rate 2000 --duration "${min}m" --data "$test" >"$W/lt.out" 2>/dev/null & L=$!
  for m in $(seq 1 "$min"); do sleep 60; echo "minute $m RSS $(rss $P) MB"; done
  wait $L; tail -4 "$W/lt.out"
  echo "5xx lines in the log: $(grep -c '"status":5' "$W/serve.log" || true)"
  ;;
console)
  min=${2:-10}
  "$BIN" --config "$W/config.yaml" repro >/dev/null 2>&1; "$BIN" --config "$W/config.yaml" models promote 1 >/dev/null 2>&1
  tmux -L "$S" new-session -d -s "$S" -x 120 -y 40 "cd $W && exec $BIN --config config.yaml console --demo --addr 127.0.0.1:31313"
  sleep 5; P=$(pgrep -f "^$BIN --config config.yaml console" | head -1)
  tmux -L "$S" send-keys -t "$S" 2
  a=$(awk '{print $14+$15}' /proc/$P/stat)
  for m in $(seq 0 "$min"); do echo "minute $m RSS $(rss $P) MB"; [ "$m" -lt "$min" ] && sleep 60; done
  b=$(awk '{print $14+$15}' /proc/$P/stat)
  echo "CPU over $min min: $(awk -v d=$((b-a)) -v hz="$(getconf CLK_TCK)" -v t=$((min*60)) 'BEGIN{printf "%.2f", 100*d/hz/t}')% of one core"
  ;;
*) echo "usage: scripts/soak.sh serve MODEL TEST_CSV [MINUTES] | console [MINUTES]"; exit 2 ;;
esac
