#!/usr/bin/env bash
# Leader SIGKILLed under load on a real kube-apiserver (issue 19, §3): two
# replicas with --leader-elect on a real Lease, each under its own
# ServiceAccount token (so the audit log says who wrote what), and 150
# pipelines in the test's namespace:
#   idle     110 health checks of a healthy server (20 of them get a spec
#            change while nobody leads)
#   restart  20 Deployments whose service is down (10 from the start, 10
#            from just before the kill): recovery restart, maxAttempts 3
#   rollback 10 Deployments moved v1 → v2 with v2's metric below
#            minAccuracy (5 well before the kill, 5 just before it)
#   retrain  10 drift pipelines (5 drifted from the start, 5 from just
#            before the kill): one Job each
# The leader is SIGKILLed while those actions are under way. Asserted: the
# standby holds the Lease within the lease duration + a retry period (+ slack);
# every pipeline converges; each action happened exactly as often as required
# (3 restarts per restart Deployment, 1 rollback per rollback Deployment —
# counted by the server in the Deployment's generation —, 1 Job per retrain
# pipeline; the audit log agrees; at most one rollback in each history); no
# status ever went backwards (sampled through the handover: observedGeneration, recoveryAttempts, history length, the retrain
# attempt and count); the standby wrote nothing before it held the Lease.
# There is no kubelet: the test plays it (a retrain Job's pod Succeeded).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v kubectl >/dev/null || fail "kubectl is not installed"
command -v jq >/dev/null || fail "jq is not installed"
trap 'rc=$?; kill $(cat "$TMP/sampler.pid" 2>/dev/null) 2>/dev/null || true; [ $rc = 0 ] || for r in 1 2; do echo "--- replica $r log (tail):" >&2; tail -n 12 "$TMP/r$r.log" >&2 2>/dev/null; done; cleanup' EXIT
IDLE=110 RESTART=20 ROLLBACK=10 RETRAIN=10
TOTAL=$((IDLE + RESTART + ROLLBACK + RETRAIN))

envtest_up
users=() namespaces=()
for r in 1 2; do # a namespace each for the two ServiceAccounts; pipelines and Lease in the first
    envtest_namespace "lload$r"
    envtest_controller_kubeconfig "$NS" "$TMP/r$r.kubeconfig"
    users+=("$SA_USER")
    namespaces+=("$NS")
done
NS=${namespaces[0]}
export KUBECONFIG=$ENVTEST_KUBECONFIG

"$SH_ROOT/bin/flaky_server" --port 0 --port-file "$TMP/up.port" >/dev/null 2>&1 &
track $!
"$SH_ROOT/bin/flaky_server" --port 0 --port-file "$TMP/late.port" >/dev/null 2>&1 &
late_pid=$!
track $late_pid
wait_for 10 "the health servers" sh -c "test -s '$TMP/up.port' && test -s '$TMP/late.port'"
up=http://127.0.0.1:$(cat "$TMP/up.port")/health
late=http://127.0.0.1:$(cat "$TMP/late.port")/health
dead=http://127.0.0.1:$(free_port)/health
mkdir -p "$TMP/m" "$TMP/r1" "$TMP/r2"
for i in $(seq -f %02g 1 $ROLLBACK); do echo '{"accuracy": 0.9}' >"$TMP/m/rb$i.json"; done
for i in $(seq -f %02g 1 $RETRAIN); do
    s=0.1
    [ "$((10#$i))" -le $((RETRAIN / 2)) ] && s=0.9
    echo "{\"score\": $s}" >"$TMP/m/rt$i.json"
done

{
    for i in $(seq -f %03g 1 $IDLE); do
        printf -- '---\napiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\nmetadata: {name: idle%s}\nspec:\n  service:\n    healthCheck: {url: "%s", interval: 2s, timeout: 1s}\n  escalation: {maxSameIssue: 3}\n' "$i" "$up"
    done
    for i in $(seq -f %02g 1 $RESTART); do
        url=$dead
        [ "$((10#$i))" -le $((RESTART / 2)) ] || url=$late
        cat <<YAML
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api$i}
spec:
  replicas: 1
  selector: {matchLabels: {app: api$i}}
  template:
    metadata: {labels: {app: api$i}}
    spec: {containers: [{name: api, image: "api:1"}]}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: restart$i}
spec:
  service:
    healthCheck: {url: "$url", interval: 500ms, timeout: 300ms, failureThreshold: 1, startupTimeout: 1s}
    recovery: {method: restart, deployment: api$i, maxAttempts: 3, backoff: 3s, resetAfter: 1h}
