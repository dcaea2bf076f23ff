#!/usr/bin/python3
# kube_chaos.py — helper of tests/integration/test_kube_chaos.sh: bulk writes of
# SelfHealingPipelines against the API emulator that keep retrying through the
# injected faults, the convergence check, and the controller's resource counts
# (open fds, threads, established TCP connections to the API port).
#
#   kube_chaos.py create URL TOKEN A-B METRIC_URL BASE    pipelines pA..pB, minAccuracy of pI BASE + I/1000
#   kube_chaos.py spec URL TOKEN A-B BASE                 patches the minAccuracy of pI to BASE + I/1000
#   kube_chaos.py recreate URL TOKEN A-B METRIC_URL BASE  deletes pA..pB and creates them anew
#   kube_chaos.py bump URL TOKEN A-B STOPFILE             label/annotation bumps until STOPFILE exists
#   kube_chaos.py check URL TOKEN A-B BASE METRIC         exit 0 when pA..pB show their final spec
#                                                         (BASE) and metric; else prints why not
#   kube_chaos.py resources PID PORT                      "FDS THREADS CONNS"
# Standard library only.
import http.client
import json
import os
import sys
import time
import urllib.parse

GROUP_PATH = "/apis/selfheal.dev/v1alpha1/namespaces/default/selfhealingpipelines"


