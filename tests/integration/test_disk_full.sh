#!/usr/bin/env bash
# Disk full while fixing data (issue 10, fault injection): the fixed file
# cannot be written because of RLIMIT_FSIZE (`prlimit --fsize`: the write
# fails with EFBIG once SIGXFSZ is ignored, which the code does) or because a
# small tmpfs is full (ENOSPC; only where an unprivileged mount namespace is
# allowed, else skipped with a note).
#  1. `selfheal fix-data`: a clear error naming the file and the cause, exit 1
#     (not killed by SIGXFSZ), the original byte-identical (sha256), no
#     temporary file and no stray backup left behind.
#  2. `selfheal run` with a dataQuality pipeline under the same limit: the
#     controller stays up, reports the failure in status (DataValid) and in
#     events (DataFixFailed), leaves the original intact; once the limit is
#     lifted (prlimit --pid) it fixes the file on a retry.
source "$(dirname "$0")/lib/common.sh"
cd "$TMP"

# a CSV needing a fix: 20000 rows (~400 kB), missing cells and outliers
gen_csv() {
    awk 'BEGIN {
        print "rooms,bedrooms,income,city"
        for (i = 0; i < 20000; i++) {
            r = 1000 + (i * 37) % 5000; b = int(r / 5); inc = 2 + (i % 97) / 10
            if (i % 101 == 0) b = ""
            if (i % 211 == 0) r = r * 80
            printf "%s,%s,%.2f,%s\n", r, b, inc, (i % 3 ? "north" : "south")
        }
    }'
}
gen_csv >orig.csv
size=$(stat -c %s orig.csv)
[ "$size" -gt 300000 ] || fail "the data file is too small for the limit ($size bytes)"
limit=200000 # bytes: the fixed file cannot be written, status files (a few kB) can
sum() { sha256sum "$1" | cut -d' ' -f1; }
want=$(sum orig.csv)
leftovers() { # DIR: temporary files or backups of data.csv
    find "$1" -maxdepth 1 \( -name '.data.csv.*' -o -name 'data.csv.bak.*' -o -name '*.tmp*' \) -printf '%f\n'
}

# --- 1a. the CLI under RLIMIT_FSIZE ------------------------------------------
mkdir cli
for keep in 0 2; do
    cp orig.csv cli/data.csv
    rc=0
    err=$(prlimit --fsize=$limit "$SELFHEAL" fix-data --data-path cli/data.csv --backup-keep $keep 2>&1) || rc=$?
    [ $rc -ne 153 ] || fail "fix-data was killed by SIGXFSZ (exit 153): $err"
    assert_eq "$rc" 1 "exit status of fix-data with --backup-keep $keep under RLIMIT_FSIZE ($err)"
    assert_contains "$err" "cli/data.csv: cannot write the fixed file: File too large" "the error names the file and the cause"
    assert_eq "$(sum cli/data.csv)" "$want" "the original after a failed fix (keep $keep)"
    assert_eq "$(leftovers cli)" "" "files left behind by a failed fix (keep $keep)"
done
# a limit so small that even the first buffer of the temporary file fails
cp orig.csv cli/data.csv
rc=0
err=$(prlimit --fsize=1 "$SELFHEAL" fix-data --data-path cli/data.csv --quiet 2>&1) || rc=$?
assert_eq "$rc" 1 "exit status with a 1-byte limit ($err)"
assert_contains "$err" "File too large"
assert_eq "$(sum cli/data.csv)" "$want" "the original after a failed fix (1-byte limit)"
assert_eq "$(leftovers cli)" "" "files left behind (1-byte limit)"
# without the limit the same command fixes the file (the test's data needs it)
"$SELFHEAL" fix-data --data-path cli/data.csv --backup-keep 1 --quiet
[ "$(sum cli/data.csv)" != "$want" ] || fail "the data needed no fix: the test means nothing"
cmp -s cli/data.csv.bak.* orig.csv || fail "the backup of the successful fix is not the original"

