#!/usr/bin/env bash
# The chart's monitoring (issue 17, part 4) with the real helm: `helm lint
# --strict` with the PrometheusRule and the dashboard on; both off by default;
# the PrometheusRule carries exactly deploy/monitoring/selfheal-alerts.yaml's
# rules (plus additionalRuleLabels), the ConfigMap exactly the dashboard JSON
# with the Grafana sidecar's label; the values schema rejects wrong types;
# helm/selfheal/README.md lists every value and is up to date with values.yaml.
source "$(dirname "$0")/lib/common.sh"
cd "$SH_ROOT"
helm=$(tests/helm-tool.sh) || fail "cannot get helm"
chart=helm/selfheal

"$helm" lint --strict "$chart" -f "$chart/ci/monitoring-values.yaml" >"$TMP/lint.log" 2>&1 ||
    fail "helm lint --strict with the rules and the dashboard: $(cat "$TMP/lint.log")"
"$helm" template s "$chart" -n selfheal-system >"$TMP/default.yaml" 2>"$TMP/err" || fail "helm template: $(cat "$TMP/err")"
"$helm" template s "$chart" -n selfheal-system -f "$chart/ci/monitoring-values.yaml" >"$TMP/on.yaml" 2>"$TMP/err" ||
    fail "helm template with monitoring: $(cat "$TMP/err")"
"$helm" template s "$chart" -n selfheal-system --set grafanaDashboard.enabled=true \
    --set grafanaDashboard.namespace=monitoring --set grafanaDashboard.label=dash --set grafanaDashboard.labelValue=yes \
    >"$TMP/ns.yaml" 2>"$TMP/err" || fail "helm template with a dashboard namespace: $(cat "$TMP/err")"

/usr/bin/python3 - "$TMP" <<'PY' || fail "rendered monitoring objects"
import json, os, sys, yaml
tmp = sys.argv[1]
def docs(name):
    with open(os.path.join(tmp, name + ".yaml")) as f:
        return [d for d in yaml.safe_load_all(f) if d]
kinds = lambda ds: [d["kind"] for d in ds]
default = docs("default")
assert "PrometheusRule" not in kinds(default), "PrometheusRule on by default"
assert not any(d["kind"] == "ConfigMap" and "grafana_dashboard" in d["metadata"].get("labels", {}) for d in default), \
    "dashboard on by default"
on = docs("on")
pr = [d for d in on if d["kind"] == "PrometheusRule"]
assert len(pr) == 1, kinds(on)
pr = pr[0]
assert pr["apiVersion"] == "monitoring.coreos.com/v1"
assert pr["metadata"]["namespace"] == "selfheal-system"
assert pr["metadata"]["labels"]["release"] == "prometheus"
assert pr["metadata"]["labels"]["app.kubernetes.io/name"] == "selfheal"
with open("deploy/monitoring/selfheal-alerts.yaml") as f:
    want = yaml.safe_load(f)["groups"]
got = pr["spec"]["groups"]
assert [g["name"] for g in got] == [g["name"] for g in want]
for g, w in zip(got, want):
    assert len(g["rules"]) == len(w["rules"]), g["name"]
    for r, x in zip(g["rules"], w["rules"]):
        x = dict(x, labels=dict(x.get("labels", {}), team="ml"))
        assert r == x, (r, x)
cm = [d for d in on if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-dashboard")]
assert len(cm) == 1, kinds(on)
cm = cm[0]
assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
assert cm["metadata"]["annotations"] == {"grafana_folder": "MLOps"}
with open("deploy/monitoring/selfheal-dashboard.json") as f:
    assert json.loads(cm["data"]["selfheal.json"]) == json.load(f)
ns = [d for d in docs("ns") if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-dashboard")][0]
assert ns["metadata"]["namespace"] == "monitoring" and ns["metadata"]["labels"]["dash"] == "yes", ns["metadata"]
print("PrometheusRule with %d rules, dashboard ConfigMap with %d panels" %
      (sum(len(g["rules"]) for g in got), len(json.loads(cm["data"]["selfheal.json"])["panels"])))
PY

# the values schema: wrong types fail at install time, with the value's name
for bad in "prometheusRule.enabled=yes" "grafanaDashboard.label=" "prometheusRule.colour=red"; do
    if "$helm" template s "$chart" --set "$bad" >"$TMP/bad.log" 2>&1; then
        fail "the values schema accepted $bad"
    fi
    assert_contains "$(cat "$TMP/bad.log")" "${bad%%.*}" "the schema error for $bad"
done

# the README: every value, up to date
/usr/bin/python3 tests/render-chart-readme.py >"$TMP/README.md" || fail "render-chart-readme.py failed"
cmp -s "$TMP/README.md" "$chart/README.md" ||
    fail "helm/selfheal/README.md is not up to date (make chart-readme): $(diff "$chart/README.md" "$TMP/README.md" | head -10)"
for key in prometheusRule.enabled grafanaDashboard.enabled serviceMonitor.enabled replicas workers samplePipeline.deployment; do
    grep -qF "| \`$key\` |" "$chart/README.md" || fail "README lacks $key"
done
# a value without a description is refused
sed 's/^# -- Reconcile workers (1..64)./# Reconcile workers./' "$chart/values.yaml" >"$TMP/values.yaml"
/usr/bin/python3 tests/render-chart-readme.py "$TMP/values.yaml" >"$TMP/r.log" 2>&1 && fail "an undescribed value passed"
assert_contains "$(cat "$TMP/r.log")" "values without a \`# --\` description: workers"
echo "PASS: chart monitoring (lint --strict, PrometheusRule = the alerts file, dashboard ConfigMap, schema, README)"
