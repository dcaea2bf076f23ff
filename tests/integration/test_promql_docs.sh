#!/usr/bin/env bash
# Every PromQL expression of docs/operations.md ("The brief's success metrics
# in PromQL") against a real Prometheus (Debian's /usr/bin/prometheus)
# scraping a controller that went through each fault of the housing demo
# (issue 22 item 2): missing values fixed, accuracy 0.65 rolled back, drift
# retrained, the API failing its probes (recovered, MTTR), the API process
# killed (restarted before any probe failed). Each answer is checked:
#   auto-fix success rate   1 (every data fix counted started and succeeded)
#   MTTR                    a positive number of seconds
#   rollback frequency      ≥ 1
#   drift response time     ≥ 1 (retrains succeeded)
#   service uptime          below 1 (the outages count, however detected), above 0.99
source "$(dirname "$0")/lib/common.sh"
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
[ -x "$PROMETHEUS" ] || { echo "SKIP: $PROMETHEUS is not installed"; exit 77; }

# the expressions, as the doc writes them
mapfile -t exprs < <(awk '/^## The brief.s success metrics in PromQL/{on=1; next} /^## /{on=0} on' \
    "$SH_ROOT/docs/operations.md" | grep -o '`[^`]*selfheal_[^`]*`' | tr -d '`')
[ "${#exprs[@]}" -eq 5 ] || fail "expected 5 PromQL expressions in docs/operations.md, found ${#exprs[@]}: ${exprs[*]}"

work=$TMP/work
mkdir -p "$work/specs"
"$SH_ROOT/examples/housing/prepare.sh" --dir "$work/demo" --quiet >"$TMP/prepare.log" 2>&1 ||
    fail "prepare.sh: $(cat "$TMP/prepare.log")"
ln -s "$SH_ROOT/bin" "$work/bin"
api=$(free_port)
sed -e "s/8000/$api/g" -e 's/interval: 2s/interval: 200ms/; s/timeout: 1s/timeout: 150ms/' \
    -e 's/interval: 5s/interval: 1s/; s/interval: 10s/interval: 1s/g; s/backoff: 2s/backoff: 200ms/' \
    -e 's/cooldown: 2m/cooldown: 1s/' "$SH_ROOT/manifests/local/housing.yaml" >"$work/specs/housing.yaml"
cd "$work"
ctl_port=$(free_port)
"$SELFHEAL" run --specs specs --listen "127.0.0.1:$ctl_port" >"$TMP/run.log" 2>&1 &
track $!
wait_for 20 "/readyz" curl -fsS "http://127.0.0.1:$ctl_port/readyz"

pport=$(free_port)
cat >"$TMP/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: selfheal
  static_configs: [{targets: ['127.0.0.1:$ctl_port']}]
YAML
"$PROMETHEUS" --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prometheus-data" \
    --web.listen-address="127.0.0.1:$pport" >"$TMP/prometheus.log" 2>&1 &
track $!
wait_for 20 "prometheus ready" curl -sf "http://127.0.0.1:$pport/-/ready"

state=$(sed -n 's/.*state folder \([^ ,;]*\).*/\1/p' "$TMP/run.log" | head -1)
doc() { jq -r "$1" "$(find "$work" -path '*pipelines/default/housing.json' | head -1)" 2>/dev/null; }
hist() { doc "[.status.history[]? | select(.loop == \"$1\" and .outcome == \"$2\")] | length"; }
some() { [ "$(hist "$1" "$2")" -ge 1 ] 2>/dev/null; }
healthy() { curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$api/health"; }
on_fail() { echo "--- run.log"; tail -30 "$TMP/run.log"; echo "--- status"; doc .status; }
trap 'rc=$?; [ $rc -eq 0 ] || on_fail; cleanup' EXIT
wait_for 20 "the API serves" healthy
query() { # EXPR → the scalar answer, "" for an empty result
    curl -fsS --get "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
        jq -r 'if .status != "success" then "ERROR" else (.data.result[0].value[1] // "") end'
}
scraped() { [ "$(query 'count_over_time(selfheal_actions_total{loop="dataQuality",outcome="started"}[1m])')" -ge 3 ] 2>/dev/null; }
wait_for 20 "three scrapes of the healthy state before any fault" scraped

# 1. missing values → fixed
bin/housing-data --seed 1 --missing 0.05 --out demo/data/raw/housing.csv
wait_for 20 "the data fix" some dataQuality succeeded
# 2. accuracy 0.65 → rolled back
curl -s -X POST -d '{"accuracy": 0.65}' "http://127.0.0.1:$api/admin/accuracy" >/dev/null
wait_for 20 "the rollback" some model started
# 3. drift → retrained
bin/housing-data --seed 3 --shift 1 --out demo/data/current.csv
wait_for 60 "the retrain" some drift succeeded
# 4. the API fails its probes → recovered (an MTTR)
wait_for 20 "the API serves again" healthy
curl -s -X POST -d '{"fail": true}' "http://127.0.0.1:$api/admin/health" >/dev/null
wait_for 20 "a healed incident" some service succeeded
# 5. the API process is killed → restarted before any probe fails
wait_for 20 "the API serves again" healthy
pid=$(pgrep -f "bin/housing-api --port $api" | head -1)
[ -n "$pid" ] || fail "no housing-api process"
down_metric() { curl -fsS "http://127.0.0.1:$ctl_port/metrics" | awk '/^selfheal_service_down_seconds_total/ {print $2}'; }
down_before=$(down_metric)
kill -KILL "$pid"
wait_for 20 "restarted after SIGKILL" bash -c "pgrep -f 'bin/housing-api --port $api' | grep -vx $pid"
wait_for 20 "the API serves again" healthy
sleep 4 # the last scrapes

check() { # EXPR JQ-TEST LABEL
    local v
    v=$(query "$1")
    [ -n "$v" ] && [ "$v" != ERROR ] && [ "$v" != NaN ] || fail "$3: no answer to $1 (got '$v')"
    jq -en "$v | $2" >/dev/null || fail "$3: $1 = $v, expected $2"
    echo "  $3: $v"
}
check "${exprs[0]}" '. == 1' "auto-fix success rate"
check "${exprs[1]}" '. > 0' "MTTR"
check "${exprs[2]}" '. >= 1' "rollback frequency"
check "${exprs[3]}" '. >= 1' "drift response time (retrains)"
check "${exprs[4]}" '. < 1 and . > 0.99' "service uptime"
# the outage of step 5 (no probe failed: the loop restarted the process) counted too
down_after=$(down_metric)
jq -en "$down_after > $down_before" >/dev/null ||
    fail "the SIGKILL outage was not counted: down seconds $down_before → $down_after"
echo ok
