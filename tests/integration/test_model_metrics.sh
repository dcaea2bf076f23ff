#!/usr/bin/env bash
# Several model metrics (issue 16, acceptance 1, locally): accuracy min 0.70
# and rmse max 40000, both read from JSON files every second.
#
#   v1 {accuracy 0.80, rmse 30000}, v2 {accuracy 0.85, rmse 52000}, v3 current
#   readings accuracy 0.82, rmse 35000   → AboveThreshold, deciding accuracy
#   rmse alone rises to 45210.5          → v3 → v1 (v2's rmse record fails
#                                          max), the Event and ModelValid name
#                                          rmse, its value and its bound
#   rmse NaN (inconclusiveLimit 2)       → once tolerated, twice MetricUnavailable,
#                                          never a rollback
source "$(dirname "$0")/lib/common.sh"

models=$TMP/models
mkdir -p "$models/v1" "$models/v2" "$models/v3"
echo '{"accuracy": 0.80, "rmse": 30000}' >"$models/v1/metrics.json"
echo '{"accuracy": 0.85, "rmse": 52000}' >"$models/v2/metrics.json"
echo '{"accuracy": 0.82, "rmse": 33000}' >"$models/v3/metrics.json"
ln -s v3 "$models/current"
echo '{"r2": 0.82}' >"$TMP/acc.json"
echo '{"rmse": 35000}' >"$TMP/rmse.json"

specs=$TMP/specs
state=$TMP/.selfheal
mkdir -p "$specs"
cat >"$specs/housing.yaml" <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata:
  name: housing
spec:
  model:
    metrics:
      - {name: accuracy, source: {file: {path: $TMP/acc.json, jsonPointer: /r2}}, interval: 1s, min: 0.70}
      - {name: rmse, source: {file: {path: $TMP/rmse.json, jsonPointer: /rmse}}, interval: 1s, max: 40000, inconclusiveLimit: 2}
    rollback:
      registry: {path: $models}
      reload: none
      maxRollbacks: 3
      window: 1h
YAML
"$SELFHEAL" validate -q -f "$specs/housing.yaml" || fail "the spec does not validate"
lport=$(free_port)
"$SELFHEAL" run --specs "$specs" --listen "127.0.0.1:$lport" --log-level debug >"$TMP/run.log" 2>&1 &
track $!

doc() { jq -r "$1" "$state/pipelines/default/housing.json" 2>/dev/null; }
doc_is() { [ "$(doc "$1")" = "$2" ]; }
cond() { doc ".status.conditions[]? | select(.type==\"ModelValid\") | .$1"; }
cond_is() { [ "$(cond "$1")" = "$2" ]; }
current_is() { [ "$(readlink "$models/current")" = "$1" ]; }
on_fail() { echo "--- run.log"; tail -30 "$TMP/run.log"; echo "--- status"; cat "$state/pipelines/default/housing.json" 2>/dev/null; }
trap 'rc=$?; [ $rc -eq 0 ] || on_fail; cleanup' EXIT

# 1. both within their bounds
wait_for 10 "ModelValid AboveThreshold" cond_is reason AboveThreshold
assert_contains "$(cond message)" "accuracy 0.820 ≥ 0.700 with model v3 (rmse 35000 ≤ 40000)"
assert_eq "$(doc .status.model.metric)" 0.82 "status.model.metric is the first metric"
assert_eq "$(doc .status.model.metrics.rmse)" 35000
assert_eq "$(doc '.status.model.versions[-1].metrics.rmse')" 35000 "v3's observed rmse"

# 2. rmse alone goes over its max: rollback to v1, the newest older version good on both
echo '{"rmse": 45210.5}' >"$TMP/rmse.json"
wait_for 10 "rollback to v1" current_is v1
wait_for 5 "the event" grep -q '"reason":"RolledBack"' "$state/events.jsonl"
ev=$(grep '"reason":"RolledBack"' "$state/events.jsonl" | tail -1)
assert_contains "$ev" "rmse 45210.5 > 40000: rolled back v3 → v1"
jq -e '.[0] | .metric == "rmse" and .current_metric == 45210.5 and .threshold == 40000 and .to_version == "v1"' \
    "$models/rollback_log.json" >/dev/null || fail "rollback log entry: $(cat "$models/rollback_log.json")"
assert_eq "$(doc '.status.history[-1].trigger')" "BelowThreshold: rmse 45210.5 > 40000"

# 3. the rolled-back model serves well; rmse unreadable once → tolerated, twice → MetricUnavailable
echo '{"rmse": 30000}' >"$TMP/rmse.json"
wait_for 10 "rollback verified" doc_is '.status.history[-1].outcome' succeeded
echo '{"rmse": "NaN"}' >"$TMP/rmse.json"
wait_for 10 "MetricUnavailable after two unreadable readings" cond_is reason MetricUnavailable
assert_contains "$(cond message)" "rmse: "
assert_eq "$(cond status)" Unknown
current_is v1 || fail "an unreadable metric rolled back"
echo ok
