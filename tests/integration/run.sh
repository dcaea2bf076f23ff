#!/usr/bin/env bash
# tests/integration/run.sh — runs every tests/integration/test_*.sh (or the
# ones named as arguments) from the repository root, each with a time limit,
# SELFHEAL_TEST_JOBS of them at a time (default 2), and prints one line per
# test and the closing "N passed, N failed, N skipped" line.
#
# The Kubernetes tests share one real control plane (tests/envtest/
# controlplane.sh), started here once when any selected test uses it and
# stopped at the end; each test works in namespaces of its own. A test that
# exits 77 was skipped (it says why); in CI (CI=true) nothing may be skipped.
set -u
cd "$(dirname "$0")/../.."
limit=${SELFHEAL_TEST_TIMEOUT:-300}
jobs=${SELFHEAL_TEST_JOBS:-2}
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(tests/integration/test_*.sh)
out=$(mktemp -d "${TMPDIR:-/tmp}/selfheal-it.XXXXXX")

envtest_dir=
if grep -l 'lib/envtest.sh' "${tests[@]}" >/dev/null 2>&1; then
    envtest_dir=$out/envtest
    t0=$(date +%s)
    if tests/envtest/controlplane.sh start "$envtest_dir" >"$out/envtest.log" 2>&1; then
        export SH_ENVTEST_DIR=$envtest_dir
        # the CRD once, before tests side by side would race to create it
        kubectl --kubeconfig "$envtest_dir/admin.kubeconfig" apply -f crd/ >>"$out/envtest.log" 2>&1 || true
        echo "control plane: kube-apiserver + kube-controller-manager v1.32 + etcd up in $(($(date +%s) - t0)) s"
    else
        rc=$?
        if [ $rc -eq 3 ] && [ "${CI:-}" != true ]; then
            echo "control plane: not available, the Kubernetes tests will be skipped: $(cat "$out/envtest.log")"
        else
            echo "control plane: FAILED to start: $(tail -5 "$out/envtest.log")"
        fi
        envtest_dir=
    fi
fi
stop_envtest() { [ -z "$envtest_dir" ] || tests/envtest/controlplane.sh stop "$envtest_dir" >/dev/null 2>&1; }
trap 'stop_envtest; rm -rf "$out"' EXIT

run_one() { # TEST: runs it, leaves NAME.rc and NAME.ms beside its log
    local t=$1 name start rc
    name=$(basename "$t" .sh)
    start=$(date +%s%N)
    timeout --kill-after=10 "$limit" bash "$t" >"$out/$name.log" 2>&1
    rc=$?
    echo $((($(date +%s%N) - start) / 1000000)) >"$out/$name.ms"
    echo $rc >"$out/$name.rc"
}

report() { # NAME
    local name=$1 rc ms
    rc=$(cat "$out/$name.rc")
    ms=$(cat "$out/$name.ms")
    if [ "$rc" = 0 ]; then
        pass=$((pass + 1))
        printf 'PASS %-40s %d.%03ds\n' "$name" $((ms / 1000)) $((ms % 1000))
    elif [ "$rc" = 77 ] && [ "${CI:-}" != true ]; then
        skip=$((skip + 1))
        skipped+=("$name")
        printf 'SKIP %-40s %s\n' "$name" "$(grep -m1 '^SKIP' "$out/$name.log" | cut -c7-)"
    else
        fail=$((fail + 1))
        failed+=("$name")
        printf 'FAIL %-40s (exit %s, %d.%03ds)\n' "$name" "$rc" $((ms / 1000)) $((ms % 1000))
        grep -m5 'FAIL:' "$out/$name.log" | sed 's/^/    > /' # the reason first, whatever the tail holds
        sed 's/^/    | /' "$out/$name.log" | tail -40
    fi
}

pass=0 fail=0 skip=0
failed=() skipped=()
running=()
for t in "${tests[@]}"; do
    [ -f "$t" ] || continue
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n 2>/dev/null || true; done
    run_one "$t" &
    running+=("$(basename "$t" .sh)")
    # report, in order, every test that has ended
    while [ ${#running[@]} -gt 0 ] && [ -f "$out/${running[0]}.rc" ]; do
        report "${running[0]}"
        running=("${running[@]:1}")
    done
done
wait
for name in "${running[@]:-}"; do [ -n "$name" ] && report "$name"; done
echo
[ $fail -eq 0 ] || echo "failed: ${failed[*]}"
[ $skip -eq 0 ] || echo "skipped (no control plane; see README 'Kubernetes tests'): ${skipped[*]}"
echo "integration: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
