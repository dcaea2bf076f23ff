#!/usr/bin/env bash
# What a newcomer looks for is where they look (issue 22 item 15):
#  - the README's first screen (before "## Kubernetes tests") links the fault
#    injection of examples/housing/README.md and says how to reset locally;
#  - how to uninstall: docs/kubernetes.md's "Uninstalling" says `helm
#    uninstall` keeps the CRD and how to remove it; the README links it and
#    the image section (which image the chart runs, how to build it);
#  - `make clean-demo` removes what `make run` creates and nothing else, and
#    docs/operations.md's "Cleaning up" names the same paths.
# The commands themselves run in test_doc_examples.sh.
source "$(dirname "$0")/lib/common.sh"
cd "$SH_ROOT"

first=$(sed -n '1,/^## Kubernetes tests/p' README.md)
assert_contains "$first" "examples/housing/README.md#injecting-the-five-faults-by-hand" "README's first screen: fault injection"
assert_contains "$first" "bin/selfheal reset housing --specs manifests/local" "README's first screen: the reset, locally"
assert_contains "$first" "make clean-demo" "README's first screen: cleaning up"
grep -q '^## Injecting the five faults by hand' examples/housing/README.md || fail "the anchor's heading is gone"

readme=$(cat README.md)
assert_contains "$readme" "docs/kubernetes.md#uninstalling"
assert_contains "$readme" "docs/kubernetes.md#the-image"
uninstall=$(sed -n '/^## Uninstalling/,/^## /p' docs/kubernetes.md)
assert_contains "$uninstall" "helm uninstall selfheal"
assert_contains "$uninstall" "kubectl delete crd selfhealingpipelines.selfheal.dev"
assert_contains "$uninstall" "keeps
the CRD"
image=$(sed -n '/^## The image/,/^## /p' docs/kubernetes.md)
assert_contains "$image" "make image"
assert_contains "$image" "ghcr.io/selfheal/selfheal"
repo=$(sed -n 's/^ *repository: *//p' helm/selfheal/values.yaml | head -1)
assert_contains "$image" "$repo" "the image section names the chart's image.repository"

# make clean-demo, on a tree as make run leaves it
t=$TMP/checkout
mkdir -p "$t/demo/models/v1" "$t/manifests/local/.selfheal/pipelines" "$t/monitoring" \
    "$t/.github/triggers" "$t/.github/workflows" "$t/keep"
touch "$t/manifests/local/housing.yaml" "$t/monitoring/recovery_log.json" \
    "$t/.github/triggers/retraining_log.json" "$t/.github/workflows/ci.yml" "$t/keep/x"
(cd "$t" && make -s -f "$SH_ROOT/Makefile" clean-demo >"$TMP/clean.log" 2>&1) || fail "make clean-demo: $(cat "$TMP/clean.log")"
for gone in demo manifests/local/.selfheal monitoring .github/triggers; do
    [ ! -e "$t/$gone" ] || fail "make clean-demo left $gone"
done
for kept in manifests/local/housing.yaml .github/workflows/ci.yml keep/x; do
    [ -e "$t/$kept" ] || fail "make clean-demo removed $kept"
done
cleaning=$(sed -n '/^## Cleaning up/,/^## /p' docs/operations.md)
for path in demo/ manifests/local/.selfheal/ monitoring/recovery_log.json .github/triggers/retraining_log.json; do
    assert_contains "$cleaning" "\`$path\`" "docs/operations.md's Cleaning up"
done
echo ok
