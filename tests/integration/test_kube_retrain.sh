#!/usr/bin/env bash
# Retraining on Kubernetes (issue 7, acceptance 3) on a real kube-apiserver and
# kube-controller-manager (envtest): drift creates exactly one Job per
# cooldown from retrain.jobTemplate (named from the pipeline's uid and the
# attempt, labelled, owned by the pipeline, SELFHEAL_DRIFT_SCORE in its env);
# a failed Job gives RetrainFailed and an Event; a Job past its timeout is
# deleted with propagation Background (the garbage collector then removes its
# pod) and counted TimedOut; a Job created before a crash is adopted, never
# duplicated, both when the controller never recorded it (AlreadyExists) and
# when status names it (the controller SIGKILLed while the Job runs); deleting
# the pipeline garbage-collects its Job. There is no kubelet: the test plays
# it by patching the Job's Pod status (Succeeded / Failed) as admin, and the
# real Job controller sets Complete / Failed. The controller runs under a
# ServiceAccount token bound only to $SH_RBAC_RULES (default
# manifests/rbac.yaml); no request of it may be Forbidden (the audit log).
# SH_SA_USER_OUT=FILE gets the controller's user name appended (test_rbac.sh).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v kubectl >/dev/null || fail "kubectl is not installed"
trap 'rc=$?; [ $rc = 0 ] || { echo "--- controller log (tail):" >&2; tail -n 30 "$TMP/ctl.log" >&2 2>/dev/null; }; cleanup' EXIT

envtest_up
envtest_namespace retrain
envtest_controller_kubeconfig "$NS" "$TMP/sa.kubeconfig" "${SH_RBAC_RULES:-}"
[ -z "${SH_SA_USER_OUT:-}" ] || echo "$SA_USER" >>"$SH_SA_USER_OUT"

printf '{"score": 0.9}\n' >"$TMP/score.json"
pipeline() { # NAME TIMEOUT
    cat <<YAML
---
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: $1}
spec:
  drift:
    score: {source: {file: {path: "$TMP/score.json", jsonPointer: /score}}}
    threshold: 0.5
    interval: 1s
    cooldown: 1h
    retrain:
      timeout: $2
      jobTemplate:
        metadata: {labels: {team: ml}}
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
              containers: [{name: train, image: "trainer:1", args: [--retrain]}]
YAML
}
{ pipeline ok 10m; pipeline fails 10m; pipeline slow 6s; pipeline crash 10m; pipeline adopt 10m; } |
    kadm apply -n "$NS" -f - >"$TMP/apply.log" 2>&1 || fail "apply pipelines: $(cat "$TMP/apply.log")"

uid() { kadm get shp "$1" -n "$NS" -o jsonpath='{.metadata.uid}'; }
jobs_json() { kadm get jobs -n "$NS" -l "selfheal.dev/pipeline=$1" -o json; }
jobs_of() { jobs_json "$1" | jq -r '[.items[].metadata.name] | join(",")'; }
njobs() { jobs_json "$1" | jq '.items | length'; }
doc() { kadm get shp "$1" -n "$NS" -o json | jq -r "$2"; }
reason() { doc "$1" '.status.conditions[]? | select(.type == "ModelFresh") | .reason'; }
events_of() { kadm get events -n "$NS" -o json | jq -r --arg p "$1" '.items[] | select(.involvedObject.name == $p) | .reason'; }
pod_of() { kadm get pods -n "$NS" -l "job-name=$1" -o jsonpath='{.items[0].metadata.name}'; }
has_pod() { [ -n "$(pod_of "$1")" ]; }
# the kubelet's part: JOB's pod ends with PHASE (Succeeded / Failed); the Job controller does the rest
pod_ends() { # JOB PHASE
    local code=0 why=Completed pod
    [ "$2" = Succeeded ] || { code=1; why=Error; }
    wait_for 30 "a pod of Job $1" has_pod "$1"
    pod=$(pod_of "$1")
    kadm patch pod "$pod" -n "$NS" --subresource status --type merge -p "{\"status\":{\"phase\":\"$2\",
        \"containerStatuses\":[{\"name\":\"train\",\"ready\":false,\"restartCount\":0,\"image\":\"trainer:1\",\"imageID\":\"\",
        \"state\":{\"terminated\":{\"exitCode\":$code,\"reason\":\"$why\",\"message\":\"$2 by the test\"}}}]}}" >/dev/null ||
        fail "cannot patch the status of pod $pod"
}

