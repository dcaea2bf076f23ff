#!/usr/bin/env bash
# SIGTERM while work is in flight (issue 21, acceptance 3), on the binary
# built with AddressSanitizer + UndefinedBehaviorSanitizer (build/selfheal_san,
# which make test builds; bin/selfheal otherwise):
#  1. during a local service restart that takes 10 s (the service ignores
#     SIGTERM: 5 s of grace, then SIGKILL);
#  2. during the data fix of a large file;
#  3. while the API server throttles every status write (429, Retry-After 60 s).
# Each time the controller exits 0 within its shutdown budget (25 s; the
# chart's pod has 30 s), no sanitizer report, no temporary file left, every
# file it wrote parses, and the data file is the old one or the fixed one.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/kube.sh"
BIN=$SH_ROOT/build/selfheal_san
[ -x "$BIN" ] || BIN=$SELFHEAL
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=99 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# stop CTL_PID: SIGTERM, then the exit status within SECONDS; fails on a
# sanitizer report in LOG
stop_within() { # PID SECONDS LOG
    local t0 rc=0
    t0=$(date +%s%N)
    kill -TERM "$1"
    for _ in $(seq $(($2 * 20))); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$1" 2>/dev/null && fail "still running $2 s after SIGTERM: $(tail -5 "$3")"
    wait "$1" || rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    ! grep -E 'ERROR: AddressSanitizer|runtime error:' "$3" || fail "sanitizer report in $3"
    assert_eq "$rc" 0 "exit status after SIGTERM ($(tail -3 "$3"))"
}

no_temp_files() { # DIR
    local left
    left=$(find "$1" -name '.*tmp*' -o -name '*.tmp' -o -name '*.tmp.*' | head -5)
    [ -z "$left" ] || fail "temporary files left: $left"
}

# 1. a 10 s restart
specs=$TMP/s1
mkdir -p "$specs"
dead=$(free_port)
cat >"$specs/slow.yaml" <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: slow}
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:$dead/health", interval: 300ms, timeout: 200ms, failureThreshold: 1, startupTimeout: 1s}
    recovery:
      method: process
      maxAttempts: 3
      backoff: 100ms
      process: {command: ["sh", "-c", "trap '' TERM; exec sleep 987654"]}
YAML
(cd "$TMP" && exec "$BIN" run --specs "$specs" --listen 127.0.0.1:0 >"$TMP/ctl1.log" 2>&1) &
ctl=$!
track $ctl
restarting() { grep -qiE 'restart' "$TMP/ctl1.log"; }
wait_for 30 "a restart in progress" restarting
sleep 1 # inside the 5 s grace the ignored SIGTERM buys
stop_within $ctl 25 "$TMP/ctl1.log"
echo "1. SIGTERM during a 10 s restart: exit 0 after ${ms} ms"
[ "$ms" -ge 3000 ] || fail "exited in ${ms} ms: the restart in flight was not waited for"
no_temp_files "$specs/.."
jq . "$TMP/s1/../.selfheal/pipelines/default/slow.json" >/dev/null 2>&1 ||
    jq . "$(find "$TMP" -path '*pipelines/default/slow.json' | head -1)" >/dev/null ||
    fail "the status file does not parse"
pgrep -f 'sleep 987654' >/dev/null && fail "the supervised process outlived the controller"

# 2. a large data fix
specs=$TMP/s2
mkdir -p "$specs" "$TMP/data"
/usr/bin/python3 - "$TMP/data/big.csv" <<'PY'
import random, sys
random.seed(7)
with open(sys.argv[1], "w") as f:
    f.write("id,a,b,c,d,city\n")
    for i in range(400000):
        row = [str(i)] + [("" if random.random() < 0.05 else f"{random.gauss(100, 15) * (50 if random.random() < 0.01 else 1):.3f}") for _ in range(4)] + [random.choice(["x", "y", "z", ""])]
        f.write(",".join(row) + "\n")
PY
cp "$TMP/data/big.csv" "$TMP/original.csv"
cat >"$specs/data.yaml" <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: data}
spec:
  dataQuality: {path: "$TMP/data/big.csv", interval: 1h, maxFixedFraction: 0.9}
YAML
(cd "$TMP" && exec "$BIN" run --specs "$specs" --listen 127.0.0.1:0 >"$TMP/ctl2.log" 2>&1) &
ctl=$!
track $ctl
started() { [ -e "$TMP/data/big.csv" ] && ls -a "$TMP/data" | grep -q -e '\.tmp' -e backup -e '\.bak'; }
wait_for 30 "the data fix under way" started
stop_within $ctl 25 "$TMP/ctl2.log"
echo "2. SIGTERM during a data fix: exit 0 after ${ms} ms"
no_temp_files "$TMP/data"
rows=$(wc -l <"$TMP/data/big.csv")
assert_eq "$rows" 400001 "rows of the data file (the old one or the fixed one)"
if ! cmp -s "$TMP/data/big.csv" "$TMP/original.csv"; then
    # the fixed one: a second fix changes nothing it would not have
    /usr/bin/python3 -c 'import csv,sys; rows=list(csv.reader(open(sys.argv[1]))); assert all(len(r)==6 for r in rows)' "$TMP/data/big.csv" ||
        fail "the data file is neither the old one nor a whole CSV"
fi

# 3. a throttled API server
start_emulator t3 --error-rate 1 --error-code 429 --retry-after 60 --error-methods PATCH \
    --crd "$SH_ROOT/crd/selfhealingpipelines.selfheal.dev.yaml"
echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ml"}}' |
    api -X POST -H 'Content-Type: application/json' --data-binary @- "$url/api/v1/namespaces" >/dev/null
for i in 1 2 3 4 5; do
    echo "{\"apiVersion\":\"selfheal.dev/v1alpha1\",\"kind\":\"SelfHealingPipeline\",\"metadata\":{\"name\":\"p$i\",\"namespace\":\"ml\"},\"spec\":{}}" |
        api -X POST -H 'Content-Type: application/json' --data-binary @- \
            "$url/apis/selfheal.dev/v1alpha1/namespaces/ml/selfhealingpipelines" >/dev/null
done
"$BIN" run --kubeconfig "$kc" --listen 127.0.0.1:0 >"$TMP/ctl3.log" 2>&1 &
ctl=$!
track $ctl
throttled() { grep -q '429' "$TMP/ctl3.log"; }
wait_for 30 "a throttled status write" throttled
stop_within $ctl 10 "$TMP/ctl3.log"
echo "3. SIGTERM while throttled (Retry-After 60 s): exit 0 after ${ms} ms"
echo ok
