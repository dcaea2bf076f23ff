#!/usr/bin/env bash
# The controller's HTTP server (issue 2, acceptance 4): /healthz, /readyz,
# /metrics in a format promtool accepts, the JSON API of pipelines, 404s.
source "$(dirname "$0")/lib/common.sh"
command -v promtool >/dev/null || fail "promtool is not installed (Debian package prometheus)"

mkdir -p "$TMP/specs"
cat >"$TMP/specs/a.yaml" <<'YAML'
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: alpha}
spec: {}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: beta, namespace: ml}
spec:
  model: {minAccuracy: 7}
YAML
port=$(free_port)
"$SELFHEAL" run --specs "$TMP/specs" --listen "127.0.0.1:$port" --log-format json >"$TMP/run.log" 2>&1 &
track $!
url="http://127.0.0.1:$port"
wait_for 5 "/readyz answers 200" curl -fsS "$url/readyz"

code=$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")
assert_eq "$code" 200 "/healthz"

wait_for 3 "both pipelines reconciled" \
    sh -c "curl -fsS $url/api/v1/pipelines | jq -e 'length == 2'"
api=$(curl -fsS "$url/api/v1/pipelines")
assert_eq "$(jq -r '.[] | select(.name=="alpha") | .phase' <<<"$api")" Healthy "alpha via the API"
assert_eq "$(jq -r '.[] | select(.name=="beta") | .phase' <<<"$api")" Invalid "beta via the API"
one=$(curl -fsS "$url/api/v1/pipelines/ml/beta")
assert_eq "$(jq -r .key <<<"$one")" "ml/beta" "one pipeline by key"
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/api/v1/pipelines/ml/nope")
assert_eq "$code" 404 "unknown pipeline"
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/no/such/path")
assert_eq "$code" 404 "unknown path"

curl -fsS "$url/metrics" >"$TMP/metrics.txt"
ctype=$(curl -fsS -o /dev/null -w '%{content_type}' "$url/metrics")
assert_contains "$ctype" "text/plain" "metrics content type"
promtool check metrics <"$TMP/metrics.txt" || fail "promtool rejects /metrics: $(promtool check metrics <"$TMP/metrics.txt" 2>&1)"
for family in selfheal_build_info selfheal_reconcile_total selfheal_reconcile_duration_seconds \
    selfheal_workqueue_depth selfheal_workqueue_adds_total selfheal_workqueue_retries_total \
    selfheal_workqueue_oldest_item_age_seconds selfheal_pipelines; do
    grep -q "^# TYPE $family " "$TMP/metrics.txt" || fail "/metrics lacks $family"
done
grep -q 'selfheal_pipelines{phase="Invalid"} 1' "$TMP/metrics.txt" || fail "pipelines by phase: $(grep selfheal_pipelines "$TMP/metrics.txt")"

# JSON logs: one object per line, pipeline lines name the pipeline
head -5 "$TMP/run.log" | jq -e . >/dev/null || fail "log lines are not JSON"
grep -q '"pipeline":"ml/beta"' "$TMP/run.log" || fail "a log line names ml/beta"

# a second controller on the same address fails to start with a clear message
rc=0
"$SELFHEAL" run --specs "$TMP/specs" --state "$TMP/other-state" --listen "127.0.0.1:$port" \
    >"$TMP/second.log" 2>&1 || rc=$?
assert_eq "$rc" 1 "exit status of a second controller on a busy port"
grep -qi "address already in use" "$TMP/second.log" || fail "busy port message: $(cat "$TMP/second.log")"
echo ok
