#!/usr/bin/env bash
# A fix killed with SIGKILL at random points (issue 4, acceptance 2) always
# leaves the original file or the complete fixed one, never a mix; when the
# fixed file is in place, the backup of the original is there too; and the
# next run completes and cleans up what the killed one left.
source "$(dirname "$0")/lib/common.sh"
cd "$TMP"
rounds=${SELFHEAL_CRASH_ROUNDS:-40}
/usr/bin/python3 "$SH_ROOT/bench/datafix/gen_housing.py" 200000 3 >orig.csv
# the expected result, from an uninterrupted run
cp orig.csv want.csv
"$SELFHEAL" fix-data --data-path want.csv --backup-keep 1 --quiet
rm -f want.csv.bak.*
cmp -s want.csv orig.csv && fail "the data needs a fix for this test to mean anything"
fixed=0
untouched=0
for i in $(seq 1 "$rounds"); do
    rm -f data.csv data.csv.bak.* .data.csv.tmp.* .data.csv.fixtmp.*
    cp orig.csv data.csv
    "$SELFHEAL" fix-data --data-path data.csv --backup-keep 2 --quiet &
    pid=$!
    sleep "0.$((RANDOM % 3))$((RANDOM % 10))$((RANDOM % 10))"
    kill -KILL $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    if cmp -s data.csv orig.csv; then
        untouched=$((untouched + 1))
    elif cmp -s data.csv want.csv; then
        fixed=$((fixed + 1))
        bak=$(ls data.csv.bak.* 2>/dev/null | head -1)
        [ -n "$bak" ] || fail "round $i: fixed file without a backup"
        cmp -s "$bak" orig.csv || fail "round $i: the backup is not the original"
    else
        fail "round $i: data.csv is neither the original nor the fixed file"
    fi
done
echo "crash: $rounds kills: $untouched left the original, $fixed the fixed file"
# a run after a kill completes, and leaves no temporary file behind
rm -f data.csv.bak.*
cp orig.csv data.csv
"$SELFHEAL" fix-data --data-path data.csv --quiet &
pid=$!
sleep 0.05
kill -KILL $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
"$SELFHEAL" fix-data --data-path data.csv --backup-keep 3 --quiet || true
[ -z "$(ls -A . | grep -E 'fixtmp|^\.data\.csv\.tmp\.' || true)" ] || fail "a temporary file was left behind"
