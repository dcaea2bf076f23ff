#!/usr/bin/env bash
# Retraining on Kubernetes (issue 7, acceptance 3) against the API emulator:
# drift creates exactly one Job per cooldown from retrain.jobTemplate (named
# from the pipeline's uid and the attempt, labelled, owned by the pipeline,
# SELFHEAL_DRIFT_SCORE in its env); a failed Job gives RetrainFailed; a Job
# past its timeout is deleted with propagation Background; a Job created
# before a crash is adopted, never duplicated, both when the controller
# never recorded it (AlreadyExists) and when status names it; deleting the
# pipeline deletes its Jobs. The test plays the Job controller: it writes
# the Complete / Failed conditions itself.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/kube.sh"
trap 'rc=$?; [ $rc = 0 ] || { echo "--- controller log (tail):" >&2; tail -n 30 "$TMP/ctl.log" >&2 2>/dev/null; }; cleanup' EXIT

start_emulator test-token --crd "$SH_ROOT/crd/selfhealingpipelines.selfheal.dev.yaml"
post() { api -X POST -H 'Content-Type: application/json' --data-binary @- "$url$1" >/dev/null; }
P=/apis/selfheal.dev/v1alpha1/namespaces/ml/selfhealingpipelines
J=/apis/batch/v1/namespaces/ml/jobs

echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ml"}}' | post /api/v1/namespaces
printf '{"score": 0.9}\n' >"$TMP/score.json"
pipeline() { # NAME TIMEOUT
    post $P <<JSON
{"apiVersion":"selfheal.dev/v1alpha1","kind":"SelfHealingPipeline","metadata":{"name":"$1","namespace":"ml"},
 "spec":{"drift":{"score":{"source":{"file":{"path":"$TMP/score.json","jsonPointer":"/score"}}},
  "threshold":0.5,"interval":"1s","cooldown":"1h",
  "retrain":{"timeout":"$2","jobTemplate":{"metadata":{"labels":{"team":"ml"}},
   "spec":{"backoffLimit":0,"template":{"spec":{"restartPolicy":"Never",
    "containers":[{"name":"train","image":"trainer:1","args":["--retrain"]}]}}}}}}}}
JSON
}
uid() { api "$url$P/$1" | jq -r .metadata.uid; }
jobs_of() { api "$url$J?labelSelector=selfheal.dev%2Fpipeline%3D$1" | jq -r '[.items[].metadata.name] | join(",")'; }
njobs() { api "$url$J?labelSelector=selfheal.dev%2Fpipeline%3D$1" | jq '.items | length'; }
doc() { api "$url$P/$1" | jq -r "$2"; }
reason() { doc "$1" '.status.conditions[]? | select(.type == "ModelFresh") | .reason'; }
condition() { # JOB TYPE: what the Job controller writes when the pod ends
    api -X PATCH -H 'Content-Type: application/merge-patch+json' "$url$J/$1/status" -d \
        "{\"status\":{\"conditions\":[{\"type\":\"$2\",\"status\":\"True\",\"reason\":\"Test\",\"message\":\"$2 by the test\",\"lastTransitionTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}]}}" >/dev/null
}

pipeline ok 10m
pipeline fails 10m
pipeline slow 3s
pipeline crash 10m
pipeline adopt 10m
# "adopt": a controller created its first Job and died before recording it
a_uid=$(uid adopt)
a_job="adopt-retrain-$(tr -dc 'a-z0-9' <<<"$a_uid" | cut -c1-8)-1"
post $J <<JSON
{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"$a_job","namespace":"ml",
  "labels":{"selfheal.dev/pipeline":"adopt"},
  "ownerReferences":[{"apiVersion":"selfheal.dev/v1alpha1","kind":"SelfHealingPipeline","name":"adopt","uid":"$a_uid","controller":true}]},
 "spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"train","image":"trainer:1"}]}}}}
JSON

start_controller() {
    port=$(free_port)
    (cd "$TMP" && exec "$SELFHEAL" run --kubeconfig "$kc" --listen "127.0.0.1:$port" --log-format json) >>"$TMP/ctl.log" 2>&1 &
    ctl=$!
    track $ctl
    wait_for 10 "/readyz" curl -fsS "http://127.0.0.1:$port/readyz"
}
start_controller

# one Job each, named from uid + attempt 1, owned by its pipeline, with the score in its env
for p in ok fails slow crash; do
    one() { [ "$(njobs $1)" = 1 ]; }
    wait_for 10 "a Job for $p" one $p
