#!/usr/bin/env bash
# tests/integration/test_security.sh — the security review of issue 10
# (docs/security.md lists which threat each part covers):
#   1. no shell: no C file of the tree calls system/popen/wordexp or execs a
#      shell, and `make lint` passes;
#   2. argv from specs is never interpolated: service.recovery.process.command,
#      service.recovery.command and drift.retrain.command items holding $(...),
#      `...`, ;, |, &&, >, globs and $VARS reach the program verbatim and
#      create nothing;
#   3. paths from specs are confined to --allow-path: a data file reached
#      through `..` or a symbolic link out of the root makes its pipeline
#      Invalid with a clear message and the file is left untouched, while a
#      pipeline inside the root is healed and the controller stays up;
#      `selfheal validate --allow-path` says the same; a missing root is a
#      usage error;
#   4. the HTTP server is read-only with sensible headers (405 + Allow: GET,
#      HEAD for every write method on every path; nosniff, DENY, no-referrer,
#      no-store; a CSP on the dashboard page; HEAD works);
#      the same on the Kubernetes platform (the status of the object says why);
#   5. tokens and client keys never reach logs, status, events, /metrics or
#      the JSON API — with debug logging: on a real kube-apiserver (envtest)
#      under a ServiceAccount token bound to manifests/rbac.yaml (objects and
#      Events read back from the server, no Forbidden) and with a wrong token
#      (401 from the real server); the faults a real server cannot make on
#      demand — injected 500s and 429s, cut watches — and a client key in the
#      kubeconfig against the Kubernetes API emulator;
#   6. TLS: a self-signed API server is refused without its CA; with
#      insecure-skip-tls-verify it is accepted and a warning is logged.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
PY=/usr/bin/python3
command -v jq >/dev/null || fail "jq is not installed"
command -v openssl >/dev/null || fail "openssl is not installed"
[ -x "$SELFHEAL" ] || fail "$SELFHEAL is not built"
RT=$(realpath "$TMP")

# ---- 1. no shell anywhere ------------------------------------------------------
cd "$SH_ROOT"
# system/popen/wordexp nowhere in C (tests, fuzzers and benchmarks included);
# no shell named by the product code (tests may run `sh -c` as a child program)
hits=$(find controller reconcilers examples tests fuzz bench -name '*.c' -not -path '*/node_modules/*' \
    -print0 | xargs -0 grep -nE '\b(system|popen|wordexp)[[:space:]]*\(' || true)
[ -z "$hits" ] || fail "a shell is used from C: $hits"
hits=$(find controller reconcilers examples -name '*.c' -print0 |
    xargs -0 grep -nE '"(/bin/|/usr/bin/)?(ba|da)?sh"|"-c"' || true)
[ -z "$hits" ] || fail "the product names a shell: $hits"
make -s lint >"$TMP/lint.out" 2>&1 || fail "make lint: $(cat "$TMP/lint.out")"

# ---- 2 + 3. a local controller confined to $TMP/data ---------------------------
mkdir -p "$TMP/data" "$TMP/outside/dir" "$TMP/specs" "$TMP/out" "$TMP/work"
touch "$TMP/work/a-file" "$TMP/work/another-file" # something a glob would expand to
cat >"$TMP/argv.py" <<'PY'
import json, sys
with open(sys.argv[1] + ".tmp", "w") as f:
    json.dump(sys.argv[2:], f)
import os
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
PY
csv() { # a small CSV with one missing cell
    echo "x,y"
    for i in $(seq 1 30); do echo "$i,$((i * 2))"; done
    echo "31,"
}
csv >"$TMP/data/good.csv"
csv >"$TMP/outside/victim.csv"
csv >"$TMP/outside/dir/victim2.csv"
ln -s "$RT/outside/victim.csv" "$TMP/data/link.csv"
ln -s "$RT/outside/dir" "$TMP/data/linkdir"
victim_sum=$(cat "$TMP/outside/victim.csv" "$TMP/outside/dir/victim2.csv" | sha256sum)
echo '{"score": 0.9}' >"$TMP/data/score.json"
dead=$(free_port) # nothing listens here: health checks fail, recovery runs

"$PY" - "$RT" "$dead" <<'PY'
import json, sys
tmp, dead = sys.argv[1], sys.argv[2]
inj = ["$(touch pwned-dollar)", "; touch pwned-semi", "`touch pwned-tick`", "*", "| touch pwned-pipe",
       "&& touch pwned-and", "$HOME", ">pwned-redirect", "a b\tc", "'quoted'", "\"dq\"", "\\"]
