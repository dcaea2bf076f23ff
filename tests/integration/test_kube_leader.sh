#!/usr/bin/env bash
# Leader election (issue 6, acceptance 3) on a real kube-apiserver (envtest):
# replicas with --leader-elect on a real coordination.k8s.io Lease in the
# test's namespace, each under its own ServiceAccount token bound only to
# manifests/rbac.yaml (so the API server's audit log tells who wrote what).
# Exactly one leads and only it writes status and Events; the standby
# reconciles nothing and writes nothing. SIGKILL the leader: the standby takes
# the Lease no sooner than the lease duration (15 s) minus one retry period
# (2 s) after the leader's last renewal and no later than 15 s + 2 s (+ slack
# for a loaded machine) — it measures expiry from when it last saw the Lease
# change, as client-go does — and then reconciles a spec change, each
# pipeline's status written once per generation. A clean shutdown (SIGTERM)
# releases the Lease and a third replica takes over at once. No Forbidden.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v kubectl >/dev/null || fail "kubectl is not installed"
trap 'rc=$?; [ $rc = 0 ] || for r in 1 2 3; do echo "--- replica $r log (tail):" >&2; tail -n 15 "$TMP/r$r.log" >&2 2>/dev/null; done; cleanup' EXIT

envtest_up
# one ServiceAccount per replica: a namespace each for the accounts, the
# pipelines and the Lease in the first
users=() namespaces=()
for r in 1 2 3; do
    envtest_namespace "leader$r"
    envtest_controller_kubeconfig "$NS" "$TMP/r$r.kubeconfig"
    users+=("$SA_USER")
    namespaces+=("$NS")
done
NS=${namespaces[0]}
export KUBECONFIG=$ENVTEST_KUBECONFIG

for i in 1 2 3; do
    printf 'apiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\nmetadata: {name: p%s}\nspec:\n  escalation: {maxSameIssue: 3, window: 24h}\n---\n' "$i"
done | kubectl apply -n "$NS" -f - >"$TMP/apply.log" 2>&1 || fail "apply pipelines: $(cat "$TMP/apply.log")"

start() { # start N: replica N (its own token), metrics on the port in $TMP/rN.port
    local p
    p=$(free_port)
    echo "$p" >"$TMP/r$1.port"
    "$SELFHEAL" run --kubeconfig "$TMP/r$1.kubeconfig" --namespace "$NS" --leader-elect \
        --leader-elect-namespace "$NS" --listen "127.0.0.1:$p" >"$TMP/r$1.log" 2>&1 &
    echo $! >"$TMP/r$1.pid"
    track $!
}
holder() { kubectl get lease selfheal-leader -n "$NS" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
converged() { # every pipeline's status at generation $1
    [ "$(kubectl get shp -n "$NS" -o json | jq --argjson g "$1" '[.items[] | select(.status.observedGeneration == $g)] | length')" = 3 ]
}
reconciles() { curl -fsS "http://127.0.0.1:$(cat "$TMP/r$1.port")/metrics" |
    awk '/^selfheal_reconcile_total\{/ {s += $2} END {print s + 0}'; }
# writes (create/update/patch/delete) by replica N's user whose URI contains S
writes_by() {
    jq -r --arg u "${users[$(($1 - 1))]}" --arg s "$2" 'select(.user.username == $u and .stage == "ResponseComplete"
        and (.verb == "create" or .verb == "update" or .verb == "patch" or .verb == "delete")
        and (.requestURI | contains($s))) | .requestURI' "$ENVTEST_AUDIT" | wc -l
}
status_writes() { # by replica N, per pipeline: "p1=K p2=K p3=K"
    local i out=
    for i in 1 2 3; do out+="p$i=$(writes_by "$1" "/selfhealingpipelines/p$i/status") "; done
    echo "${out% }"
}

