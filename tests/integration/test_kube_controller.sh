#!/usr/bin/env bash
# The controller on a cluster, on a real kube-apiserver (envtest): the CRD
# installed, pipelines applied with the real kubectl, `selfheal run
# --kubeconfig` out of cluster under a ServiceAccount token bound only to
# manifests/rbac.yaml; what a user sees: status written through the /status
# subresource, `kubectl get shp` columns, a patched threshold raising
# observedGeneration, `kubectl wait --for=condition=Ready`, the controller's
# Events, an invalid spec reported on its object, no API writes while idle
# (the API server's audit log), no Forbidden, and a clean shutdown.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v kubectl >/dev/null || fail "kubectl is not installed"
trap 'rc=$?; [ $rc = 0 ] || { echo "--- controller log (tail):" >&2; tail -n 25 "$TMP/ctl.log" >&2 2>/dev/null; }; cleanup' EXIT

envtest_up
envtest_namespace ctl
export KUBECONFIG=$ENVTEST_KUBECONFIG
envtest_controller_kubeconfig "$NS" "$TMP/sa.kubeconfig"

# "wrong" passes the CRD's admission rules (it cannot check environment
# variable names) but not the controller's validator
kubectl apply -n "$NS" -f - >"$TMP/apply.log" 2>&1 <<'YAML' || fail "apply pipelines: $(cat "$TMP/apply.log")"
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: watched}
spec:
  escalation: {maxSameIssue: 3, window: 24h}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: wrong}
spec:
  service:
    healthCheck: {url: "http://x"}
    recovery: {method: process, process: {command: [x], env: {"1BAD": v}}}
YAML

port=$(free_port)
"$SELFHEAL" run --kubeconfig "$TMP/sa.kubeconfig" --namespace "$NS" --listen "127.0.0.1:$port" \
    --log-format json >"$TMP/ctl.log" 2>&1 &
ctl=$!
track $ctl
wait_for 20 "/readyz after the informer synced" curl -fsS "http://127.0.0.1:$port/readyz"
# the start-up line names only what kube mode uses: no specs folder
start_line=$(grep -m1 'listening on' "$TMP/ctl.log")
assert_contains "$start_line" "kube, state .selfheal"
assert_not_contains "$start_line" "manifests"

# status through the subresource; kubectl wait and get shp show it
kubectl wait --for=condition=Ready shp/watched -n "$NS" --timeout=20s >/dev/null 2>&1 ||
    fail "kubectl wait Ready: $(kubectl get shp watched -n "$NS" -o yaml 2>&1 | tail -30)"
out=$(kubectl get shp -n "$NS" 2>&1)
assert_contains "$(head -1 <<<"$out")" "PHASE"
grep -E '^watched +Healthy +True' <<<"$out" >/dev/null || fail "kubectl get shp: $out"
wrong_invalid() { kubectl get shp -n "$NS" 2>&1 | grep -E '^wrong +Invalid +False'; }
wait_for 10 "the invalid pipeline shown Invalid" wrong_invalid
msg=$(kubectl get shp wrong -n "$NS" -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}')
assert_contains "$msg" "spec.service.recovery.process.env.1BAD: not a valid environment variable name"
# what the CRD can check is refused at apply time, with the validator's words
out=$(kubectl apply -n "$NS" -f - 2>&1 <<'YAML') && fail "a probe timeout above its interval was accepted: $out"
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: refused}
spec:
  service:
    healthCheck: {url: "http://x", interval: 5s, timeout: 1m}
YAML
assert_contains "$out" "must not exceed interval (5s), got 1m"

# a patched threshold raises observedGeneration (and the conditions')
kubectl patch shp watched -n "$NS" --type merge -p '{"spec":{"escalation":{"maxSameIssue":5}}}' >/dev/null
ogen() { [ "$(kubectl get shp watched -n "$NS" -o jsonpath='{.status.observedGeneration}')" = 2 ]; }
wait_for 10 "observedGeneration 2" ogen
assert_eq "$(kubectl get shp watched -n "$NS" -o jsonpath='{.status.conditions[?(@.type=="Ready")].observedGeneration}')" 2 \
    "Ready's observedGeneration"

# Events about the pipelines
ev() { kubectl get events -n "$NS" 2>&1; }
wait_for 10 "an AllHealthy Event" bash -c "kubectl get events -n $NS | grep -q AllHealthy"
assert_contains "$(ev)" "selfhealingpipeline/watched"

# idle: no API writes at all (the API server's own audit log)
sleep 1
before=$(envtest_writes "$SA_USER")
[ "$before" -gt 0 ] || fail "the audit log shows no writes by $SA_USER at all"
sleep 2
after=$(envtest_writes "$SA_USER")
assert_eq "$after" "$before" "API writes while idle"

# a deleted pipeline leaves the controller alone; SIGTERM exits 0
kubectl delete shp wrong -n "$NS" >/dev/null
kill -TERM $ctl
rc=0
wait $ctl || rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM"
forbidden=$(envtest_forbidden "$SA_USER")
[ -z "$forbidden" ] || fail "Forbidden under manifests/rbac.yaml: $forbidden"
echo ok
