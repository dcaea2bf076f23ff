#!/usr/bin/env bash
# kubectl end to end on a real kube-apiserver (envtest; issue 6, issue 14):
# kubectl apply of crd/ and a sample pipeline, `kubectl get shp` printer
# columns and the mlops category, schema defaults, a merge patch raising the
# generation (a label does not), `kubectl wait --for=condition=Ready` released
# by a /status write, status sent to the main resource ignored, Events, -o
# yaml, a stale PUT answered 409 with the exact message, a Deployment
# `rollout restart` making ReplicaSet revision 2 (the real controller
# manager); the CRD schema rejecting invalid objects at apply time (the
# ranges, enums, counts and unknown fields tests/kube/test_crd_schema.py checks
# with its stdlib checker, here by the real server), accepting the boundaries
# and filling the brief's defaults; every manifests/examples/*.yaml and
# manifests/local/*.yaml pipeline accepted by the real schema (server-side dry
# run). The emulator's own tests are in test_kube_fidelity.sh.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
PY=/usr/bin/python3
command -v kubectl >/dev/null || fail "kubectl is not installed"

envtest_up
envtest_namespace kubectl
export KUBECONFIG=$ENVTEST_KUBECONFIG
shp=/apis/selfheal.dev/v1alpha1/namespaces/$NS/selfhealingpipelines

