#!/usr/bin/env bash
# bench/kube_scale/run.sh — 1,000 pipelines on a real API server (issue 19,
# §3): a control plane of its own (tests/envtest/controlplane.sh: etcd,
# kube-apiserver, kube-controller-manager v1.32), N pipelines (default 1000)
# each health-checking a local HTTP server (bin/flaky_server) every 10 s, and
# one controller under a ServiceAccount token bound to manifests/rbac.yaml.
# Reports: the time from the controller's start until every status is written
# (observedGeneration = generation, phase Healthy) and the API requests it
# made meanwhile; then, at idle over IDLE_SECONDS (default 60), its API
# requests per second by verb and resource from the API server's audit log
# (writes should be zero), its CPU share, and its RSS (VmRSS, VmHWM).
#   N=1000 IDLE_SECONDS=60 LEADER_ELECT=0 bench/kube_scale/run.sh
# LEADER_ELECT=1 runs it with --leader-elect (the Lease renewal, an update
# every 2 s, is then the one write at idle). Nothing here is asserted.
source "$(dirname "$0")/../../tests/integration/lib/common.sh"
source "$SH_ROOT/tests/integration/lib/envtest.sh"
n=${N:-1000}
idle=${IDLE_SECONDS:-60}
le=${LEADER_ELECT:-0}
[ -x "$SELFHEAL" ] && [ -x "$SH_ROOT/bin/flaky_server" ] || fail "build first: make all"
command -v kubectl >/dev/null && command -v jq >/dev/null || fail "kubectl and jq are needed"

unset SH_ENVTEST_DIR # a control plane of its own: nothing else on it
envtest_up
envtest_namespace scale
envtest_controller_kubeconfig "$NS" "$TMP/ctl.kubeconfig"

"$SH_ROOT/bin/flaky_server" --port 0 --port-file "$TMP/server.port" >/dev/null 2>&1 &
track $!
wait_for 10 "the health server" test -s "$TMP/server.port"
url=http://127.0.0.1:$(cat "$TMP/server.port")/health
for ((i = 0; i < n; i++)); do
    printf -- '---\napiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\nmetadata: {name: svc-%04d}\nspec:\n  service:\n    healthCheck: {url: "%s", interval: 10s, timeout: 2s}\n' "$i" "$url"
done >"$TMP/pipelines.yaml"
t0=$(date +%s%N)
kadm apply --server-side -n "$NS" -f "$TMP/pipelines.yaml" >"$TMP/apply.log" 2>&1 || fail "apply: $(tail -3 "$TMP/apply.log")"
apply_ms=$((($(date +%s%N) - t0) / 1000000))

shps() { kapi "/apis/selfheal.dev/v1alpha1/namespaces/$NS/selfhealingpipelines"; }
converged() {
    [ "$(shps | jq --argjson n "$n" '[.items[] | select(.status.observedGeneration == .metadata.generation
        and .status.phase == "Healthy")] | length == $n')" = true ]
}
# the controller's requests in the audit log from line FROM on: "count verb resource[/subresource]"
requests_since() {
    tail -n +"$1" "$ENVTEST_AUDIT" | jq -r --arg u "$SA_USER" 'select(.user.username == $u and .stage == "ResponseComplete")
        | "\(.verb) \(.objectRef.resource // "-")\(if .objectRef.subresource then "/" + .objectRef.subresource else "" end)"' |
        sort | uniq -c | sort -rn
}
audit_lines() { sleep 1.2; wc -l <"$ENVTEST_AUDIT"; } # after the audit log's batch (1 s)

port=$(free_port)
flags=()
[ "$le" = 1 ] && flags=(--leader-elect --leader-elect-namespace "$NS")
a0=$(audit_lines)
t0=$(date +%s%N)
(cd "$TMP" && exec "$SELFHEAL" run --kubeconfig "$TMP/ctl.kubeconfig" --namespace "$NS" --listen "127.0.0.1:$port" \
    --log-level warn "${flags[@]}") >"$TMP/ctl.log" 2>&1 &
