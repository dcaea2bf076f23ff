#!/usr/bin/env bash
# A Deployment named by the spec that does not exist, on a real kube-apiserver
# (envtest; issue 22 items 6 and 7; item 13: the audit files of kube mode go
# to its state folder): a configuration error, said as one.
#   svc    service.recovery.deployment local-api is missing, the probe fails:
#          ServiceHealthy says DeploymentNotFound with the name and namespace,
#          no recovery attempt is counted (no "3 recovery attempts did not heal
#          it", no RecoveryExhausted, no history entry); when the Deployment
#          appears the loop makes attempt 1 by itself (a rollout restart).
#   model  model.rollback.deployment local-api is missing, the metric is below:
#          ModelValid says DeploymentNotFound (never NoGoodVersion, phase
#          NeedsAttention); when the Deployment appears the model is judged.
#   noversion the Deployment exists but its template carries no model version,
#          the metric passes: the Normal AboveThreshold message carries no
#          unrelated registry error.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v kubectl >/dev/null || fail "kubectl is not installed"
trap 'rc=$?; [ $rc = 0 ] || { echo "--- controller log (tail):" >&2; tail -n 25 "$TMP/ctl.log" >&2 2>/dev/null;
    for p in svc model noversion; do echo "--- $p:" >&2; kadm get shp $p -n "$NS" -o json 2>&1 | jq .status >&2; done; }; cleanup' EXIT

envtest_up
envtest_namespace missing
envtest_controller_kubeconfig "$NS" "$TMP/sa.kubeconfig"

echo '{"accuracy": 0.60}' >"$TMP/low.json"
echo '{"accuracy": 0.99}' >"$TMP/high.json"
dead=$(free_port) # nothing listens there: every probe fails
kadm apply -n "$NS" -f - >"$TMP/apply.log" 2>&1 <<YAML || fail "apply: $(cat "$TMP/apply.log")"
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: svc}
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:$dead/health", interval: 200ms, timeout: 100ms, failureThreshold: 1}
    recovery: {method: restart, deployment: local-api, maxAttempts: 3, backoff: 100ms}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: model}
spec:
  model:
    metric: {source: {file: {path: "$TMP/low.json", jsonPointer: /accuracy}}, interval: 1s}
    minAccuracy: 0.95
    failureLimit: 1
    rollback: {deployment: local-api}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: noversion}
spec:
  model:
    metric: {source: {file: {path: "$TMP/high.json", jsonPointer: /accuracy}}, interval: 1s}
    minAccuracy: 0.95
    rollback: {deployment: plain}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: plain}
spec:
  replicas: 1
  selector: {matchLabels: {app: plain}}
  template:
    metadata: {labels: {app: plain}}
    spec: {containers: [{name: api, image: "api:1"}]}
YAML

port=$(free_port)
(cd "$TMP" && exec "$SELFHEAL" run --kubeconfig "$TMP/sa.kubeconfig" --namespace "$NS" \
    --listen "127.0.0.1:$port" --log-format json >"$TMP/ctl.log" 2>&1) &
ctl=$!
track $ctl
wait_for 30 "/readyz" curl -fsS "http://127.0.0.1:$port/readyz"

cond() { # PIPELINE TYPE FIELD
    kadm get shp "$1" -n "$NS" -o json | jq -r --arg t "$2" ".status.conditions[]? | select(.type == \$t) | .$3"
}
reason_is() { [ "$(cond "$1" "$2" reason)" = "$3" ]; }

# --- svc: the restart cannot be made; nothing is counted
wait_for 20 "svc: DeploymentNotFound" reason_is svc ServiceHealthy DeploymentNotFound
sleep 3 # 15 probe intervals, far past maxAttempts × backoff
msg=$(cond svc ServiceHealthy message)
assert_contains "$msg" "deployment local-api not found in namespace $NS"
assert_contains "$msg" "spec.service.recovery.deployment"
assert_not_contains "$msg" "did not heal"
assert_eq "$(cond svc ServiceHealthy reason)" DeploymentNotFound "svc reason after 3 s"
st=$(kadm get shp svc -n "$NS" -o json)
assert_eq "$(jq -r '.status.service.recoveryAttempts // 0' <<<"$st")" 0 "recovery attempts counted"
assert_eq "$(jq -r '.status.history // [] | length' <<<"$st")" 0 "history entries"
assert_eq "$(jq -r .status.phase <<<"$st")" NeedsAttention "svc phase"
events=$(kadm get events -n "$NS" -o json)
jq -e '[.items[] | select(.reason == "RecoveryExhausted" or .reason == "RecoveryFailed")] | length == 0' \
    <<<"$events" >/dev/null || fail "events about attempts never made: $(jq -c '[.items[].reason]' <<<"$events")"
jq -e '[.items[] | select(.reason == "DeploymentNotFound" and .involvedObject.name == "svc")] | length == 1' \
    <<<"$events" >/dev/null || fail "not one DeploymentNotFound event for svc: $(jq -c '[.items[].reason]' <<<"$events")"

# --- model: a configuration error, not a verdict
wait_for 20 "model: DeploymentNotFound" reason_is model ModelValid DeploymentNotFound
msg=$(cond model ModelValid message)
assert_contains "$msg" "deployment local-api not found in namespace $NS (spec.model.rollback.deployment)"
assert_not_contains "$msg" "404"
sleep 2
assert_eq "$(cond model ModelValid reason)" DeploymentNotFound "model reason after 2 s"
assert_eq "$(kadm get shp model -n "$NS" -o jsonpath='{.status.phase}')" NeedsAttention "model phase"

# --- noversion: the passing reading's message is about the reading only
wait_for 20 "noversion: AboveThreshold" reason_is noversion ModelValid AboveThreshold
msg=$(cond noversion ModelValid message)
assert_not_contains "$msg" "carries no model version"
assert_not_contains "$msg" "("

# --- the Deployment appears: both loops go on by themselves
kadm apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: local-api}
spec:
  replicas: 1
  selector: {matchLabels: {app: local-api}}
  template:
    metadata: {labels: {app: local-api}, annotations: {selfheal.dev/model-version: v1}}
    spec: {containers: [{name: api, image: "api:v1"}]}
YAML
attempted() { [ "$(kadm get shp svc -n "$NS" -o jsonpath='{.status.service.recoveryAttempts}')" -ge 1 ] 2>/dev/null; }
wait_for 20 "svc: a recovery attempt once local-api exists" attempted
restarted=$(kadm get deployment local-api -n "$NS" -o json |
    jq -r '.spec.template.metadata.annotations["selfheal.dev/restartedAt"] // ""')
[ -n "$restarted" ] || fail "local-api was not restarted"
# kube mode: the brief's audit files go to the state folder (.selfheal in the
# working folder without --state), never among a local controller's
wait_for 10 "the recovery log in the state folder" test -s "$TMP/.selfheal/monitoring/recovery_log.json"
[ ! -e "$TMP/monitoring" ] || fail "kube mode wrote the recovery log into the working folder"
judged() { ! reason_is model ModelValid DeploymentNotFound && [ -n "$(cond model ModelValid reason)" ]; }
wait_for 20 "model: judged once local-api exists" judged
assert_eq "$(kadm get shp model -n "$NS" -o jsonpath='{.status.model.version}')" v1 "model version"

kill -TERM $ctl
wait $ctl || true
forbidden=$(envtest_forbidden "$SA_USER")
[ -z "$forbidden" ] || fail "Forbidden under manifests/rbac.yaml: $forbidden"
echo ok
