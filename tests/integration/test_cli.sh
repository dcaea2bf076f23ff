#!/usr/bin/env bash
# The CLI's manners: --help everywhere, unknown commands and flags exit 2
# with a hint, version, validate's exit codes and messages.
source "$(dirname "$0")/lib/common.sh"

"$SELFHEAL" --help | grep -q "Commands:" || fail "selfheal --help lists the commands"
for cmd in run status get validate version; do
    "$SELFHEAL" "$cmd" --help >/dev/null 2>&1 || [ "$cmd" = version ] || fail "selfheal $cmd --help"
done
"$SELFHEAL" version | grep -q "^selfheal " || fail "version"

rc=0; out=$("$SELFHEAL" stauts 2>&1) || rc=$?
assert_eq "$rc" 2 "unknown command exit status"
assert_contains "$out" "did you mean status?" "unknown command hint"

rc=0; out=$("$SELFHEAL" run --bogus 2>&1) || rc=$?
assert_eq "$rc" 2 "unknown flag exit status"
assert_contains "$out" "--bogus" "unknown flag is named"
assert_contains "$out" "selfheal run --help" "unknown flag hint"

rc=0; out=$("$SELFHEAL" run --workers 0 2>&1) || rc=$?
assert_eq "$rc" 2 "bad --workers"

rc=0; out=$("$SELFHEAL" run --specs "$TMP/does-not-exist" --listen 127.0.0.1:0 2>&1) || rc=$?
assert_eq "$rc" 1 "missing specs folder"
assert_contains "$out" "does-not-exist" "missing folder is named"

# validate: the samples pass, a broken file fails with FILE: path: message
"$SELFHEAL" validate -f manifests/ >/dev/null || fail "the samples in manifests/ validate"
cat >"$TMP/bad.yaml" <<'YAML'
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: bad}
spec:
  model:
    minAccuracy: 1.5
YAML
rc=0; out=$("$SELFHEAL" validate -f "$TMP/bad.yaml" 2>&1) || rc=$?
assert_eq "$rc" 2 "validate exit status on an invalid file"
assert_contains "$out" "$TMP/bad.yaml: spec.model.minAccuracy: must be between 0 and 1, got 1.5"
echo ok