# --- 1b. the CLI on a full tmpfs (ENOSPC), where a mount namespace is allowed -
mkdir small
if unshare -rm true 2>/dev/null; then
    cp orig.csv small.csv
    # inside: a tmpfs of 1.5 times the file over ./small holds the original
    # (the backup is a hard link) but not the fixed copy; results go to files
    # outside the mount
    unshare -rm bash -c '
        set -u
        mount -t tmpfs -o size=$2 tmpfs small || { echo "mount failed" >tmpfs.skip; exit 0; }
        cp small.csv small/data.csv
        rc=0
        "$1" fix-data --data-path small/data.csv --backup-keep 2 >tmpfs.out 2>&1 || rc=$?
        echo $rc >tmpfs.rc
        sha256sum small/data.csv | cut -d" " -f1 >tmpfs.sum
        find small -maxdepth 1 \( -name ".data.csv.*" -o -name "data.csv.bak.*" \) -printf "%f\n" >tmpfs.left
    ' bash "$SELFHEAL" "$((size * 3 / 2 / 1024))k"
    if [ -f tmpfs.skip ]; then
        echo "note: tmpfs mount refused in the namespace; ENOSPC case skipped"
    else
        assert_eq "$(cat tmpfs.rc)" 1 "exit status of fix-data on a full tmpfs ($(cat tmpfs.out))"
        assert_contains "$(cat tmpfs.out)" "small/data.csv: cannot write the fixed file: No space left on device"
        assert_eq "$(cat tmpfs.sum)" "$want" "the original on the full tmpfs"
        assert_eq "$(cat tmpfs.left)" "" "files left behind on the full tmpfs"
        echo "tmpfs (ENOSPC) case checked"
    fi
else
    echo "note: no unprivileged mount namespace here; ENOSPC case skipped"
fi

# --- 2. the controller under RLIMIT_FSIZE --------------------------------------
mkdir -p specs run
cp orig.csv run/data.csv
cat >specs/data.yaml <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: data}
spec:
  dataQuality:
    path: $TMP/run/data.csv
    interval: 1s
    backup: {keep: 2}
YAML
state=$TMP/state
port=$(free_port)
prlimit --fsize=$limit:unlimited "$SELFHEAL" run --specs specs --state "$state" --listen "127.0.0.1:$port" >run.log 2>&1 &
ctl=$!
track $ctl
on_fail() { echo "--- run.log"; tail -20 run.log; echo "--- status"; cat "$state/pipelines/default/data.json" 2>/dev/null; }
trap 'rc=$?; [ $rc -eq 0 ] || on_fail; cleanup' EXIT

doc() { jq -r "$1" "$state/pipelines/default/data.json" 2>/dev/null; }
cond() { doc ".status.conditions[]? | select(.type==\"DataValid\") | .$1"; }
cond_has() { [[ "$(cond message)" == *"$1"* ]]; }
failed_events() { grep -c '"reason":"DataFixFailed"' "$state/events.jsonl" 2>/dev/null || true; }
events_at_least() { [ "$(failed_events)" -ge "$1" ]; }

wait_for 20 "DataValid reports the failed write" cond_has "File too large"
assert_contains "$(cond message)" "fixing $TMP/run/data.csv failed: $TMP/run/data.csv: cannot write the fixed file: File too large"
assert_eq "$(cond status)" Unknown "DataValid status after a failed write"
assert_eq "$(doc '.status.history[-1].action') $(doc '.status.history[-1].outcome')" "fix-data failed"
wait_for 20 "a second attempt (the controller retries and stays up)" events_at_least 2
[[ "$(grep -m1 '"reason":"DataFixFailed"' "$state/events.jsonl")" == *"File too large"* ]] ||
    fail "the DataFixFailed event does not give the cause"
kill -0 $ctl 2>/dev/null || fail "the controller died under RLIMIT_FSIZE"
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || fail "the controller does not answer /healthz"
assert_eq "$(sum run/data.csv)" "$want" "the original while the controller cannot write"
assert_eq "$(leftovers run)" "" "files left behind by the controller's failed fixes"
jq -e . "$state/pipelines/default/data.json" >/dev/null || fail "the status file does not parse"

# the limit lifted: a retry fixes the file, with its backup
prlimit --pid $ctl --fsize=unlimited:unlimited
wait_for 40 "the file fixed once space is back" cond_has "filled"
assert_eq "$(cond reason)" Fixed
[ "$(sum run/data.csv)" != "$want" ] || fail "the file was not fixed"
cmp -s "$(ls run/data.csv.bak.* | head -1)" orig.csv || fail "the backup is not the original"
kill -TERM $ctl
rc=0
wait $ctl || rc=$?
assert_eq "$rc" 0 "the controller's exit status on SIGTERM"
echo "ok"