# "adopt": a controller created its first Job and died before recording it
a_uid=$(uid adopt)
a_job="adopt-retrain-$(tr -dc 'a-z0-9' <<<"$a_uid" | cut -c1-8)-1"
kadm apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: batch/v1
kind: Job
metadata:
  name: $a_job
  labels: {selfheal.dev/pipeline: adopt}
  ownerReferences:
  - {apiVersion: selfheal.dev/v1alpha1, kind: SelfHealingPipeline, name: adopt, uid: "$a_uid", controller: true}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: train, image: "trainer:1"}]
YAML

start_controller() {
    port=$(free_port)
    (cd "$TMP" && exec "$SELFHEAL" run --kubeconfig "$TMP/sa.kubeconfig" --namespace "$NS" \
        --listen "127.0.0.1:$port" --log-format json) >>"$TMP/ctl.log" 2>&1 &
    ctl=$!
    track $ctl
    wait_for 30 "/readyz" curl -fsS "http://127.0.0.1:$port/readyz"
}
start_controller

# one Job each, named from uid + attempt 1, owned by its pipeline, with the score in its env
one() { [ "$(njobs "$1")" = 1 ]; }
for p in ok fails slow crash; do
    wait_for 30 "a Job for $p" one $p
done
ok_job=$(jobs_of ok)
slow_job=$(jobs_of slow)
wait_for 30 "a pod of Job $slow_job (before its 6 s timeout)" has_pod "$slow_job"
slow_pod=$(pod_of "$slow_job")
assert_eq "$ok_job" "ok-retrain-$(tr -dc 'a-z0-9' <<<"$(uid ok)" | cut -c1-8)-1" "Job name from uid and attempt"
job=$(kadm get job "$ok_job" -n "$NS" -o json)
assert_eq "$(jq -r '.metadata.ownerReferences[0].uid' <<<"$job")" "$(uid ok)" "ownerReference uid"
assert_eq "$(jq -r '.metadata.ownerReferences[0].kind' <<<"$job")" SelfHealingPipeline
assert_eq "$(jq -r '.metadata.ownerReferences[0].controller' <<<"$job")" true "ownerReference controller"
assert_eq "$(jq -r '.metadata.labels.team' <<<"$job")" ml "template labels kept"
assert_eq "$(jq -r '.spec.template.spec.containers[0].env[] | select(.name == "SELFHEAL_DRIFT_SCORE") | .value' <<<"$job")" 0.9
assert_eq "$(jq -r '.spec.template.spec.containers[0].args[0]' <<<"$job")" --retrain "template spec kept"
running() { [ "$(reason "$1")" = Retraining ]; }
wait_for 30 "ok Retraining" running ok
has_name() { [ "$(doc ok .status.drift.retrainJob.name)" = "$ok_job" ]; }
wait_for 10 "status names the Job" has_name
assert_eq "$(doc ok .status.phase)" Retraining "phase while the Job runs"
# the Job controller made its pod, and the pod carries the score too
wait_for 30 "a pod of Job $ok_job" has_pod "$ok_job"
assert_eq "$(kadm get pod "$(pod_of "$ok_job")" -n "$NS" -o json |
    jq -r '.spec.containers[0].env[] | select(.name == "SELFHEAL_DRIFT_SCORE") | .value')" 0.9 "the pod's SELFHEAL_DRIFT_SCORE"

# adopted, not duplicated
adopted() { kadm get events -n "$NS" -o json | jq -e '.items[] | select(.involvedObject.name == "adopt" and .reason == "RetrainStarted") | select(.message | test("adopted"))'; }
wait_for 30 "RetrainStarted (adopted) event" adopted
assert_eq "$(jobs_of adopt)" "$a_job" "the Job made before the crash is the only one"

# Complete → succeeded; the drift is still there but the cooldown holds: no second Job
pod_ends "$ok_job" Succeeded
succeeded() { [ "$(doc ok '.status.drift.retrains // 0')" = 1 ]; }
wait_for 30 "ok retrain recorded (the Job controller set Complete)" succeeded
assert_eq "$(doc ok .status.drift.retrainJob.state)" Succeeded
assert_contains "$(events_of ok)" RetrainSucceeded "the RetrainSucceeded Event"
! grep -q ModelPromotionFailed <<<"$(events_of ok)" || fail "no Deployment named, so nothing to promote: no ModelPromotionFailed"
cooling() { [ "$(reason ok)" = CooldownActive ]; }
wait_for 10 "ok CooldownActive" cooling

