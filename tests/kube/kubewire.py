# kubewire.py — how kube-apiserver v1.32 writes things on the wire, for emulator.py (stdlib only).
#
# Owns: Go-compatible JSON encoding (compact + one "\n", or 2-space pretty with no newline; HTML
# characters escaped; integral floats without ".0"), Go struct field order for the built-in types we
# serve (Status, ObjectMeta, Event, Lease, Deployment, ReplicaSet, Pod, Job, Namespace, CRD, ...),
# Status objects, time formats, Go's duration.HumanDuration (Table "Age"), and a Go-style JSON
# syntax checker that produces encoding/json's error messages ("invalid character 'h' in literal
# true (expecting 'r')").
import datetime
import json
import time
import uuid

# ---------------------------------------------------------------------------------------------
# time


def now_time():
    return time.time()


def rfc3339(t=None):
    t = now_time() if t is None else t
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(t=None):
    t = now_time() if t is None else t
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % d.microsecond


def parse_time(s):
    """RFC 3339 (with or without fraction) → epoch seconds, or None."""
    if not isinstance(s, str):
        return None
    try:
        if s.endswith("Z"):
            s = s[:-1] + "+00:00"
        return datetime.datetime.fromisoformat(s).timestamp()
    except ValueError:
        return None


def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return "%ds" % s
    minutes = s // 60
    if minutes < 10:
        sec = s % 60
        return "%dm" % minutes if sec == 0 else "%dm%ds" % (minutes, sec)
    if minutes < 180:
        return "%dm" % minutes
    hours = s // 3600
    if hours < 8:
        m = minutes % 60
        return "%dh" % hours if m == 0 else "%dh%dm" % (hours, m)
    if hours < 48:
        return "%dh" % hours
    if hours < 24 * 8:
        h = hours % 24
        return "%dd" % (hours // 24) if h == 0 else "%dd%dh" % (hours // 24, h)
    if hours < 24 * 365 * 2:
        return "%dd" % (hours // 24)
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return "%dy" % (hours // 24 // 365) if dy == 0 else "%dy%dd" % (hours // 24 // 365, dy)
    return "%dy" % (hours // 24 // 365)


def new_uid():
    return str(uuid.uuid4())


# ---------------------------------------------------------------------------------------------
# JSON


def _go_numbers(o):
    if isinstance(o, float):
        if o.is_integer() and abs(o) < 1e21:
            return int(o)
        return o
    if isinstance(o, dict):
        return {k: _go_numbers(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_go_numbers(v) for v in o]
    return o


def _escape(s):
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def encode(obj, pretty=False):
    """Bytes as the server sends them: compact + "\\n", or pretty (indent 2) without newline."""
    o = _go_numbers(obj)
    if pretty:
        s = json.dumps(o, ensure_ascii=False, indent=2)
        return _escape(s).encode("utf-8")
    s = json.dumps(o, ensure_ascii=False, separators=(",", ":"))
    return (_escape(s) + "\n").encode("utf-8")


def sort_keys(o):
    """Unstructured (custom resources): every object's keys sorted."""
    if isinstance(o, dict):
        return {k: sort_keys(o[k]) for k in sorted(o)}
    if isinstance(o, list):
        return [sort_keys(v) for v in o]
    return o


# ---------------------------------------------------------------------------------------------
# Go struct field order. A spec is a list of field names, or a dict {"_": [names], field: subspec}.
# "*" in a dict applies to every value of a Go map (keys sorted).

MFE = ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1", "subresource"]
OWNERREF = ["apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion"]
META = {"_": ["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
              "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
              "ownerReferences", "finalizers", "managedFields"],
        "ownerReferences": OWNERREF, "managedFields": {"_": MFE, "fieldsV1": "raw"},
        "labels": "map", "annotations": "map"}
LISTMETA = ["selfLink", "resourceVersion", "continue", "remainingItemCount"]
SELECTOR = {"_": ["matchLabels", "matchExpressions"], "matchLabels": "map",
            "matchExpressions": ["key", "operator", "values"]}
CONTAINER = {"_": ["name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources",
                   "resizePolicy", "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe",
                   "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath",
                   "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty"],
             "ports": ["name", "hostPort", "containerPort", "protocol", "hostIP"],
             "env": ["name", "value", "valueFrom"],
             "volumeMounts": ["name", "readOnly", "recursiveReadOnly", "mountPath", "subPath", "mountPropagation",
                              "subPathExpr"]}
PODSPEC = {"_": ["volumes", "initContainers", "containers", "ephemeralContainers", "restartPolicy",
                 "terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy", "nodeSelector",
                 "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "nodeName", "hostNetwork",
                 "hostPID", "hostIPC", "shareProcessNamespace", "securityContext", "imagePullSecrets", "hostname",
                 "subdomain", "affinity", "schedulerName", "tolerations", "hostAliases", "priorityClassName",
                 "priority", "dnsConfig", "readinessGates", "runtimeClassName", "enableServiceLinks",
                 "preemptionPolicy", "overhead", "topologySpreadConstraints", "setHostnameAsFQDN", "os",
                 "hostUsers", "schedulingGates", "resourceClaims", "resources"],
           "containers": CONTAINER, "initContainers": CONTAINER, "nodeSelector": "map",
           "tolerations": ["key", "operator", "value", "effect", "tolerationSeconds"]}
TEMPLATE = {"_": ["metadata", "spec"], "metadata": META, "spec": PODSPEC}
DEPLOY_COND = ["type", "status", "lastUpdateTime", "lastTransitionTime", "reason", "message"]
COND = ["type", "status", "observedGeneration", "lastProbeTime", "lastTransitionTime", "reason", "message"]
OBJREF = ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"]

TYPES = {
    "Status": {"_": ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"],
               "details": {"_": ["name", "group", "kind", "uid", "causes", "retryAfterSeconds"],
                           "causes": ["reason", "message", "field"]}},
    "Namespace": {"_": ["kind", "apiVersion", "metadata", "spec", "status"], "metadata": META,
                  "spec": ["finalizers"], "status": {"_": ["phase", "conditions"]}},
    "Event": {"_": ["kind", "apiVersion", "metadata", "involvedObject", "reason", "message", "source",
                    "firstTimestamp", "lastTimestamp", "count", "type", "eventTime", "series", "action", "related",
                    "reportingComponent", "reportingInstance"],
              "metadata": META, "involvedObject": OBJREF, "related": OBJREF, "source": ["component", "host"],
              "series": ["count", "lastObservedTime"]},
    "events.k8s.io/Event": {"_": ["kind", "apiVersion", "metadata", "eventTime", "series", "reportingController",
                                  "reportingInstance", "action", "reason", "regarding", "related", "note", "type",
                                  "deprecatedSource", "deprecatedFirstTimestamp", "deprecatedLastTimestamp",
                                  "deprecatedCount"],
                            "metadata": META, "regarding": OBJREF, "related": OBJREF,
                            "deprecatedSource": ["component", "host"]},
    "Lease": {"_": ["kind", "apiVersion", "metadata", "spec"], "metadata": META,
              "spec": ["holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime", "leaseTransitions",
                       "strategy", "preferredHolder"]},
    "Deployment": {"_": ["kind", "apiVersion", "metadata", "spec", "status"], "metadata": META,
                   "spec": {"_": ["replicas", "selector", "template", "strategy", "minReadySeconds",
                                  "revisionHistoryLimit", "paused", "progressDeadlineSeconds"],
                            "selector": SELECTOR, "template": TEMPLATE,
                            "strategy": {"_": ["type", "rollingUpdate"],
                                         "rollingUpdate": ["maxUnavailable", "maxSurge"]}},
                   "status": {"_": ["observedGeneration", "replicas", "updatedReplicas", "readyReplicas",
                                    "availableReplicas", "unavailableReplicas", "terminatingReplicas", "conditions",
                                    "collisionCount"], "conditions": DEPLOY_COND}},
    "ReplicaSet": {"_": ["kind", "apiVersion", "metadata", "spec", "status"], "metadata": META,
                   "spec": {"_": ["replicas", "minReadySeconds", "selector", "template"], "selector": SELECTOR,
                            "template": TEMPLATE},
                   "status": {"_": ["replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas",
                                    "terminatingReplicas", "observedGeneration", "conditions"],
                              "conditions": COND}},
    "Job": {"_": ["kind", "apiVersion", "metadata", "spec", "status"], "metadata": META,
            "spec": {"_": ["parallelism", "completions", "activeDeadlineSeconds", "podFailurePolicy",
                           "successPolicy", "backoffLimit", "backoffLimitPerIndex", "maxFailedIndexes", "selector",
                           "manualSelector", "template", "ttlSecondsAfterFinished", "completionMode", "suspend",
                           "podReplacementPolicy", "managedBy"], "selector": SELECTOR, "template": TEMPLATE},
            "status": {"_": ["conditions", "startTime", "completionTime", "active", "succeeded", "failed",
                             "terminating", "completedIndexes", "failedIndexes", "uncountedTerminatedPods", "ready"],
                       "conditions": ["type", "status", "lastProbeTime", "lastTransitionTime", "reason", "message"]}},
    "Pod": {"_": ["kind", "apiVersion", "metadata", "spec", "status"], "metadata": META, "spec": PODSPEC,
            "status": {"_": ["phase", "conditions", "message", "reason", "nominatedNodeName", "hostIP", "hostIPs",
                             "podIP", "podIPs", "startTime", "initContainerStatuses", "containerStatuses",
                             "qosClass"], "conditions": COND}},
    "ConfigMap": {"_": ["kind", "apiVersion", "metadata", "immutable", "data", "binaryData"], "metadata": META,
                  "data": "map"},
    "Secret": {"_": ["kind", "apiVersion", "metadata", "immutable", "data", "stringData", "type"],
               "metadata": META, "data": "map"},
    "CustomResourceDefinition": {
        "_": ["kind", "apiVersion", "metadata", "spec", "status"], "metadata": META,
        "spec": {"_": ["group", "names", "scope", "versions", "conversion", "preserveUnknownFields"],
                 "names": ["plural", "singular", "shortNames", "kind", "listKind", "categories"],
                 "versions": {"_": ["name", "served", "storage", "deprecated", "deprecationWarning", "schema",
                                    "subresources", "additionalPrinterColumns", "selectableFields"],
                              "schema": {"_": ["openAPIV3Schema"], "openAPIV3Schema": "schema"},
                              "additionalPrinterColumns": ["name", "type", "format", "description", "priority",
                                                           "jsonPath"]}},
        "status": {"_": ["conditions", "acceptedNames", "storedVersions"],
                   "conditions": ["type", "status", "lastTransitionTime", "reason", "message"],
                   "acceptedNames": ["plural", "singular", "shortNames", "kind", "listKind", "categories"]}},
    "Table": {"_": ["kind", "apiVersion", "metadata", "columnDefinitions", "rows"],
              "metadata": LISTMETA,
              "columnDefinitions": ["name", "type", "format", "description", "priority"],
              "rows": {"_": ["cells", "conditions", "object"], "object": "raw"}},
    "PartialObjectMetadata": {"_": ["kind", "apiVersion", "metadata"], "metadata": META},
}

SCHEMA_ORDER = ["id", "$schema", "$ref", "description", "type", "format", "title", "default", "maximum",
                "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems",
                "minItems", "uniqueItems", "multipleOf", "enum", "maxProperties", "minProperties", "required",
                "items", "allOf", "oneOf", "anyOf", "not", "properties", "additionalProperties",
                "patternProperties", "dependencies", "additionalItems", "definitions", "externalDocs", "example",
                "nullable", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource",
                "x-kubernetes-int-or-string", "x-kubernetes-list-map-keys", "x-kubernetes-list-type",
                "x-kubernetes-map-type", "x-kubernetes-validations"]


def _order_schema(s):
    if isinstance(s, list):
        return [_order_schema(x) for x in s]
    if not isinstance(s, dict):
        return s
    out = {}
    for k in SCHEMA_ORDER:
        if k in s:
            v = s[k]
            if k in ("properties", "patternProperties", "definitions"):
                out[k] = {p: _order_schema(v[p]) for p in sorted(v)}
            elif k in ("items", "additionalProperties", "not"):
                out[k] = _order_schema(v)
            elif k in ("allOf", "oneOf", "anyOf"):
                out[k] = [_order_schema(x) for x in v]
            elif k == "default" or k == "example":
                out[k] = sort_keys(v)
            else:
                out[k] = v
    for k in s:
        if k not in out:
            out[k] = s[k]
    return out


def order(o, spec):
    if spec is None:
        return o
    if spec == "raw":
        return sort_keys(o)
    if spec == "schema":
        return _order_schema(o)
    if spec == "map":
        return {k: o[k] for k in sorted(o)} if isinstance(o, dict) else o
    if isinstance(o, list):
        return [order(x, spec) for x in o]
    if not isinstance(o, dict):
        return o
    if isinstance(spec, list):
        spec = {"_": spec}
    out = {}
    for k in spec["_"]:
        if k in o:
            out[k] = order(o[k], spec.get(k))
    for k in o:
        if k not in out:
            out[k] = o[k]
    return out


def order_builtin(obj, type_name):
    return order(obj, TYPES.get(type_name))


# ---------------------------------------------------------------------------------------------
# Status objects


def status(code, reason, message, details=None, success=False):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {},
         "status": "Success" if success else "Failure"}
    if message is not None:
        s["message"] = message
    if reason:
        s["reason"] = reason
    if details is not None:
        s["details"] = details
    if code and not success:
        s["code"] = code
    return order_builtin(s, "Status")


def gr(plural, group):
    return plural + "." + group if group else plural


def not_found(plural, group, name):
    d = {"name": name}
    if group:
        d["group"] = group
    d["kind"] = plural
    return status(404, "NotFound", '%s "%s" not found' % (gr(plural, group), name), d)


def already_exists(plural, group, name):
    d = {"name": name}
    if group:
        d["group"] = group
    d["kind"] = plural
    return status(409, "AlreadyExists", '%s "%s" already exists' % (gr(plural, group), name), d)


def conflict(plural, group, name):
    d = {"name": name}
    if group:
        d["group"] = group
    d["kind"] = plural
    return status(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                  'please apply your changes to the latest version and try again' % (gr(plural, group), name), d)


def invalid(kind_or_plural, group, name, causes):
    """causes: list of dicts {reason, message, field}."""
    parts = ["%s: %s" % (c["field"], c["message"]) if c.get("field") else c["message"] for c in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    qual = kind_or_plural + ("." + group if group else "")
    d = {}
    if name is not None:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = kind_or_plural
    d["causes"] = causes
    return status(422, "Invalid", '%s "%s" is invalid: %s' % (qual, name or "", joined), d)


def bad_request(message):
    return status(400, "BadRequest", message)


# ---------------------------------------------------------------------------------------------
# Go encoding/json syntax errors


class GoJSONError(ValueError):
    pass


def _quote_char(c):
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    if 0x20 <= ord(c) < 0x7f:
        return "'" + c + "'"
    o = ord(c)
    if o < 0x10000:
        return "'\\u%04x'" % o
    return "'\\U%08x'" % o


def go_json_check(data):
    """Raises GoJSONError with Go's message if data (bytes) is not valid JSON."""
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError:
        s = data.decode("latin-1")
    p = _GoScan(s)
    p.ws()
    if p.i >= len(s):
        raise GoJSONError("unexpected end of JSON input")
    p.value("looking for beginning of value")
    p.ws()
    if p.i < len(s):
        raise GoJSONError("invalid character %s after top-level value" % _quote_char(s[p.i]))


class _GoScan:
    def __init__(self, s):
        self.s = s
        self.i = 0

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] in " \t\r\n":
            self.i += 1

    def need(self):
        if self.i >= len(self.s):
            raise GoJSONError("unexpected end of JSON input")
        return self.s[self.i]

    def value(self, ctx):
        c = self.need()
        if c == "{":
            self.i += 1
            self.ws()
            if self.need() == "}":
                self.i += 1
                return
            while True:
                self.ws()
                c = self.need()
                if c != '"':
                    raise GoJSONError("invalid character %s looking for beginning of object key string"
                                      % _quote_char(c))
                self.string()
                self.ws()
                c = self.need()
                if c != ":":
                    raise GoJSONError("invalid character %s after object key" % _quote_char(c))
                self.i += 1
                self.ws()
                self.value("looking for beginning of value")
                self.ws()
                c = self.need()
                if c == ",":
                    self.i += 1
                    continue
                if c == "}":
                    self.i += 1
                    return
                raise GoJSONError("invalid character %s after object key:value pair" % _quote_char(c))
        if c == "[":
            self.i += 1
            self.ws()
            if self.need() == "]":
                self.i += 1
                return
            while True:
                self.ws()
                self.value("looking for beginning of value")
                self.ws()
                c = self.need()
                if c == ",":
                    self.i += 1
                    continue
                if c == "]":
                    self.i += 1
                    return
                raise GoJSONError("invalid character %s after array element" % _quote_char(c))
        if c == '"':
            self.string()
            return
        for lit in ("true", "false", "null"):
            if c == lit[0]:
                for k, want in enumerate(lit[1:], 1):
                    if self.i + k >= len(self.s):
                        raise GoJSONError("unexpected end of JSON input")
                    got = self.s[self.i + k]
                    if got != want:
                        raise GoJSONError("invalid character %s in literal %s (expecting '%s')"
                                          % (_quote_char(got), lit, want))
                self.i += len(lit)
                return
        if c == "-" or c.isdigit():
            j = self.i + 1
            while j < len(self.s) and (self.s[j].isdigit() or self.s[j] in ".eE+-"):
                j += 1
            try:
                float(self.s[self.i:j])
            except ValueError:
                raise GoJSONError("invalid character %s in numeric literal" % _quote_char(self.s[j - 1]))
            self.i = j
            return
        raise GoJSONError("invalid character %s %s" % (_quote_char(c), ctx))

    def string(self):
        self.i += 1
        while True:
            c = self.need()
            self.i += 1
            if c == '"':
                return
            if c == "\\":
                self.need()
                self.i += 1
            elif ord(c) < 0x20:
                raise GoJSONError("invalid character %s in string literal" % _quote_char(c))
