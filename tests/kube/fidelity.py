#!/usr/bin/env python3
# fidelity.py — the same client calls against two Kubernetes API servers (the
# emulator, tests/kube/emulator.py, and a real kube-apiserver), each answer
# reduced to what must not differ: status code, framing (Content-Length up to
# 1916 bytes, chunked from 2055; one final "\n"), Content-Type, Status bodies
# (kind, apiVersion, status, reason, code, message, details.kind/name/group,
# causes, key order), objects (generation, spec with defaults, status,
# key order), watch framing (chunked, one JSON event per chunk and per line)
# and the too-old resourceVersion answer. Stdlib only.
#
#   fidelity.py run --url URL --namespace NS [--ca CA] [--cert C --key K | --token T] > out.json
#   fidelity.py compare A.json B.json     prints each difference; exit 1 if any
import argparse
import copy
import json
import re
import socket
import ssl
import sys
import threading
import time
import urllib.parse

UA = "selfheal-fidelity/1"
GROUP = "selfheal.dev"
SHP_V = "selfheal.dev/v1alpha1"


class Target:
    def __init__(self, a):
        u = urllib.parse.urlparse(a.url)
        self.https = u.scheme == "https"
        self.host, self.port = u.hostname, u.port or (443 if self.https else 80)
        self.ctx = None
        if self.https:
            self.ctx = ssl.create_default_context(cafile=a.ca) if a.ca else ssl._create_unverified_context()
            self.ctx.set_alpn_protocols(["http/1.1"])
            self.ctx_nocert = ssl.create_default_context(cafile=a.ca) if a.ca else ssl._create_unverified_context()
            self.ctx_nocert.set_alpn_protocols(["http/1.1"])
            if a.cert:
                self.ctx.load_cert_chain(a.cert, a.key)
        self.token = a.token

    def connect(self, no_cert=False):
        s = socket.create_connection((self.host, self.port), timeout=30)
        if self.ctx:
            s = (self.ctx_nocert if no_cert else self.ctx).wrap_socket(s, server_hostname=self.host)
        return s

    def request(self, method, path, body=None, ctype="application/json", token=None, stream=None, no_cert=False):
        """One HTTP/1.1 exchange on a fresh connection, read by hand so that the
        framing stays visible. stream(chunk) is called for each chunk of a
        chunked body as it arrives; returning False stops reading."""
        s = self.connect(no_cert)
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        hdrs = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (self.host, self.port),
                "User-Agent: " + UA, "Accept: application/json", "Connection: close"]
        tok = token if token is not None else self.token
        if tok:
            hdrs.append("Authorization: Bearer " + tok)
        if body is not None:
            hdrs += ["Content-Type: " + ctype, "Content-Length: %d" % len(data)]
        s.sendall(("\r\n".join(hdrs) + "\r\n\r\n").encode() + data)
        f = s.makefile("rb")
        status = f.readline().decode().split(" ", 2)
        code = int(status[1])
        headers = {}
        while True:
            line = f.readline().decode().rstrip("\r\n")
            if not line:
                break
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        chunks = []
        chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        if chunked:
            while True:
                size_line = f.readline()
                if not size_line:
                    chunks.append(None)  # cut without the final zero chunk
                    break
                n = int(size_line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    f.readline()
                    break
                c = f.read(n)
                f.readline()
                chunks.append(c)
                if stream and stream(c) is False:
                    break
            raw = b"".join(c for c in chunks if c)
        else:
            raw = f.read(int(headers.get("content-length", "0")))
        s.close()
        return code, headers, raw, chunks if chunked else None


# ---------------------------------------------------------------------------------------------
# reducing answers to what must be the same

def keys_order(o):
    """The key order of a JSON object (raw), recursively for objects."""
    if isinstance(o, dict):
        return [[k, keys_order(v)] if isinstance(v, dict) else k for k, v in o.items()]
    return None


def framing(code, headers, raw, chunks):
    f = {"code": code, "content_type": headers.get("content-type", "")}
    if chunks is not None:
        f["framing"] = "chunked"
        ok = len(raw) >= 1917  # a small body would have had a Content-Length
    else:
        f["framing"] = "length"
        ok = len(raw) <= 2054 and int(headers.get("content-length", -1)) == len(raw)
    f["framing_ok"] = ok
    f["one_final_newline"] = raw.endswith(b"\n") and not raw.endswith(b"\n\n")
    return f


def norm_msg(m):
    # numbers that differ between servers: resourceVersions in "too old" answers
    return re.sub(r"\((\d+)\)", "(N)", m or "")


def status_view(o):
    d = o.get("details") or {}
    v = {"keys": keys_order(o)}
    for k in ("kind", "apiVersion", "status", "reason", "code"):
        v[k] = o.get(k)
    v["message"] = norm_msg(o.get("message"))
    causes = (o.get("details") or {}).get("causes")
    m = re.match(r'^(.* is invalid: )\[(.*)\]$', v["message"])
    if m and causes:
        # several causes: the real server's order follows Go map iteration (random); sort them
        parts = ["%s: %s" % (c.get("field"), c.get("message")) for c in causes]
        if m.group(2) == ", ".join(parts):
            v["message"] = m.group(1) + "[" + ", ".join(sorted(parts)) + "]"
    v["metadata"] = o.get("metadata")
    if "details" in o:
        v["details"] = {k: d.get(k) for k in ("kind", "name", "group") if k in d}
        v["details_keys"] = [k for k in d if k not in ("uid", "retryAfterSeconds")]
        if "causes" in d:
            v["causes"] = sorted(({k: c.get(k) for k in ("reason", "field", "message")} for c in d["causes"]),
                                 key=lambda c: (c.get("field") or "", c.get("message") or ""))
    return v


def object_view(o, fields=("spec", "status")):
    md = o.get("metadata", {})
    v = {"apiVersion": o.get("apiVersion"), "kind": o.get("kind"),
         "keys": [k for k in o], "name": md.get("name"), "namespace": md.get("namespace"),
         "generation": md.get("generation"), "labels": md.get("labels"),
         "has": sorted(k for k in ("uid", "resourceVersion", "creationTimestamp") if k in md),
         "managers": sorted("%s/%s/%s" % (m.get("manager"), m.get("operation"), m.get("subresource", ""))
                            for m in md.get("managedFields", []))}
    for f in fields:
        if f in o:
            v[f] = copy.deepcopy(o[f])
    return v


def answer(res, view=None):
    code, headers, raw, chunks = res
    a = framing(code, headers, raw, chunks)
    try:
        body = json.loads(raw)
    except ValueError:
        a["body"] = "<not JSON: %r>" % raw[:200]
        return a, None
    if body.get("kind") == "Status":
        a["status"] = status_view(body)
    elif view:
        a["object"] = view(body)
    return a, body


def ts(o):
    for k in ("lastTransitionTime", "renewTime", "acquireTime", "firstTimestamp", "lastTimestamp", "eventTime"):
        if isinstance(o, dict) and k in o:
            o[k] = "<time>"
    if isinstance(o, dict):
        for v in o.values():
            ts(v)
    elif isinstance(o, list):
        for v in o:
            ts(v)
    return o


# ---------------------------------------------------------------------------------------------
# the scenario

def run(a):
    t = Target(a)
    ns = a.namespace
    col = "/apis/selfheal.dev/v1alpha1/namespaces/%s/selfhealingpipelines" % ns
    out = {}

    def step(name, method, path, body=None, ctype="application/json", view=object_view, **kw):
        res = t.request(method, path, body, ctype, **kw)
        out[name], obj = answer(res, view)
        return obj

    def shp(name, spec):
        return {"apiVersion": SHP_V, "kind": "SelfHealingPipeline", "metadata": {"name": name}, "spec": spec}

    # create, AlreadyExists, get, NotFound, list
    created = step("create", "POST", col, shp("fid", {"escalation": {"maxSameIssue": 3},
                                                      "service": {"healthCheck": {"url": "http://x"}}}))
    step("create-again", "POST", col, shp("fid", {}))
    step("get", "GET", col + "/fid")
    step("get-missing", "GET", col + "/nope")
    lst = step("list", "GET", col, view=lambda o: {
        "kind": o.get("kind"), "apiVersion": o.get("apiVersion"), "keys": list(o),
        "metadata_keys": sorted(o.get("metadata", {})), "items": [object_view(i) for i in o.get("items", [])]})
    list_rv = lst["metadata"]["resourceVersion"]

    # a watch from the list's resourceVersion, read while the writes below happen
    watch = {"events": [], "chunks": [], "lines_ok": True}
    opened = threading.Event()

    def watcher():
        def on_chunk(c):
            opened.set()
            watch["chunks"].append(c)
            for line in c.split(b"\n")[:-1]:
                ev = json.loads(line)
                if ev["type"] != "BOOKMARK":
                    o = ev["object"]
                    watch["events"].append([ev["type"], o["metadata"]["name"], o["metadata"].get("generation"),
                                            (o.get("status") or {}).get("phase")])
                if ev["type"] == "DELETED" and ev["object"]["metadata"]["name"] == "fid":
                    return False
            return True
        try:
            watch["res"] = t.request("GET", col + "?watch=1&allowWatchBookmarks=true&resourceVersion=%s"
                                     "&timeoutSeconds=30" % list_rv, stream=on_chunk)
        finally:
            opened.set()
    wt = threading.Thread(target=watcher, daemon=True)
    wt.start()
    time.sleep(0.5)  # the watch is registered server-side (events after list_rv are replayed anyway)

    # merge patch of the spec (generation 2), of a label (no change), a no-op patch (same RV)
    mp = "application/merge-patch+json"
    step("patch-spec", "PATCH", col + "/fid", {"spec": {"escalation": {"maxSameIssue": 4}}}, mp)
    p2 = step("patch-label", "PATCH", col + "/fid", {"metadata": {"labels": {"team": "ml"}}}, mp)
    p3 = step("patch-noop", "PATCH", col + "/fid", {"metadata": {"labels": {"team": "ml"}}}, mp)
    out["noop-keeps-rv"] = p2["metadata"]["resourceVersion"] == p3["metadata"]["resourceVersion"]
    step("bad-patch", "PATCH", col + "/fid", b"{not json", mp)
    step("patch-unsupported-type", "PATCH", col + "/fid", {"spec": {}}, "text/plain")

    # the status subresource; status through the main resource is ignored
    st = {"status": {"observedGeneration": 2, "phase": "Healthy", "conditions": [
        {"type": "Ready", "status": "True", "reason": "Reconciled", "message": "ok",
         "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 2}]}}
    step("patch-status", "PATCH", col + "/fid/status", st, mp)
    step("patch-main-status", "PATCH", col + "/fid", {"status": {"phase": "Hacked"}}, mp)
    cur = step("get-after-status", "GET", col + "/fid")

    # PUT: current RV, stale RV (409), no RV
    body = dict(cur)
    body["spec"] = dict(cur["spec"], paused=True)
    put = step("put", "PUT", col + "/fid", body)
    stale = dict(put)
    stale["metadata"] = dict(put["metadata"], resourceVersion=created["metadata"]["resourceVersion"])
    step("put-stale", "PUT", col + "/fid", stale)
    norv = dict(put)
    norv["metadata"] = {k: v for k, v in put["metadata"].items() if k != "resourceVersion"}
    step("put-no-rv", "PUT", col + "/fid", norv)
    step("put-status-stale", "PUT", col + "/fid/status", stale)
    step("patch-dry-run", "PATCH", col + "/fid?dryRun=All", {"spec": {"paused": False}}, mp)
    out["patch-dry-run-kept"] = step("get-after-dry-run", "GET", col + "/fid")["spec"].get("paused")

    # invalid objects: schema (422), unknown field strictly (400), a name mismatch, no body
    step("create-invalid", "POST", col, shp("bad", {"model": {"minAccuracy": 1.5,
                                                              "metric": {"source": {"file": {"path": "/m"}}}}}))
    step("create-invalid-two", "POST", col, shp("bad2", {"escalation": {"maxSameIssue": 0},
                                                         "service": {"healthCheck": {"url": "ftp://x"}}}))
    step("create-unknown-strict", "POST", col + "?fieldValidation=Strict", shp("bad3", {"nope": 1}))
    step("create-bad-name", "POST", col, shp("Bad_Name", {}))
    step("create-not-json", "POST", col, b"{", "application/json")
    step("create-dry-run", "POST", col + "?dryRun=All", shp("dry", {}))
    step("get-dry-run", "GET", col + "/dry")

    # delete (Success Status), delete again (404); the watch then ends
    step("delete", "DELETE", col + "/fid", view=None)
    step("delete-missing", "DELETE", col + "/fid", view=None)
    wt.join(20)
    if "res" in watch:
        code, headers, raw, chunks = watch["res"]
        w = {"code": code, "content_type": headers.get("content-type"),
             "chunked": headers.get("transfer-encoding", "").lower() == "chunked",
             "content_length": "content-length" in headers}
        cs = [c for c in watch["chunks"] if c]
        w["every_chunk_one_event_line"] = all(c.endswith(b"\n") and c.count(b"\n") == 1 for c in cs)
        w["events"] = watch["events"]
        out["watch"] = w
    else:
        out["watch"] = {"error": "the watch did not end within 20 s"}

    # a watch from a resourceVersion long gone: 200, one ERROR event (410 Expired), end of stream
    code, headers, raw, chunks = t.request("GET", col + "?watch=1&resourceVersion=1&allowWatchBookmarks=true"
                                           "&timeoutSeconds=5")
    lines = raw.split(b"\n")
    w = {"code": code, "content_type": headers.get("content-type"),
         "chunked": chunks is not None, "cut": bool(chunks) and chunks[-1] is None,
         "lines": len(lines) - 1, "ends_with_newline": raw.endswith(b"\n")}
    try:
        ev = json.loads(lines[0])
        w["type"] = ev["type"]
        w["status"] = status_view(ev["object"])
    except (ValueError, KeyError, IndexError):
        w["raw"] = raw[:300].decode(errors="replace")
    out["watch-too-old"] = w
    code, headers, raw, chunks = t.request("GET", col + "?resourceVersion=1&resourceVersionMatch=Exact")
    out["list-exact-too-old"] = answer((code, headers, raw, chunks))[0]

    # Leases: create, update with the current RV, a stale one, without one; get missing
    lcol = "/apis/coordination.k8s.io/v1/namespaces/%s/leases" % ns
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "fid-leader"},
             "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
                      "acquireTime": "2026-01-01T00:00:00.000000Z", "renewTime": "2026-01-01T00:00:00.000000Z",
                      "leaseTransitions": 0}}
    lv = lambda o: ts(object_view(o, ("spec",)))  # noqa: E731
    l1 = step("lease-create", "POST", lcol, lease, view=lv)
    step("lease-create-again", "POST", lcol, lease, view=lv)
    upd = dict(l1)
    upd["spec"] = dict(l1["spec"], holderIdentity="b", leaseTransitions=1,
                       renewTime="2026-01-01T00:00:05.000000Z")
    step("lease-update", "PUT", lcol + "/fid-leader", upd, view=lv)
    step("lease-update-stale", "PUT", lcol + "/fid-leader", upd, view=lv)
    nr = dict(upd)
    nr["metadata"] = {k: v for k, v in upd["metadata"].items() if k != "resourceVersion"}
    nr["spec"] = dict(upd["spec"], holderIdentity="c")
    step("lease-update-no-rv", "PUT", lcol + "/fid-leader", nr, view=lv)
    step("lease-release", "PATCH", lcol + "/fid-leader", {"spec": {"holderIdentity": None}}, mp, view=lv)
    step("lease-get-missing", "GET", lcol + "/nope", view=lv)
    for i, bad_time in enumerate(["2026-01-01T00:00:00Z", "soon", "2026-01-01 00:00:00.000000Z",
                                  "2026-01-01T00:00:00.123Z"]):
        step("lease-bad-time-%d" % i, "POST", lcol, dict(lease, metadata={"name": "t%d" % i},
                                                         spec=dict(lease["spec"], renewTime=bad_time)), view=lv)
    step("lease-invalid", "POST", lcol, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                         "metadata": {"name": "bad"}, "spec": {"leaseDurationSeconds": -1}}, view=lv)

    # Events: core/v1 create, a duplicate, an invalid one; events.k8s.io/v1 invalid (no details.group)
    ecol = "/api/v1/namespaces/%s/events" % ns
    ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "fid.1", "namespace": ns},
          "involvedObject": {"apiVersion": SHP_V, "kind": "SelfHealingPipeline", "name": "fid", "namespace": ns},
          "reason": "Restarted", "message": "restarted", "type": "Normal", "count": 1,
          "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
          "source": {"component": "selfheal"}}
    evv = lambda o: ts(object_view(o, ("involvedObject", "reason", "message", "type", "count", "source")))  # noqa
    step("event-create", "POST", ecol, ev, view=evv)
    step("event-create-again", "POST", ecol, ev, view=evv)
    step("event-invalid", "POST", ecol, dict(ev, metadata={"name": "fid.2"}, type="Weird", reason=""), view=evv)
    step("event-wrong-namespace", "POST", ecol, dict(ev, metadata={"name": "fid.6"},
                                                    involvedObject=dict(ev["involvedObject"], namespace="other")),
         view=evv)
    step("event-eventtime-no-reporter", "POST", ecol, dict(ev, metadata={"name": "fid.7"},
                                                          eventTime="2026-01-01T00:00:00.000000Z"), view=evv)
    step("event-patch-count", "PATCH", ecol + "/fid.1", {"count": 2, "lastTimestamp": "2026-01-01T00:00:09Z"},
         mp, view=evv)
    ev1 = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "fid.4"},
           "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "selfheal.dev/controller",
           "reportingInstance": "selfheal-0", "action": "Restart", "reason": "Restarted", "type": "Normal",
           "regarding": {"apiVersion": SHP_V, "kind": "SelfHealingPipeline", "name": "fid", "namespace": ns},
           "note": "restarted"}
    step("eventsv1-create", "POST", "/apis/events.k8s.io/v1/namespaces/%s/events" % ns, ev1,
         view=lambda o: ts(object_view(o, ("regarding", "reason", "note", "type", "action", "reportingController",
                                           "reportingInstance", "deprecatedSource", "deprecatedCount"))))
    step("eventsv1-as-core", "GET", ecol + "/fid.4", view=evv)
    step("eventsv1-wrong-namespace", "POST", "/apis/events.k8s.io/v1/namespaces/%s/events" % ns,
         dict(ev1, metadata={"name": "fid.5"}, regarding=dict(ev1["regarding"], namespace="other"), type="Odd"),
         view=evv)
    step("eventsv1-invalid", "POST", "/apis/events.k8s.io/v1/namespaces/%s/events" % ns,
         {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "fid.3"}}, view=evv)

    # authentication: a wrong bearer token (no client certificate)
    if a.wrong_token_url:
        wa = argparse.Namespace(url=a.wrong_token_url, ca=a.ca, cert=None, key=None, token="wrong-token")
        res = Target(wa).request("GET", col)
        out["wrong-token"] = answer(res)[0]
    # authorization: a user with no rights at all (a ServiceAccount with no binding)
    if a.forbidden_token:
        for verb, method, path, body in (("list", "GET", col, None), ("get", "GET", col + "/x", None),
                                         ("create", "POST", col, shp("x", {})),
                                         ("patch-status", "PATCH", col + "/x/status", {"status": {}}),
                                         ("lease-update", "PUT", lcol + "/fid-leader", upd)):
            res = t.request(method, path, body, mp if method == "PATCH" else "application/json",
                            token=a.forbidden_token, no_cert=True)
            out["forbidden-" + verb] = answer(res)[0]
    # a namespace that does not exist
    step("create-in-missing-namespace", "POST",
         "/apis/selfheal.dev/v1alpha1/namespaces/no-such-ns-fid/selfhealingpipelines", shp("x", {}))
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


