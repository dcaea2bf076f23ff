#!/usr/bin/env bash
# Leadership handed over twice on a real Lease (issue 21, item 4): replica A
# leads and makes recovery attempt 1; A freezes (SIGSTOP), B takes the Lease
# and makes attempt 2; B freezes, A wakes and takes the Lease back. A must
# not act on its stale memory of the status (attempts = 1) but on what B wrote
# (attempts = 2): exactly maxAttempts (3) restarts in all — the
# selfheal.dev/restartedAt patches of the Deployment in the API server's
# audit log — and status.service.recoveryAttempts never goes back.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v kubectl >/dev/null || fail "kubectl is not installed"
trap 'rc=$?; kill -CONT $(cat "$TMP"/r*.pid 2>/dev/null) 2>/dev/null; [ $rc = 0 ] || for r in a b; do echo "--- replica $r log (tail):" >&2; tail -n 20 "$TMP/r$r.log" >&2 2>/dev/null; done; cleanup' EXIT

envtest_up
envtest_namespace handover
envtest_controller_kubeconfig "$NS" "$TMP/sa.kubeconfig"
export KUBECONFIG=$ENVTEST_KUBECONFIG
dead=$(free_port) # nothing answers: every probe fails
kubectl apply -n "$NS" -f - >"$TMP/apply.log" 2>&1 <<YAML || fail "apply: $(cat "$TMP/apply.log")"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: api:v1}]}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: svc}
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:$dead/health", interval: 500ms, timeout: 200ms, failureThreshold: 1, startupTimeout: 1s}
    recovery: {method: restart, deployment: api, maxAttempts: 3, backoff: 1s, resetAfter: 1h}
YAML

start() { # start a|b
    "$SELFHEAL" run --kubeconfig "$TMP/sa.kubeconfig" --namespace "$NS" --leader-elect \
        --leader-elect-namespace "$NS" --listen 127.0.0.1:0 >"$TMP/r$1.log" 2>&1 &
    echo $! >"$TMP/r$1.pid"
    track $!
}
holder() { kubectl get lease selfheal-leader -n "$NS" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
attempts() { kubectl get shp svc -n "$NS" -o jsonpath='{.status.service.recoveryAttempts}' 2>/dev/null; }
attempts_at_least() { [ "$(attempts)" -ge "$1" ] 2>/dev/null; }
restarts() { # restartedAt patches of deployment api by the controller
    sleep 1.2
    jq -r --arg u "$SA_USER" 'select(.user.username == $u and .stage == "ResponseComplete" and .verb == "patch"
        and (.requestURI | test("/deployments/api($|\\?)")) and .responseStatus.code == 200) | .auditID' \
        "$ENVTEST_AUDIT" | sort -u | wc -l
}
pid_of() { cat "$TMP/r$1.pid"; }
leads() { # leads a|b: the Lease's holder is the identity that replica logged acquiring it
    local id
    id=$(grep -oE 'leader election: [^ ]+ acquired' "$TMP/r$1.log" | tail -1 | awk '{print $3}')
    [ -n "$id" ] && [ "$(holder)" = "$id" ]
}

start a
wait_for 30 "replica a leads" leads a
start b
wait_for 30 "attempt 1 (by a)" attempts_at_least 1
seen=$(attempts)
kill -STOP "$(pid_of a)" # a freezes: its Lease expires
wait_for 40 "replica b takes the Lease" leads b
wait_for 30 "attempt 2 (by b)" attempts_at_least 2
kill -STOP "$(pid_of b)"
kill -CONT "$(pid_of a)"
wait_for 40 "replica a takes the Lease back" leads a
wait_for 30 "attempt 3 (by a, from what b wrote)" attempts_at_least 3
# a while longer: no attempt beyond maxAttempts, nothing rolled back
for _ in $(seq 8); do
    a=$(attempts)
    [ "$a" -ge "$seen" ] || fail "recoveryAttempts went back from $seen to $a"
    seen=$a
    sleep 0.5
done
n=$(restarts)
assert_eq "$n" 3 "restarts of deployment api in all (maxAttempts 3)"
kubectl get shp svc -n "$NS" -o json | jq -e '.status.conditions[] | select(.type == "ServiceHealthy") | .reason == "RecoveryExhausted"' >/dev/null ||
    fail "not RecoveryExhausted: $(kubectl get shp svc -n "$NS" -o json | jq -c .status.conditions)"
grep -q 'status reloaded' "$TMP/ra.log" || fail "replica a did not reload its status on leading again"
kill -CONT "$(pid_of b)"
forbidden=$(envtest_forbidden "$SA_USER")
[ -z "$forbidden" ] || fail "Forbidden: $forbidden"
echo "ok: two handovers, 3 restarts in all, attempts never went back"
