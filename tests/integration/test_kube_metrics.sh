#!/usr/bin/env bash
# Several model metrics on a real kube-apiserver and kube-controller-manager
# (envtest; issue 16, acceptance 1): a CD system moves Deployment model-api
# v1 → v2 → v3 and a live metrics endpoint (tests/fixtures/version_metric_server.py)
# follows the running version with two metrics:
#   v1 accuracy 0.80, rmse 30000 — good on both
#   v2 accuracy 0.85, rmse 52000 — good accuracy, RMSE over its max
#   v3 accuracy 0.82, rmse 45000 — accuracy fine, RMSE alone over its max
# The pipeline: accuracy min 0.70, rmse max 40000. Once v3 is live the
# controller rolls the Deployment back to v1 — not v2, whose own evidence
# fails rmse — and the RolledBack Event, ModelValid and the history name rmse.
# The controller runs under a ServiceAccount bound only to manifests/rbac.yaml.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v kubectl >/dev/null || fail "kubectl is not installed"
trap 'rc=$?; [ $rc = 0 ] || { echo "--- controller log (tail):" >&2; tail -n 40 "$TMP/ctl.log" >&2 2>/dev/null;
    echo "--- pipeline status:" >&2; kadm get shp model -n "$NS" -o json 2>&1 |
    jq -c ".status | {phase, conditions: [.conditions[]? | {type, reason, message}], history, version: .model.version}" >&2; }; cleanup' EXIT

envtest_up
envtest_namespace metrics
envtest_controller_kubeconfig "$NS" "$TMP/sa.kubeconfig"

kadm apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: model-api}
spec:
  replicas: 1
  selector: {matchLabels: {app: model-api}}
  template:
    metadata: {labels: {app: model-api}, annotations: {selfheal.dev/model-version: v1}}
    spec:
      containers:
      - {name: api, image: "api:v1"}
YAML
# the ReplicaSet of version $1 exists (the kube-controller-manager made it)
has_rs() {
    kadm get replicasets -n "$NS" -l app=model-api -o json |
        jq -e --arg v "$1" 'any(.items[]; .spec.template.metadata.annotations["selfheal.dev/model-version"] == $v)' >/dev/null
}
deploy() { # as a CD system that waits for the running version's rollout: a
    # version the Deployment controller never made a ReplicaSet for is no revision
    # to roll back to (under load the controller-manager can lag the patches)
    local cur
    cur=$(version)
    wait_for 30 "the ReplicaSet of $cur" has_rs "$cur"
    kadm patch deployment model-api -n "$NS" --type strategic -p \
        "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"selfheal.dev/model-version\":\"$1\"}},\"spec\":{\"containers\":[{\"name\":\"api\",\"image\":\"api:$1\"}]}}}}" >/dev/null
}
version() { kadm get deployment model-api -n "$NS" -o json | jq -r '.spec.template.metadata.annotations["selfheal.dev/model-version"]'; }

/usr/bin/python3 "$SH_ROOT/tests/fixtures/version_metric_server.py" --port-file "$TMP/metric.port" \
    --namespace "$NS" --deployment model-api --annotation selfheal.dev/model-version \
    --metric v1:accuracy=0.80,rmse=30000 --metric v2:accuracy=0.85,rmse=52000 \
    --metric v3:accuracy=0.82,rmse=45000 2>"$TMP/metric.log" &
track $!
wait_for 20 "the metrics server" test -s "$TMP/metric.port"
murl=http://127.0.0.1:$(cat "$TMP/metric.port")/metrics.json
reads() { [ "$(curl -fsS "$murl" | jq -r .version)" = "$1" ]; }
wait_for 10 "the metrics server reading v1" reads v1

kadm apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: model}
spec:
  model:
    metrics:
      - {name: accuracy, source: {http: {url: "$murl", jsonPointer: /accuracy}}, interval: 1s, min: 0.70}
      - {name: rmse, source: {http: {url: "$murl", jsonPointer: /rmse}}, interval: 1s, max: 40000}
    rollback: {deployment: model-api, maxRollbacks: 3, window: 24h}
YAML
# the API server filled the defaults of the shorthand and of each metric; still valid
assert_eq "$(kadm get shp model -n "$NS" -o json | jq -c '[.spec.model.minAccuracy, .spec.model.metrics[1].failureLimit, .spec.model.metrics[1].inconclusiveLimit]')" \
    '[0.7,1,1]' "defaults"

port=$(free_port)
"$SELFHEAL" run --kubeconfig "$TMP/sa.kubeconfig" --namespace "$NS" --listen "127.0.0.1:$port" \
    --log-format json >>"$TMP/ctl.log" 2>&1 &
ctl=$!
track $ctl
wait_for 30 "/readyz" curl -fsS "http://127.0.0.1:$port/readyz"

doc() { kadm get shp model -n "$NS" -o json | jq -r "$1"; }
evidence() { # VERSION METRIC VALUE
    [ "$(doc ".status.model.versions[]? | select(.version == \"$1\") | .metrics.$2")" = "$3" ]
}
wait_for 30 "v1 serving, both metrics its evidence" evidence v1 rmse 30000
evidence v1 accuracy 0.8 || fail "v1's accuracy evidence: $(doc .status.model)"
deploy v2
wait_for 10 "the metrics server reading v2" reads v2
wait_for 30 "v2 serving, its rmse 52000 seen" evidence v2 rmse 52000
deploy v3
is_v1() { [ "$(version)" = v1 ]; }
wait_for 15 "rolled back to v1 (v2's rmse fails) when rmse alone went over" is_v1

events() { kadm get events -n "$NS" -o json | jq -r '.items[] | select(.involvedObject.name == "model" and .reason == "RolledBack" and .type == "Normal") | .message'; }
# (v2 was rolled back too, when its rmse was read: wait for this rollback's Event)
has_event() { events | grep -qF "rolled back v3 → v1"; }
wait_for 10 "the RolledBack Event of v3 → v1" has_event
assert_contains "$(events)" "rmse 45000 > 40000: rolled back v3 → v1" "the Event names the metric, its value and bound"
has_history() { [ "$(doc '.status.history[-1] | "\(.from) → \(.to)"')" = "v3 → v1" ]; }
wait_for 10 "status history shows the rollback" has_history
assert_eq "$(doc '.status.history[-1].trigger')" "BelowThreshold: rmse 45000 > 40000"
# the printer column: MODEL, then the deciding metric
valid() { [ "$(doc '.status.conditions[]? | select(.type == "ModelValid") | .reason')" = AboveThreshold ]; }
wait_for 15 "ModelValid AboveThreshold on v1" valid
cols=$(kadm get shp model -n "$NS" --no-headers)
assert_contains "$cols" "v1" "the Model column"
assert_contains "$cols" "accuracy 0.800 ≥ 0.700" "the Metric column"

kill -TERM $ctl
wait $ctl || fail "exit status after SIGTERM"
forbidden=$(envtest_forbidden "$SA_USER")
[ -z "$forbidden" ] || fail "Forbidden under manifests/rbac.yaml: $forbidden"
echo "kube metrics: rmse 45000 > 40000 alone rolled v3 back to v1 (v2's rmse 52000 fails)"
