#!/usr/bin/env bash
# test_layers.sh — the layer lint (tests/lint/layers.sh) passes on the tree
# and fails on a planted include that crosses a layer upwards or sideways.
set -eu
cd "$(dirname "$0")/../.."
. tests/integration/lib/common.sh

tests/lint/layers.sh >/dev/null || fail "the layer lint fails on the tree"

plant() { # FILE INCLUDE: a copy of the tree with one more include; the lint must fail naming it
    local d=$TMP/tree
    rm -rf "$d" && mkdir -p "$d"
    cp -r controller reconcilers "$d/"
    sed -i "1i #include \"$2\"" "$d/$1"
    if out=$(tests/lint/layers.sh "$d"); then
        fail "the lint passed with $1 including $2"
    fi
    grep -q "$1:1: #include \"$2\"" <<<"$out" || fail "the lint did not name $1:1 ($out)"
}
plant controller/base/clock.c runtime/spec.h       # base reaches up to the runtime
plant controller/runtime/manager.c service/probe.h # the runtime reaches up to a loop
plant reconcilers/model/model_decide.c kube/client.h
plant controller/kube/client.c local/state.h       # one platform into the other
plant controller/server/httpserver.c cli/cli.h
plant controller/base/log.c clock.h                # a bare name hides its layer
echo "ok: the layer lint passes on the tree and fails on 6 planted includes"
