#!/usr/bin/env bash
# The kubectl plugin: bin/selfheal as kubectl-selfheal on PATH, run by the
# real kubectl against the real API server (envtest) with a controller
# watching the test's namespace — `kubectl selfheal status -n NS`, history,
# why (the backoff before the next recovery attempt), pause / resume (the
# spec changes, the controller reports Paused and emits a Paused Event),
# reset (the annotation, seen by the controller), clear errors and exit
# codes; then the same commands on the local platform (--specs/--state)
# against `selfheal run`, pause/resume/reset editing the spec file in place.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v kubectl >/dev/null || fail "kubectl is not installed"
trap 'rc=$?; [ $rc = 0 ] || { echo "--- controller logs (tail):" >&2; tail -n 20 "$TMP"/*.log >&2 2>/dev/null; }; cleanup' EXIT

mkdir -p "$TMP/path"
ln -s "$SELFHEAL" "$TMP/path/kubectl-selfheal"
export PATH="$TMP/path:$PATH"
kubectl plugin list 2>/dev/null | grep -q kubectl-selfheal || fail "kubectl does not find the plugin: $(kubectl plugin list 2>&1)"

# --- usage, without any cluster --------------------------------------------------
out=$(kubectl selfheal --help)
for c in status history why pause resume reset; do assert_contains "$out" "  $c "; done
rc=0; out=$(kubectl selfheal stauts 2>&1) || rc=$?
assert_eq $rc 2 "an unknown command"
assert_contains "$out" "did you mean status?"
rc=0; out=$(kubectl selfheal why 2>&1) || rc=$?
assert_eq $rc 2 "why without a NAME"
assert_contains "$out" "which pipeline? give its NAME"
for c in status history why pause resume reset; do kubectl selfheal "$c" --help >/dev/null || fail "$c --help"; done

# --- the local platform --------------------------------------------------------------
mkdir -p "$TMP/specs"
cat >"$TMP/specs/api.yaml" <<'YAML'
# the API that never answers
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata:
  name: api
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:9/health", interval: 1s, timeout: 500ms, failureThreshold: 1}
    recovery: {method: command, command: ["true"], maxAttempts: 2, backoff: 1m}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata:
  name: calm
spec:
  escalation: {maxSameIssue: 3, window: 24h}
YAML
"$SELFHEAL" run --specs "$TMP/specs" --state "$TMP/state" --listen 127.0.0.1:0 >"$TMP/local-ctl.log" 2>&1 &
track $!
local_attempted() { grep -q '"recoveryAttempts": *1' "$TMP/state"/default/api.* 2>/dev/null || "$SELFHEAL" get api --state "$TMP/state" -o json 2>/dev/null | grep -q '"recoveryAttempts":[[:space:]]*1'; }
wait_for 20 "local recovery attempt 1" local_attempted
out=$(kubectl selfheal status --state "$TMP/state")
grep -E '^api +Recovering ' <<<"$out" >/dev/null || fail "local status: $out"
grep -E '^calm +Healthy +True ' <<<"$out" >/dev/null || fail "local status: $out"
out=$("$SELFHEAL" history api --state "$TMP/state")
assert_contains "$out" "command"
lbackoff() { "$SELFHEAL" why api --specs "$TMP/specs" --state "$TMP/state" | grep -E 'waiting [0-9]+ s of backoff before recovery attempt 2 of 2'; }
wait_for 15 "local why names the backoff" lbackoff
rc=0; out=$("$SELFHEAL" why nope --state "$TMP/state" 2>&1) || rc=$?
assert_eq $rc 1 "local why of a missing pipeline"
assert_contains "$out" "pipeline 'nope' not found in namespace 'default'"

# pause edits the file in place: the comment and the other document stay
"$SELFHEAL" pause api --specs "$TMP/specs" >/dev/null
assert_contains "$(cat "$TMP/specs/api.yaml")" "# the API that never answers"
assert_contains "$(cat "$TMP/specs/api.yaml")" "  paused: true"
assert_contains "$(cat "$TMP/specs/api.yaml")" "  name: calm"
lpaused() { "$SELFHEAL" status --state "$TMP/state" | grep -E '^api +Paused '; }
wait_for 15 "local api Paused" lpaused
kubectl selfheal resume api --specs "$TMP/specs" >/dev/null
assert_contains "$(cat "$TMP/specs/api.yaml")" "  paused: false"
lresumed() { ! "$SELFHEAL" status --state "$TMP/state" | grep -E '^api +Paused '; }
wait_for 15 "local api resumed" lresumed
out=$("$SELFHEAL" reset api --specs "$TMP/specs")
assert_contains "$out" "reset (selfheal.dev/reset="
assert_contains "$(cat "$TMP/specs/api.yaml")" "selfheal.dev/reset:"
lseen() { "$SELFHEAL" get api --state "$TMP/state" -o json | grep -q '"observedReset"'; }
wait_for 15 "the local controller saw the reset" lseen
rc=0; out=$("$SELFHEAL" pause nope --specs "$TMP/specs" 2>&1) || rc=$?
assert_eq $rc 1 "local pause of a missing pipeline"
assert_contains "$out" "pipeline 'nope' not found in namespace 'default'"
# --- the cluster -------------------------------------------------------------------
envtest_up
envtest_namespace plugin
export KUBECONFIG=$ENVTEST_KUBECONFIG
envtest_controller_kubeconfig "$NS" "$TMP/sa.kubeconfig"
kubectl create deployment api -n "$NS" --image=example.invalid/api >/dev/null
kubectl apply -n "$NS" -f - >"$TMP/apply.out" 2>&1 <<'YAML' || fail "apply: $(cat "$TMP/apply.out")"
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: calm}
spec:
  escalation: {maxSameIssue: 3, window: 24h}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: api}
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:9/health", interval: 1s, timeout: 500ms, failureThreshold: 1}
    recovery: {method: restart, deployment: api, maxAttempts: 3, backoff: 1m, resetAfter: 1h}
