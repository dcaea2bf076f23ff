# kubeobj.py — object-level helpers for emulator.py (stdlib only): label and field selectors,
# JSON merge patch (RFC 7386), a pragmatic strategic merge patch (lists of objects merged by
# their "name" key, null deletes, $patch directives dropped), JSON patch (RFC 6902), printer-column
# JSONPath, managedFields (fieldsV1 sets, per-manager ownership, the apiserver's sort order), and
# names (RFC 1123 checks, generateName suffixes, pod-template-hash).
import copy
import hashlib
import json
import random
import re

# ---------------------------------------------------------------------------------------------
# selectors


class SelectorError(ValueError):
    pass


def _split_top(s):
    parts, depth, cur = [], 0, ""
    for c in s:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


_LKEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"


def parse_label_selector(s):
    """Returns a list of (key, op, values). ops: =, !=, in, notin, exists, !exists."""
    reqs = []
    if not s:
        return reqs
    for term in _split_top(s):
        m = re.match(r"^(%s)\s+(in|notin)\s+\((.*)\)$" % _LKEY, term)
        if m:
            vals = [v.strip() for v in m.group(3).split(",")]
            reqs.append((m.group(1), m.group(2), vals))
            continue
        m = re.match(r"^!\s*(%s)$" % _LKEY, term)
        if m:
            reqs.append((m.group(1), "!exists", []))
            continue
        m = re.match(r"^(%s)\s*(==|=|!=)\s*([-A-Za-z0-9_.]*)$" % _LKEY, term)
        if m:
            op = "!=" if m.group(2) == "!=" else "="
            reqs.append((m.group(1), op, [m.group(3)]))
            continue
        m = re.match(r"^(%s)$" % _LKEY, term)
        if m:
            reqs.append((m.group(1), "exists", []))
            continue
        raise SelectorError("unable to parse requirement: %s" % term)
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "=" and not (has and v == vals[0]):
            return False
        if op == "!=" and has and v == vals[0]:
            return False
        if op == "in" and not (has and v in vals):
            return False
        if op == "notin" and has and v in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
    return True


def parse_field_selector(s):
    reqs = []
    if not s:
        return reqs
    for term in _split_top(s):
        m = re.match(r"^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$", term)
        if not m:
            raise SelectorError("invalid selector: '%s'; can't understand '%s'" % (s, term))
        reqs.append((m.group(1), "!=" if m.group(2) == "!=" else "=", m.group(3)))
    return reqs


def field_value(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict) or p not in cur:
            return ""
        cur = cur[p]
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def fields_match(reqs, obj):
    for path, op, val in reqs:
        got = field_value(obj, path)
        if op == "=" and got != val:
            return False
        if op == "!=" and got == val:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# patches


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch; returns a new value."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


_MERGE_KEYS = ("name", "containerPort", "type", "uid", "mountPath", "ip", "key")


def _merge_key(items):
    for k in _MERGE_KEYS:
        if items and all(isinstance(i, dict) and k in i for i in items):
            return k
    return None


