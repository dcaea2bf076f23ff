#!/usr/bin/env python3
# emulator.py — a Kubernetes API server emulator for selfheal's tests (python3 standard library).
#
# Owns the HTTP side: routing, authentication, discovery, CRUD + watch handlers, the Table format,
# fault injection (dropped watches, 500/429/409 with Retry-After, latency and spikes, API outages) and the
# /_emulator control endpoints; plus the tiny built-in "controllers" (Deployment → ReplicaSets →
# Pods, Jobs, garbage collection). Wire formats come from kubewire.py, selectors/patches/
# managedFields from kubeobj.py, CR schema checks from schemacheck.py. Behaviour follows the
# transcripts recorded from kube-apiserver v1.32 in /work/shared/kube-golden (see README.md here).
import argparse
import base64
import bisect
import copy
import hashlib
import json
import os
import random
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kubeobj  # noqa: E402
import kubewire as kw  # noqa: E402
import miniyaml  # noqa: E402
import schemacheck  # noqa: E402

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
CR_VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
NAME_DESC = ("Name must be unique within a namespace. Is required when creating resources, although some resources "
             "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
             "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
             "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
PATCH_TYPES_CR = "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
PATCH_TYPES_BUILTIN = ("application/json-patch+json, application/merge-patch+json, "
                       "application/strategic-merge-patch+json, application/apply-patch+yaml")
FLOWSCHEMA_UID = "c930cbce-2a9f-4cec-9fe9-1a4e00c78df9"
PRIORITY_UID = "434bb136-629e-490c-a8fd-64959e174024"


class ApiError(Exception):
    def __init__(self, code, body, headers=None, pretty=False):
        super().__init__(body.get("message") if isinstance(body, dict) else str(body))
        self.code = code
        self.body = body
        self.headers = headers or []
        self.pretty = pretty


# ---------------------------------------------------------------------------------------------
# resource types


class RType:
    def __init__(self, group, version, plural, singular, kind, namespaced=True, short=(), categories=(),
                 status_sub=False, generation=False, builtin=True, type_name=None, require_rv=False,
                 storage=None, crd=None, columns=None):
        self.group, self.version, self.plural, self.singular, self.kind = group, version, plural, singular, kind
        self.namespaced = namespaced
        self.short = list(short)
        self.categories = list(categories)
        self.status_sub = status_sub
        self.generation = generation
        self.builtin = builtin
        self.type_name = type_name or kind
        self.require_rv = require_rv
        self.storage = storage or (group + "/" + plural)
        self.crd = crd
        self.columns = columns

    @property
    def api_version(self):
        return self.group + "/" + self.version if self.group else self.version

    @property
    def list_kind(self):
        return self.kind + "List"

    def schema(self):
        if not self.crd:
            return None
        for v in self.crd["spec"]["versions"]:
            if v["name"] == self.version:
                return (v.get("schema") or {}).get("openAPIV3Schema")
        return None

    def printer_columns(self):
        if self.crd:
            for v in self.crd["spec"]["versions"]:
                if v["name"] == self.version:
                    return v.get("additionalPrinterColumns") or []
        return []

    def storage_hash(self):
        h = hashlib.sha256(("%s/%s/%s" % (self.group, self.version, self.kind)).encode()).digest()
        return base64.b64encode(h[:8]).decode()


def _age(obj, now):
    t = kw.parse_time(obj.get("metadata", {}).get("creationTimestamp"))
    return kw.human_duration(now - t) if t else "<unknown>"


def _cols_namespace(o, now):
    return [o["metadata"]["name"], o.get("status", {}).get("phase", ""), _age(o, now)]


def _cols_event(o, now):
    last = o.get("lastTimestamp") or o.get("eventTime") or o["metadata"].get("creationTimestamp")
    t = kw.parse_time(last)
    io = o.get("involvedObject", {})
    return [kw.human_duration(now - t) if t else "<unknown>", o.get("type", ""), o.get("reason", ""),
            "%s/%s" % (io.get("kind", "").lower(), io.get("name", "")), o.get("message", "")]


def _cols_pod(o, now):
    st = o.get("status", {})
    n = len(o.get("spec", {}).get("containers", []))
    ready = sum(1 for c in st.get("containerStatuses", []) if c.get("ready"))
    restarts = sum(c.get("restartCount", 0) for c in st.get("containerStatuses", []))
    return [o["metadata"]["name"], "%d/%d" % (ready, n), st.get("phase", ""), restarts, _age(o, now)]


def _cols_deploy(o, now):
    st = o.get("status", {})
    return [o["metadata"]["name"], "%d/%d" % (st.get("readyReplicas", 0), o["spec"].get("replicas", 1)),
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0), _age(o, now)]


def _cols_rs(o, now):
    st = o.get("status", {})
    return [o["metadata"]["name"], o["spec"].get("replicas", 1), st.get("replicas", 0), st.get("readyReplicas", 0),
            _age(o, now)]


def _cols_job(o, now):
    st = o.get("status", {})
    conds = {c.get("type"): c.get("status") for c in st.get("conditions", [])}
    state = "Complete" if conds.get("Complete") == "True" else "Failed" if conds.get("Failed") == "True" \
        else "Running"
    return [o["metadata"]["name"], state, "%d/%d" % (st.get("succeeded", 0), o["spec"].get("completions", 1)),
            "", _age(o, now)]


def _cols_lease(o, now):
    return [o["metadata"]["name"], o.get("spec", {}).get("holderIdentity", ""), _age(o, now)]


def _cols_crd(o, now):
    return [o["metadata"]["name"], o["metadata"].get("creationTimestamp")]


def _cols_generic(o, now):
    return [o["metadata"]["name"], _age(o, now)]


BUILTIN_COLUMNS = {
    "Namespace": (["Name", "Status", "Age"], _cols_namespace),
    "Event": (["Last Seen", "Type", "Reason", "Object", "Message"], _cols_event),
    "Pod": (["Name", "Ready", "Status", "Restarts", "Age"], _cols_pod),
    "Deployment": (["Name", "Ready", "Up-to-date", "Available", "Age"], _cols_deploy),
    "ReplicaSet": (["Name", "Desired", "Current", "Ready", "Age"], _cols_rs),
    "Job": (["Name", "Status", "Completions", "Duration", "Age"], _cols_job),
    "Lease": (["Name", "Holder", "Age"], _cols_lease),
    "CustomResourceDefinition": (["Name", "Created At"], _cols_crd),
}


def builtin_types():
    return [
        RType("", "v1", "namespaces", "namespace", "Namespace", namespaced=False, short=["ns"], status_sub=True),
        RType("", "v1", "events", "event", "Event", short=["ev"], storage="events"),
        RType("", "v1", "pods", "pod", "Pod", short=["po"], categories=["all"], status_sub=True),
        RType("", "v1", "configmaps", "configmap", "ConfigMap", short=["cm"]),
        RType("", "v1", "secrets", "secret", "Secret"),
        RType("coordination.k8s.io", "v1", "leases", "lease", "Lease", require_rv=True),
        RType("apps", "v1", "deployments", "deployment", "Deployment", short=["deploy"], categories=["all"],
              status_sub=True, generation=True),
        RType("apps", "v1", "replicasets", "replicaset", "ReplicaSet", short=["rs"], categories=["all"],
              status_sub=True, generation=True),
        RType("batch", "v1", "jobs", "job", "Job", categories=["all"], status_sub=True, generation=True),
        RType("events.k8s.io", "v1", "events", "event", "Event", short=["ev"], storage="events",
              type_name="events.k8s.io/Event"),
        RType("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
              "CustomResourceDefinition", namespaced=False, short=["crd", "crds"], categories=["api-extensions"],
              status_sub=True, generation=True),
    ]


# ---------------------------------------------------------------------------------------------
# events.k8s.io <-> core/v1 Event

_EV_MAP = [("regarding", "involvedObject"), ("note", "message"), ("reportingController", "reportingComponent"),
           ("deprecatedSource", "source"), ("deprecatedFirstTimestamp", "firstTimestamp"),
           ("deprecatedLastTimestamp", "lastTimestamp"), ("deprecatedCount", "count")]


def event_to_core(o):
    o = dict(o)
    for new, old in _EV_MAP:
        if new in o:
            o[old] = o.pop(new)
    o["apiVersion"] = "v1"
    return o


def event_from_core(o):
    o = dict(o)
    for new, old in _EV_MAP:
        if old in o:
            o[new] = o.pop(old)
    o["apiVersion"] = "events.k8s.io/v1"
    return o


def event_view(o, rt):
    """The stored (core) event as seen through rt, with the server's always-present fields."""
    if rt.group == "events.k8s.io":
        v = event_from_core(o)
        v.setdefault("eventTime", None)
        v.setdefault("deprecatedSource", {})
        v.setdefault("deprecatedFirstTimestamp", None)
        v.setdefault("deprecatedLastTimestamp", None)
        for k in ("reportingController", "reportingInstance"):
            if v.get(k) == "":
                del v[k]
        return v
    v = dict(o)
    for k in ("reason", "message", "type", "action"):  # `json:",omitempty"` strings
        if v.get(k) == "":
            del v[k]
    if v.get("count") == 0:
        del v["count"]
    v.setdefault("source", {})
    v.setdefault("firstTimestamp", None)
    v.setdefault("lastTimestamp", None)
    v.setdefault("eventTime", None)
    v.setdefault("reportingComponent", "")
    v.setdefault("reportingInstance", "")
    return v


# ---------------------------------------------------------------------------------------------
# built-in defaults and validation


def _default_podspec(ps):
    for c in ps.get("containers", []) + ps.get("initContainers", []):
        for p in c.get("ports", []):
            p.setdefault("protocol", "TCP")
        c.setdefault("resources", {})
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        img = c.get("image", "")
        tagged = ":" in img.rsplit("/", 1)[-1] or "@" in img
        c.setdefault("imagePullPolicy", "IfNotPresent" if tagged and not img.endswith(":latest") else "Always")
    ps.setdefault("restartPolicy", "Always")
    ps.setdefault("terminationGracePeriodSeconds", 30)
    ps.setdefault("dnsPolicy", "ClusterFirst")
    ps.setdefault("securityContext", {})
    ps.setdefault("schedulerName", "default-scheduler")


def _default_template(t):
    t.setdefault("metadata", {})
    t["metadata"].setdefault("creationTimestamp", None)
    t.setdefault("spec", {})
    _default_podspec(t["spec"])


def apply_builtin_defaults(rt, obj):
    k = rt.type_name
    if k == "Deployment":
        sp = obj.setdefault("spec", {})
        sp.setdefault("replicas", 1)
        _default_template(sp.setdefault("template", {}))
        st = sp.setdefault("strategy", {})
        st.setdefault("type", "RollingUpdate")
        if st["type"] == "RollingUpdate":
            ru = st.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
        sp.setdefault("revisionHistoryLimit", 10)
        sp.setdefault("progressDeadlineSeconds", 600)
        obj.setdefault("status", {})
    elif k == "ReplicaSet":
        sp = obj.setdefault("spec", {})
        sp.setdefault("replicas", 1)
        _default_template(sp.setdefault("template", {}))
        obj.setdefault("status", {"replicas": 0})
    elif k == "Job":
        sp = obj.setdefault("spec", {})
        sp.setdefault("parallelism", 1)
        sp.setdefault("completions", 1)
        sp.setdefault("backoffLimit", 6)
        uid = obj["metadata"]["uid"]
        name = obj["metadata"]["name"]
        if not sp.get("manualSelector"):
            sp.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
            sp.setdefault("manualSelector", False)
        t = sp.setdefault("template", {})
        _default_template(t)
        lbl = t["metadata"].setdefault("labels", {})
        lbl.update({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
                    "controller-uid": uid, "job-name": name})
        t["metadata"]["labels"] = {x: lbl[x] for x in sorted(lbl)}
        sp.setdefault("completionMode", "NonIndexed")
        sp.setdefault("suspend", False)
        sp.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        obj.setdefault("status", {})
    elif k == "Pod":
        _default_podspec(obj.setdefault("spec", {}))
        obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
    elif k == "Namespace":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj.setdefault("status", {"phase": "Active"})
    elif k == "CustomResourceDefinition":
        sp = obj.setdefault("spec", {})
        sp.setdefault("conversion", {"strategy": "None"})
        names = sp.setdefault("names", {})
        if "kind" in names:
            names.setdefault("listKind", names["kind"] + "List")
        if "plural" in names:
            names.setdefault("singular", names.get("kind", "").lower())