YAML
port=$(free_port)
"$SELFHEAL" run --kubeconfig "$TMP/sa.kubeconfig" --namespace "$NS" --listen "127.0.0.1:$port" \
    >"$TMP/kube-ctl.log" 2>&1 &
track $!
wait_for 20 "/readyz" curl -fsS "http://127.0.0.1:$port/readyz"
kubectl wait --for=condition=Ready shp/calm -n "$NS" --timeout=20s >/dev/null

# status: the table, in the namespace asked for; -A adds NAMESPACE
attempted() { kubectl get shp api -n "$NS" -o jsonpath='{.status.service.recoveryAttempts}' | grep -q 1; }
wait_for 20 "recovery attempt 1 of api" attempted
out=$(kubectl selfheal status -n "$NS")
assert_contains "$(head -1 <<<"$out")" "NAME   PHASE"
grep -E '^calm +Healthy +True ' <<<"$out" >/dev/null || fail "status: $out"
grep -E '^api +Recovering +False +(ProbeFailed|Recovering) ' <<<"$out" >/dev/null || fail "status: $out"
assert_contains "$out" "restart started"
out=$(kubectl selfheal status -A)
grep -E "^$NS +calm +Healthy" <<<"$out" >/dev/null || fail "status -A: $out"
out=$(kubectl selfheal status --context "$(kubectl config current-context)" --kubeconfig "$KUBECONFIG" -n "$NS")
assert_contains "$out" "calm"
out=$("$SELFHEAL" status --kubeconfig "$KUBECONFIG" -n "$NS")
grep -E '^calm +Healthy +True ' <<<"$out" >/dev/null || fail "selfheal status --kubeconfig: $out"
out=$(kubectl selfheal status -n "$NS-nothing-here" 2>&1)
assert_contains "$out" "No pipelines found in namespace '$NS-nothing-here'."

# history: newest first
out=$(kubectl selfheal history api -n "$NS")
assert_contains "$(head -1 <<<"$out")" "AGE"
grep -E '^[0-9]+[smh] +service +restart ' <<<"$out" >/dev/null || fail "history: $out"

# why: the backoff before attempt 2 (backoff 1m, grace 1 s)
backoff() { kubectl selfheal why api -n "$NS" | grep -E 'waiting [0-9]+ s of backoff before recovery attempt 2 of 3'; }
wait_for 15 "why names the backoff" backoff
out=$(kubectl selfheal why calm -n "$NS")
assert_contains "$out" "calm is Healthy."

# errors: exit 1 and the namespace named
rc=0; out=$(kubectl selfheal why nope -n "$NS" 2>&1) || rc=$?
assert_eq $rc 1 "why of a missing pipeline"
assert_contains "$out" "pipeline 'nope' not found in namespace '$NS'"
rc=0; out=$(kubectl selfheal pause nope -n "$NS" 2>&1) || rc=$?
assert_eq $rc 1 "pause of a missing pipeline"
assert_contains "$out" "pipeline 'nope' not found in namespace '$NS'"
rc=0; out=$(kubectl selfheal status --context no-such-context 2>&1) || rc=$?
assert_eq $rc 2 "an unknown context"
assert_contains "$out" "no-such-context"

# pause: spec.paused, phase Paused, a Paused Event; resume
out=$(kubectl selfheal pause api -n "$NS")
assert_contains "$out" "pipeline 'api' paused in namespace '$NS'"
assert_eq "$(kubectl get shp api -n "$NS" -o jsonpath='{.spec.paused}')" true "spec.paused after pause"
paused() { kubectl selfheal status -n "$NS" | grep -E '^api +Paused '; }
wait_for 15 "api Paused" paused
wait_for 10 "a Paused Event" bash -c "kubectl get events -n $NS | grep -q Paused"
assert_contains "$(kubectl selfheal why api -n "$NS")" "spec.paused is true"
kubectl selfheal resume api -n "$NS" >/dev/null
assert_eq "$(kubectl get shp api -n "$NS" -o jsonpath='{.spec.paused}')" false "spec.paused after resume"
notpaused() { ! kubectl selfheal status -n "$NS" | grep -E '^api +Paused '; }
wait_for 15 "api no longer Paused" notpaused

# reset: the annotation, which the controller records as observedReset
out=$(kubectl selfheal reset api -n "$NS")
assert_contains "$out" "pipeline 'api' reset (selfheal.dev/reset="
token=$(kubectl get shp api -n "$NS" -o jsonpath='{.metadata.annotations.selfheal\.dev/reset}')
[ -n "$token" ] || fail "no reset annotation"
seen() { [ "$(kubectl get shp api -n "$NS" -o jsonpath='{.status.observedReset}')" = "$token" ]; }
wait_for 15 "the controller saw the reset" seen
echo "ok"
