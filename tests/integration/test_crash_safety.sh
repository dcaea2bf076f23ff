#!/usr/bin/env bash
# Crash safety of the local controller (issue 10, fault injection — Local):
# `selfheal run` is SIGKILLed at seeded random moments (the seed is printed;
# SELFHEAL_CRASH_SEED replays a run) while it fixes data, rolls models back
# and retrains, and restarted, SELFHEAL_CRASH_ROUNDS times (default 24).
# Every round the test breaks the world again (a new data file with missing
# cells, a drifted current.csv, the registry's `current` back on the newest
# version with a low metric), so that every kind of write is in flight at
# some kill. After every kill (tests/fixtures/crash_check.py):
#  - every visible CSV under data/ parses with the expected header and row
#    count (data.csv, its backups, reference.csv, current.csv);
#  - status files, events.jsonl lines, rollback/retraining/recovery logs parse;
#  - `current` of both registries resolves to a version with metrics.json;
#  - nothing unexpected is visible: a temporary file left by a kill must be
#    hidden (leading dot), which the readers ignore; their count is reported,
#    and after the last restart none of a dead process is left in the status
#    folder (the controller sweeps them).
# Across rounds: successful retrains (retraining_log.json) are at least the
# cooldown (4 s) apart, and retrain starts stay within what the cooldown
# allows (two attempts per cooldown window: a lost one is retried once); a
# second drift pipeline with a 1 h cooldown starts at most two retrains over
# all the restarts; the supervised service (found by a unique argv marker)
# never runs twice once a restarted controller has settled, and the one
# running is the current controller's child (not one a killed controller
# left behind, which the restarted one must take over).
source "$(dirname "$0")/lib/common.sh"
cd "$TMP"
FLAKY="$SH_ROOT/bin/flaky_server"
[ -x "$FLAKY" ] || fail "$FLAKY is missing: run make examples"
CHECK="$SH_ROOT/tests/fixtures/crash_check.py"
rounds=${SELFHEAL_CRASH_ROUNDS:-24}
seed=${SELFHEAL_CRASH_SEED:-$(( $(date +%s%N) % 32768 ))}
echo "crash seed $seed ($rounds rounds; replay with SELFHEAL_CRASH_SEED=$seed)"
RANDOM=$seed
ROWS=60000
COOLDOWN_S=4
# A retrain killed between its start and the status write must not start
# again within its cooldown: the child names itself in <log>.pid before exec
# and the restarted controller adopts it (controller/local/local_actuators_retrain.c).
retrain_violation() { fail "$*"; }

mkdir -p data models/v1 reg specs state
# --- the world ---------------------------------------------------------------
broken_data() { # SALT: a data file with missing cells and outliers, written atomically
    awk -v s="$1" -v n=$ROWS 'BEGIN {
        print "rooms,bedrooms,income,city"
        for (i = 0; i < n; i++) {
            r = 1000 + (i * 37 + s) % 5000; b = int(r / 5); inc = 2 + ((i + s) % 97) / 10
            if ((i + s) % 101 == 0) b = ""
            if ((i + s) % 211 == 0) r = r * 80
            printf "%s,%s,%.2f,%s\n", r, b, inc, ((i + s) % 3 ? "north" : "south")
        }
    }' >data/.gen.tmp
    mv data/.gen.tmp data/data.csv
}
drift_csv() { # FILE SHIFT
    awk -v sh="$2" 'BEGIN { print "rooms,age,city"; for (i = 0; i < 300; i++) printf "%d,%d,%s\n", i % 50 + sh, (i * 7) % 50 + sh, (i % 3 ? "north" : "south") }' >data/.gen.tmp
    mv data/.gen.tmp "$1"
}
broken_data 0
drift_csv data/reference.csv 0
drift_csv data/current.csv 40
drift_csv data/ref2.csv 0
drift_csv data/cur2.csv 40
echo '{"accuracy": 0.80}' >models/v1/metrics.json
ln -s v1 models/current
# the rollback registry: 80 good versions; the served metric stays low, so
# the controller keeps rolling back one version at a time
for v in $(seq 1 80); do mkdir reg/v$v && echo '{"accuracy": 0.9}' >reg/v$v/metrics.json; done
ln -s v80 reg/current
echo '{"accuracy": 0.5}' >metric.json
reset_current() { # the test puts reg/current back on the newest version (atomically)
    ln -sfn v80 reg/.current.test && mv -T reg/.current.test reg/current
}
# retraining: records its start, takes a little while, writes a new version
cat >retrain.sh <<'SH'
date +%s.%N >> "${1:-trained.txt}"
sleep 0.2
v=v$(date +%s%N)
mkdir -p models/.$v.tmp && echo '{"accuracy": 0.93}' > models/.$v.tmp/metrics.json && mv models/.$v.tmp models/$v
echo "trained $v"
SH
sport=$(free_port)
MARK="--port $sport --port-file $TMP/svc.port"
cat >specs/crash.yaml <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: data}
spec:
  dataQuality: {path: $TMP/data/data.csv, interval: 200ms, backup: {keep: 3}}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: rollback}
