#!/usr/bin/env bash
# The data fix converges and keeps minority values (issue 21 item 3,
# acceptance 4): after any fix a second `selfheal fix-data` says "clean,
# nothing to fix" and leaves every byte (and makes no backup) — on the housing
# demo data with each strategy and outlier action, and on a 1M-row file with 5%
# missing and 1% outliers (bench/datafix/gen_housing.py; SELFHEAL_BIG_ROWS
# changes the size) — a 0/1 flag column with 10% ones is left alone (IQR 0),
# and the controller's data loop, scanning its own fixed file again, reads
# Clean instead of fixing it a second time.
source "$(dirname "$0")/lib/common.sh"
cd "$TMP"
DATA=$SH_ROOT/bin/housing-data

# fix_twice FILE FLAGS...: fixes FILE, then wants the second run to do nothing
fix_twice() {
    local f=$1
    shift
    cp "$f" "$f.orig"
    "$SELFHEAL" fix-data --data-path "$f" --max-fixed-fraction 1 --backup-keep 1 --quiet "$@"
    cmp -s "$f" "$f.orig" && fail "$f $*: the data needs a fix for this test to mean anything"
    cp "$f" "$f.fixed"
    local out
    out=$("$SELFHEAL" fix-data --data-path "$f" --max-fixed-fraction 1 --backup-keep 5 \
        --report "$f.json" "$@")
    assert_contains "$out" "clean, nothing to fix" "the second fix of $f $*"
    cmp -s "$f" "$f.fixed" || fail "$f $*: the second fix changed the file"
    assert_eq "$(ls "$f".bak.* | wc -l | tr -d ' ')" 1 "backups of $f after the second fix"
    assert_eq "$(jq -r .outcome "$f.json")" clean "outcome of the second fix of $f"
    rm -f "$f".bak.* "$f.orig" "$f.fixed" "$f.json"
}

# 1. the housing demo data: each strategy and action, k 3 and 1.5
"$DATA" --seed 1 --missing 0.05 --outliers 0.02 --out housing.csv
n=0
for flags in "" "--missing mean" "--missing mode" "--missing drop-row" "--outliers drop-row" \
    "--outliers none" "--iqr-multiplier 1.5" "--missing mean --outliers drop-row --iqr-multiplier 1.5" \
    "--missing drop-row --outliers drop-row"; do
    cp housing.csv "h$n.csv"
    # shellcheck disable=SC2086
    fix_twice "h$n.csv" $flags
    n=$((n + 1))
done
for seed in 2 3; do
    "$DATA" --seed $seed --rows 5000 --missing 0.05 --out "s$seed.csv"
    fix_twice "s$seed.csv"
    "$DATA" --seed $seed --rows 5000 --outliers 0.05 --out "o$seed.csv"
    fix_twice "o$seed.csv" --iqr-multiplier 1.5
done

# 2. the issue's flag column: 1,000 rows, 10% ones; and a sparse count. Not capped.
/usr/bin/python3 - >flag.csv <<'PY'
import random
r = random.Random(1)
print("id,flag,count,price")
for i in range(1000):
    price = "" if r.random() < 0.08 else repr(round(r.lognormvariate(12, 0.5) * (40 if r.random() < 0.02 else 1), 2))
    print(f"{i},{1 if i % 10 == 0 else 0},{r.randint(1, 300) if r.random() < 0.1 else 0},{price}")
PY
cp flag.csv flag.orig
cp flag.csv flag.first
text=$("$SELFHEAL" fix-data --data-path flag.csv --backup-keep 0 --report flag.json)
assert_contains "$text" "IQR is 0: outlier capping skipped" # said, not silent
cut -d, -f2,3 flag.csv >now.txt
cut -d, -f2,3 flag.orig >was.txt
cmp -s now.txt was.txt || fail "the flag or count column changed"
assert_eq "$(jq -r '.columnReports[1].cappingSkipped' flag.json)" "IQR is 0" "flag column report"
assert_eq "$(jq -r '.columnReports[1].capped' flag.json)" 0 "flag cells capped"
assert_eq "$(jq -r '.columnReports[2].cappingSkipped' flag.json)" "IQR is 0" "count column report"
out=$("$SELFHEAL" fix-data --data-path flag.csv --backup-keep 0)
assert_contains "$out" "clean, nothing to fix"

# 3. 1M rows, 5% missing in three columns and 1% outliers in two
rows=${SELFHEAL_BIG_ROWS:-1000000}
/usr/bin/python3 "$SH_ROOT/bench/datafix/gen_housing.py" "$rows" 7 0.05 0.01 >big.csv
fix_twice big.csv
rm -f big.csv

# 4. the data loop: its next scan of the file it fixed finds nothing to do
mkdir -p specs data
"$DATA" --seed 4 --missing 0.05 --outliers 0.02 --out data/housing.csv
cat >specs/data.yaml <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: data}
spec:
  dataQuality: {path: $TMP/data/housing.csv, interval: 300ms, backup: {keep: 5}}
YAML
port=$(free_port)
"$SELFHEAL" run --specs specs --state state --listen "127.0.0.1:$port" >run.log 2>&1 &
track $!
doc() { jq -r "$1" state/pipelines/default/data.json 2>/dev/null; }
doc_is() { [ "$(doc "$1")" = "$2" ]; }
reason='.status.conditions[] | select(.type=="DataValid") | .reason'
wait_for 10 "DataValid Fixed" doc_is "$reason" Fixed
cp data/housing.csv fixed.csv
# the same bytes in a new file: a new fingerprint, so the loop scans it again
cp fixed.csv data/.housing.new && mv data/.housing.new data/housing.csv
wait_for 10 "DataValid Clean after the rescan" doc_is "$reason" Clean
sleep 1 # a few more rounds
assert_eq "$(doc "$reason")" Clean "DataValid after more rounds"
cmp -s data/housing.csv fixed.csv || fail "the data loop changed its own fixed file"
assert_eq "$(ls data/housing.csv.bak.* | wc -l | tr -d ' ')" 1 "backups made by the data loop"
assert_eq "$(doc '[.status.history[] | select(.loop=="dataQuality")] | length')" 1 "data fixes in the history"
echo "fix-data converges: ok"