YAML
    done
    for i in $(seq -f %02g 1 $ROLLBACK); do
        cat <<YAML
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: model$i}
spec:
  replicas: 1
  selector: {matchLabels: {app: model$i}}
  template:
    metadata: {labels: {app: model$i}, annotations: {selfheal.dev/model-version: v1}}
    spec: {containers: [{name: api, image: "model:v1"}]}
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: rollback$i}
spec:
  model:
    metric: {source: {file: {path: "$TMP/m/rb$i.json", jsonPointer: /accuracy}}, interval: 1s}
    minAccuracy: 0.70
    failureLimit: 1
    rollback: {deployment: model$i, versionFrom: {annotation: selfheal.dev/model-version}, maxRollbacks: 3, window: 24h}
YAML
    done
    for i in $(seq -f %02g 1 $RETRAIN); do
        cat <<YAML
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: retrain$i}
spec:
  drift:
    score: {source: {file: {path: "$TMP/m/rt$i.json", jsonPointer: /score}}}
    threshold: 0.5
    interval: 1s
    cooldown: 1h
    retrain:
      timeout: 10m
      jobTemplate:
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
              containers: [{name: train, image: "trainer:1"}]
YAML
    done
} >"$TMP/all.yaml"
kadm apply -n "$NS" -f "$TMP/all.yaml" >"$TMP/apply.log" 2>&1 || fail "apply: $(tail -3 "$TMP/apply.log")"