# 1. the CRD (envtest_up applied it: this apply is a no-op) and a sample
out=$(kubectl apply -f "$SH_ROOT/crd/" 2>&1) || fail "kubectl apply -f crd/: $out"
assert_contains "$out" "customresourcedefinition.apiextensions.k8s.io/selfhealingpipelines.selfheal.dev"
out=$(kubectl api-resources --api-group=selfheal.dev 2>&1)
assert_contains "$out" "shp"
assert_contains "$out" "SelfHealingPipeline"
out=$(kubectl apply -n "$NS" -f "$SH_ROOT/manifests/examples/service-only.yaml" 2>&1) || fail "apply sample: $out"
assert_contains "$out" "selfhealingpipeline.selfheal.dev/fraud-api created"
# an invalid object is refused by the CRD schema at apply time (minAccuracy in [0,1])
bad=$(kubectl apply -n "$NS" -f - 2>&1 <<'YAML' || true
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
kubectl get shp bad -n "$NS" >/dev/null 2>&1 && fail "the invalid pipeline was stored"

# 2. kubectl get shp: the printer columns; the category
out=$(kubectl get shp -n "$NS" 2>&1)
header=$(head -1 <<<"$out")
for col in NAME PHASE READY MODEL ACCURACY DRIFT AGE; do assert_contains "$header" "$col"; done
assert_contains "$out" "fraud-api"
out=$(kubectl get mlops -n "$NS" 2>&1)
assert_contains "$out" "fraud-api"

# 3. a merge patch of a threshold raises metadata.generation; defaults came from the schema
gen() { kubectl get shp fraud-api -n "$NS" -o jsonpath='{.metadata.generation}'; }
assert_eq "$(gen)" 1 "generation after create"
assert_eq "$(kubectl get shp fraud-api -n "$NS" -o jsonpath='{.spec.service.healthCheck.failureThreshold}')" 3 "schema default"
kubectl patch shp fraud-api -n "$NS" --type merge -p '{"spec":{"service":{"healthCheck":{"failureThreshold":5}}}}' >/dev/null
assert_eq "$(gen)" 2 "generation after a spec patch"
kubectl label shp fraud-api -n "$NS" team=ml >/dev/null
assert_eq "$(gen)" 2 "generation after a label change"

# 4. status via the subresource (what the controller does), with the Ready condition:
#    kubectl wait, once it has read the object, is released by the /status write
kubectl wait --for=condition=Ready shp/fraud-api -n "$NS" --timeout=30s -v=6 >"$TMP/wait.out" 2>"$TMP/wait.err" &
waitpid=$!
track $waitpid
wait_for 20 "kubectl wait reads the pipeline" grep -qE "GET .*selfhealingpipelines.* 200 OK" "$TMP/wait.err"
kill -0 $waitpid 2>/dev/null || fail "kubectl wait returned before the condition existed: $(cat "$TMP/wait.out" "$TMP/wait.err")"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
code=$(kapi "$shp/fraud-api/status" -o "$TMP/status.json" -w '%{http_code}' -X PATCH \
    -H 'Content-Type: application/merge-patch+json' \
    -d '{"status":{"observedGeneration":2,"phase":"Healthy","model":{"version":"v3","metric":0.912},"drift":{"score":0.25},"conditions":[{"type":"Ready","status":"True","reason":"Reconciled","message":"all good","lastTransitionTime":"'"$now"'","observedGeneration":2}]}}')
assert_eq "$code" 200 "PATCH /status: $(cat "$TMP/status.json")"
wait "$waitpid" || fail "kubectl wait failed: $(cat "$TMP/wait.out"; tail -5 "$TMP/wait.err")"
assert_contains "$(cat "$TMP/wait.out")" "condition met"
assert_eq "$(gen)" 2 "generation after a status write"
out=$(kubectl get shp fraud-api -n "$NS" 2>&1)
row=$(tail -1 <<<"$out")
for cell in fraud-api Healthy True v3 0.912 0.25; do assert_contains "$row" "$cell"; done
# status sent to the main resource is ignored
kubectl patch shp fraud-api -n "$NS" --type merge -p '{"status":{"phase":"Hacked"}}' >/dev/null 2>&1 || true
assert_eq "$(kubectl get shp fraud-api -n "$NS" -o jsonpath='{.status.phase}')" Healthy "status via the main resource"

# 5. Events
code=$(kapi "/api/v1/namespaces/$NS/events" -o "$TMP/event.json" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' -d '{
  "apiVersion":"v1","kind":"Event","metadata":{"name":"fraud-api.restart.1","namespace":"'"$NS"'"},
  "involvedObject":{"apiVersion":"selfheal.dev/v1alpha1","kind":"SelfHealingPipeline","name":"fraud-api","namespace":"'"$NS"'"},
  "reason":"Restarted","message":"restarted deployment fraud-api","type":"Normal","count":1,
  "firstTimestamp":"'"$now"'","lastTimestamp":"'"$now"'","source":{"component":"selfheal"}}')
assert_eq "$code" 201 "POST Event: $(cat "$TMP/event.json")"
out=$(kubectl get events -n "$NS" 2>&1)
assert_contains "$out" "Restarted"
assert_contains "$out" "selfhealingpipeline/fraud-api"
assert_contains "$out" "restarted deployment fraud-api"

# 6. -o yaml and a stale PUT (409 with the exact message)
yaml=$(kubectl get shp fraud-api -n "$NS" -o yaml)
assert_contains "$yaml" "kind: SelfHealingPipeline"
assert_contains "$yaml" "phase: Healthy"
code=$(kapi "$shp/fraud-api" -o "$TMP/conflict.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
    -d '{"apiVersion":"selfheal.dev/v1alpha1","kind":"SelfHealingPipeline","metadata":{"name":"fraud-api","resourceVersion":"1"},"spec":{}}')
assert_eq "$code" 409 "stale PUT"
assert_contains "$(cat "$TMP/conflict.json")" 'Operation cannot be fulfilled on selfhealingpipelines.selfheal.dev \"fraud-api\": the object has been modified; please apply your changes to the latest version and try again'

# 7. a Deployment restart the way kubectl does it (strategic merge patch): the
#    real controller manager makes a second ReplicaSet, revision 2
kubectl apply -n "$NS" -f - >/dev/null <<'YAML'
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
revisions() { kubectl get rs -n "$NS" -l app=fraud-api -o jsonpath='{range .items[*]}{.metadata.annotations.deployment\.kubernetes\.io/revision}{"\n"}{end}' | sort | tr '\n' ' '; }
wait_for 30 "ReplicaSet revision 1" sh -c "[ \"\$(kubectl get rs -n $NS -l app=fraud-api -o name | wc -l)\" = 1 ]"
kubectl rollout restart deployment/fraud-api -n "$NS" >/dev/null
two_revisions() { [ "$(revisions)" = "1 2 " ]; }
wait_for 30 "ReplicaSet revisions 1 and 2 after rollout restart (got: $(revisions))" two_revisions
kubectl delete shp fraud-api -n "$NS" >/dev/null
out=$(kubectl get shp -n "$NS" 2>&1)
assert_contains "$out" "No resources found"

# 8. the schema, by the real server: what test_crd_schema.py's stdlib checker
#    rejects is refused (422 naming the field; an unknown field is a strict
#    decoding error, 400); the boundaries pass; the brief's defaults are filled
"$PY" - "$TMP" <<'PY'
import json, sys
tmp = sys.argv[1]
src = {"file": {"path": "/m.json"}}
bad = [
    ({"model": {"metric": {"source": src}, "minAccuracy": 1.5}}, "spec.model.minAccuracy"),
    ({"model": {"metric": {"source": src}, "minAccuracy": -0.1}}, "spec.model.minAccuracy"),
    ({"model": {"metric": {"source": src}, "failureLimit": 0}}, "spec.model.failureLimit"),
    ({"dataQuality": {"path": "d.csv", "outliers": {"multiplier": 0}}}, "spec.dataQuality.outliers.multiplier"),
    ({"service": {"healthCheck": {"url": "http://x", "failureThreshold": 0}}},
     "spec.service.healthCheck.failureThreshold"),
    ({"service": {"healthCheck": {"url": "http://x"}, "recovery": {"maxAttempts": -1}}},
     "spec.service.recovery.maxAttempts"),
    ({"service": {"healthCheck": {"url": "http://x"}, "recovery": {"method": "reboot"}}},
     "spec.service.recovery.method"),
    ({"service": {"healthCheck": {"url": "http://x", "interval": "10 seconds"}}}, "spec.service.healthCheck.interval"),
    ({"service": {"healthCheck": {"url": "ftp://x"}}}, "spec.service.healthCheck.url"),
    ({"drift": {"reference": {"path": "a"}, "current": {"path": "b"}, "method": "chi2"}}, "spec.drift.method"),
    ({"drift": {"reference": {"path": "a"}, "current": {"path": "b"}, "minSamples": 0}}, "spec.drift.minSamples"),
    ({"drift": {"score": {"source": {}}}}, "spec.drift.score.source"),
    ({"escalation": {"maxSameIssue": 0}}, "spec.escalation.maxSameIssue"),
    ({"dataQuality": {"path": "d.csv", "backup": {"keep": -1}}}, "spec.dataQuality.backup.keep"),
    ({"model": {"metric": {"source": {"file": {"path": "a"}, "http": {"url": "http://x"}}}}},
     "spec.model.metric.source"),
    ({"model": {"metric": {"source": src}, "minAcuracy": 0.5}}, "spec.model.minAcuracy"),
]
good = [
    {"model": {"metric": {"source": src}, "minAccuracy": 0}},
    {"model": {"metric": {"source": src}, "minAccuracy": 1}},
    {"service": {"healthCheck": {"url": "https://x", "interval": "1h30m"},
                 "recovery": {"maxAttempts": 0, "backoff": "500ms", "deployment": "api"}}},
    {"dataQuality": {"path": "d.csv", "outliers": {"multiplier": 0.001}, "backup": {"keep": 0}}},
    {"drift": {"score": {"source": {"prometheus": {"url": "http://p", "query": "q"}}},
               "retrain": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}}},
    {"paused": True},
    # the defaults case (checked below)
    {"service": {"healthCheck": {"url": "http://x"}, "recovery": {"deployment": "d"}},
     "model": {"metric": {"source": {"file": {"path": "m"}}}, "rollback": {}},
     "drift": {"reference": {"path": "a"}, "current": {"path": "b"}, "retrain": {}},
     "dataQuality": {"path": "d.csv", "outliers": {}, "backup": {}}, "escalation": {}},
]
def obj(i, spec):
    return {"apiVersion": "selfheal.dev/v1alpha1", "kind": "SelfHealingPipeline",
            "metadata": {"name": "case%d" % i}, "spec": spec}
with open(tmp + "/bad.tsv", "w") as f:
    for i, (spec, field) in enumerate(bad):
        f.write(field + "\t" + json.dumps(obj(i, spec)) + "\n")
with open(tmp + "/good.jsonl", "w") as f:
    for i, spec in enumerate(good):
        f.write(json.dumps(obj(100 + i, spec)) + "\n")
PY
dry="$shp?dryRun=All&fieldValidation=Strict"
post() { kapi "$dry" -o "$TMP/answer.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$1"; }
while IFS=$'\t' read -r field doc; do
    code=$(post "$doc")
    msg=$(jq -r .message "$TMP/answer.json")
    case $field in
        *minAcuracy) assert_eq "$code" 400 "unknown field $field: $msg"
                     assert_contains "$msg" "strict decoding error: unknown field \"$field\"" ;;
        *) assert_eq "$code" 422 "invalid $field: $msg"
           # one cause: "is invalid: FIELD: …"; several (the CRD's rules may
           # add one): "is invalid: [FIELD: …, …]"
           grep -qE "is invalid: \[?([^]]*, )?$field: " <<<"$msg" || fail "the rejection names $field: $msg" ;;
    esac
