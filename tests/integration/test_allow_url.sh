#!/usr/bin/env bash
# tests/integration/test_allow_url.sh — the URLs of specs confined to
# --allow-url (issue 19, §2; docs/cli.md, docs/security.md), as a user runs
# `selfheal run` and `selfheal validate` locally, against two real servers:
# an allowed one and a forbidden one (another port, never allowed), which
# must never see a request.
#   - a pipeline whose health check names the cloud metadata service
#     (169.254.169.254, also spelled as one number or behind a userinfo that
#     names an allowed host) is Invalid with the reason, and no request
#     leaves for it; one naming an address outside the patterns likewise;
#   - at connect time: a name that no name pattern allows but a network
#     pattern might (`localhost`, which resolves to 127.0.0.1, outside them)
#     passes validation and is refused when connecting, with the reason in the
#     ServiceHealthy and ModelValid conditions;
#   - a redirect from the allowed server to the forbidden one is not
#     followed (the probe says so);
#   - webhooks (spec.notify, URLs read from the environment at send time):
#     one to the allowed server is delivered; one naming the forbidden
#     address, one whose name resolves to it and one redirected to it each
#     fail at once with the reason, without retries, the URL's secret path
#     in no log line;
#   - a pipeline whose URLs match is reconciled, and the controller stays up;
#   - `selfheal validate --allow-url` says the same; a bad pattern is a usage
#     error (exit 2).
source "$(dirname "$0")/lib/common.sh"
command -v jq >/dev/null || fail "jq is not installed"
[ -x "$SELFHEAL" ] || fail "$SELFHEAL is not built"

SECRET=hook-T0KEN-$$-s3cr3t
sport=$(free_port) # allowed
fport=$(free_port) # forbidden
cat >"$TMP/server.py" <<'PY'
import http.server, sys
port, seen, fport = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        open(seen, "a").write(self.command + " " + self.path + "\n")
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if "redirect" in self.path:
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:%s/stolen" % fport)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b'{"accuracy": 0.9}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = answer
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
/usr/bin/python3 "$TMP/server.py" "$sport" "$TMP/seen" "$fport" >/dev/null 2>&1 &
track $!
/usr/bin/python3 "$TMP/server.py" "$fport" "$TMP/forbidden" "$fport" >/dev/null 2>&1 &
track $!
wait_for 10 "the allowed server listens" curl -sf "http://127.0.0.1:$sport/"
wait_for 10 "the forbidden server listens" curl -sf "http://127.0.0.1:$fport/"
rm -f "$TMP/seen" "$TMP/forbidden" # those were ours

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
pipeline_yaml outside "http://127.0.0.1:$sport/h4" "http://192.0.2.1:9090/x" >"$TMP/specs/outside.yaml"
pipeline_yaml resolved "http://localhost:$fport/h5" "http://localhost:$fport/m5" >"$TMP/specs/resolved.yaml"
pipeline_yaml redirect "http://127.0.0.1:$sport/redirect" "http://127.0.0.1:$sport/m6" >"$TMP/specs/redirect.yaml"
cat >"$TMP/specs/hooks.yaml" <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: hooks}
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:$sport/h7", interval: 1s, timeout: 500ms}
    recovery: {method: command, command: ["true"], maxAttempts: 0}
  notify:
    - webhook: {urlFrom: {env: SH_HOOK_OK}}
      "on": [Healthy]
    - webhook: {urlFrom: {env: SH_HOOK_ADDRESS}}
      "on": [Healthy]
    - webhook: {urlFrom: {env: SH_HOOK_NAME}}
      "on": [Healthy]
    - webhook: {urlFrom: {env: SH_HOOK_REDIRECT}}
      "on": [Healthy]
YAML
export SH_HOOK_OK="http://127.0.0.1:$sport/hook/$SECRET"
export SH_HOOK_ADDRESS="http://127.0.0.1:$fport/hook/$SECRET"
export SH_HOOK_NAME="http://localhost:$fport/hook/$SECRET"
export SH_HOOK_REDIRECT="http://127.0.0.1:$sport/hook-redirect/$SECRET"

# the allowed server's address and name (with its port), and a network the
# forbidden server is not in, as a cluster's would be
ALLOW=(--allow-url "127.0.0.1:$sport" --allow-url "localhost:$sport" --allow-url 10.0.0.0/8)
PATTERNS="127.0.0.1:$sport, localhost:$sport, 10.0.0.0/8"

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
on_fail() { echo "--- run.log"; tail -40 "$TMP/run.log"; echo "--- allowed server"; cat "$TMP/seen" 2>/dev/null; }
trap 'rc=$?; [ $rc -eq 0 ] || on_fail; cleanup' EXIT
wait_for 10 "selfheal ready" curl -sf "$base/readyz"
assert_contains "$(cat "$TMP/run.log")" "URLs in specs are confined to $PATTERNS"

pipeline() { curl -sf "$base/api/v1/pipelines/default/$1"; }
condition() { pipeline "$1" | jq -r --arg t "$2" '.status.conditions[] | select(.type == $t) | .message'; }
ready_msg() { condition "$1" Ready; }
for p in meta number userinfo outside; do
    wait_for 10 "$p is Invalid" sh -c "curl -sf '$base/api/v1/pipelines/default/$p' | jq -e '.status.phase == \"Invalid\"'"
