#!/usr/bin/env bash
# A big dataset never takes the controller down (issue 15, item 4): the data
# work of a pipeline (the data fix, the drift statistics) runs in a forked
# child under --memory-budget. With a 16 MiB budget:
#  1. a pipeline whose CSV needs more (a text column of 400k distinct
#     values: their exact counts are kept) fails its data loop with
#     DataValid False, reason Unfixable, "out of memory: … budget of 16 MiB;
#     raise --memory-budget", its file untouched; its drift loop, whose
#     statistics stream (200k rows against themselves, numbers spilled to
#     temporary files), says NoDrift within the same budget; the controller
#     stays up (/healthz) and a pipeline with a small file is fixed meanwhile;
#  2. `selfheal fix-data --memory-budget` fails the same way (exit 1), and
#     without the flag fixes the file exactly as the controller would;
#  3. the numeric fix streams (issue 15, item 3): an 800k-row housing file,
#     whose columns alone would take 4x the budget in memory, is fixed under
#     16 MiB with the same bytes as without a budget.
source "$(dirname "$0")/lib/common.sh"
cd "$TMP"
gen() { /usr/bin/python3 "$SH_ROOT/bench/datafix/gen_housing.py" "$1" 3 0.05 0.01; }
mkdir -p specs data
awk 'BEGIN { print "id,x"; for (i = 0; i < 400000; i++) printf "row-%040d,%s\n", i, (i % 50 ? i % 997 : "") }' >data/big.csv
gen 5000 >data/small.csv
gen 200000 >drift.csv
cp data/big.csv big.orig
sum() { sha256sum "$1" | cut -d' ' -f1; }
for name in big small; do
    cat >"specs/$name.yaml" <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: $name}
spec:
  dataQuality:
    path: $TMP/data/$name.csv
    interval: 1s
    backup: {keep: 1}
YAML
done
cat >>specs/big.yaml <<YAML
  drift:
    reference: {path: $TMP/drift.csv}
    current: {path: $TMP/drift.csv}
    interval: 1s
YAML
state=$TMP/state
port=$(free_port)
"$SELFHEAL" run --specs specs --state "$state" --listen "127.0.0.1:$port" --memory-budget 16Mi >run.log 2>&1 &
ctl=$!
track $ctl
on_fail() { echo "--- run.log"; tail -20 run.log; for p in big small; do echo "--- $p"; cat "$state/pipelines/default/$p.json" 2>/dev/null; done; }
trap 'rc=$?; [ $rc -eq 0 ] || on_fail; cleanup' EXIT

doc() { jq -r "$2" "$state/pipelines/default/$1.json" 2>/dev/null; }
cond() { doc "$1" ".status.conditions[]? | select(.type==\"$2\") | .$3"; }
big_oom() { [[ "$(cond big DataValid message)" == *"out of memory: the data work needs more than the budget of 16 MiB; raise --memory-budget"* ]]; }
small_fixed() { [ "$(cond small DataValid reason)" = Fixed ]; }
drift_ok() { [ "$(cond big ModelFresh reason)" = NoDrift ]; }

wait_for 30 "the big pipeline's data loop fails for memory" big_oom
assert_eq "$(cond big DataValid status)" False "DataValid of the big pipeline"
assert_eq "$(cond big DataValid reason)" Unfixable "the reason"
wait_for 30 "the small pipeline is fixed meanwhile" small_fixed
wait_for 30 "the drift loop scores within the budget" drift_ok
kill -0 $ctl 2>/dev/null || fail "the controller died"
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || fail "/healthz does not answer"
assert_eq "$(sum data/big.csv)" "$(sum big.orig)" "the big file is untouched"
echo "controller up, big pipeline Unfixable (out of memory) with its drift scored, small pipeline fixed"

# --- 2. the CLI --------------------------------------------------------------
cp big.orig cli.csv
rc=0
err=$("$SELFHEAL" fix-data --data-path cli.csv --memory-budget 16Mi --quiet 2>&1) || rc=$?
assert_eq "$rc" 1 "fix-data over its budget ($err)"
assert_contains "$err" "out of memory: the data work needs more than the budget of 16 MiB"
assert_eq "$(sum cli.csv)" "$(sum big.orig)" "the file after a fix over budget"
cp big.orig iso.csv
"$SELFHEAL" fix-data --data-path cli.csv --backup-keep 0 --quiet
"$SELFHEAL" fix-data --data-path iso.csv --backup-keep 0 --quiet --memory-budget 0
assert_eq "$(sum iso.csv)" "$(sum cli.csv)" "the isolated fix and the in-process fix"

# --- 3. streaming: 4x the budget in columns, fixed within it ---------------
gen 800000 >s1.csv
cp s1.csv s2.csv
"$SELFHEAL" fix-data --data-path s1.csv --backup-keep 0 --quiet
"$SELFHEAL" fix-data --data-path s2.csv --backup-keep 0 --quiet --memory-budget 16Mi ||
    fail "fix-data of 800k rows under a 16 MiB budget"
assert_eq "$(sum s2.csv)" "$(sum s1.csv)" "the fix under 16 MiB and the fix without a budget"
echo ok
