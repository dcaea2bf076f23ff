#!/usr/bin/env bash
# kubectl explain for every field (issue 17, part 1): tests/kube/test_crd_docs.py
# walks the CRD (a description on every field, defaults stated and equal to the
# schema's, docs/spec-reference.md's tables = the CRD's fields and defaults);
# then, on a real kube-apiserver, `kubectl explain shp.<object>` for every
# object of spec and status shows each field's description, never
# <no description>.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v kubectl >/dev/null || fail "kubectl is not installed"
cd "$SH_ROOT"

/usr/bin/python3 tests/kube/test_crd_docs.py >"$TMP/docs.log" 2>&1 || fail "test_crd_docs.py: $(cat "$TMP/docs.log")"

envtest_up
# every object with fields, and its fields' descriptions (first words), from the CRD
/usr/bin/python3 - >"$TMP/objects" <<'PY'
import sys
sys.path.insert(0, "tests/kube")
import test_crd_docs as t
for path, node in [("", t.schema())] + list(t.walk(t.schema())):
    props = node.get("properties")
    if not props:
        continue
    for k, sub in props.items():
        if k in t.UNDESCRIBED_OK:
            continue
        words = " ".join(sub["description"].split()[:4])
        print("%s\t%s\t%s" % (path.replace("[]", ""), k, words))
PY
[ "$(wc -l <"$TMP/objects")" -gt 100 ] || fail "too few fields: $(wc -l <"$TMP/objects")"

# the discovery cache may lag the CRD by a moment
wait_for 10 "kubectl explain shp" kadm explain shp
objects=$(cut -f1 "$TMP/objects" | sort -u)
n=0
for obj in $objects; do
    out=$(kadm explain "shp${obj:+.$obj}" 2>&1) || fail "kubectl explain shp.$obj: $out"
    case $out in *"<no description>"*) fail "kubectl explain shp.$obj: a field without a description: $out" ;; esac
    flat=$(tr -s ' \n' ' ' <<<"$out")
    while IFS=$'\t' read -r o field words; do
        [ "$o" = "$obj" ] || continue
        n=$((n + 1))
        assert_contains "$flat" "$field" "kubectl explain shp.$obj lists $field"
        assert_contains "$flat" "$words" "kubectl explain shp.$obj: the description of $field"
    done <"$TMP/objects"
done
# the issue's examples, word for word
out=$(kadm explain shp.spec.model.minAccuracy | tr -s ' \n' ' ')
assert_contains "$out" "model_validation.min_accuracy_threshold"
assert_contains "$out" "Default: 0.7."
out=$(kadm explain shp.spec.service.healthCheck | tr -s ' \n' ' ')
assert_contains "$out" "Time between probes, a duration > 0. Default: 10s."
echo "PASS: $n fields of $(wc -w <<<"$objects") objects explained by the real API server"
