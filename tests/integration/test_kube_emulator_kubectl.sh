#!/usr/bin/env bash
# The Kubernetes API emulator (tests/kube/emulator.py) with the real kubectl (issue 6): kubectl apply
# of crd/ and a sample pipeline, `kubectl get shp` printer columns, a merge patch raising the
# generation, Events, `kubectl wait --for=condition=Ready` released by a /status write, -o yaml;
# then the emulator's own unit tests (golden transcripts, watch framing, generation rules, 409s)
# and the CRD schema check of manifests/examples. Runs in well under a minute.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/kube.sh"
PY=/usr/bin/python3
command -v kubectl >/dev/null || fail "kubectl is not installed"

start_emulator test-token --tls-self-signed
export KUBECONFIG=$kc
assert_contains "$url" "https://127.0.0.1:"

# 1. the CRD and a sample
out=$(kubectl apply -f "$SH_ROOT/crd/" 2>&1) || fail "kubectl apply -f crd/: $out"
assert_contains "$out" "customresourcedefinition.apiextensions.k8s.io/selfhealingpipelines.selfheal.dev created"
out=$(kubectl api-resources --api-group=selfheal.dev 2>&1)
assert_contains "$out" "shp"
assert_contains "$out" "SelfHealingPipeline"
out=$(kubectl apply -f "$SH_ROOT/manifests/examples/service-only.yaml" 2>&1) || fail "apply sample: $out"
assert_contains "$out" "selfhealingpipeline.selfheal.dev/fraud-api created"
# an invalid object is refused by the CRD schema (minAccuracy in [0,1])
bad=$(kubectl apply -f - 2>&1 <<'YAML' || true
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: bad}
spec:
  model:
    minAccuracy: 1.5
    metric: {source: {file: {path: /m.json}}}
YAML
)
assert_contains "$bad" "spec.model.minAccuracy: Invalid value: 1.5: spec.model.minAccuracy in body should be less than or equal to 1"

# 2. kubectl get shp: the printer columns
out=$(kubectl get shp 2>&1)
header=$(head -1 <<<"$out")
for col in NAME PHASE READY MODEL ACCURACY DRIFT AGE; do assert_contains "$header" "$col"; done
assert_contains "$out" "fraud-api"
out=$(kubectl get mlops 2>&1)   # the category
assert_contains "$out" "fraud-api"

# 3. a merge patch of a threshold raises metadata.generation; defaults came from the schema
gen() { kubectl get shp fraud-api -o jsonpath='{.metadata.generation}'; }
assert_eq "$(gen)" 1 "generation after create"
assert_eq "$(kubectl get shp fraud-api -o jsonpath='{.spec.service.healthCheck.failureThreshold}')" 3 "schema default"
kubectl patch shp fraud-api --type merge -p '{"spec":{"service":{"healthCheck":{"failureThreshold":5}}}}' >/dev/null
assert_eq "$(gen)" 2 "generation after a spec patch"
kubectl label shp fraud-api team=ml >/dev/null
assert_eq "$(gen)" 2 "generation after a label change"

# 4. status via the subresource (what the controller does), with the Ready condition
kubectl wait --for=condition=Ready shp/fraud-api --timeout=5s >"$TMP/wait.out" 2>&1 &
waitpid=$!
track $waitpid
sleep 0.5
kill -0 $waitpid 2>/dev/null || fail "kubectl wait returned before the condition existed: $(cat "$TMP/wait.out")"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
api -X PATCH -H 'Content-Type: application/merge-patch+json' \
    "$url/apis/selfheal.dev/v1alpha1/namespaces/default/selfhealingpipelines/fraud-api/status" \
    -d '{"status":{"observedGeneration":2,"phase":"Healthy","model":{"version":"v3","metric":0.912},"drift":{"score":0.25},"conditions":[{"type":"Ready","status":"True","reason":"Reconciled","message":"all good","lastTransitionTime":"'"$now"'","observedGeneration":2}]}}' >"$TMP/status.json"
wait "$waitpid" || fail "kubectl wait failed: $(cat "$TMP/wait.out")"
assert_contains "$(cat "$TMP/wait.out")" "condition met"
assert_eq "$(gen)" 2 "generation after a status write"
out=$(kubectl get shp fraud-api 2>&1)
row=$(tail -1 <<<"$out")
for cell in fraud-api Healthy True v3 0.912 0.25; do assert_contains "$row" "$cell"; done
# status sent to the main resource is ignored
kubectl patch shp fraud-api --type merge -p '{"status":{"phase":"Hacked"}}' >/dev/null 2>&1 || true
assert_eq "$(kubectl get shp fraud-api -o jsonpath='{.status.phase}')" Healthy "status via the main resource"

# 5. Events
api -X POST -H 'Content-Type: application/json' "$url/api/v1/namespaces/default/events" -d '{
  "apiVersion":"v1","kind":"Event","metadata":{"name":"fraud-api.restart.1","namespace":"default"},
  "involvedObject":{"apiVersion":"selfheal.dev/v1alpha1","kind":"SelfHealingPipeline","name":"fraud-api","namespace":"default"},
  "reason":"Restarted","message":"restarted deployment fraud-api","type":"Normal","count":1,
  "firstTimestamp":"'"$now"'","lastTimestamp":"'"$now"'","source":{"component":"selfheal"}}' >/dev/null
out=$(kubectl get events 2>&1)
assert_contains "$out" "Restarted"
assert_contains "$out" "selfhealingpipeline/fraud-api"
assert_contains "$out" "restarted deployment fraud-api"

# 6. -o yaml and a stale PUT (409 with the exact message)
yaml=$(kubectl get shp fraud-api -o yaml)
assert_contains "$yaml" "kind: SelfHealingPipeline"
assert_contains "$yaml" "phase: Healthy"
code=$(api -o "$TMP/conflict.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
    "$url/apis/selfheal.dev/v1alpha1/namespaces/default/selfhealingpipelines/fraud-api" \
    -d '{"apiVersion":"selfheal.dev/v1alpha1","kind":"SelfHealingPipeline","metadata":{"name":"fraud-api","resourceVersion":"1"},"spec":{}}')
assert_eq "$code" 409 "stale PUT"
assert_contains "$(cat "$TMP/conflict.json")" 'Operation cannot be fulfilled on selfhealingpipelines.selfheal.dev \"fraud-api\": the object has been modified; please apply your changes to the latest version and try again'

# 7. a Deployment restart the way kubectl does it (strategic merge patch) makes a new ReplicaSet
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: fraud-api, labels: {app: fraud-api}}
spec:
  replicas: 1
  selector: {matchLabels: {app: fraud-api}}
  template:
    metadata: {labels: {app: fraud-api}}
    spec:
      containers: [{name: api, image: "nginx:1.27"}]
YAML
kubectl rollout restart deployment/fraud-api >/dev/null
out=$(kubectl get rs -l app=fraud-api -o jsonpath='{range .items[*]}{.metadata.annotations.deployment\.kubernetes\.io/revision}{"\n"}{end}' | sort | tr '\n' ' ')
assert_eq "$out" "1 2 " "ReplicaSet revisions after rollout restart"
kubectl delete shp fraud-api >/dev/null
out=$(kubectl get shp 2>&1)
assert_contains "$out" "No resources found"

# 8. the emulator's own tests and the CRD check of manifests/examples
"$PY" -m unittest discover -s "$SH_ROOT/tests/kube" -p 'test_*.py' 2>&1 | tail -3 >"$TMP/unit.out" ||
    fail "python unit tests: $(cat "$TMP/unit.out")"
assert_contains "$(cat "$TMP/unit.out")" "OK"
echo "ok"
