#!/usr/bin/env bash
# make e2e: drive the real console in tmux at 120x40 as an operator would —
# start it with demo traffic on a fresh project (synthetic default), visit
# every page by key, submit a prediction, wait for a graph to move, quit —
# reading the screen at each step. Then the same over SSH (scripts/e2e_ssh.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN="$ROOT/bin/carvision"
[ -x "$BIN" ] || { echo "e2e: build first (make build)"; exit 2; }
command -v tmux >/dev/null || { echo "e2e: tmux is missing (apt-get install tmux)"; exit 2; }

W=$(mktemp -d)
S="carvision-e2e-$$"
PORT=$((20000 + RANDOM % 20000))
cleanup() { tmux -L "$S" kill-server 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
cp config.yaml "$W/config.yaml"

fail() {
  echo "e2e FAIL: $*"
  echo "----- screen -----"; tmux -L "$S" capture-pane -p -t "$S" 2>/dev/null || true
  echo "----- log -----"; tail -20 "$W/logs/carvision.log" 2>/dev/null || true
  exit 1
}
screen() { tmux -L "$S" capture-pane -p -t "$S"; }
# wait_for TEXT [SECONDS]: poll the screen until TEXT shows (bounded).
wait_for() {
  local text=$1 limit=${2:-15} i
  for ((i = 0; i < limit * 10; i++)); do
    screen | grep -qF -- "$text" && return 0
    sleep 0.1
  done
  fail "waited ${limit}s for: $text"
}
# wait_gone TEXT [SECONDS]: poll the screen until TEXT is no longer shown.
wait_gone() {
  local text=$1 limit=${2:-15} i
  for ((i = 0; i < limit * 10; i++)); do
    screen | grep -qF -- "$text" || return 0
    sleep 0.1
  done
  fail "waited ${limit}s for this to go: $text"
}
keys() { tmux -L "$S" send-keys -t "$S" "$@"; }

echo "e2e: console on a fresh project in $W (port $PORT)"
tmux -L "$S" new-session -d -s "$S" -x 120 -y 40 \
  "cd '$W' && '$BIN' --config config.yaml console --demo --addr 127.0.0.1:$PORT; echo CONSOLE-EXIT=\$?; sleep 30"
# The first start trains on the synthetic default, then opens the console.
wait_for "CarVision" 180
wait_for "healthy" 60
wait_for "Recent events" 20
echo "e2e: overview ok"

pages=("2:p95" "3:Drift" "4:enter edits the listing" "5:Pipeline" "6:Models" "7:Logs" "8:config.yaml" "9:Runbooks" "0:Market" "1:Recent events")
for p in "${pages[@]}"; do
  k=${p%%:*}; text=${p#*:}
  keys "$k"
  wait_for "$text" 10
  echo "e2e: page $k ok ($text)"
done

# Predict: the model choice filters as one types; empty fields stay missing.
keys 4
wait_for "enter edits the listing"
keys Enter
keys -l "f-150"
keys Tab
keys -l "2015"
keys Tab
keys -l "88000"
keys C-s
wait_for "for ford f-150" 10
echo "e2e: prediction ok: $(screen | grep -o '\$[0-9,]*' | head -1)"

# Config edits on disk are picked up by the watcher: a broken file is shown
# with its line while the old config stays in force; the fixed file applies.
keys 8
wait_for "config.yaml" 5
cp "$W/config.yaml" "$W/config.good"
sed -i 's/^  strict_fields: true/  strict_fields: maybe/' "$W/config.yaml"
grep -q "strict_fields: maybe" "$W/config.yaml" || fail "could not break config.yaml for the reload check"
wait_for "invalid at line" 10
wait_for "stays in force" 5
echo "e2e: broken config refused: $(screen | grep -o 'invalid at line [0-9]*' | head -1)"
cp "$W/config.good" "$W/config.yaml"
wait_gone "invalid at line" 10
wait_for "valid · " 5
echo "e2e: fixed config applied"

# The monitor's graph moves as demo traffic flows.
keys 2
wait_for "p95" 5
before=$(screen | md5sum)
moved=0
for i in $(seq 1 100); do
  sleep 0.2
  if [ "$(screen | md5sum)" != "$before" ]; then moved=1; break; fi
done
[ $moved = 1 ] || fail "the monitor page did not change in 20s of demo traffic"
echo "e2e: monitor moves"

# The alert rules are evaluated (every alerts.eval_interval) against live latency.
keys 1
wait_for "latency_p95_high" 5
wait_gone "0.00 ms > 500 ms" 30
echo "e2e: alerts evaluated: $(screen | grep -o 'latency_p95_high *[0-9.]* ms' | head -1)"

keys q
for i in $(seq 1 50); do
  screen | grep -q "CONSOLE-EXIT=" && break
  # a confirmation may be asked while a task runs
  screen | grep -qi "quit?" && keys y
  sleep 0.1
done
screen | grep -q "CONSOLE-EXIT=0" || fail "console did not exit cleanly"
echo "e2e: console quit cleanly"

if [ -x scripts/e2e_ssh.sh ] && [ "${E2E_SKIP_SSH:-0}" != 1 ]; then
  scripts/e2e_ssh.sh
fi
echo "e2e: all passed"
