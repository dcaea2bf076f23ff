#!/usr/bin/env bash
# fuzz/run.sh — builds the libFuzzer harnesses fuzz/fuzz_<name>.c (with the
# library sources each needs, clang -fsanitize=fuzzer,address,undefined) into
# build/fuzz/<name>, then runs each one on its seed corpus fuzz/corpus/<name>/
# (read-only; new inputs go to build/fuzz/corpus/<name>/) and reports the edges
# covered. A crash, leak or timeout leaves its input in
# build/fuzz/artifacts/<name>/ and makes the script exit 1.
#
#   fuzz/run.sh [NAME...]        each harness for FUZZ_SECONDS (default 60)
#   fuzz/run.sh --ci [NAME...]   all of them in about one minute in total
#   fuzz/run.sh --build [NAME...] only build
#
# Every seed/regression input in fuzz/corpus is executed first in every mode,
# so a fixed crash added there stays fixed.
set -u
cd "$(dirname "$0")/.."

# name: the library sources the harness links (errors/clock/log always)
HARNESSES=(
    "spec:controller/runtime/spec.c controller/base/yamljson.c controller/base/fsutil.c"
    "duration:controller/runtime/spec.c"
    "json_pointer:reconcilers/model/json_pointer.c"
    "metric:reconcilers/model/metric_source.c reconcilers/model/json_pointer.c reconcilers/model/metric_fetch.c controller/base/fsutil.c controller/runtime/credentials.c controller/base/httpcred.c controller/base/strmap.c controller/base/urlguard.c"
    "apistatus:controller/kube/apistatus.c"
    "watch:controller/kube/watch.c"
    "csv:reconcilers/data/csv.c"
    "kubeconfig:controller/kube/kubeconfig.c controller/kube/base64.c controller/base/yamljson.c controller/base/fsutil.c"
    "datafix:reconcilers/data/datafix.c reconcilers/data/csv.c reconcilers/data/missing.c reconcilers/data/modecount.c reconcilers/data/numtext.c reconcilers/data/backup.c reconcilers/data/stats.c reconcilers/data/rankselect.c reconcilers/data/rankwindow.c reconcilers/data/blockscan.c reconcilers/data/datafix_par.c reconcilers/data/datafix_guess.c reconcilers/data/datafix_patch.c controller/base/atomicfile.c controller/base/fsutil.c"
)
COMMON_SRC="controller/base/errors.c controller/base/clock.c controller/base/log.c controller/base/redact.c"

mode=normal
names=()
for a in "$@"; do
    case $a in
    --ci) mode=ci ;;
    --build) mode=build ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "fuzz/run.sh: unknown option $a" >&2; exit 2 ;;
    *) names+=("$a") ;;
    esac
done

CLANG=${CLANG:-clang}
command -v "$CLANG" >/dev/null || { echo "fuzz/run.sh: $CLANG not found (apt-get install clang)" >&2; exit 2; }
PKG=$(pkg-config --cflags --libs yaml-0.1 libcurl libcjson libwebsockets) ||
    { echo "fuzz/run.sh: pkg-config failed (make deps)" >&2; exit 2; }
CFLAGS="-std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
        -D_GNU_SOURCE -pthread -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
        -fno-sanitize-recover=undefined -I. -Icontroller -Ireconcilers"

selected=()
for h in "${HARNESSES[@]}"; do
    n=${h%%:*}
    if [ ${#names[@]} -eq 0 ]; then selected+=("$h"); continue; fi
    for want in "${names[@]}"; do [ "$want" = "$n" ] && selected+=("$h"); done
done
[ ${#selected[@]} -gt 0 ] || { echo "fuzz/run.sh: no such harness: ${names[*]}" >&2; exit 2; }

mkdir -p build/fuzz
for h in "${selected[@]}"; do
    n=${h%%:*}
    echo "  CC fuzz build/fuzz/$n"
    # shellcheck disable=SC2086
    "$CLANG" $CFLAGS -o "build/fuzz/$n" "fuzz/fuzz_$n.c" ${h#*:} $COMMON_SRC $PKG -lm ||
        { echo "fuzz/run.sh: build of $n failed" >&2; exit 2; }
done
[ $mode = build ] && exit 0

if [ $mode = ci ]; then
    secs=$((60 / ${#selected[@]}))
    [ $secs -ge 3 ] || secs=3
else
    secs=${FUZZ_SECONDS:-60}
fi

failed=()
for h in "${selected[@]}"; do
    n=${h%%:*}
    work=build/fuzz/corpus/$n art=build/fuzz/artifacts/$n tmp=build/fuzz/tmp/$n
    mkdir -p "$work" "$art" "$tmp"
    log=build/fuzz/$n.log
    # stdin from /dev/null: a kubeconfig may name /dev/stdin as a file
    TMPDIR=$PWD/$tmp ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
        "build/fuzz/$n" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$art/" "$work" "fuzz/corpus/$n" </dev/null >"$log" 2>&1
    rc=$?
    rm -rf "$tmp"
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    runs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$')
    if [ $rc -eq 0 ]; then
        printf 'PASS fuzz_%-14s %3ss  %s  runs: %s\n' "$n" "$secs" "${cov:-cov: ?}" "${runs:-?}"
    else
        failed+=("$n")
        printf 'FAIL fuzz_%-14s exit %d, input in %s/ (log %s)\n' "$n" $rc "$art" "$log"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5 | sed 's/^/    | /'
    fi
done
echo
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: ${#failed[@]} of ${#selected[@]} harnesses failed: ${failed[*]}"
    exit 1
fi
echo "fuzz: ${#selected[@]} harnesses passed"
