#!/usr/bin/env bash
# The controller under API faults (issue 6, acceptance 2): 50 pipelines while
# the emulator cuts every watch after 3 events, answers 20% of requests with
# 500 and objects are changed behind the controller's back (stale writes get
# 409): all converge, and after a spec change of every pipeline no status
# update is lost (every observedGeneration catches up).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/kube.sh"
N=50
start_emulator t0 --seed 7 --crd "$SH_ROOT/crd/selfhealingpipelines.selfheal.dev.yaml"
base=$url/apis/selfheal.dev/v1alpha1/namespaces/default/selfhealingpipelines

for i in $(seq 1 $N); do
    api -X POST -H 'Content-Type: application/json' "$base" -d \
        "{\"apiVersion\":\"selfheal.dev/v1alpha1\",\"kind\":\"SelfHealingPipeline\",\"metadata\":{\"name\":\"p$i\"},\"spec\":{\"escalation\":{\"maxSameIssue\":3}}}" >/dev/null
done
api -X POST "$url/_emulator/faults" -d '{"drop_watch_after": 3, "error_rate": 0.2, "error_code": 500}' >/dev/null

port=$(free_port)
"$SELFHEAL" run --kubeconfig "$kc" --listen "127.0.0.1:$port" --workers 4 --log-level warn >"$TMP/ctl.log" 2>&1 &
track $!

# converged: every pipeline's status says Ready for its current generation
converged() { # converged GEN
    api "$base" | jq -e --argjson g "$1" --argjson n $N '
        [.items[] | select(.status.observedGeneration == $g and
            ((.status.conditions // [])[] | select(.type == "Ready") | .status) == "True")] | length == $n' >/dev/null
}
wait_for 60 "all $N pipelines Ready under faults" converged 1

# change every spec while labels are bumped behind the controller's back (the
# test's own writes meet the injected errors too: retry them until accepted)
patch() { # patch NAME JSON
    for _ in $(seq 1 20); do
        code=$(api -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' \
            "$base/$1" -d "$2")
        [ "$code" = 200 ] && return 0
    done
    fail "PATCH $1 kept failing ($code)"
}
for i in $(seq 1 $N); do
    patch "p$i" '{"spec":{"escalation":{"maxSameIssue":5}}}'
    patch "p$i" "{\"metadata\":{\"labels\":{\"bump\":\"$i\"}}}"
done
wait_for 60 "every observedGeneration caught up (no status update lost)" converged 2
stats=$(api "$url/_emulator/stats")
injected=$(jq .injected_errors <<<"$stats")
dropped=$(jq .watches_dropped <<<"$stats")
[ "$injected" -gt 0 ] || fail "no error was injected: $stats"
[ "$dropped" -gt 0 ] || fail "no watch was dropped: $stats"
echo "ok ($injected injected errors, $dropped dropped watches, $(jq .conflicts <<<"$stats") conflicts)"
