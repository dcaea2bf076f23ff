#!/usr/bin/env bash
# tests/integration/test_kube_apiserver_restart.sh — the controller rides out
# a real control plane's failures (issue 19, §3), on a control plane of the
# test's own (tests/envtest/controlplane.sh: the suite's shared one must not
# be killed under the other tests):
#   1. 200 pipelines reconcile; kube-apiserver is SIGKILLed while their specs
#      change, and restarted with the same arguments: every status converges
#      to the new generation;
#   2. while the API server is down, etcd's revision moves on and is
#      compacted (through etcd's HTTP gateway), so the controller's watch
#      resumes from a resourceVersion that is gone: 410, a relist, and a
#      spec change made during the gap is applied;
#   3. restarted again with --min-request-timeout=3, the API server cuts
#      every watch after 3-6 s; spec changes keep being applied across the
#      cuts;
#   and after all of it the controller holds no more threads, file
#   descriptors or sockets than it did before (no pile-up).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v jq >/dev/null || fail "jq is not installed"
[ -x "$SELFHEAL" ] || fail "$SELFHEAL is not built"
N=${SH_RESTART_PIPELINES:-200}

unset SH_ENVTEST_DIR # a control plane of our own: we kill it
envtest_up
CP=$TMP/envtest
envtest_namespace restart
envtest_controller_kubeconfig "$NS" "$TMP/ctl.kubeconfig"

gen_specs() { # MAXSAMEISSUE
    local i
    for ((i = 0; i < N; i++)); do
        printf -- '---\napiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\nmetadata: {name: p%03d}\nspec: {escalation: {maxSameIssue: %d}}\n' "$i" "$1"
    done
}
apply_specs() { # MAXSAMEISSUE
    local i
    gen_specs "$1" >"$TMP/specs.yaml"
    for i in $(seq 1 30); do
        kadm apply -n "$NS" -f "$TMP/specs.yaml" >"$TMP/apply.log" 2>&1 && return 0
        sleep 0.5 # the API server may still be starting
    done
    fail "apply: $(tail -3 "$TMP/apply.log")"
}
# every pipeline's status observed its current generation, and maxSameIssue is the one asked
converged() { # MAXSAMEISSUE
    kadm get shp -n "$NS" -o json 2>/dev/null | jq -e --argjson n "$N" --argjson m "$1" '
        (.items | length) == $n and
        all(.items[]; .spec.escalation.maxSameIssue == $m and
            (.status.observedGeneration // -1) == .metadata.generation and (.status.phase // "") != "")' >/dev/null
}
lagging() {
    kadm get shp -n "$NS" -o json 2>/dev/null | jq -r '[.items[] | select((.status.observedGeneration // -1) != .metadata.generation) | .metadata.name] | length'
}

apply_specs 3
port=$(free_port)
"$SELFHEAL" run --kubeconfig "$TMP/ctl.kubeconfig" --namespace "$NS" --listen "127.0.0.1:$port" \
    --workers 4 >"$TMP/run.log" 2>&1 &
CTL=$!
track $CTL
wait_for 60 "the $N pipelines converge" converged 3

usage() { # threads fds sockets of the controller
    local t f s
    t=$(awk '/^Threads:/ {print $2}' "/proc/$CTL/status")
    f=$(ls "/proc/$CTL/fd" | wc -l)
    s=$(find "/proc/$CTL/fd" -lname 'socket:*' 2>/dev/null | wc -l)
    echo "$t $f $s"
}
read -r t0 f0 s0 <<<"$(usage)"

apiserver_pid() { cat "$CP/kube-apiserver.pid"; }
mapfile -d '' APISERVER_ARGS <"/proc/$(apiserver_pid)/cmdline"
kill_apiserver() {
    local pid
    pid=$(apiserver_pid)
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}
start_apiserver() { # EXTRA-ARGS...
    "${APISERVER_ARGS[@]}" "$@" >>"$CP/kube-apiserver.log" 2>&1 &
    echo $! >"$CP/kube-apiserver.pid"
    wait_for 60 "kube-apiserver is ready again" sh -c \
        "[ \"\$(curl -s --cacert '$ENVTEST_CA' --cert '$ENVTEST_ADMIN_CERT' --key '$ENVTEST_ADMIN_KEY' '$ENVTEST_URL/readyz')\" = ok ]"
}
etcd_post() { curl -sf -X POST "$ENVTEST_ETCD/v3/$1" -d "$2"; }

# 1. SIGKILL while the specs change
gen_specs 4 >"$TMP/specs4.yaml"
kadm apply -n "$NS" -f "$TMP/specs4.yaml" >/dev/null 2>&1 &
applier=$!
sleep 0.3
kill_apiserver
wait $applier 2>/dev/null || true # an apply cut by the kill
sleep 2
start_apiserver
apply_specs 4 # whatever the cut apply did not get through
wait_for 120 "every status converges after the SIGKILL (lagging: \$(lagging))" converged 4

# 2. down again; etcd moves on and compacts: the controller's resourceVersion is gone
kill_apiserver
rev=$(etcd_post kv/put '{"key":"c2VsZmhlYWwtdGVzdA==","value":"eA=="}' | jq -r .header.revision)
[ -n "$rev" ] && [ "$rev" != null ] || fail "etcd's gateway did not answer (no revision)"
etcd_post kv/compaction "{\"revision\": $rev, \"physical\": true}" >/dev/null || fail "etcd compaction"
relists_before=$(grep -c 'relisting' "$TMP/run.log" || true)
start_apiserver
apply_specs 5 # made during the gap, before the controller's watch is back
wait_for 120 "every status converges after the compaction (lagging: \$(lagging))" converged 5
wait_for 30 "the controller relisted after a 410" sh -c "[ \$(grep -c relisting '$TMP/run.log') -gt $relists_before ]"

# 3. watches cut every 3-6 s
kill_apiserver
start_apiserver --min-request-timeout=3
for m in 6 7 8; do
    sleep 4
    apply_specs "$m"
    wait_for 120 "every status converges with watches cut every few seconds (maxSameIssue $m, lagging: \$(lagging))" converged "$m"
done

# no pile-up of threads, descriptors or connections
sleep 2
read -r t1 f1 s1 <<<"$(usage)"
echo "controller: threads $t0 -> $t1, fds $f0 -> $f1, sockets $s0 -> $s1; relists: $(grep -c relisting "$TMP/run.log")"
[ "$t1" -le $((t0 + 2)) ] || fail "threads piled up: $t0 -> $t1"
[ "$f1" -le $((f0 + 8)) ] || fail "file descriptors piled up: $f0 -> $f1 ($(ls -l /proc/$CTL/fd | tail -5))"
[ "$s1" -le $((s0 + 6)) ] || fail "connections piled up: $s0 -> $s1"
kill -0 "$CTL" || fail "the controller died"
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || fail "the controller is not healthy"
echo "PASS test_kube_apiserver_restart"
