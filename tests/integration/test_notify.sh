#!/usr/bin/env bash
# Notifications (issue 16, acceptance 3), locally against real receivers (a
# python3 stdlib HTTP server): a pipeline reaching NeedsAttention (the model
# is below its bound and no older version is good) delivers EXACTLY ONE
# notification to a JSON receiver that answered 500 twice first; a Slack
# receiver gets valid Slack JSON; the secret URLs (an environment variable
# and a file) appear nowhere in the log, status, Events or /metrics.
source "$(dirname "$0")/lib/common.sh"

SECRET=hooks-T0KEN-$$-s3cr3t
rport=$(free_port)
cat >"$TMP/receiver.py" <<'PY'
import http.server, json, sys, threading
port, out = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
fails = {"json": 2}          # the JSON receiver answers 500 twice first
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        kind = self.path.split("/")[1]
        with lock:
            status = 500 if fails.get(kind, 0) > 0 else 200
            if status == 500:
                fails[kind] -= 1
            with open(out, "a") as f:
                f.write(json.dumps({"kind": kind, "status": status, "body": body}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
python3 "$TMP/receiver.py" "$rport" "$TMP/received.jsonl" &
track $!
wait_for 5 "receiver up" bash -c "exec 3<>/dev/tcp/127.0.0.1/$rport"

# the model: 0.50 < 0.70 and the only older version recorded 0.60 → NoGoodVersion → NeedsAttention
models=$TMP/models
mkdir -p "$models/v1" "$models/v2"
echo '{"accuracy": 0.60}' >"$models/v1/metrics.json"
echo '{"accuracy": 0.50}' >"$models/v2/metrics.json"
ln -s v2 "$models/current"
echo '{"accuracy": 0.50}' >"$TMP/metric.json"
echo "http://127.0.0.1:$rport/slack/$SECRET" >"$TMP/slack.url"

specs=$TMP/specs
state=$TMP/.selfheal
mkdir -p "$specs"
cat >"$specs/housing.yaml" <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata:
  name: housing
spec:
  model:
    metric: {source: {file: {path: $TMP/metric.json, jsonPointer: /accuracy}}, interval: 1s}
    minAccuracy: 0.70
    rollback: {registry: {path: $models}, reload: none}
  notify:
    - webhook: {urlFrom: {env: SH_TEST_NOTIFY_URL}}
    - webhook: {urlFrom: {file: $TMP/slack.url}}
      format: slack
      "on": [NeedsAttention]
      window: 1h
YAML
"$SELFHEAL" validate -q -f "$specs/housing.yaml" || fail "the spec does not validate"
lport=$(free_port)
SH_TEST_NOTIFY_URL="http://127.0.0.1:$rport/json/$SECRET" \
    "$SELFHEAL" run --specs "$specs" --listen "127.0.0.1:$lport" --log-level debug >"$TMP/run.log" 2>&1 &
track $!
on_fail() { echo "--- run.log"; tail -30 "$TMP/run.log"; echo "--- received"; cat "$TMP/received.jsonl" 2>/dev/null; }
trap 'rc=$?; [ $rc -eq 0 ] || on_fail; cleanup' EXIT

doc() { jq -r "$1" "$state/pipelines/default/housing.json" 2>/dev/null; }
delivered() { jq -s --arg k "$1" '[.[] | select(.kind == $k and .status == 200)] | length' "$TMP/received.jsonl" 2>/dev/null || echo 0; }
delivered_is() { [ "$(delivered "$1")" = "$2" ]; }

phase_is() { [ "$(doc .status.phase)" = "$1" ]; }
wait_for 10 "phase NeedsAttention" phase_is NeedsAttention
wait_for 20 "the JSON notification delivered after two 500s" delivered_is json 1
wait_for 5 "the Slack notification delivered" delivered_is slack 1
sleep 4 # several more checks in NeedsAttention: still one notification each
assert_eq "$(delivered json)" 1 "JSON notifications delivered"
assert_eq "$(delivered slack)" 1 "Slack notifications delivered"
assert_eq "$(jq -s '[.[] | select(.kind == "json")] | length' "$TMP/received.jsonl")" 3 "JSON attempts (500, 500, 200)"

# the JSON payload
body=$(jq -s -r '[.[] | select(.kind == "json" and .status == 200)][0].body' "$TMP/received.jsonl")
jq -e '.version == "selfheal.dev/notification/v1" and .pipeline == "housing" and .namespace == "default"
       and .reason == "NeedsAttention" and .phase == "NeedsAttention" and (.time | test("Z$"))
       and (.message | test("NoGoodVersion"))' <<<"$body" >/dev/null || fail "JSON payload: $body"
# valid Slack JSON: text, and blocks of section + context
body=$(jq -s -r '[.[] | select(.kind == "slack")][0].body' "$TMP/received.jsonl")
jq -e '(.text | type == "string") and (.text | test("default/housing")) and (.blocks | length == 2)
       and .blocks[0].type == "section" and .blocks[0].text.type == "mrkdwn"' <<<"$body" >/dev/null \
    || fail "Slack payload: $body"

# the secret: nowhere in the log, status, Events or metrics
grep -q "HTTP 500; retrying" "$TMP/run.log" || fail "the retries are logged"
curl -sf "http://127.0.0.1:$lport/metrics" >"$TMP/metrics.txt" || fail "GET /metrics"
grep -q 'selfheal_notifications_total{outcome="delivered"} 2' "$TMP/metrics.txt" || fail "metrics: $(grep notifications "$TMP/metrics.txt")"
curl -sf "http://127.0.0.1:$lport/api/v1/pipelines" >"$TMP/api.json" || fail "GET /api/v1/pipelines"
for f in "$TMP/run.log" "$state/pipelines/default/housing.json" "$state/events.jsonl" "$TMP/metrics.txt" "$TMP/api.json"; do
    [ -f "$f" ] || fail "$f missing"
    ! grep -q "$SECRET" "$f" || fail "the secret URL leaked into $f"
done
echo ok
