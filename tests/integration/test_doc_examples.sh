#!/usr/bin/env bash
# Every command example of README.md, docs/*.md and examples/housing/README.md
# runs as written and succeeds (issue 22, acceptance 1). The examples are the
# lines of fenced blocks (```sh, ``` or ```bash) that start with a command
# (bin/…, selfheal, kubectl, helm, curl, jq, make; a leading "$ " of a
# transcript is dropped); output lines of transcripts are not commands.
# Each runs with bash in the context its page describes:
#   local   README.md, docs/operations.md, examples/housing/README.md: what
#           `make run` sets up — a copy of the repository's layout (bin/,
#           manifests/local/, demo/ by examples/housing/prepare.sh) with the
#           controller on manifests/local, from its root; the fixed ports of the
#           docs (8080 the controller, 8000 the demo API) are replaced by free
#           ones (tests run side by side). The fault commands run first, then
#           the API process is killed (the page says to), so the audit files the
#           jq lines read exist.
#   ci      docs/ci-integration.md: the brief's layout (models/, data/) after
#           the workflow's one-shot commands ran.
#   kube    docs/cli.md, docs/kubernetes.md: kubectl (and the kubectl-selfheal
#           plugin) on the real control plane (envtest), the examples of
#           manifests/examples/ applied in namespace ml (a unique ml-XXXXXX here)
#           and that namespace the context's current one.
# Not run, each for a stated reason (ALLOW below): what cannot run here.
# Synopses (a line with [OPTIONS] placeholders) are syntax, not examples.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
command -v kubectl >/dev/null || fail "kubectl is not installed"

declare -A ALLOW=(
    ["make run"]="runs in the foreground until Ctrl-C: this test starts what it runs (examples/run-demo.sh: prepare.sh, then selfheal run --specs manifests/local) in the background"
    ["make test"]="the whole suite, this test included (it would run itself)"
    ["helm uninstall selfheal"]="uninstalls a release this test did not install; test_helm_chart.sh installs the chart, uninstalls it with this command and checks the CRD stays"
    ["kubectl delete crd selfhealingpipelines.selfheal.dev"]="would delete the CRD (and every pipeline) of the control plane the other tests share; test_helm_chart.sh checks what helm uninstall leaves"
    ["kubectl -n selfheal-system port-forward deploy/selfheal 8080:8080 &"]="needs a running controller pod: the test control plane has no kubelet (test_api_auth.sh checks the token flow against the controller)"
    ["kubectl create token my-viewer -n my-team"]="part of the port-forward example above (a ServiceAccount my-viewer in my-team is the reader's)"
    ["curl -H \"Authorization: Bearer \$(kubectl create token my-viewer -n my-team)\" http://127.0.0.1:8080/api/v1/pipelines/my-team/housing"]="part of the port-forward example above"
)

