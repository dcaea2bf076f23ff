#!/usr/bin/env python3
# test_crd_schema.py — crd/selfhealingpipelines.selfheal.dev.yaml is a well-formed structural CRD,
# accepts every manifests/examples/*.yaml, rejects what controller/runtime/spec.c rejects for ranges, enums,
# counts and unknown fields, and defaults match the brief's. Checked with schemacheck.py (stdlib).
import glob
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import miniyaml  # noqa: E402
import schemacheck  # noqa: E402

CRD_PATH = os.path.join(ROOT, "crd", "selfhealingpipelines.selfheal.dev.yaml")


def load_crd():
    return miniyaml.load(open(CRD_PATH).read())


def schema():
    return load_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def structural_problems(s, path="", in_preserve=False):
    """Every node has a type unless it preserves unknown fields or is int-or-string."""
    probs = []
    if "type" not in s and not s.get("x-kubernetes-preserve-unknown-fields") and \
            not s.get("x-kubernetes-int-or-string"):
        probs.append(path or "<root>")
    for k, sub in s.get("properties", {}).items():
        probs += structural_problems(sub, path + "." + k)
    if isinstance(s.get("items"), dict):
        probs += structural_problems(s["items"], path + "[]")
    for bad in ("oneOf", "anyOf", "allOf", "$ref"):
        if bad in s and "type" in s.get(bad, {}):
            probs.append(path + " " + bad)
    return probs


class CRDShape(unittest.TestCase):
    def test_names_and_version(self):
        crd = load_crd()
        self.assertEqual(crd["apiVersion"], "apiextensions.k8s.io/v1")
        sp = crd["spec"]
        self.assertEqual(crd["metadata"]["name"], "selfhealingpipelines.selfheal.dev")
        self.assertEqual(sp["group"], "selfheal.dev")
        self.assertEqual(sp["scope"], "Namespaced")
        self.assertEqual(sp["names"], {"kind": "SelfHealingPipeline", "listKind": "SelfHealingPipelineList",
                                       "plural": "selfhealingpipelines", "singular": "selfhealingpipeline",
                                       "shortNames": ["shp"], "categories": ["mlops"]})
        v = sp["versions"]
        self.assertEqual(len(v), 1)
        self.assertEqual((v[0]["name"], v[0]["served"], v[0]["storage"]), ("v1alpha1", True, True))
        self.assertEqual(v[0]["subresources"], {"status": {}})
        cols = [(c["name"], c["type"], c["jsonPath"]) for c in v[0]["additionalPrinterColumns"]]
        self.assertEqual(cols, [("Phase", "string", ".status.phase"),
                                ("Ready", "string", '.status.conditions[?(@.type=="Ready")].status'),
                                ("Model", "string", ".status.model.version"),
                                ("Metric", "string", ".status.model.deciding"),
                                ("Accuracy", "number", ".status.model.metric"),
                                ("Drift", "number", ".status.drift.score"),
                                ("Age", "date", ".metadata.creationTimestamp")])

    def test_structural(self):
        self.assertEqual(structural_problems(schema()), [])


def obj(spec):
    return {"apiVersion": "selfheal.dev/v1alpha1", "kind": "SelfHealingPipeline", "metadata": {"name": "x"},
            "spec": spec}


class Examples(unittest.TestCase):
    def test_every_example_validates(self):
        files = sorted(glob.glob(os.path.join(ROOT, "manifests", "examples", "*.yaml")))
        self.assertTrue(files)
        for f in files:
            for doc in miniyaml.load_all(open(f).read()):
                with self.subTest(file=os.path.basename(f)):
                    self.assertEqual(doc["apiVersion"], "selfheal.dev/v1alpha1")
                    self.assertEqual(schemacheck.check_object(schema(), doc), [])

    def test_local_examples_validate_too(self):
        for f in sorted(glob.glob(os.path.join(ROOT, "manifests", "local", "*.yaml"))):
            for doc in miniyaml.load_all(open(f).read()):
                if doc.get("kind") == "SelfHealingPipeline":
                    with self.subTest(file=os.path.basename(f)):
                        self.assertEqual(schemacheck.check_object(schema(), doc), [])


