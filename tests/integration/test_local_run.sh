#!/usr/bin/env bash
# The foundation's end-to-end test (issue 2, acceptance 3): `selfheal run` on
# a temp specs folder notices added, edited, broken and deleted files within
# a second each, keeps the good pipeline Ready while a broken file is Invalid,
# and exits 0 on SIGTERM.
source "$(dirname "$0")/lib/common.sh"

specs=$TMP/specs
state=$specs/.selfheal # the default: inside the specs folder
mkdir -p "$specs"
port=$(free_port)
"$SELFHEAL" run --specs "$specs" --listen "127.0.0.1:$port" --log-level debug >"$TMP/run.log" 2>&1 &
pid=$!
track $pid

doc() { jq -r "$2" "$state/pipelines/default/$1.json" 2>/dev/null; }
# the state folder is derived from the specs folder itself: nothing beside it
wait_for 10 "the state folder inside the specs folder" test -d "$state"
[ ! -e "$TMP/.selfheal" ] || fail "run --specs $specs wrote $TMP/.selfheal (shared by every folder in $TMP)"
wait_for 10 "the start-up line naming it" grep -qF "state $specs/.selfheal" "$TMP/run.log"
# doc_is NAME JQ VALUE: re-reads the status file each time wait_for polls it
doc_is() { [ "$(doc "$1" "$2")" = "$3" ]; }

# 1. add a pipeline: its status file appears, Ready, generation 1
cat >"$specs/first.yaml" <<'YAML'
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata:
  name: first
spec:
  escalation: {maxSameIssue: 3, window: 24h}
YAML
wait_for 2 "status of first" test -f "$state/pipelines/default/first.json"
wait_for 2 "first Ready" doc_is first '.status.conditions[] | select(.type=="Ready") | .status' True
assert_eq "$(doc first .status.phase)" Healthy "phase of first"
assert_eq "$(doc first .status.observedGeneration)" 1 "observedGeneration of first"

# 2. edit it (an editor's write-new-then-rename): observedGeneration rises within 1 s
sed 's/maxSameIssue: 3/maxSameIssue: 5/' "$specs/first.yaml" >"$specs/.first.yaml.swp"
mv "$specs/.first.yaml.swp" "$specs/first.yaml"
wait_for 1 "observedGeneration 2 after the edit" doc_is first .status.observedGeneration 2
assert_eq "$(doc first .metadata.generation)" 2 "generation after the edit"
# a write that does not change the spec does not bump it
touch "$specs/first.yaml"
sleep 0.3
assert_eq "$(doc first .status.observedGeneration)" 2 "generation after a touch"

# 3. garbage in a second file: that one is Invalid, the first stays Ready
printf 'this: [is not\n  valid: yaml\n' >"$specs/broken.yaml"
wait_for 2 "broken is Invalid" doc_is broken .status.phase Invalid
msg=$(doc broken '.status.conditions[] | select(.type=="Ready") | .message')
assert_contains "$msg" "broken.yaml:" "the Invalid message names the file"
assert_eq "$(doc broken '.status.conditions[] | select(.type=="Ready") | .reason')" InvalidSpec
assert_eq "$(doc first .status.phase)" Healthy "first stays Healthy"

# an invalid spec names the field path and the reason
cat >"$specs/typo.yaml" <<'YAML'
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: typo}
spec:
  model:
    minAcuracy: 0.7
YAML
wait_for 2 "typo is Invalid" doc_is typo .status.phase Invalid
assert_contains "$(doc typo '.status.conditions[0].message')" "spec.model.minAcuracy: unknown field (did you mean minAccuracy?)"

# 4. the table
table=$("$SELFHEAL" status --state "$state")
assert_contains "$table" "NAME"
assert_contains "$(grep '^first ' <<<"$table")" "Healthy"
assert_contains "$(grep '^broken ' <<<"$table")" "Invalid"
"$SELFHEAL" get first --state "$state" -o json | jq -e '.spec.escalation.maxSameIssue == 5' >/dev/null ||
    fail "get -o json shows the edited spec"

# 5. delete: the status goes
rm "$specs/first.yaml"
wait_for 2 "status of first removed" test ! -f "$state/pipelines/default/first.json"

# 6. SIGTERM: exit 0, promptly
kill -TERM $pid
start=$(date +%s%N)
rc=0
wait $pid || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
assert_eq "$rc" 0 "exit status after SIGTERM"
[ $ms -lt 2000 ] || fail "took ${ms} ms to stop after SIGTERM (limit 2000)"
grep -q "pipeline=default/first" "$TMP/run.log" || fail "log lines name the pipeline"
echo "ok"