# FILE<TAB>LINE<TAB>COMMAND for every command line of the fenced blocks
extract() {
    awk '
    FNR == 1 { fence = 0 }
    /^```/ { if (!fence) { fence = 1; lang = substr($0, 4) } else fence = 0; next }
    fence && (lang == "sh" || lang == "" || lang == "bash") {
        line = $0
        if (cont != "") { line = cont " " line; sub(/^[ \t]+/, "", $0) }
        if (line ~ /\\$/) { sub(/[ \t]*\\$/, "", line); cont = line; next }
        cont = ""
        sub(/^\$ /, "", line)
        if (line ~ /^(bin\/|selfheal |kubectl |helm |curl |jq |make )/) {
            gsub(/[ \t]+/, " ", line)
            print FILENAME "\t" FNR "\t" line
        }
    }' "$@"
}

cd "$SH_ROOT"
extract README.md docs/*.md examples/housing/README.md >"$TMP/examples.tsv"
[ -s "$TMP/examples.tsv" ] || fail "no command examples found"

ran=0
skipped=0
run_one() { # CONTEXT-DIR FILE LINE COMMAND
    local dir=$1 file=$2 line=$3 cmd=$4 out rc=0
    out=$(cd "$dir" && bash -o pipefail -c "$cmd" 2>&1) || rc=$?
    [ $rc -eq 0 ] || fail "$file:$line: \`$4\` failed (exit $rc): $(tail -5 <<<"$out")"
    ran=$((ran + 1))
}
skip_reason() { # COMMAND → reason or ""
    local c=${1%%#*}
    c=$(sed 's/[ \t]*$//' <<<"$c")
    if [ -n "${ALLOW[$c]:-}" ]; then echo "${ALLOW[$c]}"; return; fi
    case $c in *" ["*"]"*) echo "a synopsis (placeholders), not an example" ;; esac
}

# ---- local: the layout of `make run` --------------------------------------
root=$TMP/root
mkdir -p "$root/manifests"
ln -s "$SH_ROOT/bin" "$root/bin"
mkdir -p "$root/examples" && ln -s "$SH_ROOT/examples/housing" "$root/examples/housing"
"$SH_ROOT/examples/housing/prepare.sh" --dir "$root/demo" --quiet >"$TMP/prepare.log" 2>&1 ||
    fail "prepare.sh: $(cat "$TMP/prepare.log")"
ctl=$(free_port)
api=$(free_port)
cp -r "$SH_ROOT/manifests/local" "$root/manifests/local"
sed -i -e "s/8000/$api/g" -e 's/cooldown: 2m/cooldown: 1s/' -e 's/interval: 10s/interval: 1s/g' \
    "$root/manifests/local/housing.yaml"
ports() { sed -e "s/8080/$ctl/g" -e "s/8000/$api/g" <<<"$1"; }
(cd "$root" && exec "$SELFHEAL" run --specs manifests/local --listen "127.0.0.1:$ctl" >"$TMP/run.log" 2>&1) &
track $!
trap 'rc=$?; [ $rc = 0 ] || { echo "--- controller log (tail):" >&2; tail -n 20 "$TMP/run.log" >&2; }; cleanup' EXIT
wait_for 20 "the controller" curl -fsS "http://127.0.0.1:$ctl/readyz"
wait_for 20 "the demo API" curl -fsS "http://127.0.0.1:$api/health"

hist() { (cd "$root" && bin/selfheal get housing -o json) | jq "[.status.history[]? | select(.loop == \"$1\")] | length"; }
some() { [ "$(hist "$1")" -ge 1 ] 2>/dev/null; }
# the fault injections of examples/housing/README.md, in order
while IFS=$'\t' read -r file line cmd; do
    [ "$file" = examples/housing/README.md ] || continue
    run_one "$root" "$file" "$line" "$(ports "$cmd")"
    case $cmd in
    *"--missing"*) wait_for 20 "the data fix" some dataQuality ;;
    *"/admin/accuracy"*) wait_for 20 "the rollback" some model ;;
    *"--shift"*) wait_for 30 "the retrain" some drift ;;
    esac
done <"$TMP/examples.tsv"
# "then kill the housing-api process"
pid=$(pgrep -f "bin/housing-api --port $api" | head -1)
[ -n "$pid" ] || fail "no housing-api process to kill"
kill -KILL "$pid"
wait_for 20 "the recovery" some service
wait_for 20 "the demo API again" curl -fsS "http://127.0.0.1:$api/health"

while IFS=$'\t' read -r file line cmd; do
    case $file in README.md | docs/operations.md) ;; *) continue ;; esac
    reason=$(skip_reason "$cmd")
    if [ -n "$reason" ]; then
        echo "  skip $file:$line $cmd — $reason"
        skipped=$((skipped + 1))
        continue
    fi
    run_one "$root" "$file" "$line" "$(ports "$cmd")"
done <"$TMP/examples.tsv"

# ---- ci: the brief's layout after the workflow's steps -------------------------
ci=$TMP/ci
mkdir -p "$ci/models"
cp -r "$root/demo/models/v1" "$root/demo/models/v2" "$ci/models/"
ln -s v2 "$ci/models/current"
health=$(free_port)
(
    cd "$ci"
    "$SELFHEAL" rollback --current-metric 0.65 --threshold 0.70 --registry models >/dev/null 2>&1 || true
    "$SELFHEAL" retrain --drift-detected --drift-score 0.9 -- true >/dev/null 2>&1 || true
    "$SELFHEAL" recover --method command --service-url "http://127.0.0.1:$health/health" --max-attempts 1 \
        --command true >/dev/null 2>&1 || true
)
while IFS=$'\t' read -r file line cmd; do
    [ "$file" = docs/ci-integration.md ] || continue
    run_one "$ci" "$file" "$line" "$cmd"
done <"$TMP/examples.tsv"

# ---- kube: the real control plane -----------------------------------------------
envtest_up
mlns=ml-$(od -An -N3 -tx1 /dev/urandom | tr -d " \n")
_envtest_namespaces+=("$mlns")
kadm create namespace "$mlns" >/dev/null
kadm apply -n "$mlns" -f "$SH_ROOT/manifests/examples/" >/dev/null
cp "$ENVTEST_KUBECONFIG" "$TMP/kubeconfig"
export KUBECONFIG=$TMP/kubeconfig
kubectl config set-context --current --namespace "$mlns" >/dev/null
mkdir -p "$TMP/plugin"
ln -s "$SH_ROOT/bin/selfheal" "$TMP/plugin/kubectl-selfheal"
export PATH=$TMP/plugin:$PATH
while IFS=$'\t' read -r file line cmd; do
    case $file in docs/cli.md | docs/kubernetes.md | docs/security.md) ;; *) continue ;; esac
    reason=$(skip_reason "$cmd")
    if [ -n "$reason" ]; then
        echo "  skip $file:$line $cmd — $reason"
        skipped=$((skipped + 1))
        continue
    fi
    run_one "$SH_ROOT" "$file" "$line" "$(sed -E "s/(-n|--namespace) ml( |$)/\\1 $mlns\\2/g" <<<"$cmd")"
done <"$TMP/examples.tsv"

total=$(wc -l <"$TMP/examples.tsv")
[ $((ran + skipped)) -ge "$total" ] || fail "ran $ran and skipped $skipped of $total examples"
echo "ok: $ran examples ran, $skipped skipped with a reason"
