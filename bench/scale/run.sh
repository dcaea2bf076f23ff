#!/usr/bin/env bash
# bench/scale/run.sh — a lean controller at scale (issue 15 items 5 and 6):
# N local pipelines (default 10,000), one spec file each, every one a model
# metric read from a file source every 30 s. Starts `selfheal run` on them and
# reports: the time from start until every pipeline is Healthy (the
# selfheal_pipelines{phase="Healthy"} gauge, polled every 50 ms, then checked
# against every status file) and the controller's CPU time until then (the
# wall time moves with the machine's load; the CPU time much less), peak and
# steady RSS (VmHWM / VmRSS), idle CPU
# (utime+stime from /proc over IDLE seconds, default 30: one metric
# interval, after convergence), then EDITS
# spec edits of random pipelines, half in place and half written to a temp
# file and renamed over the spec (as editors do); each raises the generation,
# and its latency is from the write to the pipeline's status file showing
# that generation (polled every 1 ms: a stat, and a parse when the file was
# replaced).
#   N=10000 IDLE=30 EDITS=100 KEEP=1 (keep the temp folder) bench/scale/run.sh
#   SELFHEAL=/path/to/other/selfheal bench/scale/run.sh   (compare two builds)
#   RUN_ARGS="--workers 4" bench/scale/run.sh             (more flags for `selfheal run`)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${N:-10000}
idle=${IDLE:-30}
edits=${EDITS:-100}
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-scale.XXXXXX")
ctl=
trap '[ -n "$ctl" ] && kill "$ctl" 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$work/specs" "$work/metrics"
/usr/bin/python3 - "$work" "$n" <<'PY'
import sys
work, n = sys.argv[1], int(sys.argv[2])
for m in range(100):  # 100 metric files, each read by n/100 pipelines
    with open(f"{work}/metrics/m{m}.json", "w") as f:
        f.write('{"accuracy": 0.%d}\n' % (80 + m % 20))
for i in range(n):
    with open(f"{work}/specs/p{i}.yaml", "w") as f:
        f.write(f"""apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata:
  name: p{i}
  labels: {{app: bench}}
spec:
  model:
    metric:
      name: accuracy
      source:
        file: {{path: {work}/metrics/m{i % 100}.json, jsonPointer: /accuracy}}
      interval: 30s
    minAccuracy: 0.70
""")
PY
start=$(date +%s%N)
"${SELFHEAL:-$root/bin/selfheal}" run --specs "$work/specs" --listen "127.0.0.1:$port" --allow-path "$work" \
    --log-level warn ${RUN_ARGS:-} >"$work/controller.log" 2>&1 &
ctl=$!
/usr/bin/python3 - "$work" "$n" "$ctl" "$port" "$start" "$idle" "$edits" <<'PY'
import json, os, random, re, sys, time, urllib.request
work, n, ctl, port, start, idle, edits = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
state = f"{work}/specs/.selfheal/pipelines/default"
hz = os.sysconf("SC_CLK_TCK")
def fail(msg):
    sys.exit(f"bench scale: {msg} (see {work}/controller.log)")
def healthy_count():
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return -1
    m = re.search(r'^selfheal_pipelines\{phase="Healthy"\} ([0-9.e+]+)$', text, re.M)
    return int(float(m.group(1))) if m else 0
def proc_status():
    with open(f"/proc/{ctl}/status") as f:
        return {l.split(":")[0]: l.split(":")[1].strip() for l in f}
def cpu_split():
    with open(f"/proc/{ctl}/stat") as f:
        st = f.read().rsplit(")", 1)[1].split()
    return int(st[11]), int(st[12])  # utime, stime
def cpu_ticks():
    return sum(cpu_split())
def status(name):
    try:
        with open(f"{state}/{name}.json") as f:
            return json.load(f).get("status", {})
    except (OSError, ValueError):
        return None
def mib(kb):
    return int(kb.split()[0]) / 1024
