#!/usr/bin/env bash
# Runs every Fuzz target of the module for a short time (default 5s each).
set -euo pipefail
t=${1:-5s}
cd "$(dirname "$0")/.."
mapfile -t targets < <(grep -rl --include='*_test.go' '^func Fuzz' . | sort)
ran=0
for f in "${targets[@]}"; do
  dir=$(dirname "$f")
  for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    echo "fuzz $dir $name ($t)"
    go test -run='^$' -fuzz="^${name}\$" -fuzztime="$t" "$dir" >/tmp/carvision-fuzz.log 2>&1 || { cat /tmp/carvision-fuzz.log; exit 1; }
    ran=$((ran+1))
  done
done
echo "fuzz: $ran targets ok"
