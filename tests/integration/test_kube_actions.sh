#!/usr/bin/env bash
# Kubernetes actions (issue 7, acceptance 1 and 2) against the API emulator:
# recovery `method: restart` patches the Deployment's pod-template annotation
# selfheal.dev/restartedAt at most maxAttempts times; `method: delete-pods`
# deletes the Deployment's pods by its selector; a model below threshold is
# rolled back to the pod template of the newest older ReplicaSet revision
# whose recorded metric (ReplicaSet annotation selfheal.dev/metric) passed,
# with status history and a RolledBack Event.
# SH_SELFHEAL may name another binary (default bin/selfheal); SH_EMU_LOG_OUT=FILE
# saves the emulator's request log (test_rbac.sh). The controller runs with
# --leader-elect, so Lease calls are part of it.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/kube.sh"
SELFHEAL=${SH_SELFHEAL:-$SELFHEAL}
trap 'rc=$?; [ $rc = 0 ] || { echo "--- controller log (tail):" >&2; tail -n 25 "$TMP/ctl.log" >&2 2>/dev/null; }; cleanup' EXIT

start_emulator test-token --pods --crd "$SH_ROOT/crd/selfhealingpipelines.selfheal.dev.yaml"
post() { api -X POST -H 'Content-Type: application/json' --data-binary @- "$url$1" >/dev/null; }
mpatch() { api -X PATCH -H 'Content-Type: application/merge-patch+json' -d "$2" "$url$1" >/dev/null; }
D=/apis/apps/v1/namespaces/ml/deployments
P=/apis/selfheal.dev/v1alpha1/namespaces/ml/selfhealingpipelines

echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ml"}}' | post /api/v1/namespaces
deployment() { # NAME VERSION
    post $D <<JSON
{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"$1","namespace":"ml"},
 "spec":{"replicas":2,"selector":{"matchLabels":{"app":"$1"}},
  "template":{"metadata":{"labels":{"app":"$1"},"annotations":{"selfheal.dev/model-version":"$2"}},
   "spec":{"containers":[{"name":"api","image":"api:$2"}]}}}}
JSON
}
set_version() { mpatch "$D/$1" "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"selfheal.dev/model-version\":\"$2\"}},\"spec\":{\"containers\":[{\"name\":\"api\",\"image\":\"api:$2\"}]}}}}"; }

# the model history: v1 0.82, v2 0.91, v3 0.65 (current), recorded on the ReplicaSets
deployment web v1
set_version web v2
set_version web v3
rs_json() { api "$url/apis/apps/v1/namespaces/ml/replicasets?labelSelector=app%3Dweb"; }
[ "$(rs_json | jq '.items | length')" = 3 ] || fail "three revisions: $(rs_json)"
for vm in v1=0.82 v2=0.91 v3=0.65; do
    rs=$(rs_json | jq -r --arg v "${vm%%=*}" '.items[] | select(.spec.template.metadata.annotations["selfheal.dev/model-version"] == $v) | .metadata.name')
    [ -n "$rs" ] || fail "no ReplicaSet for ${vm%%=*}"
    mpatch "/apis/apps/v1/namespaces/ml/replicasets/$rs" "{\"metadata\":{\"annotations\":{\"selfheal.dev/metric\":\"${vm#*=}\"}}}"
done
printf '{"accuracy": 0.65}\n' >"$TMP/metric.json"

deployment api v1
deployment pods v1
dead=$(free_port) # nothing listens there: the service is unhealthy
post $P <<JSON
{"apiVersion":"selfheal.dev/v1alpha1","kind":"SelfHealingPipeline","metadata":{"name":"restart","namespace":"ml"},
 "spec":{"service":{"healthCheck":{"url":"http://127.0.0.1:$dead/health","interval":"1s","timeout":"500ms","failureThreshold":1,"startupTimeout":"1s"},
  "recovery":{"method":"restart","deployment":"api","maxAttempts":2,"backoff":"1s","resetAfter":"1h"}}}}
JSON
post $P <<JSON
{"apiVersion":"selfheal.dev/v1alpha1","kind":"SelfHealingPipeline","metadata":{"name":"delpods","namespace":"ml"},
 "spec":{"service":{"healthCheck":{"url":"http://127.0.0.1:$dead/health","interval":"1s","timeout":"500ms","failureThreshold":1},
  "recovery":{"method":"delete-pods","deployment":"pods","maxAttempts":1,"backoff":"1s","resetAfter":"1h"}}}}
JSON
post $P <<JSON
{"apiVersion":"selfheal.dev/v1alpha1","kind":"SelfHealingPipeline","metadata":{"name":"model","namespace":"ml"},
 "spec":{"model":{"metric":{"source":{"file":{"path":"$TMP/metric.json","jsonPointer":"/accuracy"}},"interval":"1s"},
  "minAccuracy":0.70,"failureLimit":1,
  "rollback":{"deployment":"web","versionFrom":{"annotation":"selfheal.dev/model-version"},"maxRollbacks":1,"window":"24h","reload":"restart"}}}}
