#!/usr/bin/env bash
# The CI fuzz step (issue 10, fuzzing): every libFuzzer harness of fuzz/ is
# built with clang (installed with apt when missing) and runs its seed and
# regression corpus, then fuzzes for a short time — about a minute in total
# (fuzz/run.sh --ci). Any crash, sanitizer report, leak or timeout fails.
source "$(dirname "$0")/lib/common.sh"

if ! command -v clang >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -qq clang >/dev/null || fail "could not install clang"
    else
        fail "clang is not installed (apt-get install clang)"
    fi
fi

out=$("$SH_ROOT/fuzz/run.sh" --ci 2>&1) || { echo "$out"; fail "fuzz/run.sh --ci failed"; }
echo "$out"
# every harness ran and reached more than a trivial coverage
for f in "$SH_ROOT"/fuzz/fuzz_*.c; do
    n=$(basename "$f" .c)
    line=$(grep "^PASS $n " <<<"$out") || fail "$n did not run"
    cov=$(grep -oE 'cov: [0-9]+' <<<"$line" | grep -oE '[0-9]+')
    [ "${cov:-0}" -ge 20 ] || fail "$n covered only ${cov:-0} edges"
done
assert_contains "$out" "harnesses passed"