# Failed → RetrainFailed (and the retry waits for its backoff: no second Job);
# the message is the Job controller's (backoffLimit 0 reached)
fails_job=$(jobs_of fails)
pod_ends "$fails_job" Failed
failed() { [ "$(reason fails)" = RetrainFailed ]; }
wait_for 30 "fails RetrainFailed (the Job controller set Failed)" failed
assert_eq "$(doc fails .status.drift.retrainJob.state)" Failed
assert_contains "$(doc fails .status.drift.retrainJob.message)" "Job $fails_job failed: Job has reached the specified backoff limit"
assert_contains "$(events_of fails)" RetrainFailed "the RetrainFailed Event"

# past its 6 s timeout: deleted with propagation Background, counted TimedOut;
# the garbage collector then deletes its pod (Background, not orphaned)
gone() { [ "$(njobs slow)" = 0 ]; }
wait_for 30 "the slow Job deleted" gone
dels() {
    jq -r --arg u "$SA_USER" --arg ns "$NS" --arg j "$slow_job" 'select(.user.username == $u and .verb == "delete"
        and .objectRef.resource == "jobs" and .objectRef.namespace == $ns and .objectRef.name == $j
        and .stage == "ResponseComplete") | .requestURI' "$ENVTEST_AUDIT"
}
logged() { [ -n "$(dels)" ]; }
wait_for 10 "the controller's DELETE of $slow_job in the audit log" logged
assert_contains "$(dels)" "propagationPolicy=Background" "DELETE with propagation Background"
pod_gone() { [ -z "$(kadm get pod "$slow_pod" -n "$NS" --ignore-not-found -o name)" ]; }
wait_for 60 "the slow Job's pod garbage-collected" pod_gone
slow_failed() { [ "$(reason slow)" = RetrainFailed ]; }
wait_for 30 "slow RetrainFailed" slow_failed
assert_eq "$(doc slow .status.drift.retrainJob.state)" TimedOut
# its logs went with it: no `kubectl logs … job/X` pointing at nothing
assert_eq "$(doc slow '.status.drift.retrainJob.log // ""')" "" "retrainJob.log of a deleted Job"

# a controller killed while a Job runs: the next one follows the Job named in status
crash_job=$(jobs_of crash)
crash_named() { [ "$(doc crash .status.drift.retrainJob.name)" = "$crash_job" ]; }
wait_for 10 "crash's Job in status" crash_named
kill -KILL $ctl
wait $ctl 2>/dev/null || true
start_controller
for _ in $(seq 30); do # 3 s: the new controller polls the Job (every 2 s) and must keep following it
    assert_eq "$(doc crash .status.drift.retrainJob.state)" Running "still running after the restart, not Lost"
    assert_eq "$(jobs_of crash)" "$crash_job" "no second Job after the restart"
    sleep 0.1
done
pod_ends "$crash_job" Succeeded
crash_done() { [ "$(doc crash '.status.drift.retrains // 0')" = 1 ]; }
wait_for 30 "crash's retrain recorded by the new controller" crash_done

# exactly one Job per cooldown, for everyone, after all of that
sleep 3 # a window in which a second Job would show
for p in ok fails slow crash adopt; do
    n=$(njobs $p)
    [ "$p" = slow ] && { assert_eq "$n" 0 "Jobs of slow (deleted)"; continue; }
    assert_eq "$n" 1 "Jobs of $p"
done
assert_eq "$(doc ok '.status.drift.retrainJob.attempts')" 1 "attempts of ok"

# deleting the pipeline: the garbage collector deletes its Job (owner reference)
kadm delete shp ok -n "$NS" --wait=false >/dev/null
ok_gone() { [ "$(njobs ok)" = 0 ]; }
wait_for 90 "ok's Job garbage-collected" ok_gone

kill -TERM $ctl
rc=0
wait $ctl || rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM"
forbidden=$(envtest_forbidden "$SA_USER")
[ -z "$forbidden" ] || fail "Forbidden under ${SH_RBAC_RULES:-manifests/rbac.yaml}: $forbidden"
echo "kube retrain: one Job per cooldown, failed → RetrainFailed, timeout → deleted, adoption, GC"
