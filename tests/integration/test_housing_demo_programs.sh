#!/usr/bin/env bash
# The housing demo's programs (issue 5): housing-data is deterministic per
# seed and its faults are really there (blank cells, extreme values, a shift
# that PSI flags); housing-train fits a model with a sane held-out R² and
# adds registry versions atomically (natural "vN" numbering, `current`
# untouched unless --activate, clear errors on bad data); housing-api serves
# /health, /predict, /metrics (promtool-clean when promtool is installed),
# /metrics.json, reloads on SIGHUP, keeps the old model when the new one is
# broken, has working fault knobs, is not blocked by slow clients, and exits
# 0 on SIGTERM; prepare.sh builds the demo folder idempotently.
source "$(dirname "$0")/lib/common.sh"

BIN=${HOUSING_BIN:-$SH_ROOT/bin}
DATA=$BIN/housing-data
TRAIN=$BIN/housing-train
API=$BIN/housing-api
for p in "$DATA" "$TRAIN" "$API"; do
    [ -x "$p" ] || fail "$p is missing (make examples)"
done
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
cd "$TMP"

# ---- housing-data ----
"$DATA" --seed 5 --rows 1500 >a.csv
"$DATA" --seed 5 --rows 1500 --out b.csv 2>/dev/null
cmp -s a.csv b.csv || fail "the same seed gives different bytes (stdout vs --out)"
"$DATA" --seed 5 --rows 1500 --out b.csv 2>/dev/null
cmp -s a.csv b.csv || fail "the same seed gives different bytes on a second run"
"$DATA" --seed 6 --rows 1500 >c.csv
cmp -s a.csv c.csv && fail "different seeds give the same data"
assert_eq "$(head -1 a.csv)" \
    "longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,households,median_income,ocean_proximity,median_house_value" \
    "the header"
assert_eq "$(wc -l <a.csv)" 1501 "header + 1500 rows"
ls .b.csv.tmp* >/dev/null 2>&1 && fail "--out left a temp file"
rc=0
"$DATA" --rows 0 >/dev/null 2>err.txt || rc=$?
assert_eq "$rc" 2 "exit status for --rows 0"
assert_contains "$(cat err.txt)" "--rows"

# faults: compared cell by cell with the clean file of the same seed
"$DATA" --seed 5 --rows 1500 --missing 0.05 --outliers 0.02 >faulty.csv
faults=$(paste -d '|' a.csv faulty.csv | awk -F'|' 'NR > 1 {
    n = split($1, c, ","); split($2, f, ",")
    for (i = 1; i <= n; i++) {
        if (c[i] == f[i]) continue
        if (i > 8) { bad++; continue }               # only numeric feature cells change
        if (f[i] == "") missing++
        else if (i >= 3 && f[i] / c[i] >= 20) outliers++
        else bad++
    }
} END { printf "%d %d %d\n", missing, outliers, bad }')
read -r missing outliers bad <<<"$faults"
cells=$((1500 * 8))
[ "$bad" -eq 0 ] || fail "$bad cells changed that are neither blank nor extreme"
[ "$missing" -gt $((cells * 3 / 100)) ] && [ "$missing" -lt $((cells * 7 / 100)) ] ||
    fail "--missing 0.05 blanked $missing of $cells cells"
[ "$outliers" -gt $((cells * 6 * 1 / 800)) ] && [ "$outliers" -lt $((cells * 6 * 3 / 800)) ] ||
    fail "--outliers 0.02 made $outliers extreme cells (of ~$((cells * 6 / 8)) eligible)"

