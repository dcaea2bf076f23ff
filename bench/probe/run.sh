#!/usr/bin/env bash
# bench/probe/run.sh — probe throughput: N pipelines (default 1000) probing a
# local HTTP server every second through the controller's libcurl-multi
# prober. Reports probes per second, the controller's CPU share (utime+stime
# from /proc over the measuring window) and the probe latency percentiles
# from selfheal_probe_duration_seconds.
#   N=1000 SECONDS_MEASURED=20 bench/probe/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${N:-1000}
window=${SECONDS_MEASURED:-20}
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-probe.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
port_of() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

"$root/bin/flaky_server" --port 0 --port-file "$work/server.port" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/server.port" ] && break; sleep 0.1; done
sport=$(cat "$work/server.port")
mkdir -p "$work/specs"
for i in $(seq 1 "$n"); do
    printf -- '---\napiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\nmetadata: {name: svc-%d}\nspec:\n  service:\n    healthCheck: {url: "http://127.0.0.1:%s/health", interval: 1s, timeout: 1s}\n' "$i" "$sport"
done >"$work/specs/pipelines.yaml"
cport=$(port_of)
"$root/bin/selfheal" run --specs "$work/specs" --state "$work/state" --listen "127.0.0.1:$cport" --log-level warn \
    >"$work/controller.log" 2>&1 &
ctl=$!
pids+=($ctl)
metrics() { curl -fsS "http://127.0.0.1:$cport/metrics"; }
for _ in $(seq 100); do metrics >/dev/null 2>&1 && break; sleep 0.1; done
sleep 5 # warm-up: every target scheduled
ticks() { awk '{print $14 + $15}' "/proc/$ctl/stat"; }
hz=$(getconf CLK_TCK)
m0=$(metrics); t0=$(ticks); s0=$(date +%s%N)
sleep "$window"
m1=$(metrics); t1=$(ticks); s1=$(date +%s%N)
/usr/bin/python3 - "$n" "$hz" "$t0" "$t1" "$s0" "$s1" <<PY
import re, sys
n, hz, t0, t1, s0, s1 = int(sys.argv[1]), int(sys.argv[2]), *map(int, sys.argv[3:7])
m0, m1 = """$m0""", """$m1"""
def val(text, name):
    m = re.search(r"^%s(?:\{\})? ([0-9.e+-]+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else 0.0
def buckets(text):
    out = []
    for le, v in re.findall(r'^selfheal_probe_duration_seconds_bucket\{le="([^"]+)"\} ([0-9.e+-]+)$', text, re.M):
        out.append((float("inf") if le == "+Inf" else float(le), float(v)))
    return sorted(out)
wall = (s1 - s0) / 1e9
probes = val(m1, "selfheal_probes_total") - val(m0, "selfheal_probes_total")
fails = val(m1, "selfheal_probe_failures_total") - val(m0, "selfheal_probe_failures_total")
cpu = (t1 - t0) / hz / wall
b0, b1 = dict(buckets(m0)), buckets(m1)
delta = [(le, c - b0.get(le, 0)) for le, c in b1]
total = delta[-1][1] if delta else 0
def pct(q):
    target, prev_le, prev_c = q * total, 0.0, 0.0
    for le, c in delta:
        if c >= target:
            if le == float("inf"):
                return "> %gs" % prev_le
            frac = (target - prev_c) / (c - prev_c) if c > prev_c else 1
            return "%.1f ms" % ((prev_le + (le - prev_le) * frac) * 1000)
        prev_le, prev_c = le, c
    return "-"
print(f"probe throughput: {n} pipelines, 1 s interval, {wall:.1f} s measured")
print(f"  probes/s        {probes / wall:.0f} (expected {n}); failures {fails:.0f}")
print(f"  controller CPU  {cpu * 100:.1f}% of one core")
print(f"  latency         p50 {pct(0.5)}, p90 {pct(0.9)}, p99 {pct(0.99)} (bucket-interpolated)")
PY
