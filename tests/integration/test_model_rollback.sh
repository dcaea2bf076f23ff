#!/usr/bin/env bash
# The model loop against a REAL Prometheus (issue 3, acceptance 3): Debian's
# prometheus on loopback with a temp config and a 1 s scrape interval scrapes
# the flaky_server fixture's /metrics (model_accuracy); `selfheal run` reads
# the accuracy through PromQL every 3 s.
#
#   Prometheus not started yet   → MetricUnavailable (connection refused), nothing rolls back
#   accuracy 0.88 with v10       → ModelValid AboveThreshold
#   accuracy lowered to 0.65     → current: v10 → v9 (newest older version with ≥ 0.70,
#                                  natural order), rollback log, history, event;
#                                  the rolled-back model serves 0.91 → verified "succeeded"
#   Prometheus stopped, 0.30     → MetricUnavailable, NO rollback for several intervals
#   Prometheus back (same data)  → the low reading is conclusive again: v9 → v2
source "$(dirname "$0")/lib/common.sh"

PROMETHEUS=${PROMETHEUS:-$(command -v prometheus || true)}
[ -x "$PROMETHEUS" ] || fail "prometheus is not installed (Debian package 'prometheus')"
FIXTURE="$SH_ROOT/bin/flaky_server"
[ -x "$FIXTURE" ] || fail "$FIXTURE is not built (make examples)"

# the fixture: serves model_accuracy 0.88 until told otherwise
"$FIXTURE" --port 0 --port-file "$TMP/fixture.port" --accuracy 0.88 >"$TMP/fixture.log" 2>&1 &
track $!
wait_for 5 "fixture port" test -s "$TMP/fixture.port"
fport=$(cat "$TMP/fixture.port")
control() { curl -sf "http://127.0.0.1:$fport/control?$1" >/dev/null || fail "fixture control $1"; }

# the registry: v2 0.82, v9 0.91, v10 0.88 (current); lexicographic order
# would put v10 first and find nothing older than it
models=$TMP/models
for nv in v2=0.82 v9=0.91 v10=0.88; do
    mkdir -p "$models/${nv%%=*}"
    printf '{"accuracy": %s}\n' "${nv#*=}" >"$models/${nv%%=*}/metrics.json"
done
ln -s v10 "$models/current"

pport=$(free_port)
cat >"$TMP/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: fixture
  scrape_interval: 1s
  scrape_timeout: 900ms
  static_configs: [{targets: ['127.0.0.1:$fport']}]
YAML
prom_pid=
start_prometheus() {
    "$PROMETHEUS" --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prometheus-data" \
        --web.listen-address="127.0.0.1:$pport" >>"$TMP/prometheus.log" 2>&1 &
    prom_pid=$!
    track $prom_pid
    wait_for 20 "prometheus ready" curl -sf "http://127.0.0.1:$pport/-/ready"
}
stop_prometheus() {
    kill "$prom_pid"
    wait "$prom_pid" 2>/dev/null || true
    ! curl -sf "http://127.0.0.1:$pport/-/ready" >/dev/null 2>&1 || fail "prometheus still answers"
}

specs=$TMP/specs
state=$specs/.selfheal
mkdir -p "$specs"
cat >"$specs/housing.yaml" <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata:
  name: housing
spec:
  model:
    metric:
      name: accuracy
      source:
        prometheus:
          url: http://127.0.0.1:$pport
          query: 'model_accuracy{job="fixture"}'
      interval: 3s
    minAccuracy: 0.70
    rollback:
      registry: {path: $models}
      reload: none
      maxRollbacks: 3
      window: 1h
YAML
lport=$(free_port)
"$SELFHEAL" run --specs "$specs" --listen "127.0.0.1:$lport" --log-level debug >"$TMP/run.log" 2>&1 &
track $!

doc() { jq -r "$1" "$state/pipelines/default/housing.json" 2>/dev/null; }
doc_is() { [ "$(doc "$1")" = "$2" ]; }
cond() { doc ".status.conditions[]? | select(.type==\"ModelValid\") | .$1"; }
cond_is() { [ "$(cond "$1")" = "$2" ]; }
current() { readlink "$models/current"; }
current_is() { [ "$(current)" = "$1" ]; }
log_len() { if [ -f "$models/rollback_log.json" ]; then jq length "$models/rollback_log.json"; else echo 0; fi; }
on_fail() { echo "--- run.log"; tail -30 "$TMP/run.log"; echo "--- status"; cat "$state/pipelines/default/housing.json" 2>/dev/null; }
trap 'rc=$?; [ $rc -eq 0 ] || on_fail; cleanup' EXIT