def strategic_merge_patch(target, patch):
    """A pragmatic strategic merge patch: objects merge, null deletes, lists of objects with a
    common key (name, containerPort, type, ...) merge by it, other lists are replaced."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    if patch.get("$patch") == "delete":
        return None
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k.startswith("$deleteFromPrimitiveList/") or k == "$patch" \
                or k.startswith("$retainKeys"):
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            out[k] = strategic_merge_patch(out.get(k), v)
        elif isinstance(v, list) and isinstance(out.get(k), list):
            key = _merge_key([i for i in v if not (isinstance(i, dict) and "$patch" in i)] + out[k])
            if key is None:
                out[k] = copy.deepcopy(v)
            else:
                merged = copy.deepcopy(out[k])
                for item in v:
                    idx = next((n for n, m in enumerate(merged) if m.get(key) == item.get(key)), None)
                    if isinstance(item, dict) and item.get("$patch") == "delete":
                        if idx is not None:
                            merged.pop(idx)
                    elif idx is None:
                        merged.append(strategic_merge_patch({}, item))
                    else:
                        merged[idx] = strategic_merge_patch(merged[idx], item)
                out[k] = merged
        else:
            out[k] = copy.deepcopy(v)
    return out


class PatchError(ValueError):
    pass


def _ptr(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError("invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, list):
            cur = cur[int(p)]
        elif isinstance(cur, dict):
            if p not in cur:
                raise PatchError("doc is missing path: %s" % p)
            cur = cur[p]
        else:
            raise PatchError("doc is missing path")
    return cur


def json_patch(doc, ops):
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    for op in ops:
        kind = op.get("op")
        parts = _ptr(op.get("path", ""))
        try:
            if kind in ("add", "replace"):
                if not parts:
                    doc = copy.deepcopy(op["value"])
                    continue
                parent = _walk(doc, parts[:-1])
                last = parts[-1]
                if isinstance(parent, list):
                    if last == "-":
                        parent.append(copy.deepcopy(op["value"]))
                    elif kind == "add":
                        parent.insert(int(last), copy.deepcopy(op["value"]))
                    else:
                        parent[int(last)] = copy.deepcopy(op["value"])
                else:
                    if kind == "replace" and last not in parent:
                        raise PatchError("replace operation does not apply: doc is missing key: %s"
                                         % op.get("path"))
                    parent[last] = copy.deepcopy(op["value"])
            elif kind == "remove":
                parent = _walk(doc, parts[:-1])
                if isinstance(parent, list):
                    parent.pop(int(parts[-1]))
                else:
                    if parts[-1] not in parent:
                        raise PatchError("remove operation does not apply: doc is missing path: \"%s\""
                                         % op.get("path"))
                    del parent[parts[-1]]
            elif kind in ("move", "copy"):
                src = _ptr(op.get("from", ""))
                val = copy.deepcopy(_walk(doc, src))
                if kind == "move":
                    sp = _walk(doc, src[:-1])
                    if isinstance(sp, list):
                        sp.pop(int(src[-1]))
                    else:
                        del sp[src[-1]]
                doc = json_patch(doc, [{"op": "add", "path": op["path"], "value": val}])
            elif kind == "test":
                if _walk(doc, parts) != op.get("value"):
                    raise PatchError("testing value %s failed" % op.get("path"))
            else:
                raise PatchError("Unexpected kind: %s" % kind)
        except (IndexError, ValueError, KeyError, TypeError) as e:
            if isinstance(e, PatchError):
                raise
            raise PatchError("%s operation does not apply: %s" % (kind, e))
    return doc


# ---------------------------------------------------------------------------------------------
# printer-column JSONPath: .a.b, .a[0].b, .a[?(@.type=="Ready")].b, .a[*].b


def jsonpath(obj, path):
    """Returns the list of values found."""
    toks = re.findall(r"\.([A-Za-z0-9_\-/]+)|\[([^\]]*)\]|\.\*", path.strip().lstrip("{").rstrip("}"))
    cur = [obj]
    for name, idx in toks:
        nxt = []
        for c in cur:
            if name:
                if isinstance(c, dict) and name in c:
                    nxt.append(c[name])
            elif idx == "*" or idx == "":
                if isinstance(c, list):
                    nxt.extend(c)
                elif isinstance(c, dict):
                    nxt.extend(c.values())
            elif idx.startswith("?("):
                m = re.match(r"\?\(@\.([A-Za-z0-9_.]+)\s*(==|!=)\s*[\"']?(.*?)[\"']?\)$", idx)
                if m and isinstance(c, list):
                    for item in c:
                        v = field_value(item, m.group(1)) if isinstance(item, dict) else None
                        if (m.group(2) == "==") == (v == m.group(3)):
                            nxt.append(item)
            else:
                try:
                    i = int(idx)
                    if isinstance(c, list) and -len(c) <= i < len(c):
                        nxt.append(c[i])
                except ValueError:
                    pass
        cur = nxt
    return cur


# ---------------------------------------------------------------------------------------------
# names

_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def name_problem(name, label=False):
    """None, or the apiserver's message for an invalid object name."""
    if label:
        if len(name) > 63 or not _LABEL_RE.match(name):
            return ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
                    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
        return None
    if len(name) > 253:
        return "must be no more than 253 characters"
    if not _NAME_RE.match(name):
        return ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    return None


