#!/usr/bin/env python3
# test_crd_docs.py — the CRD explains itself and docs/spec-reference.md agrees with it (issue 17, part 1).
#
# - Every property of the CRD's schema (spec and status, list items included) has a description, so
#   `kubectl explain shp.spec.model` never answers <no description>.
# - A field with a default says it in its description ("Default: 10s.") and the value is the schema's.
# - Every field path in the tables of docs/spec-reference.md exists in the CRD, every spec field of the
#   CRD is in a table (itself or its parent object, like `metric.source.http` for its url), and where
#   the CRD has a default the table's default column is the same value.
# - Every CEL rule (x-kubernetes-validations) has a message, and its fieldPath names a declared field.
# The authority for names, types and defaults is controller/runtime/spec.c; test_crd_schema.py checks
# the CRD's defaults against the brief's, this file checks the descriptions and the docs against the CRD.
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import miniyaml  # noqa: E402

CRD_PATH = os.path.join(ROOT, "crd", "selfhealingpipelines.selfheal.dev.yaml")
DOC_PATH = os.path.join(ROOT, "docs", "spec-reference.md")
# metadata is Kubernetes' ObjectMeta: the API server documents it (a CRD may not)
UNDESCRIBED_OK = {"metadata"}


def schema():
    with open(CRD_PATH) as f:
        crd = miniyaml.load(f.read())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def walk(s, path=""):
    """(path, node) of every property and list item below s."""
    for k, sub in s.get("properties", {}).items():
        p = path + "." + k if path else k
        yield p, sub
        yield from walk(sub, p)
    if isinstance(s.get("items"), dict):
        yield path + "[]", s["items"]
        yield from walk(s["items"], path + "[]")


def scalar(text):
    """A default as written in prose or a table cell: YAML flow syntax, backticks dropped."""
    t = text.strip().strip("`").strip()
    return miniyaml.load(t) if t else None


def same(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    return a == b


def doc_tables():
    """{full path: default cell} of every row of the spec tables, with the row's line number."""
    rows = {}
    section = None
    with open(DOC_PATH) as f:
        lines = f.readlines()
    for n, line in enumerate(lines, 1):
        m = re.match(r"^## (spec(\.\w+)?)\s*$", line)
        if m:
            section = m.group(1)
            continue
        if line.startswith("## "):
            section = None
        if not section or not line.startswith("| `"):
            continue
        # a pipe inside backticks (an enum list) is escaped as \|
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        for name in re.findall(r"`([A-Za-z.]+)`", cells[0]):
            rows[section + "." + name] = (cells[2], n)
    return rows


class Descriptions(unittest.TestCase):
    def test_every_field_has_a_description(self):
        missing = [p for p, s in walk(schema()) if p not in UNDESCRIBED_OK and not s.get("description", "").strip()]
        self.assertEqual(missing, [], "fields without a description (kubectl explain shows <no description>)")
        self.assertTrue(schema().get("description"))

    def test_a_default_is_stated_and_is_the_schemas(self):
        for p, s in walk(schema()):
            if "default" not in s:
                continue
            with self.subTest(field=p):
                m = re.search(r"Default: (.+?)\.?$", s["description"])
                self.assertIsNotNone(m, "the description does not state the default")
                self.assertTrue(same(scalar(m.group(1)), s["default"]),
                                "description says %r, the schema %r" % (m.group(1), s["default"]))

    def test_brief_settings_are_named(self):
        fields = dict(walk(schema()))
        for p, setting in [("spec.model.minAccuracy", "model_validation.min_accuracy_threshold"),
                           ("spec.service.recovery.maxAttempts", "service_recovery.max_recovery_attempts"),
                           ("spec.drift.threshold", "drift_detection.drift_threshold"),
                           ("spec.drift.cooldown", "drift_detection.retraining_cooldown_hours"),
                           ("spec.dataQuality.outliers.multiplier", "data_quality.outlier_threshold_iqr")]:
            self.assertIn(setting, fields[p]["description"], p)

    def test_cel_rules_have_messages_and_valid_field_paths(self):
        n = 0
        for p, s in [("", schema())] + list(walk(schema())):
            for r in s.get("x-kubernetes-validations", []):
                n += 1
                with self.subTest(field=p, rule=r["rule"]):
                    self.assertTrue(r.get("message"), "a rule without a message")
                    fp = r.get("fieldPath")
                    if fp:
                        node = s
                        for part in fp.strip(".").split("."):
                            node = node.get("properties", {}).get(part)
                            self.assertIsNotNone(node, "fieldPath %s names no field" % fp)
        self.assertGreaterEqual(n, 15)


class Docs(unittest.TestCase):
    def test_doc_rows_exist_in_the_crd_with_the_same_default(self):
        fields = dict(walk(schema()))
        rows = doc_tables()
        self.assertGreater(len(rows), 40)
        for path, (cell, line) in rows.items():
            with self.subTest(field=path, line=line):
                self.assertIn(path, fields, "docs/spec-reference.md:%d names a field the CRD lacks" % line)
                s = fields[path]
                if "default" in s:
                    self.assertTrue(same(scalar(cell), s["default"]),
                                    "docs/spec-reference.md:%d: default %s, the CRD's %r" % (line, cell, s["default"]))

    def test_every_spec_field_is_documented(self):
        rows = doc_tables()
        undocumented = []
        for p, s in walk(schema()):
            if not p.startswith("spec.") or p.count(".") < 1 or "[]" in p:
                continue
            if s.get("properties"):
                continue  # an object: documented by its fields' rows (a section: by its heading)
            parts = p.split(".")
            covered = any(".".join(parts[:i]) in rows for i in range(2, len(parts) + 1))
            if not covered:
                undocumented.append(p)
        self.assertEqual(undocumented, [], "CRD fields missing from docs/spec-reference.md's tables")


if __name__ == "__main__":
    unittest.main()
