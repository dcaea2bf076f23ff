#!/usr/bin/env bash
# The controller under every API fault at once (issue 10, fault injection):
# 100 pipelines against the API emulator while watches are cut after a few
# events, requests are answered 500 / 429 (Retry-After) / 409, some responses
# stall (latency spikes), metadata is bumped behind the controller's back (real
# 409s on its status patches), the watch history is compacted (410 relist), and
# the API server goes away for 30 s: first answering 503, then refusing
# connections. Specs and the model metric change before, during and after the
# outage, and some pipelines are deleted and recreated behind a watch gap.
# With the knobs off, every pipeline converges on its final spec and
# metric (observedGeneration == generation, Ready, ModelValid naming its own
# final threshold, status.model.metric the last value: no status update lost),
# and the controller's open fds, threads and connections to the API come back
# to what they were before the chaos (no pile-up).
source "$(dirname "$0")/lib/common.sh"
PY=/usr/bin/python3
N=${KUBE_CHAOS_PIPELINES:-100}
DOWN_503=${KUBE_CHAOS_DOWN_503:-15}       # seconds of 503s, then
DOWN_REFUSE=${KUBE_CHAOS_DOWN_REFUSE:-15} # seconds of connection refused: 30 s without an API
R=10 # p1..pR: never changed, but deleted and recreated identical behind a watch gap
RANGE_ALL=1-$N RANGE_R=1-$R RANGE_CHG=$((R + 1))-$N
H="$PY $SH_ROOT/tests/integration/lib/kube_chaos.py"
t_start=$(date +%s)
# on failure, the controller's last words; KUBE_CHAOS_LOGS=DIR keeps every log
on_exit() {
    local rc=$?
    if [ $rc -ne 0 ] && [ -f "$TMP/ctl.log" ]; then
        echo "--- controller log (tail)" >&2
        tail -15 "$TMP/ctl.log" >&2
    fi
    if [ -n "${KUBE_CHAOS_LOGS:-}" ]; then
        mkdir -p "$KUBE_CHAOS_LOGS" && cp "$TMP"/*.log "$TMP"/*.out "$TMP"/*.err "$KUBE_CHAOS_LOGS"/ 2>/dev/null
    fi
    cleanup
}
trap on_exit EXIT
elapsed() { echo $(($(date +%s) - t_start)); }

# the model metric the pipelines read, from a local HTTP server: metrics.json
# changes during the test, fixed.json (read by p1..pR) does not
mkdir -p "$TMP/www"
set_metric() { echo "{\"accuracy\": $1}" >"$TMP/www/m.tmp" && mv "$TMP/www/m.tmp" "$TMP/www/metrics.json"; }
set_metric 0.9
echo '{"accuracy": 0.8}' >"$TMP/www/fixed.json"
mport=$(free_port)
(cd "$TMP/www" && exec "$PY" -m http.server "$mport" --bind 127.0.0.1 >"$TMP/www.log" 2>&1) &
track $!
wait_for 10 "metric server" curl -fsS "http://127.0.0.1:$mport/metrics.json"

kc=$TMP/kubeconfig
"$PY" "$SH_ROOT/tests/kube/emulator.py" --port 0 --port-file "$TMP/port" --kubeconfig-out "$kc" \
    --token t0 --seed 10 --crd "$SH_ROOT/crd/selfhealingpipelines.selfheal.dev.yaml" \
    >"$TMP/emu.out" 2>"$TMP/emu.err" &
track $!
wait_for 10 "emulator" test -s "$TMP/port"
url=$(head -1 "$TMP/emu.out")
eport=$(cat "$TMP/port")
faults() { curl -fsS -X POST "$url/_emulator/faults" -d "$1" >/dev/null; }

$H create "$url" t0 $RANGE_R "http://127.0.0.1:$mport/fixed.json" 0.7
$H create "$url" t0 $RANGE_CHG "http://127.0.0.1:$mport/metrics.json" 0.7

port=$(free_port)
"$SELFHEAL" run --kubeconfig "$kc" --listen "127.0.0.1:$port" --workers 4 >"$TMP/ctl.log" 2>&1 &
ctl=$!
track $ctl
# converged BASE METRIC: p1..pR on their one spec and metric, the others on BASE and METRIC
converged() {
    $H check "$url" t0 $RANGE_R 0.7 0.8 >"$TMP/check.out" 2>&1 &&
        $H check "$url" t0 $RANGE_CHG "$1" "$2" >"$TMP/check.out" 2>&1
}
wait_converged() { # wait_converged SECONDS WHEN BASE METRIC
    local deadline=$(($(date +%s) + $1))
    until converged "$3" "$4"; do
        [ "$(date +%s)" -lt $deadline ] || fail "not all $N pipelines converged $2 within $1 s: $(cat "$TMP/check.out")"
        sleep 0.2
    done
}
wait_converged 30 "before the chaos" 0.7 0.9

# Resource counts: the least of three samples half a second apart, so a metric
# fetch or an API call in flight at the moment of a sample is not counted.
resources() { # prints "FDS THREADS CONNS"
    local best="" s
    for _ in 1 2 3; do
        s=$($H resources $ctl "$eport")
        if [ -z "$best" ]; then best=$s; else
            best=$(paste -d' ' <(echo "$best") <(echo "$s") |
                awk '{print ($1<$4?$1:$4), ($2<$5?$2:$5), ($3<$6?$3:$6)}')
        fi
        sleep 0.5
    done
    echo "$best"
}
sleep 1
read -r fd0 th0 co0 <<<"$(resources)"
echo "before the chaos: $fd0 fds, $th0 threads, $co0 connections to the API ($(elapsed) s)"
curl -fsS -X POST "$url/_emulator/stats" -d '{"reset": true}' >/dev/null

# --- chaos, part 1: every knob, spec round 1, metadata bumps, a new metric
faults '{"drop_watch_after": 5, "error_rate": 0.15, "error_codes": [500, 429, 409], "retry_after": 1,
         "error_watches": true, "latency_spike_rate": 0.05, "latency_spike_ms": 400}'
$H bump "$url" t0 $RANGE_ALL "$TMP/stop-bump" >"$TMP/bump.out" 2>&1 &
bumper=$!
track $bumper
$H spec "$url" t0 $RANGE_CHG 0.6
set_metric 0.91
sleep 4

# --- the API goes away for 30 s: 503s, then connections refused. The metric
# changes meanwhile, so every pipeline has a status update to make that cannot
# be written until the API is back.
faults "{\"down_seconds\": $DOWN_503, \"down_mode\": \"503\"}"
set_metric 0.92
sleep "$DOWN_503"
faults "{\"down_seconds\": $DOWN_REFUSE, \"down_mode\": \"refuse\"}"
refused() { ! curl -sS -o /dev/null "$url/version" 2>/dev/null; }
wait_for 5 "the API port refusing connections" refused
sleep $((DOWN_REFUSE - 2))
wait_for 20 "the API back after the outage" curl -fsS -o /dev/null "$url/_emulator/faults"
echo "outage over ($(elapsed) s)"

# --- chaos, part 2 (knobs still on): p1..pR deleted and created anew, the
# same as before, while the controller's watch is still backing off from the
# outage (its backoff has grown to 12.8 s, then 25.6 s, by now); then the
# history is compacted, so the watch's resume gets 410 and relists: the
# controller does not see those deletions, only objects with new uids, no
# status, and a spec and metric that give the status the old ones had (each
# must get it written all the same; the log says "pipeline recreated"). The
# final spec round for the others, and the final metric.
$H recreate "$url" t0 $RANGE_R "http://127.0.0.1:$mport/fixed.json" 0.7
curl -fsS -X POST "$url/_emulator/compact" >/dev/null
$H spec "$url" t0 $RANGE_CHG 0.5
set_metric 0.93
sleep 4
touch "$TMP/stop-bump"
wait "$bumper" || fail "the bump loop failed: $(cat "$TMP/bump.out")"
stats=$(curl -fsS "$url/_emulator/stats")
faults '{"reset": true}'
echo "chaos over ($(elapsed) s): $stats"

# the chaos really happened
for code in 500 429 409; do
    [ "$(jq --arg c $code '.injected_by_code[$c] // 0' <<<"$stats")" -gt 0 ] || fail "no $code injected: $stats"
done
for k in watches_dropped latency_spikes conflicts; do
    [ "$(jq ".$k" <<<"$stats")" -gt 0 ] || fail "no $k: $stats"
done
grep -q "503 Service Unavailable" "$TMP/ctl.log" || fail "the controller never saw the 503 outage"
grep -Eq "Couldn't connect|Connection refused|Failed to connect" "$TMP/ctl.log" ||
    fail "the controller never saw a refused connection"

# --- afterwards: everything converges on the final spec and metric
kill -0 $ctl 2>/dev/null || fail "the controller died: $(tail -20 "$TMP/ctl.log")"
wait_converged 60 "after the chaos" 0.5 0.93
echo "converged after the chaos ($(elapsed) s)"
gens=$(curl -fsS -H "Authorization: Bearer t0" "$url/apis/selfheal.dev/v1alpha1/selfhealingpipelines" |
    jq -c '[.items[].metadata.generation] | group_by(.) | map([.[0], length])')
assert_eq "$gens" "[[1,$R],[3,$((N - R))]]" \
    "generations (p1..pR recreated: 1; the others created, then two spec rounds: 3)"

# --- no pile-up. Threads are a fixed set (workers, informer, resync, HTTP
# server): +1 for a transient one. Connections to the API: at most the client's
# pool of idle keep-alive handles (POOL_MAX 8 in controller/kube/client.c)
# plus the watch may stay open, and the pool may hold more idle handles after
# a burst than at rest; anything proportional to the thousands of failed calls
# would be far above that. Fds: the same 8 plus the 4 workers' transient
# metric fetches.
sleep 2
read -r fd1 th1 co1 <<<"$(resources)"
echo "after the chaos: $fd1 fds, $th1 threads, $co1 connections to the API ($(elapsed) s)"
[ "$th1" -le $((th0 + 1)) ] || fail "threads piled up: $th0 before, $th1 after"
[ "$co1" -le $((co0 + 8)) ] || fail "connections to the API piled up: $co0 before, $co1 after"
[ "$fd1" -le $((fd0 + 12)) ] || fail "open fds piled up: $fd0 before, $fd1 after"
[ "$co1" -ge 1 ] || fail "no connection to the API at all after the chaos (the watch is gone?)"
# nor of queued work: every key waits for its next metric check (3 s), so the
# ready queue is short (the least of three scrapes; 100 keys every 3 s)
metric() { curl -fsS "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print int($2)}'; }
depth=$(for _ in 1 2 3; do metric selfheal_workqueue_depth; sleep 0.3; done | sort -n | head -1)
[ "${depth:-999}" -le 10 ] || fail "work queue depth $depth after convergence"
echo "ok ($(elapsed) s; fds $fd0 -> $fd1, threads $th0 -> $th1, API connections $co0 -> $co1," \
    "queue depth $depth, $(metric selfheal_workqueue_retries_total) retries)"
