#!/usr/bin/env bash
# bench/datafix/run.sh — `selfheal fix-data` side by side with pandas in the
# same run (read_csv → median fill → quartiles of the imputed column → IQR
# clip → to_csv, pandas_fix.py, the same rule) and `wc -l` as the ceiling, on
# issue 15's file: 1M rows, 11 housing-like columns, 5% of the numeric cells
# missing, 1% of two columns ×50, 1% of the text column missing
# (gen_housing.py N 1 0.05 0.01 0.01 all). Wall time (best of RUNS), peak RSS
# (GNU time, max of the runs), and the ratios; then selfheal alone on the
# 1M-row and a ROWS_BIG-row file under --memory-budget 64Mi (the work in a
# child limited to 64 MiB: it must fit; peak RSS). Nothing else is
# asserted. The machine is shared: wall times are noisy.
#   ROWS=1000000 ROWS_BIG=5000000 RUNS=3 bench/datafix/run.sh [SELFHEAL]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-${SELFHEAL:-$root/bin/selfheal}}
rows=${ROWS:-1000000}
big=${ROWS_BIG:-5000000}
runs=${RUNS:-3}
py=/usr/bin/python3
[ -x /usr/bin/time ] || { echo "bench/datafix: needs GNU time (/usr/bin/time)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-datafix.XXXXXX")
trap 'rm -rf "$work"' EXIT

# data N: the cached issue-15 file of N rows
data() {
    local f=${BENCH_DIR:-${TMPDIR:-/tmp}}/selfheal-bench-housing15-$1.csv
    if [ ! -s "$f" ]; then
        echo "generating $1 rows into $f ..." >&2
        "$py" "$here/gen_housing.py" "$1" 1 0.05 0.01 0.01 all >"$f.tmp" && mv "$f.tmp" "$f"
    fi
    echo "$f"
}

# measure SRC N CMD...: "best_seconds max_rss_kb" of N runs of CMD on a fresh
# copy of SRC at $work/data.csv (copied outside the timing)
measure() {
    local src=$1 n=$2 best="" rss=0 s kb
    shift 2
    for _ in $(seq 1 "$n"); do
        rm -f "$work"/data.csv*
        cp "$src" "$work/data.csv"
        /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt" ||
            { echo "bench/datafix: $* failed:" >&2; cat "$work/err.txt" >&2; exit 1; }
        read -r s kb <"$work/time.txt"
        if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$s; fi
        [ "$kb" -gt "$rss" ] && rss=$kb
    done
    echo "$best $rss"
}

src=$(data "$rows")
bytes=$(stat -c %s "$src")
cat "$src" >/dev/null
read -r sh_t sh_m < <(measure "$src" "$runs" "$bin" fix-data --data-path "$work/data.csv" --backup-keep 1 --quiet)
read -r pd_t pd_m < <(measure "$src" "$runs" "$py" "$here/pandas_fix.py" "$work/data.csv")
read -r wc_t wc_m < <(measure "$src" "$runs" wc -l "$work/data.csv")
awk -v rows="$rows" -v bytes="$bytes" -v st="$sh_t" -v sm="$sh_m" -v pt="$pd_t" -v pm="$pd_m" \
    -v wt="$wc_t" -v wm="$wc_m" -v runs="$runs" 'BEGIN {
    mb = bytes / 1e6
    if (wt < 0.01) wt = 0.01
    printf "fix-data: %d rows x 11 columns, %.1f MB, best of %d runs (shared machine: wall times are noisy)\n", rows, mb, runs
    printf "  %-24s %9s %9s %13s\n", "", "wall s", "MB/s", "peak RSS MiB"
    printf "  %-24s %9.2f %9.1f %13.1f\n", "selfheal fix-data", st, mb / st, sm / 1024
    printf "  %-24s %9.2f %9.1f %13.1f\n", "pandas (read..to_csv)", pt, mb / pt, pm / 1024
    printf "  %-24s %9.2f %9.1f %13.1f\n", "wc -l (ceiling)", wt, mb / wt, wm / 1024
    printf "  fix-data vs pandas: %.1fx faster (target >= 30x), %.2fx the peak memory\n", pt / st, sm / pm
    printf "  fix-data vs wc -l: %.1fx slower\n", st / wt
}'
budgeted() { # ROWS SRC RUNS: selfheal under --memory-budget 64Mi
    local t m
    read -r t m < <(measure "$2" "$3" "$bin" fix-data --data-path "$work/data.csv" --backup-keep 1 --quiet --memory-budget 64Mi)
    awk -v rows="$1" -v bytes="$(stat -c %s "$2")" -v t="$t" -v m="$m" 'BEGIN {
        printf "  %d rows (%.0f MB) under --memory-budget 64Mi: selfheal fix-data %.2f s, %.0f MB/s, peak RSS %.1f MiB (%s the budget)\n",
            rows, bytes / 1e6, t, bytes / 1e6 / t, m / 1024, m <= 65536 ? "within" : "OVER"
    }'
}
budgeted "$rows" "$src" "$runs"
if [ "$big" -gt 0 ]; then
    budgeted "$big" "$(data "$big")" 1
fi