class Api:
    def __init__(self, url, token):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.token = u.hostname, u.port, token
        self.conn = None

    def call(self, method, path, body=None, ctype="application/json"):
        """(code, parsed body) or (0, error text) on a transport error (connection refused, cut)."""
        h = {"Authorization": "Bearer " + self.token, "Accept": "application/json",
             "User-Agent": "selfheal-chaos-test/1"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = ctype
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            self.conn.request(method, path, data, h)
            r = self.conn.getresponse()
            raw = r.read()
            try:
                return r.status, json.loads(raw) if raw else None
            except ValueError:
                return r.status, raw.decode(errors="replace")
        except (OSError, http.client.HTTPException) as e:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return 0, str(e)

    def until_ok(self, method, path, body=None, ctype="application/json", ok=(200, 201), tries=200):
        """The test's own writes meet the injected faults too: retry them (no Retry-After wait:
        the test must not be slowed down, the controller is the one under test)."""
        code, out = 0, None
        for _ in range(tries):
            code, out = self.call(method, path, body, ctype)
            if code in ok:
                return out
            if code == 0:
                time.sleep(0.05)
        sys.exit("%s %s kept failing: %s %s" % (method, path, code, out))


def pipeline(i, metric_url, base):
    return {"apiVersion": "selfheal.dev/v1alpha1", "kind": "SelfHealingPipeline",
            "metadata": {"name": "p%d" % i, "labels": {"suite": "chaos"}},
            "spec": {"model": {"metric": {"source": {"http": {"url": metric_url, "jsonPointer": "/accuracy"}},
                                          "interval": "3s"},
                               "minAccuracy": threshold(base, i)}}}


def threshold(base, i):
    return round(base + i / 1000.0, 3)


def cmd_create(api, rng, metric_url, base):
    for i in rng:
        api.until_ok("POST", GROUP_PATH, pipeline(i, metric_url, base), ok=(201, 409))


def cmd_recreate(api, rng, metric_url, base):
    """Same names, new objects (new uids, generation 1, no status)."""
    for i in rng:
        old = api.until_ok("GET", "%s/p%d" % (GROUP_PATH, i))
        api.until_ok("DELETE", "%s/p%d" % (GROUP_PATH, i))
        new = api.until_ok("POST", GROUP_PATH, pipeline(i, metric_url, base), ok=(201,))
        if new["metadata"]["uid"] == old["metadata"]["uid"]:
            sys.exit("p%d: recreated with the same uid" % i)


def cmd_spec(api, rng, base):
    for i in rng:
        api.until_ok("PATCH", "%s/p%d" % (GROUP_PATH, i), {"spec": {"model": {"minAccuracy": threshold(base, i)}}},
                     ctype="application/merge-patch+json")


def cmd_bump(api, rng, stopfile):
    """Metadata-only writes (no new generation) racing the controller's status writes: its
    merge patches carry the resourceVersion it last saw, so these make them 409. Errors are
    ignored: this is background noise, not something the test needs to land."""
    rounds = 0
    while not os.path.exists(stopfile):
        rounds += 1
        for i in rng:
            if os.path.exists(stopfile):
                break
            api.call("PATCH", "%s/p%d" % (GROUP_PATH, i),
                     {"metadata": {"labels": {"bump": str(rounds)},
                                   "annotations": {"chaos.test/round": str(rounds)}}},
                     ctype="application/merge-patch+json")
            time.sleep(0.01)
    print(rounds)


def cmd_check(api, rng, base, metric):
    code, lst = api.call("GET", GROUP_PATH)
    if code != 200:
        print("list: %s %s" % (code, lst))
        return 1
    items = {o["metadata"]["name"]: o for o in lst.get("items", [])}
    bad = []
    for i in rng:
        o = items.get("p%d" % i)
        if o is None:
            bad.append("p%d: missing" % i)
            continue
        gen = o["metadata"].get("generation")
        st = o.get("status") or {}
        conds = {c.get("type"): c for c in st.get("conditions", [])}
        want = "≥ %.3f" % threshold(base, i)
        why = []
        if st.get("observedGeneration") != gen:
            why.append("observedGeneration %s != generation %s" % (st.get("observedGeneration"), gen))
        if st.get("phase") != "Healthy":
            why.append("phase %s" % st.get("phase"))
        for t in ("Ready", "ModelValid"):
            c = conds.get(t) or {}
            if c.get("status") != "True" or c.get("observedGeneration") != gen:
                why.append("%s %s (gen %s)" % (t, c.get("status"), c.get("observedGeneration")))
        msg = (conds.get("ModelValid") or {}).get("message", "")
        if want not in msg:
            why.append("ModelValid message %r lacks %r" % (msg, want))
        if (st.get("model") or {}).get("metric") != metric:
            why.append("status.model.metric %s != %s" % ((st.get("model") or {}).get("metric"), metric))
        if why:
            bad.append("p%d: %s" % (i, "; ".join(why)))
    if bad:
        print("%d of %d not converged, e.g.\n  %s" % (len(bad), len(rng), "\n  ".join(bad[:5])))
        return 1
    return 0


def cmd_resources(pid, port):
    fds = os.listdir("/proc/%d/fd" % pid)
    inodes = set()
    for fd in fds:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    threads = len(os.listdir("/proc/%d/task" % pid))
    conns = 0
    for table in ("/proc/%d/net/tcp" % pid, "/proc/%d/net/tcp6" % pid):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            # local remote state ... inode; state 01 is ESTABLISHED
            if f[3] == "01" and int(f[2].rsplit(":", 1)[1], 16) == port and f[9] in inodes:
                conns += 1
    print(len(fds), threads, conns)
    return 0


def main(argv):
    cmd = argv[1]
    if cmd == "resources":
        return cmd_resources(int(argv[2]), int(argv[3]))
    api = Api(argv[2], argv[3])
    a, _, b = argv[4].partition("-")
    n = range(int(a), int(b or a) + 1)
    if cmd == "create":
        return cmd_create(api, n, argv[5], float(argv[6]))
    if cmd == "spec":
        return cmd_spec(api, n, float(argv[5]))
    if cmd == "recreate":
        return cmd_recreate(api, n, argv[5], float(argv[6]))
    if cmd == "bump":
        return cmd_bump(api, n, argv[5])
    if cmd == "check":
        return cmd_check(api, n, float(argv[5]), float(argv[6]))
    sys.exit("kube_chaos.py: unknown command %s" % cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv) or 0)