# clean data has no IQR outliers (k = 3, the demo's data check) and the faulty one has many;
# the shifted data drifts by PSI on most features, another seed does not
"$DATA" --seed 7 --rows 1500 --shift 1 >shifted.csv
$PY - a.csv faulty.csv c.csv shifted.csv <<'PY' || fail "statistics of the generated data (above)"
import csv, math, statistics, sys
def cols(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    out = {}
    for k in rows[0]:
        if k == "ocean_proximity":
            continue
        out[k] = [float(r[k]) for r in rows if r[k] != ""]
    return out
def q13(v):
    q = statistics.quantiles(v, n=4, method="inclusive")
    return q[0], q[2]
def outliers(c):
    n = 0
    for v in c.values():
        q1, q3 = q13(v)
        n += sum(1 for x in v if x < q1 - 3 * (q3 - q1) or x > q3 + 3 * (q3 - q1))
    return n
def psi(ref, cur):
    edges = statistics.quantiles(ref, n=10, method="inclusive")
    def hist(v):
        h = [0] * 10
        for x in v:
            h[sum(1 for e in edges if x > e)] += 1
        return [max(c / len(v), 1e-4) for c in h]
    r, c = hist(ref), hist(cur)
    return sum((b - a) * math.log(b / a) for a, b in zip(r, c))
clean, faulty, other, shifted = (cols(p) for p in sys.argv[1:5])
errors = []
if outliers(clean) != 0:
    errors.append(f"clean data has {outliers(clean)} IQR outliers")
if outliers(faulty) < 50:
    errors.append(f"data with --outliers 0.02 has only {outliers(faulty)} IQR outliers")
same = {k: psi(clean[k], other[k]) for k in clean}
drift = {k: psi(clean[k], shifted[k]) for k in clean}
if max(same.values()) >= 0.1:
    errors.append(f"two seeds of one distribution drift: {same}")
if sum(1 for v in drift.values() if v >= 0.2) < 7:
    errors.append(f"--shift 1 drifts too few features (PSI >= 0.2): {drift}")
print("psi same:", {k: round(v, 3) for k, v in same.items()})
print("psi shift:", {k: round(v, 3) for k, v in drift.items()})
for e in errors:
    print("FAIL:", e)
sys.exit(1 if errors else 0)
PY

# ---- housing-train ----
acc() { jq -r .accuracy "$1/metrics.json"; }
in_range() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x <= hi) }'; }
out=$("$TRAIN" --data a.csv --models models)
assert_eq "$(awk '{print $1}' <<<"$out")" v1 "first version"
assert_contains "$out" "r2="
[ -f models/v1/model.json ] && [ -f models/v1/metrics.json ] || fail "v1 has model.json and metrics.json"
jq -e '(.accuracy == .r2) and (.rmse > 0) and (.rows == 1500) and (.test_rows == 300)
       and (.trained_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"))' models/v1/metrics.json >/dev/null ||
    fail "metrics.json fields: $(cat models/v1/metrics.json)"
in_range "$(acc models/v1)" 0.70 0.95 || fail "held-out R² of v1 is $(acc models/v1), expected 0.70..0.95"
[ ! -e models/current ] || fail "training without --activate created current"
"$TRAIN" --data faulty.csv --models models --seed 9 >out.txt
assert_eq "$(awk '{print $1}' out.txt)" v2 "second version"
jq -e '.skipped_rows > 0 and .rows + .skipped_rows == 1500' models/v2/metrics.json >/dev/null ||
    fail "rows with missing cells are skipped: $(cat models/v2/metrics.json)"
# natural order: after v9 comes v10; --activate swaps current
cp -r models/v2 models/v9
out=$("$TRAIN" --data a.csv --models models --activate)
assert_eq "$(awk '{print $1}' <<<"$out")" v10 "the version after v9"
assert_eq "$(readlink models/current)" v10 "--activate points current at the new version"
out=$("$TRAIN" --data a.csv --models models --version good)
assert_eq "$(awk '{print $1}' <<<"$out")" good "--version"
rc=0
"$TRAIN" --data a.csv --models models --version good >/dev/null 2>err.txt || rc=$?
assert_eq "$rc" 1 "a version that exists is refused"
assert_contains "$(cat err.txt)" "already exists"
# bad data: a clear message, exit 1, no new version, no temp folder
before=$(ls -A models | sort | tr '\n' ' ')
rc=0
"$TRAIN" --data nosuch.csv --models models 2>err.txt || rc=$?
assert_eq "$rc" 1 "exit status for a missing file"
assert_contains "$(cat err.txt)" "nosuch.csv"
sed '7s/^[^,]*,/-12x.5,/' a.csv >broken.csv
rc=0
"$TRAIN" --data broken.csv --models models 2>err.txt || rc=$?
assert_eq "$rc" 1 "exit status for a garbage number"
assert_contains "$(cat err.txt)" 'line 7: column "longitude": expected a number, got "-12x.5"'
printf 'longitude,latitude\n1,2\n' >narrow.csv
rc=0
"$TRAIN" --data narrow.csv --models models 2>err.txt || rc=$?
assert_eq "$rc" 1 "exit status for missing columns"
assert_contains "$(cat err.txt)" 'no column "housing_median_age"'
printf '"unterminated\n' | cat a.csv - >unterminated.csv
rc=0
"$TRAIN" --data unterminated.csv --models models 2>err.txt || rc=$?
assert_eq "$rc" 1 "exit status for an unterminated quote"
assert_contains "$(cat err.txt)" "unterminated quoted field"
assert_eq "$(ls -A models | sort | tr '\n' ' ')" "$before" "failed trainings leave the registry as it was"

# ---- housing-api ----
port=$(free_port)
url=http://127.0.0.1:$port
"$API" --port "$port" --models models >api.log 2>&1 &
api=$!
track $api
code() { curl -s -o /dev/null -w '%{http_code}' -m 2 "$@"; }
# code_is CODE URL: re-evaluated each time wait_for polls it
code_is() { [ "$(code "$2")" = "$1" ]; }
wait_for 5 "the API's /health" code_is 200 "$url/health"
health=$(curl -s -m 2 "$url/health")
assert_eq "$(jq -r .status <<<"$health")" ok "/health status"
assert_eq "$(jq -r .model_version <<<"$health")" v10 "/health model_version"

# /predict: on 60 held-out rows of another seed, the API's predictions score a sane R²
"$DATA" --seed 11 --rows 60 >fresh.csv
$PY - fresh.csv >requests.jsonl <<'PY'
import csv, json, sys
for r in csv.DictReader(open(sys.argv[1], newline="")):
    y = float(r.pop("median_house_value"))
    feats = {k: (v if k == "ocean_proximity" else float(v)) for k, v in r.items()}
    print(json.dumps({"y": y, "x": feats}))
PY
while read -r line; do
    y=$(jq -r .y <<<"$line")
    p=$(jq -c .x <<<"$line" | curl -s -m 2 -X POST -H 'Content-Type: application/json' --data-binary @- "$url/predict")
    echo "$y $(jq -r .prediction <<<"$p")"
done <requests.jsonl >pred.txt
r2=$(awk '{ y[NR] = $1; p[NR] = $2; s += $1 } END { m = s / NR
    for (i = 1; i <= NR; i++) { e += (y[i] - p[i]) ^ 2; t += (y[i] - m) ^ 2 }
    printf "%.4f", 1 - e / t }' pred.txt)
in_range "$r2" 0.6 1.0 || fail "R² of the API's predictions on fresh data is $r2 ($(head -3 pred.txt))"
one=$(sed -n 1p requests.jsonl | jq -c .x)
p=$(curl -s -m 2 -X POST --data-binary "$one" "$url/predict")
assert_eq "$(jq -r .model_version <<<"$p")" v10 "/predict model_version"
# bad input: 400 with a message
assert_eq "$(code -X POST --data-binary 'not json' "$url/predict")" 400 "/predict with garbage"
msg=$(jq -c 'del(.median_income)' <<<"$one" | curl -s -m 2 -X POST --data-binary @- "$url/predict")
assert_contains "$msg" 'missing feature \"median_income\"'
msg=$(jq -c '.ocean_proximity = "MOON"' <<<"$one" | curl -s -m 2 -X POST --data-binary @- "$url/predict")
assert_contains "$msg" 'unknown ocean_proximity'
msg=$(jq -c '.total_rooms = "many"' <<<"$one" | curl -s -m 2 -X POST --data-binary @- "$url/predict")
assert_contains "$msg" 'feature \"total_rooms\" must be a number'
assert_eq "$(code "$url/nope")" 404 "an unknown path"
assert_eq "$(code -X POST "$url/health")" 405 "POST /health"

# metrics: the recorded accuracy of the served version
want=$(acc models/v10)
mj=$(curl -s -m 2 "$url/metrics.json")
assert_eq "$(jq -r .model_version <<<"$mj")" v10 "/metrics.json model_version"
jq -e --argjson w "$want" '(.model_accuracy - $w | fabs) < 1e-9 and .requests > 60' <<<"$mj" >/dev/null ||
    fail "/metrics.json: $mj, expected model_accuracy $want"
curl -s -m 2 "$url/metrics" >metrics.txt
grep -qE "^model_accuracy\{version=\"v10\"\} 0\.[0-9]+$" metrics.txt || fail "labelled model_accuracy: $(cat metrics.txt)"
plain=$(awk '$1 == "model_accuracy" { print $2 }' metrics.txt)
in_range "$plain" "$(awk -v w="$want" 'BEGIN { print w - 1e-6 }')" "$(awk -v w="$want" 'BEGIN { print w + 1e-6 }')" ||
    fail "plain model_accuracy $plain, expected $want"
grep -q '^model_version_info{version="v10"} 1$' metrics.txt || fail "model_version_info"
grep -qE '^http_requests_total\{code="200",path="/predict"\} 6[0-9]$' metrics.txt || fail "request counter of /predict"
grep -qE '^http_requests_total\{code="400",path="/predict"\} 4$' metrics.txt || fail "request counter of bad /predict"
if command -v promtool >/dev/null; then
    promtool check metrics <metrics.txt || fail "promtool check metrics"
fi

# the admin accuracy knob: reported until the next reload
out=$(curl -s -m 2 -X POST --data-binary '{"accuracy": 0.65}' "$url/admin/accuracy")
assert_eq "$(jq -r .model_accuracy <<<"$out")" 0.65 "the override is reported"
assert_eq "$(curl -s -m 2 "$url/metrics.json" | jq -r .model_accuracy)" 0.65 "/metrics.json after the override"
grep -q '^model_accuracy{version="v10"} 0.65$' <(curl -s -m 2 "$url/metrics") || fail "/metrics after the override"
assert_eq "$(code -X POST --data-binary '{"accuracy": "low"}' "$url/admin/accuracy")" 400 "a bad override"

# SIGHUP after current is swapped: the other version is served, the override is gone
ln -s v1 models/.cur && mv -T models/.cur models/current
sleep 0.2
assert_eq "$(curl -s -m 2 "$url/health" | jq -r .model_version)" v10 "no reload before SIGHUP"
kill -HUP $api
wait_for 2 "v1 served after SIGHUP" sh -c "curl -s -m 1 $url/health | grep -q '\"v1\"'"
jq -e --argjson w "$(acc models/v1)" '(.model_accuracy - $w | fabs) < 1e-9 and .model_version == "v1"' \
    <(curl -s -m 2 "$url/metrics.json") >/dev/null || fail "v1's accuracy after the reload"
# a broken version: logged, the old model keeps serving
mkdir models/v11 && echo '{"format": "housing-ols/1"' >models/v11/model.json
ln -s v11 models/.cur && mv -T models/.cur models/current
kill -HUP $api
wait_for 2 "the failed reload is logged" grep -q "cannot load the new model" api.log
assert_eq "$(curl -s -m 2 "$url/health" | jq -r .model_version)" v1 "the old model after a failed reload"
assert_eq "$(code -X POST --data-binary "$one" "$url/predict")" 200 "predictions after a failed reload"
grep -q '^model_reloads_total{result="failure"} 1$' <(curl -s -m 2 "$url/metrics") || fail "the failed reload is counted"

# health fault: SIGUSR1 toggles /health to 500 and back, so does /admin/health
kill -USR1 $api
wait_for 2 "/health 500 after SIGUSR1" code_is 500 "$url/health"
kill -USR1 $api
wait_for 2 "/health 200 after a second SIGUSR1" code_is 200 "$url/health"
assert_eq "$(code -X POST --data-binary '{"fail": true}' "$url/admin/health")" 200 "/admin/health"
assert_eq "$(code "$url/health")" 500 "/health after /admin/health fail"
curl -s -m 2 -X POST --data-binary '{"fail": false}' "$url/admin/health" >/dev/null
assert_eq "$(code "$url/health")" 200 "/health after /admin/health heal"

# slow clients do not block others; concurrent probes all answer
exec 7<>/dev/tcp/127.0.0.1/"$port"
printf 'GET /health HTTP/1.1\r\nHost: x\r\n' >&7 # and never finishes the request
start=$(date +%s%N)
assert_eq "$(code "$url/health")" 200 "/health while a slow client is connected"
ms=$((($(date +%s%N) - start) / 1000000))
[ $ms -lt 1000 ] || fail "/health took ${ms} ms while a slow client was connected"
for i in $(seq 40); do code "$url/health" >"probe.$i" & done
wait_jobs=$(jobs -p | grep -v "^$api\$" || true)
for j in $wait_jobs; do wait "$j" || true; done
assert_eq "$(cat probe.* | tr -d '\n' | sed 's/200//g')" "" "40 concurrent probes all got 200"
exec 7>&-

# SIGTERM: exit 0, promptly
kill -TERM $api
rc=0
wait $api || rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM"

# no model yet: 503, then the model is picked up once current appears; with --watch a
# swapped current is followed without a signal
mkdir empty
port2=$(free_port)
"$API" --port "$port2" --models empty --watch 0.2 >api2.log 2>&1 &
api2=$!
track $api2
wait_for 5 "503 without a model" code_is 503 "http://127.0.0.1:$port2/health"
assert_eq "$(curl -s -m 2 "http://127.0.0.1:$port2/metrics.json" | jq -r .model_accuracy)" null "no accuracy without a model"
"$TRAIN" --data a.csv --models empty --activate >/dev/null
wait_for 5 "the model appears" code_is 200 "http://127.0.0.1:$port2/health"
# --watch: a new current is served without SIGHUP
"$TRAIN" --data c.csv --models empty --activate >/dev/null
wait_for 3 "--watch follows current to v2" sh -c "curl -s -m 1 http://127.0.0.1:$port2/health | grep -q '\"v2\"'"
kill -TERM $api2
wait $api2 || fail "second API exit status"
rc=0
"$API" --port "$port2" --bogus >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "exit status for an unknown option"

# ---- prepare.sh: the demo folder, twice ----
prep=$SH_ROOT/examples/housing/prepare.sh
[ -x "$prep" ] || fail "$prep is not executable"
"$prep" --dir "$TMP/demo" >prep1.txt
for f in data/raw/housing.csv data/reference.csv data/current.csv models/v1/metrics.json models/v2/model.json; do
    [ -f "demo/$f" ] || fail "prepare.sh did not make demo/$f"
done
assert_eq "$(readlink demo/models/current)" v2 "demo current"
for v in v1 v2; do
    in_range "$(acc demo/models/$v)" 0.72 0.95 || fail "demo $v accuracy $(acc demo/models/$v): must pass minAccuracy 0.70"
done
cmp -s demo/data/reference.csv demo/data/current.csv && fail "reference and current are the same file"
sums() { find demo -type f -newer prep1.txt | sort; (cd demo && find . -type f | sort | xargs md5sum); readlink demo/models/current; }
sleep 1.1
before=$(sums)
"$prep" --dir "$TMP/demo" >prep2.txt
assert_eq "$(sums)" "$before" "a second prepare.sh changes nothing"
assert_contains "$(cat prep2.txt)" "up to date"
# a broken data file and a moved current are restored
echo garbage >demo/data/current.csv
ln -sfn v1 demo/models/.c && mv -T demo/models/.c demo/models/current
"$prep" --dir "$TMP/demo" --quiet
cmp -s demo/data/current.csv <("$DATA" --rows 2000 --seed 3) || fail "prepare.sh restores current.csv"
assert_eq "$(readlink demo/models/current)" v2 "prepare.sh points current back at v2"
echo "ok"
