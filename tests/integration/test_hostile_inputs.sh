#!/usr/bin/env bash
# Hostile inputs (issue 10, fault injection): bounded memory and clear errors.
#  a. A health endpoint with a 1 GiB body (tests/fixtures/hostile_server.py
#     streams it lazily): the probe reads a capped prefix and judges on the
#     status line (200 → healthy, 500 → "HTTP 500"); the server sees the
#     probe hang up long before 1 GiB.
#  b. Metric endpoints answering NaN, ±Infinity, ±1e999 (beyond a double), a
#     string, null, an over-long body — as an HTTP JSON source and as a
#     Prometheus answer: ModelValid says why the reading is unusable
#     (MetricUnavailable), nothing rolls back, the controller stays up. A real
#     low reading afterwards does roll back (the check can fail).
#  c. A CSV whose header has 10 million columns (written by a streaming
#     generator, ~90 MB on one line): `selfheal fix-data` and `selfheal drift`
#     refuse it with "too many columns (limit 100000)" in bounded memory (max
#     RSS of the child from getrusage); in the controller, a dataQuality and a
#     drift pipeline on it report the error while another pipeline still
#     fixes its file.
# Throughout: the controller's peak RSS (VmHWM) stays below 200 MB — a memory
# bound, not a speed limit.
source "$(dirname "$0")/lib/common.sh"
cd "$TMP"
RSS_LIMIT_KB=$((200 * 1024))

/usr/bin/python3 "$SH_ROOT/tests/fixtures/hostile_server.py" "$TMP/server.port" >server.log 2>&1 &
track $!
wait_for 10 "the hostile server's port" test -s "$TMP/server.port"
hp=$(cat "$TMP/server.port")
H=http://127.0.0.1:$hp
setv() { # KEY VALUE: what /json or /api/v1/query answers from now on
    curl -sf -G "$H/set" --data-urlencode "$1=$2" >/dev/null || fail "cannot set $1 on the server"
}

# --- c (first half): the 10-million-column CSV and the one-shot commands ----
/usr/bin/python3 - wide.csv <<'PY'
import sys
# one header line of 10 000 000 names, then one row of as many ones, written
# in slices so that nothing big is held in memory
N, STEP = 10_000_000, 100_000
with open(sys.argv[1], "w") as f:
    for row in ("c%d", "1"):
        for s in range(0, N, STEP):
            f.write(("," if s else "") + ",".join((row % i) if "%" in row else row for i in range(s, s + STEP)))
        f.write("\n")
PY
[ "$(head -c 20000000 wide.csv | tr -cd , | wc -c)" -gt 1000000 ] || fail "the wide CSV was not written"
# normal small files (300 rows) for the other pipelines and the drift CLI
awk 'BEGIN { print "rooms,age,city"; for (i = 0; i < 300; i++) printf "%d,%d,%s\n", i % 50, (i * 7) % 50, (i % 3 ? "north" : "south") }' >small.csv
# max RSS (kB) of a command, from getrusage of the finished child
maxrss_of() { # OUT ERR COMMAND...: prints "RC MAXRSS_KB"
    local out=$1 err=$2
    shift 2
    /usr/bin/python3 -c '
import resource, subprocess, sys
with open(sys.argv[1], "w") as o, open(sys.argv[2], "w") as e:
    rc = subprocess.call(sys.argv[3:], stdout=o, stderr=e)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$out" "$err" "$@"
}
cp wide.csv wide-cli.csv
read -r rc kb < <(maxrss_of fix.out fix.err "$SELFHEAL" fix-data --data-path wide-cli.csv)
assert_eq "$rc" 1 "fix-data's exit status on 10 million columns ($(cat fix.err))"
assert_contains "$(cat fix.err)" "wide-cli.csv:1: too many columns (limit 100000)"
[ "$kb" -lt $RSS_LIMIT_KB ] || fail "fix-data used $kb kB on the wide CSV (limit $RSS_LIMIT_KB)"
cmp -s wide.csv wide-cli.csv || fail "fix-data changed the refused file"
[ -z "$(ls -A | grep -E 'wide-cli.csv\.(bak|.*tmp)|fixtmp' || true)" ] || fail "fix-data left files: $(ls -A)"
echo "fix-data on 10M columns: exit $rc, max RSS $kb kB"
read -r rc kb < <(maxrss_of drift.out drift.err "$SELFHEAL" drift --reference wide.csv --current small.csv)
assert_eq "$rc" 2 "drift's exit status on 10 million columns ($(cat drift.err))"
assert_contains "$(cat drift.err)" "wide.csv:1: too many columns (limit 100000)"
[ "$kb" -lt $RSS_LIMIT_KB ] || fail "drift used $kb kB on the wide CSV (limit $RSS_LIMIT_KB)"
echo "drift on 10M columns: exit $rc, max RSS $kb kB"