done
ok_job=$(jobs_of ok)
assert_eq "$ok_job" "ok-retrain-$(tr -dc 'a-z0-9' <<<"$(uid ok)" | cut -c1-8)-1" "Job name from uid and attempt"
job=$(api "$url$J/$ok_job")
assert_eq "$(jq -r '.metadata.ownerReferences[0].uid' <<<"$job")" "$(uid ok)" "ownerReference uid"
assert_eq "$(jq -r '.metadata.ownerReferences[0].kind' <<<"$job")" SelfHealingPipeline
assert_eq "$(jq -r '.metadata.labels.team' <<<"$job")" ml "template labels kept"
assert_eq "$(jq -r '.spec.template.spec.containers[0].env[] | select(.name == "SELFHEAL_DRIFT_SCORE") | .value' <<<"$job")" 0.9
assert_eq "$(jq -r '.spec.template.spec.containers[0].args[0]' <<<"$job")" --retrain "template spec kept"
running() { [ "$(reason $1)" = Retraining ]; }
wait_for 10 "ok Retraining" running ok
has_name() { [ "$(doc ok .status.drift.retrainJob.name)" = "$ok_job" ]; }
wait_for 5 "status names the Job" has_name
assert_eq "$(doc ok .status.phase)" Retraining "phase while the Job runs"

# adopted, not duplicated
assert_eq "$(jobs_of adopt)" "$a_job" "the Job made before the crash is the only one"
adopted() { api "$url/api/v1/namespaces/ml/events" | jq -e '.items[] | select(.involvedObject.name == "adopt" and .reason == "RetrainStarted") | select(.message | test("adopted"))'; }
wait_for 10 "RetrainStarted (adopted) event" adopted

# Complete → succeeded; the drift is still there but the cooldown holds: no second Job
condition "$ok_job" Complete
succeeded() { [ "$(doc ok '.status.drift.retrains // 0')" = 1 ]; }
wait_for 10 "ok retrain recorded" succeeded
assert_eq "$(doc ok .status.drift.retrainJob.state)" Succeeded
ev=$(api "$url/api/v1/namespaces/ml/events" | jq -r '.items[] | select(.involvedObject.name == "ok") | .reason')
assert_contains "$ev" RetrainSucceeded "the RetrainSucceeded Event"
! grep -q ModelPromotionFailed <<<"$ev" || fail "no Deployment named, so nothing to promote: no ModelPromotionFailed"
cooling() { [ "$(reason ok)" = CooldownActive ]; }
wait_for 10 "ok CooldownActive" cooling

# Failed → RetrainFailed (and the retry waits for its backoff: no second Job)
condition "$(jobs_of fails)" Failed
failed() { [ "$(reason fails)" = RetrainFailed ]; }
wait_for 10 "fails RetrainFailed" failed
assert_contains "$(doc fails .status.drift.retrainJob.message)" "Failed by the test"
ev=$(api "$url/api/v1/namespaces/ml/events" | jq -r '.items[] | select(.involvedObject.name == "fails") | .reason')
assert_contains "$ev" RetrainFailed "the RetrainFailed Event"

# past its 3 s timeout: deleted with propagation Background, counted as failed
slow_job=$(jobs_of slow)
gone() { [ "$(njobs slow)" = 0 ]; }
wait_for 15 "the slow Job deleted" gone
del=$(api "$url/_emulator/log?since=0" | jq -r '.items[] | select(.method == "DELETE" and (.path == "'$J/$slow_job'")) | .query')
assert_contains "$del" "propagationPolicy=Background" "DELETE with propagation Background"
slow_failed() { [ "$(reason slow)" = RetrainFailed ]; }
wait_for 10 "slow RetrainFailed" slow_failed
assert_eq "$(doc slow .status.drift.retrainJob.state)" TimedOut

# a controller killed while a Job runs: the next one follows the Job named in status
crash_job=$(jobs_of crash)
crash_named() { [ "$(doc crash .status.drift.retrainJob.name)" = "$crash_job" ]; }
wait_for 5 "crash's Job in status" crash_named
kill -KILL $ctl
wait $ctl 2>/dev/null || true
start_controller
sleep 3
assert_eq "$(doc crash .status.drift.retrainJob.state)" Running "still running after the restart, not Lost"
assert_eq "$(jobs_of crash)" "$crash_job" "no second Job after the restart"
condition "$crash_job" Complete
crash_done() { [ "$(doc crash '.status.drift.retrains // 0')" = 1 ]; }
wait_for 10 "crash's retrain recorded by the new controller" crash_done

# exactly one Job per cooldown, for everyone, after all of that
sleep 3
for p in ok fails slow crash adopt; do
    n=$(njobs $p)
    [ "$p" = slow ] && { assert_eq "$n" 0 "Jobs of slow (deleted)"; continue; }
    assert_eq "$n" 1 "Jobs of $p"
done
assert_eq "$(doc ok '.status.drift.retrainJob.attempts')" 1 "attempts of ok"

# deleting the pipeline deletes its Jobs (owner references)
api -X DELETE "$url$P/ok" >/dev/null
ok_gone() { [ "$(njobs ok)" = 0 ]; }
wait_for 10 "ok's Job garbage-collected" ok_gone

kill -TERM $ctl
rc=0
wait $ctl || rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM"
echo "kube retrain: one Job per cooldown, failed → RetrainFailed, timeout → deleted, adoption, GC"
# the requests the controller made, for test_rbac.sh
[ -z "${SH_EMU_LOG_OUT:-}" ] || api "$url/_emulator/log?since=0" >"$SH_EMU_LOG_OUT"
