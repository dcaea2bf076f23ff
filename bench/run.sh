#!/usr/bin/env bash
# bench/run.sh — `make bench`: runs every bench/<name>/run.sh (or the ones
# named as arguments) and prints their reports. Numbers are written up in
# docs/performance.md; nothing here is asserted.
set -u
cd "$(dirname "$0")/.."
benches=("$@")
if [ ${#benches[@]} -eq 0 ]; then
    for d in bench/*/; do
        [ -x "$d/run.sh" ] && benches+=("$(basename "$d")")
    done
fi
rc=0
for b in "${benches[@]}"; do
    echo "== bench $b"
    bench/"$b"/run.sh || { echo "bench $b failed" >&2; rc=1; }
done
exit $rc
