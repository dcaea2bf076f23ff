#!/usr/bin/env bash
# `selfheal recover` (the brief's auto_recover_service.py), one-shot, with
# real processes: nothing to do on a healthy service; --method process starts
# the service and it keeps running; --method command runs a command that
# brings it back; a service that cannot be healed exits 1 after exactly
# --max-attempts attempts (or the config's max_recovery_attempts); every
# attempt is in the recovery log; usage errors exit 2; --help names every
# flag.
source "$(dirname "$0")/lib/common.sh"

FLAKY="$SH_ROOT/bin/flaky_server"
[ -x "$FLAKY" ] || fail "$FLAKY is missing: run make examples"
cd "$TMP"
log=$TMP/monitoring/recovery_log.json
entries() { jq "[.[] | select(.action==\"$1\")] | length" "$log"; }
healthy() { curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$1/health"; }
run() { # runs selfheal recover ARGS; sets out and rc
    rc=0
    out=$("$SELFHEAL" recover "$@" 2>&1) || rc=$?
}

# 1. a healthy service: nothing to do, nothing logged
port=$(free_port)
"$FLAKY" --port "$port" 2>/dev/null &
track $!
wait_for 5 "fixture up" healthy "$port"
run --method process --service-url "http://127.0.0.1:$port" --command "$FLAKY" --port "$port"
assert_eq "$rc" 0 "exit status on a healthy service"
assert_contains "$out" "is healthy: nothing to do"
[ ! -e "$log" ] || fail "nothing to do must not write the recovery log"

# 2. --method process on a dead service: started, healed, keeps running
port=$(free_port)
run --method process --service-url "http://127.0.0.1:$port" --interval 200ms \
    --command "$FLAKY" --port "$port"
assert_eq "$rc" 0 "exit status after healing: $out"
assert_contains "$out" "connection refused"
assert_contains "$out" "healed after 1 attempt"
svc=$(sed -n 's/^the service keeps running as pid \([0-9]*\)$/\1/p' <<<"$out")
[ -n "$svc" ] || fail "no pid reported: $out"
track "$svc"
healthy "$port" || fail "the started service does not answer after recover exited"
assert_eq "$(entries restart)" 1 "restart entries"
assert_eq "$(entries recovered)" 1 "recovered entries"
jq -e '.[-1].mttr_seconds > 0 and .[-1].source == "cli" and .[-1].method == "process"' "$log" >/dev/null ||
    fail "the recovered entry: $(jq -c '.[-1]' "$log")"
[ -s monitoring/service.log ] || fail "the service's output is not in monitoring/service.log"
kill "$svc"

# 3. --method command: a command that starts the service in the background
port=$(free_port)
pidfile=$TMP/cmd.pid
run --method command --service-url "http://127.0.0.1:$port/health" --interval 200ms --log "$TMP/cmd.json" \
    -- sh -c "\"$FLAKY\" --port $port >/dev/null 2>&1 & echo \$! > $pidfile"
assert_eq "$rc" 0 "exit status of method command: $out"
assert_contains "$out" "ran sh: exited with status 0"
assert_contains "$out" "healed after 1 attempt"
track "$(cat "$pidfile")"
jq -e 'length == 2 and .[0].action == "run-command"' "$TMP/cmd.json" >/dev/null || fail "--log FILE: $(cat "$TMP/cmd.json")"

# 4. cannot heal: exactly --max-attempts attempts, exit 1
port=$(free_port)
rm -f "$log"
run --method command --service-url "http://127.0.0.1:$port" --interval 100ms --backoff 100ms \
    --failure-threshold 1 --max-attempts 2 --command false
assert_eq "$rc" 1 "exit status when it cannot heal: $out"
assert_contains "$out" "could not heal after 2 attempts"
assert_eq "$(entries run-command)" 2 "attempts logged"
assert_eq "$(entries gave-up)" 1 "gave-up logged"
jq -e '[.[] | select(.action=="run-command")][0].error == "exited with status 1"' "$log" >/dev/null ||
    fail "the failed command's status is logged"

# 5. the brief's config sets the attempts
mkdir -p config
echo '{"service_recovery": {"max_recovery_attempts": 1}}' >config/self_healing_config.json
rm -f "$log"
run --method command --service-url "http://127.0.0.1:$port" --interval 100ms --failure-threshold 1 --command false
assert_eq "$rc" 1 "exit status with the config"
assert_contains "$out" "could not heal after 1 attempt"
assert_eq "$(entries run-command)" 1 "attempts with max_recovery_attempts 1"
run --method command --service-url "http://127.0.0.1:$port" --interval 100ms --failure-threshold 1 \
    --max-attempts 2 --command false
assert_contains "$out" "could not heal after 2 attempts" # the flag wins
echo '[1,2' >config/self_healing_config.json
run --service-url "http://127.0.0.1:$port" --command false
assert_eq "$rc" 2 "a broken config is a usage error"

# 6. dry run: says what it would do, does nothing
rm -f config/self_healing_config.json "$log"
run --service-url "http://127.0.0.1:$port" --interval 100ms --failure-threshold 1 --dry-run --command "$FLAKY" --port "$port"
assert_eq "$rc" 0 "dry run exit status"
assert_contains "$out" "dry run: would start"
healthy "$port" && fail "a dry run started the service"
[ ! -e "$log" ] || fail "a dry run wrote the log"

# 7. usage errors and help
run --method bogus --service-url http://x --command true
assert_eq "$rc" 2 "bad --method"
run --command true
assert_eq "$rc" 2 "missing --service-url"
assert_contains "$out" "--service-url is required"
run --service-url ftp://x/ --command true
assert_eq "$rc" 2 "bad URL"
run --service-url http://x --max-attempts 0 --command true
assert_eq "$rc" 2 "bad --max-attempts"
# without --command (the brief's own example, README and docs/cli.md): a
# check; healthy is 0, unhealthy says what is missing and exits 1 (issue 22)
port3=$(free_port)
"$FLAKY" --port "$port3" 2>/dev/null &
track $!
wait_for 5 "fixture up" healthy "$port3"
run --method process --service-url "http://127.0.0.1:$port3"
assert_eq "$rc" 0 "a healthy service without --command"
assert_contains "$out" "is healthy: nothing to do"
dead=$(free_port)
run --method process --service-url "http://127.0.0.1:$dead" --interval 100ms
assert_eq "$rc" 1 "an unhealthy service without --command"
assert_contains "$out" "is unhealthy"
assert_contains "$out" "no --command given, so nothing to start"
run --help
assert_eq "$rc" 0 "--help"
for flag in --service-url --health-path --method --command --max-attempts --timeout --interval \
    --failure-threshold --backoff --command-timeout --log --service-log --config --dry-run; do
    assert_contains "$out" "$flag" "--help documents $flag"
done
assert_contains "$out" "Exit status"
echo "ok"
