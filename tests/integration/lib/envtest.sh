# tests/integration/lib/envtest.sh — the real Kubernetes control plane for a
# test (source it after common.sh; tests/envtest/controlplane.sh runs it).
#
#   envtest_up            uses the suite's control plane (SH_ENVTEST_DIR, started
#                         once by run.sh) or starts one of its own for this test;
#                         sets ENVTEST_URL, ENVTEST_KUBECONFIG (admin), ENVTEST_CA,
#                         ENVTEST_AUDIT. Assets missing: the test is skipped
#                         (exit 77) — in CI (CI=true) that is a failure instead.
#   kadm ARGS...          kubectl as the cluster admin
#   kapi CURL-ARGS...     curl as the cluster admin (paths relative: kapi /api/v1/...)
#   envtest_namespace P   a fresh namespace named P-<random> in $NS, deleted when
#                         the test ends
#   envtest_controller_kubeconfig NS OUT [RULES]
#                         a ServiceAccount selfheal in NS bound (ClusterRoleBinding)
#                         to a ClusterRole with the rules of RULES (default
#                         manifests/rbac.yaml; any YAML whose ClusterRole/Role has
#                         `rules:`), and a kubeconfig OUT with its token
#                         (TokenRequest): the controller runs with exactly those
#                         rights, as in a cluster. Sets SA_USER.
#   envtest_forbidden USER  the audit log's requests by USER that got 403, one a line
#   envtest_writes USER     how many writes USER has made (the audit log)
# A controller under test watches only its test's namespace (--namespace):
# tests run side by side on one control plane.
ENVTEST_SKIP=77
_envtest_own=

envtest_up() {
    if [ -n "${SH_ENVTEST_DIR:-}" ] && [ -f "$SH_ENVTEST_DIR/env" ]; then
        # shellcheck disable=SC1091
        . "$SH_ENVTEST_DIR/env"
    else
        local rc=0
        "$SH_ROOT/tests/envtest/controlplane.sh" start "$TMP/envtest" >"$TMP/envtest.out" 2>&1 || rc=$?
        if [ $rc -eq 3 ]; then
            if [ "${CI:-}" = true ]; then
                fail "the envtest assets are missing in CI: $(cat "$TMP/envtest.out")"
            fi
            echo "SKIP: no Kubernetes control plane: $(cat "$TMP/envtest.out") (README: 'Kubernetes tests')"
            trap - EXIT # the test's own trap would report a failure
            cleanup
            exit $ENVTEST_SKIP
        fi
        [ $rc -eq 0 ] || fail "the control plane did not start: $(tail -5 "$TMP/envtest.out")"
        _envtest_own=$TMP/envtest
        # shellcheck disable=SC1091
        . "$TMP/envtest/env"
    fi
    export ENVTEST_URL ENVTEST_KUBECONFIG ENVTEST_CA ENVTEST_AUDIT ENVTEST_ADMIN_CERT ENVTEST_ADMIN_KEY ENVTEST_ETCD
    # the CRD, as `helm install` or `kubectl apply -f crd/` puts it (idempotent)
    # (tests side by side may both create it: AlreadyExists, then an update)
    local i
    for i in 1 2 3; do
        kadm apply -f "$SH_ROOT/crd/" >"$TMP/crd.log" 2>&1 && break
        [ $i -lt 3 ] || fail "kubectl apply -f crd/: $(cat "$TMP/crd.log")"
        sleep 0.5
    done
    kadm wait --for condition=established --timeout=30s crd/selfhealingpipelines.selfheal.dev >/dev/null ||
        fail "the CRD is not established"
    _envtest_namespaces=()
    _envtest_cluster_objs=()
    on_exit _envtest_cleanup
}

_envtest_cleanup() {
    local ns o
    for o in "${_envtest_cluster_objs[@]:-}"; do
        [ -n "$o" ] && kadm delete "$o" --ignore-not-found --wait=false >/dev/null 2>&1
    done
    for ns in "${_envtest_namespaces[@]:-}"; do
        [ -n "$ns" ] && kadm delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1
    done
    [ -n "$_envtest_own" ] && "$SH_ROOT/tests/envtest/controlplane.sh" stop "$_envtest_own" >/dev/null 2>&1
    return 0
}

kadm() { kubectl --kubeconfig "$ENVTEST_KUBECONFIG" "$@"; }

kapi() {
    local path=$1
    shift
    curl -sS --cacert "$ENVTEST_CA" --cert "$ENVTEST_ADMIN_CERT" --key "$ENVTEST_ADMIN_KEY" \
        -A selfheal-test/1 "$@" "$ENVTEST_URL$path"
}

envtest_namespace() {
    NS=$1-$(od -An -N3 -tx1 /dev/urandom | tr -d " \n")
    kadm create namespace "$NS" >/dev/null || fail "cannot create namespace $NS"
    _envtest_namespaces+=("$NS")
}

# the rules: of the first ClusterRole or Role in FILE, as JSON
_envtest_rules_json() {
    /usr/bin/python3 - "$1" <<'PY'
import json, sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc.get("kind") in ("ClusterRole", "Role") and "rules" in doc:
        print(json.dumps(doc["rules"])); break
else:
    sys.exit("no ClusterRole or Role with rules in " + sys.argv[1])
PY
}

envtest_controller_kubeconfig() {
    local ns=$1 out=$2 rules=${3:-$SH_ROOT/manifests/rbac.yaml} role token
    role=selfheal-test-$ns
    kadm create serviceaccount selfheal -n "$ns" >/dev/null || fail "serviceaccount in $ns"
    printf '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"%s"},"rules":%s}\n' \
        "$role" "$(_envtest_rules_json "$rules")" | kadm apply -f - >/dev/null || fail "ClusterRole $role"
    kadm create clusterrolebinding "$role" --clusterrole "$role" --serviceaccount "$ns:selfheal" >/dev/null ||
        fail "ClusterRoleBinding $role"
    _envtest_cluster_objs+=("clusterrole/$role" "clusterrolebinding/$role")
    token=$(kadm create token selfheal -n "$ns" --duration 2h) || fail "no token for $ns/selfheal"
    cat >"$out" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: envtest
  cluster: {server: "$ENVTEST_URL", certificate-authority: "$ENVTEST_CA"}
users:
- name: selfheal
  user: {token: "$token"}
contexts:
- name: envtest
  context: {cluster: envtest, user: selfheal, namespace: "$ns"}
current-context: envtest
YAML
    SA_USER=system:serviceaccount:$ns:selfheal
}

# envtest_writes USER: how many writes (create, update, patch, delete) USER has made so far
envtest_writes() {
    sleep 1.2
    jq -c --arg u "$1" 'select(.user.username == $u and .stage == "ResponseComplete"
        and (.verb == "create" or .verb == "update" or .verb == "patch" or .verb == "delete"))' "$ENVTEST_AUDIT" | wc -l
}

envtest_forbidden() {
    sleep 1.2 # the audit log is written in batches of at most 1 s
    # a 403 for writing into a namespace being deleted (another test's, seen by a
    # cluster-wide controller: cause NamespaceTerminating) is not the RBAC's
    jq -c --arg u "$1" 'select(.user.username == $u and .stage == "ResponseComplete" and .responseStatus.code == 403
            and ([.responseStatus.details.causes[]?.reason] | index("NamespaceTerminating") | not))
        | {verb, uri: .requestURI, code: .responseStatus.code}' "$ENVTEST_AUDIT" 2>/dev/null
}
