#!/usr/bin/env bash
# Issue 4, acceptance 1 (the drift half): `selfheal drift -o json` against
# numpy/scipy (Debian's python3-numpy/python3-scipy, /usr/bin/python3) on
# generated data — several seeds; missing cells in every spelling, quoted
# categorical fields with commas and quotes, integer columns (ties), few
# distinct values (ties at the PSI edges), constant columns, shifted and
# rescaled columns, a column all missing on one side, a 1-row reference —
# with every method: KS == scipy.stats.ks_2samp, Wasserstein ==
# scipy.stats.wasserstein_distance (and its normalisation), PSI == the numpy
# implementation of tests/reference/drift_ref.py, JS ==
# scipy.spatial.distance.jensenshannon(base=2), to 1e-9 relative; same
# features, drifted features, score, verdict and exit code.
source "$(dirname "$0")/lib/common.sh"

PY=/usr/bin/python3
REF="$SH_ROOT/tests/reference"
$PY -c 'import numpy, scipy' 2>/dev/null || fail "python3-numpy and python3-scipy are needed (tests/deps.sh test)"

runs=0
for case in mixed ties constant tiny identical; do
    for seed in 1 2 3 4; do
        d=$TMP/$case-$seed
        mkdir -p "$d"
        $PY "$REF/drift_gen.py" "$seed" "$case" "$d"
        ms=100
        [ "$case" = tiny ] && ms=1
        for m in psi ks wasserstein jensenshannon; do
            rc=0
            "$SELFHEAL" drift --reference "$d/ref.csv" --current "$d/cur.csv" --method "$m" \
                --min-samples "$ms" -o json >"$d/out-$m.json" || rc=$?
            verdict=$(jq -r .verdict "$d/out-$m.json")
            want=0
            [ "$verdict" = drift ] && want=1
            assert_eq "$rc" "$want" "exit status of $case/$seed/$m (verdict $verdict)"
            $PY "$REF/drift_ref.py" "$d/ref.csv" "$d/cur.csv" "$d/out-$m.json" >"$d/check-$m.txt" ||
                fail "$case seed $seed method $m differs from numpy/scipy: $(cat "$d/check-$m.txt")"
            runs=$((runs + 1))
        done
    done
done
# the cases exercise what they claim to
assert_eq "$(jq -r '.features[] | select(.name=="sometimes_gone") | .skipped' "$TMP/mixed-1/out-psi.json")" \
    "no values in the current data" "an all-missing column is skipped"
assert_eq "$(jq -r '.verdict' "$TMP/identical-1/out-psi.json")" "no drift" "identical data"
assert_eq "$(jq -r '.verdict' "$TMP/mixed-1/out-ks.json")" "drift" "shifted data"

# the checker can fail: one statistic moved by 1e-6 is caught
jq '(.features[] | select(.name=="median_income") | .ks) += 1e-6' "$TMP/mixed-2/out-ks.json" >"$TMP/tampered.json"
if $PY "$REF/drift_ref.py" "$TMP/mixed-2/ref.csv" "$TMP/mixed-2/cur.csv" "$TMP/tampered.json" >"$TMP/t.txt"; then
    fail "the reference check accepted a tampered KS statistic"
fi
assert_contains "$(cat "$TMP/t.txt")" "median_income.ks"

# fewer rows than minSamples: unknown, exit 0
rc=0
out=$("$SELFHEAL" drift --reference "$TMP/tiny-1/ref.csv" --current "$TMP/tiny-1/cur.csv") || rc=$?
assert_eq "$rc" 0 "exit status when too few rows"
assert_contains "$out" "Drift unknown: too few rows to judge"

# unreadable input and usage errors: exit 2 with the reason
rc=0
err=$("$SELFHEAL" drift --reference "$TMP/nope.csv" --current "$TMP/tiny-1/cur.csv" 2>&1) || rc=$?
assert_eq "$rc" 2 "exit status for a missing file"
assert_contains "$err" "nope.csv"
printf 'a,b\n1,2\n3\n' >"$TMP/broken.csv"
rc=0
err=$("$SELFHEAL" drift --reference "$TMP/broken.csv" --current "$TMP/tiny-1/cur.csv" 2>&1) || rc=$?
assert_eq "$rc" 2 "exit status for a broken CSV"
assert_contains "$err" "broken.csv:3"
rc=0
"$SELFHEAL" drift --reference a --current b --method median >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "exit status for an unknown method"

echo "ok: $runs drift runs agree with numpy/scipy"
