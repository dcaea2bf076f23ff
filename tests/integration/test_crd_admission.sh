#!/usr/bin/env bash
# Admission-time validation (issue 17, part 2) on a real kube-apiserver: every
# invalid sample of tests/fixtures/specs/invalid/ is rejected by `selfheal
# validate` with exactly its `# expect:` lines AND by `kubectl apply` with the
# same field path (for the CEL rules, the same message too); every valid
# sample (manifests/examples, manifests/local, the example of
# docs/spec-reference.md, the chart's sample pipeline) is accepted by both.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v kubectl >/dev/null || fail "kubectl is not installed"
cd "$SH_ROOT"

envtest_up
envtest_namespace adm

n=0
for f in tests/fixtures/specs/invalid/*.yaml; do
    n=$((n + 1))
    want=$(sed -n 's/^# expect: //p' "$f")
    api=$(sed -n 's/^# api: //p' "$f")
    [ -n "$want" ] && [ -n "$api" ] || fail "$f: no '# expect:' or '# api:' line"

    # the validator: exactly the expected lines
    got=$("$SELFHEAL" validate -q -f "$f" 2>&1 | sed "s|^$f: ||") && fail "$f: selfheal validate accepted it"
    assert_eq "$got" "$want" "$f: selfheal validate"

    # the API server: rejected, with the validator's field paths
    if out=$(kadm apply -n "$NS" -f "$f" 2>&1); then
        fail "$f: the API server accepted it: $out"
    fi
    while IFS= read -r line; do
        path=${line%%: *}
        msg=${line#*: }
        apath=$(sed -n 's/^# api-path: //p' "$f")
        [ -n "$apath" ] && path=$apath
        case $out in
        *"$path: "* | *"unknown field \"$path\""*) ;;
        *) fail "$f: the API server did not name $path: $out" ;;
        esac
        if [ "$api" = cel ]; then
            # "PATH: Invalid value: \"object\": MESSAGE" or "PATH: Required value: MESSAGE"
            case $out in
            *"$path: Invalid value: \""*"\": $msg"* | *"$path: Required value: $msg"*) ;;
            *) fail "$f: not the CEL rule's error at $path with the validator's message: $out" ;;
            esac
            assert_contains "$out" "$msg" "$f: the API server's message"
        fi
    done <<<"$want"
done
[ "$n" -ge 40 ] || fail "only $n invalid samples"

# the valid samples, into this test's namespace (their own namespace dropped)
valid=$TMP/valid
mkdir -p "$valid"
for f in manifests/examples/*.yaml manifests/local/*.yaml; do
    /usr/bin/python3 - "$f" "$valid/$(basename "$(dirname "$f")")-$(basename "$f")" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "SelfHealingPipeline"]
for d in docs:
    d["metadata"].pop("namespace", None)
yaml.safe_dump_all(docs, open(sys.argv[2], "w"), sort_keys=False)
PY
done
awk '/^## A complete example/{on=1} on && /^```yaml/{grab=1; next} grab && /^```/{exit} grab' docs/spec-reference.md \
    >"$valid/spec-reference.yaml"
grep -q '^kind: SelfHealingPipeline' "$valid/spec-reference.yaml" || fail "no example in docs/spec-reference.md"
helm=$(tests/helm-tool.sh) || fail "cannot get helm"
"$helm" template s helm/selfheal --set samplePipeline.enabled=true --show-only templates/sample-pipeline.yaml |
    grep -v '^  namespace:' >"$valid/chart-sample.yaml"

names=()
for f in "$valid"/*.yaml; do
    "$SELFHEAL" validate -q -f "$f" >"$TMP/v.log" 2>&1 || fail "selfheal validate rejects $f: $(cat "$TMP/v.log")"
    kadm apply -n "$NS" -f "$f" >"$TMP/a.log" 2>&1 || fail "the API server rejects $f: $(cat "$TMP/a.log")"
    # kubectl prints one line per object
    names+=($(sed -n 's|^selfhealingpipeline.selfheal.dev/\([^ ]*\) .*|\1|p' "$TMP/a.log"))
    [ "$(grep -c '^kind: SelfHealingPipeline' "$f")" = "$(grep -c '^selfhealingpipeline' "$TMP/a.log")" ] ||
        fail "$f: not every pipeline applied: $(cat "$TMP/a.log")"
done
count=$(printf '%s\n' "${names[@]}" | sort -u | wc -l)
[ "$count" -ge 4 ] || fail "only $count valid pipelines"
applied=$(kadm get shp -n "$NS" -o name | wc -l)
assert_eq "$applied" "$count" "valid pipelines stored"

# applied objects carry the CRD's defaults (what the controller assumes)
assert_eq "$(kadm get shp housing -n "$NS" -o jsonpath='{.spec.model.failureLimit}')" 1 "defaulted failureLimit"
echo "PASS: $n invalid samples rejected by both with the same paths, $count valid pipelines accepted"
