#!/usr/bin/env bash
# tests/integration/test_allow_url.sh — the URLs of specs confined to
# --allow-url (issue 19, §2; docs/cli.md, docs/security.md), as a user runs
# `selfheal run` and `selfheal validate` locally:
#   - a pipeline whose health check names the cloud metadata service
#     (169.254.169.254, also spelled as one number or behind a userinfo that
#     names an allowed host) is Invalid with the reason, and no request
#     leaves for it; one naming a host outside the patterns likewise;
#   - a pipeline whose URLs match is reconciled (its allowed server is probed
#     and read), and the controller stays up;
#   - `selfheal validate --allow-url` says the same; a bad pattern is a usage
#     error (exit 2).
source "$(dirname "$0")/lib/common.sh"
command -v jq >/dev/null || fail "jq is not installed"
[ -x "$SELFHEAL" ] || fail "$SELFHEAL is not built"

sport=$(free_port)
/usr/bin/python3 - "$sport" "$TMP/seen" >/dev/null 2>&1 <<'PY' &
import http.server, sys
port, seen = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        open(seen, "a").write(self.path + "\n")
        body = b'{"accuracy": 0.9}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
track $!
wait_for 10 "the test server listens" curl -sf "http://127.0.0.1:$sport/"

mkdir -p "$TMP/specs"
pipeline_yaml() { # NAME HEALTH-URL METRIC-URL
    cat <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: $1}
spec:
  service:
    healthCheck: {url: "$2", interval: 1s, timeout: 500ms}
    recovery: {method: command, command: ["true"], maxAttempts: 0}
  model:
    metric:
      interval: 1s
      source:
        http: {url: "$3", jsonPointer: /accuracy}
YAML
}
pipeline_yaml good "http://127.0.0.1:$sport/health" "http://localhost:$sport/metrics.json" >"$TMP/specs/good.yaml"
pipeline_yaml meta "http://169.254.169.254/latest/meta-data/" "http://127.0.0.1:$sport/m1" >"$TMP/specs/meta.yaml"
pipeline_yaml number "http://127.0.0.1:$sport/h2" "http://2852039166/latest/" >"$TMP/specs/number.yaml"
pipeline_yaml userinfo "http://localhost@169.254.169.254/" "http://127.0.0.1:$sport/m3" >"$TMP/specs/userinfo.yaml"
pipeline_yaml outside "http://127.0.0.1:$sport/h4" "http://example.org:9090/x" >"$TMP/specs/outside.yaml"

ALLOW=(--allow-url "127.0.0.1:$sport" --allow-url "localhost:$sport")

# a bad pattern is a usage error
rc=0
"$SELFHEAL" run --specs "$TMP/specs" --state "$TMP/state0" --allow-url 10.0.0/8 >"$TMP/bad.log" 2>&1 || rc=$?
assert_eq "$rc" 2 "exit status of run with a bad --allow-url"
assert_contains "$(cat "$TMP/bad.log")" "--allow-url 10.0.0/8: not a host name"

port=$(free_port)
base="http://127.0.0.1:$port"
"$SELFHEAL" run --specs "$TMP/specs" --state "$TMP/state" "${ALLOW[@]}" --listen "127.0.0.1:$port" \
    >"$TMP/run.log" 2>&1 &
track $!
wait_for 10 "selfheal ready" curl -sf "$base/readyz"
assert_contains "$(cat "$TMP/run.log")" "URLs in specs are confined to 127.0.0.1:$sport, localhost:$sport"

pipeline() { curl -sf "$base/api/v1/pipelines/default/$1"; }
ready_msg() { pipeline "$1" | jq -r '.status.conditions[] | select(.type == "Ready") | .message'; }
for p in meta number userinfo outside; do
    wait_for 10 "$p is Invalid" sh -c "curl -sf '$base/api/v1/pipelines/default/$p' | jq -e '.status.phase == \"Invalid\"'"
done
assert_eq "$(ready_msg meta)" \
    "spec.service.healthCheck.url: host 169.254.169.254 is a link-local address (the cloud metadata service); specs may not call it"
assert_eq "$(ready_msg number)" \
    "spec.model.metric.source.http.url: host 169.254.169.254 is a link-local address (the cloud metadata service); specs may not call it"
assert_contains "$(ready_msg userinfo)" "host 169.254.169.254 is a link-local address"
assert_eq "$(ready_msg outside)" \
    "spec.model.metric.source.http.url: host example.org (port 9090) is not in the allowed URLs (--allow-url 127.0.0.1:$sport, localhost:$sport)"
wait_for 15 "good is probed and read" sh -c "grep -q '^/health$' '$TMP/seen' && grep -q '^/metrics.json$' '$TMP/seen'"
[ "$(pipeline good | jq -r .status.phase)" != Invalid ] || fail "good is Invalid: $(ready_msg good)"
sleep 1
# nothing was requested for the Invalid pipelines, even their allowed URLs
for path in /m1 /h2 /m3 /h4; do
    grep -qx "$path" "$TMP/seen" && fail "a request for an Invalid pipeline reached the server: $path"
done
curl -sf "$base/healthz" >/dev/null || fail "the controller went down"

# validate says the same
rc=0
out=$("$SELFHEAL" validate "${ALLOW[@]}" "$TMP/specs" 2>&1) || rc=$?
assert_eq "$rc" 2 "validate --allow-url exit status"
assert_contains "$out" "meta.yaml: spec.service.healthCheck.url: host 169.254.169.254 is a link-local address"
assert_contains "$out" "outside.yaml: spec.model.metric.source.http.url: host example.org (port 9090) is not in the allowed URLs"
grep -q "good.yaml:" <<<"$(grep -v 'valid' <<<"$out")" && fail "validate found a problem in good.yaml: $out"
rc=0
"$SELFHEAL" validate -q "${ALLOW[@]}" "$TMP/specs/good.yaml" || rc=$?
assert_eq "$rc" 0 "validate --allow-url of the allowed pipeline"
echo "PASS test_allow_url"