def argv(name):
    return ["/usr/bin/python3", tmp + "/argv.py", tmp + "/out/" + name + ".json"] + inj
def pipeline(name, spec):
    return {"apiVersion": "selfheal.dev/v1alpha1", "kind": "SelfHealingPipeline",
            "metadata": {"name": name}, "spec": spec}
hc = {"url": "http://127.0.0.1:%s/health" % dead, "interval": "1s", "timeout": "1s", "failureThreshold": 1}
specs = {
    "process": pipeline("argv-process", {"service": {"healthCheck": hc, "recovery": {
        "method": "process", "maxAttempts": 1, "backoff": "1s", "process": {"command": argv("process")}}}}),
    "command": pipeline("argv-command", {"service": {"healthCheck": hc, "recovery": {
        "method": "command", "maxAttempts": 1, "backoff": "1s", "command": argv("command")}}}),
    "retrain": pipeline("argv-retrain", {"drift": {
        "score": {"source": {"file": {"path": tmp + "/data/score.json", "jsonPointer": "/score"}}},
        "interval": "1s", "retrain": {"command": argv("retrain")}}}),
    "good": pipeline("data-good", {"dataQuality": {"path": "../data/good.csv", "interval": "1s"}}),
    "dotdot": pipeline("data-dotdot", {"dataQuality": {"path": tmp + "/data/../outside/victim.csv",
                                                       "interval": "1s"}}),
    "link": pipeline("data-link", {"dataQuality": {"path": tmp + "/data/link.csv", "interval": "1s"}}),
    "linkdir": pipeline("data-linkdir", {"dataQuality": {"path": tmp + "/data/linkdir/victim2.csv",
                                                         "interval": "1s"}}),
}
for name, doc in specs.items():
    with open("%s/specs/%s.json" % (tmp, name), "w") as f:
        json.dump(doc, f)
with open(tmp + "/injections.json", "w") as f:
    json.dump(inj, f)
PY

# a missing root is a usage error, before anything runs
rc=0
"$SELFHEAL" run --specs "$TMP/specs" --state "$TMP/state0" --allow-path "$TMP/no-such" \
    --listen 127.0.0.1:0 >"$TMP/bad-root.log" 2>&1 || rc=$?
assert_eq "$rc" 2 "exit status of run --allow-path with a missing folder"
assert_contains "$(cat "$TMP/bad-root.log")" "--allow-path $TMP/no-such: No such file or directory"
[ ! -e "$TMP/state0" ] || fail "run --allow-path with a missing folder created its state folder"

port=$(free_port)
base="http://127.0.0.1:$port"
(cd "$TMP/work" && exec "$SELFHEAL" run --specs "$TMP/specs" --state "$TMP/state" \
    --allow-path "$TMP/data" --listen "127.0.0.1:$port" --log-level debug >"$TMP/run.log" 2>&1) &
track $!
wait_for 10 "selfheal ready" curl -sf "$base/readyz"
assert_contains "$(cat "$TMP/run.log")" "paths in specs are confined to --allow-path $RT/data"

# 2. every program got its argv verbatim, and nothing was created
for name in process command retrain; do
    wait_for 30 "the $name command ran" test -s "$TMP/out/$name.json"
    got=$(jq -c '.' "$TMP/out/$name.json")
    want=$(jq -c '.' "$TMP/injections.json")
    assert_eq "$got" "$want" "argv the $name command received"
done
pwned=$(find "$TMP" "$SH_ROOT" -maxdepth 3 -name 'pwned-*' 2>/dev/null | head -5)
[ -z "$pwned" ] || fail "a shell ran an injected command: $pwned"

# 3. outside paths: Invalid with the reason, files untouched; inside: healed
pipeline() { curl -sf "$base/api/v1/pipelines/default/$1"; }
ready_msg() { pipeline "$1" | jq -r '.status.conditions[] | select(.type == "Ready") | .message'; }
phase() { pipeline "$1" | jq -r .status.phase; }
for p in data-dotdot data-link data-linkdir; do
    wait_for 10 "$p is Invalid" sh -c "curl -sf '$base/api/v1/pipelines/default/$p' | jq -e '.status.phase == \"Invalid\"'"
