#!/usr/bin/env bash
# The service loop end to end (issue 3, acceptance 1 and 2) with the real
# binary and real processes: `selfheal run` supervises bin/flaky_server
# (method process, probe every 200 ms, failureThreshold 2).
#  1. SIGKILL the service: healthy again in under 2 s; the recovery log and
#     the status show the attempt and the MTTR; the process log is kept.
#  2. A service that hangs (never answers): detected by the probe timeout
#     once its startupTimeout (1s here) has passed after each start, exactly
#     maxAttempts restarts, then NeedsAttention and no more; never more than
#     one process.
#  3. A flapping service: never more than maxAttempts restarts.
#  4. Deleting a pipeline stops its process; SIGTERM stops the rest.
source "$(dirname "$0")/lib/common.sh"

FLAKY="$SH_ROOT/bin/flaky_server"
[ -x "$FLAKY" ] || fail "$FLAKY is missing: run make examples"
specs=$TMP/specs
state=$TMP/.selfheal
mkdir -p "$specs"
cd "$TMP" # the recovery log goes to ./monitoring/recovery_log.json
log=$TMP/monitoring/recovery_log.json

pipeline() { # NAME PORT MODE MAX_ATTEMPTS BACKOFF [STARTUP_TIMEOUT]
    cat >"$specs/$1.yaml" <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: $1}
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:$2/health", interval: 200ms, timeout: 150ms, failureThreshold: 2, startupTimeout: ${6:-5m}}
    recovery:
      method: process
      maxAttempts: $4
      backoff: $5
      process:
        command: ["$FLAKY", "--port", "$2", "--mode", "$3", "--flap-period", "1s"]
YAML
}

