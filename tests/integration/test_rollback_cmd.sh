#!/usr/bin/env bash
# `selfheal rollback` (issue 3, acceptance 4): the brief's rollback_model.py
# on a real registry folder. 0.65 < 0.70 with versions 0.82, 0.91,
# 0.65 (current) activates the 0.91 version and logs it; 0.75 does nothing
# and says so; the natural order of names, NoGoodVersion, the threshold from
# config/self_healing_config.json, --dry-run, a broken `current`, usage errors.
source "$(dirname "$0")/lib/common.sh"

# registry DIR NAME=METRIC...: version folders with their metrics.json
registry() {
    local dir=$1
    shift
    mkdir -p "$dir"
    for nv in "$@"; do
        mkdir -p "$dir/${nv%%=*}"
        printf '{"accuracy": %s, "trained_at": "2026-11-01"}\n' "${nv#*=}" >"$dir/${nv%%=*}/metrics.json"
    done
}
current() { readlink "$1/current"; }
log_len() { if [ -f "$1" ]; then jq length "$1"; else echo 0; fi; }

# run CMD...: sets $out (stdout+stderr) and $rc
run() {
    rc=0
    out=$("$@" 2>&1) || rc=$?
}

# 1. the brief's example
reg=$TMP/models
registry "$reg" v1=0.82 v2=0.91 v3=0.65
ln -s v3 "$reg/current"
run "$SELFHEAL" rollback --current-metric 0.65 --threshold 0.70 --registry "$reg"
assert_eq "$rc" 0 "exit status of a rollback"
assert_eq "$(current "$reg")" v2 "current after the rollback (the 0.91 version)"
assert_contains "$out" "accuracy 0.650 < threshold 0.700: rolled back v3 → v2 (recorded accuracy 0.910)"
assert_contains "$out" "Logged to $reg/rollback_log.json"
assert_eq "$(log_len "$reg/rollback_log.json")" 1 "rollback log entries"
jq -e '.[-1] | .from_version == "v3" and .to_version == "v2" and .current_metric == 0.65
        and .threshold == 0.7 and .to_version_metric == 0.91 and .trigger == "cli"
        and .action == "rollback" and (.timestamp | test("^20[0-9-]+T"))' \
    "$reg/rollback_log.json" >/dev/null || fail "rollback log entry: $(cat "$reg/rollback_log.json")"

# 2. above the threshold: nothing to do, and it says so
run "$SELFHEAL" rollback --current-metric 0.75 --threshold 0.70 --registry "$reg"
assert_eq "$rc" 0 "exit status with nothing to do"
assert_contains "$out" "accuracy 0.750 ≥ threshold 0.700: nothing to do; the current model v2 stays."
assert_eq "$(current "$reg")" v2 "current unchanged"
assert_eq "$(log_len "$reg/rollback_log.json")" 1 "nothing logged"

# 3. natural order: v9 is older than v10, v10 newer than v2
nat=$TMP/nat
registry "$nat" v2=0.95 v9=0.90 v10=0.40 v11=0.99
ln -s v10 "$nat/current"
run "$SELFHEAL" rollback --current-metric 0.4 --threshold 0.7 --registry "$nat"
assert_eq "$rc" 0
assert_eq "$(current "$nat")" v9 "natural order picks v9 (newest older than v10), not v11 or v2"

# 4. no older version passes: exit 1, nothing changes
none=$TMP/none
registry "$none" v1=0.60 v2=0.50
ln -s v2 "$none/current"
run "$SELFHEAL" rollback --current-metric 0.5 --threshold 0.7 --registry "$none"
assert_eq "$rc" 1 "exit status without a good version"
assert_contains "$out" "no version older than v2 has a recorded or observed accuracy ≥ 0.700"
assert_contains "$out" "Nothing rolled back."
assert_eq "$(current "$none")" v2
[ ! -e "$none/rollback_log.json" ] || fail "no log without a rollback"