def _micro_ok(v):
    import re
    return isinstance(v, str) and re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[-+]\d{2}:\d{2})$", v)


def builtin_decode_errors(rt, obj):
    """400-class decode problems (MicroTime layout)."""
    fields = []
    if rt.type_name == "Lease":
        sp = obj.get("spec") or {}
        fields = [("acquireTime", sp.get("acquireTime")), ("renewTime", sp.get("renewTime"))]
    elif rt.storage == "events":
        fields = [("eventTime", obj.get("eventTime"))]
    for _, v in fields:
        if v is not None and not _micro_ok(v):
            rest, elem = _go_time_parse_failure(str(v))
            return ('%s in version "%s" cannot be handled as a %s: parsing time "%s" as '
                    '"2006-01-02T15:04:05.000000Z07:00": cannot parse "%s" as "%s"'
                    % (rt.kind, rt.version, rt.kind, v, rest, elem))
    return None


def _go_time_parse_failure(v):
    """(the rest of v, the layout element) where Go's time.Parse of the MicroTime layout
    "2006-01-02T15:04:05.000000Z07:00" stops on v (a value _micro_ok refused)."""
    import re
    elems = [("2006", r"\d{4}"), ("-", "-"), ("01", r"\d{2}"), ("-", "-"), ("02", r"\d{2}"), ("T", "T"),
             ("15", r"\d{2}"), (":", ":"), ("04", r"\d{2}"), (":", ":"), ("05", r"\d{2}"),
             (".000000", r"\.\d{6}"), ("Z07:00", r"Z|[-+]\d{2}:\d{2}")]
    rest = v
    for elem, rx in elems:
        m = re.match(rx, rest)
        if not m:
            return rest, elem
        rest = rest[m.end():]
    return rest, ".000000"


