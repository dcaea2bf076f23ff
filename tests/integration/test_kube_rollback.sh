#!/usr/bin/env bash
# Model rollback on a real kube-apiserver and kube-controller-manager
# (envtest), the scenario of issue 14 with nothing pre-recorded: a CD system
# moves Deployment model-api v1 → v2 → v3 and a live metric endpoint
# (tests/fixtures/version_metric_server.py) follows the running version:
# v1 0.82, v2 0.91, v3 0.65 (minAccuracy 0.70). The controller sees v1 and v2
# serve (their readings land in status.model.versions, its own evidence), then
# within 10 s of v3 going live rolls the Deployment back to the v2 revision
# (the Deployment controller reuses v2's ReplicaSet as a new revision), and
# stays there; a RolledBack Event and a history entry say so. Three scenarios,
# run side by side, each in its own namespace with its own controller:
#   annotation  the version in the pod-template annotation selfheal.dev/model-version
#   env         the version in container api's env var MODEL_VERSION
#   restart     as annotation, with the controller SIGKILLed after v2 and
#               started again once v3 is live: the evidence survives in status
#   midread     as annotation, with a slow metric backend (0.9 s) and v2 going
#               live while the controller's reading of v1 is under way: that
#               reading (v2's 0.91, taken after the change) is no evidence
#               for v1 (the model loop checks the version again after each
#               reading and discards one taken across a change).
# `test_kube_rollback.sh SCENARIO...` runs only those. The controller runs under
# a ServiceAccount token bound only to $SH_RBAC_RULES (default
# manifests/rbac.yaml); no request of it may be Forbidden (the audit log).
# SH_SA_USER_OUT=FILE gets the controller's user names appended (test_rbac.sh).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v kubectl >/dev/null || fail "kubectl is not installed"
[ $# -gt 0 ] || set -- annotation env restart midread

if [ $# -gt 1 ]; then # one control plane, one child per scenario, side by side
    envtest_up
    [ -n "${SH_ENVTEST_DIR:-}" ] || export SH_ENVTEST_DIR=$_envtest_own
    pids=()
    for s in "$@"; do
        bash "$0" "$s" >"$TMP/$s.log" 2>&1 &
        pids+=($!)
        track $!
    done
    failed=
    i=0
    for s in "$@"; do
        if wait "${pids[$i]}"; then
            echo "PASS $s: $(tail -1 "$TMP/$s.log")"
        else
            echo "FAIL $s:" >&2
            sed 's/^/    | /' "$TMP/$s.log" >&2
            failed="$failed $s"
        fi
        i=$((i + 1))
    done
    [ -z "$failed" ] || fail "rollback scenarios failed:$failed"
    echo ok
    exit 0
fi

scenario=$1
case $scenario in annotation | env | restart | midread) ;; *) fail "unknown scenario $scenario" ;; esac
trap 'rc=$?; [ $rc = 0 ] || { echo "--- controller log (tail):" >&2; tail -n 40 "$TMP/ctl.log" >&2 2>/dev/null;
    echo "--- pipeline status:" >&2; kadm get shp model -n "$NS" -o json 2>&1 | jq .status >&2; }; cleanup' EXIT

envtest_up
envtest_namespace "rb-$scenario"
envtest_controller_kubeconfig "$NS" "$TMP/sa.kubeconfig" "${SH_RBAC_RULES:-}"
[ -z "${SH_SA_USER_OUT:-}" ] || echo "$SA_USER" >>"$SH_SA_USER_OUT"

# the Deployment at v1, as the CD system first applies it
if [ "$scenario" = env ]; then
    version_from='{env: {container: api, name: MODEL_VERSION}}'
    fixture_from=(--env api MODEL_VERSION)
    tmpl_meta='{labels: {app: model-api}}'
    env_v1='[{name: MODEL_VERSION, value: v1}]'
else
    version_from='{annotation: selfheal.dev/model-version}'
    fixture_from=(--annotation selfheal.dev/model-version)
    tmpl_meta='{labels: {app: model-api}, annotations: {selfheal.dev/model-version: v1}}'
    env_v1='[]'
