# miniyaml.py — a small YAML reader (python3 standard library only) for the test tools in tests/kube.
#
# It reads the subset of YAML that our manifests use: block mappings and sequences, flow mappings
# and sequences ({a: 1, b: [x, y]}), plain / single-quoted / double-quoted scalars, comments,
# `---` document separators, and literal/folded block scalars (| and >). Scalars follow the YAML
# 1.2 core schema (true/false, null/~, ints, floats; everything else is a string), which is what
# the controller (libyaml + core schema) and kubectl (sigs.k8s.io/yaml) agree on for our files.
# Anchors, aliases, tags and complex keys are rejected with an error naming the line.
import json
import re

__all__ = ["load", "load_all", "YAMLError"]


class YAMLError(ValueError):
    pass


_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


def _scalar(text, lineno):
    t = text.strip()
    if t == "" or t in ("~", "null", "Null", "NULL"):
        return None
    if t in ("true", "True", "TRUE"):
        return True
    if t in ("false", "False", "FALSE"):
        return False
    if t[0] in "&*!":
        raise YAMLError("line %d: anchors, aliases and tags are not supported: %r" % (lineno, t))
    if t.startswith('"'):
        if not t.endswith('"') or len(t) < 2:
            raise YAMLError("line %d: unterminated double-quoted string" % lineno)
        try:
            return json.loads(t)
        except ValueError:
            return json.loads(t.replace("\\'", "'"))
    if t.startswith("'"):
        if not t.endswith("'") or len(t) < 2:
            raise YAMLError("line %d: unterminated single-quoted string" % lineno)
        return t[1:-1].replace("''", "'")
    if _INT.match(t):
        return int(t)
    if t in (".inf", "+.inf", ".Inf"):
        return float("inf")
    if t in ("-.inf", "-.Inf"):
        return float("-inf")
    if t in (".nan", ".NaN"):
        return float("nan")
    if _FLOAT.match(t):
        return float(t)
    return t


def _strip_comment(line):
    """Removes a trailing comment (a # after whitespace, outside quotes)."""
    out = []
    q = None
    i = 0
    while i < len(line):
        c = line[i]
        if q:
            if c == q:
                if q == "'" and i + 1 < len(line) and line[i + 1] == "'":
                    out.append("''")
                    i += 2
                    continue
                q = None
            elif c == "\\" and q == '"':
                out.append(line[i:i + 2])
                i += 2
                continue
        else:
            if c in "\"'" and (i == 0 or line[i - 1] in " \t[{,:-"):
                q = c
            elif c == "#" and (i == 0 or line[i - 1] in " \t"):
                break
        out.append(c)
        i += 1
    return "".join(out).rstrip()


