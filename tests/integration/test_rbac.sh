#!/usr/bin/env bash
# Least privilege (issue 7, acceptance 4): every API call the controller
# makes — recorded by the API emulator while test_kube_actions.sh (recovery
# restart and delete-pods, rollback, status, events, watch, leader election)
# and test_kube_retrain.sh (retraining Jobs: create, adopt, follow, delete)
# run — is mapped to (verb, group,
# resource) and must be allowed by manifests/rbac.yaml; and every verb the
# ClusterRole grants must be used by some recorded call (no more than needed).
# Calls made only on a branch this scenario does not reach are taken from
# the code itself (a grep that must still find them): the re-read of the
# pipeline after a 409 on a status patch, and the PATCH of a repeated Event.
# The chart's rules (helm/selfheal/templates/_helpers.tpl) must match the
# manifest's (test_helm_chart.sh renders them; here: the same verb lists).
source "$(dirname "$0")/lib/common.sh"
PY=/usr/bin/python3

for t in kube_actions kube_retrain; do
    SH_EMU_LOG_OUT=$TMP/$t.json "$(dirname "$0")/test_$t.sh" >"$TMP/$t.out" 2>&1 ||
        fail "test_$t.sh: $(tail -5 "$TMP/$t.out")"
    test -s "$TMP/$t.json" || fail "no request log from test_$t.sh"
done
jq -s '{items: (map(.items) | add)}' "$TMP/kube_actions.json" "$TMP/kube_retrain.json" >"$TMP/requests.json"

branch=$TMP/branch.txt
: >"$branch"
kp=$SH_ROOT/controller/kube/kube_platform.c
grep -q 'kube_get(kp->o.client, opath' "$kp" && grep -q 'kube_shp_path(opath' "$kp" &&
    echo "selfheal.dev selfhealingpipelines get" >>"$branch"
grep -q '/api/v1/namespaces/%s/events/%s' "$kp" && grep -q 'kube_patch_merge(kp->o.client, path, patch, NULL' "$kp" &&
    echo " events patch" >>"$branch"
# the notifier's urlFrom.secretKeyRef (only when a pipeline's spec.notify names one)
kr=$SH_ROOT/controller/kube/kube_run.c
grep -q '/api/v1/namespaces/%s/secrets/%s' "$kr" && grep -q 'kube_get(kr->client, path' "$kr" &&
    echo " secrets get" >>"$branch"

"$PY" - "$TMP/requests.json" "$SH_ROOT/manifests/rbac.yaml" "$SH_ROOT/helm/selfheal/templates/_helpers.tpl" "$branch" <<'PYEOF'
import json, re, sys
log = json.load(open(sys.argv[1]))["items"]

def call_of(e):
    parts = [p for p in e["path"].split("/") if p]
    if parts[:1] == ["api"]:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"]:
        group, rest = parts[1], parts[3:]
    else:
        return None
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        rest = rest[2:]
    elif rest[:1] == ["namespaces"]:
        pass  # the namespaces resource itself
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else None
    if len(rest) > 2:
        resource += "/" + rest[2]
    q = e.get("query") or ""
    m = e["method"]
    if m == "GET":
        verb = "get" if name else ("watch" if re.search(r"(^|&)watch=(1|true)", q) else "list")
    elif m == "POST":
        verb = "create"
    elif m == "PUT":
        verb = "update"
    elif m == "PATCH":
        verb = "patch"
    elif m == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = m.lower()
    return (group, resource, verb)

used = set()
for e in log:
    if not e.get("agent", "").startswith("selfheal/"):
        continue  # the test's own curl calls
    c = call_of(e)
    if c:
        used.add(c)

for line in open(sys.argv[4]):
    g, r, v = line.rstrip("\n").split(" ")
    used.add((g, r, v))

def rules_of(text):
    rules = set()
    for m in re.finditer(r'apiGroups:\s*\[([^\]]*)\]\s*\n\s*resources:\s*\[([^\]]*)\]\s*\n\s*verbs:\s*\[([^\]]*)\]', text):
        lst = lambda s: [x.strip().strip('"') for x in s.split(",") if x.strip()]
        groups = lst(m.group(1)) or [""]
        for g in groups:
            for r in lst(m.group(2)):
                for v in lst(m.group(3)):
                    rules.add((g, r, v))
    return rules

granted = rules_of(open(sys.argv[2]).read())
chart = rules_of(open(sys.argv[3]).read())
bad = False
if not granted:
    print("FAIL: no rules parsed from manifests/rbac.yaml"); sys.exit(1)
if chart and chart != granted:
    print("FAIL: the chart's rules differ from manifests/rbac.yaml:", sorted(chart ^ granted)); bad = True
for c in sorted(used - granted):
    print("FAIL: the code calls %s %s (group %r) but manifests/rbac.yaml does not grant it" % (c[2], c[1], c[0])); bad = True
for c in sorted(granted - used):
    print("FAIL: manifests/rbac.yaml grants %s %s (group %r) but no recorded call uses it" % (c[2], c[1], c[0])); bad = True
print("calls used:", ", ".join("%s %s%s" % (v, (g + "/") if g else "", r) for g, r, v in sorted(used)))
sys.exit(1 if bad else 0)
PYEOF
echo ok
