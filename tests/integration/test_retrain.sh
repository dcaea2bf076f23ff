#!/usr/bin/env bash
# Retraining end to end (issue 4): the brief's `selfheal retrain` command
# (cooldown file, config, ARGV run without a shell, exit codes), then the
# controller: `selfheal run` on a drift pipeline retrains once, promotes the
# new model version, rolls the reference forward, reports CooldownActive on
# new drift, and a restarted controller does not retrain again.
source "$(dirname "$0")/lib/common.sh"

cd "$TMP"
LOG=.github/triggers/retraining_log.json
last() { jq -r .last_retrain_time "$LOG"; }
nevents() { jq '.events | length' "$LOG"; }
event() { jq -r ".events[-1].$1" "$LOG"; }

# --- 1. the command --------------------------------------------------------
out=$("$SELFHEAL" retrain --drift-detected --drift-score 0.85)
assert_contains "$out" "Drift score 0.850 ≥ threshold 0.500: retraining"
t1=$(last)
[ "$t1" != null ] || fail "last_retrain_time not set: $(cat "$LOG")"
assert_eq "$(event status)" triggered
assert_eq "$(event drift_score)" 0.85

# within the cooldown: not retrained, exit 0 (nothing to do, said clearly:
# issue 22), logged as skipped, time unchanged
rc=0
out=$("$SELFHEAL" retrain --drift-detected --drift-score 0.85 -- touch ran.txt) || rc=$?
assert_eq "$rc" 0 "exit status within the cooldown"
assert_contains "$out" "but the cooldown is active: last retrain at $t1"
assert_contains "$out" "nothing to do (not retraining)"
[ ! -e ran.txt ] || fail "the command ran within the cooldown"
assert_eq "$(event status)" skipped
assert_eq "$(last)" "$t1" "last_retrain_time after a skip"

# below the threshold / no drift: nothing to do, exit 0, nothing logged
n=$(nevents)
out=$("$SELFHEAL" retrain --drift-detected --drift-score 0.3)
assert_contains "$out" "no retraining needed"
out=$("$SELFHEAL" retrain --drift-score 0.9)
assert_contains "$out" "No drift detected"
assert_eq "$(nevents)" "$n" "events after nothing to do"

# ARGV runs (no shell: the argument with spaces and $ reaches it verbatim)
sleep 1.1 # the log has second precision: a new time must differ
out=$("$SELFHEAL" retrain --drift-detected --drift-score 0.85 --cooldown 0s -- \
    sh -c 'printf "%s|%s\n" "$SELFHEAL_DRIFT_SCORE" "$1" > ran.txt' sh 'a $b c')
assert_eq "$(cat ran.txt)" '0.85|a $b c' "what the command saw"
assert_eq "$(event status)" succeeded
assert_eq "$(event exit_code)" 0
[ "$(last)" != "$t1" ] || fail "last_retrain_time not moved by a successful retrain"
t2=$(last)

# a failing command: exit 1, logged failed, the time stays
rc=0
"$SELFHEAL" retrain --drift-detected --drift-score 0.85 --cooldown 0s -- sh -c 'exit 7' || rc=$?
assert_eq "$rc" 1 "exit status of a failed command"
assert_eq "$(event status)" failed
assert_eq "$(event exit_code)" 7
assert_eq "$(last)" "$t2"
rc=0
err=$("$SELFHEAL" retrain --drift-detected --drift-score 0.85 --cooldown 0s -- /nonexistent/train 2>&1) || rc=$?
assert_eq "$rc" 1 "exit status when the command cannot start"
assert_contains "$err" "cannot run '/nonexistent/train'"
rc=0
"$SELFHEAL" retrain --drift-detected --drift-score 0.85 --cooldown 0s --timeout 1s -- sleep 30 || rc=$?
assert_eq "$rc" 1 "exit status of a timed-out command"
assert_eq "$(event status)" "timed out"