done
assert_eq "$(ready_msg data-dotdot)" \
    "spec.dataQuality.path: $RT/data/../outside/victim.csv resolves to $RT/outside/victim.csv, outside the allowed paths (--allow-path $RT/data)"
assert_eq "$(ready_msg data-link)" \
    "spec.dataQuality.path: $RT/data/link.csv resolves to $RT/outside/victim.csv, outside the allowed paths (--allow-path $RT/data)"
assert_contains "$(ready_msg data-linkdir)" "resolves to $RT/outside/dir/victim2.csv, outside the allowed paths"
wait_for 15 "the pipeline inside the root is healed" sh -c "! grep -q ',\$' '$TMP/data/good.csv'"
[ "$(phase data-good)" != Invalid ] || fail "data-good is Invalid: $(ready_msg data-good)"
assert_eq "$(cat "$TMP/outside/victim.csv" "$TMP/outside/dir/victim2.csv" | sha256sum)" "$victim_sum" \
    "files outside the root"
assert_eq "$(find "$TMP/outside" -type f | wc -l)" 2 "files in the outside folder (no backups, no temp files)"
curl -sf "$base/healthz" >/dev/null || fail "the controller went down"

# validate says the same, and /etc/passwd is refused by name
rc=0
out=$("$SELFHEAL" validate --allow-path "$TMP/data" "$TMP/specs" 2>&1) || rc=$?
assert_eq "$rc" 2 "validate --allow-path exit status"
assert_contains "$out" "link.json: spec.dataQuality.path: $RT/data/link.csv resolves to $RT/outside/victim.csv, outside the allowed paths (--allow-path $RT/data)"
assert_contains "$out" "dotdot.json: spec.dataQuality.path:"
cat >"$TMP/passwd.yaml" <<'YAML'
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: passwd}
spec:
  dataQuality: {path: /etc/passwd}
YAML
rc=0
out=$("$SELFHEAL" validate --allow-path "$TMP/data" "$TMP/passwd.yaml" 2>&1) || rc=$?
assert_eq "$rc" 2 "validate of /etc/passwd"
assert_eq "$out" "$TMP/passwd.yaml: spec.dataQuality.path: /etc/passwd is outside the allowed paths (--allow-path $RT/data)"
"$SELFHEAL" validate -q "$TMP/passwd.yaml" || fail "without --allow-path paths are unconfined"

# ---- 4. the HTTP server: read-only, sensible headers ---------------------------
hdrs() { curl -s -D - -o /dev/null "$@" | tr -d '\r'; }
npipelines() { curl -sf "$base/api/v1/pipelines" | jq length; }
before=$(npipelines)
[ "$before" -eq 7 ] || fail "expected 7 pipelines in the API, got $before: $(curl -sf "$base/api/v1/pipelines" | head -c 400)"
for path in / /dashboard/app.js /api/v1/pipelines /api/v1/pipelines/default/data-good \
    /api/v1/pipelines/default/nope /api/v1/events /metrics /healthz /readyz /no-such-page; do
    h=$(hdrs "$base$path")
    assert_contains "$h" "x-content-type-options: nosniff" "GET $path"
    assert_contains "$h" "x-frame-options: DENY" "GET $path"
    assert_contains "$h" "referrer-policy: no-referrer" "GET $path"
    assert_contains "$h" "cache-control: no-store" "GET $path"
    for m in POST PUT DELETE PATCH; do
        h=$(hdrs -X "$m" -H 'Content-Type: application/json' -d '{"spec":{}}' "$base$path")
        assert_contains "$(head -1 <<<"$h")" " 405" "$m $path"
        assert_contains "$h" "allow: GET, HEAD" "$m $path"
        assert_contains "$h" "x-content-type-options: nosniff" "$m $path"
    done
done
h=$(hdrs "$base/")
assert_contains "$h" "content-security-policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
h=$(hdrs "$base/api/v1/pipelines")
grep -qi '^content-security-policy' <<<"$h" && fail "a CSP on JSON: $h"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -I "$base/api/v1/pipelines")" 200 "HEAD /api/v1/pipelines"
# nothing the write attempts sent changed anything
assert_eq "$(npipelines)" "$before" "pipelines after the write attempts"
[ ! -e "$TMP/specs/x.json" ] && assert_eq "$(ls "$TMP/specs" | wc -l)" 7 "spec files after the write attempts"

