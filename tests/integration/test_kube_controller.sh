#!/usr/bin/env bash
# The controller on a cluster (issue 6, acceptance 1): against the API emulator
# with the real kubectl — apply the CRD and pipelines, run `selfheal run
# --kubeconfig` out of cluster, and see what a user sees: status written
# through the /status subresource, `kubectl get shp` columns, a patched
# threshold raising observedGeneration, `kubectl wait --for=condition=Ready`,
# the controller's Events, an invalid spec reported on its object, no API
# writes while idle, and a clean shutdown.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/kube.sh"
command -v kubectl >/dev/null || fail "kubectl is not installed"

start_emulator test-token --tls-self-signed
export KUBECONFIG=$kc

kubectl apply -f "$SH_ROOT/crd/" >/dev/null 2>&1 || fail "kubectl apply -f crd/"
kubectl create namespace ml >/dev/null 2>&1 || kubectl apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: ml}
YAML
kubectl apply -f - >"$TMP/apply.log" 2>&1 <<'YAML' || fail "apply pipelines: $(cat "$TMP/apply.log")"
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: watched, namespace: ml}
spec:
  escalation: {maxSameIssue: 3, window: 24h}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: wrong, namespace: ml}
spec:
  service:
    healthCheck: {url: "http://x", interval: 5s, timeout: 1m}
YAML

port=$(free_port)
"$SELFHEAL" run --kubeconfig "$kc" --listen "127.0.0.1:$port" --log-format json >"$TMP/ctl.log" 2>&1 &
ctl=$!
track $ctl
wait_for 10 "/readyz after the informer synced" curl -fsS "http://127.0.0.1:$port/readyz"

# status through the subresource; kubectl wait and get shp show it
kubectl wait --for=condition=Ready shp/watched -n ml --timeout=10s >/dev/null 2>&1 ||
    fail "kubectl wait Ready: $(kubectl get shp watched -n ml -o yaml 2>&1 | tail -30)"
out=$(kubectl get shp -n ml 2>&1)
assert_contains "$(head -1 <<<"$out")" "PHASE"
grep -E '^watched +Healthy +True' <<<"$out" >/dev/null || fail "kubectl get shp: $out"
grep -E '^wrong +Invalid +False' <<<"$out" >/dev/null || fail "the invalid pipeline: $out"
msg=$(kubectl get shp wrong -n ml -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}')
assert_contains "$msg" "spec.service.healthCheck.timeout: must not exceed interval (5s), got 1m"

# a patched threshold raises observedGeneration (and the conditions')
kubectl patch shp watched -n ml --type merge -p '{"spec":{"escalation":{"maxSameIssue":5}}}' >/dev/null
ogen() { [ "$(kubectl get shp watched -n ml -o jsonpath='{.status.observedGeneration}')" = 2 ]; }
wait_for 5 "observedGeneration 2" ogen
assert_eq "$(kubectl get shp watched -n ml -o jsonpath='{.status.conditions[?(@.type=="Ready")].observedGeneration}')" 2 \
    "Ready's observedGeneration"

# Events about the pipelines
ev=$(kubectl get events -n ml 2>&1)
assert_contains "$ev" "AllHealthy"
assert_contains "$ev" "selfhealingpipeline/watched"

# idle: no API writes at all
before=$(api "$url/_emulator/stats" | jq '[.. | .writes? // empty] | add // 0')
[ "$before" -gt 0 ] || fail "the emulator counted no writes at all"
sleep 2
after=$(api "$url/_emulator/stats" | jq '[.. | .writes? // empty] | add // 0')
assert_eq "$after" "$before" "API writes while idle"

# a deleted pipeline leaves the controller alone; SIGTERM exits 0
kubectl delete shp wrong -n ml >/dev/null
kill -TERM $ctl
rc=0
wait $ctl || rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM"
echo ok
