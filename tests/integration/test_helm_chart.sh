#!/usr/bin/env bash
# The Helm chart (issue 8) with the real helm binary: lint --strict with the
# default values and every ci/*-values.yaml; the rendered objects checked for
# what users rely on (RBAC = manifests/rbac.yaml, the security context, leader
# election exactly when replicas > 1, the CRD = crd/'s); the values schema
# rejects wrong values with a clear message; manifests/install.yaml is up to
# date with the chart.
source "$(dirname "$0")/lib/common.sh"
helm=$(tests/helm-tool.sh) || fail "cannot get helm"
chart=helm/selfheal

"$helm" lint --strict "$chart" >"$TMP/lint.log" 2>&1 || fail "helm lint: $(cat "$TMP/lint.log")"
for v in "$chart"/ci/*-values.yaml; do
    "$helm" lint --strict "$chart" -f "$v" >"$TMP/lint.log" 2>&1 || fail "helm lint with $v: $(cat "$TMP/lint.log")"
done

render() { # render NAME [helm flags...] → $TMP/NAME.yaml
    local name=$1
    shift
    "$helm" template selfheal "$chart" --namespace selfheal-system "$@" >"$TMP/$name.yaml" 2>"$TMP/$name.err" ||
        fail "helm template $*: $(cat "$TMP/$name.err")"
}
render default
render single -f "$chart/ci/single-namespace-values.yaml"
render ha -f "$chart/ci/ha-values.yaml"
render sm -f "$chart/ci/servicemonitor-values.yaml"
render vols -f "$chart/ci/extra-volumes-values.yaml"
render two --set replicas=2
render forced --set replicas=3 --set leaderElection=false
render allow --set 'allowPaths={/srv/a,/srv/b}' -f "$chart/ci/extra-volumes-values.yaml"

/usr/bin/python3 - "$TMP" manifests/rbac.yaml crd "$chart/crds" <<'PY' || fail "rendered objects"
import os, sys, yaml
tmp, rbac_file, crd_dir, chart_crds = sys.argv[1:5]

def docs(name):
    with open(os.path.join(tmp, name + ".yaml")) as f:
        return [d for d in yaml.safe_load_all(f) if d]

def one(ds, kind):
    found = [d for d in ds if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]

def norm(rules):
    return sorted((tuple(r["apiGroups"]), tuple(r["resources"]), tuple(sorted(r["verbs"]))) for r in rules)

with open(rbac_file) as f:
    want = norm(next(d for d in yaml.safe_load_all(f) if d and d["kind"] == "ClusterRole")["rules"])

def container(ds):
    return one(ds, "Deployment")["spec"]["template"]["spec"]["containers"][0]

for name in ["default", "single", "ha", "sm", "vols", "two", "forced"]:
    ds = docs(name)
    scoped = name == "single"
    role = one(ds, "Role" if scoped else "ClusterRole") if not scoped else \
        [d for d in ds if d["kind"] == "Role" and not d["metadata"]["name"].endswith("leader-election")][0]
    assert norm(role["rules"]) == want, f"{name}: RBAC rules differ from manifests/rbac.yaml"
    if scoped:
        assert role["metadata"]["namespace"] == "ml" and not any(d["kind"] == "ClusterRole" for d in ds), name
        assert "--namespace=ml" in container(ds)["args"], name
    c = container(ds)
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True, name
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"], name
    assert sc["seccompProfile"]["type"] == "RuntimeDefault", name
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz", name
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz", name
    replicas = one(ds, "Deployment")["spec"]["replicas"]
    le = "--leader-elect" in c["args"]
    expect_le = replicas > 1 and name != "forced"
    assert le == expect_le, f"{name}: leader election {le} with {replicas} replicas"
    for d in ds:
        labels = d["metadata"].get("labels", {})
        for k in ["app.kubernetes.io/name", "app.kubernetes.io/instance", "helm.sh/chart"]:
            assert k in labels, f"{name}: {d['kind']} lacks label {k}"
    has_sm = any(d["kind"] == "ServiceMonitor" for d in ds)
    assert has_sm == (name == "sm"), f"{name}: ServiceMonitor {has_sm}"
    has_sample = any(d["kind"] == "SelfHealingPipeline" for d in ds)
    assert has_sample == (name == "vols"), f"{name}: sample pipeline {has_sample}"
    if name == "vols":
        mounts = [m["mountPath"] for m in c["volumeMounts"]]
        assert "/data" in mounts, mounts
    # spec paths are always confined: the data mounts, else the state folder
    allow = [a.split("=", 1)[1] for a in c["args"] if a.startswith("--allow-path=")]
    want_allow = {"vols": ["/data"]}.get(name, ["/var/lib/selfheal"])
    assert allow == want_allow, f"{name}: --allow-path {allow}, expected {want_allow}"

c = container(docs("allow"))
allow = [a.split("=", 1)[1] for a in c["args"] if a.startswith("--allow-path=")]
assert allow == ["/srv/a", "/srv/b"], f"allowPaths: {allow}"

crds = sorted(f for f in os.listdir(crd_dir) if f.endswith(".yaml"))
assert crds, "crd/ holds no CRD"
for f in crds:
    a = open(os.path.join(crd_dir, f), "rb").read()
    b = open(os.path.join(chart_crds, f), "rb").read() if os.path.exists(os.path.join(chart_crds, f)) else None
    assert a == b, f"helm/selfheal/crds/{f} differs from crd/{f}: run make chart-crds"
print("rendered objects ok")
PY

# the schema rejects wrong values with a message naming the value
out=$("$helm" template selfheal "$chart" --set replicas=three 2>&1) && fail "a string for replicas was accepted"
assert_contains "$out" "/replicas" "schema error names replicas"
out=$("$helm" template selfheal "$chart" --set log.format=xml 2>&1) && fail "log.format=xml was accepted"
assert_contains "$out" "value must be one of 'text', 'json'" "schema error on log.format"
out=$("$helm" template selfheal "$chart" --set workerz=3 2>&1) && fail "an unknown value was accepted"
assert_contains "$out" "workerz" "schema error names the unknown value"

# manifests/install.yaml is what `make install-manifests` renders now
tests/render-install.sh "$helm" >"$TMP/install.yaml" || fail "rendering install.yaml"
diff -u manifests/install.yaml "$TMP/install.yaml" >"$TMP/install.diff" ||
    fail "manifests/install.yaml is out of date (run make install-manifests): $(head -20 "$TMP/install.diff")"
echo ok
