#!/usr/bin/env bash
# e2e_ssh.sh: the console over SSH with the real OpenSSH client, inside tmux.
#
#   1. generate an operator key pair and an unknown key in a temp folder;
#   2. start `carvision serve --ssh` on loopback with that authorized_keys;
#   3. in tmux (120x40): ssh -tt into the console, wait for its header, visit
#      pages 1..8 checking each screen, submit a prediction, quit with q
#      (ssh must exit 0);
#   4. ssh with the unknown key: exit 255 and "Permission denied";
#   5. the host key was created with mode 600, and the audit trail names both
#      keys' fingerprints.
#
# Every wait polls with a bound; nothing sleeps longer than one poll interval.
# Environment: CARVISION_BIN (default bin/carvision, built if missing),
# E2E_TIMEOUT (seconds per wait, default 30), E2E_SKIP_AUDIT=1 to skip step 5's
# audit check, E2E_SKIP_PREDICT=1 to skip the prediction, E2E_KEEP=1 to keep
# the temp folder, PAGE_MARKERS_<n> to override the text expected on page n.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${CARVISION_BIN:-bin/carvision}
WAIT=${E2E_TIMEOUT:-30}
POLL=0.2
W=120
H=40

# Text expected on each page besides its title (a grep -E pattern).
declare -A MARK=(
	[1]="Recent events|Now vs SLO"
	[2]="Latency|Traffic"
	[3]="Features by|verdict"
	[4]="Predict"
	[5]="Pipeline|Launch a retrain"
	[6]="version|RMSE"
	[7]="Logs"
	[8]="Config"
)
declare -A TITLE=([1]=Overview [2]=Monitor [3]=Drift [4]=Predict [5]=Retrain [6]=Models [7]=Logs [8]=Config)
for n in "${!MARK[@]}"; do
	v="PAGE_MARKERS_$n"
	[ -n "${!v:-}" ] && MARK[$n]=${!v}
done

say() { printf '%s e2e-ssh: %s\n' "$(date +%T)" "$*"; }
fail() {
	say "FAIL: $*"
	if [ -n "${TMUX_SOCK:-}" ] && tmux -L "$TMUX_SOCK" has-session 2>/dev/null; then
		echo "---- screen ----"
		tmux -L "$TMUX_SOCK" capture-pane -p -t e2e 2>/dev/null || true
	fi
	if [ -s "${TMP:-/nonexistent}/serve.log" ]; then
		echo "---- server log (last 40 lines) ----"
		tail -n 40 "$TMP/serve.log"
	fi
	exit 1
}

need() {
	local cmd=$1 pkg=$2
	command -v "$cmd" >/dev/null 2>&1 && return
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		say "installing $pkg"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null ||
			{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null; }
	fi
	command -v "$cmd" >/dev/null 2>&1 || fail "$cmd is missing (install $pkg)"
}
need ssh openssh-client
need ssh-keygen openssh-client
need tmux tmux