fi
kadm apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: model-api}
spec:
  replicas: 1
  selector: {matchLabels: {app: model-api}}
  template:
    metadata: $tmpl_meta
    spec:
      containers:
      - {name: sidecar, image: "proxy:1"}
      - {name: api, image: "api:v1", env: $env_v1}
YAML
# the CD system moves to version V: one patch of the pod template (one revision)
deploy() {
    local c="{\"name\":\"api\",\"image\":\"api:$1\"}" meta='{}'
    if [ "$scenario" = env ]; then # env is merged by name: only MODEL_VERSION changes
        c="{\"name\":\"api\",\"image\":\"api:$1\",\"env\":[{\"name\":\"MODEL_VERSION\",\"value\":\"$1\"}]}"
    else
        meta="{\"annotations\":{\"selfheal.dev/model-version\":\"$1\"}}"
    fi
    kadm patch deployment model-api -n "$NS" --type strategic \
        -p "{\"spec\":{\"template\":{\"metadata\":$meta,\"spec\":{\"containers\":[$c]}}}}" >/dev/null
}
# the version the Deployment's pod template carries now
version() {
    if [ "$scenario" = env ]; then
        kadm get deployment model-api -n "$NS" -o json |
            jq -r '.spec.template.spec.containers[] | select(.name == "api") | .env[]? | select(.name == "MODEL_VERSION") | .value'
    else
        kadm get deployment model-api -n "$NS" -o json | jq -r '.spec.template.metadata.annotations["selfheal.dev/model-version"]'
    fi
}

# the live metric of the running version
slow=
[ "$scenario" = midread ] && slow=1
/usr/bin/python3 "$SH_ROOT/tests/fixtures/version_metric_server.py" --port-file "$TMP/metric.port" \
    --namespace "$NS" --deployment model-api "${fixture_from[@]}" \
    --metric v1=0.82 --metric v2=0.91 --metric v3=0.65 ${slow:+--delay 0.9 --arrivals "$TMP/arrivals"} 2>"$TMP/metric.log" &
track $!
wait_for 20 "the metric server" test -s "$TMP/metric.port"
murl=http://127.0.0.1:$(cat "$TMP/metric.port")/metric
reads() { [ "$(curl -fsS "$murl" | jq -r .version)" = "$1" ]; }
wait_for 10 "the metric server reading v1" reads v1

reload=
[ "$scenario" = annotation ] && reload=', reload: restart'
kadm apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: model}
spec:
  model:
    metric: {source: {http: {url: "$murl", jsonPointer: /accuracy}}, interval: 1s}
    minAccuracy: 0.70
    failureLimit: 1
    rollback: {deployment: model-api, versionFrom: $version_from, maxRollbacks: 3, window: 24h$reload}
YAML

start_controller() {
    port=$(free_port)
    "$SELFHEAL" run --kubeconfig "$TMP/sa.kubeconfig" --namespace "$NS" --listen "127.0.0.1:$port" \
        --log-format json >>"$TMP/ctl.log" 2>&1 &
    ctl=$!
    track $ctl
    wait_for 30 "/readyz" curl -fsS "http://127.0.0.1:$port/readyz"
}
start_controller

