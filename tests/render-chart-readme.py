#!/usr/bin/env python3
# tests/render-chart-readme.py [VALUES] — prints helm/selfheal/README.md: the chart's intro
# and a table of every value with its type, default and description, taken
# from helm/selfheal/values.yaml's `# --` comments (helm-docs' convention: a
# comment starting with `# --` describes the key below it and continues on
# the following `#` lines). A key without a description of its own is covered
# by its described parent (e.g. listen.address by listen); a value with
# neither is an error. `make chart-readme` writes the file;
# tests/integration/test_chart_monitoring.sh checks it is up to date.
import json
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VALUES = os.path.join(ROOT, "helm", "selfheal", "values.yaml")

INTRO = """# selfheal Helm chart

Installs the selfheal controller: the SelfHealingPipeline CRD (crds/), the
controller Deployment, its ServiceAccount and RBAC, the metrics Service and,
optionally, a ServiceMonitor, a PrometheusRule with selfheal's alerts
(deploy/monitoring/selfheal-alerts.yaml), a Grafana dashboard ConfigMap
(deploy/monitoring/selfheal-dashboard.json) and a sample pipeline.

```
helm install selfheal helm/selfheal -n selfheal-system --create-namespace \\
    --set serviceMonitor.enabled=true --set prometheusRule.enabled=true --set grafanaDashboard.enabled=true
```

See docs/kubernetes.md for the platform and docs/operations.md for the alerts.

## Values

Generated from values.yaml's `# --` comments by `make chart-readme`; do not edit.

| Key | Type | Default | Description |
|---|---|---|---|
"""


def described_keys(text):
    """[(path, description)] in file order."""
    out, stack, desc = [], [], None
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("# --"):
            desc = [s[4:].strip()]
            continue
        if s.startswith("#"):
            # a continuation has one space after #; commented-out examples are indented more
            if desc is not None and re.match(r"#( \S|$)", s):
                desc.append(s[1:].strip())
            continue
        m = re.match(r"^( *)([A-Za-z_][\w.-]*):", line)
        if not m:
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group(2)))
        path = ".".join(k for _, k in stack)
        out.append((path, " ".join(desc) if desc else None))
        desc = None
    return out


def lookup(values, path):
    v = values
    for k in path.split("."):
        v = v[k]
    return v


def typename(v):
    if v is None:
        return "null"
    return {bool: "bool", int: "int", float: "float", str: "string", list: "list", dict: "object"}[type(v)]


def main():
    with open(sys.argv[1] if len(sys.argv) > 1 else VALUES) as f:
        text = f.read()
    values = yaml.safe_load(text)
    rows, described, problems = [], set(), []
    for path, desc in described_keys(text):
        if desc:
            described.add(path)
            v = lookup(values, path)
            d = json.dumps(v, separators=(", ", ": "))
            rows.append("| `%s` | %s | `%s` | %s |" % (path, typename(v), d.replace("|", "\\|"),
                                                        desc.replace("|", "\\|")))
        elif not any(path.startswith(p + ".") for p in described):
            v = lookup(values, path)
            if not isinstance(v, dict):
                problems.append(path)
    if problems:
        sys.exit("values without a `# --` description: %s" % ", ".join(problems))
    sys.stdout.write(INTRO + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