class _Flow:
    """Parser for flow collections: {a: 1, b: [x, "y"]}."""

    def __init__(self, text, lineno):
        self.s = text
        self.i = 0
        self.lineno = lineno

    def err(self, msg):
        raise YAMLError("line %d: %s in flow collection %r" % (self.lineno, msg, self.s))

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] in " \t\n":
            self.i += 1

    def value(self):
        self.ws()
        if self.i >= len(self.s):
            self.err("unexpected end")
        c = self.s[self.i]
        if c == "{":
            return self.mapping()
        if c == "[":
            return self.sequence()
        return self.scalar()

    def scalar(self, stops=",]}"):
        self.ws()
        c = self.s[self.i]
        if c in "\"'":
            j = self.i + 1
            while j < len(self.s):
                if self.s[j] == "\\" and c == '"':
                    j += 2
                    continue
                if self.s[j] == c:
                    if c == "'" and j + 1 < len(self.s) and self.s[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            tok = self.s[self.i:j + 1]
            self.i = j + 1
            return _scalar(tok, self.lineno)
        j = self.i
        while j < len(self.s) and self.s[j] not in stops:
            if self.s[j] == ":" and ":" in stops and (j + 1 >= len(self.s) or self.s[j + 1] in " ,]}"):
                break
            j += 1
        tok = self.s[self.i:j]
        self.i = j
        return _scalar(tok, self.lineno)

    def mapping(self):
        self.i += 1
        out = {}
        while True:
            self.ws()
            if self.i >= len(self.s):
                self.err("missing }")
            if self.s[self.i] == "}":
                self.i += 1
                return out
            key = self.scalar(stops=",]}:")
            self.ws()
            if self.i < len(self.s) and self.s[self.i] == ":":
                self.i += 1
                self.ws()
                if self.i < len(self.s) and self.s[self.i] in ",}":
                    val = None
                else:
                    val = self.value()
            else:
                val = None
            out[str(key) if not isinstance(key, str) else key] = val
            self.ws()
            if self.i < len(self.s) and self.s[self.i] == ",":
                self.i += 1

    def sequence(self):
        self.i += 1
        out = []
        while True:
            self.ws()
            if self.i >= len(self.s):
                self.err("missing ]")
            if self.s[self.i] == "]":
                self.i += 1
                return out
            out.append(self.value())
            self.ws()
            if self.i < len(self.s) and self.s[self.i] == ",":
                self.i += 1


def _flow(text, lineno):
    f = _Flow(text, lineno)
    v = f.value()
    f.ws()
    if f.i != len(f.s):
        f.err("trailing characters")
    return v


class _Block:
    def __init__(self, lines):
        # lines: list of (lineno, indent, text) without comments/blank lines; raw kept for block scalars
        self.lines = lines
        self.pos = 0

    def peek(self):
        return self.lines[self.pos] if self.pos < len(self.lines) else None

    def parse(self, indent):
        ln = self.peek()
        if ln is None:
            return None
        if ln[2].startswith("- ") or ln[2] == "-":
            return self.seq(ln[1])
        return self.map(ln[1])

    def value_after(self, rest, lineno, parent_indent, raw_lines=None):
        """The value of `key: rest` or `- rest`."""
        rest = rest.strip()
        if rest == "":
            nxt = self.peek()
            if nxt is None or nxt[1] < parent_indent or (nxt[1] == parent_indent and not nxt[2].startswith("-")):
                return None
            if nxt[1] == parent_indent and nxt[2].startswith("-"):
                return self.seq(nxt[1])  # a sequence at the same indent as its key
            return self.parse(nxt[1])
        if rest[0] in "|>":
            return self.block_scalar(rest, parent_indent)
        if rest[0] in "[{":
            text = rest
            # a flow collection may continue on following lines
            while not _balanced(text):
                nxt = self.peek()
                if nxt is None:
                    raise YAMLError("line %d: unterminated flow collection" % lineno)
                self.pos += 1
                text += " " + nxt[2]
            return _flow(text, lineno)
        return _scalar(rest, lineno)

    def block_scalar(self, head, parent_indent):
        style = head[0]
        chomp = "clip"
        if "-" in head:
            chomp = "strip"
        elif "+" in head:
            chomp = "keep"
        body = []
        block_indent = None
        while self.pos < len(self.lines):
            lineno, ind, text, raw = self.lines[self.pos]
            if raw.strip() and ind <= parent_indent:
                break
            if block_indent is None and raw.strip():
                block_indent = ind
            body.append(raw[block_indent:] if block_indent is not None and len(raw) >= block_indent else raw.strip())
            self.pos += 1
        if style == "|":
            s = "\n".join(body)
        else:
            s = " ".join(b for b in body)
        if chomp == "strip":
            return s.rstrip("\n")
        return s.rstrip("\n") + "\n"

    def map(self, indent):
        out = {}
        while True:
            ln = self.peek()
            if ln is None or ln[1] < indent:
                return out
            lineno, ind, text = ln[0], ln[1], ln[2]
            if ind > indent:
                raise YAMLError("line %d: bad indentation" % lineno)
            if text.startswith("- ") or text == "-":
                return out
            key, rest = _split_key(text, lineno)
            self.pos += 1
            if key in out:
                raise YAMLError("line %d: duplicate key %r" % (lineno, key))
            out[key] = self.value_after(rest, lineno, indent)

    def seq(self, indent):
        out = []
        while True:
            ln = self.peek()
            if ln is None or ln[1] < indent:
                return out
            lineno, ind, text = ln[0], ln[1], ln[2]
            if ind > indent or not (text.startswith("- ") or text == "-"):
                if ind == indent:
                    return out
                raise YAMLError("line %d: bad indentation in sequence" % lineno)
            rest = text[1:]
            stripped = rest.lstrip(" ")
            self.pos += 1
            if stripped == "":
                out.append(self.value_after("", lineno, indent + 1))
                continue
            child_indent = ind + 1 + (len(rest) - len(stripped))
            if stripped.startswith("- "):
                # nested sequence on the same line
                self.pos -= 1
                self.lines[self.pos] = (lineno, child_indent, stripped, self.lines[self.pos][3])
                out.append(self.seq(child_indent))
                continue
            if stripped[0] not in "[{\"'" and _has_key(stripped):
                # a mapping starting on the dash line
                self.pos -= 1
                self.lines[self.pos] = (lineno, child_indent, stripped, self.lines[self.pos][3])
                out.append(self.map(child_indent))
                continue
            out.append(self.value_after(stripped, lineno, indent + 1))


def _balanced(text):
    depth = 0
    q = None
    for i, c in enumerate(text):
        if q:
            if c == q:
                q = None
            continue
        if c in "\"'":
            q = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
    return depth <= 0


def _has_key(text):
    try:
        _split_key(text, 0)
        return True
    except YAMLError:
        return False


def _split_key(text, lineno):
    if text[0] in "\"'":
        q = text[0]
        j = 1
        while j < len(text):
            if text[j] == "\\" and q == '"':
                j += 2
                continue
            if text[j] == q:
                break
            j += 1
        key = _scalar(text[:j + 1], lineno)
        rest = text[j + 1:].lstrip()
        if not rest.startswith(":"):
            raise YAMLError("line %d: expected ':' after key" % lineno)
        return key, rest[1:]
    m = re.search(r":( |$)", text)
    if not m:
        raise YAMLError("line %d: expected 'key: value', got %r" % (lineno, text))
    key = text[:m.start()].strip()
    if key.startswith("? "):
        raise YAMLError("line %d: complex keys are not supported" % lineno)
    k = _scalar(key, lineno)
    return (k if isinstance(k, str) else key), text[m.end():]


def load_all(text):
    docs = []
    cur = []
    for raw in text.split("\n"):
        if raw.rstrip() == "---" or raw.startswith("--- "):
            docs.append(cur)
            cur = []
            continue
        if raw.rstrip() == "...":
            continue
        cur.append(raw)
    docs.append(cur)
    out = []
    lineno_base = 0
    for doc in docs:
        lines = []
        for k, raw in enumerate(doc):
            raw = raw.rstrip("\r")
            if "\t" in raw[: len(raw) - len(raw.lstrip())]:
                raise YAMLError("line %d: tabs are not allowed for indentation" % (lineno_base + k + 1))
            text = _strip_comment(raw)
            ind = len(raw) - len(raw.lstrip(" "))
            lines.append((lineno_base + k + 1, ind, text.strip(), raw))
        lineno_base += len(doc) + 1
        # drop blank/comment lines except inside block scalars (kept via raw in block_scalar)
        meaningful = [l for l in lines if l[2] != ""]
        if not meaningful:
            continue
        b = _Block(_with_block_scalar_lines(lines))
        first = b.peek()
        if first[2][0] in "[{":
            v = b.value_after(first[2], first[0], -1)
            b.pos += 1
        elif not _has_key(first[2]) and not first[2].startswith("-"):
            v = _scalar(first[2], first[0])
            b.pos += 1
        else:
            v = b.parse(first[1])
        if b.peek() is not None:
            raise YAMLError("line %d: unexpected content %r" % (b.peek()[0], b.peek()[2]))
        out.append(v)
    return out


def _with_block_scalar_lines(lines):
    """Keeps blank lines only where they belong to a block scalar."""
    out = []
    in_block = None
    for l in lines:
        if in_block is not None:
            if l[3].strip() == "" or l[1] > in_block:
                out.append(l)
                continue
            in_block = None
        if l[2] == "":
            continue
        out.append(l)
        t = l[2]
        if re.search(r"(:|^-)\s+[|>][-+]?$", t) or t in ("|", ">"):
            in_block = l[1]
    return out


def load(text):
    docs = load_all(text)
    if len(docs) != 1:
        raise YAMLError("expected one YAML document, got %d" % len(docs))
    return docs[0]
