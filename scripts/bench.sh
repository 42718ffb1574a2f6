#!/usr/bin/env bash
# make bench: Go benchmarks plus the comparisons the issues name, in one run,
# on the real data when ../shared/data/vehicles_us.csv exists.
# Output: bench/out/ (ignored by git); the summary is bench/out/summary.md.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/out}
REAL=${REAL_DATA:-../shared/data/vehicles_us.csv}
SHARED_BENCH=${SHARED_BENCH:-../shared/bench}
COUNT=${COUNT:-5}
BIN=bin/carvision
mkdir -p "$OUT"
summary="$OUT/summary.md"
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }

say "# CarVision bench $(date -u +%FT%TZ) on $(nproc) cores"
say ""

if [ "${SKIP_GO:-0}" != 1 ] || [ ! -s "$OUT/go.txt" ]; then
  echo "== Go benchmarks (count $COUNT; medians below)"
  CARVISION_REAL_DATA=$(realpath "$REAL" 2>/dev/null || true) \
    go test -run '^$' -bench . -benchmem -count "$COUNT" -timeout 60m ./engine/... ./tui/... ./runbook/... | tee "$OUT/go.txt"
fi
say "## Go benchmarks (median of $COUNT runs, ns/op)"
say ""
say '```'
# name value pairs, sorted, then the middle value of each name (portable awk).
awk '/^Benchmark/ { for (i = 2; i < NF; i++) if ($(i+1) == "ns/op") print $1, $i }' "$OUT/go.txt" |
  sort -k1,1 -k2,2g |
  awk '{ if ($1 != name) { if (name != "") print name, v[int((n+1)/2)]; name = $1; n = 0 } v[++n] = $2 }
       END { if (name != "") print name, v[int((n+1)/2)] }' |
  awk '{ printf "%-60s %16s\n", $1, $2 }' | tee -a "$summary"
say '```'

if [ ! -f "$REAL" ]; then
  say ""; say "real data not found at $REAL: peer comparisons skipped"; exit 0
fi

echo "== train on the real file (wall, peak RSS)"
rm -rf "$OUT/real"
/usr/bin/time -f '%e %M' -o "$OUT/train.time" "$BIN" train --data "$REAL" --out "$OUT/real" --json >"$OUT/train.json" 2>"$OUT/train.log"
read -r wall rss <"$OUT/train.time"
say ""; say "## carvision train on the real file"
say "wall ${wall}s, peak RSS $((rss/1024)) MB"

echo "== repro: full and no-change"
W=$(mktemp -d)
cp config.yaml "$W/"
mkdir -p "$W/data/raw" && cp "$REAL" "$W/data/raw/vehicles_us.csv"
/usr/bin/time -f '%e' -o "$OUT/repro_full.time" "$BIN" --config "$W/config.yaml" repro --json >/dev/null 2>&1
full=$(cat "$OUT/repro_full.time")
nochange=()
for i in 1 2 3 4 5 6 7; do
  s=$(date +%s%N); "$BIN" --config "$W/config.yaml" repro >/dev/null 2>&1; e=$(date +%s%N)
  nochange+=($(( (e-s)/1000000 )))
done
med=$(printf '%s\n' "${nochange[@]}" | sort -n | sed -n 4p)
say "repro full ${full}s; repro with nothing changed median ${med} ms (7 runs incl. process start)"
rm -rf "$W"

if [ -x "$SHARED_BENCH/setup_peers.sh" ]; then
  echo "== peers on our split"
  "$SHARED_BENCH/setup_peers.sh" || true
  /usr/bin/python3 "$SHARED_BENCH/peers_on_split.py" --train "$OUT/real/processed/train.csv" \
    --valid "$OUT/real/processed/valid.csv" --test "$OUT/real/processed/test.csv" \
    --models rf,hgb,xgb,lgbm --threads 2 --json "$OUT/peers.jsonl" | tee "$OUT/peers.md"
  say ""; say "## peers on our split (train+valid → test)"; cat "$OUT/peers.md" >>"$summary"
  echo "== ours on the same split, peer shape (100 trees x 31 leaves, no early stopping, 2 threads)"
  "$BIN" bench-fit --train "$OUT/real/processed/train.csv" --valid "$OUT/real/processed/valid.csv" \
    --test "$OUT/real/processed/test.csv" --peers "$OUT/peers.jsonl" | tee -a "$summary"
fi

if [ -x "$SHARED_BENCH/http_compare.sh" ] && command -v wrk >/dev/null; then
  echo "== HTTP: FastAPI + XGBoost peer vs carvision serve"
  PORT=18080
  "$BIN" serve --model "$OUT/real/model.cvm" --addr 127.0.0.1:$PORT >"$OUT/serve.log" 2>&1 &
  SPID=$!
  trap 'kill $SPID 2>/dev/null || true' EXIT
  for i in $(seq 50); do curl -sf http://127.0.0.1:$PORT/ready >/dev/null && break; sleep 0.1; done
  PEER_TRAIN="$OUT/real/processed/train.csv" PEER_VALID="$OUT/real/processed/valid.csv" OUT="$OUT/http" \
    "$SHARED_BENCH/http_compare.sh" 18099 "http://127.0.0.1:$PORT/predict" | tee "$OUT/http.txt"
  rss=$(awk '/VmHWM/ {print $2}' /proc/$SPID/status)
  echo "== HTTP: the machine's floor under the same wrk command"
  ROUNDS=${FLOOR_ROUNDS:-3} SHARED_BENCH="$SHARED_BENCH" scripts/http_floor.sh "http://127.0.0.1:$PORT/predict" | tee "$OUT/http_floor.txt"
  echo "== HTTP: open loop at the rates a client would send"
  for rate in 2000 5000; do
    "$BIN" loadtest --url "http://127.0.0.1:$PORT/predict" --data "$OUT/real/processed/test.csv" --rate $rate --duration 15s --json \
      >"$OUT/open_$rate.json"
  done
  kill $SPID; wait $SPID 2>/dev/null || true
  say ""; say "## HTTP /predict vs the FastAPI peer"; say '```'; cat "$OUT/http.txt" >>"$summary"; say '```'
  say "server peak RSS under load: $((rss/1024)) MB"
  say ""; say "### the same wrk command against a constant-body net/http server and nginx (the floor)"
  say '```'; cat "$OUT/http_floor.txt" >>"$summary"; say '```'
  say ""; say "### open loop (carvision loadtest --rate, held-out listings, 15 s)"
  for rate in 2000 5000; do
    say "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("rate %s: %d requests, %d non-2xx, p50 %.2f ms, p99 %.2f ms, max %.2f ms" % (sys.argv[2], d["requests"], d["non_2xx"] + d["errors"], d["p50_ms"], d["p99_ms"], d["max_ms"]))' "$OUT/open_$rate.json" $rate)"
  done
fi
if command -v tmux >/dev/null; then
  echo "== console and SSH"
  say ""; say "## console and SSH"; say '```'
  scripts/bench_console.sh 2>&1 | tee -a "$summary"
  say '```'
fi
echo "summary: $summary"
