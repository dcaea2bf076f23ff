#!/usr/bin/env bash
# tests/render-install.sh [HELM] — prints manifests/install.yaml: the namespace,
# the CRD and the chart rendered with its default values into selfheal-system,
# for users who install with plain kubectl. `make install-manifests` writes it;
# tests/integration/test_helm_chart.sh checks it is up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
helm=${1:-$(tests/helm-tool.sh)}
cat <<'YAML'
# selfheal: plain-kubectl install (kubectl apply -f manifests/install.yaml).
# Generated from helm/selfheal by `make install-manifests`; do not edit.
apiVersion: v1
kind: Namespace
metadata:
  name: selfheal-system
YAML
for f in crd/*.yaml; do
    echo "---"
    grep -v '^---$' "$f"
done
"$helm" template selfheal helm/selfheal --namespace selfheal-system | grep -v '^# Source:'
