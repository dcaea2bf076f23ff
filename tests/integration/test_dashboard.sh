#!/usr/bin/env bash
# tests/integration/test_dashboard.sh — the live dashboard of a real
# `selfheal run`: the checked-in assets.c matches the dashboard files, the
# page and its assets are served from the binary, and headless Chromium
# (tests/browser/dashboard.test.js) sees the pipeline and a new event within
# 2 s of a fault (the spec's health check is broken). The screenshot goes to
# build/artifacts/dashboard.png. Installs Debian's chromium and the npm
# deps of tests/browser when they are missing.
source "$(dirname "$0")/lib/common.sh"
cd "$SH_ROOT"

# the generated assets are up to date
controller/server/dashboard/gen_assets.sh "$TMP/assets.c"
cmp -s "$TMP/assets.c" controller/server/dashboard/assets.c ||
    fail "controller/server/dashboard/assets.c is stale: run controller/server/dashboard/gen_assets.sh controller/server/dashboard/assets.c"

# the browser and playwright-core
if [ ! -x /usr/bin/chromium ]; then
    echo "installing chromium (apt)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
    echo "installing playwright-core (npm)"
    (cd tests/browser && npm ci --no-audit --no-fund --silent)
fi
[ -x "$SELFHEAL" ] || fail "$SELFHEAL is not built"

port=$(free_port)
web=$(free_port)
mkdir -p "$TMP/specs"
spec() { # spec PATH: the pipeline "web", its service supervised by selfheal
    cat <<YAML
apiVersion: selfheal.dev/v1alpha1
kind: SelfHealingPipeline
metadata:
  name: web
spec:
  service:
    healthCheck: {url: "http://127.0.0.1:$web$1", interval: 1s, timeout: 1s, failureThreshold: 1}
    recovery:
      method: process
      maxAttempts: 3
      backoff: 1s
      process:
        command: [/usr/bin/python3, -m, http.server, "$web", --bind, 127.0.0.1, --directory, "$TMP"]
YAML
}
spec / >"$TMP/specs/web.yaml"
spec /no-such-page >"$TMP/broken.yaml"

(cd "$TMP" && exec "$SELFHEAL" run --specs specs --state state --listen "127.0.0.1:$port" \
    >"$TMP/run.log" 2>&1) &
track $!
base="http://127.0.0.1:$port"
wait_for 10 "selfheal ready" curl -sf "$base/readyz"
wait_for 10 "the pipeline is healthy" \
    sh -c "curl -sf '$base/api/v1/pipelines/default/web' | grep -q '\"phase\":\"Healthy\"'"

# the page and its assets come from the binary, byte for byte
curl -sf "$base/" -o "$TMP/page.html" || fail "GET / failed"
cmp -s "$TMP/page.html" controller/server/dashboard/index.html || fail "GET / is not index.html"
for f in app.js style.css; do
    curl -sf "$base/dashboard/$f" -o "$TMP/$f" || fail "GET /dashboard/$f failed"
    cmp -s "$TMP/$f" "controller/server/dashboard/$f" || fail "GET /dashboard/$f differs from the file"
done
ctype=$(curl -sf -o /dev/null -w '%{content_type}' "$base/dashboard/app.js")
assert_contains "$ctype" "javascript" "app.js content type"

mkdir -p build/artifacts
out=$(node tests/browser/dashboard.test.js "$base/" default/web "$TMP/specs/web.yaml" \
    "$TMP/broken.yaml" "$SH_ROOT/build/artifacts/dashboard.png" 2>&1) || {
    echo "$out"
    tail -n 30 "$TMP/run.log"
    fail "the browser test failed"
}
echo "$out"
[ -s build/artifacts/dashboard.png ] || fail "no screenshot"
echo ok
