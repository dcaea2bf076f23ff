#!/usr/bin/env bash
# bench/datafix/run.sh — fix-data on a 1M-row, 11-column housing-like CSV,
# side by side with the pandas equivalent (read_csv → median fill → IQR clip
# → to_csv, pandas_fix.py) and with `wc -l` on the same file as the ceiling:
# wall time, throughput and peak memory (max RSS), and the ratios.
#   ROWS=1000000 RUNS=3 bench/datafix/run.sh [SELFHEAL]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/bin/selfheal}
rows=${ROWS:-1000000}
runs=${RUNS:-3}
py=/usr/bin/python3
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-datafix.XXXXXX")
trap 'rm -rf "$work"' EXIT
cache=${BENCH_CACHE:-${TMPDIR:-/tmp}/selfheal-bench-housing-$rows.csv}
if [ ! -s "$cache" ]; then
    echo "generating $rows rows into $cache ..."
    "$py" "$here/gen_housing.py" "$rows" 1 >"$cache.tmp" && mv "$cache.tmp" "$cache"
fi
bytes=$(stat -c %s "$cache")

# measure NAME CMD...: best wall seconds and the max RSS (KB) of RUNS runs; the
# input is copied fresh before each run (outside the timing)
measure() {
    local name=$1
    shift
    local best="" rss=0
    for _ in $(seq 1 "$runs"); do
        rm -f "$work"/data.csv*
        cp "$cache" "$work/data.csv"
        sync
        local out
        out=$("$py" - "$@" <<'PY'
import os, resource, subprocess, sys, time
t = time.monotonic()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
dt = time.monotonic() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{dt:.6f} {ru.ru_maxrss} {r.returncode}")
PY
)
        set -- "$@"
        local t m rc
        read -r t m rc <<<"$out"
        [ "$rc" = 0 ] || { echo "$name failed (exit $rc)" >&2; exit 1; }
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
        [ "$m" -gt "$rss" ] && rss=$m
    done
    echo "$name $best $rss"
}

sh=$(measure selfheal "$bin" fix-data --data-path "$work/data.csv" --backup-keep 1 --quiet)
pd=$(measure pandas "$py" "$here/pandas_fix.py" "$work/data.csv")
wc=$(measure wc wc -l "$work/data.csv")
read -r _ sh_t sh_m <<<"$sh"
read -r _ pd_t pd_m <<<"$pd"
read -r _ wc_t wc_m <<<"$wc"
awk -v rows="$rows" -v bytes="$bytes" -v st="$sh_t" -v sm="$sh_m" -v pt="$pd_t" -v pm="$pd_m" \
    -v wt="$wc_t" -v wm="$wc_m" -v runs="$runs" 'BEGIN {
    mb = bytes / 1e6
    printf "fix-data benchmark: %d rows, 11 columns, %.1f MB, best of %d runs\n", rows, mb, runs
    printf "  %-22s %9s %11s %12s\n", "", "wall s", "MB/s", "peak RSS MB"
    printf "  %-22s %9.3f %11.1f %12.1f\n", "selfheal fix-data", st, mb / st, sm / 1024
    printf "  %-22s %9.3f %11.1f %12.1f\n", "pandas (read..to_csv)", pt, mb / pt, pm / 1024
    printf "  %-22s %9.3f %11.1f %12.1f\n", "wc -l (ceiling)", wt, mb / wt, wm / 1024
    printf "  throughput vs pandas: %.1fx (target >= 20x)\n", pt / st
    printf "  peak memory vs pandas: %.2f (target < 0.5)\n", sm / pm
    printf "  distance to wc -l: %.1fx slower\n", st / wt
}'