# 1. no Prometheus yet: inconclusive, never a rollback
wait_for 5 "MetricUnavailable before Prometheus runs" cond_is reason MetricUnavailable
assert_contains "$(cond message)" "GET http://127.0.0.1:$pport/api/v1/query?query=model_accuracy%7Bjob%3D%22fixture%22%7D: connection refused"
assert_eq "$(cond status)" Unknown "ModelValid status while the metric is unavailable"
assert_eq "$(current)" v10 "nothing rolled back without a reading"

# 2. Prometheus scrapes 0.88: valid
start_prometheus
wait_for 15 "ModelValid AboveThreshold" cond_is reason AboveThreshold
assert_eq "$(doc .status.model.version)" v10
assert_eq "$(doc .status.model.metric)" 0.88
assert_eq "$(doc .status.phase)" Healthy

# 3. the accuracy drops: rollback to v9 (newest older version with ≥ 0.70)
control accuracy=0.65
wait_for 10 "rollback to v9" current_is v9
control accuracy=0.91 # the rolled-back model serves well
assert_eq "$(log_len)" 1 "rollback log entries"
jq -e '.[0] | .from_version == "v10" and .to_version == "v9" and .current_metric == 0.65
        and .to_version_metric == 0.91 and .pipeline == "default/housing" and .trigger == "controller"' \
    "$models/rollback_log.json" >/dev/null || fail "rollback log entry: $(cat "$models/rollback_log.json")"
wait_for 3 "status shows the rollback" doc_is '.status.history[-1].to' v9
# during the grace: v9 served, and v10's 0.65 is not shown beside it (issue 22 item 11)
if [ "$(doc '.status.history[-1].outcome')" = started ]; then
    row=$("$SELFHEAL" status --specs "$specs" | awk '$1 == "housing"')
    assert_contains "$row" "v9"
    assert_not_contains "$row" "0.65"
    [ "$(doc '.status.model.metric // "none"')" != 0.65 ] || fail "v10's 0.65 shown beside v9"
fi
assert_eq "$(doc '.status.history[-1].from')" v10
assert_eq "$(doc '.status.history[-1].loop')" model
grep -q '"reason":"RolledBack"' "$state/events.jsonl" || fail "a RolledBack event"
# after the grace period (one interval) the rollback is verified
wait_for 10 "rollback verified" doc_is '.status.history[-1].outcome' succeeded
wait_for 5 "valid again" cond_is reason AboveThreshold
assert_eq "$(doc .status.model.version)" v9
assert_eq "$(doc .status.model.lastGoodVersion)" v9
assert_eq "$(doc '.status.model.versions | map(.version) | join(",")')" "v10,v9" "versions ledger"
assert_eq "$(doc .status.model.rollbacksInWindow)" 1

# 4. Prometheus stops, then the accuracy drops: inconclusive, nothing rolls back
stop_prometheus
control accuracy=0.30
wait_for 10 "MetricUnavailable after Prometheus stopped" cond_is reason MetricUnavailable
assert_contains "$(cond message)" "connection refused"
sleep 7 # two more metric intervals without a conclusive reading
assert_eq "$(current)" v9 "no rollback during the metric outage"
assert_eq "$(log_len)" 1 "nothing logged during the outage"
assert_eq "$(cond reason)" MetricUnavailable
assert_eq "$(doc .status.phase)" Degraded
# no stale reading: v9's 0.91 is not shown as today's accuracy
assert_eq "$(doc '.status.model.metric // "none"')" none "status.model.metric while unavailable"
assert_contains "$("$SELFHEAL" status --specs "$specs" | awk '$1 == "housing"')" "<none>"

# 5. Prometheus is back: the low reading is conclusive, v9 → v2
start_prometheus
wait_for 15 "rollback to v2 once the metric is readable" current_is v2
assert_eq "$(log_len)" 2
assert_eq "$(jq -r '.[1].from_version + ">" + .[1].to_version' "$models/rollback_log.json")" "v9>v2"
echo "ok"