class Rules(unittest.TestCase):
    def problems(self, spec):
        return {c.field: c.message for c in schemacheck.check_object(schema(), obj(spec))}

    def test_ranges_follow_spec_c(self):
        src = {"file": {"path": "/m.json"}}
        cases = [
            ({"model": {"metric": {"source": src}, "minAccuracy": 1.5}}, "spec.model.minAccuracy"),
            ({"model": {"metric": {"source": src}, "minAccuracy": -0.1}}, "spec.model.minAccuracy"),
            ({"model": {"metric": {"source": src}, "failureLimit": 0}}, "spec.model.failureLimit"),
            ({"dataQuality": {"path": "d.csv", "outliers": {"multiplier": 0}}}, "spec.dataQuality.outliers.multiplier"),
            ({"service": {"healthCheck": {"url": "http://x", "failureThreshold": 0}}},
             "spec.service.healthCheck.failureThreshold"),
            ({"service": {"healthCheck": {"url": "http://x"}, "recovery": {"maxAttempts": -1}}},
             "spec.service.recovery.maxAttempts"),
            ({"service": {"healthCheck": {"url": "http://x"}, "recovery": {"method": "reboot"}}},
             "spec.service.recovery.method"),
            ({"service": {"healthCheck": {"url": "http://x", "interval": "10 seconds"}}},
             "spec.service.healthCheck.interval"),
            ({"service": {"healthCheck": {"url": "ftp://x"}}}, "spec.service.healthCheck.url"),
            ({"drift": {"reference": {"path": "a"}, "current": {"path": "b"}, "method": "chi2"}}, "spec.drift.method"),
            ({"drift": {"reference": {"path": "a"}, "current": {"path": "b"}, "minSamples": 0}},
             "spec.drift.minSamples"),
            ({"drift": {"score": {"source": {}}}}, "spec.drift.score.source"),
            ({"escalation": {"maxSameIssue": 0}}, "spec.escalation.maxSameIssue"),
            ({"dataQuality": {"path": "d.csv", "backup": {"keep": -1}}}, "spec.dataQuality.backup.keep"),
            ({"model": {"metric": {"source": {"file": {"path": "a"}, "http": {"url": "http://x"}}}}},
             "spec.model.metric.source"),
            ({"model": {"metric": {"source": src}, "minAcuracy": 0.5}}, "spec.model.minAcuracy"),
        ]
        for spec, field in cases:
            with self.subTest(field=field, spec=spec):
                self.assertIn(field, self.problems(spec))

    def test_boundaries_accepted(self):
        src = {"file": {"path": "/m.json"}}
        for spec in ({"model": {"metric": {"source": src}, "minAccuracy": 0}},
                     {"model": {"metric": {"source": src}, "minAccuracy": 1}},
                     {"service": {"healthCheck": {"url": "https://x", "interval": "1h30m"},
                                  "recovery": {"maxAttempts": 0, "backoff": "500ms", "deployment": "api"}}},
                     {"dataQuality": {"path": "d.csv", "outliers": {"multiplier": 0.001}, "backup": {"keep": 0}}},
                     {"drift": {"score": {"source": {"prometheus": {"url": "http://p", "query": "q"}}},
                                "retrain": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}}},
                     {"paused": True}):
            with self.subTest(spec=spec):
                self.assertEqual(self.problems(spec), {})

    def test_defaults_are_the_briefs(self):
        o = obj({"service": {"healthCheck": {"url": "http://x"}, "recovery": {"deployment": "d"}},
                 "model": {"metric": {"source": {"file": {"path": "m"}}}, "rollback": {}},
                 "drift": {"reference": {"path": "a"}, "current": {"path": "b"}, "retrain": {}},
                 "dataQuality": {"path": "d.csv", "outliers": {}, "backup": {}}, "escalation": {}})
        schemacheck.apply_defaults(schema(), o)
        sp = o["spec"]
        self.assertEqual(sp["service"]["healthCheck"], {"url": "http://x", "interval": "10s", "timeout": "2s",
                                                        "failureThreshold": 3})
        self.assertEqual((sp["service"]["recovery"]["method"], sp["service"]["recovery"]["maxAttempts"],
                          sp["service"]["recovery"]["backoff"], sp["service"]["recovery"]["resetAfter"]),
                         ("restart", 3, "10s", "10m"))
        self.assertEqual((sp["model"]["minAccuracy"], sp["model"]["failureLimit"], sp["model"]["metric"]["interval"]),
                         (0.7, 1, "1m"))
        self.assertEqual((sp["model"]["rollback"]["maxRollbacks"], sp["model"]["rollback"]["window"],
                          sp["model"]["rollback"]["versionFrom"]), (3, "24h",
                                                                    {"annotation": "selfheal.dev/model-version"}))
        self.assertEqual((sp["drift"]["method"], sp["drift"]["threshold"], sp["drift"]["cooldown"],
                          sp["drift"]["minSamples"], sp["drift"]["retrain"]["timeout"]), ("psi", 0.5, "24h", 100, "1h"))
        self.assertEqual((sp["dataQuality"]["missingValues"], sp["dataQuality"]["outliers"]["multiplier"],
                          sp["dataQuality"]["outliers"]["action"], sp["dataQuality"]["backup"]["keep"],
                          sp["dataQuality"]["maxFixedFraction"]), ("median", 3.0, "cap", 5, 0.2))
        self.assertEqual(sp["escalation"], {"maxSameIssue": 3, "window": "24h"})
        self.assertNotIn("featureThreshold", sp["drift"], "its default depends on the method (spec.c)")


if __name__ == "__main__":
    unittest.main()