done
assert_eq "$(ready_msg meta)" \
    "spec.service.healthCheck.url: host 169.254.169.254 is a link-local address (the cloud metadata service); specs may not call it"
assert_eq "$(ready_msg number)" \
    "spec.model.metric.source.http.url: host 169.254.169.254 is a link-local address (the cloud metadata service); specs may not call it"
assert_contains "$(ready_msg userinfo)" "host 169.254.169.254 is a link-local address"
assert_eq "$(ready_msg outside)" \
    "spec.model.metric.source.http.url: host 192.0.2.1 (port 9090) is not in the allowed URLs (--allow-url $PATTERNS)"

# at connect time: localhost resolves to 127.0.0.1 (and ::1), port $fport: outside every pattern
refusal="of host localhost (port $fport) is not in the allowed URLs (--allow-url $PATTERNS)"
has_condition() { condition "$1" "$2" | grep -qF -- "$3"; }
wait_for 15 "resolved: the probe refused when connecting" \
    has_condition resolved ServiceHealthy "GET http://localhost:$fport/h5: address "
wait_for 15 "resolved: the metric refused when connecting" has_condition resolved ModelValid "$refusal"
assert_contains "$(condition resolved ServiceHealthy)" "$refusal"
[ "$(pipeline resolved | jq -r .status.phase)" != Invalid ] || fail "resolved is Invalid: $(ready_msg resolved)"

# a redirect from the allowed server is not followed
wait_for 15 "redirect: the probe saw the 302" \
    has_condition redirect ServiceHealthy "GET http://127.0.0.1:$sport/redirect: HTTP 302 (redirects are not followed)"

# webhooks: one delivered, three failed at once with the reason
wait_for 15 "the allowed webhook delivered" grep -q "^POST /hook/$SECRET\$" "$TMP/seen"
log_has() { grep -qF -- "$1" "$TMP/run.log"; }
wait_for 15 "the webhook to a forbidden address failed" \
    log_has "notification Healthy to notify[1] failed: host 127.0.0.1 (port $fport) is not in the allowed URLs (--allow-url $PATTERNS)"
wait_for 15 "the webhook to a name of a forbidden address failed" log_has "notification Healthy to notify[2] failed: address "
assert_contains "$(grep -F 'notify[2] failed' "$TMP/run.log")" "$refusal"
wait_for 15 "the redirected webhook failed" \
    log_has "notification Healthy to notify[3] given up after 1 attempt(s): HTTP 302 (redirects are not followed)"
curl -sf "$base/metrics" >"$TMP/metrics.txt" || fail "GET /metrics"
grep -q 'selfheal_notifications_total{outcome="delivered"} 1$' "$TMP/metrics.txt" || fail "delivered: $(grep notifications_total "$TMP/metrics.txt")"
grep -q 'selfheal_notifications_total{outcome="failed"} 3$' "$TMP/metrics.txt" || fail "failed: $(grep notifications_total "$TMP/metrics.txt")"
grep -q 'selfheal_notifications_total{outcome="retried"} 0$' "$TMP/metrics.txt" || fail "retried: $(grep notifications_total "$TMP/metrics.txt")"
! grep -q "$SECRET" "$TMP/run.log" || fail "a webhook's secret path is in the log"

# the allowed pipeline works; nothing was requested for the Invalid
# pipelines, even their allowed URLs; the forbidden server saw nothing at all
wait_for 15 "good is probed and read" sh -c "grep -q '^GET /health$' '$TMP/seen' && grep -q '^GET /metrics.json$' '$TMP/seen'"
[ "$(pipeline good | jq -r .status.phase)" != Invalid ] || fail "good is Invalid: $(ready_msg good)"
for path in /m1 /h2 /m3 /h4; do
    grep -qx "GET $path" "$TMP/seen" && fail "a request for an Invalid pipeline reached the server: $path"
done
[ ! -s "$TMP/forbidden" ] || fail "requests reached the forbidden server: $(cat "$TMP/forbidden")"
curl -sf "$base/healthz" >/dev/null || fail "the controller went down"

# validate says the same (a name judged on its address passes it)
rc=0
out=$("$SELFHEAL" validate "${ALLOW[@]}" "$TMP/specs" 2>&1) || rc=$?
assert_eq "$rc" 2 "validate --allow-url exit status"
assert_contains "$out" "meta.yaml: spec.service.healthCheck.url: host 169.254.169.254 is a link-local address"
assert_contains "$out" "outside.yaml: spec.model.metric.source.http.url: host 192.0.2.1 (port 9090) is not in the allowed URLs"
grep -Eq "(good|resolved|redirect|hooks).yaml:" <<<"$(grep -v 'valid' <<<"$out")" && fail "validate found a problem in an allowed pipeline: $out"
rc=0
"$SELFHEAL" validate -q "${ALLOW[@]}" "$TMP/specs/good.yaml" "$TMP/specs/resolved.yaml" || rc=$?
assert_eq "$rc" 0 "validate --allow-url of the allowed pipelines"
echo "PASS test_allow_url"
