#!/usr/bin/env bash
# One exit-code rule for every command (README, docs/cli.md; issue 22 item 5):
# 0 success or nothing to do, 1 the command ran but could not do what was
# asked, 2 a usage error or input the user named that cannot be read. A file
# that does not exist is named without a line number. A mistyped flag gets a
# "did you mean" (item 14), also for the words other tools use (--format).
source "$(dirname "$0")/lib/common.sh"
cd "$TMP"
run() { rc=0; out=$("$SELFHEAL" "$@" 2>&1) || rc=$?; }
expect() { # RC WHAT: checks the last run
    [ "$rc" = "$1" ] || fail "$2: exit $rc, expected $1: $out"
}

# unreadable input: 2, with the path and the reason, and no line number
run fix-data --data-path missing.csv
expect 2 "fix-data on a missing file"
assert_contains "$out" "missing.csv: cannot read: No such file or directory"
grep -q 'missing.csv:1:' <<<"$out" && fail "a line number for a file that does not exist: $out"
mkdir adir
run fix-data --data-path adir
expect 2 "fix-data on a folder"
run rollback --current-metric 0.5 --threshold 0.7
expect 2 "rollback without a registry folder"
assert_contains "$out" "models: cannot read: No such file or directory"
run rollback --current-metric 0.5 --threshold 0.7 --registry nope
expect 2 "rollback with a missing --registry"
run drift --reference nope.csv --current nope2.csv
expect 2 "drift on a missing reference"
assert_contains "$out" "nope.csv: cannot open: No such file or directory"
grep -q 'nope.csv:1:' <<<"$out" && fail "a line number for a file that does not exist: $out"
run validate -f nope.yaml
expect 2 "validate on a missing file"

# nothing to do is 0 even without the input that acting would need
run rollback --current-metric 0.9 --threshold 0.7
expect 0 "rollback with nothing to do"
# could not do what was asked: 1
mkdir -p reg/v1 && echo '{"accuracy": 0.5}' >reg/v1/metrics.json
run rollback --current-metric 0.5 --threshold 0.7 --registry reg
expect 1 "rollback without a good version"
printf 'a,b\n1,2\n3,4,5\n' >broken.csv
run fix-data --data-path broken.csv
expect 1 "fix-data on a broken CSV"

# usage errors: 2, with a hint
run status --fromat json
expect 2 "status --fromat"
assert_contains "$out" "did you mean --output?"
run status --outptu json
expect 2 "status --outptu"
assert_contains "$out" "did you mean --output?"
run get x --fromat json
assert_contains "$out" "did you mean --output?"
run statsu
expect 2 "an unknown command"
assert_contains "$out" "did you mean status?"
echo ok
