# schemacheck.py — validates, prunes and defaults JSON values against a CRD's structural OpenAPI v3
# schema, the way kube-apiserver does for custom resources (python3 standard library only).
#
# Used by emulator.py (create/update of custom resources: the 422 causes and their messages follow
# the recorded transcripts in /work/shared/kube-golden/09) and by test_crd_schema.py, which checks
# that every manifests/examples/*.yaml is accepted by crd/. Supported keywords: type, format
# (int32/int64/date-time checked loosely), enum, minimum/maximum (+ exclusive, boolean form),
# minLength/maxLength, pattern, minItems/maxItems, minProperties/maxProperties, required, items,
# properties, additionalProperties (schema form), default, nullable,
# x-kubernetes-preserve-unknown-fields, x-kubernetes-int-or-string, x-kubernetes-embedded-resource.
import json
import math
import re

__all__ = ["validate", "prune", "apply_defaults", "check_object", "Cause"]


class Cause:
    """One validation problem: reason (FieldValueInvalid, ...), field path and message."""

    def __init__(self, reason, field, message):
        self.reason = reason
        self.field = field
        self.message = message

    def __repr__(self):
        return "%s: %s" % (self.field, self.message)

    def as_dict(self):
        return {"reason": self.reason, "message": self.message, "field": self.field}