# ---- 5 + 6. credentials against the Kubernetes API emulator --------------------
cd "$TMP/work" # the kube controllers' default state folder lands here, not in the tree
TOKEN="tok-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')-SECRET"
WRONG="wrong-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')-SECRET"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/client.key" -out "$TMP/client.crt" \
    -days 1 -subj /CN=selfheal-test >/dev/null 2>&1 || fail "openssl could not make a client key"
keyb64=$(base64 -w0 "$TMP/client.key")
crtb64=$(base64 -w0 "$TMP/client.crt")
keyline=$(sed -n 2p "$TMP/client.key") # 64 characters of key material
kc=$TMP/kubeconfig
"$PY" "$SH_ROOT/tests/kube/emulator.py" --tls-self-signed --port 0 --port-file "$TMP/emu.port" \
    --kubeconfig-out "$kc" --token "$TOKEN" --crd "$SH_ROOT/crd/selfhealingpipelines.selfheal.dev.yaml" \
    --seed 3 >"$TMP/emu.out" 2>"$TMP/emu.err" &
track $!
wait_for 10 "emulator" test -s "$TMP/emu.port"
url=$(head -1 "$TMP/emu.out")
cacert=$TMP/ca.pem
awk '/certificate-authority-data/ {print $2}' "$kc" | base64 -d >"$cacert"
api() { curl -sS --cacert "$cacert" -H "Authorization: Bearer $TOKEN" "$@"; }
ctl() { curl -sS --cacert "$cacert" "$@"; } # /_emulator/* needs no token
shp=$url/apis/selfheal.dev/v1alpha1/namespaces/default/selfhealingpipelines
mk() { api -X POST -H 'Content-Type: application/json' "$shp" -d "$1" >/dev/null; }
mk '{"apiVersion":"selfheal.dev/v1alpha1","kind":"SelfHealingPipeline","metadata":{"name":"ok"},"spec":{"escalation":{"maxSameIssue":3}}}'
mk '{"apiVersion":"selfheal.dev/v1alpha1","kind":"SelfHealingPipeline","metadata":{"name":"broken"},"spec":{"service":{"healthCheck":{"url":"http://x","interval":"5s","timeout":"1m"}}}}'
mk "{\"apiVersion\":\"selfheal.dev/v1alpha1\",\"kind\":\"SelfHealingPipeline\",\"metadata\":{\"name\":\"failing\"},\"spec\":{\"service\":{\"healthCheck\":{\"url\":\"http://127.0.0.1:$dead/\",\"interval\":\"1s\",\"timeout\":\"1s\",\"failureThreshold\":1},\"recovery\":{\"method\":\"restart\",\"deployment\":\"no-such-deployment\",\"maxAttempts\":2,\"backoff\":\"1s\"}}}}"

# a pipeline whose data file escapes the allowed root (the kube controller confines too)
mk "{\"apiVersion\":\"selfheal.dev/v1alpha1\",\"kind\":\"SelfHealingPipeline\",\"metadata\":{\"name\":\"escape\"},\"spec\":{\"dataQuality\":{\"path\":\"$RT/data/../outside/victim.csv\",\"interval\":\"1s\"}}}"

# the kubeconfig carries the token and a client certificate and key
"$PY" - "$kc" "$crtb64" "$keyb64" <<'PY'
import sys
path, crt, key = sys.argv[1:4]
lines = open(path).read().splitlines()
out = []
for l in lines:
    out.append(l)
    if l.strip().startswith("token:"):
        ind = l[: len(l) - len(l.lstrip())]
        out.append(ind + "client-certificate-data: " + crt)
        out.append(ind + "client-key-data: " + key)
open(path, "w").write("\n".join(out) + "\n")
PY
grep -q "client-key-data" "$kc" || fail "the kubeconfig has no client key: $(cat "$kc")"

kport=$(free_port)
"$SELFHEAL" run --kubeconfig "$kc" --listen "127.0.0.1:$kport" --log-level debug \
    --allow-path "$TMP/data" >"$TMP/kube.log" 2>&1 &
track $!
kbase="http://127.0.0.1:$kport"
wait_for 15 "the kube controller is ready" curl -sf "$kbase/readyz"
for p in broken escape; do
    wait_for 15 "the $p pipeline is reported Invalid" sh -c \
        "curl -sS --cacert '$cacert' -H 'Authorization: Bearer $TOKEN' '$shp/$p' | jq -e '.status.phase == \"Invalid\"'"