spec:
  model:
    metric:
      source: {file: {path: $TMP/metric.json, jsonPointer: /accuracy}}
      interval: 200ms
    minAccuracy: 0.70
    rollback: {registry: {path: $TMP/reg}, reload: none, maxRollbacks: 1000, window: 1h}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: retrain}
spec:
  drift:
    reference: {path: $TMP/data/reference.csv}
    current: {path: $TMP/data/current.csv}
    interval: 200ms
    cooldown: ${COOLDOWN_S}s
    retrain: {command: [sh, retrain.sh], timeout: 30s}
---
# a cooldown longer than the test: over all the restarts, one retrain (and
# at most one more attempt when the first was lost to a kill)
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: retrain-long}
spec:
  drift:
    reference: {path: $TMP/data/ref2.csv}
    current: {path: $TMP/data/cur2.csv}
    interval: 200ms
    cooldown: 1h
    retrain: {command: [sh, retrain.sh, trained2.txt], timeout: 30s}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: svc}
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:$sport/health", interval: 200ms, timeout: 150ms, failureThreshold: 2}
    recovery:
      method: process
      maxAttempts: 1000
      backoff: 100ms
      process: {command: ["$FLAKY", "--port", "$sport", "--port-file", "$TMP/svc.port"]}
YAML

# the service processes of this test, found by their unique argv
svc_pids() {
    local f cmd
    for f in /proc/[0-9]*/cmdline; do
        cmd=$( { tr '\0' ' ' <"$f"; } 2>/dev/null) || continue
        [[ "$cmd" == *"$MARK "* ]] && { f=${f#/proc/}; echo "${f%/cmdline}"; }
    done
    return 0
}
kill_svcs() { local p; for p in $(svc_pids); do kill -KILL "$p" 2>/dev/null || true; done; }
trap 'rc=$?; kill_svcs; [ $rc -eq 0 ] || { echo "--- run.log"; tail -30 run.log; [ -z "${CRASH_KEEP:-}" ] || cp -r "$TMP" "$CRASH_KEEP"; }; cleanup' EXIT

ctl=
start_controller() {
    "$SELFHEAL" run --specs specs --state "$TMP/state" --listen 127.0.0.1:0 >>run.log 2>&1 &
    ctl=$!
    track $ctl
}
starts_in_windows() { # the retrain starts allowed so far vs made
    /usr/bin/python3 - "$COOLDOWN_S" <<'PY'
import sys
cd = float(sys.argv[1])
try:
    t = sorted(float(x) for x in open("trained.txt").read().split())
except FileNotFoundError:
    t = []
# the controller opens a window at an attempt and allows two attempts in it
# (a lost one is retried once); the next window opens cooldown later
worst, i = 0, 0
for i in range(len(t)):
    n = sum(1 for u in t[i:] if u < t[i] + cd - 0.05)
    worst = max(worst, n)
print(len(t), worst)
PY
}
succeeded_gaps_ok() { # successful retrains at least the cooldown apart (second precision)
    [ -f .github/triggers/retraining_log.json ] || return 0
    jq -e --argjson cd $COOLDOWN_S '[.events[] | select(.status == "succeeded" and .pipeline == "default/retrain") | .timestamp | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601]
        | . as $t | [range(1; length) | $t[.] - $t[. - 1]] | all(. >= $cd - 1)' .github/triggers/retraining_log.json >/dev/null
}

count_lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
settled_checks=0
max_hidden=0
for i in $(seq 1 "$rounds"); do
    # break the world again (the controller is down)
    broken_data "$i"
    drift_csv data/current.csv $((40 + (i % 5) * 10))
    [ $((i % 3)) -eq 0 ] && reset_current
    start_controller
    # a third of the kills land in the first 80 ms, when the start-up work
    # (a data fix, a rollback, a retrain start, the service spawn) is in flight
    case $((RANDOM % 3)) in
    0) ms=$((5 + RANDOM % 75)) ;;
    1) ms=$((80 + RANDOM % 720)) ;;
    *) ms=$((800 + RANDOM % 1700)) ;;
    esac
    sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
    if [ $ms -ge 1600 ]; then
        # settled: one service process, not one per controller that ever ran
        n=$(svc_pids | wc -l)
        [ "$n" -le 1 ] || fail "round $i: $n service processes after ${ms} ms: $(svc_pids | tr '\n' ' ')"
        # ... and it is this controller's child, not one a killed controller left
        for p in $(svc_pids); do
            pp=$(awk '{ print $4 }' /proc/$p/stat 2>/dev/null || echo gone)
            [ "$pp" = gone ] || [ "$pp" = "$ctl" ] ||
                fail "round $i: the service process $p is not supervised by the controller $ctl (parent $pp) after ${ms} ms"
        done
        settled_checks=$((settled_checks + 1))
    fi
    kill -KILL $ctl 2>/dev/null || true
    wait $ctl 2>/dev/null || true
    out=$(/usr/bin/python3 "$CHECK" "$TMP" $ROWS) || fail "round $i (killed after ${ms} ms): $out"
    h=$(awk '/^hidden temporaries:/ { print $3 }' <<<"$out")
    [ "$h" -gt $max_hidden ] && max_hidden=$h
    succeeded_gaps_ok || retrain_violation "round $i: successful retrains closer than the cooldown: $(jq -c '[.events[] | select(.status=="succeeded") | .timestamp]' .github/triggers/retraining_log.json)"
    read -r nstarts worst < <(starts_in_windows)
    [ "$worst" -le 2 ] || retrain_violation "round $i: $worst retrain starts within one ${COOLDOWN_S}s cooldown: $(tr '\n' ' ' <trained.txt)"
    n2=$(count_lines trained2.txt)
    [ "$n2" -le 2 ] || retrain_violation "round $i: $n2 retrains of retrain-long within its 1h cooldown"
    drift_csv data/cur2.csv $((40 + (i % 5) * 10)) # drifted again
