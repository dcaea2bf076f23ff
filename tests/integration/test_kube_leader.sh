#!/usr/bin/env bash
# Leader election (issue 6, acceptance 3): two replicas with --leader-elect
# against the API emulator. Exactly one leads and only it writes status; the
# standby reconciles nothing. SIGKILL the leader: the standby takes the Lease
# within the lease duration (15 s) plus one retry period (2 s) — the standby
# measures expiry from when it last saw the Lease change, as client-go does —
# and then reconciles a spec change. A clean shutdown releases the Lease.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/kube.sh"
start_emulator t0 --crd "$SH_ROOT/crd/selfhealingpipelines.selfheal.dev.yaml"
base=$url/apis/selfheal.dev/v1alpha1/namespaces/default/selfhealingpipelines
lease=$url/apis/coordination.k8s.io/v1/namespaces/default/leases/selfheal-leader

for i in 1 2 3; do
    api -X POST -H 'Content-Type: application/json' "$base" -d \
        "{\"apiVersion\":\"selfheal.dev/v1alpha1\",\"kind\":\"SelfHealingPipeline\",\"metadata\":{\"name\":\"p$i\"},\"spec\":{}}" >/dev/null
done

start() { # start N: a replica logging to $TMP/r$N.log, metrics on port in $TMP/r$N.port
    local p
    p=$(free_port)
    echo "$p" >"$TMP/r$1.port"
    "$SELFHEAL" run --kubeconfig "$kc" --leader-elect --leader-elect-namespace default \
        --listen "127.0.0.1:$p" >"$TMP/r$1.log" 2>&1 &
    echo $! >"$TMP/r$1.pid"
    track $!
}
start 1
wait_for 10 "replica 1 leads" grep -q "acquired lease" "$TMP/r1.log"
start 2
converged() { api "$base" | jq -e --argjson g "$1" '[.items[] | select(.status.observedGeneration == $g)] | length == 3' >/dev/null; }
wait_for 10 "status of all three" converged 1
sleep 3 # the standby has had time to act, if it would
grep -q "acquired lease" "$TMP/r2.log" && fail "two leaders: $(cat "$TMP/r2.log")"
reconciles() { curl -fsS "http://127.0.0.1:$(cat "$TMP/r$1.port")/metrics" |
    awk '/^selfheal_reconcile_total\{/ {s += $2} END {print s + 0}'; }
assert_eq "$(reconciles 2)" 0 "reconciles by the standby"
[ "$(reconciles 1)" -gt 0 ] || fail "the leader reconciled nothing"
holder=$(api "$lease" | jq -r .spec.holderIdentity)
[ -n "$holder" ] && [ "$holder" != null ] || fail "no Lease holder"

# kill the leader; the standby takes over and reconciles a change
kill -KILL "$(cat "$TMP/r1.pid")"
t0=$(date +%s%N)
wait_for 20 "replica 2 takes the lease" grep -q "acquired lease" "$TMP/r2.log"
took=$((($(date +%s%N) - t0) / 1000000))
[ $took -le 17000 ] || fail "handover took ${took} ms (lease 15 s + retry 2 s)"
[ "$(api "$lease" | jq -r .spec.holderIdentity)" != "$holder" ] || fail "the Lease holder did not change"
for i in 1 2 3; do
    api -X PATCH -H 'Content-Type: application/merge-patch+json' "$base/p$i" \
        -d '{"spec":{"escalation":{"maxSameIssue":4}}}' >/dev/null
done
wait_for 10 "the new leader reconciles the change" converged 2

# a clean shutdown releases the Lease
kill -TERM "$(cat "$TMP/r2.pid")"
wait_for 5 "the Lease released" sh -c "curl -sS -H 'Authorization: Bearer t0' '$lease' | jq -e '(.spec.holderIdentity // \"\") == \"\"'"
echo "ok (handover in ${took} ms)"
