#!/usr/bin/env bash
# tests/integration/test_secret_refs.sh — credentials by reference on the real
# control plane (issue 19, §1; docs/spec-reference.md "Credentials"): a
# pipeline's metric source takes a bearer token and its health check a basic
# password from Secrets (secretKeyRef), read by the controller through the API
# under manifests/rbac.yaml (`get` on secrets). A server on loopback answers
# 401 unless the Authorization header is the expected one, so a healthy
# service and a valid model prove the values were sent. Then:
#   - a pipeline naming a missing Secret says which one (never a value), and
#     recovers once the Secret is created (no restart, no spec change);
#   - an env reference is refused on a cluster;
#   - a rotated token is used within the cache's lifetime;
#   - the issue's case, credentials written inline: a Prometheus URL with a
#     password (userinfo) that cannot be reached, and a metric source whose
#     URL carries ?token= and is answered 401 — the messages say what failed,
#     with the credentials as xxxxx;
#   - no value is in the controller's log, the status, the Events or the API.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v jq >/dev/null || fail "jq is not installed"
[ -x "$SELFHEAL" ] || fail "$SELFHEAL is not built"

TOKEN="tok-$RANDOM$RANDOM-SECRETVALUE"
TOKEN2="tok2-$RANDOM$RANDOM-ROTATEDVALUE"
PASSWORD="pw-$RANDOM$RANDOM-PASSWORDVALUE"
INLINE_PW="ipw-$RANDOM$RANDOM-INLINEPASSWORD"
INLINE_TOKEN="itok-$RANDOM$RANDOM-INLINEQUERYTOKEN"

envtest_up
envtest_namespace secretref
envtest_controller_kubeconfig "$NS" "$TMP/ctl.kubeconfig"

# the server: /metrics.json wants the bearer token in $TMP/want_bearer, /health basic ml:$PASSWORD
printf '%s' "$TOKEN" >"$TMP/want_bearer"
sport=$(free_port)
/usr/bin/python3 - "$sport" "$TMP/want_bearer" "$PASSWORD" "$TMP/seen" >"$TMP/server.log" 2>&1 <<'PY' &
import base64, http.server, sys
port, want_file, password, seen = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        got = self.headers.get("Authorization", "")
        if self.path.startswith("/metrics.json"):
            ok = got == "Bearer " + open(want_file).read()
            body = b'{"accuracy": 0.91}'
        else:
            ok = got == "Basic " + base64.b64encode(("ml:" + password).encode()).decode()
            body = b'{"status": "ok"}'
        with open(seen, "a") as f:
            f.write("%s %s %d\n" % (self.path.split("?")[0], got.split(" ")[0] or "-", 200 if ok else 401))
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
track $!
wait_for 10 "the test server listens" sh -c "curl -s -o /dev/null http://127.0.0.1:$sport/health"

kadm create secret generic prom -n "$NS" --from-literal=token="$TOKEN" >/dev/null
kadm create secret generic svc-basic -n "$NS" --from-literal=password="$PASSWORD" >/dev/null
# the Deployment the pipeline's recovery names (a missing one is DeploymentNotFound)
kadm create deployment svc -n "$NS" --image=svc:v1 >/dev/null
kadm apply -n "$NS" -f - >"$TMP/apply.log" 2>&1 <<YAML || fail "apply: $(cat "$TMP/apply.log")"
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: withsecrets}
spec:
  service:
    healthCheck:
      url: http://127.0.0.1:$sport/health
      interval: 1s
      timeout: 1s
      auth: {basic: {username: ml, password: {secretKeyRef: {name: svc-basic, key: password}}}}
    recovery: {method: restart, deployment: svc, maxAttempts: 0}
  model:
    metric:
      interval: 1s
      source:
        http:
          url: http://127.0.0.1:$sport/metrics.json
          jsonPointer: /accuracy
          auth: {bearerToken: {secretKeyRef: {name: prom, key: token}}}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: missing}
spec:
  model:
    metric:
      interval: 1s
      source:
        http:
          url: http://127.0.0.1:$sport/metrics.json
          jsonPointer: /accuracy
          auth: {bearerToken: {secretKeyRef: {name: late, key: token}}}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: fromenv}
spec:
  model:
    metric:
      interval: 1s
      source:
        http:
          url: http://127.0.0.1:$sport/metrics.json
          auth: {bearerToken: {env: HOME}}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: inline}
spec:
  model:
    metric: {interval: 1s, source: {prometheus: {url: "http://admin:$INLINE_PW@127.0.0.1:$(free_port)", query: model_accuracy}}}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: inlineq}
spec:
  model:
    metric: {interval: 1s, source: {http: {url: "http://127.0.0.1:$sport/metrics.json?token=$INLINE_TOKEN", jsonPointer: /accuracy}}}
YAML

# the CRD's CEL rules refuse a value written inline and two references at once
if kadm apply -n "$NS" -f - >"$TMP/bad.log" 2>&1 <<YAML; then
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: bad}
spec:
  model:
    metric:
      source:
        http:
          url: http://127.0.0.1:$sport/metrics.json
          auth: {bearerToken: {env: A, file: /b}}
YAML
    fail "the API server accepted a bearerToken with two references"
fi
assert_contains "$(cat "$TMP/bad.log")" "exactly one of env, file or secretKeyRef is required"