done
echo "after $rounds kills: $(tail -1 <<<"$out"), most hidden temporaries at once $max_hidden"

# --- a last, undisturbed run: the work gets done, one service process ---------
broken_data 999
start_controller
doc() { jq -r "$2" "state/pipelines/default/$1.json" 2>/dev/null; }
cond_is() { [ "$(doc "$1" ".status.conditions[]? | select(.type==\"$2\") | .$3")" = "$4" ]; }
one_svc() { [ "$(svc_pids | wc -l)" -eq 1 ]; }
wait_for 20 "the data fixed after the kills" cond_is data DataValid reason Fixed
wait_for 20 "the service healthy after the kills" cond_is svc ServiceHealthy status True
sleep 1
n=$(svc_pids | wc -l)
assert_eq "$n" 1 "service processes after the last restart settled"
assert_eq "$(awk '{ print $4 }' "/proc/$(svc_pids)/stat")" "$ctl" "the parent of the service process"
/usr/bin/python3 "$CHECK" "$TMP" $ROWS >/dev/null || fail "after the last run: $(/usr/bin/python3 "$CHECK" "$TMP" $ROWS)"
# the temporaries killed writers left in the status folder are swept by the
# next controller (its first write there): none of a dead process remains
dead_tmps() {
    local f pid
    for f in state/pipelines/default/.*.tmp.*; do
        [ -e "$f" ] || continue
        pid=${f##*.tmp.}
        pid=${pid%%.*}
        kill -0 "$pid" 2>/dev/null || echo "$f"
    done
}
assert_eq "$(dead_tmps)" "" "temporaries of killed controllers left in the status folder"
read -r nstarts worst < <(starts_in_windows)
nsucc=$(jq '[.events[] | select(.status == "succeeded")] | length' .github/triggers/retraining_log.json 2>/dev/null || echo 0)
echo "retrains: $nstarts started, $nsucc succeeded (logged, both pipelines), at most $worst starts in one cooldown; retrain-long: $(count_lines trained2.txt) started; $(jq length reg/rollback_log.json 2>/dev/null || echo 0) rollbacks logged; $(ls data | grep -c bak) data backups; service checked settled in $settled_checks rounds"
kill -TERM $ctl
rc=0
wait $ctl || rc=$?
assert_eq "$rc" 0 "the controller's exit status on SIGTERM"
no_svc() { [ "$(svc_pids | wc -l)" -eq 0 ]; }
wait_for 5 "the service stops with the controller" no_svc

# --- the retrain start, killed on purpose right after the fork -----------------
# A drift pipeline (cooldown 1h) starts a retrain; the controller is
# SIGKILLed as soon as the job runs (its first line is written: most likely
# before the start reached status), then restarted. Within the cooldown
# exactly one retrain may have started: the new controller adopts the
# orphan and records the attempt.
cat >rx-spec.yaml <<'YAML'
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: r}
spec:
  drift:
    reference: {path: data/reference.csv}
    current: {path: data/current.csv}
    interval: 200ms
    cooldown: 1h
    retrain: {command: [sh, retrain.sh], timeout: 30s}
YAML
for k in 1 2 3; do # the window is a few milliseconds: three tries
    rx=rx$k
    mkdir -p $rx/specs $rx/data $rx/models/v1
    echo '{"accuracy": 0.80}' >$rx/models/v1/metrics.json
    ln -s v1 $rx/models/current
    awk 'BEGIN { print "rooms,age,city"; for (i = 0; i < 300; i++) printf "%d,%d,%s\n", i % 50, (i * 7) % 50, (i % 3 ? "north" : "south") }' >$rx/data/reference.csv
    awk 'BEGIN { print "rooms,age,city"; for (i = 0; i < 300; i++) printf "%d,%d,%s\n", i % 50 + 40, (i * 7) % 50 + 40, (i % 3 ? "north" : "south") }' >$rx/data/current.csv
    printf 'date +%%s.%%N >> started.txt\nsleep 1\n' >$rx/retrain.sh
    cp rx-spec.yaml $rx/specs/r.yaml
    (cd $rx && exec "$SELFHEAL" run --specs specs --listen 127.0.0.1:0 >>run.log 2>&1) &
    ctl=$!
    track $ctl
    t0=$SECONDS
    until [ -s $rx/started.txt ]; do # builtins only: the kill follows within a millisecond
        [ $((SECONDS - t0)) -lt 10 ] || fail "the retrain did not start"
    done
    kill -KILL $ctl
    wait $ctl 2>/dev/null || true
    (cd $rx && exec "$SELFHEAL" run --specs specs --listen 127.0.0.1:0 >>run.log 2>&1) &
    ctl=$!
    track $ctl
    sleep 1.5 # several drift intervals
    kill -TERM $ctl
    wait $ctl || true
    n=$(count_lines $rx/started.txt)
    [ "$n" -eq 1 ] ||
        retrain_violation "try $k: a retrain killed right after its start was started again after the restart, within its 1h cooldown ($n starts)"
    attempts=$(jq -r '.status.drift.retrainJob.attempts // 0' $rx/specs/.selfheal/pipelines/default/r.json)
    [ "$attempts" = 1 ] || fail "try $k: the adopted retrain is one recorded attempt, status says $attempts"
done
echo "ok"
