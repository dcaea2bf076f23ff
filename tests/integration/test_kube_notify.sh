#!/usr/bin/env bash
# Notifications on a real kube-apiserver (envtest; issue 16, acceptance 3):
# the webhook URL is a key of a Secret (urlFrom.secretKeyRef), read by the
# controller through the API under a ServiceAccount bound only to
# manifests/rbac.yaml (get secrets). A pipeline reaching NeedsAttention (its
# model below the bound, no older version) delivers exactly one notification
# to a receiver that answered 500 twice first; the URL appears nowhere in the
# controller's log, the pipeline's status or the namespace's Events.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v kubectl >/dev/null || fail "kubectl is not installed"
trap 'rc=$?; [ $rc = 0 ] || { echo "--- controller log (tail):" >&2; tail -n 30 "$TMP/ctl.log" >&2 2>/dev/null;
    echo "--- received:" >&2; cat "$TMP/received.jsonl" >&2 2>/dev/null; }; cleanup' EXIT

envtest_up
envtest_namespace notify
envtest_controller_kubeconfig "$NS" "$TMP/sa.kubeconfig"

SECRET=hooks-T0KEN-$$-s3cr3t
rport=$(free_port)
cat >"$TMP/receiver.py" <<'PY'
import http.server, json, sys, threading
port, out = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
fails = [2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        with lock:
            status = 500 if fails[0] > 0 else 200
            fails[0] -= status == 500
            with open(out, "a") as f:
                f.write(json.dumps({"status": status, "body": body}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
/usr/bin/python3 "$TMP/receiver.py" "$rport" "$TMP/received.jsonl" &
track $!
kadm create secret generic hooks -n "$NS" --from-literal=url="http://127.0.0.1:$rport/$SECRET" >/dev/null

kadm apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: model-api}
spec:
  replicas: 1
  selector: {matchLabels: {app: model-api}}
  template:
    metadata: {labels: {app: model-api}, annotations: {selfheal.dev/model-version: v1}}
    spec:
      containers:
      - {name: api, image: "api:v1"}
YAML
echo '{"accuracy": 0.50}' >"$TMP/metric.json"
kadm apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: model}
spec:
  model:
    metric: {source: {file: {path: "$TMP/metric.json", jsonPointer: /accuracy}}, interval: 1s}
    minAccuracy: 0.70
    rollback: {deployment: model-api}
  notify:
    - webhook: {urlFrom: {secretKeyRef: {name: hooks, key: url}}}
      "on": [NeedsAttention]
YAML

port=$(free_port)
"$SELFHEAL" run --kubeconfig "$TMP/sa.kubeconfig" --namespace "$NS" --listen "127.0.0.1:$port" \
    --log-format json >>"$TMP/ctl.log" 2>&1 &
ctl=$!
track $ctl
wait_for 30 "/readyz" curl -fsS "http://127.0.0.1:$port/readyz"

doc() { kadm get shp model -n "$NS" -o json | jq -r "$1"; }
phase_is() { [ "$(doc .status.phase)" = "$1" ]; }
wait_for 30 "phase NeedsAttention" phase_is NeedsAttention
delivered() { jq -s '[.[] | select(.status == 200)] | length' "$TMP/received.jsonl" 2>/dev/null || echo 0; }
one() { [ "$(delivered)" = 1 ]; }
wait_for 20 "the notification delivered after two 500s" one
sleep 3
assert_eq "$(delivered)" 1 "notifications delivered"
assert_eq "$(jq -s length "$TMP/received.jsonl")" 3 "attempts (500, 500, 200)"
jq -s -e '[.[] | select(.status == 200)][0].body | fromjson | .reason == "NeedsAttention" and .namespace == "'"$NS"'" and .pipeline == "model"' \
    "$TMP/received.jsonl" >/dev/null || fail "payload: $(cat "$TMP/received.jsonl")"

kadm get shp model -n "$NS" -o json >"$TMP/shp.json"
kadm get events -n "$NS" -o json >"$TMP/events.json"
curl -fsS "http://127.0.0.1:$port/metrics" >"$TMP/metrics.txt"
for f in "$TMP/ctl.log" "$TMP/shp.json" "$TMP/events.json" "$TMP/metrics.txt"; do
    ! grep -q "$SECRET" "$f" || fail "the secret URL leaked into $f"
done
kill -TERM $ctl
wait $ctl || fail "exit status after SIGTERM"
forbidden=$(envtest_forbidden "$SA_USER")
[ -z "$forbidden" ] || fail "Forbidden under manifests/rbac.yaml: $forbidden"
echo "kube notify: secretKeyRef read under manifests/rbac.yaml, one NeedsAttention notification after two 500s, no leak"
