#!/usr/bin/env bash
# bench/dashboard/run.sh — does the live event stream slow the controller?
# N pipelines (default 200) probe a flapping local server every second, so
# conditions change and events flow; reconcile latency (from
# selfheal_reconcile_duration_seconds, all reconcilers) and reconciles/s are
# measured over a window without websocket clients, then over the same
# window with C clients (default 100) on /api/v1/events.
#   N=200 C=100 SECONDS_MEASURED=15 bench/dashboard/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${N:-200}
c=${C:-100}
window=${SECONDS_MEASURED:-15}
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-dashboard.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
port_of() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

"$root/bin/flaky_server" --port 0 --port-file "$work/server.port" --mode flap --flap-period 1500ms \
    >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/server.port" ] && break; sleep 0.1; done
sport=$(cat "$work/server.port")
mkdir -p "$work/specs"
for i in $(seq 1 "$n"); do
    printf -- '---\napiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\nmetadata: {name: svc-%d}\nspec:\n  service:\n    healthCheck: {url: "http://127.0.0.1:%s/health", interval: 1s, timeout: 1s, failureThreshold: 1}\n' "$i" "$sport"
done >"$work/specs/pipelines.yaml"
cport=$(port_of)
"$root/bin/selfheal" run --specs "$work/specs" --state "$work/state" --listen "127.0.0.1:$cport" --log-level warn \
    >"$work/controller.log" 2>&1 &
pids+=($!)
metrics() { curl -fsS "http://127.0.0.1:$cport/metrics"; }
for _ in $(seq 100); do metrics >/dev/null 2>&1 && break; sleep 0.1; done
sleep 5 # warm-up: every pipeline reconciled and probing

measure() { # measure LABEL: one window, printed as a report line
    local m0 m1 s0 s1
    m0=$(metrics); s0=$(date +%s%N)
    sleep "$window"
    m1=$(metrics); s1=$(date +%s%N)
    /usr/bin/python3 - "$1" "$s0" "$s1" <<PY
import re, sys
label, s0, s1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
m0, m1 = """$m0""", """$m1"""
def buckets(text):
    agg = {}
    for labels, v in re.findall(r'^selfheal_reconcile_duration_seconds_bucket\{([^}]*)\} ([0-9.e+-]+)$', text, re.M):
        le = re.search(r'le="([^"]+)"', labels).group(1)
        k = float("inf") if le == "+Inf" else float(le)
        agg[k] = agg.get(k, 0.0) + float(v)
    return agg
b0, b1 = buckets(m0), buckets(m1)
delta = sorted((le, c - b0.get(le, 0.0)) for le, c in b1.items())
total = delta[-1][1] if delta else 0
wall = (s1 - s0) / 1e9
def pct(q):
    target, prev_le, prev_c = q * total, 0.0, 0.0
    for le, c in delta:
        if c >= target and total > 0:
            if le == float("inf"):
                return "> %gs" % prev_le
            frac = (target - prev_c) / (c - prev_c) if c > prev_c else 1
            return "%.2f ms" % ((prev_le + (le - prev_le) * frac) * 1000)
        prev_le, prev_c = le, c
    return "-"
print(f"  {label:<22} reconciles/s {total / wall:7.1f}   latency p50 {pct(0.5)}, p90 {pct(0.9)}, p99 {pct(0.99)}")
PY
}

echo "dashboard event stream: $n pipelines probing a flapping server (1 s interval), ${window} s windows"
measure "no websocket clients"
node --experimental-websocket "$root/bench/dashboard/clients.js" "ws://127.0.0.1:$cport/api/v1/events" \
    "$c" $((window + 3)) >"$work/clients.json" 2>/dev/null &
cl=$!
pids+=($cl)
sleep 2 # connected
measure "$c websocket clients"
wait "$cl" || true
/usr/bin/python3 - "$work/clients.json" "$window" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"  clients: no report ({e})"); sys.exit(0)
per = r["messages"] / max(r["opened"], 1)
print(f"  clients: {r['opened']}/{r['clients']} connected, {r['messages']} events delivered "
      f"({per:.0f} per client), {r['closedEarly']} closed early {r['closeReasons'] or ''}")
PY