done <"$TMP/bad.tsv"
n=0
while read -r doc; do
    code=$(post "$doc")
    assert_eq "$code" 201 "a boundary value refused: $doc → $(cat "$TMP/answer.json")"
    n=$((n + 1))
done <"$TMP/good.jsonl"
# the last one: the brief's defaults, filled by the real server (dry run answers with the object)
jq -e '.spec as $s
  | $s.service.healthCheck == {"url": "http://x", "interval": "10s", "timeout": "2s", "failureThreshold": 3}
  and [$s.service.recovery.method, $s.service.recovery.maxAttempts, $s.service.recovery.backoff, $s.service.recovery.resetAfter] == ["restart", 3, "10s", "10m"]
  and [$s.model.minAccuracy, $s.model.failureLimit, $s.model.metric.interval] == [0.7, 1, "1m"]
  and [$s.model.rollback.maxRollbacks, $s.model.rollback.window, $s.model.rollback.versionFrom] == [3, "24h", {"annotation": "selfheal.dev/model-version"}]
  and [$s.drift.method, $s.drift.threshold, $s.drift.cooldown, $s.drift.minSamples, $s.drift.retrain.timeout] == ["psi", 0.5, "24h", 100, "1h"]
  and [$s.dataQuality.missingValues, $s.dataQuality.outliers.multiplier, $s.dataQuality.outliers.action, $s.dataQuality.backup.keep, $s.dataQuality.maxFixedFraction] == ["median", 3, "cap", 5, 0.2]
  and $s.escalation == {"maxSameIssue": 3, "window": "24h"}
  and ($s.drift | has("featureThreshold") | not)' "$TMP/answer.json" >/dev/null ||
    fail "the defaults the real server filled: $(jq -c .spec "$TMP/answer.json")"

# 9. every example pipeline is accepted by the real schema (in this namespace, dry run)
"$PY" - "$SH_ROOT" "$NS" >"$TMP/examples.yaml" <<'PY'
import glob, os, sys, yaml
root, ns = sys.argv[1:3]
docs = []
for f in sorted(glob.glob(os.path.join(root, "manifests", "examples", "*.yaml")) +
                glob.glob(os.path.join(root, "manifests", "local", "*.yaml"))):
    for d in yaml.safe_load_all(open(f)):
        if d and d.get("kind") == "SelfHealingPipeline":
            d["metadata"]["namespace"] = ns
            docs.append(d)
assert len(docs) >= 3, docs
print(yaml.safe_dump_all(docs))
PY
nex=$(grep -c '^kind: SelfHealingPipeline' "$TMP/examples.yaml")
out=$(kubectl apply --dry-run=server --validate=strict -f "$TMP/examples.yaml" 2>&1) ||
    fail "an example pipeline is refused by the real schema: $out"
assert_eq "$(grep -c 'created (server dry run)' <<<"$out")" "$nex" "examples accepted: $out"
echo "ok ($n boundary objects and $nex examples accepted, $(wc -l <"$TMP/bad.tsv") invalid ones refused)"
