#!/usr/bin/env bash
# Console and SSH figures for the closing note (part of make bench):
# launch-to-first-frame with an existing champion, CPU of an idle console and
# with demo traffic, RSS over time, and N concurrent SSH sessions on the
# monitor page. Bounded in time; loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(pwd)/bin/carvision
DUR=${DUR:-30}
SESSIONS=${SESSIONS:-20}
W=$(mktemp -d)
S="cv-bench-$$"
cleanup() { tmux -L "$S" kill-server 2>/dev/null || true; [ -n "${SPID:-}" ] && kill "$SPID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
cp config.yaml "$W/"
"$BIN" --config "$W/config.yaml" repro >/dev/null 2>&1
"$BIN" --config "$W/config.yaml" models promote 1 >/dev/null 2>&1
screen() { tmux -L "$S" capture-pane -p -t "$S" 2>/dev/null || true; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

# launch to first frame (champion exists, so no training)
port=$((30000 + RANDOM % 20000))
t0=$(date +%s%N)
tmux -L "$S" new-session -d -s "$S" -x 120 -y 40 "cd $W && exec $BIN --config config.yaml console --addr 127.0.0.1:$port"
until screen | grep -q "Recent events"; do sleep 0.01; done
t1=$(date +%s%N)
echo "console: launch to first frame $(( (t1 - t0) / 1000000 )) ms"
pid=$(pgrep -f "^$BIN --config config.yaml console" | head -1)
a=$(cpu_ticks "$pid"); sleep "$DUR"; b=$(cpu_ticks "$pid")
echo "console: idle CPU $(awk -v d=$((b-a)) -v hz=$hz -v t=$DUR 'BEGIN{printf "%.2f", 100*d/hz/t}')% of one core over ${DUR}s, RSS $(rss_mb "$pid") MB"
tmux -L "$S" send-keys -t "$S" ":demo on" Enter
sleep 3
a=$(cpu_ticks "$pid"); r0=$(rss_mb "$pid"); sleep "$DUR"; b=$(cpu_ticks "$pid")
echo "console: with demo traffic CPU $(awk -v d=$((b-a)) -v hz=$hz -v t=$DUR 'BEGIN{printf "%.2f", 100*d/hz/t}')% of one core (engine + API + console in one process), RSS $r0 → $(rss_mb "$pid") MB over ${DUR}s"
tmux -L "$S" kill-server

# SSH: N sessions on the monitor page with demo traffic
command -v ssh >/dev/null || { echo "ssh: no OpenSSH client, skipped"; exit 0; }
ssh-keygen -q -t ed25519 -N '' -C bench -f "$W/key"
echo "environment=\"CARVISION_ROLE=viewer\" $(cat "$W/key.pub")" >"$W/keys"
sp=$((30000 + RANDOM % 20000)); ap=$((sp + 1))
"$BIN" --config "$W/config.yaml" serve --demo --addr "127.0.0.1:$ap" --ssh "127.0.0.1:$sp" --authorized-keys "$W/keys" --host-key "$W/hk" >"$W/serve.log" 2>&1 &
SPID=$!
until (exec 3<>/dev/tcp/127.0.0.1/$sp) 2>/dev/null; do sleep 0.05; done
sleep 2
base=$(rss_mb "$SPID")
tmux -L "$S" new-session -d -s "$S" -x 120 -y 40
for i in $(seq 1 "$SESSIONS"); do
  tmux -L "$S" new-window -t "$S" "ssh -tt -i $W/key -p $sp -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR ops@127.0.0.1"
done
sleep 5
for i in $(seq 1 "$SESSIONS"); do tmux -L "$S" send-keys -t "$S:$i" 2; done
sleep 3
a=$(cpu_ticks "$SPID"); sleep "$DUR"; b=$(cpu_ticks "$SPID")
after=$(rss_mb "$SPID")
# redraw rate: screens change at least once a second on the monitor page
moved=0
for i in $(seq 1 "$SESSIONS"); do
  x=$(tmux -L "$S" capture-pane -p -t "$S:$i" | md5sum); sleep 1.1; y=$(tmux -L "$S" capture-pane -p -t "$S:$i" | md5sum)
  [ "$x" != "$y" ] && moved=$((moved+1))
done
echo "ssh: $SESSIONS sessions on the monitor page with demo traffic: server RSS $base → $after MB ($(awk -v a=$base -v b=$after -v n=$SESSIONS 'BEGIN{printf "%.2f", (b-a)/n}') MB/session), CPU $(awk -v d=$((b-a)) -v hz=$hz -v t=$DUR 'BEGIN{printf "%.1f", 100*d/hz/t}')% of one core, $moved/$SESSIONS sessions redrew within 1.1 s"