start() { # start N: replica N, under its own token, in a folder of its own (audit files)
    (cd "$TMP/r$1" && exec "$SELFHEAL" run --kubeconfig "$TMP/r$1.kubeconfig" --namespace "$NS" --leader-elect \
        --leader-elect-namespace "$NS" --listen 127.0.0.1:0 --workers 4) >"$TMP/r$1.log" 2>&1 &
    echo $! >"$TMP/r$1.pid"
    track $!
}
lease() { kapi "/apis/coordination.k8s.io/v1/namespaces/$NS/leases/selfheal-leader"; }
holder() { lease | jq -r '.spec.holderIdentity // ""'; }
identity() { grep -oE 'leader election: [^ ]+ acquired' "$TMP/r$1.log" | tail -1 | awk '{print $3}'; }
leads() { local id; id=$(identity "$1"); [ -n "$id" ] && [ "$(holder)" = "$id" ]; }
shps() { kapi "/apis/selfheal.dev/v1alpha1/namespaces/$NS/selfhealingpipelines"; }
doc() { kadm get shp "$1" -n "$NS" -o json | jq -r "$2"; }
count_where() { shps | jq --arg p "$1" "[.items[] | select(.metadata.name | startswith(\$p)) | select($2)] | length"; }
all_where() { [ "$(count_where "$1" "$2")" = "$3" ]; }
set_version() { # DEPLOYMENT VERSION
    kadm patch deployment "$1" -n "$NS" --type strategic -p "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":
        {\"selfheal.dev/model-version\":\"$2\"}},\"spec\":{\"containers\":[{\"name\":\"api\",\"image\":\"model:$2\"}]}}}}" >/dev/null
}
version_of() { kadm get deployment "$1" -n "$NS" -o jsonpath='{.spec.template.metadata.annotations.selfheal\.dev/model-version}'; }
# the test plays the model server: a Deployment back on v1 serves 0.9 again
follow_versions() {
    local i
    for i in $(seq -f %02g 1 $ROLLBACK); do
        [ "$(version_of "model$i")" = v1 ] && echo '{"accuracy": 0.9}' >"$TMP/m/rb$i.json.tmp" &&
            mv "$TMP/m/rb$i.json.tmp" "$TMP/m/rb$i.json"
    done
    return 0
}
degrade() { # I: model I moves to v2, whose metric is 0.5
    set_version "model$1" v2
    echo '{"accuracy": 0.5}' >"$TMP/m/rb$1.json.tmp" && mv "$TMP/m/rb$1.json.tmp" "$TMP/m/rb$1.json"
}

# status sampler: every 0.3 s, one line per pipeline (name og attempts history retrainAttempts retrains rollbacks)
sampler() {
    while :; do
        shps 2>/dev/null | jq -r '.items[] | [.metadata.name, (.status.observedGeneration // 0),
            (.status.service.recoveryAttempts // 0), ((.status.history // []) | length),
            (.status.drift.retrainJob.attempts // 0), (.status.drift.retrains // 0),
            ([(.status.history // [])[] | select(.action == "rollback")] | length)] | @tsv' 2>/dev/null >>"$TMP/samples"
        sleep 0.3
    done
}

start 1
wait_for 30 "replica 1 leads" leads 1
start 2
t_start=$(date +%s)
wait_for 60 "every pipeline's first status" all_where "" '.status.observedGeneration == .metadata.generation' $TOTAL
sampler &
echo $! >"$TMP/sampler.pid"
# the rollback pipelines have seen v1 serve (their evidence)
wait_for 20 "v1's evidence for every rollback pipeline" all_where rollback \
    '[.status.model.versions[]? | select(.version == "v1" and .metric >= 0.7)] | length > 0' $ROLLBACK
# v1 must exist as a revision to roll back to: the Deployment controller,
# busy with 150 new Deployments, can take seconds to make the v1 ReplicaSets
# (a v2 template patched in before that has no v1 revision: NoGoodVersion)
v1_revisions() {
    [ "$(kadm get rs -n "$NS" -o json | jq '[.items[] | select(.spec.template.metadata.annotations["selfheal.dev/model-version"] == "v1"
        and (.metadata.ownerReferences[0].name | startswith("model")))] | length')" -ge "$ROLLBACK" ]
}
wait_for 60 "the model Deployments' v1 ReplicaSets" v1_revisions
for i in $(seq -f %02g 1 $((ROLLBACK / 2))); do degrade "$i"; done
wait_for 20 "the restart Deployments' first restarts" all_where restart '(.status.service.recoveryAttempts // 0) >= 1' $((RESTART / 2))
wait_for 20 "the first rollbacks" all_where rollback '[.status.history[]? | select(.action == "rollback")] | length > 0' $((ROLLBACK / 2))
follow_versions
# just before the kill: a second wave of work for the leader, killed 0.1-0.9 s into it
for i in $(seq -f %02g $((ROLLBACK / 2 + 1)) $ROLLBACK); do degrade "$i"; done
for i in $(seq -f %02g $((RETRAIN / 2 + 1)) $RETRAIN); do
    echo '{"score": 0.9}' >"$TMP/m/rt$i.json.tmp" && mv "$TMP/m/rt$i.json.tmp" "$TMP/m/rt$i.json"
done
kill "$late_pid" # last: restarts within a probe interval (0.5 s)
delay=0.$((RANDOM % 9 + 1))
sleep "$delay"
holder1=$(holder)
kill -KILL "$(cat "$TMP/r1.pid")"
t_kill=$(date +%s%N)
wait "$(cat "$TMP/r1.pid")" 2>/dev/null || true
killed_at=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
echo "SIGKILL of the leader $((($(date +%s) - t_start))) s after start, ${delay} s into the second wave: restart attempts $(count_where restart '.status.service.recoveryAttempts >= 1')/$RESTART started, $(count_where rollback '[.status.history[]? | select(.action == "rollback")] | length > 0')/$ROLLBACK rolled back, $(count_where retrain '.status.drift.retrainJob.attempts >= 1')/$RETRAIN Jobs"
# while nobody leads: a spec change for 20 idle pipelines
kadm patch shp $(seq -f 'idle%03g' 1 20) -n "$NS" --type merge -p '{"spec":{"escalation":{"maxSameIssue":4}}}' >/dev/null

changed() { [ -n "$(holder)" ] && [ "$(holder)" != "$holder1" ]; }
wait_for 40 "the standby takes the Lease" changed
took=$((($(date +%s%N) - t_kill) / 1000000))
dur=$(lease | jq -r '.spec.leaseDurationSeconds')
[ $took -le $(((dur + 2 + 8) * 1000)) ] || fail "handover took ${took} ms (lease ${dur} s + retry 2 s + 8 s slack)"
leads 2 || fail "the Lease holder '$(holder)' is not replica 2 ($(identity 2))"

# the rest of the work, by the new leader; the test plays the model server and the kubelet
exhausted='.status.service.recoveryAttempts == 3 and ([.status.conditions[]? | select(.type == "ServiceHealthy" and .reason == "RecoveryExhausted")] | length == 1)'
ends_ok() { # every retrain Job's pod Succeeded (once it has one)
    local job pod
    for job in $(kadm get jobs -n "$NS" -o json | jq -r '.items[] | select((.status.succeeded // 0) == 0) | .metadata.name'); do
        pod=$(kadm get pods -n "$NS" -l "job-name=$job" -o jsonpath='{.items[0].metadata.name}')
        [ -n "$pod" ] || continue
        kadm patch pod "$pod" -n "$NS" --subresource status --type merge -p '{"status":{"phase":"Succeeded",
            "containerStatuses":[{"name":"train","ready":false,"restartCount":0,"image":"trainer:1","imageID":"",
            "state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}}' >/dev/null 2>&1 || true
    done
}
all_converged() {
    follow_versions
    ends_ok
    shps | jq -e --argjson n $TOTAL --argjson rs $RESTART --argjson rb $ROLLBACK --argjson rt $RETRAIN "
        def named(p): [.items[] | select(.metadata.name | startswith(p))];
        (.items | length) == \$n and
        all(.items[]; .status.observedGeneration == .metadata.generation) and
        (named(\"idle\") | all(.status.phase == \"Healthy\")) and
        (named(\"restart\") | length == \$rs and all($exhausted)) and
        (named(\"rollback\") | length == \$rb and all(.status.phase == \"Healthy\" and .status.model.version == \"v1\")) and
        (named(\"retrain\") | length == \$rt and all(.status.drift.retrains == 1 and
            ([.status.conditions[]? | select(.type == \"ModelFresh\" and .reason == \"CooldownActive\")] | length == 1)))" >/dev/null
}
wait_for 60 "every pipeline converges under the new leader" all_converged
sleep 3 # let a late or duplicate action show
kill "$(cat "$TMP/sampler.pid")"
sleep 1.2 # the audit log's batch

# each action exactly as often as required. What the server applied is
# authoritative: every restart and every rollback changes the Deployment's pod
# template, so its metadata.generation counts them (created: 1; a rollback
# Deployment also got v2 from the test: 2). The audit log must agree: a call
# the leader made in the instant of its SIGKILL can be applied while the API
# server, its client gone, audits it as 504 "context canceled" — so the
# successful calls (< 300) may be fewer than those applied, by at most the
# dead leader's cut calls, and never more (a duplicate no-op patch would show
# there).
writes() { # VERB RESOURCE [CODES]: "name" per call by either replica; CODES ok (< 300, the default) or cut (the dead leader's 504s)
    jq -r --arg u1 "${users[0]}" --arg u2 "${users[1]}" --arg ns "$NS" --arg v "$1" --arg r "$2" --arg c "${3:-ok}" '
        select((.user.username == $u1 or .user.username == $u2) and .stage == "ResponseComplete"
        and .verb == $v and .objectRef.resource == $r and .objectRef.namespace == $ns
        and (.objectRef.subresource // "") == ""
        and (if $c == "ok" then .responseStatus.code < 300
             else .user.username == $u1 and .responseStatus.code == 504 end)) | .objectRef.name' "$ENVTEST_AUDIT"
}
count_of() { awk -v d="$1" '$1 == d {n = $2} END {print n + 0}' "$2"; }
writes patch deployments | sort | uniq -c | awk '{print $2, $1}' >"$TMP/patches"
writes patch deployments cut | sort | uniq -c | awk '{print $2, $1}' >"$TMP/patches.cut"
applied() { # DEPLOYMENT REQUIRED BASE-GENERATION WHAT
    local made ok cut
    made=$(($(kadm get deployment "$1" -n "$NS" -o jsonpath='{.metadata.generation}') - $3))
    ok=$(count_of "$1" "$TMP/patches") cut=$(count_of "$1" "$TMP/patches.cut")
    assert_eq "$made" "$2" "$4 applied to deployment $1 (its generation)"
    [ "$ok" -le "$made" ] && [ "$made" -le $((ok + cut)) ] ||
        fail "$4 of deployment $1 in the audit log: $ok successful, $cut cut by the SIGKILL; $made applied"
}
for i in $(seq -f %02g 1 $RESTART); do applied "api$i" 3 1 "restarts (maxAttempts 3)"; done
for i in $(seq -f %02g 1 $ROLLBACK); do applied "model$i" 1 2 "rollbacks"; done
writes create jobs >"$TMP/jobs.created"
writes create jobs cut >"$TMP/jobs.cut"
for i in $(seq -f %02g 1 $RETRAIN); do
    assert_eq "$(kadm get jobs -n "$NS" -l "selfheal.dev/pipeline=retrain$i" -o json | jq '.items | length')" 1 "Jobs of retrain$i"
    ok=$(grep -c "^retrain$i-retrain-" "$TMP/jobs.created" || true)
    cut=$(grep -c "^retrain$i-retrain-" "$TMP/jobs.cut" || true)
    [ "$ok" -le 1 ] && [ $((ok + cut)) -ge 1 ] ||
        fail "Jobs created for retrain$i in the audit log: $ok successful, $cut cut by the SIGKILL; 1 exists"
    assert_eq "$(doc "retrain$i" .status.drift.retrainJob.attempts)" 1 "retrain$i's attempts"
done
# every rollback in its pipeline's history exactly once — one the leader made
# in the instant before its SIGKILL, before its status write, too: the new
# leader finds the note it left on the Deployment (selfheal.dev/rollback)
assert_eq "$(count_where rollback '[.status.history[]? | select(.action == "rollback")] | length > 1')" 0 \
    "rollback pipelines with more than one rollback in history"
assert_eq "$(count_where rollback '[.status.history[]? | select(.action == "rollback")] | length == 0')" 0 \
    "rollback pipelines with no rollback in history"
adopted=$(count_where rollback '[.status.history[]? | select(.action == "rollback" and (.trigger | startswith("NotRecorded")))] | length > 0')

# no status went backwards: per pipeline, every column is non-decreasing over the samples
# (history is bounded at 20: its length may only stop growing)
backwards=$(awk -F'\t' '{
        if ($1 in og) {
            if ($2 < og[$1] || $3 < at[$1] || ($4 < hi[$1] && hi[$1] < 20) || $5 < ra[$1] || $6 < rt[$1] || $7 < rb[$1])
                print $1 ": " og[$1] "/" at[$1] "/" hi[$1] "/" ra[$1] "/" rt[$1] "/" rb[$1] " -> " $2 "/" $3 "/" $4 "/" $5 "/" $6 "/" $7
        }
        og[$1] = $2; at[$1] = $3; hi[$1] = $4; ra[$1] = $5; rt[$1] = $6; rb[$1] = $7
    }' "$TMP/samples")
[ -z "$backwards" ] || fail "status went backwards (observedGeneration/recoveryAttempts/history/retrainAttempts/retrains/rollbacks): $backwards"
samples=$(awk -F'\t' '{n[$1]++} END {m = 1e9; for (k in n) if (n[k] < m) m = n[k]; print m}' "$TMP/samples")
[ "$samples" -ge 20 ] || fail "too few status samples ($samples) to see the handover"

# the standby wrote nothing before it held the Lease, and the dead leader nothing after its death
first_lease=$(jq -r --arg u "${users[1]}" 'select(.user.username == $u and .stage == "ResponseComplete"
    and .objectRef.resource == "leases" and (.verb == "update" or .verb == "create") and .responseStatus.code < 300)
    | .requestReceivedTimestamp' "$ENVTEST_AUDIT" | sort | head -1)
[ -n "$first_lease" ] || fail "no Lease write by replica 2 in the audit log"
early=$(jq -r --arg u "${users[1]}" --arg t "$first_lease" 'select(.user.username == $u and .stage == "ResponseComplete"
    and (.verb == "create" or .verb == "update" or .verb == "patch" or .verb == "delete")
    and .objectRef.resource != "leases" and .requestReceivedTimestamp < $t) | "\(.verb) \(.requestURI)"' "$ENVTEST_AUDIT")
[ -z "$early" ] || fail "replica 2 wrote before it held the Lease ($first_lease): $early"
late_writes=$(jq -r --arg u "${users[0]}" --arg t "$killed_at" 'select(.user.username == $u and .stage == "ResponseComplete"
    and .requestReceivedTimestamp > $t) | "\(.verb) \(.requestURI)"' "$ENVTEST_AUDIT")
[ -z "$late_writes" ] || fail "requests by the dead leader after its SIGKILL: $late_writes"
for u in "${users[@]}"; do
    forbidden=$(envtest_forbidden "$u")
    [ -z "$forbidden" ] || fail "Forbidden for $u: $forbidden"
done
by() { # USER: its successful Deployment patches and Job creates
    jq -r --arg u "$1" 'select(.user.username == $u and .stage == "ResponseComplete" and .responseStatus.code < 300
        and ((.verb == "patch" and .objectRef.resource == "deployments") or (.verb == "create" and .objectRef.resource == "jobs")))
        | .objectRef.resource' "$ENVTEST_AUDIT" | sort | uniq -c | awk '{printf "%s %s ", $1, $2}'
}
echo "ok: $TOTAL pipelines; handover ${took} ms (lease ${dur} s); $(wc -l <"$TMP/patches") Deployments patched $(writes patch deployments | wc -l) times, $(wc -l <"$TMP/jobs.created") Jobs, exactly as required (the dead leader: $(by "${users[0]}"); the new one: $(by "${users[1]}")); $samples+ status samples each, none backwards; calls of the dead leader applied but audited 504 (its SIGKILL cut them): $(cat "$TMP/patches.cut" "$TMP/jobs.cut" | wc -l); restarts found made but unrecorded (not made twice): $(cat "$TMP"/r?.log | grep -c 'not restarted twice' || true); rollbacks made but unrecorded, recorded by the new leader: $adopted"