# 5. --dry-run changes and logs nothing
dry=$TMP/dry
registry "$dry" v1=0.82 v2=0.91 v3=0.65
ln -s v3 "$dry/current"
run "$SELFHEAL" rollback --current-metric 0.65 --threshold 0.70 --registry "$dry" --dry-run
assert_eq "$rc" 0
assert_contains "$out" "would roll back v3 → v2"
assert_eq "$(current "$dry")" v3 "dry run leaves current"
[ ! -e "$dry/rollback_log.json" ] || fail "dry run logs nothing"

# 6. the brief's layout: models/ and config/self_healing_config.json in the
#    working folder; --threshold absent → the config's threshold
work=$TMP/work
registry "$work/models" v1=0.82 v2=0.91 v3=0.65
ln -s v3 "$work/models/current"
mkdir -p "$work/config"
echo '{"model_validation": {"min_accuracy_threshold": 0.60}}' >"$work/config/self_healing_config.json"
(cd "$work" && "$SELFHEAL" rollback --current-metric 0.65) >"$TMP/out6" 2>&1 || fail "config threshold 0.60: $(cat "$TMP/out6")"
assert_contains "$(cat "$TMP/out6")" "threshold 0.600: nothing to do"
echo '{"model_validation": {"min_accuracy_threshold": 0.85}}' >"$work/config/self_healing_config.json"
(cd "$work" && "$SELFHEAL" rollback --current-metric 0.65) >"$TMP/out6" 2>&1 || fail "config threshold 0.85: $(cat "$TMP/out6")"
assert_eq "$(current "$work/models")" v2 "the 0.91 version passes 0.85"
assert_eq "$(log_len "$work/models/rollback_log.json")" 1 "logged at models/rollback_log.json"
# the flag wins over the file
rm "$work/models/current" && ln -s v3 "$work/models/current"
(cd "$work" && "$SELFHEAL" rollback --current-metric 0.65 --threshold 0.5) >"$TMP/out6" 2>&1
assert_contains "$(cat "$TMP/out6")" "nothing to do"
# an explicit --log
(cd "$work" && "$SELFHEAL" rollback --current-metric 0.65 --log "$TMP/elsewhere/log.json") >/dev/null 2>&1 ||
    fail "--log"
assert_eq "$(log_len "$TMP/elsewhere/log.json")" 1 "--log writes there"

# 7. broken current link, missing registry, no current link at all
brk=$TMP/brk
registry "$brk" v1=0.9 v2=0.5
ln -s v7 "$brk/current"
run "$SELFHEAL" rollback --current-metric 0.5 --threshold 0.7 --registry "$brk"
assert_eq "$rc" 1 "broken current"
assert_contains "$out" "current -> v7: broken symlink"
run "$SELFHEAL" rollback --current-metric 0.5 --threshold 0.7 --registry "$TMP/absent"
assert_eq "$rc" 2 "missing registry (an input the user named that cannot be opened: 2)"
assert_contains "$out" "No such file or directory"
rm "$brk/current"
run "$SELFHEAL" rollback --current-metric 0.5 --threshold 0.7 --registry "$brk"
assert_eq "$rc" 0 "without current the newest version is the current one"
assert_contains "$out" "taking the newest version, v2, as the current one"
assert_eq "$(current "$brk")" v1

# 8. usage errors
run "$SELFHEAL" rollback --threshold 0.7
assert_eq "$rc" 2 "missing --current-metric"
assert_contains "$out" "--current-metric is required"
run "$SELFHEAL" rollback --current-metric 0.5 --threshold 1.5
assert_eq "$rc" 2 "threshold out of range"
run "$SELFHEAL" rollback --current-metric abc
assert_eq "$rc" 2 "metric not a number"
echo 'not json' >"$TMP/bad.json"
run "$SELFHEAL" rollback --current-metric 0.5 --config "$TMP/bad.json"
assert_eq "$rc" 2 "unreadable config"
run "$SELFHEAL" rollback --help
assert_eq "$rc" 0
assert_contains "$out" "Exit status:"
echo "ok"