# the brief's config: drift_threshold and retraining_cooldown_hours
mkdir -p config
echo '{"drift_detection": {"drift_threshold": 0.9, "retraining_cooldown_hours": 0}}' >config/self_healing_config.json
out=$("$SELFHEAL" retrain --drift-detected --drift-score 0.85)
assert_contains "$out" "< threshold 0.900"
out=$("$SELFHEAL" retrain --drift-detected --drift-score 0.95)
assert_contains "$out" "retraining"
echo '{"drift_detection": {"retraining_cooldown_hours": 48}}' >config/self_healing_config.json
rc=0
out=$("$SELFHEAL" retrain --drift-detected --drift-score 0.95) || rc=$?
assert_eq "$rc" 0 "cooldown from the config"
assert_contains "$out" "the cooldown is active"
echo '[1,' >config/self_healing_config.json
rc=0
"$SELFHEAL" retrain --drift-detected --drift-score 0.95 >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "exit status for a broken config"
rm -rf config

# usage errors
for args in "--drift-detected" "--drift-score 2" "--cooldown soon --drift-detected --drift-score 1" \
    "--drift-detected --drift-score 0.9 train.py"; do
    rc=0
    # shellcheck disable=SC2086
    "$SELFHEAL" retrain $args >/dev/null 2>&1 || rc=$?
    assert_eq "$rc" 2 "exit status of: retrain $args"
done

# --- 2. the controller -------------------------------------------------------
rm -rf .github
mkdir -p specs data models/v1
echo '{"accuracy": 0.80}' >models/v1/metrics.json
ln -s v1 models/current
csv() { # ROWS SHIFT
    echo "rooms,age,city"
    awk -v n="$1" -v s="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%d,%d,%s\n", i % 50 + s, (i * 7) % 50 + s, (i % 3 ? "north" : "south") }'
}
csv 300 0 >data/reference.csv
csv 300 40 >data/current.csv
cat >retrain.sh <<'SH'
echo "$SELFHEAL_PIPELINE $SELFHEAL_DRIFT_SCORE" >> trained.txt
n=$(($(wc -l < trained.txt) + 1))
mkdir -p models/v$n && echo '{"accuracy": 0.93}' > models/v$n/metrics.json
echo "trained v$n"
SH
cat >specs/housing.yaml <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: housing}
spec:
  drift:
    reference: {path: data/reference.csv}
    current: {path: data/current.csv}
    interval: 1s
    cooldown: 24h
    retrain:
      command: [sh, retrain.sh]
      timeout: 1m
YAML
state=specs/.selfheal
doc() { jq -r "$1" "$state/pipelines/default/housing.json" 2>/dev/null; }
doc_is() { [ "$(doc "$1")" = "$2" ]; }
fresh() { doc '.status.conditions[] | select(.type=="ModelFresh") | .reason'; }
fresh_is() { [ "$(fresh)" = "$1" ]; }

start_controller() {
    port=$(free_port)
    "$SELFHEAL" run --specs specs --listen "127.0.0.1:$port" >>run.log 2>&1 &
    pid=$!
    track $pid
}
start_controller
wait_for 10 "a retrain recorded" doc_is .status.drift.retrains 1
wait_for 5 "ModelFresh NoDrift after the reference rolled" fresh_is NoDrift
assert_eq "$(wc -l <trained.txt)" 1 "retrains run"
assert_contains "$(cat trained.txt)" "default/housing 0.66"
assert_eq "$(readlink models/current)" v2 "the new version is current"
cmp -s data/reference.csv data/current.csv || fail "the reference was not rolled forward"
assert_eq "$(doc '.status.history[-1].action') $(doc '.status.history[-1].outcome')" "retrain succeeded"
assert_eq "$(doc .status.drift.retrainJob.state)" Succeeded
lrt=$(doc .status.drift.lastRetrainTime)
assert_eq "$(last)" "$lrt" "the retraining log's last_retrain_time"
assert_contains "$(cat "$state/logs/retrain-default-housing.log")" "trained v2"

# new drift within the cooldown: reported, not retrained
csv 300 90 >data/current.csv
wait_for 5 "CooldownActive on new drift" fresh_is CooldownActive
# a restarted controller keeps the cooldown (lastRetrainTime is in the persisted status)
kill -TERM $pid
wait $pid || fail "the controller did not exit cleanly on SIGTERM"
start_controller
sleep 2.5 # several 1 s drift intervals
fresh_is CooldownActive || fail "after a restart: ModelFresh is $(fresh)"
assert_eq "$(wc -l <trained.txt)" 1 "retrains after a restart within the cooldown"
assert_eq "$(doc .status.drift.retrains)" 1
echo "ok"