# --- the controller with every hostile pipeline -------------------------------
mkdir -p specs reg-http/v1 reg-http/v2 reg-prom/v1 reg-prom/v2
for r in reg-http reg-prom; do
    echo '{"accuracy": 0.91}' >$r/v1/metrics.json
    echo '{"accuracy": 0.88}' >$r/v2/metrics.json
    ln -s v2 $r/current
done
cp wide.csv wide-dq.csv
awk 'BEGIN { print "rooms,age,city"; for (i = 0; i < 300; i++) printf "%s,%d,%s\n", (i % 29 ? i % 50 : ""), (i * 7) % 50, (i % 3 ? "north" : "south") }' >other.csv
other_sum=$(sha256sum other.csv | cut -d' ' -f1)
pipe() { # NAME SPEC-BODY
    printf 'apiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\nmetadata: {name: %s}\nspec:\n%s\n' "$1" "$2" >"specs/$1.yaml"
}
pipe big "  service:
    healthCheck: {url: \"$H/big\", interval: 300ms, timeout: 250ms, failureThreshold: 1}
    recovery: {method: command, command: [\"true\"], maxAttempts: 1, backoff: 1h}"
pipe big500 "  service:
    healthCheck: {url: \"$H/big500\", interval: 300ms, timeout: 250ms, failureThreshold: 1}
    recovery: {method: command, command: [\"true\"], maxAttempts: 1, backoff: 1h}"
pipe mhttp "  model:
    metric:
      source: {http: {url: \"$H/json\", jsonPointer: /accuracy}}
      interval: 200ms
    minAccuracy: 0.70
    rollback: {registry: {path: $TMP/reg-http}, reload: none, maxRollbacks: 3, window: 1h}"
pipe mprom "  model:
    metric:
      source: {prometheus: {url: \"$H\", query: model_accuracy}}
      interval: 200ms
    minAccuracy: 0.70
    rollback: {registry: {path: $TMP/reg-prom}, reload: none, maxRollbacks: 3, window: 1h}"
pipe widedq "  dataQuality: {path: $TMP/wide-dq.csv, interval: 1s}"
pipe widedrift "  drift:
    reference: {path: $TMP/wide.csv}
    current: {path: $TMP/small.csv}
    interval: 1s
    cooldown: 1h
    retrain: {command: [\"true\"]}"
pipe other "  dataQuality: {path: $TMP/other.csv, interval: 1s}"

state=$TMP/state
port=$(free_port)
"$SELFHEAL" run --specs specs --state "$state" --listen "127.0.0.1:$port" >run.log 2>&1 &
ctl=$!
track $ctl
on_fail() { echo "--- run.log"; tail -25 run.log; }
trap 'rc=$?; [ $rc -eq 0 ] || on_fail; cleanup' EXIT

doc() { jq -r "$2" "$state/pipelines/default/$1.json" 2>/dev/null; }
cond() { doc "$1" ".status.conditions[]? | select(.type==\"$2\") | .$3"; }
cond_is() { [ "$(cond "$1" "$2" "$3")" = "$4" ]; }
msg_has() { [[ "$(cond "$1" "$2" message)" == *"$3"* ]]; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$ctl/status"; }
check_alive() {
    kill -0 $ctl 2>/dev/null || fail "the controller died ($1)"
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || fail "the controller does not answer ($1)"
    local kb
    kb=$(hwm_kb)
    [ "$kb" -lt $RSS_LIMIT_KB ] || fail "controller VmHWM $kb kB after $1 (limit $RSS_LIMIT_KB)"
}

# --- a. the 1 GiB health bodies -----------------------------------------------
wait_for 10 "big is ServiceHealthy (200 with a 1 GiB body)" cond_is big ServiceHealthy status True
wait_for 10 "big500 is unhealthy with HTTP 500" msg_has big500 ServiceHealthy "GET $H/big500: HTTP 500"
assert_eq "$(cond big500 ServiceHealthy status)" False
sleep 2 # several more probes of both
assert_eq "$(cond big ServiceHealthy status)" True "big after more probes"
stats=$(curl -sf "$H/stats")
jq -e '.big_requests >= 4' <<<"$stats" >/dev/null || fail "too few probes of the big bodies: $stats"
# the server counts what it wrote before the probe hung up (socket buffers included)
jq -e '.max_bytes_one_request < 64 * 1048576' <<<"$stats" >/dev/null ||
    fail "a probe read far more than its cap: $stats"
check_alive "the 1 GiB bodies"
echo "1 GiB bodies: $stats, VmHWM $(hwm_kb) kB"

# --- b. garbage metrics ---------------------------------------------------------
wait_for 10 "mhttp valid at 0.9" cond_is mhttp ModelValid reason AboveThreshold
wait_for 10 "mprom valid at 0.9" cond_is mprom ModelValid reason AboveThreshold
garbage() { # PIPELINE KEY GARBAGE EXPECTED-MESSAGE-PART
    local good='{"accuracy": 0.9}'
    [ "$2" = prom ] && good='"0.9"'
    setv "$2" "$good"
    wait_for 10 "$1 valid again before '$3'" cond_is "$1" ModelValid reason AboveThreshold
    setv "$2" "$3"
    wait_for 10 "$1 reports '$3' as unusable" msg_has "$1" ModelValid "$4"
    assert_eq "$(cond "$1" ModelValid reason)" MetricUnavailable "reason for '$3'"
    assert_eq "$(cond "$1" ModelValid status)" Unknown "ModelValid status for '$3'"
}
garbage mhttp json '{"accuracy": NaN}' "GET $H/json: not JSON"
garbage mhttp json '{"accuracy": Infinity}' "GET $H/json: not JSON"
garbage mhttp json '{"accuracy": -Infinity}' "GET $H/json: not JSON"
garbage mhttp json '{"accuracy": 1e999}' "/accuracy: not a finite number"
garbage mhttp json '{"accuracy": -1e999}' "/accuracy: not a finite number"
garbage mhttp json '{"accuracy": "0.1"}' "/accuracy: not a number (a string)"
garbage mhttp json '{"accuracy": null}' "/accuracy: not a number (null)"
garbage mhttp json 'BIG' "response larger than 1048576 bytes"
garbage mprom prom '"NaN"' "sample value NaN is not a finite number"
garbage mprom prom '"+Inf"' "sample value +Inf is not a finite number"
garbage mprom prom '"-Inf"' "sample value -Inf is not a finite number"
garbage mprom prom '"-1e999"' "sample value -1e999 is not a finite number"
garbage mprom prom '"low"' 'sample value "low" is not a number'
garbage mprom prom 'null' 'a sample is not [time, "value"]'
sleep 1 # a few more readings of the last garbage
for r in reg-http reg-prom; do
    assert_eq "$(readlink $r/current)" v2 "$r: a rollback was triggered by garbage"
    [ ! -e $r/rollback_log.json ] || fail "$r: a rollback was logged: $(cat $r/rollback_log.json)"
done
grep -q '"reason":"RolledBack"' "$state/events.jsonl" && fail "a RolledBack event after garbage"
check_alive "the garbage metrics"
# a real low reading does roll back: the checks above could fail
setv json '{"accuracy": 0.5}'
setv prom '"0.5"'
current_is() { [ "$(readlink "$1/current")" = "$2" ]; }
wait_for 10 "mhttp rolls back on a real low reading" current_is reg-http v1
wait_for 10 "mprom rolls back on a real low reading" current_is reg-prom v1

# --- c (second half): the controller on the wide CSV ------------------------------
wait_for 15 "widedq reports the column limit" msg_has widedq DataValid "too many columns (limit 100000)"
assert_contains "$(cond widedq DataValid message)" "$TMP/wide-dq.csv:1:"
wait_for 15 "widedrift reports the column limit" msg_has widedrift ModelFresh "too many columns (limit 100000)"
wait_for 15 "the other pipeline still fixes its file" cond_is other DataValid reason Fixed
[ "$(sha256sum other.csv | cut -d' ' -f1)" != "$other_sum" ] || fail "other.csv was not fixed"
cmp -s wide.csv wide-dq.csv || fail "the controller changed the refused wide file"
sleep 2 # more rounds over the wide file
check_alive "the wide CSV"
echo "controller VmHWM at the end: $(hwm_kb) kB"
kill -TERM $ctl
rc=0
wait $ctl || rc=$?
assert_eq "$rc" 0 "the controller's exit status on SIGTERM"
echo "ok"