JSON
pods_before=$(api "$url/api/v1/namespaces/ml/pods?labelSelector=app%3Dpods" | jq -r '[.items[].metadata.name] | sort | join(",")')
[ -n "$pods_before" ] || fail "the emulator made no pods for deployment pods"

port=$(free_port)
"$SELFHEAL" run --kubeconfig "$kc" --leader-elect --leader-elect-namespace ml --listen "127.0.0.1:$port" --log-format json >"$TMP/ctl.log" 2>&1 &
ctl=$!
track $ctl
wait_for 10 "/readyz" curl -fsS "http://127.0.0.1:$port/readyz"

# 1. restart: the annotation, then no more than maxAttempts patches (each
#    after the restarted pods' startupTimeout, 1 s here, without an answer)
restarted() { api "$url$D/api" | jq -e '.spec.template.metadata.annotations["selfheal.dev/restartedAt"] | test("^[0-9]{4}-")'; }
wait_for 10 "restartedAt annotation on deployment api" restarted
patches() { api "$url/_emulator/log?since=0" | jq '[.items[] | select(.method == "PATCH" and .path == "'$D'/api")] | length'; }
at_max() { [ "$(patches)" = 2 ]; }
wait_for 15 "the second restart" at_max
sleep 4
assert_eq "$(patches)" 2 "restart patches after maxAttempts (2)"
[ "$(api "$url/apis/apps/v1/namespaces/ml/replicasets?labelSelector=app%3Dapi" | jq '.items | length')" -ge 2 ] ||
    fail "the restart made no new ReplicaSet"

# delete-pods: the pods of deployment pods were deleted (the emulator re-creates them)
deletes() { api "$url/_emulator/log?since=0" | jq '[.items[] | select(.method == "DELETE" and (.path | startswith("/api/v1/namespaces/ml/pods/pods-")))] | length'; }
some_deleted() { [ "$(deletes)" -ge 2 ]; }
wait_for 10 "pods of deployment pods deleted" some_deleted
pods_after=$(api "$url/api/v1/namespaces/ml/pods?labelSelector=app%3Dpods" | jq -r '[.items[].metadata.name] | sort | join(",")')
[ "$pods_after" != "$pods_before" ] || fail "the same pods still run: $pods_after"
assert_eq "$(api "$url/api/v1/namespaces/ml/pods?labelSelector=app%3Dapi" | jq '[.items[]] | length > 0')" true "other pods untouched"

# 2. rollback to v2 (0.91), the newest older revision that passed
version() { api "$url$D/web" | jq -r '.spec.template.metadata.annotations["selfheal.dev/model-version"]'; }
is_v2() { [ "$(version)" = v2 ]; }
wait_for 10 "deployment web rolled back to v2" is_v2
assert_eq "$(api "$url$D/web" | jq -r '.spec.template.spec.containers[0].image')" "api:v2" "pod template copied"
assert_eq "$(api "$url$D/web" | jq -r '.spec.template.metadata.labels["pod-template-hash"] // "none"')" none "no pod-template-hash"
doc() { api "$url$P/model" | jq -r "$1"; }
has_history() { [ "$(doc '.status.history[-1].to')" = v2 ]; }
wait_for 5 "status history shows the rollback" has_history
assert_eq "$(doc '.status.history[-1].from')" v3 "rolled back from"
assert_eq "$(doc '.status.history[-1].loop')" model
ev=$(api "$url/api/v1/namespaces/ml/events" | jq -r '.items[] | select(.involvedObject.name == "model") | .reason')
assert_contains "$ev" RolledBack "the RolledBack Event"
rb=$(api "$url/api/v1/namespaces/ml/events" | jq -r '.items[] | select(.involvedObject.name == "model" and .reason == "RolledBack") | .message')
assert_contains "$rb" "rolls the serving pods" "reload: restart is the rollout itself on a cluster"
# the v2 ReplicaSet was reused (revision bumped), as rollout undo does: still three
assert_eq "$(rs_json | jq '.items | length')" 3 "ReplicaSets of web after the rollback"

kill -TERM $ctl
rc=0
wait $ctl || rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM"
# the requests the controller made (watches are logged once they end), for test_rbac.sh
watch_logged() { api "$url/_emulator/log?since=0" | jq -e '[.items[] | select((.agent | startswith("selfheal/")) and (.query | test("watch=")))] | length > 0'; }
if [ -n "${SH_EMU_LOG_OUT:-}" ]; then
    api -X POST "$url/_emulator/drop-watches" >/dev/null
    wait_for 10 "the controller's watch in the log" watch_logged
fi
[ -z "${SH_EMU_LOG_OUT:-}" ] || api "$url/_emulator/log?since=0" >"$SH_EMU_LOG_OUT"
echo ok
