#!/usr/bin/env bash
# A slow-starting service is starting, not failing (issue 21, item 6 and
# acceptance 2): `selfheal run` supervises tests/fixtures/slow_start_server.py,
# which sleeps 5 s before it listens (a model server loading its model), with
# 200 ms probes and failureThreshold 2 and the default startupTimeout.
#  1. It is started once and never restarted: while it starts the condition
#     says so (ServiceHealthy Unknown, reason Starting), then it is healthy.
#  2. SIGKILLed later: restarted once (a dead process counts at once), it is
#     starting again for 5 s (no second restart) and comes back healthy.
source "$(dirname "$0")/lib/common.sh"

SERVER="$SH_ROOT/tests/fixtures/slow_start_server.py"
specs=$TMP/specs
state=$TMP/.selfheal
mkdir -p "$specs"
cd "$TMP" # the recovery log goes to ./monitoring/recovery_log.json
log=$TMP/monitoring/recovery_log.json
port=$(free_port)
ctl_port=$(free_port)

cat >"$specs/slow.yaml" <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: slow}
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:$port/health", interval: 200ms, timeout: 150ms, failureThreshold: 2}
    recovery:
      method: process
      maxAttempts: 3
      backoff: 200ms
      process:
        command: ["/usr/bin/python3", "$SERVER", "$port", "5"]
YAML

doc() { jq -r "$1" "$state/pipelines/default/slow.json" 2>/dev/null; }
doc_is() { [ "$(doc "$1")" = "$2" ]; }
cond() { doc ".status.conditions[] | select(.type==\"ServiceHealthy\") | .$1"; }
cond_is() { [ "$(cond "$1")" = "$2" ]; }
count_log() { jq "[.[] | select(.pipeline==\"default/slow\" and .action==\"$1\")] | length" "$log" 2>/dev/null || echo 0; }
# how many times the supervisor started the process (one header line per start)
starts() { cat "$state/logs/default_slow.log" 2>/dev/null | grep -c "selfheal: starting" || true; }
starts_is() { [ "$(starts)" -eq "$1" ]; }
pid_of() {
    local c
    for c in $(pgrep -P "$ctl" 2>/dev/null); do
        if tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null | grep -q "slow_start_server.py $port "; then echo "$c"; fi
    done
    return 0
}
healthy() { curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$port/health"; }

"$SELFHEAL" run --specs "$specs" --state "$state" --listen "127.0.0.1:$ctl_port" >"$TMP/run.log" 2>&1 &
ctl=$!
track $ctl

# --- 1. started once, starting for 5 s, then healthy; never restarted --------
wait_for 5 "the service process is started" starts_is 1
t0=$(date +%s%N)
sleep 2 # 10 probes, 5 × failureThreshold, all refused
assert_eq "$(cond status)" Unknown "ServiceHealthy while starting"
assert_eq "$(cond reason)" Starting "reason while starting"
assert_contains "$(cond message)" "starting: waiting up to 5m for the first healthy probe"
assert_eq "$(doc .status.phase)" Pending "phase while starting (the first start is no recovery)"
assert_eq "$(starts)" 1 "starts after 2 s"
wait_for 15 "the slow service is ServiceHealthy" cond_is status True
echo "healthy $((($(date +%s%N) - t0) / 1000000)) ms after the start was seen"
sleep 1
assert_eq "$(starts)" 1 "starts of a slow-starting service"
assert_eq "$(count_log restart)" 0 "restarts in the recovery log"
assert_eq "$(doc '.status.service.recoveryAttempts // 0')" 0 "recoveryAttempts"
assert_eq "$(doc '.status.service.incidents // 0')" 0 "incidents (starting up is not one)"
assert_eq "$(doc .status.phase)" Healthy "phase once it answers"

# --- 2. SIGKILL: restarted once, starting again, back healthy ---------------
first=$(pid_of)
[ -n "$first" ] || fail "no supervised process"
kill -KILL "$first"
wait_for 5 "the killed process is restarted" starts_is 2
sleep 2 # inside the new process's 5 s start
assert_eq "$(cond status)" False "ServiceHealthy while the restarted process starts"
assert_eq "$(cond reason)" Recovering "reason while the restarted process starts"
assert_contains "$(cond message)" "starting: waiting up to 5m for the first healthy probe"
wait_for 15 "the restarted service is ServiceHealthy" cond_is status True
healthy || fail "the service does not answer"
sleep 1
second=$(pid_of)
[ -n "$second" ] && [ "$second" != "$first" ] || fail "the service was not restarted (pid $second)"
assert_eq "$(starts)" 2 "starts: the first and one restart"
assert_eq "$(count_log restart)" 1 "restarts in the recovery log"
assert_eq "$(count_log recovered)" 1 "recovered entries in the recovery log"
jq -e '[.[] | select(.pipeline=="default/slow" and .action=="restart")][0].trigger | test("ProcessExited: the service process was killed by signal 9")' "$log" >/dev/null ||
    fail "the recovery log names the trigger"
assert_eq "$(doc .status.service.recoveryAttempts)" 1 "recoveryAttempts"
assert_eq "$(doc .status.service.incidents)" 1 "incidents"
assert_eq "$(doc '.status.history[-1].outcome')" succeeded "history outcome"
assert_eq "$(doc .status.phase)" Healthy "phase after the recovery"

kill -TERM $ctl
rc=0
wait $ctl || rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM"
echo "ok"