doc() { kadm get shp model -n "$NS" -o json | jq -r "$1"; }
evidence() { # VERSION METRIC: status.model.versions records the controller's reading of VERSION
    [ "$(doc ".status.model.versions[]? | select(.version == \"$1\") | .metric")" = "$2" ]
}
wait_for 30 "v1 serving, seen by the controller (status.model.versions v1 0.82)" evidence v1 0.82
if [ -n "$slow" ]; then # v2 goes live while the controller's next reading is under way
    seen=$(wc -l <"$TMP/arrivals")
    arrived() { [ "$(wc -l <"$TMP/arrivals")" -gt "$seen" ]; }
    wait_for 10 "the controller's next reading" arrived
fi
deploy v2
wait_for 10 "the metric server reading v2" reads v2
wait_for 30 "v2 serving, seen by the controller (status.model.versions v2 0.91)" evidence v2 0.91
evidence v1 0.82 || fail "v1's evidence lost once v2 serves: $(doc .status.model)"

if [ "$scenario" = restart ]; then
    kill -KILL $ctl
    wait $ctl 2>/dev/null || true
fi
deploy v3
t0=$(date +%s%N)
[ "$scenario" = restart ] && start_controller
is_v2() { [ "$(version)" = v2 ]; }
wait_for 10 "deployment model-api rolled back to v2 within 10 s of v3 going live" is_v2
took_ms=$((($(date +%s%N) - t0) / 1000000))

# the v2 pod template, copied whole: the Deployment controller reuses v2's
# ReplicaSet as the newest revision (as `kubectl rollout undo` would)
dep=$(kadm get deployment model-api -n "$NS" -o json)
assert_eq "$(jq -r '.spec.template.spec.containers[] | select(.name == "api") | .image' <<<"$dep")" api:v2 "pod template copied"
assert_eq "$(jq -r '.spec.template.spec.containers[0].name' <<<"$dep")" sidecar "containers kept in order"
assert_eq "$(jq -r '.spec.template.metadata.labels["pod-template-hash"] // "none"' <<<"$dep")" none "no pod-template-hash"
rs_json() { kadm get replicasets -n "$NS" -l app=model-api -o json; }
v2_newest() {
    local rs
    rs=$(rs_json)
    [ "$(jq '.items | length' <<<"$rs")" = 3 ] || return 1
    [ "$(jq -r '.items | max_by(.metadata.annotations["deployment.kubernetes.io/revision"] | tonumber)
        | .spec.template.spec.containers[] | select(.name == "api") | .image' <<<"$rs")" = api:v2 ]
}
wait_for 30 "v2's ReplicaSet reused as the newest revision (still 3 ReplicaSets)" v2_newest
revision() { kadm get deployment model-api -n "$NS" -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}'; }
rev4() { [ "$(revision)" = 4 ]; }
wait_for 30 "the Deployment at revision 4 (v1, v2, v3, v2 again)" rev4

# status history and the Event
has_history() { [ "$(doc '.status.history[-1].to')" = v2 ]; }
wait_for 10 "status history shows the rollback" has_history
assert_eq "$(doc '.status.history[-1].from')" v3 "rolled back from"
assert_eq "$(doc '.status.history[-1].loop')" model
# (the Warning RolledBack Events are the conditions' transitions; the action's is Normal)
events() { kadm get events -n "$NS" -o json | jq -r '.items[] | select(.involvedObject.name == "model" and .reason == "RolledBack" and .type == "Normal")'; }
has_event() { [ -n "$(events)" ]; }
wait_for 10 "the RolledBack Event" has_event
[ "$scenario" != annotation ] ||
    assert_contains "$(events | jq -r .message)" "rolls the serving pods" "reload: restart is the rollout itself on a cluster"

# and stays on v2: no further rollback while v2 serves 0.91
for _ in $(seq 40); do
    v=$(version)
    [ "$v" = v2 ] || fail "moved off v2 after the rollback: now $v"
    sleep 0.1
done
n=$(doc '[.status.history[]? | select(.loop == "model" and .action == "rollback")] | length')
assert_eq "$n" 1 "rollbacks in status history"
assert_eq "$(events | jq -s 'map(.count // 1) | add')" 1 "RolledBack Events"
assert_eq "$(doc '.status.model.version')" v2 "status.model.version"

kill -TERM $ctl
rc=0
wait $ctl || rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM"
forbidden=$(envtest_forbidden "$SA_USER")
[ -z "$forbidden" ] || fail "Forbidden under ${SH_RBAC_RULES:-manifests/rbac.yaml}: $forbidden"
echo "kube rollback ($scenario): v3 0.65 → v2 0.91 from the controller's own evidence, $took_ms ms after v3 went live"
