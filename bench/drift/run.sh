#!/usr/bin/env bash
# bench/drift/run.sh — drift scoring of 1 M vs 1 M rows (11 housing-like
# columns: 10 numeric, 1 categorical, ~1% missing), end to end (load both
# CSVs + every statistic of every feature), `selfheal drift` side by side
# with numpy/scipy (bench/drift/ref_drift.py: pandas.read_csv, then numpy
# PSI, scipy ks_2samp, wasserstein_distance, jensenshannon). Prints wall
# time and peak memory of each (best of N runs, page cache warm) and the
# ratio. Environment: ROWS (default 1000000), RUNS (3), BENCH_DIR (where the
# generated files are kept between runs), SELFHEAL (the binary).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
SELFHEAL=${SELFHEAL:-$root/bin/selfheal}
PY=/usr/bin/python3
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/selfheal-bench}/drift-v2-$ROWS
mkdir -p "$dir"

$PY -c 'import numpy, scipy, pandas' 2>/dev/null || { echo "bench/drift: needs python3-numpy, python3-scipy, python3-pandas" >&2; exit 1; }
[ -s "$dir/ref.csv" ] || $PY "$here/gen.py" "$ROWS" 1 0 "$dir/ref.csv"
[ -s "$dir/cur.csv" ] || $PY "$here/gen.py" "$ROWS" 2 1 "$dir/cur.csv"
cat "$dir/ref.csv" "$dir/cur.csv" >/dev/null # warm the page cache for both sides

# best_of N CMD...: prints "seconds peak_kb" of the fastest run (GNU time)
best_of() {
    local n=$1 best="" bkb=""
    shift
    for _ in $(seq "$n"); do
        /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$@" >"$dir/out.txt" 2>"$dir/err.txt" || true
        read -r s kb <"$dir/time.txt"
        if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$s
            bkb=$kb
        fi
    done
    echo "$best $bkb"
}

read -r sh_s sh_kb < <(best_of "$RUNS" "$SELFHEAL" drift --reference "$dir/ref.csv" --current "$dir/cur.csv" -o json)
jq -e '.scoredFeatures == 11' "$dir/out.txt" >/dev/null || { echo "bench/drift: selfheal drift failed:" >&2; cat "$dir/err.txt" "$dir/out.txt" >&2; exit 1; }
sh_split=$(jq -r '"drifted \(.driftedFeatures | length)/\(.scoredFeatures), score \(.score)"' "$dir/out.txt")
read -r py_s py_kb < <(best_of "$RUNS" "$PY" "$here/ref_drift.py" "$dir/ref.csv" "$dir/cur.csv")
py_split=$(cat "$dir/out.txt")

mb=$(du -m "$dir/ref.csv" | cut -f1)
printf 'drift scoring, %s vs %s rows x 11 columns (%s MB each), load + PSI/KS/Wasserstein/JS of every feature, best of %s:\n' \
    "$ROWS" "$ROWS" "$mb" "$RUNS"
printf '  %-28s %8.2f s   peak %7d MB   (%s)\n' "selfheal drift" "$sh_s" $((sh_kb / 1024)) "$sh_split"
printf '  %-28s %8.2f s   peak %7d MB   (%s)\n' "numpy/scipy (+pandas load)" "$py_s" $((py_kb / 1024)) "$py_split"
awk -v a="$py_s" -v b="$sh_s" -v ka="$py_kb" -v kb="$sh_kb" \
    'BEGIN { printf "  drift vs numpy/scipy: %.1fx faster (target >= 20x), %.2fx the peak memory (shared machine: wall times are noisy)\n", a / b, kb / ka }'