port=$(free_port)
"$SELFHEAL" run --kubeconfig "$TMP/ctl.kubeconfig" --namespace "$NS" --listen "127.0.0.1:$port" \
    --log-level debug >"$TMP/run.log" 2>&1 &
track $!
wait_for 30 "the controller is ready" curl -sf "http://127.0.0.1:$port/readyz"

# on a failure, what the controller saw
debug() {
    [ -s "$TMP/run.log" ] || return 0
    echo "--- status" >&2
    kadm get shp -n "$NS" -o json 2>/dev/null | jq -c '.items[] | {n: .metadata.name, c: [.status.conditions[]? | {type, status, message}]}' >&2 || true
    echo "--- controller log (tail)" >&2
    tail -n 30 "$TMP/run.log" >&2
    echo "--- requests" >&2
    tail -n 5 "$TMP/seen" >&2 2>/dev/null || true
}
on_exit debug
wait_for 30 "withsecrets: ServiceHealthy True (basic auth from a Secret)" \
    sh -c "[ \"\$(kubectl --kubeconfig '$ENVTEST_KUBECONFIG' get shp withsecrets -n '$NS' -o json | jq -r '.status.conditions[]? | select(.type==\"ServiceHealthy\") | .status')\" = True ]"
wait_for 30 "withsecrets: ModelValid True (bearer token from a Secret)" \
    sh -c "[ \"\$(kubectl --kubeconfig '$ENVTEST_KUBECONFIG' get shp withsecrets -n '$NS' -o json | jq -r '.status.conditions[]? | select(.type==\"ModelValid\") | .status')\" = True ]"
grep -q '^/metrics.json Bearer 200$' "$TMP/seen" || fail "the metric source sent no good bearer token"
grep -q '^/health Basic 200$' "$TMP/seen" || fail "the probe sent no good basic auth"

wait_for 30 "missing: the condition names the Secret" \
    sh -c "kubectl --kubeconfig '$ENVTEST_KUBECONFIG' get shp missing -n '$NS' -o json | grep -q 'Secret $NS/late not found'"
wait_for 30 "fromenv: env references are refused on a cluster" \
    sh -c "kubectl --kubeconfig '$ENVTEST_KUBECONFIG' get shp fromenv -n '$NS' -o json | grep -q 'env references are not read on a cluster'"
kadm create secret generic late -n "$NS" --from-literal=token="$TOKEN" >/dev/null
wait_for 30 "missing: ModelValid True once the Secret exists" \
    sh -c "[ \"\$(kubectl --kubeconfig '$ENVTEST_KUBECONFIG' get shp missing -n '$NS' -o json | jq -r '.status.conditions[]? | select(.type==\"ModelValid\") | .status')\" = True ]"

# rotation: the server now wants TOKEN2; the Secret changes; within the cache's 30 s the reading is good again
printf '%s' "$TOKEN2" >"$TMP/want_bearer"
kadm create secret generic prom -n "$NS" --from-literal=token="$TOKEN2" --dry-run=client -o yaml | kadm apply -f - >/dev/null
: >"$TMP/seen"
wait_for 60 "the rotated token is used (the Secret cache lives 30 s)" grep -q '^/metrics.json Bearer 200$' "$TMP/seen"

# the controller read Secrets with its own rights: no 403
[ -z "$(envtest_forbidden "$SA_USER")" ] || fail "the controller was refused: $(envtest_forbidden "$SA_USER")"

# inline credentials: the failures are said, with the credentials redacted
wait_for 30 "inline: an Event says the unreachable Prometheus failed" \
    sh -c "kubectl --kubeconfig '$ENVTEST_KUBECONFIG' get events -n '$NS' --field-selector involvedObject.name=inline -o json | grep -q 'http://xxxxx@127.0.0.1'"
grep -q '^/metrics.json - 401$' "$TMP/seen" || fail "the metric source with ?token= was never refused (no error path taken)"
wait_for 30 "inlineq: an Event says the reading with ?token= was refused, redacted" \
    sh -c "kubectl --kubeconfig '$ENVTEST_KUBECONFIG' get events -n '$NS' --field-selector involvedObject.name=inlineq -o json | grep -q 'metrics.json?token=xxxxx: HTTP 401'"

# no value anywhere
kadm get shp -n "$NS" -o json | jq "[.items[] | {name: .metadata.name, status}]" >"$TMP/status.json" # (the specs hold what the user wrote)
kadm get events -n "$NS" -o json >"$TMP/events.json"
curl -s "http://127.0.0.1:$port/api/v1/pipelines" >"$TMP/api.json" || true
for v in "$TOKEN" "$TOKEN2" "$PASSWORD" "$INLINE_PW" "$INLINE_TOKEN"; do
    for f in run.log status.json events.json api.json; do
        grep -qF -- "$v" "$TMP/$f" && fail "a secret value is in $f"
    done
done
for f in run.log status.json events.json; do # the messages that carried them are there, redacted
    grep -qF 'http://xxxxx@127.0.0.1' "$TMP/$f" || fail "$f does not say the inline-password URL failed (redacted)"
    grep -qF 'metrics.json?token=xxxxx' "$TMP/$f" || fail "$f does not say the ?token= URL failed (redacted)"
done
grep -qF "Secret $NS/late not found" "$TMP/run.log" || fail "the log never named the missing Secret"
rm -f "$TMP/run.log"
echo "PASS test_secret_refs"
