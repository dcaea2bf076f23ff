#!/usr/bin/env bash
# tests/integration/demo.sh — `make demo`: a scripted tour of the brief's five
# scenarios against a running controller on the housing demo. For each it
# injects the fault, waits for the controller to detect it and to heal it, and
# prints a table: fault, detected after, action, healed after. Exit 0 only if
# all five healed. `make test` runs it as the end-to-end test.
#
# It runs on its own copy of the demo (a temp folder, short intervals, a
# 5 s retraining cooldown) so it never disturbs `make run`'s demo/ folder.
#   DEMO_DIR=DIR   keep the work folder there (default: a temp folder, removed)
#   DEMO_TIMEOUT=S seconds each scenario may take to heal (default 40)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
SH=$root/bin/selfheal
timeout_s=${DEMO_TIMEOUT:-40}
work=${DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/selfheal-demo.XXXXXX")}
[ -n "${DEMO_DIR:-}" ] || trap 'cleanup; rm -rf "$work"' EXIT
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
[ -n "${DEMO_DIR:-}" ] && trap cleanup EXIT
die() { echo "demo: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

for b in selfheal housing-data housing-train housing-api; do
    [ -x "bin/$b" ] || die "bin/$b is missing: run make first"
done
examples/housing/prepare.sh --dir "$work/demo" --quiet >/dev/null || die "preparing the demo failed"
api_port=$(free_port)
mkdir -p "$work/specs"
d=$work/demo
cat >"$work/specs/housing.yaml" <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata: {name: housing}
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:$api_port/health", interval: 300ms, timeout: 250ms, failureThreshold: 2}
    recovery:
      method: process
      maxAttempts: 3
      backoff: 500ms
      resetAfter: 5s
      process: {command: ["$root/bin/housing-api", --port, "$api_port", --models, "$d/models", --watch, "1"]}
  model:
    metrics: # the housing model is a regression: judged by its R² and its RMSE
      - {name: accuracy, source: {http: {url: "http://127.0.0.1:$api_port/metrics.json", jsonPointer: /model_accuracy}}, interval: 1s, min: 0.70}
      - {name: rmse, source: {http: {url: "http://127.0.0.1:$api_port/metrics.json", jsonPointer: /model_rmse}}, interval: 1s, max: 40000}
    rollback: {registry: {path: "$d/models"}, reload: signal}
  drift:
    reference: {path: "$d/data/reference.csv"}
    current: {path: "$d/data/current.csv"}
    interval: 1s
    cooldown: 5s
    retrain:
      command: ["$root/bin/housing-train", --data, "$d/data/current.csv", --models, "$d/models"]
      timeout: 1m
  dataQuality:
    path: "$d/data/raw/housing.csv"
    interval: 1s
YAML
ctl_port=$(free_port)
"$SH" run --specs "$work/specs" --state "$work/state" --listen "127.0.0.1:$ctl_port" --log-level info >"$work/controller.log" 2>&1 &
pids+=($!)

st() { "$SH" get housing --state "$work/state" -o json 2>/dev/null | jq -r ".status$1 // empty" 2>/dev/null; }
cond() { st "| (.conditions // [])[] | select(.type==\"$1\") | .$2"; }

# wait_until SECONDS EXPR-FUNCTION: polls every 100 ms; prints elapsed ms
wait_until() {
    local limit=$1 fn=$2 t0
    t0=$(now_ms)
    while [ $(($(now_ms) - t0)) -lt $((limit * 1000)) ]; do
        if $fn; then echo $(($(now_ms) - t0)); return 0; fi
        sleep 0.1
    done
    return 1
}

ready() { [ "$(cond Ready status)" = True ]; }
wait_until 30 ready >/dev/null || { tail -30 "$work/controller.log" >&2; die "the pipeline never became Ready"; }

rows=()
healed_all=1
# scenario NAME FAULT-DESCRIPTION ACTION DETECTED-FN HEALED-FN INJECT-COMMAND...
scenario() {
    local name=$1 fault=$2 action=$3 detected=$4 healed=$5
    shift 5
    local t0 det="-" heal="-" outcome
    t0=$(now_ms)
    "$@" >/dev/null 2>&1 || { rows+=("$name|$fault|inject failed|-|-|FAILED"); healed_all=0; return; }
    local deadline=$((t0 + timeout_s * 1000))
    while [ "$(now_ms)" -lt $deadline ]; do
        if [ "$det" = "-" ] && $detected; then det=$(($(now_ms) - t0)); fi
        if $healed; then
            heal=$(($(now_ms) - t0))
            [ "$det" = "-" ] && det=$heal
            break
        fi
        sleep 0.1
    done
    if [ "$heal" = "-" ]; then outcome=FAILED; healed_all=0; else outcome=healed; fi
    rows+=("$name|$fault|$det|$action|$heal|$outcome")
    # let the pipeline settle before the next fault
    wait_until 30 ready >/dev/null || true
}
fmt_s() { [ "$1" = "-" ] && echo "-" || awk -v ms="$1" 'BEGIN{printf "%.1fs", ms/1000}'; }

# history entries of LOOP that succeeded (the ledger keeps the newest 20)
hist_ok() { st "| [(.history // [])[] | select(.loop == \"$1\" and .outcome == \"succeeded\")] | length"; }
num() { local v; v=$(st "$1"); echo "${v:-0}"; }
last_action() { st "| [(.history // [])[] | select(.loop == \"$1\")] | last | \"\\(.action) \\(.from // \"\") -> \\(.to // \"\")\""; }
model_known() { [ -n "$(st .model.version)" ]; }
wait_until 30 model_known >/dev/null || die "the model version never showed in status"

# 1. missing values → fixed
h0=$(hist_ok dataQuality)
det_missing() { [ "$(hist_ok dataQuality)" -gt "$h0" ] || [ "$(cond DataValid status)" = False ]; }
healed_missing() { [ "$(hist_ok dataQuality)" -gt "$h0" ] && [ "$(num .dataQuality.missingFixed)" -gt 0 ] &&
    [ "$(cond DataValid status)" = True ]; }
scenario "missing values" "5% of cells blanked" "imputed (median)" det_missing healed_missing \
    bin/housing-data --seed 1 --missing 0.05 --out "$d/data/raw/housing.csv"

# 2. the model degrades: its RMSE goes over its max (R² still fine) → rolled back
h0=$(hist_ok model)
v0=$(st .model.version)
det_acc() { [ "$(cond ModelValid status)" = False ] || [ "$(hist_ok model)" -gt "$h0" ]; }
healed_acc() { [ "$(hist_ok model)" -gt "$h0" ] && [ "$(cond ModelValid status)" = True ] &&
    st '| [(.history // [])[] | select(.loop == "model")] | last | .trigger' | grep -q 'rmse 52000 > 40000'; }
scenario "model degraded" "model $v0: RMSE 52000 > 40000" "rolled back" det_acc healed_acc \
    curl -fsS -X POST -d '{"rmse":52000}' "http://127.0.0.1:$api_port/admin/rmse"

# 3. drift → retrained
h0=$(hist_ok drift)
det_drift() { local r; r=$(cond ModelFresh reason); [ "$r" = DriftDetected ] || [ "$r" = Retraining ]; }
healed_drift() { [ "$(hist_ok drift)" -gt "$h0" ] && [ "$(cond ModelFresh status)" = True ]; }
scenario "data drift" "current data shifted" "retrained" det_drift healed_drift \
    bin/housing-data --seed 3 --shift 1 --out "$d/data/current.csv"

# 4. API killed → recovered
h0=$(hist_ok service)
api_pid() { pgrep -f -- "housing-api --port $api_port" | head -1; }
det_api() { [ "$(cond ServiceHealthy status)" = False ] || [ "$(hist_ok service)" -gt "$h0" ]; }
healed_api() { [ "$(hist_ok service)" -gt "$h0" ] && [ "$(cond ServiceHealthy status)" = True ]; }
kill_api() { local p; p=$(api_pid); [ -n "$p" ] && kill -KILL "$p"; }
scenario "API crash" "housing-api SIGKILLed" "process restarted" det_api healed_api kill_api

# 5. outliers → capped
h0=$(hist_ok dataQuality)
det_out() { [ "$(hist_ok dataQuality)" -gt "$h0" ] || [ "$(cond DataValid status)" = False ]; }
healed_out() { [ "$(hist_ok dataQuality)" -gt "$h0" ] && [ "$(num .dataQuality.outliersCapped)" -gt 0 ] &&
    [ "$(cond DataValid status)" = True ]; }
scenario "outliers" "2% of cells extreme" "capped at Q1/Q3 +- 3 IQR" det_out healed_out \
    bin/housing-data --seed 1 --outliers 0.02 --out "$d/data/raw/housing.csv"

printf '\n%-16s %-28s %-10s %-26s %-10s %s\n' SCENARIO FAULT DETECTED ACTION HEALED OUTCOME
for r in "${rows[@]}"; do
    IFS='|' read -r n f de a he o <<<"$r"
    printf '%-16s %-28s %-10s %-26s %-10s %s\n' "$n" "$f" "$(fmt_s "$de")" "$a" "$(fmt_s "$he")" "$o"
done
echo
# the healing actions are also metrics (selfheal_actions_total)
metrics=$(curl -fsS "http://127.0.0.1:$ctl_port/metrics" 2>/dev/null)
for loop in service model drift dataQuality; do
    grep -qE "^selfheal_actions_total\{loop=\"$loop\",[^}]*outcome=\"succeeded\"\} [1-9]" <<<"$metrics" ||
        { echo "demo: /metrics has no succeeded $loop action" >&2; healed_all=0; }
done
if [ $healed_all -eq 1 ]; then
    echo "demo: all five scenarios healed"
    exit 0
fi
echo "demo: not every scenario healed; controller log: $work/controller.log" >&2
tail -40 "$work/controller.log" >&2
exit 1