start 1
wait_for 30 "replica 1 leads" grep -q "acquired lease" "$TMP/r1.log"
start 2
wait_for 30 "status of all three" converged 1
wait_for 20 "the standby's metrics" curl -fsS "http://127.0.0.1:$(cat "$TMP/r2.port")/metrics"
holder1=$(holder)
[ -n "$holder1" ] || fail "no Lease holder"
# the standby has seen the Lease held and renewed a few times (the leader renews every 2 s)
rv0=$(kubectl get lease selfheal-leader -n "$NS" -o jsonpath='{.metadata.resourceVersion}')
renewed() { [ "$(kubectl get lease selfheal-leader -n "$NS" -o jsonpath='{.metadata.resourceVersion}')" != "$rv0" ]; }
wait_for 15 "the leader renews the Lease" renewed
sleep 1.2 # the audit log's batch
grep -q "acquired lease" "$TMP/r2.log" && fail "two leaders: $(cat "$TMP/r2.log")"
assert_eq "$(holder)" "$holder1" "the Lease holder while both run"
assert_eq "$(reconciles 2)" 0 "reconciles by the standby"
[ "$(reconciles 1)" -gt 0 ] || fail "the leader reconciled nothing"
assert_eq "$(envtest_writes "${users[1]}")" 0 "API writes by the standby"
assert_eq "$(status_writes 1)" "p1=1 p2=1 p3=1" "status writes by the leader at generation 1"
events1=$(writes_by 1 "/events")
[ "$events1" -gt 0 ] || fail "the leader wrote no Event"

# SIGKILL the leader (it cannot release): the standby takes over after the lease expires
rv0=$(kubectl get lease selfheal-leader -n "$NS" -o jsonpath='{.metadata.resourceVersion}')
wait_for 15 "a Lease renewal to time the kill from" renewed
kill -KILL "$(cat "$TMP/r1.pid")"
t0=$(date +%s%N)
wait "$(cat "$TMP/r1.pid")" 2>/dev/null || true
wait_for 40 "replica 2 takes the lease" grep -q "acquired lease" "$TMP/r2.log"
took=$((($(date +%s%N) - t0) / 1000000))
[ $took -le 25000 ] || fail "handover took ${took} ms (lease 15 s + retry 2 s, + slack)"
[ $took -ge 12500 ] || fail "handover after ${took} ms: the standby did not wait out the 15 s lease"
holder2=$(holder)
[ -n "$holder2" ] && [ "$holder2" != "$holder1" ] || fail "the Lease holder did not change: '$holder2'"
kubectl patch shp p1 p2 p3 -n "$NS" --type merge -p '{"spec":{"escalation":{"maxSameIssue":4}}}' >/dev/null
wait_for 20 "the new leader reconciles the change" converged 2
sleep 2 # let a double write show, if there were one
[ "$(reconciles 2)" -gt 0 ] || fail "the new leader reconciled nothing"
assert_eq "$(status_writes 1)" "p1=1 p2=1 p3=1" "status writes by the dead leader"
assert_eq "$(status_writes 2)" "p1=1 p2=1 p3=1" "status writes by the new leader (generation 2 only)"
assert_eq "$(writes_by 1 "/events")" "$events1" "Events by the dead leader"

# a clean shutdown releases the Lease; a third replica, standing by, takes over at once
start 3
wait_for 20 "replica 3's metrics" curl -fsS "http://127.0.0.1:$(cat "$TMP/r3.port")/metrics"
rv0=$(kubectl get lease selfheal-leader -n "$NS" -o jsonpath='{.metadata.resourceVersion}')
wait_for 15 "the leader renews the Lease" renewed # replica 3 has seen it held
grep -q "acquired lease" "$TMP/r3.log" && fail "replica 3 leads beside replica 2"
kill -TERM "$(cat "$TMP/r2.pid")"
t0=$(date +%s%N)
rc=0
wait "$(cat "$TMP/r2.pid")" || rc=$?
assert_eq "$rc" 0 "replica 2's exit status after SIGTERM"
wait_for 20 "replica 3 takes the released lease" grep -q "acquired lease" "$TMP/r3.log"
took3=$((($(date +%s%N) - t0) / 1000000))
[ $took3 -le 8000 ] || fail "takeover after a release took ${took3} ms (retry period 2 s)"
[ "$(holder)" != "$holder2" ] || fail "the Lease holder did not change after the release"
kill -TERM "$(cat "$TMP/r3.pid")"
wait "$(cat "$TMP/r3.pid")" || fail "replica 3 exit status"
released() { [ -z "$(holder)" ]; }
wait_for 10 "the Lease released by replica 3" released
assert_eq "$(status_writes 3)" "p1=0 p2=0 p3=0" "status writes by replica 3 (nothing changed)"

for u in "${users[@]}"; do
    forbidden=$(envtest_forbidden "$u")
    [ -z "$forbidden" ] || fail "Forbidden for $u under manifests/rbac.yaml: $forbidden"
done
echo "ok (handover after SIGKILL in ${took} ms, after a release in ${took3} ms)"
