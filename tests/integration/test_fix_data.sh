#!/usr/bin/env bash
# `selfheal fix-data` (issue 4): fixes and says what per column, backs up
# first, writes the JSON report, honours --dry-run and the brief's config
# (data_quality.outlier_threshold_iqr), refuses each kind of broken CSV with
# file, line and reason (exit 1) leaving its bytes unchanged, refuses over
# --max-fixed-fraction, and documents its exit codes.
source "$(dirname "$0")/lib/common.sh"
cd "$TMP"

# help documents the exit codes
help=$("$SELFHEAL" fix-data --help)
assert_contains "$help" "Exit status:"
assert_contains "$help" "1  could not fix"

# usage errors exit 2
set +e
"$SELFHEAL" fix-data --missing sideways >/dev/null 2>err.txt
rc=$?
set -e
assert_eq "$rc" 2 "exit code of a usage error"
assert_contains "$(cat err.txt)" "--missing must be median, mean, mode or drop-row"

# a fix: per-column summary, backup, report
# price: the median 14 of the values fills row 2; Q1 11.75, Q3 16.25 of the
# filled column, so with k 1.5 the 1000 is capped to 23
printf 'id,price,city\n1,10,Lyon\n2,,Lyon\n3,12,"Paris, FR"\n4,11,\n5,1000,Nice\n6,13,Lyon\n7,14,Nice\n8,15,Lyon\n9,16,Nice\n10,17,Lyon\n11,18,Nice\n12,9,Lyon\n' >data.csv
cp data.csv orig.csv
out=$("$SELFHEAL" fix-data --data-path data.csv --iqr-multiplier 1.5 --max-fixed-fraction 0.5 --report rep.json)
assert_contains "$out" "price"
assert_contains "$out" "1 missing -> filled with median 14"
assert_contains "$out" "1 outliers outside [5, 23]"
assert_contains "$out" "-> capped"
assert_contains "$out" "city"
assert_contains "$out" "filled with mode 'Lyon'"
assert_contains "$out" "fixed data.csv"
bak=$(ls data.csv.bak.* | head -1)
[ -n "$bak" ] || fail "no backup"
cmp -s "$bak" orig.csv || fail "the backup is not the original"
[[ "$bak" =~ ^data\.csv\.bak\.[0-9]{8}T[0-9]{6}Z$ ]] || fail "backup name $bak"
assert_eq "$(sed -n 3p data.csv)" "2,14,Lyon" "the filled row"
assert_eq "$(sed -n 6p data.csv)" "5,23,Nice" "the capped row"
assert_eq "$(sed -n 4p data.csv)" '3,12,"Paris, FR"' "an untouched quoted row"
assert_eq "$(jq -r .outcome rep.json)" fixed
assert_eq "$(jq -r '.columnReports[1].filled' rep.json)" 1
assert_eq "$(jq -r '.columnReports[1].capped' rep.json)" 1
assert_eq "$(jq -r '.cellsChanged' rep.json)" 3

# run again: the fixed file is clean (the fix converges), stays byte for byte
# and gets no second backup
cp data.csv fixed.csv
out=$("$SELFHEAL" fix-data --data-path data.csv --iqr-multiplier 1.5 --max-fixed-fraction 0.5)
assert_contains "$out" "clean, nothing to fix"
cmp -s data.csv fixed.csv || fail "a second fix changed the fixed file"
[ "$(ls data.csv.bak.* | wc -l)" = 1 ] || fail "a second fix made a backup"
printf 'a,b\n1,2\n3,4\n' >clean.csv
out=$("$SELFHEAL" fix-data --data-path clean.csv)
assert_contains "$out" "clean, nothing to fix"
[ "$(ls clean.csv.bak.* 2>/dev/null | wc -l)" = 0 ] || fail "a backup of a clean file"

# dry run: says what it would do, writes nothing
cp orig.csv dry.csv
out=$("$SELFHEAL" fix-data --data-path dry.csv --iqr-multiplier 1.5 --max-fixed-fraction 0.5 --dry-run)
assert_contains "$out" "would fill with median"
assert_contains "$out" "dry run: nothing written"
cmp -s dry.csv orig.csv || fail "dry run changed the file"
[ "$(ls dry.csv.bak.* 2>/dev/null | wc -l)" = 0 ] || fail "dry run made a backup"

# the brief's config: outlier_threshold_iqr 1000 → the 1000 is not an outlier
mkdir -p config
echo '{"data_quality": {"outlier_threshold_iqr": 1000}}' >config/self_healing_config.json
cp orig.csv cfg.csv
out=$("$SELFHEAL" fix-data --data-path cfg.csv --max-fixed-fraction 0.5)
[[ "$out" != *outliers* ]] || fail "config multiplier ignored: $out"
assert_eq "$(sed -n 6p cfg.csv)" "5,1000,Nice"
rm -r config

# refusal over the fraction: exit 1, unchanged
cp orig.csv many.csv
set +e
out=$("$SELFHEAL" fix-data --data-path many.csv --max-fixed-fraction 0.05 --report many.json 2>err.txt)
rc=$?
set -e
assert_eq "$rc" 1 "exit code of a refusal"
assert_contains "$(cat err.txt)" "would change, more than maxFixedFraction 0.05; nothing changed"
assert_contains "$out" "refused (DataUnfixable)"
assert_eq "$(jq -r .outcome many.json)" unfixable
cmp -s many.csv orig.csv || fail "a refused file changed"

# each kind of broken CSV: exit 1, "file:line: reason", bytes unchanged, no backup
check_broken() { # NAME WANT (content on stdin)
    cat >"$1"
    cp "$1" "$1.orig"
    set +e
    "$SELFHEAL" fix-data --data-path "$1" >/dev/null 2>err.txt
    local rc=$?
    set -e
    assert_eq "$rc" 1 "exit code for $1"
    assert_contains "$(cat err.txt)" "$2"
    cmp -s "$1" "$1.orig" || fail "$1 changed"
    [ "$(ls "$1".bak.* 2>/dev/null | wc -l)" = 0 ] || fail "backup of broken $1"
}
printf '' | check_broken empty.csv "empty.csv:1: empty file"
printf '\na,b\n1,2\n' | check_broken nohead.csv "nohead.csv:1: no header (the first line is empty)"
printf 'a,b\n1,2\n3,4,5\n' | check_broken fields.csv "fields.csv:3: wrong number of fields: expected 2, got 3"
printf 'a,b\n1,"2\n3,4\n' | check_broken quote.csv "quote.csv:2: unterminated quoted field"
printf 'a,b\n1,2\n3,\0004\n' | check_broken nul.csv "nul.csv:3: NUL byte"
set +e
"$SELFHEAL" fix-data --data-path missing.csv >/dev/null 2>err.txt
rc=$?
set -e
assert_eq "$rc" 2 "exit code for a missing file (unreadable input)"
assert_contains "$(cat err.txt)" "missing.csv: cannot read: No such file or directory"
echo "fix-data: ok"