doc() { jq -r "$2" "$state/pipelines/default/$1.json" 2>/dev/null; }
doc_is() { [ "$(doc "$1" "$2")" = "$3" ]; }
cond() { doc "$1" ".status.conditions[] | select(.type==\"ServiceHealthy\") | .$2"; }
cond_is() { [ "$(cond "$1" "$2")" = "$3" ]; }
# the supervised processes of the controller serving PORT (children of it)
serves() { # PID PORT
    local cmd
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
    [[ "$cmd" == *"--port $2 "* ]]
}
procs() {
    local n=0 c
    for c in $(pgrep -P "$ctl" 2>/dev/null); do
        if serves "$c" "$1"; then n=$((n + 1)); fi
    done
    echo $n
}
procs_is() { [ "$(procs "$1")" = "$2" ]; }
pid_of() {
    local c
    for c in $(pgrep -P "$ctl" 2>/dev/null); do
        if serves "$c" "$1"; then echo "$c"; fi
    done
    return 0
}
count_log() { jq "[.[] | select(.pipeline==\"default/$1\" and .action==\"$2\")] | length" "$log" 2>/dev/null || echo 0; }
healthy() { curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$1/health"; }

good=$(free_port)
hung=$(free_port)
flap=$(free_port)
ctl_port=$(free_port)
pipeline good "$good" ok 3 1s

"$SELFHEAL" run --specs "$specs" --state "$state" --listen "127.0.0.1:$ctl_port" >"$TMP/run.log" 2>&1 &
ctl=$!
track $ctl

# --- 1. the controller starts the service, then heals it after SIGKILL ------
wait_for 5 "good is ServiceHealthy" cond_is good status True
first=$(pid_of "$good")
[ -n "$first" ] || fail "no supervised process for good"
kill -KILL "$first"
t0=$(date +%s%N)
deadline=$((t0 + 5000000000))
until healthy "$good"; do
    [ "$(date +%s%N)" -lt $deadline ] || fail "good not healthy 5 s after SIGKILL"
    sleep 0.02
done
ms=$((($(date +%s%N) - t0) / 1000000))
[ $ms -lt 2000 ] || fail "healthy again after ${ms} ms (limit 2000)"
echo "healthy again ${ms} ms after SIGKILL"
second=$(pid_of "$good")
[ -n "$second" ] && [ "$second" != "$first" ] || fail "the service was not restarted (pid $second)"
wait_for 3 "status shows the healed attempt" doc_is good '.status.history[-1].outcome' succeeded
assert_eq "$(doc good .status.service.incidents)" 1 "incidents (starting up is not one)"
assert_eq "$(doc good '.status.service.lastRecoverySeconds > 0')" true "MTTR in status"
mttr=$(doc good .status.service.lastRecoverySeconds)
awk -v m="$mttr" 'BEGIN { exit !(m < 2) }' || fail "MTTR $mttr s (limit 2)"
assert_eq "$(doc good .status.service.recoveryAttempts)" 1 "recoveryAttempts"
assert_eq "$(doc good '.status.history[-1].outcome')" succeeded "history outcome"
assert_eq "$(doc good '.status.history[-1].action')" restart "history action"
assert_eq "$(count_log good restart)" 1 "restarts in the recovery log"
assert_eq "$(count_log good recovered)" 1 "recovered entries in the recovery log"
jq -e '[.[] | select(.pipeline=="default/good" and .action=="recovered")][0].mttr_seconds > 0' "$log" >/dev/null ||
    fail "the recovery log has no MTTR"
jq -e '[.[] | select(.pipeline=="default/good" and .action=="restart")][0].trigger | test("ProcessExited: the service process was killed by signal 9")' "$log" >/dev/null ||
    fail "the recovery log names the trigger"
assert_eq "$(doc good .status.phase)" Healthy "phase after the recovery"
grep -q "selfheal: starting" "$state/logs/default_good.log" || fail "no process log in the state folder"
metrics=$(curl -sf "http://127.0.0.1:$ctl_port/metrics")
grep -q '^selfheal_service_recovery_seconds_count 1$' <<<"$metrics" ||
    fail "the MTTR metric is not exported: $(grep selfheal_service <<<"$metrics")"

# --- 2. a hanging service: maxAttempts restarts, then NeedsAttention ---------
pipeline hung "$hung" hang 3 200ms 1s
maxp=0
sample_until() { # SECONDS: samples the process count of $hung every 20 ms
    local end=$(($(date +%s%N) + $1 * 1000000000)) n
    while [ "$(date +%s%N)" -lt $end ]; do
        n=$(procs "$hung")
        [ "$n" -gt $maxp ] && maxp=$n
        sleep 0.02
    done
}
wait_for 5 "hung is supervised" procs_is "$hung" 1
sample_until 1
wait_for 10 "hung reaches NeedsAttention" doc_is hung .status.phase NeedsAttention
assert_eq "$(cond hung reason)" RecoveryExhausted "reason"
assert_contains "$(cond hung message)" "timed out after 150 ms"
sample_until 3 # well past every backoff and grace: nothing more happens
assert_eq "$(count_log hung restart)" 3 "restarts of the hanging service"
assert_eq "$(count_log hung gave-up)" 1 "gave-up entries"
assert_eq "$(doc hung .status.service.recoveryAttempts)" 3 "recoveryAttempts"
assert_eq "$(doc hung .status.phase)" NeedsAttention "phase stays NeedsAttention"
[ $maxp -le 1 ] || fail "$maxp processes at once for one pipeline"
assert_eq "$(cond good status)" True "the other pipeline is not disturbed"

# --- 3. a flapping service (1 s up, 1 s down): at most maxAttempts restarts ---
pipeline flap "$flap" flap 3 200ms
wait_for 5 "flap is supervised" procs_is "$flap" 1
wait_for 15 "flap gives up" doc_is flap .status.phase NeedsAttention
sleep 3
assert_eq "$(count_log flap restart)" 3 "restarts of the flapping service"

# --- 4. delete a pipeline: its process stops; SIGTERM: the rest stop --------
hung_pid=$(pid_of "$hung")
rm "$specs/hung.yaml"
wait_for 8 "hung's process stops" procs_is "$hung" 0
good_pid=$(pid_of "$good")
kill -TERM $ctl
rc=0
wait $ctl || rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM"
for p in $good_pid $hung_pid; do
    [ ! -e /proc/$p ] || grep -q '^State:.*Z' /proc/$p/status || fail "process $p outlived the controller"
done
echo "ok"
