#!/usr/bin/env bash
# The README's cluster commands as written, on a real kube-apiserver (issue 22
# item 1): manifests/examples/ carry no namespace, so `kubectl create
# namespace ml && kubectl apply -n ml -f manifests/examples/` puts every
# example in the namespace the README names (here a fresh one in its place),
# and `kubectl apply -n OTHER` works too.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v kubectl >/dev/null || fail "kubectl is not installed"
cd "$SH_ROOT"

for f in manifests/examples/*.yaml; do
    grep -qE '^  namespace:' "$f" && fail "$f names a namespace: kubectl apply -n cannot put it elsewhere"
done

envtest_up
export KUBECONFIG=$ENVTEST_KUBECONFIG
line=$(grep -oE 'kubectl create namespace ml && kubectl apply -n ml -f manifests/examples/' README.md) ||
    fail "README.md does not say which namespace to create for the examples"
ns=ml-$(od -An -N3 -tx1 /dev/urandom | tr -d " \n")
_envtest_namespaces+=("$ns")
out=$(bash -c "${line//ml/$ns}" 2>&1) || fail "the README's command failed: $out"
names=$(kubectl get shp -n "$ns" -o jsonpath='{.items[*].metadata.name}')
for want in $(grep -hE '^  name:' manifests/examples/*.yaml | awk '{print $2}'); do
    grep -qw "$want" <<<"$names" || fail "$want is not in $ns (got: $names)"
done
kubectl get shp -n default -o name 2>/dev/null | grep -q . && fail "an example landed in default"
envtest_namespace other
out=$(kubectl apply -n "$NS" -f manifests/examples/ 2>&1) || fail "apply -n $NS: $out"
echo ok
