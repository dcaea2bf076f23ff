#!/usr/bin/env bash
# Alerts and dashboard (issue 17, part 4): `promtool check rules` and `promtool
# test rules` (a unit test for every alert) on deploy/monitoring/selfheal-alerts.yaml;
# every metric the alerts and the Grafana dashboard's queries name is exported
# on /metrics by a running controller (`selfheal run` on a small specs folder
# with every loop); the chart's copies in helm/selfheal/files/ are up to date.
source "$(dirname "$0")/lib/common.sh"
cd "$SH_ROOT"
command -v promtool >/dev/null || fail "promtool is not installed (tests/deps.sh test: Debian's prometheus)"

promtool check rules deploy/monitoring/selfheal-alerts.yaml >"$TMP/check.log" 2>&1 || fail "promtool check rules: $(cat "$TMP/check.log")"
(cd deploy/monitoring && promtool test rules selfheal-alerts.test.yaml) >"$TMP/test.log" 2>&1 ||
    fail "promtool test rules: $(cat "$TMP/test.log")"

# every alert has a unit test
/usr/bin/python3 - <<'PY' || fail "alerts without a unit test"
import sys, yaml
rules = {r["alert"] for g in yaml.safe_load(open("deploy/monitoring/selfheal-alerts.yaml"))["groups"] for r in g["rules"]}
tests = yaml.safe_load(open("deploy/monitoring/selfheal-alerts.test.yaml"))["tests"]
fired = {t["alertname"] for x in tests for t in x.get("alert_rule_test", []) if t.get("exp_alerts")}
missing = sorted(rules - fired)
if missing:
    sys.exit("never expected to fire in a test: %s" % missing)
print("%d alerts, each fires in a test" % len(rules))
PY

# the chart carries copies (helm reads files only inside the chart)
for f in selfheal-alerts.yaml selfheal-dashboard.json; do
    cmp -s "deploy/monitoring/$f" "helm/selfheal/files/$f" || fail "helm/selfheal/files/$f differs from deploy/monitoring/$f: run make chart-monitoring"
done

# the metric names of every alert expression and every dashboard query
/usr/bin/python3 - >"$TMP/queries" <<'PY'
import json, re, yaml
exprs = [r["expr"] for g in yaml.safe_load(open("deploy/monitoring/selfheal-alerts.yaml"))["groups"] for r in g["rules"]]
dash = json.load(open("deploy/monitoring/selfheal-dashboard.json"))
exprs += [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
exprs += [v["definition"] for v in dash["templating"]["list"] if v.get("definition")]
assert len(exprs) > 20, len(exprs)
names = set()
for e in exprs:
    names |= set(re.findall(r"\bselfheal_[a-z_]+", e))
    # only selfheal's own metrics: no other family may be queried
    others = set(re.findall(r"\b([a-z_]+)\s*[{(\[]", e)) - {
        "sum", "max", "min", "rate", "increase", "histogram_quantile", "by", "without", "on", "absent",
        "label_values", "unless", "and", "or"}
    others = {o for o in others if not o.startswith("selfheal_")}
    assert not others, (e, others)
for n in sorted(names):
    print(n)
PY

# a controller with every loop, so every family is registered
mkdir -p "$TMP/specs" "$TMP/data" "$TMP/models"
printf '{"accuracy": 0.9}\n' >"$TMP/m.json"
printf 'a,b\n1,2\n3,4\n' >"$TMP/data/d.csv"
cp "$TMP/data/d.csv" "$TMP/data/ref.csv"
cat >"$TMP/specs/p.yaml" <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: mon}
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:9/health", interval: 1s, timeout: 500ms}
    recovery: {method: command, command: ["true"], maxAttempts: 1, backoff: 100ms}
  model:
    metric: {source: {file: {path: $TMP/m.json, jsonPointer: /accuracy}}, interval: 1s}
    rollback: {registry: {path: $TMP/models}}
  drift:
    reference: {path: $TMP/data/ref.csv}
    current: {path: $TMP/data/d.csv}
    retrain: {command: ["true"]}
  dataQuality: {path: $TMP/data/d.csv, interval: 1s}
YAML
port=$(free_port)
"$SELFHEAL" run --specs "$TMP/specs" --state "$TMP/state" --listen "127.0.0.1:$port" >"$TMP/ctl.log" 2>&1 &
track $!
wait_for 10 "/readyz" curl -fsS "http://127.0.0.1:$port/readyz"
has_actions() { curl -fsS "http://127.0.0.1:$port/metrics" | grep -q '^selfheal_actions_total{'; }
wait_for 15 "an action counted" has_actions
curl -fsS "http://127.0.0.1:$port/metrics" >"$TMP/metrics"
n=0
while read -r name; do
    n=$((n + 1))
    base=$(sed -E 's/_(bucket|sum|count)$//' <<<"$name")
    grep -qE "^# TYPE $base (counter|gauge|histogram)" "$TMP/metrics" ||
        fail "the alerts or the dashboard query $name, which /metrics does not export"
    if [ "$base" != "$name" ]; then
        grep -q "^# TYPE $base histogram" "$TMP/metrics" || fail "$name: $base is not a histogram"
    fi
done <"$TMP/queries"
[ "$n" -ge 12 ] || fail "only $n metric names in the queries"
echo "PASS: promtool check/test rules; $n metric names of the alerts and the dashboard all on /metrics"