def flatten(o, p=""):
    if isinstance(o, dict):
        r = {}
        for k, v in o.items():
            r.update(flatten(v, p + "." + k if p else k))
        return r
    return {p: o}


def compare(a_file, b_file, names):
    a, b = json.load(open(a_file)), json.load(open(b_file))
    na, nb = names
    diffs = 0
    for step in sorted(set(a) | set(b)):
        if step not in a or step not in b:
            print("%s: only in %s" % (step, na if step in a else nb))
            diffs += 1
            continue
        fa, fb = flatten(a[step]), flatten(b[step])
        for k in sorted(set(fa) | set(fb)):
            if fa.get(k, "<absent>") != fb.get(k, "<absent>"):
                print("%s: %s\n    %s: %s\n    %s: %s" % (step, k, na, json.dumps(fa.get(k, "<absent>")),
                                                         nb, json.dumps(fb.get(k, "<absent>"))))
                diffs += 1
    print("%d difference(s)" % diffs)
    return 1 if diffs else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--url", required=True)
    r.add_argument("--namespace", required=True)
    r.add_argument("--ca")
    r.add_argument("--cert")
    r.add_argument("--key")
    r.add_argument("--token")
    r.add_argument("--forbidden-token", help="a token whose user may do nothing (403s)")
    r.add_argument("--wrong-token-url", help="ask this URL with a wrong bearer token (401)")
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--names", default="emulator,real")
    args = ap.parse_args()
    if args.cmd == "run":
        run(args)
        return 0
    return compare(args.a, args.b, args.names.split(","))


if __name__ == "__main__":
    sys.exit(main())
