#!/usr/bin/env bash
# The HTTP latency floor of this machine next to `carvision serve`, in one run.
#
#   scripts/http_floor.sh GO_URL
#
# GO_URL is http://127.0.0.1:PORT/predict of a running `carvision serve`. The
# same bounded command as ../shared/bench/http_compare.sh (wrk -t2 -c16 -d10s,
# after a 3 s warm-up, body from predict.lua) is aimed, in ROUNDS interleaved
# rounds, at:
#   ours     the service under test
#   floor    bench/httpfloor: net/http answering a constant body (no model)
#   nginx    nginx `return 200` with a constant body, when nginx is installed
# and the medians of p50, p90, p99 and req/s are printed. On a machine where
# wrk and the server share few cores, the floor's p99 is the scheduler's share
# of the tail: no handler can answer faster than a constant one.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED_BENCH=${SHARED_BENCH:-../shared/bench}
ROUNDS=${ROUNDS:-3}
LUA=$SHARED_BENCH/predict.lua
die() { echo "http_floor: $*" >&2; exit 2; }
[ $# -eq 1 ] || die "usage: $0 http://127.0.0.1:PORT/predict"
[[ $1 =~ ^http://127\.0\.0\.1:[0-9]+/ ]] || die "GO_URL must be http://127.0.0.1:PORT/..., got '$1'"
command -v wrk >/dev/null || die "wrk is missing (../shared/bench/setup_peers.sh installs it)"
[ -f "$LUA" ] || die "no $LUA"

W=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

declare -A URL=([ours]=$1)
go build -o "$W/httpfloor" ./bench/httpfloor
"$W/httpfloor" --addr 127.0.0.1:18097 & pids+=($!)
URL[floor]=http://127.0.0.1:18097/predict
targets=(ours floor)
if command -v nginx >/dev/null; then
  mkdir -p "$W/ngx"
  cat >"$W/nginx.conf" <<CONF
worker_processes 2;
daemon on;
pid $W/nginx.pid;
error_log $W/ngx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $W/ngx;
  proxy_temp_path $W/ngx; fastcgi_temp_path $W/ngx; uwsgi_temp_path $W/ngx; scgi_temp_path $W/ngx;
  server {
    listen 127.0.0.1:18096;
    location / { default_type application/json;
      return 200 '{"predicted_price":18558.67,"warnings":[],"model_version":"m-floor","request_id":"00000000-00000001","latency_ms":0.1}'; }
  }
}
CONF
  if nginx -c "$W/nginx.conf" -p "$W" 2>"$W/nginx.err"; then
    URL[nginx]=http://127.0.0.1:18096/predict; targets+=(nginx)
  else
    echo "http_floor: nginx did not start: $(head -c 200 "$W/nginx.err")" >&2
  fi
fi
for t in "${targets[@]}"; do
  for i in $(seq 50); do curl -s -o /dev/null -XPOST -H 'Content-Type: application/json' -d '{}' "${URL[$t]}" && break; sleep 0.1; done
done

# wrk's latency to milliseconds: 312.00us, 1.2ms, 1.01s
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }
for r in $(seq "$ROUNDS"); do
  for t in "${targets[@]}"; do
    timeout 60 wrk -t2 -c16 -d3s -s "$LUA" "${URL[$t]}" >/dev/null 2>&1 || true
    timeout 60 wrk -t2 -c16 -d10s --latency -s "$LUA" "${URL[$t]}" >"$W/$t.$r.txt" 2>&1 || die "wrk against ${URL[$t]} failed"
    p50=$(awk '$1=="50%" {print $2}' "$W/$t.$r.txt"); p90=$(awk '$1=="90%" {print $2}' "$W/$t.$r.txt")
    p99=$(awk '$1=="99%" {print $2}' "$W/$t.$r.txt"); rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' "$W/$t.$r.txt")
    bad=$(awk '/Non-2xx/ {print $NF}' "$W/$t.$r.txt"); bad=${bad:-0}
    echo "$t $(ms "$p50") $(ms "$p90") $(ms "$p99") $rps $bad" >>"$W/rows"
  done
done
med() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf '%-6s %10s %10s %10s %10s %8s   (median of %d rounds of wrk -t2 -c16 -d10s)\n' target p50_ms p90_ms p99_ms req/s non2xx "$ROUNDS"
for t in "${targets[@]}"; do
  printf '%-6s %10s %10s %10s %10s %8s\n' "$t" \
    "$(awk -v t="$t" '$1==t {print $2}' "$W/rows" | med)" "$(awk -v t="$t" '$1==t {print $3}' "$W/rows" | med)" \
    "$(awk -v t="$t" '$1==t {print $4}' "$W/rows" | med)" "$(awk -v t="$t" '$1==t {print $5}' "$W/rows" | med)" \
    "$(awk -v t="$t" '$1==t {s += $6} END {print s}' "$W/rows")"
done