def random_suffix(n=5, rng=random):
    return "".join(rng.choice(SAFE_ALPHABET) for _ in range(n))


def template_hash(template):
    h = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    x = int.from_bytes(h[:8], "big")
    out = ""
    while len(out) < 10:
        out += SAFE_ALPHABET[x % len(SAFE_ALPHABET)]
        x //= len(SAFE_ALPHABET)
    return out


# ---------------------------------------------------------------------------------------------
# managedFields

ATOMIC_BUILTIN = ("selector", "involvedObject", "regarding", "related")
META_MANAGED = ("labels", "annotations", "ownerReferences", "finalizers", "generateName")


def _elem_key(item):
    if isinstance(item, dict):
        for keys in (("uid",), ("containerPort", "protocol"), ("name",), ("type",)):
            if all(k in item for k in keys):
                return "k:" + json.dumps({k: item[k] for k in keys}, separators=(",", ":"), sort_keys=False)
    return None


def field_paths(obj, scope, crd):
    """The set of field paths (tuples) of obj that a manager of `scope` ("main" or "status") may own.
    Leaves map to their value (for change detection); maps and keyed list items are nodes too."""
    out = {}

    def walk(v, prefix, in_meta):
        if isinstance(v, dict):
            for k, sub in v.items():
                p = prefix + ("f:" + k,)
                if sub is None:
                    continue
                if not crd and k in ATOMIC_BUILTIN:
                    out[p] = json.dumps(sub, sort_keys=True)
                elif isinstance(sub, dict) and sub:
                    out[p] = "."
                    walk(sub, p, False)
                elif isinstance(sub, list) and sub and not crd:
                    walk_list(sub, p, k)
                else:
                    out[p] = json.dumps(sub, sort_keys=True)
        else:
            out[prefix] = json.dumps(v, sort_keys=True)

    def walk_list(items, p, key):
        if key == "finalizers" and all(isinstance(i, str) for i in items):
            out[p] = "."
            for i in items:
                out[p + ("v:" + json.dumps(i),)] = ""
            return
        keys = [_elem_key(i) for i in items]
        if all(keys):
            out[p] = "."
            for i, k in zip(items, keys):
                out[p + (k,)] = "."
                walk(i, p + (k,), None)
        else:
            out[p] = json.dumps(items, sort_keys=True)

    if scope == "status":
        if "status" in obj:
            st = obj["status"]
            if isinstance(st, dict) and st:
                out[("f:status",)] = "."
                walk(st, ("f:status",), None)
            else:
                out[("f:status",)] = json.dumps(st)
        return out
    for k, v in obj.items():
        if k in ("apiVersion", "kind") or (k == "status" and scope == "main-nostatus"):
            continue
        if k == "metadata":
            md = {m: v[m] for m in META_MANAGED if m in v}
            for mk, mv in md.items():
                p = ("f:metadata", "f:" + mk)
                if isinstance(mv, dict) and mv:
                    out[p] = "."
                    walk(mv, p, None)
                elif isinstance(mv, list) and mv:
                    walk_list(mv, p, mk)
                else:
                    out[p] = json.dumps(mv)
            continue
        p = ("f:" + k,)
        if v is None:
            continue
        if not crd and k in ATOMIC_BUILTIN:
            out[p] = json.dumps(v, sort_keys=True)
        elif isinstance(v, dict) and v:
            out[p] = "."
            walk(v, p, None)
        elif isinstance(v, list) and v and not crd:
            walk_list(v, p, k)
        else:
            out[p] = json.dumps(v, sort_keys=True)
    return out