done
msg=$(api "$shp/escape" | jq -r '.status.conditions[] | select(.type == "Ready") | .message')
assert_eq "$msg" "spec.dataQuality.path: $RT/data/../outside/victim.csv resolves to $RT/outside/victim.csv, outside the allowed paths (--allow-path $RT/data)" \
    "the escaping pipeline's status in the cluster"
# faults: 500s, then 429s, cut watches
ctl -X POST "$url/_emulator/faults" -d '{"error_rate": 0.5, "error_code": 500, "drop_watch_after": 2}' >/dev/null
ctl -X POST "$url/_emulator/drop-watches" >/dev/null
sleep 2
ctl -X POST "$url/_emulator/faults" -d '{"error_rate": 0.5, "error_code": 429, "retry_after": 1}' >/dev/null
ctl -X POST "$url/_emulator/drop-watches" >/dev/null
sleep 2
ctl -X POST "$url/_emulator/faults" -d '{"reset": true}' >/dev/null
injected=$(ctl "$url/_emulator/stats" | jq .injected_errors)
[ "$injected" -gt 0 ] || fail "no fault was injected"

curl -sf "$kbase/metrics" >"$TMP/metrics.txt"
curl -s "$kbase/api/v1/pipelines" >"$TMP/api.json" # 401/503 now: the emulator reviews no tokens
ctl "$url/_emulator/objects" >"$TMP/objects.json" # every status and every Event
grep -q '"reason": *"InvalidSpec"\|InvalidSpec' "$TMP/objects.json" || fail "no status was written"
for f in kube.log metrics.txt api.json objects.json; do
    for secret in "$TOKEN" "$keyline" "${keyb64:0:60}" "${keyb64: -60}" "PRIVATE KEY"; do
        if grep -qF -- "$secret" "$TMP/$f"; then
            fail "$f holds a credential ($(grep -nF -- "$secret" "$TMP/$f" | head -2 | cut -c1-200))"
        fi
    done
done

# 5 (real). the same on a real kube-apiserver, under a ServiceAccount token
# bound to manifests/rbac.yaml; and a wrong token, refused by the real server
envtest_up
envtest_namespace sec
envtest_controller_kubeconfig "$NS" "$TMP/sa.kubeconfig"
RTOKEN=$(awk '/token:/ {gsub(/[{}"]/, ""); print $NF}' "$TMP/sa.kubeconfig")
[ ${#RTOKEN} -gt 100 ] || fail "no ServiceAccount token in the kubeconfig: $(cat "$TMP/sa.kubeconfig")"
sed "s/$RTOKEN/$WRONG/" "$TMP/sa.kubeconfig" >"$TMP/kc-wrong"
grep -qF "$WRONG" "$TMP/kc-wrong" || fail "could not write the wrong-token kubeconfig"
kadm apply -n "$NS" -f - >"$TMP/apply.log" 2>&1 <<YAML || fail "apply pipelines: $(cat "$TMP/apply.log")"
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: ok}
spec: {escalation: {maxSameIssue: 3}}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: broken}
spec: {service: {healthCheck: {url: "http://x"}, recovery: {method: process, process: {command: [x], env: {"1BAD": v}}}}}  # beyond what the CRD checks
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: failing}
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:$dead/", interval: 1s, timeout: 1s, failureThreshold: 1}
    recovery: {method: restart, deployment: no-such-deployment, maxAttempts: 2, backoff: 1s}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: escape}
spec: {dataQuality: {path: "$RT/data/../outside/victim.csv", interval: 1s}}
YAML
rport=$(free_port)
"$SELFHEAL" run --kubeconfig "$TMP/sa.kubeconfig" --namespace "$NS" --listen "127.0.0.1:$rport" \
    --log-level debug --allow-path "$TMP/data" >"$TMP/real.log" 2>&1 &
rpid=$!
track $rpid
wait_for 30 "the controller on the real server is ready" curl -sf "http://127.0.0.1:$rport/readyz"
phase_is() { [ "$(kadm get shp "$1" -n "$NS" -o jsonpath='{.status.phase}')" = "$2" ]; }
for p in broken escape; do wait_for 30 "the $p pipeline is reported Invalid" phase_is "$p" Invalid; done
msg=$(kadm get shp escape -n "$NS" -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}')
assert_eq "$msg" "spec.dataQuality.path: $RT/data/../outside/victim.csv resolves to $RT/outside/victim.csv, outside the allowed paths (--allow-path $RT/data)" \
    "the escaping pipeline's status on the real server"