# 1. convergence
while True:
    c = healthy_count()
    if c >= n:
        break
    if (time.time_ns() - start) / 1e9 > 120:
        fail(f"only {c} of {n} pipelines Healthy after 120 s")
    time.sleep(0.05)
converged = (time.time_ns() - start) / 1e9
conv_user, conv_sys = (t / hz for t in cpu_split())
st = proc_status()
bad = [i for i in range(n) if (status(f"p{i}") or {}).get("phase") != "Healthy"]
if bad:
    fail(f"{len(bad)} status files not Healthy, e.g. p{bad[0]}")
rss_conv = mib(st["VmRSS"])
# 2. idle
t0, w0 = cpu_ticks(), time.monotonic()
time.sleep(idle)
t1, w1 = cpu_ticks(), time.monotonic()
cpu = (t1 - t0) / hz / (w1 - w0)
st = proc_status()
print(f"scale: {n} pipelines (file metric source, 30 s interval), {os.cpu_count()} cores")
print(f"  all Healthy after        {converged:.2f} s (every status file checked); "
      f"controller CPU until then {conv_user + conv_sys:.2f} s (user {conv_user:.2f}, "
      f"sys {conv_sys:.2f}); load average {os.getloadavg()[0]:.1f}")
print(f"  RSS                      peak {mib(st['VmHWM']):.1f} MiB, at convergence {rss_conv:.1f} MiB, "
      f"after {idle} s idle {mib(st['VmRSS']):.1f} MiB; threads {st['Threads']}")
print(f"  idle CPU                 {cpu * 100:.2f}% of one core over {w1 - w0:.0f} s")
# 3. edits
rng = random.Random(15)
lat = {"in place": [], "rename": []}
for e in range(edits):
    i = rng.randrange(n)
    name = f"p{i}"
    before = status(name)
    gen = before["observedGeneration"]
    path = f"{work}/specs/{name}.yaml"
    with open(path) as f:
        text = f.read()
    old = re.search(r"minAccuracy: ([0-9.]+)", text).group(1)
    thr = f"{0.5 + (e % 40) / 100:.3f}"  # a new threshold: a new generation
    if float(thr) == float(old):
        thr = f"{float(thr) + 0.005:.3f}"
    text = text.replace(f"minAccuracy: {old}", f"minAccuracy: {thr}")
    mode = "in place" if e % 2 == 0 else "rename"
    t0 = time.monotonic()
    if mode == "in place":
        with open(path, "w") as f:
            f.write(text)
    else:
        tmp = f"{work}/specs/.{name}.yaml.tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, path)
    seen = None
    while True:
        # parse the status file only when it was replaced (a stat is cheap:
        # the poller must not take the CPU the controller needs)
        try:
            ino = os.stat(f"{state}/{name}.json").st_ino
        except OSError:
            ino = None
        s = status(name) if ino != seen else None
        seen = ino
        if s and s.get("observedGeneration", 0) > gen:
            break
        if time.monotonic() - t0 > 10:
            fail(f"edit {e} of {name} not in status after 10 s")
        time.sleep(0.001)
    lat[mode].append(time.monotonic() - t0)
    if s.get("observedGeneration") != gen + 1:
        fail(f"edit {e} of {name}: generation {s.get('observedGeneration')}, expected {gen + 1}")
    time.sleep(rng.uniform(0.05, 0.15))
def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000
def line(label, xs):
    print(f"  {label:<24} p50 {pct(xs, .5):.1f} ms, p90 {pct(xs, .9):.1f} ms, "
          f"p99 {pct(xs, .99):.1f} ms, max {max(xs) * 1000:.1f} ms ({len(xs)} edits)")
print("  edit -> status shows it")
line("in place", lat["in place"])
line("temp file + rename", lat["rename"])
line("all", lat["in place"] + lat["rename"])
st = proc_status()
print(f"  RSS after edits          {mib(st['VmRSS']):.1f} MiB (peak {mib(st['VmHWM']):.1f} MiB)")
PY