def fields_v1(paths, crd):
    """Builds the fieldsV1 tree from a set of paths. "." marks a node owned as a whole."""
    root = {}
    for p in sorted(paths):
        node = root
        for i, seg in enumerate(p):
            node = node.setdefault(seg, {})
        is_node = paths[p] == "."
        if is_node and (len(p) > 1 or crd) and not (len(p) == 1 and p[0] == "f:metadata"):
            if crd or _builtin_dot(p):
                node["."] = {}
    return _sorted_tree(root)


def _builtin_dot(p):
    last = p[-1]
    if last.startswith("k:"):
        return True
    if len(p) >= 2 and p[0] == "f:metadata":
        return True
    return last in ("f:labels", "f:annotations", "f:rollingUpdate", "f:matchLabels", "f:ports", "f:status",
                    "f:conditions") \
        and not (len(p) == 1)


def _sorted_tree(t):
    return {k: _sorted_tree(t[k]) for k in sorted(t)}


def update_managed_fields(old_obj, new_obj, manager, operation, subresource, api_version, time_str, crd,
                          has_status_sub):
    """Returns the new managedFields list for new_obj written by `manager`."""
    entries = copy.deepcopy((old_obj or {}).get("metadata", {}).get("managedFields", [])) if old_obj else []
    scope = "status" if subresource == "status" else ("main-nostatus" if has_status_sub else "main")
    old_paths = field_paths(old_obj, scope, crd) if old_obj else {}
    new_paths = field_paths(new_obj, scope, crd)
    changed = {p for p, v in new_paths.items() if old_paths.get(p) != v}
    if not changed and old_obj is not None and set(old_paths) == set(new_paths):
        return entries
    sub = subresource or ""
    mine = None
    for e in entries:
        if e.get("manager") == manager and e.get("operation") == operation and e.get("subresource", "") == sub \
                and e.get("apiVersion") == api_version:
            mine = e
    owned = set()
    if mine is not None:
        owned = set(_tree_paths(mine.get("fieldsV1", {})))
    # other managers lose what changed; everyone loses what no longer exists
    for e in entries:
        if e is mine:
            continue
        if e.get("subresource", "") != sub and not (sub == "" and not has_status_sub):
            continue
        their = set(_tree_paths(e.get("fieldsV1", {})))
        keep = {p for p in their if p in new_paths and p not in changed}
        if keep != their:
            e["fieldsV1"] = fields_v1({p: new_paths[p] for p in keep}, crd)
            e["_empty"] = not keep
    owned = {p for p in owned if p in new_paths} | changed
    # a node whose children I own is mine when I created it
    for p in list(owned):
        for i in range(1, len(p)):
            q = p[:i]
            if q in new_paths and new_paths[q] == "." and (q not in old_paths):
                owned.add(q)
    entries = [e for e in entries if e is not mine and not e.pop("_empty", False)]
    for e in entries:
        e.pop("_empty", None)
    if owned:
        entry = {"apiVersion": api_version, "fieldsType": "FieldsV1",
                 "fieldsV1": fields_v1({p: new_paths[p] for p in owned}, crd),
                 "manager": manager, "operation": operation, "time": time_str}
        if sub:
            entry["subresource"] = sub
        entries.append(entry)
    entries.sort(key=lambda e: (e.get("operation", ""), e.get("time", ""), e.get("manager", ""),
                                e.get("apiVersion", ""), e.get("subresource", "")))
    return entries


def _tree_paths(tree, prefix=()):
    for k, v in tree.items():
        if k == ".":
            continue
        p = prefix + (k,)
        yield p
        if isinstance(v, dict):
            yield from _tree_paths(v, p)