def qualified_name_problems(v):
    """apimachinery's IsQualifiedName messages for the name part (prefix/name)."""
    import re
    name = v.split("/", 1)[1] if "/" in v else v
    probs = []
    if not name:
        probs.append("name part must be non-empty")
    elif len(name) > 63:
        probs.append("name part must be no more than 63 characters")
    if not re.fullmatch(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]", name):
        probs.append("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                     "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                     "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
    return probs


def event_validate(obj, core):
    """The causes of pkg/apis/core/validation ValidateEventCreate, in its order: the legacy
    checks for both APIs, then the strict ones of events.k8s.io/v1. obj is either form
    (core: involvedObject, reportingComponent; events.k8s.io: regarding, reportingController)."""
    causes = []

    def invalid(field, value, msg):
        causes.append({"reason": "FieldValueInvalid", "message": 'Invalid value: "%s": %s' % (value, msg),
                       "field": field})

    def required(field):
        causes.append({"reason": "FieldValueRequired", "message": "Required value", "field": field})
    ns = (obj.get("metadata") or {}).get("namespace") or ""
    reg = obj.get("regarding") or obj.get("involvedObject") or {}
    rns = reg.get("namespace", "")
    controller = obj.get("reportingController", obj.get("reportingComponent", ""))
    cfield = "reportingComponent" if core else "reportingController"
    if not obj.get("eventTime"):
        if (ns not in ("", "default")) if rns == "" else rns != ns:
            invalid("involvedObject.namespace", rns, "does not match event.namespace")
    else:
        if rns == "" and ns not in ("default", "kube-system"):
            invalid("involvedObject.namespace", rns, "does not match event.namespace")
        if not controller:
            required(cfield)
        for msg in qualified_name_problems(controller):
            invalid(cfield, controller, msg)
        if not obj.get("reportingInstance"):
            required("reportingInstance")
        if not obj.get("action"):
            required("action")
        if not obj.get("reason"):
            required("reason")
    if not core:
        if not obj.get("eventTime"):
            required("eventTime")
        t = obj.get("type", "")
        if t not in ("Normal", "Warning"):
            invalid("type", "", "has invalid value: %s" % t)
    return causes


def builtin_validate(rt, obj):
    causes = []
    if rt.type_name == "Lease":
        d = (obj.get("spec") or {}).get("leaseDurationSeconds")
        if d is not None and d <= 0:
            causes.append({"reason": "FieldValueInvalid", "message": "Invalid value: %d: must be greater than 0" % d,
                           "field": "spec.leaseDurationSeconds"})
    elif rt.type_name in ("Event", "events.k8s.io/Event"):
        causes += event_validate(obj, rt.type_name == "Event")
    elif rt.type_name == "Deployment":
        sp = obj.get("spec") or {}
        sel = (sp.get("selector") or {}).get("matchLabels")
        if not sel:
            causes.append({"reason": "FieldValueRequired", "message": "Required value", "field": "spec.selector"})
        else:
            tl = ((sp.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if any(tl.get(k) != v for k, v in sel.items()):
                causes.append({"reason": "FieldValueInvalid",
                               "message": "Invalid value: map[string]string%s: `selector` does not match template "
                                          "`labels`" % json.dumps(tl), "field": "spec.template.metadata.labels"})
        if not ((sp.get("template") or {}).get("spec") or {}).get("containers"):
            causes.append({"reason": "FieldValueRequired", "message": "Required value",
                           "field": "spec.template.spec.containers"})
    elif rt.type_name == "Job":
        if not (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers"):
            causes.append({"reason": "FieldValueRequired", "message": "Required value",
                           "field": "spec.template.spec.containers"})
    elif rt.type_name == "CustomResourceDefinition":
        sp = obj.get("spec") or {}
        names = sp.get("names") or {}
        want = "%s.%s" % (names.get("plural", ""), sp.get("group", ""))
        if obj["metadata"]["name"] != want:
            causes.append({"reason": "FieldValueInvalid",
                           "message": 'Invalid value: "%s": must be spec.names.plural+"."+spec.group'
                                      % obj["metadata"]["name"], "field": "metadata.name"})
        if not sp.get("versions"):
            causes.append({"reason": "FieldValueRequired", "message": "Required value", "field": "spec.versions"})
        if sp.get("scope") not in ("Namespaced", "Cluster"):
            causes.append({"reason": "FieldValueNotSupported",
                           "message": 'Unsupported value: "%s": supported values: "Cluster", "Namespaced"'
                                      % sp.get("scope", ""), "field": "spec.scope"})
    return causes


# ---------------------------------------------------------------------------------------------
# the store


class WatchEvent:
    __slots__ = ("rv", "storage", "ns", "type", "obj", "old")

    def __init__(self, rv, storage, ns, etype, obj, old):
        self.rv, self.storage, self.ns, self.type, self.obj, self.old = rv, storage, ns, etype, obj, old


class Store:
    def __init__(self, window=1000, first_rv=100):
        self.cond = threading.Condition()
        self.rv = first_rv
        self.objects = {}  # (storage, ns, name) -> obj
        self.log = []      # WatchEvent, ascending rv
        self.log_rvs = []
        self.window = window
        self.floor = first_rv  # oldest RV a watch may start from
        self.rng = random.Random()

    def next_rv(self):
        self.rv += 1
        return self.rv

    def record(self, rv, storage, ns, etype, obj, old):
        self.log.append(WatchEvent(rv, storage, ns, etype, copy.deepcopy(obj), old))
        self.log_rvs.append(rv)
        if len(self.log) > self.window:
            drop = len(self.log) - self.window
            self.floor = self.log[drop - 1].rv
            del self.log[:drop]
            del self.log_rvs[:drop]
        self.cond.notify_all()

    def compact(self):
        with self.cond:
            self.floor = self.rv
            self.log = []
            self.log_rvs = []

    def events_after(self, rv):
        i = bisect.bisect_right(self.log_rvs, rv)
        return self.log[i:]


# ---------------------------------------------------------------------------------------------
# the emulator (state + handlers, independent of HTTP)


class Faults:
    KEYS = {"drop_watch_after": 0, "error_rate": 0.0, "error_code": 500, "retry_after": 1, "error_methods": [],
            "error_path_contains": "", "error_watches": False, "latency_ms": 0, "down_mode": "503",
            "job_result": "", "job_seconds": 0.0, "error_codes": [], "latency_spike_rate": 0.0,
            "latency_spike_ms": 0}
    # injected 409s only make sense on writes that carry a resourceVersion precondition
    CONFLICT_METHODS = ("PUT", "PATCH")

    def __init__(self):
        self.reset()

    def reset(self):
        for k, v in self.KEYS.items():
            setattr(self, k, copy.deepcopy(v))
        self.down_until = 0.0

    def as_dict(self):
        d = {k: getattr(self, k) for k in self.KEYS}
        d["down_seconds"] = max(0.0, round(self.down_until - time.time(), 3))
        return d

    def update(self, d):
        for k, v in d.items():
            if k == "reset":
                if v:
                    self.reset()
            elif k == "down_seconds":
                self.down_until = time.time() + float(v) if v else 0.0
            elif k in self.KEYS:
                want = type(self.KEYS[k])
                if want is float:
                    v = float(v)
                elif want is int:
                    v = int(v)
                elif want is bool:
                    v = bool(v)
                elif want is list:
                    v = [x for x in (v if isinstance(v, list) else str(v).split(",") if v else []) if str(x).strip()]
                    if k == "error_codes":
                        v = [int(x) for x in v]
                        bad = [c for c in v if not 400 <= c <= 599]
                        if bad:
                            raise ValueError("error_codes: not an HTTP error status: %s" % bad)
                    else:
                        v = [str(x).strip().upper() for x in v]
                else:
                    v = str(v)
                setattr(self, k, v)
            else:
                raise ValueError("unknown fault knob %r (known: %s)" % (k, ", ".join(sorted(self.KEYS))))

    def is_down(self):
        return time.time() < self.down_until

    def codes_for(self, method):
        """The error codes an injected error of a `method` request may have (error_codes, else
        error_code); 409 only for PUT/PATCH. Empty: this request gets no injected error."""
        codes = self.error_codes or [self.error_code]
        return [c for c in codes if c != 409 or method in self.CONFLICT_METHODS]


class Emulator:
    def __init__(self, args):
        self.args = args
        self.store = Store(window=args.watch_window)
        self.types = {}      # (group, version, plural) -> RType
        for rt in builtin_types():
            self.types[(rt.group, rt.version, rt.plural)] = rt
        self.faults = Faults()
        self.rng = random.Random(args.seed)
        self.stats_lock = threading.Lock()
        self.reset_stats()
        self.reqlog = []
        self.reqseq = 0
        self.watch_epoch = 0
        self.tokens = set(args.token or [])
        self.forbidden_tokens = {}
        for t in args.forbidden_token or []:
            tok, _, user = t.partition("=")
            self.forbidden_tokens[tok] = user or "system:serviceaccount:default:noperms"
        with self.store.cond:
            for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
                obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                self._create_locked(self.types[("", "v1", "namespaces")], None, obj, "kube-apiserver", {}, [])

    # ---- stats
    def reset_stats(self):
        self.stats = {"requests": 0, "by_method": {}, "writes": 0, "injected_errors": 0, "watches_open": 0,
                      "watches_dropped": 0, "conflicts": 0, "requests_by_agent": {}, "writes_by_agent": {},
                      "injected_by_code": {}, "latency_spikes": 0}

    def count(self, key, n=1, sub=None):
        with self.stats_lock:
            if sub is None:
                self.stats[key] = self.stats.get(key, 0) + n
            else:
                d = self.stats.setdefault(key, {})
                d[sub] = d.get(sub, 0) + n

    def log_request(self, entry):
        with self.stats_lock:
            self.reqseq += 1
            entry["seq"] = self.reqseq
            self.reqlog.append(entry)
            if len(self.reqlog) > 10000:
                del self.reqlog[:len(self.reqlog) - 10000]

    # ---- types
    def find_type(self, group, version, plural):
        return self.types.get((group, version, plural))

    def group_versions(self):
        """{group: [versions]} for /apis (excluding core)."""
        out = {}
        for (g, v, _), rt in self.types.items():
            if g:
                out.setdefault(g, [])
                if v not in out[g]:
                    out[g].append(v)
        return out

    def register_crd(self, crd):
        sp = crd["spec"]
        names = sp["names"]
        for v in sp.get("versions", []):
            if not v.get("served", True):
                continue
            subs = v.get("subresources") or {}
            rt = RType(sp["group"], v["name"], names["plural"], names.get("singular", ""), names["kind"],
                       namespaced=sp.get("scope") == "Namespaced", short=names.get("shortNames", []),
                       categories=names.get("categories", []), status_sub="status" in subs, generation=True,
                       builtin=False, require_rv=True, storage=sp["group"] + "/" + names["plural"], crd=crd)
            self.types[(rt.group, rt.version, rt.plural)] = rt

    def unregister_crd(self, crd):
        sp = crd["spec"]
        for key in [k for k, rt in self.types.items()
                    if rt.crd is not None and rt.group == sp["group"] and rt.plural == sp["names"]["plural"]]:
            del self.types[key]

    # ---- object helpers
    def view(self, rt, obj, in_list=False):
        """The object as sent to a client of rt."""
        o = copy.deepcopy(obj)
        if rt.storage == "events":
            o = event_view(o, rt)
        o["apiVersion"] = rt.api_version
        o["kind"] = rt.kind
        if not rt.builtin:
            return kw.sort_keys(o)
        o = kw.order_builtin(o, rt.type_name)
        if in_list:
            o.pop("kind", None)
            o.pop("apiVersion", None)
        return o

    def manager_of(self, query, ua):
        fm = query.get("fieldManager")
        if fm:
            return fm
        return (ua or "unknown").split("/")[0] or "unknown"

    def _ns_exists(self, ns):
        return ("/namespaces", None, ns) in self.store.objects

    # ---- create
    def create(self, rt, ns, body, query, ua, warnings):
        obj = self.decode_body(rt, body)
        with self.store.cond:
            return self._create_locked(rt, ns, obj, self.manager_of(query, ua), query, warnings)

    def decode_body(self, rt, body):
        try:
            kw.go_json_check(body)
            obj = json.loads(body.decode("utf-8"))
        except (kw.GoJSONError, ValueError) as e:
            raise ApiError(400, kw.bad_request("the object provided is unrecognized (must be of type %s): couldn't "
                                               "get version/kind; json parse error: %s (%s)"
                                               % (rt.kind, e, body.decode("utf-8", "replace")[:1024])))
        if not isinstance(obj, dict):
            raise ApiError(400, kw.bad_request("the object provided is unrecognized (must be of type %s): couldn't "
                                               "get version/kind; json parse error: json: cannot unmarshal %s into "
                                               "Go value of type struct { APIVersion string \"json:\\\"apiVersion,"
                                               "omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }"
                                               % (rt.kind, type(obj).__name__)))
        if not obj.get("kind"):
            raise ApiError(400, kw.bad_request("Object 'Kind' is missing in '%s'" % body.decode("utf-8", "replace")))
        if obj.get("kind") != rt.kind or obj.get("apiVersion") != rt.api_version:
            raise ApiError(400, kw.bad_request("the API version in the data (%s) does not match the expected API "
                                               "version (%s)" % (obj.get("apiVersion"), rt.api_version)
                                               if obj.get("kind") == rt.kind else
                                               "%s in version \"%s\" cannot be handled as a %s: no kind \"%s\" is "
                                               "registered for version \"%s\" in scheme"
                                               % (rt.kind, rt.version, rt.kind, obj.get("kind"),
                                                  obj.get("apiVersion"))))
        if not isinstance(obj.get("metadata", {}), dict):
            raise ApiError(400, kw.bad_request("%s in version \"%s\" cannot be handled as a %s: json: cannot "
                                               "unmarshal into metadata" % (rt.kind, rt.version, rt.kind)))
        return obj

    def _prepare_cr(self, rt, obj, query, warnings, subresource=None):
        schema = rt.schema()
        if not schema:
            return
        removed = schemacheck.prune(schema, obj)
        if removed:
            if query.get("fieldValidation") == "Strict":
                raise ApiError(400, kw.bad_request('%s in version "%s" cannot be handled as a %s: strict decoding '
                                                   'error: %s' % (rt.kind, rt.version, rt.kind, ", ".join(
                                                       'unknown field "%s"' % r for r in removed))))
            if query.get("fieldValidation") != "Ignore":
                for r in removed:
                    warnings.append('unknown field "%s"' % r)
        schemacheck.apply_defaults(schema, obj)

    def _validate_cr(self, rt, obj, name, subresource=None):
        schema = rt.schema()
        causes = []
        if schema and subresource == "status":
            # the status strategy validates the status schema on its own: messages name the field
            # relative to status, the cause's field is the full path
            st_schema = (schema.get("properties") or {}).get("status") or {}
            if "status" in obj:
                for c in schemacheck.validate(st_schema, obj["status"], ""):
                    d = c.as_dict()
                    d["field"] = "status." + d["field"] if d["field"] else "status"
                    causes.append(d)
        elif schema:
            for c in schemacheck.validate(schema, {k: v for k, v in obj.items() if k != "metadata"}, ""):
                causes.append(c.as_dict())
        if causes:
            raise ApiError(422, kw.invalid(rt.kind, rt.group, name, causes))

    def _create_locked(self, rt, ns, obj, manager, query, warnings, operation="Update", status_ok=False):
        md = obj.setdefault("metadata", {})
        if rt.namespaced:
            if md.get("namespace") and md["namespace"] != ns:
                raise ApiError(400, kw.bad_request("the namespace of the provided object does not match the "
                                                   "namespace sent on the request"))
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        if not md.get("name"):
            if md.get("generateName"):
                for _ in range(10):
                    md["name"] = md["generateName"] + kubeobj.random_suffix(5, self.rng)
                    if (rt.storage, ns, md["name"]) not in self.store.objects:
                        break
            else:
                raise ApiError(422, kw.invalid(rt.kind, rt.group if not rt.builtin else rt.group, "", [
                    {"reason": "FieldValueRequired", "message": "Required value: name or generateName is required",
                     "field": "metadata.name"}]))
        name = md["name"]
        prob = kubeobj.name_problem(name, label=rt.plural == "namespaces")
        if prob:
            raise ApiError(422, kw.invalid(rt.kind, rt.group, name, [
                {"reason": "FieldValueInvalid", "message": 'Invalid value: "%s": %s' % (name, prob),
                 "field": "metadata.name"}]))
        if rt.namespaced and not self._ns_exists(ns):
            raise ApiError(404, kw.not_found("namespaces", "", ns))
        key = (rt.storage, ns if rt.namespaced else None, name)
        if key in self.store.objects:
            raise ApiError(409, kw.already_exists(rt.plural, rt.group, name))
        if rt.storage == "events" and rt.group == "events.k8s.io":
            causes = builtin_validate(rt, obj)
            if causes:
                raise ApiError(422, kw.invalid(rt.kind, "", name, causes))
            obj = event_to_core(obj)
            md = obj["metadata"]
        if rt.builtin:
            msg = builtin_decode_errors(rt, obj)
            if msg:
                raise ApiError(400, kw.bad_request(msg))
        now = time.time()
        for k in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                  "managedFields", "generation", "selfLink"):
            md.pop(k, None)
        md["uid"] = kw.new_uid()
        if rt.status_sub and not status_ok:
            obj.pop("status", None)
        if not rt.builtin:
            self._prepare_cr(rt, obj, query, warnings)
            self._validate_cr(rt, obj, name)
        else:
            apply_builtin_defaults(rt, obj)
            causes = builtin_validate(rt, obj)
            if causes:
                raise ApiError(422, kw.invalid(rt.kind, rt.group, name, causes))
        md["creationTimestamp"] = kw.rfc3339(now)
        if rt.generation:
            md["generation"] = 1
        api_version = rt.api_version
        mf_obj = obj if rt.storage != "events" or rt.group == "" else event_from_core(obj)
        md["managedFields"] = kubeobj.update_managed_fields(None, mf_obj, manager, operation, None, api_version,
                                                            kw.rfc3339(now), not rt.builtin, rt.status_sub)
        if not md["managedFields"]:
            del md["managedFields"]
        if rt.type_name == "CustomResourceDefinition":
            self._crd_status(obj)
        obj["apiVersion"] = rt.api_version if rt.storage != "events" else "v1"
        obj["kind"] = rt.kind
        if query.get("dryRun") == "All":
            # validated, defaulted and answered like a create, but not stored (and no resourceVersion)
            return 201, obj
        rv = self.store.next_rv()
        md["resourceVersion"] = str(rv)
        self.store.objects[key] = obj
        self.store.record(rv, rt.storage, key[1], "ADDED", obj, None)
        self.count("writes")
        if rt.type_name == "CustomResourceDefinition":
            self.register_crd(obj)
        self.after_write(rt, obj, None)
        return 201, obj

    def _crd_status(self, crd):
        t = kw.rfc3339()
        sp = crd["spec"]
        names = copy.deepcopy(sp["names"])
        crd["status"] = {"conditions": [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": t, "reason": "NoConflicts",
             "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": t, "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted"}],
            "acceptedNames": names,
            "storedVersions": [v["name"] for v in sp.get("versions", []) if v.get("storage")]}

    # ---- read
    def get(self, rt, ns, name):
        with self.store.cond:
            obj = self.store.objects.get((rt.storage, ns if rt.namespaced else None, name))
            if obj is None:
                raise ApiError(404, kw.not_found(rt.plural, rt.group, name))
            return copy.deepcopy(obj)

    def list(self, rt, ns, query):
        lsel, fsel = self.selectors(query)
        rvm = query.get("resourceVersionMatch")
        rvq = query.get("resourceVersion")
        if rvm and not rvq:
            raise ApiError(422, kw.status(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch:'
                                          ' Forbidden: resourceVersionMatch is forbidden unless resourceVersion is '
                                          'provided', {"group": "meta.k8s.io", "kind": "ListOptions", "causes": [
                                              {"reason": "FieldValueForbidden",
                                               "message": "Forbidden: resourceVersionMatch is forbidden unless "
                                                          "resourceVersion is provided",
                                               "field": "resourceVersionMatch"}]}))
        if rvq and rvq not in ("0",):
            try:
                want = int(rvq)
            except ValueError:
                raise ApiError(400, kw.bad_request("invalid resource version: %s" % rvq))
            deadline = time.time() + self.args.too_large_rv_wait
            with self.store.cond:
                while want > self.store.rv and time.time() < deadline:
                    self.store.cond.wait(0.1)
                if want > self.store.rv:
                    raise ApiError(504, kw.status(504, "Timeout", "Timeout: Too large resource version: %d, current: %d"
                                                  % (want, self.store.rv), {"causes": [
                                                      {"reason": "ResourceVersionTooLarge",
                                                       "message": "Too large resource version"}],
                                                      "retryAfterSeconds": 1}), headers=[("Retry-After", "1")])
            if rvm == "Exact" and want != self.store.rv:
                return want, []
        start = ""
        cont = query.get("continue")
        if cont:
            try:
                raw = base64.urlsafe_b64decode(cont + "=" * (-len(cont) % 4))
            except ValueError as e:
                raise ApiError(400, kw.bad_request("invalid continue token: continue key is not valid: %s" % e))
            try:
                kw.go_json_check(raw)
                tok = json.loads(raw.decode("utf-8"))
                start = tok["start"]
            except (kw.GoJSONError, ValueError, KeyError, TypeError) as e:
                raise ApiError(400, kw.bad_request("invalid continue token: continue key is not valid: %s" % e))
        with self.store.cond:
            items = []
            for (st, ons, name), obj in self.store.objects.items():
                if st != rt.storage:
                    continue
                if rt.namespaced and ns is not None and ons != ns:
                    continue
                if not kubeobj.labels_match(lsel, obj.get("metadata", {}).get("labels")):
                    continue
                if fsel and not kubeobj.fields_match(fsel, self._field_view(rt, obj)):
                    continue
                items.append(((ons or "") + "/" + name, obj))
            items.sort(key=lambda x: x[0])
            if start:
                items = [x for x in items if x[0] + "\x00" >= start]
            limit = int(query.get("limit") or 0)
            more = None
            if limit and len(items) > limit:
                more = items[limit][0]
                remaining = len(items) - limit
                items = items[:limit]
            rv = self.store.rv
            out = [copy.deepcopy(o) for _, o in items]
        meta = {}
        if more is not None:
            tok = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": more + "\x00"}, separators=(",", ":"))
            meta["continue"] = base64.urlsafe_b64encode(tok.encode()).decode().rstrip("=")
            meta["remainingItemCount"] = remaining
        return rv, out, meta

    def _field_view(self, rt, obj):
        return event_view(obj, rt) if rt.storage == "events" else obj

    def selectors(self, query):
        try:
            lsel = kubeobj.parse_label_selector(query.get("labelSelector", ""))
        except kubeobj.SelectorError as e:
            raise ApiError(400, kw.bad_request(str(e)))
        try:
            fsel = kubeobj.parse_field_selector(query.get("fieldSelector", ""))
        except kubeobj.SelectorError as e:
            raise ApiError(400, kw.bad_request(str(e)))
        return lsel, fsel

    # ---- update / patch
    def update(self, rt, ns, name, body, query, ua, subresource, warnings):
        obj = self.decode_body(rt, body)
        md = obj.get("metadata") or {}
        if md.get("name") and md["name"] != name:
            raise ApiError(400, kw.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                               % (md["name"], name)))
        with self.store.cond:
            key = (rt.storage, ns if rt.namespaced else None, name)
            old = self.store.objects.get(key)
            if old is None:
                raise ApiError(404, kw.not_found(rt.plural, rt.group, name))
            rv = md.get("resourceVersion")
            if not rv and rt.require_rv:
                raise ApiError(422, kw.invalid(rt.plural, rt.group, name, [
                    {"reason": "FieldValueInvalid", "message": "Invalid value: 0x0: must be specified for an update",
                     "field": "metadata.resourceVersion"}]))
            if rv and rv != old["metadata"]["resourceVersion"]:
                self.count("conflicts")
                raise ApiError(409, kw.conflict(rt.plural, rt.group, name))
            if rt.storage == "events" and rt.group == "events.k8s.io":
                obj = event_to_core(obj)
            return self._write_locked(rt, key, old, obj, self.manager_of(query, ua), subresource, query, warnings)

    def patch(self, rt, ns, name, body, ctype, query, ua, subresource, warnings):
        ctype = (ctype or "").split(";")[0].strip().lower()
        allowed = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
        if rt.builtin:
            allowed.append("application/strategic-merge-patch+json")
        if ctype not in allowed:
            raise ApiError(415, kw.status(415, "UnsupportedMediaType",
                                          "the body of the request was in an unknown format - accepted media types "
                                          "include: " + (PATCH_TYPES_BUILTIN if rt.builtin else PATCH_TYPES_CR)))
        if query.get("force") and ctype != "application/apply-patch+yaml":
            raise ApiError(422, kw.invalid("PatchOptions", "meta.k8s.io", "", [
                {"reason": "FieldValueForbidden", "message": "Forbidden: may not be specified for non-apply patch",
                 "field": "force"}]))
        if ctype == "application/apply-patch+yaml":
            if not query.get("fieldManager"):
                raise ApiError(422, kw.invalid("PatchOptions", "meta.k8s.io", "", [
                    {"reason": "FieldValueRequired",
                     "message": "Required value: is required for apply patch", "field": "fieldManager"}]))
            try:
                p = json.loads(body.decode("utf-8"))
            except ValueError:
                try:
                    p = miniyaml.load(body.decode("utf-8"))
                except (miniyaml.YAMLError, ValueError) as e:
                    raise ApiError(400, kw.bad_request("error decoding YAML: %s" % e))
        else:
            try:
                kw.go_json_check(body)
                p = json.loads(body.decode("utf-8"))
            except (kw.GoJSONError, ValueError) as e:
                raise ApiError(400, kw.bad_request("error decoding patch: %s" % e))
        manager = self.manager_of(query, ua)
        with self.store.cond:
            key = (rt.storage, ns if rt.namespaced else None, name)
            old = self.store.objects.get(key)
            if old is None:
                if ctype == "application/apply-patch+yaml" and subresource is None:
                    if not isinstance(p, dict):
                        raise ApiError(400, kw.bad_request("invalid apply patch"))
                    p.setdefault("metadata", {})["name"] = name
                    return self._create_locked(rt, ns, p, manager, query, warnings, operation="Apply")
                raise ApiError(404, kw.not_found(rt.plural, rt.group, name))
            base = copy.deepcopy(old)
            if rt.storage == "events" and rt.group == "events.k8s.io":
                base = event_from_core(base)
            base["apiVersion"] = rt.api_version
            try:
                if ctype == "application/merge-patch+json":
                    if not isinstance(p, dict):
                        raise kubeobj.PatchError("json: cannot unmarshal into object")
                    new = kubeobj.merge_patch(base, p)
                elif ctype == "application/strategic-merge-patch+json":
                    new = kubeobj.strategic_merge_patch(base, p)
                elif ctype == "application/json-patch+json":
                    new = kubeobj.json_patch(base, p)
                else:
                    new = kubeobj.merge_patch(base, p)
            except kubeobj.PatchError as e:
                raise ApiError(422 if ctype == "application/json-patch+json" else 400,
                               kw.status(422, "Invalid", str(e)) if ctype == "application/json-patch+json"
                               else kw.bad_request(str(e)))
            if not isinstance(new, dict):
                raise ApiError(400, kw.bad_request("patch produced a non-object"))
            prv = ((p.get("metadata") or {}).get("resourceVersion") if isinstance(p, dict) else None)
            if prv and prv != old["metadata"]["resourceVersion"]:
                self.count("conflicts")
                raise ApiError(409, kw.conflict(rt.plural, rt.group, name))
            new.setdefault("metadata", {})["resourceVersion"] = old["metadata"]["resourceVersion"]
            if rt.storage == "events" and rt.group == "events.k8s.io":
                new = event_to_core(new)
            op = "Apply" if ctype == "application/apply-patch+yaml" else "Update"
            return self._write_locked(rt, key, old, new, manager, subresource, query, warnings, operation=op)

    def _write_locked(self, rt, key, old, new, manager, subresource, query, warnings, operation="Update"):
        name = old["metadata"]["name"]
        if subresource == "status":
            merged = copy.deepcopy(old)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            new = merged
        else:
            nmd = new.setdefault("metadata", {})
            omd = old["metadata"]
            for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation",
                      "name", "namespace", "managedFields"):
                if k in omd:
                    nmd[k] = copy.deepcopy(omd[k])
                else:
                    nmd.pop(k, None)
            if rt.status_sub:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
        new["apiVersion"] = old["apiVersion"]
        new["kind"] = old["kind"]
        if not rt.builtin:
            self._prepare_cr(rt, new, query, warnings)
            self._validate_cr(rt, new, name, subresource)
        else:
            if rt.type_name != "events.k8s.io/Event":
                apply_builtin_defaults(rt, new)
            msg = builtin_decode_errors(rt, new)
            if msg:
                raise ApiError(400, kw.bad_request(msg))
            causes = builtin_validate(rt, new) if rt.storage != "events" else []
            if causes:
                raise ApiError(422, kw.invalid(rt.kind, rt.group, name, causes))

        def strip(o):
            o = copy.deepcopy(o)
            o["metadata"].pop("resourceVersion", None)
            o["metadata"].pop("managedFields", None)
            return o

        if strip(new) == strip(old):
            return 200, copy.deepcopy(old)
        if rt.generation and subresource != "status":
            def spec_part(o):
                return {k: v for k, v in o.items() if k not in ("metadata", "status", "apiVersion", "kind")}
            if spec_part(new) != spec_part(old):
                new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        now = kw.rfc3339()
        view_old = event_from_core(old) if rt.type_name == "events.k8s.io/Event" else old
        view_new = event_from_core(new) if rt.type_name == "events.k8s.io/Event" else new
        mfs = kubeobj.update_managed_fields(view_old, view_new, manager, operation, subresource, rt.api_version, now,
                                            not rt.builtin, rt.status_sub)
        if mfs:
            new["metadata"]["managedFields"] = mfs
        else:
            new["metadata"].pop("managedFields", None)
        md = new["metadata"]
        if md.get("deletionTimestamp") and not md.get("finalizers"):
            # the last finalizer is gone: the object goes away now
            rv = self.store.next_rv()
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = str(rv)
            del self.store.objects[key]
            self.store.record(rv, rt.storage, key[1], "DELETED", gone, old)
            self.count("writes")
            resp = copy.deepcopy(new)
            resp["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            self.after_delete(rt, gone, query)
            return 200, resp
        if query.get("dryRun") == "All":
            return 200, copy.deepcopy(new)  # not stored: the resourceVersion stays the old one
        rv = self.store.next_rv()
        md["resourceVersion"] = str(rv)
        self.store.objects[key] = new
        self.store.record(rv, rt.storage, key[1], "MODIFIED", new, old)
        self.count("writes")
        if rt.type_name == "CustomResourceDefinition":
            self.unregister_crd(old)
            self.register_crd(new)
        self.after_write(rt, new, old)
        return 200, copy.deepcopy(new)

    # ---- delete
    def delete(self, rt, ns, name, query, body):
        policy = query.get("propagationPolicy")
        if body:
            try:
                opts = json.loads(body.decode("utf-8"))
                policy = opts.get("propagationPolicy", policy)
                pre = (opts.get("preconditions") or {})
            except ValueError:
                raise ApiError(400, kw.bad_request("invalid DeleteOptions"))
        else:
            pre = {}
        with self.store.cond:
            key = (rt.storage, ns if rt.namespaced else None, name)
            old = self.store.objects.get(key)
            if old is None:
                raise ApiError(404, kw.not_found(rt.plural, rt.group, name))
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                self.count("conflicts")
                raise ApiError(409, kw.conflict(rt.plural, rt.group, name))
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise ApiError(409, kw.conflict(rt.plural, rt.group, name))
            return self._delete_locked(rt, key, old, policy)

    def _delete_locked(self, rt, key, old, policy):
        md = old["metadata"]
        if md.get("finalizers"):
            if md.get("deletionTimestamp"):
                return 200, copy.deepcopy(old)
            new = copy.deepcopy(old)
            new["metadata"]["deletionTimestamp"] = kw.rfc3339()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            if rt.generation:
                new["metadata"]["generation"] = md.get("generation", 1) + 1
            rv = self.store.next_rv()
            new["metadata"]["resourceVersion"] = str(rv)
            self.store.objects[key] = new
            self.store.record(rv, rt.storage, key[1], "MODIFIED", new, old)
            self.count("writes")
            return 200, copy.deepcopy(new)
        rv = self.store.next_rv()
        gone = copy.deepcopy(old)
        gone["metadata"]["resourceVersion"] = str(rv)
        del self.store.objects[key]
        self.store.record(rv, rt.storage, key[1], "DELETED", gone, old)
        self.count("writes")
        if policy != "Orphan":
            self.after_delete(rt, gone, {})
        details = {"name": md["name"]}
        if rt.group:
            details["group"] = rt.group
        details["kind"] = rt.plural
        details["uid"] = md["uid"]
        return 200, kw.status(200, None, None, details, success=True)

    def delete_collection(self, rt, ns, query):
        lsel, fsel = self.selectors(query)
        with self.store.cond:
            for (st, ons, name), obj in list(self.store.objects.items()):
                if st != rt.storage or (rt.namespaced and ns is not None and ons != ns):
                    continue
                if not kubeobj.labels_match(lsel, obj["metadata"].get("labels")):
                    continue
                if fsel and not kubeobj.fields_match(fsel, self._field_view(rt, obj)):
                    continue
                self._delete_locked(rt, (st, ons, name), obj, query.get("propagationPolicy"))
        return 200, kw.status(200, None, None, {}, success=True)

    def type_by_storage(self, storage):
        for rt in self.types.values():
            if rt.storage == storage and (rt.storage != "events" or rt.group == ""):
                return rt
        return None

    def after_delete(self, rt, gone, query):
        """Garbage collection: dependents of gone (by ownerReferences uid); namespace and CRD contents."""
        uid = gone["metadata"]["uid"]
        if rt.plural == "namespaces" and rt.group == "":
            for key, obj in list(self.store.objects.items()):
                if key[1] == gone["metadata"]["name"] and key in self.store.objects:
                    dep_rt = self.type_by_storage(key[0])
                    if dep_rt:
                        o = self.store.objects[key]
                        o["metadata"].pop("finalizers", None)
                        self._delete_locked(dep_rt, key, o, None)
        if rt.type_name == "CustomResourceDefinition":
            sp = gone["spec"]
            storage = sp["group"] + "/" + sp["names"]["plural"]
            crt = self.type_by_storage(storage)
            for key in [k for k in self.store.objects if k[0] == storage]:
                o = self.store.objects[key]
                o["metadata"].pop("finalizers", None)
                if crt:
                    self._delete_locked(crt, key, o, None)
            self.unregister_crd(gone)
        for key, obj in list(self.store.objects.items()):
            refs = obj.get("metadata", {}).get("ownerReferences") or []
            if any(r.get("uid") == uid for r in refs) and key in self.store.objects:
                rest = [r for r in refs if r.get("uid") != uid]
                dep_rt = self.type_by_storage(key[0])
                if dep_rt is None:
                    continue
                if rest:
                    continue
                self._delete_locked(dep_rt, key, obj, None)
        if rt.type_name == "Pod":
            self.reconcile_owner_of(gone)

    # ---- built-in controllers (run under the store lock, synchronously after a write)
    def after_write(self, rt, obj, old):
        if self.args.no_controllers:
            return
        if rt.type_name == "Deployment" and (old is None or old.get("spec") != obj.get("spec")):
            self.reconcile_deployment(obj)
        elif rt.type_name == "ReplicaSet" and (old is None or old.get("spec") != obj.get("spec")):
            self.reconcile_replicaset(obj)
        elif rt.type_name == "Job" and old is None:
            self.start_job(obj)

    def _ctl_write(self, storage, obj, old, subresource=None):
        rt = self.type_by_storage(storage)
        key = (storage, obj["metadata"].get("namespace"), obj["metadata"].get("name"))
        if old is None:
            return self._create_locked(rt, key[1], obj, "kube-controller-manager", {}, [], status_ok=True)[1]
        return self._write_locked(rt, key, old, obj, "kube-controller-manager", subresource, {}, [])[1]

    def reconcile_deployment(self, d):
        ns = d["metadata"]["namespace"]
        uid = d["metadata"]["uid"]
        sp = d["spec"]
        tmpl = copy.deepcopy(sp["template"])
        rss = [o for (st, ons, _), o in self.store.objects.items()
               if st == "apps/replicasets" and ons == ns and any(
                   r.get("uid") == uid for r in o["metadata"].get("ownerReferences", []))]

        def bare(t):
            t = copy.deepcopy(t)
            t.get("metadata", {}).get("labels", {}).pop("pod-template-hash", None)
            return t

        def rev(o):
            return int(o["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "0"))

        maxrev = max([rev(o) for o in rss] or [0])
        new_rs = next((o for o in rss if bare(o["spec"]["template"]) == tmpl), None)
        replicas = sp.get("replicas", 1)
        surge = sp.get("strategy", {}).get("rollingUpdate", {}).get("maxSurge", "25%")
        surge_n = -(-replicas * int(surge[:-1]) // 100) if isinstance(surge, str) and surge.endswith("%") \
            else int(surge) if isinstance(surge, int) else 1
        if new_rs is None:
            h = kubeobj.template_hash(tmpl)
            t = copy.deepcopy(tmpl)
            t["metadata"].setdefault("labels", {})["pod-template-hash"] = h
            sel = copy.deepcopy(sp.get("selector", {}))
            sel.setdefault("matchLabels", {})["pod-template-hash"] = h
            labels = dict(tmpl["metadata"].get("labels", {}))
            labels["pod-template-hash"] = h
            rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": "%s-%s" % (d["metadata"]["name"], h), "namespace": ns, "labels": labels,
                               "annotations": {"deployment.kubernetes.io/desired-replicas": str(replicas),
                                               "deployment.kubernetes.io/max-replicas": str(replicas + surge_n),
                                               "deployment.kubernetes.io/revision": str(maxrev + 1)},
                               "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                    "name": d["metadata"]["name"], "uid": uid, "controller": True,
                                                    "blockOwnerDeletion": True}]},
                  "spec": {"replicas": replicas, "selector": sel, "template": t}}
            new_rs = self._ctl_write("apps/replicasets", rs, None)
            created = True
        else:
            created = False
            changed = copy.deepcopy(new_rs)
            ann = changed["metadata"].setdefault("annotations", {})
            if rev(new_rs) != maxrev:
                hist = [x for x in ann.get("deployment.kubernetes.io/revision-history", "").split(",") if x]
                hist.append(str(rev(new_rs)))
                ann["deployment.kubernetes.io/revision-history"] = ",".join(hist)
                ann["deployment.kubernetes.io/revision"] = str(maxrev + 1)
            ann["deployment.kubernetes.io/desired-replicas"] = str(replicas)
            ann["deployment.kubernetes.io/max-replicas"] = str(replicas + surge_n)
            changed["spec"]["replicas"] = replicas
            if changed != new_rs:
                new_rs = self._ctl_write("apps/replicasets", changed, new_rs)
        for o in rss:
            if o["metadata"]["uid"] != new_rs["metadata"]["uid"] and o["spec"].get("replicas", 0) != 0:
                c = copy.deepcopy(o)
                c["spec"]["replicas"] = 0
                self._ctl_write("apps/replicasets", c, o)
        # the Deployment: revision annotation and status
        key = ("apps/deployments", ns, d["metadata"]["name"])
        cur = self.store.objects.get(key)
        if cur is None:
            return
        c = copy.deepcopy(cur)
        c["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = \
            new_rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        if c != cur:
            cur = self._ctl_write("apps/deployments", c, cur)
        self.update_deployment_status(cur, new_rs, created)

    def update_deployment_status(self, d, new_rs, created=False):
        ns = d["metadata"]["namespace"]
        uid = d["metadata"]["uid"]
        rss = [o for (st, ons, _), o in self.store.objects.items()
               if st == "apps/replicasets" and ons == ns and any(
                   r.get("uid") == uid for r in o["metadata"].get("ownerReferences", []))]
        total = sum(o.get("status", {}).get("replicas", 0) for o in rss)
        ready = sum(o.get("status", {}).get("readyReplicas", 0) for o in rss)
        updated = new_rs.get("status", {}).get("replicas", 0)
        want = d["spec"].get("replicas", 1)
        now = kw.rfc3339()
        old_st = d.get("status", {})
        conds = {c["type"]: c for c in old_st.get("conditions", [])}

        def cond(t, s, reason, msg):
            prev = conds.get(t)
            ltt = prev["lastTransitionTime"] if prev and prev["status"] == s else now
            lut = prev["lastUpdateTime"] if prev and prev["status"] == s and prev["reason"] == reason and \
                prev["message"] == msg else now
            return {"type": t, "status": s, "lastUpdateTime": lut, "lastTransitionTime": ltt, "reason": reason,
                    "message": msg}

        avail = ready >= want
        rsname = new_rs["metadata"]["name"]
        st = {"observedGeneration": d["metadata"].get("generation", 1), "replicas": total, "updatedReplicas": updated}
        if ready:
            st["readyReplicas"] = ready
            st["availableReplicas"] = ready
        if total - ready > 0:
            st["unavailableReplicas"] = total - ready
        done = avail and updated == want and total == want
        st["conditions"] = [
            cond("Available", "True" if avail else "False",
                 "MinimumReplicasAvailable" if avail else "MinimumReplicasUnavailable",
                 "Deployment has minimum availability." if avail else "Deployment does not have minimum availability."),
            cond("Progressing", "True", "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
                 ('ReplicaSet "%s" has successfully progressed.' if done else 'ReplicaSet "%s" is progressing.')
                 % rsname)]
        c = copy.deepcopy(d)
        c["status"] = st
        if c != d:
            self._ctl_write("apps/deployments", c, d, "status")

    def reconcile_replicaset(self, rs):
        ns = rs["metadata"]["namespace"]
        uid = rs["metadata"]["uid"]
        pods = [o for (st, ons, _), o in self.store.objects.items()
                if st == "/pods" and ons == ns and any(r.get("uid") == uid
                                                       for r in o["metadata"].get("ownerReferences", []))]
        want = rs["spec"].get("replicas", 1)
        if self.args.pods:
            for _ in range(want - len(pods)):
                t = copy.deepcopy(rs["spec"]["template"])
                pmd = t.get("metadata", {})
                pmd.pop("creationTimestamp", None)
                pod = {"apiVersion": "v1", "kind": "Pod",
                       "metadata": dict(pmd, generateName=rs["metadata"]["name"] + "-", namespace=ns,
                                        ownerReferences=[{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                          "name": rs["metadata"]["name"], "uid": uid,
                                                          "controller": True, "blockOwnerDeletion": True}]),
                       "spec": t.get("spec", {}),
                       "status": {"phase": "Running", "conditions": [
                           {"type": "Ready", "status": "True", "lastProbeTime": None,
                            "lastTransitionTime": kw.rfc3339()}],
                           "podIP": "10.0.%d.%d" % (self.rng.randint(0, 255), self.rng.randint(1, 254)),
                           "startTime": kw.rfc3339(),
                           "containerStatuses": [{"name": c.get("name"), "ready": True, "restartCount": 0,
                                                  "image": c.get("image"), "started": True,
                                                  "state": {"running": {"startedAt": kw.rfc3339()}}}
                                                 for c in t.get("spec", {}).get("containers", [])],
                           "qosClass": "BestEffort"}}
                self._ctl_write("/pods", pod, None)
            for p in pods[want:] if len(pods) > want else []:
                if ("/pods", ns, p["metadata"]["name"]) not in self.store.objects:
                    continue  # already gone (a nested reconcile deleted it)
                self._delete_locked(self.type_by_storage("/pods"), ("/pods", ns, p["metadata"]["name"]), p, None)
            n = min(want, max(len(pods), want))
            ready = n
        else:
            n = want
            ready = want
        cur = self.store.objects.get(("apps/replicasets", ns, rs["metadata"]["name"]))
        if cur is None:
            return
        c = copy.deepcopy(cur)
        c["status"] = {"replicas": n, "fullyLabeledReplicas": n, "readyReplicas": ready, "availableReplicas": ready,
                       "observedGeneration": cur["metadata"].get("generation", 1)}
        if n == 0:
            c["status"] = {"replicas": 0, "observedGeneration": cur["metadata"].get("generation", 1)}
        if c != cur:
            cur = self._ctl_write("apps/replicasets", c, cur, "status")
        # the owning deployment's status follows its replica sets
        for r in cur["metadata"].get("ownerReferences", []):
            if r.get("kind") == "Deployment":
                d = self.store.objects.get(("apps/deployments", ns, r["name"]))
                if d is not None:
                    newest = max((o for (st, ons, _), o in self.store.objects.items()
                                  if st == "apps/replicasets" and ons == ns and any(
                                      x.get("uid") == d["metadata"]["uid"]
                                      for x in o["metadata"].get("ownerReferences", []))),
                                 key=lambda o: int(o["metadata"].get("annotations", {}).get(
                                     "deployment.kubernetes.io/revision", "0")))
                    self.update_deployment_status(d, newest)

    def reconcile_owner_of(self, pod):
        for r in pod["metadata"].get("ownerReferences", []):
            if r.get("kind") == "ReplicaSet":
                rs = self.store.objects.get(("apps/replicasets", pod["metadata"]["namespace"], r["name"]))
                if rs is not None:
                    self.reconcile_replicaset(rs)

    def start_job(self, job):
        c = copy.deepcopy(job)
        c["status"] = {"startTime": kw.rfc3339(), "active": 1, "terminating": 0, "uncountedTerminatedPods": {},
                       "ready": 0}
        self._ctl_write("batch/jobs", c, job, "status")

    def tick_jobs(self):
        """Finishes running Jobs when the job_result knob says so (called periodically)."""
        result = self.faults.job_result
        if result not in ("succeed", "succeeded", "complete", "fail", "failed"):
            return
        now = time.time()
        with self.store.cond:
            for key, job in list(self.store.objects.items()):
                if key[0] != "batch/jobs":
                    continue
                st = job.get("status", {})
                if st.get("active") != 1 or any(c.get("status") == "True" for c in st.get("conditions", [])):
                    continue
                started = kw.parse_time(st.get("startTime"))
                if started is None or now - started < self.faults.job_seconds:
                    continue
                t = kw.rfc3339()
                c = copy.deepcopy(job)
                if result.startswith("succeed") or result == "complete":
                    c["status"] = {"conditions": [
                        {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": t, "lastTransitionTime": t,
                         "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"},
                        {"type": "Complete", "status": "True", "lastProbeTime": t, "lastTransitionTime": t,
                         "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}],
                        "startTime": st.get("startTime"), "completionTime": t, "succeeded": 1, "terminating": 0,
                        "uncountedTerminatedPods": {}, "ready": 0}
                else:
                    c["status"] = {"conditions": [
                        {"type": "FailureTarget", "status": "True", "lastProbeTime": t, "lastTransitionTime": t,
                         "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"},
                        {"type": "Failed", "status": "True", "lastProbeTime": t, "lastTransitionTime": t,
                         "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}],
                        "startTime": st.get("startTime"), "failed": 1, "terminating": 0,
                        "uncountedTerminatedPods": {}, "ready": 0}
                self._ctl_write("batch/jobs", c, job, "status")

    # ---- tables
    def table(self, rt, objs, rv, include, now=None):
        now = time.time() if now is None else now
        if not rt.builtin or rt.type_name not in BUILTIN_COLUMNS:
            cols = [{"name": "Name", "type": "string", "format": "name", "description": NAME_DESC, "priority": 0}]
            pcs = rt.printer_columns() if not rt.builtin else []
            for pc in pcs:
                cols.append({"name": pc["name"], "type": pc.get("type", "string"), "format": pc.get("format", ""),
                             "description": pc.get("description") or
                             "Custom resource definition column (in JSONPath format): " + pc["jsonPath"],
                             "priority": pc.get("priority", 0)})
            if not pcs:
                cols.append({"name": "Age", "type": "date", "format": "", "description": "Custom resource definition "
                             "column (in JSONPath format): .metadata.creationTimestamp", "priority": 0})
                pcs = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]

            def cells(o):
                out = [o["metadata"]["name"]]
                for pc in pcs:
                    vals = kubeobj.jsonpath(o, pc["jsonPath"])
                    if not vals or vals[0] is None:
                        out.append(None)
                    elif pc.get("type") == "date":
                        t = kw.parse_time(vals[0])
                        out.append(kw.human_duration(now - t) if t else None)
                    elif len(vals) == 1 and (pc.get("type") in ("number", "integer") or isinstance(vals[0], str)):
                        out.append(vals[0])
                    else:
                        out.append(",".join(_go_fmt(v) for v in vals))
                return out
        else:
            names, fn = BUILTIN_COLUMNS[rt.type_name]
            cols = [{"name": n, "type": "string", "format": "name" if n == "Name" else "",
                     "description": NAME_DESC if n == "Name" else n, "priority": 0} for n in names]

            def cells(o):
                return fn(self._field_view(rt, o), now)
        rows = []
        for o in objs:
            row = {"cells": cells(o)}
            if include == "None":
                row["object"] = None
            elif include == "Object":
                row["object"] = self.view(rt, o)
            else:
                md = kw.order(copy.deepcopy(o["metadata"]), kw.META)
                row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": md}
            rows.append(row)
        t = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": str(rv)},
             "columnDefinitions": cols, "rows": rows}
        return kw.order_builtin(t, "Table")


def _go_fmt(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# ---------------------------------------------------------------------------------------------
# discovery documents


def api_versions(host):
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}


def _gv(g, v):
    return {"groupVersion": g + "/" + v, "version": v}


def api_group(g, versions):
    vs = sorted(versions, key=_version_priority)
    return {"kind": "APIGroup", "apiVersion": "v1", "name": g, "versions": [_gv(g, v) for v in vs],
            "preferredVersion": _gv(g, vs[0])}


def _version_priority(v):
    import re
    m = re.match(r"^v(\d+)(alpha|beta)?(\d*)$", v)
    if not m:
        return (3, v)
    stab = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stab, -int(m.group(1)), -int(m.group(3) or 0))


def resource_list(emu, group, version):
    res = []
    for (g, v, _), rt in sorted(emu.types.items(), key=lambda kv: kv[0][2]):
        if g != group or v != version:
            continue
        r = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced, "kind": rt.kind,
             "verbs": CR_VERBS if not rt.builtin else ALL_VERBS}
        if rt.short:
            r["shortNames"] = rt.short
        if rt.categories:
            r["categories"] = rt.categories
        r["storageVersionHash"] = rt.storage_hash()
        res.append(r)
        if rt.status_sub:
            res.append({"name": rt.plural + "/status", "singularName": "", "namespaced": rt.namespaced,
                        "kind": rt.kind, "verbs": ["get", "patch", "update"]})
    gv = group + "/" + version if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": res}


# ---------------------------------------------------------------------------------------------
# HTTP


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, emu, ssl_ctx):
        self.emu = emu
        self.ssl_ctx = ssl_ctx
        self.conns = set()
        self.conns_lock = threading.Lock()
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = super().get_request()
        if self.ssl_ctx is not None:
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self.conns_lock:
            self.conns.add(sock)
        return sock, addr

    def shutdown_request(self, request):
        with self.conns_lock:
            self.conns.discard(request)
        super().shutdown_request(request)

    def close_all(self):
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if isinstance(e, (ConnectionError, ssl.SSLError, socket.timeout, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class DropConnection(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = ""
    sys_version = ""

    def log_message(self, fmt, *args):
        if self.server.emu.args.verbose:
            sys.stderr.write("emulator: %s %s\n" % (self.address_string(), fmt % args))

    def setup(self):
        super().setup()
        if self.server.ssl_ctx is not None:
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError):
                self.close_connection = True
                raise ConnectionError("TLS handshake failed")

    # ---- plumbing
    @property
    def emu(self):
        return self.server.emu

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            data = b""
            while True:
                line = self.rfile.readline()
                n = int(line.strip().split(b";")[0] or b"0", 16)
                if n == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(n)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def pretty(self):
        ua = self.headers.get("User-Agent") or ""
        return ua.startswith("curl") or self.query.get("pretty") in ("true", "1")

    def std_headers(self, ctype):
        return [("Audit-Id", kw.new_uid()), ("Cache-Control", "no-cache, private"), ("Content-Type", ctype)]

    def send(self, code, body, ctype="application/json", headers=None, pretty=None, raw=False, warnings=None):
        if raw:
            data = body if isinstance(body, bytes) else body.encode()
        else:
            data = kw.encode(body, pretty=self.pretty() if pretty is None else pretty)
        hs = self.std_headers(ctype)
        for w in warnings or []:
            hs.append(("Warning", '299 - "%s"' % w.replace("\\", "\\\\").replace('"', '\\"')))
        hs += headers or []
        hs += [("X-Kubernetes-Pf-Flowschema-Uid", FLOWSCHEMA_UID),
               ("X-Kubernetes-Pf-Prioritylevel-Uid", PRIORITY_UID),
               ("Date", self.date_time_string())]
        self.status_code = code
        self.send_response_only(code)
        for k, v in hs:
            self.send_header(k, v)
        if len(data) <= 2048 or self.command == "HEAD":
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        else:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 2048):
                part = data[i:i + 2048]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def send_text(self, code, text, extra=None):
        self.status_code = code
        data = text.encode()
        self.send_response_only(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in extra or []:
            self.send_header(k, v)
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def send_error_status(self, e):
        extra = [("X-Content-Type-Options", "nosniff")] if e.code == 403 else []
        self.send(e.code, e.body, headers=extra + e.headers, pretty=True if e.pretty else None)

    # ---- dispatch
    def dispatch(self):
        u = urllib.parse.urlsplit(self.path)
        self.rpath = u.path
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        self.status_code = 0
        self.body = self.read_body() if self.command in ("POST", "PUT", "PATCH", "DELETE") else b""
        if self.rpath.startswith("/_emulator/"):
            return self.control()
        emu = self.emu
        ua = self.headers.get("User-Agent") or ""
        emu.count("requests")
        emu.count("by_method", sub=self.command)
        emu.count("requests_by_agent", sub=ua.split(" ")[0] or "-")
        entry = {"time": time.time(), "method": self.command, "path": self.rpath, "query": u.query, "agent": ua}
        try:
            self.api(entry)
        except DropConnection:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        except ApiError as e:
            self.send_error_status(e)
        except (ConnectionError, BrokenPipeError, ssl.SSLError):
            self.close_connection = True
        finally:
            entry["code"] = self.status_code
            emu.log_request(entry)

    def faults(self, is_watch):
        f = self.emu.faults
        if f.is_down():
            if f.down_mode == "refuse":
                raise DropConnection()
            raise ApiError(503, kw.status(503, "ServiceUnavailable", "the server is currently unable to handle the "
                                          "request (emulator: API down)"), headers=[("Retry-After", "1")])
        if f.latency_ms:
            time.sleep(f.latency_ms / 1000.0)
        if f.latency_spike_rate > 0 and f.latency_spike_ms > 0 and self.emu.rng.random() < f.latency_spike_rate:
            self.emu.count("latency_spikes")
            time.sleep(f.latency_spike_ms / 1000.0)
        if f.error_rate > 0 and (not is_watch or f.error_watches):
            if f.error_methods and self.command not in f.error_methods:
                return
            if f.error_path_contains and f.error_path_contains not in self.rpath:
                return
            codes = f.codes_for(self.command)
            if not codes:
                return
            if self.emu.rng.random() < f.error_rate:
                code = codes[0] if len(codes) == 1 else self.emu.rng.choice(codes)
                self.emu.count("injected_errors")
                self.emu.count("injected_by_code", sub=str(code))
                raise self.injected_error(code, f.retry_after)

    def injected_error(self, code, retry_after):
        if code == 429:
            return ApiError(429, kw.status(429, "TooManyRequests", "the server has received too many requests "
                                           "and has asked us to try again later", {"retryAfterSeconds": retry_after}),
                            headers=[("Retry-After", str(retry_after))])
        if code == 503:
            return ApiError(503, kw.status(503, "ServiceUnavailable", "the server is currently unable to "
                                           "handle the request", {"retryAfterSeconds": retry_after}),
                            headers=[("Retry-After", str(retry_after))])
        if code == 504:
            return ApiError(504, kw.status(504, "Timeout", "Timeout: request did not complete within the "
                                           "allotted timeout", {"retryAfterSeconds": retry_after}))
        if code == 409:
            # what a stale resourceVersion gets (kw.conflict), named after the object in the path
            parts = [x for x in self.rpath.split("/") if x]
            rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
            group = parts[1] if parts[:1] == ["apis"] and len(parts) > 1 else ""
            if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) > 3:
                rest = rest[2:]
            plural = rest[0] if rest else "resources"
            name = rest[1] if len(rest) > 1 else ""
            self.emu.count("conflicts")
            return ApiError(409, kw.conflict(plural, group, name))
        return ApiError(code, kw.status(code, "InternalError", "Internal error occurred: injected by the "
                                        "emulator", {"causes": [{"message": "injected by the emulator"}]}))

    def authenticate(self):
        """Returns the user name; raises 401."""
        emu = self.emu
        if emu.args.no_auth:
            return "admin"
        auth = self.headers.get("Authorization")
        if auth:
            parts = auth.split(" ", 1)
            tok = parts[1].strip() if len(parts) == 2 and parts[0].lower() == "bearer" else None
            if tok and tok in emu.tokens:
                return "admin"
            if tok and tok in emu.forbidden_tokens:
                return emu.forbidden_tokens[tok]
            raise ApiError(401, kw.status(401, "Unauthorized", "Unauthorized"))
        if emu.args.anonymous == "allow":
            return "admin"
        if self.server.ssl_ctx is not None:
            try:
                if self.connection.getpeercert():
                    return "admin"
            except (ValueError, AttributeError):
                pass
        return "system:anonymous"

    def forbidden(self, user, verb, rt, ns, name, sub):
        res = rt.plural + ("/" + sub if sub else "")
        who = '%s "%s"' % (kw.gr(rt.plural, rt.group), name) if name else kw.gr(rt.plural, rt.group)
        msg = '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s"' % (who, user, verb, res,
                                                                                       rt.group)
        if ns:
            msg += ' in the namespace "%s"' % ns
        else:
            msg += " at the cluster scope"
        d = {}
        if name:
            d["name"] = name
        if rt.group:
            d["group"] = rt.group
        d["kind"] = rt.plural
        raise ApiError(403, kw.status(403, "Forbidden", msg, d))

    def accept_table(self):
        acc = self.headers.get("Accept") or ""
        return "as=Table" in acc

    def check_accept(self):
        acc = (self.headers.get("Accept") or "").lower()
        if not acc:
            return
        for part in acc.split(","):
            mt = part.split(";")[0].strip()
            if mt in ("application/json", "*/*", "application/*", "application/vnd.kubernetes.protobuf",
                      "application/yaml", "application/json-seq") or mt == "":
                return
        raise ApiError(406, kw.status(406, "NotAcceptable", "only the following media types are accepted: "
                                      "application/json, application/yaml, application/vnd.kubernetes.protobuf"),
                       pretty=True)

    def api(self, entry):
        emu = self.emu
        p = self.rpath
        parts = [x for x in p.split("/") if x]
        is_watch = self.query.get("watch") in ("1", "true", "True")
        self.faults(is_watch)
        user = self.authenticate()
        public = p in ("/version", "/healthz", "/livez", "/readyz", "/version/")
        if p in ("/healthz", "/livez", "/readyz"):
            return self.send_text(200, "ok")
        if p.startswith("/version"):
            return self.send(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.6", "gitCommit": "emulator",
                                   "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                                   "goVersion": "go1.23.10", "compiler": "gc", "platform": "linux/amd64"})
        is_resource = len(parts) >= 3 and ((parts[0] == "api" and len(parts) >= 3) or
                                           (parts[0] == "apis" and len(parts) >= 4))
        if user == "system:anonymous" and not public and not is_resource:
            raise ApiError(403, kw.status(403, "Forbidden", 'forbidden: User "system:anonymous" cannot get path "%s"'
                                          % p, {}))
        if p == "/api" or p == "/api/":
            return self.send(200, api_versions(self.headers.get("Host") or "127.0.0.1"))
        if p == "/apis" or p == "/apis/":
            groups = emu.group_versions()
            order = ["apiregistration.k8s.io", "apps", "events.k8s.io", "batch", "apiextensions.k8s.io",
                     "coordination.k8s.io"]
            names = [g for g in order if g in groups] + sorted(g for g in groups if g not in order)
            return self.send(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                   "groups": [{k: v for k, v in api_group(g, groups[g]).items()
                                               if k not in ("kind", "apiVersion")} for g in names]})
        if parts[:2] == ["openapi", "v3"]:
            return self.openapi_v3(parts[2:])
        if parts[:1] == ["openapi"]:
            return self.send_text(404, "404 page not found\n")
        if parts[0] == "api" and len(parts) == 2 and parts[1] == "v1":
            return self.send(200, resource_list(emu, "", "v1"))
        if parts[0] == "apis" and len(parts) == 2:
            gv = emu.group_versions()
            if parts[1] not in gv:
                return self.send_text(404, "404 page not found\n")
            return self.send(200, api_group(parts[1], gv[parts[1]]))
        if parts[0] == "apis" and len(parts) == 3:
            gv = emu.group_versions()
            if parts[1] not in gv or parts[2] not in gv[parts[1]]:
                return self.send_text(404, "404 page not found\n")
            return self.send(200, resource_list(emu, parts[1], parts[2]))
        # resource paths
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return self.send_text(404, "404 page not found\n")
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces" and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
            ns, rest = rest[1], rest[2:]
        if not rest:
            return self.send_text(404, "404 page not found\n")
        rt = emu.find_type(group, version, rest[0])
        if rt is None:
            return self.send_text(404, "404 page not found\n")
        if ns is not None and not rt.namespaced:
            return self.send_text(404, "404 page not found\n")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if len(rest) > 3 or (sub is not None and (sub != "status" or not rt.status_sub)):
            return self.send_text(404, "404 page not found\n")
        if ns is None and rt.namespaced and name is not None:
            return self.send_text(404, "404 page not found\n")
        verb = {"GET": "get" if name else ("watch" if is_watch else "list"), "HEAD": "get", "POST": "create",
                "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if name else "deletecollection"}[self.command]
        if self.command == "POST" and name:
            raise ApiError(405, kw.status(405, "MethodNotAllowed",
                                          "the server does not allow this method on the requested resource"))
        entry.update({"resource": rt.plural, "group": rt.group, "namespace": ns, "name": name, "verb": verb,
                      "subresource": sub})
        if user != "admin":
            self.forbidden(user, verb, rt, ns, name, sub)
        self.check_accept()
        warnings = []
        ua = self.headers.get("User-Agent") or ""
        if verb == "watch" or (verb == "get" and is_watch):
            return self.watch(rt, ns, name)
        if verb == "list":
            rv, objs, meta = self.list_result(rt, ns)
            if self.accept_table():
                return self.send(200, emu.table(rt, objs, rv, self.query.get("includeObject")))
            lm = {"resourceVersion": str(rv)}
            lm.update(meta)
            if rt.builtin:
                body = {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": kw.order(lm, kw.LISTMETA),
                        "items": [emu.view(rt, o, in_list=True) for o in objs]}
            else:
                lm.setdefault("continue", "")
                body = {"apiVersion": rt.api_version, "items": [emu.view(rt, o) for o in objs],
                        "kind": rt.list_kind, "metadata": kw.sort_keys(lm)}
            return self.send(200, body)
        if verb == "get":
            obj = emu.get(rt, ns, name)
            if self.accept_table():
                return self.send(200, emu.table(rt, [obj], obj["metadata"]["resourceVersion"],
                                                self.query.get("includeObject")))
            return self.send(200, emu.view(rt, obj))
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        if verb in ("create", "update") and ctype not in ("application/json", "application/yaml", ""):
            raise ApiError(415, kw.status(415, "UnsupportedMediaType", "the body of the request was in an unknown "
                                          "format - accepted media types include: application/json, "
                                          "application/yaml (the emulator does not speak protobuf)"))
        try:
            code, obj = self.write(emu, verb, rt, ns, name, sub, ua, warnings)
        except ApiError as e:
            e.headers = e.headers + [("Warning", '299 - "%s"' % w.replace("\\", "\\\\").replace('"', '\\"'))
                                     for w in warnings]
            raise
        if obj.get("kind") == "Status":
            return self.send(code, obj, warnings=warnings)
        emu.count("writes_by_agent", sub=ua.split(" ")[0] or "-")
        return self.send(code, emu.view(rt, obj), warnings=warnings)

    def write(self, emu, verb, rt, ns, name, sub, ua, warnings):
        if verb == "create":
            code, obj = emu.create(rt, ns, self.body, self.query, ua, warnings)
        elif verb == "update":
            code, obj = emu.update(rt, ns, name, self.body, self.query, ua, sub, warnings)
        elif verb == "patch":
            code, obj = emu.patch(rt, ns, name, self.body, self.headers.get("Content-Type"), self.query, ua, sub,
                                  warnings)
        elif verb == "delete":
            code, obj = emu.delete(rt, ns, name, self.query, self.body)
        else:
            code, obj = emu.delete_collection(rt, ns, self.query)
        return code, obj

    def openapi_v3(self, gvparts):
        """Just enough OpenAPI v3 for kubectl: every PATCH operation declares fieldValidation, so kubectl
        leaves validation to the server (?fieldValidation=Strict) instead of validating client-side."""
        emu = self.emu
        gvs = {}
        for (g, v, _), rt in list(emu.types.items()):
            gvs.setdefault(("apis/%s/%s" % (g, v)) if g else "api/" + v, []).append(rt)
        if not gvparts:
            paths = {}
            for key in sorted(gvs):
                doc = self._openapi_doc(key, gvs[key])
                h = hashlib.sha512(kw.encode(doc)).hexdigest().upper()
                paths[key] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (key, h)}
            return self.send(200, {"paths": paths}, pretty=False)
        key = "/".join(gvparts)
        if key not in gvs:
            return self.send_text(404, "404 page not found\n")
        return self.send(200, self._openapi_doc(key, gvs[key]), pretty=False)

    def _openapi_doc(self, key, rts):
        paths = {}
        params = [{"name": n, "in": "query", "schema": {"type": "string"}}
                  for n in ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")]
        for rt in sorted(rts, key=lambda r: r.plural):
            base = "/" + key + ("/namespaces/{namespace}" if rt.namespaced else "") + "/" + rt.plural
            gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
            op = {"x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk, "parameters": params,
                  "responses": {"200": {"description": "OK"}}}
            paths[base + "/{name}"] = {"get": {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk},
                                       "put": dict(op, **{"x-kubernetes-action": "put"}),
                                       "patch": op, "parameters": params}
            paths[base] = {"post": dict(op, **{"x-kubernetes-action": "post"}), "parameters": params}
            if rt.status_sub:
                paths[base + "/{name}/status"] = {"patch": op, "parameters": params}
        return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.6"}, "paths": paths,
                "components": {"schemas": {}}}

    def list_result(self, rt, ns):
        res = self.emu.list(rt, ns, self.query)
        if len(res) == 2:
            return res[0], res[1], {}
        return res

    # ---- watch
    def watch(self, rt, ns, name):
        emu = self.emu
        store = emu.store
        q = self.query
        lsel, fsel = emu.selectors(q)
        if name:
            fsel = fsel + [("metadata.name", "=", name)]
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        send_initial = q.get("sendInitialEvents") in ("true", "1")
        try:
            timeout = float(q.get("timeoutSeconds") or 0)
        except ValueError:
            raise ApiError(400, kw.bad_request("invalid timeoutSeconds"))
        if timeout <= 0:
            timeout = emu.args.default_watch_timeout * (1 + emu.rng.random())
        rvq = q.get("resourceVersion", "")
        if send_initial and q.get("resourceVersionMatch") != "NotOlderThan":
            raise ApiError(422, kw.invalid("ListOptions", "meta.k8s.io", "", [
                {"reason": "FieldValueForbidden", "message": "Forbidden: sendInitialEvents is forbidden for watch "
                 "unless resourceVersionMatch is set to NotOlderThan", "field": "sendInitialEvents"}]))
        start = time.time()
        deadline = start + timeout
        epoch = emu.watch_epoch

        def matches(o):
            if o is None:
                return False
            if rt.namespaced and ns is not None and o["metadata"].get("namespace") != ns:
                return False
            if not kubeobj.labels_match(lsel, o["metadata"].get("labels")):
                return False
            if fsel and not kubeobj.fields_match(fsel, emu._field_view(rt, o)):
                return False
            return True

        initial = []
        too_old = None
        with store.cond:
            if rvq in ("", "0") or send_initial:
                pos = store.rv
                initial = [copy.deepcopy(o) for (st, _, _), o in sorted(store.objects.items(),
                                                                       key=lambda kv: (kv[0][1] or "", kv[0][2]))
                           if st == rt.storage and matches(o)]
            else:
                try:
                    pos = int(rvq)
                except ValueError:
                    raise ApiError(400, kw.bad_request("invalid resource version: %s" % rvq))
                if pos < store.floor:
                    too_old = kw.status(410, "Expired", "too old resource version: %d (%d)" % (pos, store.floor))
        self.status_code = 200
        self.send_response_only(200)
        for k, v in self.std_headers("application/json"):
            self.send_header(k, v)
        self.send_header("X-Kubernetes-Pf-Flowschema-Uid", FLOWSCHEMA_UID)
        self.send_header("X-Kubernetes-Pf-Prioritylevel-Uid", PRIORITY_UID)
        self.send_header("Date", self.date_time_string())
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        emu.count("watches_open")
        sent = [0]

        def chunk(ev):
            data = kw.encode(ev)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def emit(etype, obj):
            chunk({"type": etype, "object": emu.view(rt, obj)})
            sent[0] += 1
            if emu.faults.drop_watch_after and sent[0] >= emu.faults.drop_watch_after:
                emu.count("watches_dropped")
                raise DropConnection()

        def bookmark(rv, initial_end=False):
            md = {"resourceVersion": str(rv)}
            if initial_end:
                md = {"annotations": {"k8s.io/initial-events-end": "true"}, "resourceVersion": str(rv)}
            obj = {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": md}
            if rt.builtin:
                obj = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": md}
            chunk({"type": "BOOKMARK", "object": obj})

        try:
            if too_old is not None:
                chunk({"type": "ERROR", "object": too_old})
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return
            for o in initial:
                emit("ADDED", o)
            if send_initial:
                bookmark(pos, initial_end=True)
            bm_interval = emu.args.bookmark_interval
            next_bm = start + bm_interval
            final_bm_sent = False
            while True:
                if emu.faults.is_down() or emu.watch_epoch != epoch:
                    emu.count("watches_dropped")
                    raise DropConnection()
                now = time.time()
                with store.cond:
                    evs = store.events_after(pos)
                    if not evs:
                        wait = min(deadline - now, 0.25)
                        if wait > 0:
                            store.cond.wait(wait)
                        evs = store.events_after(pos)
                    if evs and evs[0].rv > pos + 1 and pos < store.floor:
                        too_old = kw.status(410, "Expired", "too old resource version: %d (%d)" % (pos, store.floor))
                    cur_rv = store.rv
                if too_old is not None:
                    chunk({"type": "ERROR", "object": too_old})
                    break
                for ev in evs:
                    pos = ev.rv
                    if ev.storage != rt.storage:
                        continue
                    now_m = matches(ev.obj)
                    old_m = matches(ev.old)
                    if ev.type == "ADDED" and now_m:
                        emit("ADDED", ev.obj)
                    elif ev.type == "DELETED" and (now_m or old_m):
                        emit("DELETED", ev.obj)
                    elif ev.type == "MODIFIED":
                        if now_m and old_m:
                            emit("MODIFIED", ev.obj)
                        elif now_m:
                            emit("ADDED", ev.obj)
                        elif old_m:
                            emit("DELETED", ev.obj)
                now = time.time()
                if bookmarks and now >= next_bm:
                    bookmark(max(pos, cur_rv) if not evs else pos)
                    next_bm = now + bm_interval
                if bookmarks and not final_bm_sent and now >= deadline - 2:
                    bookmark(pos)
                    final_bm_sent = True
                if now >= deadline:
                    break
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        finally:
            emu.count("watches_open", -1)

    # ---- control endpoints
    def control(self):
        emu = self.emu
        p = self.rpath
        try:
            data = json.loads(self.body.decode() or "{}") if self.body else {}
        except ValueError:
            return self.send(400, {"error": "body is not JSON"}, pretty=False)
        if p == "/_emulator/faults":
            if self.command == "POST":
                try:
                    emu.faults.update(data)
                except (ValueError, TypeError) as e:
                    return self.send(400, {"error": str(e)}, pretty=False)
                self.send(200, emu.faults.as_dict(), pretty=False)
                if data.get("down_seconds") and emu.faults.down_mode == "refuse":
                    self.close_connection = True
                    self.server.emu_controller.refuse_for(float(data["down_seconds"]))
                elif data.get("down_seconds"):
                    self.server.close_all_watches()
                return None
            return self.send(200, emu.faults.as_dict(), pretty=False)
        if p == "/_emulator/drop-watches":
            emu.watch_epoch += 1
            with emu.store.cond:
                emu.store.cond.notify_all()
            return self.send(200, {"dropped": True}, pretty=False)
        if p == "/_emulator/compact":
            emu.store.compact()
            return self.send(200, {"floor": emu.store.floor}, pretty=False)
        if p == "/_emulator/stats":
            if self.command == "POST" and data.get("reset"):
                with emu.stats_lock:
                    open_w = emu.stats.get("watches_open", 0)
                    emu.reset_stats()
                    emu.stats["watches_open"] = open_w
            with emu.stats_lock:
                return self.send(200, copy.deepcopy(emu.stats), pretty=False)
        if p == "/_emulator/log":
            since = int(self.query.get("since") or 0)
            with emu.stats_lock:
                out = [e for e in emu.reqlog if e["seq"] > since]
            return self.send(200, {"items": out, "last": emu.reqseq}, pretty=False)
        if p == "/_emulator/objects":
            with emu.store.cond:
                objs = [{"storage": k[0], "namespace": k[1], "name": k[2], "object": o}
                        for k, o in sorted(emu.store.objects.items(), key=lambda kv: (kv[0][0], kv[0][1] or "",
                                                                                     kv[0][2]))]
                return self.send(200, {"resourceVersion": str(emu.store.rv), "items": objs}, pretty=False)
        if p == "/_emulator/tokens" and self.command == "POST":
            if "tokens" in data:
                emu.tokens = set(data["tokens"])
            if "forbidden_tokens" in data:
                emu.forbidden_tokens = {t: "system:serviceaccount:default:noperms" for t in data["forbidden_tokens"]}
            return self.send(200, {"tokens": len(emu.tokens)}, pretty=False)
        if p == "/_emulator/shutdown":
            self.send(200, {"shutdown": True}, pretty=False)
            threading.Thread(target=self.server.emu_controller.stop, daemon=True).start()
            return None
        return self.send_text(404, "404 page not found\n")


# ---------------------------------------------------------------------------------------------
# process: listener lifecycle (for "refuse" outages), kubeconfig, main


class Controller:
    def __init__(self, emu, args, ssl_ctx):
        self.emu = emu
        self.args = args
        self.ssl_ctx = ssl_ctx
        self.lock = threading.Lock()
        self.server = None
        self.port = None
        self.stopped = threading.Event()
        self.refusing_until = 0.0

    def start_server(self, port):
        srv = Server((self.args.host, port), Handler, self.emu, self.ssl_ctx)
        srv.emu_controller = self
        srv.close_all_watches = self.close_all_watches
        self.server = srv
        self.port = srv.server_address[1]
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close_all_watches(self):
        self.emu.watch_epoch += 1
        with self.emu.store.cond:
            self.emu.store.cond.notify_all()

    def refuse_for(self, seconds):
        def run():
            with self.lock:
                srv = self.server
                self.refusing_until = time.time() + seconds
                srv.shutdown()
                srv.server_close()
                srv.close_all()
            self.close_all_watches()
            while time.time() < self.refusing_until and not self.stopped.is_set():
                time.sleep(0.02)
            self.emu.faults.down_until = 0.0
            with self.lock:
                for _ in range(100):
                    try:
                        self.start_server(self.port)
                        break
                    except OSError:
                        time.sleep(0.05)
        threading.Thread(target=run, daemon=True).start()

    def stop(self):
        self.stopped.set()


def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def kubeconfig_text(url, token, namespace, ca_pem=None):
    lines = ["apiVersion: v1", "kind: Config", "clusters:", "- name: emulator", "  cluster:",
             "    server: %s" % url]
    if ca_pem:
        lines.append("    certificate-authority-data: %s" % base64.b64encode(ca_pem).decode())
    lines += ["users:", "- name: emulator", "  user:", "    token: %s" % token,
              "contexts:", "- name: emulator", "  context:", "    cluster: emulator", "    user: emulator",
              "    namespace: %s" % namespace, "current-context: emulator", ""]
    return "\n".join(lines)


def load_doc(path):
    text = open(path).read()
    try:
        return [json.loads(text)]
    except ValueError:
        return [d for d in miniyaml.load_all(text) if d]


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Kubernetes API server emulator for tests (see tests/kube/README.md)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--url-file")
    ap.add_argument("--kubeconfig-out")
    ap.add_argument("--namespace", default="default", help="namespace written into the kubeconfig context")
    ap.add_argument("--token", action="append", help="accepted bearer token (repeatable; default emulator-token)")
    ap.add_argument("--forbidden-token", action="append", help="TOKEN[=USER]: authenticates (as USER) but may do nothing (403)")
    ap.add_argument("--no-auth", action="store_true")
    ap.add_argument("--anonymous", choices=["forbid", "allow"], default="forbid",
                    help="requests without credentials: 403 as system:anonymous (the real default), or allowed")
    ap.add_argument("--tls-self-signed", action="store_true",
                    help="serve https with a fresh self-signed cert for 127.0.0.1/localhost (made with openssl); "
                         "the kubeconfig gets it as certificate-authority-data")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--tls-ca", help="CA to put into the kubeconfig (default: the server cert)")
    ap.add_argument("--client-ca", help="verify client certificates against this CA")
    ap.add_argument("--crd", action="append", default=[], help="register a CRD from a file at start")
    ap.add_argument("--watch-window", type=int, default=1000)
    ap.add_argument("--bookmark-interval", type=float, default=60.0)
    ap.add_argument("--default-watch-timeout", type=float, default=1800.0)
    ap.add_argument("--too-large-rv-wait", type=float, default=3.0)
    ap.add_argument("--no-controllers", action="store_true", help="no Deployment/ReplicaSet/Job controllers")
    ap.add_argument("--pods", action="store_true", help="ReplicaSets create (Running, Ready) Pods")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--drop-watch-after", type=int, default=0)
    ap.add_argument("--error-rate", type=float, default=0.0)
    ap.add_argument("--error-code", type=int, default=500)
    ap.add_argument("--retry-after", type=int, default=1)
    ap.add_argument("--error-methods", default="")
    ap.add_argument("--error-path-contains", default="")
    ap.add_argument("--error-watches", action="store_true")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--latency-spike-rate", type=float, default=0.0)
    ap.add_argument("--latency-spike-ms", type=int, default=0)
    ap.add_argument("--error-codes", default="", help="e.g. 500,429,409: each injected error picks one")
    ap.add_argument("--down-seconds", type=float, default=0.0)
    ap.add_argument("--down-mode", default="503", choices=["503", "refuse"])
    ap.add_argument("--job-result", default="", help="succeed|fail: Jobs finish after --job-seconds")
    ap.add_argument("--job-seconds", type=float, default=0.0)
    args = ap.parse_args(argv)
    if not args.token:
        args.token = ["emulator-token"]
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    emu = Emulator(args)
    emu.faults.update({"drop_watch_after": args.drop_watch_after, "error_rate": args.error_rate,
                       "error_code": args.error_code, "retry_after": args.retry_after,
                       "error_methods": args.error_methods, "error_path_contains": args.error_path_contains,
                       "error_watches": args.error_watches, "latency_ms": args.latency_ms,
                       "down_mode": args.down_mode, "job_result": args.job_result, "job_seconds": args.job_seconds,
                       "error_codes": args.error_codes, "latency_spike_rate": args.latency_spike_rate,
                       "latency_spike_ms": args.latency_spike_ms})
    for path in args.crd:
        for doc in load_doc(path):
            with emu.store.cond:
                rt = emu.find_type("apiextensions.k8s.io", "v1", "customresourcedefinitions")
                emu._create_locked(rt, None, doc, "emulator", {}, [])
    ssl_ctx = None
    scheme = "http"
    tmpdir = None
    if args.tls_self_signed and not args.tls_cert:
        import subprocess
        import tempfile
        tmpdir = tempfile.mkdtemp(prefix="kube-emulator-")
        args.tls_cert = os.path.join(tmpdir, "server.crt")
        args.tls_key = os.path.join(tmpdir, "server.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", args.tls_key, "-out", args.tls_cert, "-subj", "/CN=kube-emulator",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if args.tls_cert:
        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_ctx.load_cert_chain(args.tls_cert, args.tls_key)
        ssl_ctx.set_alpn_protocols(["http/1.1"])
        if args.client_ca:
            ssl_ctx.load_verify_locations(args.client_ca)
            ssl_ctx.verify_mode = ssl.CERT_OPTIONAL
        scheme = "https"
    ctl = Controller(emu, args, ssl_ctx)
    ctl.start_server(args.port)
    if args.down_seconds:
        emu.faults.update({"down_seconds": args.down_seconds})
        if args.down_mode == "refuse":
            ctl.refuse_for(args.down_seconds)
    url = "%s://%s:%d" % (scheme, args.host, ctl.port)
    if args.kubeconfig_out:
        ca = None
        if ssl_ctx is not None:
            ca = open(args.tls_ca or args.tls_cert, "rb").read()
        write_atomic(args.kubeconfig_out, kubeconfig_text(url, args.token[0], args.namespace, ca))
    if args.url_file:
        write_atomic(args.url_file, url + "\n")
    if args.port_file:
        write_atomic(args.port_file, "%d\n" % ctl.port)
    sys.stdout.write(url + "\n")
    sys.stdout.flush()

    def on_signal(signum, frame):
        ctl.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not ctl.stopped.wait(0.1):
        try:
            emu.tick_jobs()
        except Exception as e:  # a controller bug must not kill the server
            sys.stderr.write("emulator: job tick: %s\n" % e)
    with ctl.lock:
        if ctl.server is not None:
            ctl.server.shutdown()
            ctl.server.server_close()
            ctl.server.close_all()
    if tmpdir:
        import shutil
        shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