def _go_value(v):
    """How Go's validation errors print a value (Invalid value: X)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e21:
            return str(int(v))
        return repr(v)
    if v is None:
        return "null"
    if isinstance(v, dict):
        return '"object"'
    if isinstance(v, list):
        return '"array"'
    return json.dumps(v)


def _type_name(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "integer" if v.is_integer() else "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "unknown"


def _type_ok(want, v):
    t = _type_name(v)
    if want == t:
        return True
    if want == "number" and t == "integer":
        return True
    return False


def _leaf(path):
    return path.rsplit(".", 1)[-1] if path else path


def _num(x):
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e21:
        return str(int(x))
    return str(x)


def validate(schema, value, path):
    """Returns a list of Cause for value at path (dotted, e.g. spec.size)."""
    causes = []
    _validate(schema or {}, value, path, causes)
    return causes


def _validate(s, v, path, causes):
    if v is None:
        if s.get("nullable") or s.get("x-kubernetes-preserve-unknown-fields") and "type" not in s:
            return
        if "type" in s:
            causes.append(Cause("FieldValueTypeInvalid", path,
                                'Invalid value: "null": %s in body must be of type %s: "null"' % (path, s["type"])))
        return
    if s.get("x-kubernetes-int-or-string"):
        if not (isinstance(v, str) or (_type_name(v) == "integer")):
            causes.append(Cause("FieldValueTypeInvalid", path,
                                'Invalid value: "%s": %s in body must be of type int-or-string: "%s"'
                                % (_type_name(v), path, _type_name(v))))
            return
    elif "type" in s and not _type_ok(s["type"], v):
        tn = _type_name(v)
        causes.append(Cause("FieldValueTypeInvalid", path,
                            'Invalid value: "%s": %s in body must be of type %s: "%s"' % (tn, path, s["type"], tn)))
        return
    if "enum" in s and v not in s["enum"]:
        causes.append(Cause("FieldValueNotSupported", path, "Unsupported value: %s: supported values: %s"
                            % (_go_value(v), ", ".join(_go_value(e) for e in s["enum"]))))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "maximum" in s:
            if s.get("exclusiveMaximum") and not v < s["maximum"]:
                causes.append(Cause("FieldValueInvalid", path, "Invalid value: %s: %s in body should be less than %s"
                                    % (_go_value(v), path, _num(s["maximum"]))))
            elif not s.get("exclusiveMaximum") and v > s["maximum"]:
                causes.append(Cause("FieldValueInvalid", path,
                                    "Invalid value: %s: %s in body should be less than or equal to %s"
                                    % (_go_value(v), path, _num(s["maximum"]))))
        if "minimum" in s:
            if s.get("exclusiveMinimum") and not v > s["minimum"]:
                causes.append(Cause("FieldValueInvalid", path, "Invalid value: %s: %s in body should be greater than %s"
                                    % (_go_value(v), path, _num(s["minimum"]))))
            elif not s.get("exclusiveMinimum") and v < s["minimum"]:
                causes.append(Cause("FieldValueInvalid", path,
                                    "Invalid value: %s: %s in body should be greater than or equal to %s"
                                    % (_go_value(v), path, _num(s["minimum"]))))
        if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
            causes.append(Cause("FieldValueInvalid", path, "Invalid value: %s: must be a finite number" % v))
    if isinstance(v, str):
        n = len(v)
        if "minLength" in s and n < s["minLength"]:
            causes.append(Cause("FieldValueInvalid", path, "Invalid value: %s: %s in body should be at least %d chars long"
                                % (_go_value(v), path, s["minLength"])))
        if "maxLength" in s and n > s["maxLength"]:
            causes.append(Cause("TooLong", path, "Too long: may not be more than %d bytes" % s["maxLength"]))
        if "pattern" in s and not re.search(s["pattern"], v):
            causes.append(Cause("FieldValueInvalid", path, "Invalid value: %s: %s in body should match '%s'"
                                % (_go_value(v), path, s["pattern"])))
        if s.get("format") == "date-time" and not re.match(
                r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[-+]\d{2}:\d{2})$", v):
            causes.append(Cause("FieldValueInvalid", path, "Invalid value: %s: %s in body must be of type date-time: %s"
                                % (_go_value(v), path, _go_value(v))))
    if isinstance(v, list):
        if "minItems" in s and len(v) < s["minItems"]:
            causes.append(Cause("FieldValueInvalid", path, "Invalid value: %d: %s in body should have at least %d items"
                                % (len(v), path, s["minItems"])))
        if "maxItems" in s and len(v) > s["maxItems"]:
            causes.append(Cause("TooMany", path, "Too many: %d: must have at most %d items" % (len(v), s["maxItems"])))
        if "items" in s:
            for i, item in enumerate(v):
                _validate(s["items"], item, "%s[%d]" % (path, i), causes)
    if isinstance(v, dict):
        if "minProperties" in s and len(v) < s["minProperties"]:
            causes.append(Cause("FieldValueInvalid", path, "Invalid value: %d: %s in body should have at least %d properties"
                                % (len(v), path, s["minProperties"])))
        if "maxProperties" in s and len(v) > s["maxProperties"]:
            causes.append(Cause("FieldValueInvalid", path, "Invalid value: %d: %s in body should have at most %d properties"
                                % (len(v), path, s["maxProperties"])))
        for r in s.get("required", []):
            if r not in v:
                causes.append(Cause("FieldValueRequired", (path + "." if path else "") + r, "Required value"))
        props = s.get("properties", {})
        addl = s.get("additionalProperties")
        for k, item in v.items():
            sub = (path + "." if path else "") + k
            if k in props:
                _validate(props[k], item, sub, causes)
            elif isinstance(addl, dict):
                _validate(addl, item, sub, causes)


def prune(schema, value, path=""):
    """Removes fields unknown to the schema (in place). Returns the dotted paths removed."""
    removed = []
    _prune(schema or {}, value, path, removed, top=True)
    return removed


def _prune(s, v, path, removed, top=False):
    if isinstance(v, dict):
        props = s.get("properties")
        addl = s.get("additionalProperties")
        preserve = s.get("x-kubernetes-preserve-unknown-fields") or s.get("x-kubernetes-embedded-resource")
        for k in list(v.keys()):
            sub = (path + "." if path else "") + k
            if top and k in ("apiVersion", "kind", "metadata"):
                continue
            if props is not None and k in props:
                _prune(props[k], v[k], sub, removed)
            elif isinstance(addl, dict):
                _prune(addl, v[k], sub, removed)
            elif addl is True or preserve:
                continue
            else:
                removed.append(sub)
                del v[k]
    elif isinstance(v, list) and isinstance(s.get("items"), dict):
        for i, item in enumerate(v):
            _prune(s["items"], item, "%s[%d]" % (path, i), removed)


def apply_defaults(schema, value):
    """Sets schema defaults for absent fields of objects that are present (in place)."""
    _default(schema or {}, value)
    return value


def _default(s, v):
    if isinstance(v, dict):
        for k, sub in s.get("properties", {}).items():
            if k not in v and "default" in sub:
                v[k] = json.loads(json.dumps(sub["default"]))
            if k in v:
                _default(sub, v[k])
        addl = s.get("additionalProperties")
        if isinstance(addl, dict):
            for k in v:
                _default(addl, v[k])
    elif isinstance(v, list) and isinstance(s.get("items"), dict):
        for item in v:
            _default(s["items"], item)


def check_object(schema, obj, strict=True):
    """The whole check a client-side validator wants: unknown fields (as causes when strict),
    then validation after defaulting. Returns a list of Cause; obj is not modified."""
    work = json.loads(json.dumps(obj))
    causes = []
    for p in prune(schema, work):
        if strict:
            causes.append(Cause("FieldValueInvalid", p, 'unknown field "%s"' % p))
    apply_defaults(schema, work)
    causes.extend(validate(schema, work, ""))
    return causes