has_events() { kadm get events -n "$NS" -o name | grep -q .; }
wait_for 30 "Events from the controller" has_events
# the failing pipeline's recovery ran into the missing Deployment (a real 404)
failing_tried() { kadm get events -n "$NS" --field-selector involvedObject.name=failing -o name | grep -q .; }
wait_for 30 "an Event about the failing pipeline" failing_tried
# a controller with a wrong token: the real API server answers 401
wport=$(free_port)
"$SELFHEAL" run --kubeconfig "$TMP/kc-wrong" --namespace "$NS" --listen "127.0.0.1:$wport" --log-level debug \
    >"$TMP/real-wrong.log" 2>&1 &
wpid=$!
track $wpid
wait_for 30 "the wrong token is refused by the real server" grep -q "401" "$TMP/real-wrong.log"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$wport/readyz")
[ "$code" != 200 ] || fail "ready with a wrong token"
curl -sf "http://127.0.0.1:$rport/metrics" >"$TMP/real-metrics.txt"
curl -sf -H "Authorization: Bearer $RTOKEN" "http://127.0.0.1:$rport/api/v1/pipelines" >"$TMP/real-api.json"
curl -sf "http://127.0.0.1:$wport/metrics" >>"$TMP/real-metrics.txt" || true
curl -sf "http://127.0.0.1:$wport/api/v1/pipelines" >>"$TMP/real-api.json" || true
kadm get shp,events,leases,configmaps -n "$NS" -o json >"$TMP/real-objects.json"
grep -q "InvalidSpec" "$TMP/real-objects.json" || fail "no status was written on the real server"
for f in real.log real-wrong.log real-metrics.txt real-api.json real-objects.json; do
    for secret in "$RTOKEN" "$WRONG" "${RTOKEN:0:40}" "${RTOKEN: -40}"; do
        if grep -qF -- "$secret" "$TMP/$f"; then
            fail "$f holds a credential ($(grep -nF -- "$secret" "$TMP/$f" | head -2 | cut -c1-200))"
        fi
    done
done
kill "$wpid" "$rpid" 2>/dev/null || true
forbidden=$(envtest_forbidden "$SA_USER")
[ -z "$forbidden" ] || fail "Forbidden under manifests/rbac.yaml on the real server: $forbidden"

# 6. TLS: no CA → the self-signed server is refused; insecure → accepted, with a warning
grep -v "certificate-authority-data" "$kc" >"$TMP/kc-noca"
nport=$(free_port)
"$SELFHEAL" run --kubeconfig "$TMP/kc-noca" --listen "127.0.0.1:$nport" >"$TMP/kube-noca.log" 2>&1 &
npid=$!
track $npid
wait_for 15 "the unverifiable certificate is refused" grep -qiE "certificate|SSL" "$TMP/kube-noca.log"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$nport/readyz")
[ "$code" != 200 ] || fail "ready against a server whose certificate cannot be verified"
grep -q "insecure-skip-tls-verify" "$TMP/kube-noca.log" && fail "an insecure warning without insecure-skip-tls-verify"
kill "$npid" 2>/dev/null || true
sed 's/^\( *\)server: /\1insecure-skip-tls-verify: true\n\1server: /' "$TMP/kc-noca" >"$TMP/kc-insecure"
grep -q "insecure-skip-tls-verify: true" "$TMP/kc-insecure" || fail "could not write the insecure kubeconfig"
iport=$(free_port)
"$SELFHEAL" run --kubeconfig "$TMP/kc-insecure" --listen "127.0.0.1:$iport" >"$TMP/kube-insecure.log" 2>&1 &
ipid=$!
track $ipid
wait_for 15 "ready with insecure-skip-tls-verify" curl -sf "http://127.0.0.1:$iport/readyz"
grep -E "warn .*insecure-skip-tls-verify is true: the API server's certificate is NOT verified" \
    "$TMP/kube-insecure.log" >/dev/null || fail "no warning for insecure-skip-tls-verify: $(cat "$TMP/kube-insecure.log")"
kill "$ipid" 2>/dev/null || true
# the unconfined default says so once at start-up
assert_eq "$(grep -c 'paths in specs are unconfined' "$TMP/kube-insecure.log")" 1 "the unconfined warning"
echo "ok"
