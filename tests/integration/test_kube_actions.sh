#!/usr/bin/env bash
# Kubernetes recovery actions (issue 7, acceptance 1) on a real kube-apiserver
# and kube-controller-manager (envtest): recovery `method: restart` patches the
# Deployment's pod-template annotation selfheal.dev/restartedAt — at most
# maxAttempts times — and the Deployment controller rolls a new ReplicaSet;
# `method: delete-pods` deletes the Deployment's pods (Pending: there is no
# kubelet) by its selector, and its ReplicaSet replaces them; nothing else is
# touched. The controller runs with --leader-elect (Lease calls are part of
# it), under a ServiceAccount token bound only to $SH_RBAC_RULES (default
# manifests/rbac.yaml); no request of it may be Forbidden (the audit log).
# Rollback: test_kube_rollback.sh.
# SH_SELFHEAL may name another binary (default bin/selfheal);
# SH_SA_USER_OUT=FILE gets the controller's user name appended (test_rbac.sh).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
SELFHEAL=${SH_SELFHEAL:-$SELFHEAL}
command -v kubectl >/dev/null || fail "kubectl is not installed"
trap 'rc=$?; [ $rc = 0 ] || { echo "--- controller log (tail):" >&2; tail -n 25 "$TMP/ctl.log" >&2 2>/dev/null; }; cleanup' EXIT

envtest_up
envtest_namespace act
envtest_controller_kubeconfig "$NS" "$TMP/sa.kubeconfig" "${SH_RBAC_RULES:-}"
[ -z "${SH_SA_USER_OUT:-}" ] || echo "$SA_USER" >>"$SH_SA_USER_OUT"

deployment() { # NAME REPLICAS
    kadm apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: $2
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec: {containers: [{name: api, image: "api:1"}]}
YAML
}
deployment api 1
deployment pods 2
pod_names() { kadm get pods -n "$NS" -l "app=$1" -o json | jq -r '[.items[] | select(.metadata.deletionTimestamp == null) | .metadata.name] | sort | join(",")'; }
two_pods() { [ "$(pod_names pods | tr ',' '\n' | grep -c .)" = 2 ]; }
wait_for 30 "the ReplicaSet of deployment pods made its 2 pods" two_pods
pods_before=$(pod_names pods)
api_pods() { [ -n "$(pod_names api)" ]; }
wait_for 30 "a pod of deployment api" api_pods

dead=$(free_port) # nothing listens there: the service is unhealthy
kadm apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: restart}
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:$dead/health", interval: 1s, timeout: 500ms, failureThreshold: 1, startupTimeout: 1s}
    recovery: {method: restart, deployment: api, maxAttempts: 2, backoff: 1s, resetAfter: 1h}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: delpods}
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:$dead/health", interval: 1s, timeout: 500ms, failureThreshold: 1, startupTimeout: 1s}
    recovery: {method: delete-pods, deployment: pods, maxAttempts: 1, backoff: 1s, resetAfter: 1h}
YAML

port=$(free_port)
"$SELFHEAL" run --kubeconfig "$TMP/sa.kubeconfig" --namespace "$NS" --leader-elect --leader-elect-namespace "$NS" \
    --listen "127.0.0.1:$port" --log-format json >"$TMP/ctl.log" 2>&1 &
ctl=$!
track $ctl
wait_for 30 "/readyz" curl -fsS "http://127.0.0.1:$port/readyz"

# the controller's successful requests, from the API server's audit log
sa_calls() { # VERB RESOURCE: "name" per call
    jq -r --arg u "$SA_USER" --arg ns "$NS" --arg v "$1" --arg r "$2" 'select(.user.username == $u
        and .stage == "ResponseComplete" and .verb == $v and .objectRef.resource == $r
        and .objectRef.namespace == $ns and (.objectRef.subresource // "") == ""
        and .responseStatus.code < 300) | .objectRef.name' "$ENVTEST_AUDIT"
}
template() { kadm get deployment "$1" -n "$NS" -o json | jq -r ".spec.template$2"; }

# 1. restart: the annotation, then no more than maxAttempts patches
restarted() { template api '.metadata.annotations["selfheal.dev/restartedAt"]' | grep -Eq '^[0-9]{4}-'; }
wait_for 30 "restartedAt annotation on deployment api" restarted
patches() { sa_calls patch deployments | grep -cx api || true; }
at_max() { [ "$(patches)" = 2 ]; }
wait_for 30 "the second restart" at_max
sleep 4 # a window in which a third restart would show
assert_eq "$(patches)" 2 "restart patches after maxAttempts (2)"
rs_count() { kadm get replicasets -n "$NS" -l app=api -o json | jq '.items | length'; }
new_rs() { [ "$(rs_count)" -ge 2 ]; }
wait_for 30 "a new ReplicaSet of api rolled by the Deployment controller" new_rs
phase() { kadm get shp "$1" -n "$NS" -o jsonpath='{.status.conditions[?(@.type=="ServiceHealthy")].reason}'; }
exhausted() { [ "$(phase restart)" = RecoveryExhausted ]; }
wait_for 30 "restart: RecoveryExhausted after 2 attempts" exhausted

# 2. delete-pods: the pods of deployment pods were deleted by name, the
# ReplicaSet made new ones; the pods of api were never deleted by the controller
deleted() { sa_calls delete pods | grep -c '^pods-' || true; }
both_deleted() { [ "$(deleted)" -ge 2 ]; }
wait_for 30 "the 2 pods of deployment pods deleted" both_deleted
for p in ${pods_before//,/ }; do
    grep -qx "$p" <(sa_calls delete pods) || fail "pod $p of deployment pods was not deleted: $(sa_calls delete pods)"
done
replaced() { two_pods && [ "$(pod_names pods)" != "$pods_before" ]; }
wait_for 30 "new pods for deployment pods" replaced
others=$(sa_calls delete pods | grep -v '^pods-' || true)
[ -z "$others" ] || fail "the controller deleted pods of other Deployments: $others"

kill -TERM $ctl
rc=0
wait $ctl || rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM"
forbidden=$(envtest_forbidden "$SA_USER")
[ -z "$forbidden" ] || fail "Forbidden under ${SH_RBAC_RULES:-manifests/rbac.yaml}: $forbidden"
echo "kube actions: restart ×2 (maxAttempts), delete-pods by selector, no Forbidden"
