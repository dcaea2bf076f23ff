#!/usr/bin/env bash
# tests/integration/test_api_auth.sh — who may read the HTTP API on a cluster
# (issue 19, §2; docs/security.md "Who may read the API"), on the real
# control plane (envtest): the controller runs under a ServiceAccount bound
# to manifests/rbac.yaml (which grants tokenreviews/subjectaccessreviews
# create) with --metrics-secure, and users come with ServiceAccount tokens
# (`kubectl create token`):
#   - no token: the JSON API, /metrics and the event stream are refused
#     (401 with WWW-Authenticate: Bearer; the websocket upgrade is refused);
#     /healthz, /readyz and the dashboard's static page stay open;
#   - a token the API server does not know: 401;
#   - a valid token lacking `get` on selfhealingpipelines: 403 (the message
#     names the user and the namespace);
#   - a token with `get` in the namespace (a Role): 200 for its pipelines,
#     403 for the list and the stream (they need every namespace);
#   - a token with `get` everywhere (a ClusterRole, plus /metrics): the list,
#     the dashboard's data, /metrics and the event stream (header or
#     access_token) all work;
#   - decisions are cached: repeated requests make no new reviews.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v jq >/dev/null || fail "jq is not installed"
[ -x "$SELFHEAL" ] || fail "$SELFHEAL is not built"
WS="/usr/bin/python3 $SH_ROOT/tests/integration/lib/ws_read.py"

envtest_up
envtest_namespace apiauth
envtest_controller_kubeconfig "$NS" "$TMP/ctl.kubeconfig"
kadm apply -n "$NS" -f - >"$TMP/apply.log" 2>&1 <<YAML || fail "apply: $(cat "$TMP/apply.log")"
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: p1}
spec: {escalation: {maxSameIssue: 3}}
YAML

# the users
for sa in nobody reader admin; do kadm create serviceaccount "$sa" -n "$NS" >/dev/null; done
kadm create role shp-reader -n "$NS" --verb=get --resource=selfhealingpipelines.selfheal.dev >/dev/null
kadm create rolebinding shp-reader -n "$NS" --role=shp-reader --serviceaccount="$NS:reader" >/dev/null
cr=selfheal-test-viewer-$NS
kadm apply -f - >/dev/null <<YAML || fail "ClusterRole $cr"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: $cr}
rules:
- apiGroups: [selfheal.dev]
  resources: [selfhealingpipelines]
  verbs: [get]
- nonResourceURLs: [/metrics]
  verbs: [get]
YAML
kadm create clusterrolebinding "$cr" --clusterrole="$cr" --serviceaccount="$NS:admin" >/dev/null
_envtest_cluster_objs+=("clusterrole/$cr" "clusterrolebinding/$cr")
NOBODY=$(kadm create token nobody -n "$NS")
READER=$(kadm create token reader -n "$NS")
ADMIN=$(kadm create token admin -n "$NS")

port=$(free_port)
base="http://127.0.0.1:$port"
"$SELFHEAL" run --kubeconfig "$TMP/ctl.kubeconfig" --namespace "$NS" --listen "127.0.0.1:$port" \
    --metrics-secure --log-level debug >"$TMP/run.log" 2>&1 &
track $!
wait_for 30 "the controller is ready (/readyz needs no token)" curl -sf "$base/readyz"
# the controller's own view: p1 reconciled
wait_for 30 "p1 has a status" sh -c "kubectl --kubeconfig '$ENVTEST_KUBECONFIG' get shp p1 -n '$NS' -o jsonpath='{.status.phase}' | grep -q ."

code() { # TOKEN PATH: the HTTP status
    local t=$1 p=$2
    if [ -n "$t" ]; then
        curl -s -o "$TMP/body" -w '%{http_code}' -H "Authorization: Bearer $t" "$base$p"
    else
        curl -s -o "$TMP/body" -w '%{http_code}' "$base$p"
    fi
}
expect() { # TOKEN PATH STATUS WHO
    local got
    got=$(code "$1" "$2")
    [ "$got" = "$3" ] || fail "$4 GET $2: expected $3, got $got: $(head -c 300 "$TMP/body")"
}

for p in /healthz /readyz / /dashboard/app.js; do expect "" "$p" 200 "anonymous"; done
for p in /api/v1/pipelines "/api/v1/pipelines/$NS/p1" /metrics; do expect "" "$p" 401 "anonymous"; done
hdr=$(curl -s -D - -o /dev/null "$base/api/v1/pipelines")
assert_contains "$(tr 'A-Z' 'a-z' <<<"$hdr")" "www-authenticate: bearer" "the 401's challenge"
expect "not-a-real-token" "/api/v1/pipelines/$NS/p1" 401 "a made-up token"
expect "$NOBODY" "/api/v1/pipelines/$NS/p1" 403 "nobody"
assert_contains "$(cat "$TMP/body")" "system:serviceaccount:$NS:nobody may not get selfhealingpipelines in namespace $NS"
expect "$NOBODY" /metrics 403 "nobody"
expect "$READER" "/api/v1/pipelines/$NS/p1" 200 "reader"
[ "$(jq -r .name "$TMP/body")" = p1 ] || [ "$(jq -r .key "$TMP/body")" = "$NS/p1" ] ||
    fail "reader did not get p1: $(head -c 300 "$TMP/body")"
expect "$READER" /api/v1/pipelines 403 "reader (the list needs every namespace)"
expect "$ADMIN" /api/v1/pipelines 200 "admin"
[ "$(jq length "$TMP/body")" -ge 1 ] || fail "admin's list is empty: $(head -c 300 "$TMP/body")"
expect "$ADMIN" "/api/v1/pipelines/$NS/p1" 200 "admin"
expect "$ADMIN" /metrics 200 "admin"
grep -q '^selfheal_' "$TMP/body" || fail "/metrics for admin has no selfheal metrics"

# the event stream: refused without a token or with one lacking the right,
# accepted with the header or with access_token (what the dashboard's page sends)
if $WS "ws://127.0.0.1:$port/api/v1/events?since=0" 2 >"$TMP/ws0.out" 2>&1; then
    fail "the event stream was opened without a token"
fi
if $WS "ws://127.0.0.1:$port/api/v1/events?since=0" 2 "$READER" >/dev/null 2>&1; then
    fail "the event stream was opened by a namespace reader"
fi
$WS "ws://127.0.0.1:$port/api/v1/events?since=0" 2 "$ADMIN" >"$TMP/ws1.out" 2>&1 ||
    fail "the event stream refused admin's token: $(cat "$TMP/ws1.out")"
$WS "ws://127.0.0.1:$port/api/v1/events?since=0&access_token=$ADMIN" 2 >"$TMP/ws2.out" 2>&1 ||
    fail "the event stream refused access_token: $(cat "$TMP/ws2.out")"

# decisions are cached: the same requests again make no new reviews
reviews() { grep -c 'tokenreviews' "$ENVTEST_AUDIT" 2>/dev/null || echo 0; }
before=$(reviews)
for i in 1 2 3 4 5; do expect "$ADMIN" /api/v1/pipelines 200 "admin (cached)"; done
after=$(reviews)
[ "$after" -le $((before + 1)) ] || fail "cached decisions still made $((after - before)) TokenReviews"

# no token reaches the log
for t in "$NOBODY" "$READER" "$ADMIN"; do
    grep -qF -- "${t:20:40}" "$TMP/run.log" && fail "a user's token is in the controller's log"
done
echo "PASS test_api_auth"
