#!/usr/bin/env bash
# tests/integration/run.sh — runs every tests/integration/test_*.sh (or the
# ones named as arguments) from the repository root, each with a time limit,
# and prints one line per test and the closing "N passed, N failed" line.
set -u
cd "$(dirname "$0")/../.."
limit=${SELFHEAL_TEST_TIMEOUT:-300}
pass=0
fail=0
failed=()
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(tests/integration/test_*.sh)
for t in "${tests[@]}"; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    log=$(mktemp)
    start=$(date +%s%N)
    if timeout --kill-after=10 "$limit" bash "$t" >"$log" 2>&1; then
        pass=$((pass + 1))
        ms=$((($(date +%s%N) - start) / 1000000))
        printf 'PASS %-40s %d.%03ds\n' "$name" $((ms / 1000)) $((ms % 1000))
    else
        rc=$?
        fail=$((fail + 1))
        failed+=("$name")
        printf 'FAIL %-40s (exit %d)\n' "$name" "$rc"
        sed 's/^/    | /' "$log" | tail -40
    fi
    rm -f "$log"
done
echo
[ $fail -eq 0 ] || echo "failed: ${failed[*]}"
echo "integration: $pass passed, $fail failed"
[ $fail -eq 0 ]