ctl=$!
track $ctl
deadline=$(($(date +%s) + 600))
until converged; do
    [ "$(date +%s)" -lt $deadline ] || fail "not converged after 600 s: $(tail -3 "$TMP/ctl.log")"
    kill -0 $ctl 2>/dev/null || fail "the controller exited: $(tail -5 "$TMP/ctl.log")"
    sleep 0.2
done
conv_ms=$((($(date +%s%N) - t0) / 1000000))
a1=$(audit_lines)
conv_requests=$(requests_since $((a0 + 1)))
rss_conv=$(awk '/^VmRSS:/ {print $2}' "/proc/$ctl/status")

sleep 5 # let the last Events and probes of the start settle
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$ctl/stat"; }
a2=$(audit_lines)
c0=$(ticks)
s0=$(date +%s%N)
sleep "$idle"
c1=$(ticks)
s1=$(date +%s%N)
a3=$(audit_lines)
wall=$(((s1 - s0) / 1000000))
idle_requests=$(head -n "$a3" "$ENVTEST_AUDIT" | tail -n +$((a2 + 1)) >"$TMP/idle.audit"; ENVTEST_AUDIT=$TMP/idle.audit requests_since 1)
idle_total=$(awk '{s += $1} END {print s + 0}' <<<"$idle_requests")
idle_writes=$(awk '$2 == "create" || $2 == "update" || $2 == "patch" || $2 == "delete" {s += $1} END {print s + 0}' <<<"$idle_requests")
read -r rss hwm threads < <(awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} /^Threads:/ {t = $2} END {print r, h, t}' "/proc/$ctl/status")
probes=$(curl -fsS "http://127.0.0.1:$port/metrics" | awk '/^selfheal_probes_total/ {s += $2} END {print s + 0}')

per_s() { awk -v c="$1" -v ms="$wall" 'BEGIN {printf "%.3f", c * 1000 / ms}'; }
echo "kube_scale: $n pipelines (health check every 10 s) on kube-apiserver v1.32 + etcd, $(nproc) cores$([ "$le" = 1 ] && echo ", --leader-elect")"
echo "  kubectl apply of the $n pipelines    $((apply_ms / 1000)).$(printf %03d $((apply_ms % 1000))) s"
echo "  converged (every status written)     $((conv_ms / 1000)).$(printf %03d $((conv_ms % 1000))) s after the controller's start"
echo "  API requests until then              $(awk '{s += $1} END {print s + 0}' <<<"$conv_requests"):"
sed 's/^ */      /' <<<"$conv_requests"
echo "  at idle over $((wall / 1000)) s: $idle_total requests ($(per_s "$idle_total")/s), writes $idle_writes ($(per_s "$idle_writes")/s)"
[ -z "$idle_requests" ] || sed 's/^ */      /' <<<"$idle_requests"
awk -v c0="$c0" -v c1="$c1" -v hz="$hz" -v ms="$wall" 'BEGIN {printf "  controller CPU at idle                %.1f%% of one core\n", (c1 - c0) / hz * 100000 / ms}'
echo "  controller RSS                        VmRSS $((rss / 1024)) MiB (at convergence $((rss_conv / 1024)) MiB), VmHWM $((hwm / 1024)) MiB, $threads threads"
echo "  probes so far                         $probes"
echo "  Events in the namespace by reason:"
kadm get events -n "$NS" -o json | jq -r '.items[] | "\(.reason) \(.count // 1)"' |
    awk '{c[$1] += $2} END {for (r in c) printf "      %6d %s\n", c[r], r}' | sort -rn
echo "  status writes per pipeline (from the audit log): $(tail -n +$((a0 + 1)) "$ENVTEST_AUDIT" | jq -r --arg u "$SA_USER" \
    'select(.user.username == $u and .stage == "ResponseComplete" and .objectRef.subresource == "status") | .objectRef.name' |
    sort | uniq -c | awk '{c[$1]++} END {for (k in c) printf "%s pipelines with %d, ", c[k], k}' | sed 's/, $//')"
