#!/usr/bin/env bash
# bench/mttr/run.sh — healing in a blink: `selfheal run` supervises
# bin/flaky_server (method process, probes every 200 ms); the service is
# SIGKILLed N times (default 10), each time once it is healthy again and
# past its startup. Reports the controller's own MTTR (status
# lastRecoverySeconds: process exit seen → first healthy probe after the
# restart) and the time from the kill to the status saying ServiceHealthy
# True, measured outside (polling the status file every 5 ms).
#   N=10 INTERVAL=200ms bench/mttr/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${N:-10}
interval=${INTERVAL:-200ms}
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-mttr.XXXXXX")
ctl=
trap '[ -n "$ctl" ] && kill "$ctl" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$work/specs"
cat >"$work/specs/svc.yaml" <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: svc}
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:$port/health", interval: $interval, timeout: 150ms, failureThreshold: 2}
    recovery:
      method: process
      maxAttempts: 1000
      backoff: 1s
      resetAfter: 300ms # each kill is a first attempt: no backoff
      process:
        command: ["$root/bin/flaky_server", "--port", "$port"]
YAML
cd "$work"
"$root/bin/selfheal" run --specs "$work/specs" --state "$work/state" --listen 127.0.0.1:0 \
    --log-level warn >"$work/controller.log" 2>&1 &
ctl=$!
/usr/bin/python3 - "$work/state/pipelines/default/svc.json" "$ctl" "$port" "$n" <<'PY'
import json, os, signal, sys, time
path, ctl, port, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def doc():
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
def healthy(d):
    for c in (d or {}).get("status", {}).get("conditions", []):
        if c.get("type") == "ServiceHealthy":
            return c.get("status") == "True"
    return False
def child():
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if int(st[1]) == ctl and port.encode() in cmd:
            return int(pid)
    return None
def wait(pred, limit=20.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        v = pred()
        if v:
            return v
        time.sleep(0.005)
    sys.exit("bench mttr: timed out (see controller.log)")
wait(lambda: healthy(doc()))
mttrs, walls = [], []
for i in range(n):
    time.sleep(0.6)  # healthy past resetAfter: the next kill is a first attempt
    pid = wait(child)
    incidents = doc()["status"]["service"].get("incidents", 0)
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    d = wait(lambda: (lambda d: d if d and d["status"]["service"].get("incidents", 0) > incidents
                      and healthy(d) else None)(doc()))
    walls.append(time.monotonic() - t0)
    mttrs.append(d["status"]["service"]["lastRecoverySeconds"])
def fmt(xs):
    xs = sorted(xs)
    return "median %.0f ms, max %.0f ms" % (xs[len(xs) // 2] * 1000, xs[-1] * 1000)
print(f"MTTR of a SIGKILLed supervised service, {n} kills, probes every {os.environ.get('INTERVAL', '200ms')}")
print(f"  controller MTTR (exit seen -> first healthy probe)  {fmt(mttrs)}")
print(f"  kill -> status ServiceHealthy True                  {fmt(walls)}")
PY
