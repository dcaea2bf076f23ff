#!/usr/bin/env bash
# The Helm chart (issue 8) with the real helm binary: lint --strict with the
# default values and every ci/*-values.yaml; the rendered objects checked for
# what users rely on (RBAC = manifests/rbac.yaml, the security context, leader
# election exactly when replicas > 1, the CRD = crd/'s); the values schema
# rejects wrong values with a clear message; manifests/install.yaml is up to
# date with the chart. Then the chart for real on a kube-apiserver (envtest):
# `helm install` of a uniquely named release watching its own namespace (RBAC
# as a Role there, nothing cluster-scoped but the CRD, which helm skips as it
# exists): the Deployment, ServiceAccount, Role/RoleBinding (= manifests/
# rbac.yaml's rules) and Service exist with the rendered spec; `helm upgrade`
# to 2 replicas turns leader election on (the Deployment's replicas,
# generation and args change, revision 2; the Lease in the watched namespace
# needs no Role beyond the release's); `helm uninstall` removes them all
# and leaves the CRD, as helm does. No kubelet: the pods do not run.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
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

# ---- helm install / upgrade / uninstall on a real control plane ----
envtest_up
envtest_namespace helm
rel=sh-${NS#helm-}
kh() { "$helm" --kubeconfig "$ENVTEST_KUBECONFIG" --namespace "$NS" "$@"; }
values=(--set "watchNamespace=$NS")
live_matches() { # REVISION NAME: the objects helm rendered exist with the rendered spec
    kh get manifest "$rel" --revision "$1" >"$TMP/$2.rendered.yaml" || fail "helm get manifest $rel"
    /usr/bin/python3 - "$TMP/$2.rendered.yaml" "$SH_ROOT/manifests/rbac.yaml" >"$TMP/$2.objs" <<'PY' ||
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for d in docs:
    print("%s %s %s" % (d["kind"], d["metadata"]["name"], json.dumps(d, separators=(",", ":"))))
PY
        fail "reading the rendered manifest"
    local kind name doc
    while read -r kind name doc; do
        kadm get "$kind" "$name" -n "$NS" -o json >"$TMP/live.json" 2>"$TMP/live.err" ||
            fail "$kind $name is not in the cluster: $(cat "$TMP/live.err")"
        /usr/bin/python3 - "$TMP/live.json" "$doc" <<'PY' || fail "$kind $name in the cluster differs from the chart's"
import json, sys
live, want = json.load(open(sys.argv[1])), json.loads(sys.argv[2])
def sub(w, l, path):
    """every value rendered is in the live object (which has the server's defaults besides)"""
    if isinstance(w, dict):
        assert isinstance(l, dict), path
        for k, v in w.items():
            assert k in l, "%s.%s missing" % (path, k)
            sub(v, l[k], path + "." + k)
    elif isinstance(w, list):
        assert isinstance(l, list) and len(l) == len(w), "%s: %r vs %r" % (path, w, l)
        for i, (a, b) in enumerate(zip(w, l)):
            sub(a, b, "%s[%d]" % (path, i))
    else:
        # quantities come back normalised (e.g. 128Mi stays, 0.1 → 100m)
        assert w == l or str(w) == str(l), "%s: rendered %r, live %r" % (path, w, l)
for k in ("spec", "rules", "subjects", "roleRef"):
    if k in want:
        sub(want[k], live.get(k), k)
for k, v in want["metadata"].get("labels", {}).items():
    assert live["metadata"]["labels"].get(k) == v, "label " + k
assert live["metadata"]["annotations"]["meta.helm.sh/release-name"], "not helm's"
PY
    done <"$TMP/$2.objs"
    cut -d' ' -f1,2 "$TMP/$2.objs"
}
kh install "$rel" "$chart" "${values[@]}" >"$TMP/install.log" 2>&1 || fail "helm install: $(cat "$TMP/install.log")"
objs=$(live_matches 1 install)
for k in "ServiceAccount $rel-selfheal" "Role $rel-selfheal" "RoleBinding $rel-selfheal" \
    "Service $rel-selfheal-metrics" "Deployment $rel-selfheal"; do
    assert_contains "$objs" "$k" "objects of the release"
done
kadm get clusterrole,clusterrolebinding -o name | grep -q "$rel" && fail "a namespaced release made cluster-scoped RBAC"
kadm get role "$rel-selfheal" -n "$NS" -o json | /usr/bin/python3 -c '
import json, sys, yaml
live = json.load(sys.stdin)["rules"]
want = next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "ClusterRole")["rules"]
norm = lambda rs: sorted((tuple(r.get("apiGroups", [])), tuple(r["resources"]), tuple(sorted(r["verbs"]))) for r in rs)
assert norm(live) == norm(want), (norm(live), norm(want))' "$SH_ROOT/manifests/rbac.yaml" ||
    fail "the live Role's rules differ from manifests/rbac.yaml"
args=$(kadm get deployment "$rel-selfheal" -n "$NS" -o jsonpath='{.spec.template.spec.containers[0].args}')
assert_contains "$args" "--namespace=$NS" "the Deployment watches the release's namespace"
case $args in *--leader-elect*) fail "leader election with one replica: $args" ;; esac
gen1=$(kadm get deployment "$rel-selfheal" -n "$NS" -o jsonpath='{.metadata.generation}')
# the real controller manager acts on the Deployment (the pods stay Pending: no kubelet)
has_rs() { kadm get rs -n "$NS" -l "app.kubernetes.io/instance=$rel" -o name | grep -q .; }
wait_for 30 "a ReplicaSet for the release's Deployment" has_rs

# upgrade: two replicas → leader election (its Role), new args, revision 2
kh upgrade "$rel" "$chart" "${values[@]}" --set replicas=2 --set log.level=debug >"$TMP/upgrade.log" 2>&1 ||
    fail "helm upgrade: $(cat "$TMP/upgrade.log")"
objs=$(live_matches 2 upgrade)
assert_eq "$(kadm get deployment "$rel-selfheal" -n "$NS" -o jsonpath='{.spec.replicas}')" 2 "replicas after upgrade"
args=$(kadm get deployment "$rel-selfheal" -n "$NS" -o jsonpath='{.spec.template.spec.containers[0].args}')
assert_contains "$args" "--leader-elect" "args after upgrade"
assert_contains "$args" "debug" "the log level after upgrade"
gen2=$(kadm get deployment "$rel-selfheal" -n "$NS" -o jsonpath='{.metadata.generation}')
[ "$gen2" -gt "$gen1" ] || fail "the Deployment's generation did not rise ($gen1 → $gen2)"
# the Lease lives in the watched namespace: the release's Role covers it, no extra Role
grep -q "^Role .*leader" <<<"$objs" && fail "a leader-election Role beside the namespace's Role: $objs"
assert_eq "$(kh status "$rel" -o json | jq -r '.version, .info.status' | tr '\n' ' ')" "2 deployed " "helm status"

# uninstall: everything of the release goes; the CRD stays
kh uninstall "$rel" >"$TMP/uninstall.log" 2>&1 || fail "helm uninstall: $(cat "$TMP/uninstall.log")"
gone() {
    local kind name
    while read -r kind name; do
        kadm get "$kind" "$name" -n "$NS" >/dev/null 2>&1 && return 1
    done <<<"$objs"
    return 0
}
wait_for 30 "the release's objects removed" gone
kadm get crd selfhealingpipelines.selfheal.dev >/dev/null 2>&1 || fail "helm uninstall removed the CRD"
kh list -q | grep -qx "$rel" && fail "the release is still listed"
echo ok