if [ ! -x "$BIN" ]; then
	say "building $BIN"
	go build -o "$BIN" ./cmd/carvision
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/carvision-e2e-ssh.XXXXXX")
TMUX_SOCK="carvision-e2e-ssh-$$"
SERVER_PID=""
cleanup() {
	local rc=$?
	tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep "$POLL"; done
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	if [ "${E2E_KEEP:-0}" = 1 ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
	exit $rc
}
trap cleanup EXIT INT TERM

# polls runs "$@" every POLL seconds until it succeeds or WAIT seconds pass.
polls() {
	local tries
	tries=$(awk -v w="$WAIT" -v p="$POLL" 'BEGIN { print int(w / p) }')
	for _ in $(seq 1 "$tries"); do
		"$@" && return 0
		sleep "$POLL"
	done
	return 1
}

free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
		return
	fi
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	fail "no free port"
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
server_alive() { kill -0 "$SERVER_PID" 2>/dev/null || fail "carvision serve exited (see its log)"; }

# ---- keys ----
ssh-keygen -q -t ed25519 -N '' -C "e2e-operator@carvision" -f "$TMP/key"
ssh-keygen -q -t ed25519 -N '' -C "e2e-stranger@nowhere" -f "$TMP/unknown"
printf 'environment="CARVISION_ROLE=operator" %s\n' "$(cat "$TMP/key.pub")" >"$TMP/authorized_keys"
KEY_FP=$(ssh-keygen -lf "$TMP/key.pub" | awk '{print $2}')
UNKNOWN_FP=$(ssh-keygen -lf "$TMP/unknown.pub" | awk '{print $2}')

# ---- a fresh project with a champion (serve never trains by itself) ----
mkdir -p "$TMP/proj"
cp config.yaml "$TMP/proj/config.yaml"
CONF="$TMP/proj/config.yaml"
"$BIN" --config "$CONF" repro >"$TMP/repro.log" 2>&1 || fail "repro failed (see $TMP/repro.log)"
"$BIN" --config "$CONF" models promote 1 >>"$TMP/repro.log" 2>&1 || fail "promote failed"
say "trained and promoted v1 in $TMP/proj"

# ---- server ----
SSH_PORT=$(free_port)
API_PORT=$(free_port)
while [ "$API_PORT" = "$SSH_PORT" ]; do API_PORT=$(free_port); done
say "starting $BIN serve --ssh 127.0.0.1:$SSH_PORT --addr 127.0.0.1:$API_PORT"
"$BIN" --config "$CONF" serve --ssh "127.0.0.1:$SSH_PORT" --authorized-keys "$TMP/authorized_keys" \
	--host-key "$TMP/hostkey" --addr "127.0.0.1:$API_PORT" >"$TMP/serve.log" 2>&1 &
SERVER_PID=$!
ssh_up() { server_alive; listening "$SSH_PORT"; }
polls ssh_up || fail "SSH port $SSH_PORT not listening after ${WAIT}s"

mode=$(stat -c %a "$TMP/hostkey" 2>/dev/null) || fail "no host key at $TMP/hostkey"
[ "$mode" = 600 ] || fail "host key mode $mode, want 600"
say "host key $TMP/hostkey mode $mode"

SSH_OPTS=(-F /dev/null -p "$SSH_PORT" -o StrictHostKeyChecking=accept-new
	-o UserKnownHostsFile="$TMP/known_hosts" -o IdentitiesOnly=yes -o IdentityAgent=none
	-o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -o BatchMode=yes
	-o ConnectTimeout=10 -o LogLevel=ERROR)

# ---- the console in tmux ----
screen() { tmux -L "$TMUX_SOCK" capture-pane -p -t e2e; }
has() { screen | grep -Eq -- "$1"; }
keys() { tmux -L "$TMUX_SOCK" send-keys -t e2e "$@"; }
wait_text() { polls has "$1" || fail "screen never showed /$1/ within ${WAIT}s"; }

ssh_cmd="ssh -tt -i '$TMP/key' ${SSH_OPTS[*]} ops@127.0.0.1"
tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -s e2e -x "$W" -y "$H" \
	"$ssh_cmd; echo \"[ssh exited \$?]\"; sleep 600"
say "ssh into the console ($W x $H)"
wait_text "CarVision"
say "console header shown"

prev=""
for n in 1 2 3 4 5 6 7 8; do
	keys "$n"
	page_ok() {
		local s
		s=$(screen)
		grep -q -- "${TITLE[$n]}" <<<"$s" && grep -Eq -- "${MARK[$n]}" <<<"$s" && [ "$s" != "$prev" ]
	}
	polls page_ok || fail "page $n (${TITLE[$n]}) not shown: want /${MARK[$n]}/"
	prev=$(screen)
	say "page $n ${TITLE[$n]} ok"
done

if [ "${E2E_SKIP_PREDICT:-0}" != 1 ]; then
	keys 4
	polls has "Predict" || fail "predict page not back"
	# enter edits the form; the model choice filters as one types; empty
	# fields stay missing; ctrl+s submits.
	polls has "enter edits the listing" || fail "predict form not shown"
	keys Enter
	tmux -L "$TMUX_SOCK" send-keys -t e2e -l "f-150"
	keys Tab
	tmux -L "$TMUX_SOCK" send-keys -t e2e -l "2015"
	keys Tab
	tmux -L "$TMUX_SOCK" send-keys -t e2e -l "88000"
	keys C-s
	predicted() { has 'for ford f-150'; }
	polls predicted || fail "no predicted price after submitting the form"
	say "prediction shown: $(screen | grep -Eo '\$ ?[0-9][0-9,]{2,}' | head -1)"
	keys Escape
fi

keys 1
keys q
exited() { has '\[ssh exited [0-9]+\]'; }
polls exited || fail "ssh did not exit after q"
code=$(screen | grep -Eo '\[ssh exited [0-9]+\]' | grep -Eo '[0-9]+')
[ "$code" = 0 ] || fail "ssh exited $code after q, want 0"
say "q ended the session, ssh exit 0"

# ---- an unknown key ----
set +e
out=$(ssh -tt -i "$TMP/unknown" "${SSH_OPTS[@]}" ops@127.0.0.1 </dev/null 2>&1)
code=$?
set -e
[ "$code" = 255 ] || fail "unknown key: ssh exit $code, want 255 (output: $out)"
grep -q "Permission denied" <<<"$out" || fail "unknown key: no 'Permission denied' (output: $out)"
say "unknown key refused: exit 255, Permission denied"

# ---- audit ----
if [ "${E2E_SKIP_AUDIT:-0}" != 1 ]; then
	audited() {
		local a
		a=$("$BIN" --config "$CONF" audit --since 1h --json 2>/dev/null) || return 1
		grep -q -- "$KEY_FP" <<<"$a" && grep -q -- "$UNKNOWN_FP" <<<"$a"
	}
	polls audited || fail "carvision audit does not name $KEY_FP and the refused $UNKNOWN_FP"
	say "audit names the operator's and the refused key's fingerprints"
fi

say "PASS"
