#!/usr/bin/env bash
# Messages that tell the truth (issue 22 items 13, 14): `validate -f helm/`
# skips what is not a pipeline (values, Chart.yaml, templates) and says how
# many, `validate -f crd/` says it found no pipeline; `run --specs` on a
# missing folder fails before anything listens; a second controller on a
# port in use says so and names --listen.
source "$(dirname "$0")/lib/common.sh"
run() { rc=0; out=$("$SELFHEAL" "$@" 2>&1) || rc=$?; }

run validate -f helm/
[ "$rc" = 0 ] || fail "validate -f helm/: exit $rc: $out"
grep -qE 'skipped, not pipelines: [0-9]+ documents?, [1-9][0-9]* files?' <<<"$out" ||
    fail "validate -f helm/ does not say what it skipped: $out"
run validate -f crd/
[ "$rc" = 0 ] || fail "validate -f crd/: exit $rc: $out"
assert_contains "$out" "no pipelines found; skipped, not pipelines: 1 document"
# a broken pipeline in a folder is still reported, not skipped
mkdir -p "$TMP/v"
printf 'apiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\nmetadata: {name: x\n' >"$TMP/v/bad.yaml"
printf 'apiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\nmetadata: {name: y}\nspec: {nope: 1}\n' >"$TMP/v/typo.yaml"
run validate -f "$TMP/v"
[ "$rc" = 2 ] || fail "a broken pipeline in a folder: exit $rc: $out"
assert_contains "$out" "bad.yaml:4:1"
assert_contains "$out" "typo.yaml: spec.nope: unknown field"

run run --specs "$TMP/nonexistent" --state "$TMP/st" --listen 127.0.0.1:0
[ "$rc" = 1 ] || fail "run on a missing specs folder: exit $rc"
assert_contains "$out" "specs folder $TMP/nonexistent: No such file or directory"
grep -q "listening on" <<<"$out" && fail "it listened before reading the specs folder: $out"

mkdir -p "$TMP/specs"
"$SELFHEAL" run --specs "$TMP/specs" --state "$TMP/st1" --listen 127.0.0.1:0 >"$TMP/first.log" 2>&1 &
track $!
wait_for 10 "the first controller listening" grep -q "listening on" "$TMP/first.log"
addr=$(grep -oE 'listening on http://[0-9.]+:[0-9]+' "$TMP/first.log" | sed 's|.*http://||')
rc=0
out=$(timeout 10 "$SELFHEAL" run --specs "$TMP/specs" --state "$TMP/st2" --listen "$addr" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "a second controller on $addr: exit $rc: $out"
assert_contains "$out" "port in use"
assert_contains "$out" "pass --listen"
echo ok
