#!/usr/bin/env bash
# tests/image-tool.sh — the controller's container image with whichever engine
# can actually run here (`make image` calls `build`; tests/integration/
# test_image.sh calls all of it).
#
#   image-tool.sh engine      prints the engine command (podman or docker, with
#                              the global flags this machine needs); exit 3 when
#                              neither can run (docker's client without an
#                              engine does not count)
#   image-tool.sh run-flags   prints the flags `run` and `build` need here
#   image-tool.sh name        prints the image the chart runs by default
#                              (ghcr.io/selfheal/selfheal:<the chart's appVersion>)
#   image-tool.sh base        makes sure the Dockerfile's FROM images exist:
#                              present, or pulled, or — no registry reachable —
#                              made locally from the Debian archive (mmdebstrap
#                              --variant=minbase, the tarball cached under
#                              $SELFHEAL_CACHE/image) and imported under that name
#   image-tool.sh build       base, then builds the Dockerfile into `name` (or
#                              $IMAGE) and prints its size and the build time
#
# podman on hosts with a v1/hybrid cgroup layout (crun refuses it) runs with
# runc, without systemd with the cgroupfs manager, and with explicit ulimits
# where the host's hard limits are below podman's defaults; its builds use the
# host network (apt inside the build reaches the archive the host reaches).
# SELFHEAL_IMAGE_PULL=0 never tries a registry for the base images.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SELFHEAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/selfheal}/image

die() { echo "image-tool: $*" >&2; exit 1; }

# the engine command, as words on one line
engine() {
    local p
    if command -v podman >/dev/null 2>&1; then
        p=(podman)
        if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ] && [ -x /usr/sbin/runc ]; then
            p+=(--runtime /usr/sbin/runc)
        fi
        [ -d /run/systemd/system ] || p+=(--cgroup-manager=cgroupfs)
        if "${p[@]}" info >/dev/null 2>&1; then
            echo "${p[*]}"
            return 0
        fi
    fi
    if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        echo docker
        return 0
    fi
    echo "image-tool: no container engine can run here: podman is $(command -v podman >/dev/null && echo "installed but 'podman info' fails" || echo "not installed"), docker is $(command -v docker >/dev/null && echo "a client without a reachable engine" || echo "not installed") (tests/deps.sh test installs podman)" >&2
    return 3
}

run_flags() { # ENGINE-WORDS...
    [ "$1" = podman ] || return 0
    local hn hu f=()
    hn=$(ulimit -Hn)
    hu=$(ulimit -Hu)
    # podman asks for nofile 1048576 and nproc 4194304 unless told otherwise
    if [ "$hn" != unlimited ] && [ "$hn" -lt 1048576 ]; then f+=(--ulimit "nofile=$hn:$hn"); fi
    # (4096: some sandboxes refuse an nproc limit at their own hard limit)
    if [ "$hu" != unlimited ] && [ "$hu" -lt 4194304 ]; then f+=(--ulimit "nproc=4096:4096"); fi
    echo "${f[*]:-}"
}

name() {
    local v
    v=$(awk -F'"' '/^appVersion:/{print $2}' "$ROOT/helm/selfheal/Chart.yaml")
    [ -n "$v" ] || die "no appVersion in helm/selfheal/Chart.yaml"
    echo "ghcr.io/selfheal/selfheal:$v"
}

# docker.io/library/debian:12 for debian:12 (podman would import it as localhost/)
qualify() {
    case $1 in
    */*/*) echo "$1" ;;
    */*) case ${1%%/*} in *.* | *:* | localhost) echo "$1" ;; *) echo "docker.io/$1" ;; esac ;;
    *) echo "docker.io/library/$1" ;;
    esac
}

codename() {
    case $1 in
    11 | 11-slim | bullseye*) echo bullseye ;;
    12 | 12-slim | bookworm*) echo bookworm ;;
    13 | 13-slim | trixie*) echo trixie ;;
    *) return 1 ;;
    esac
}

base() {
    local e
    e=$(engine) || exit $?
    read -ra E <<<"$e"
    local img q stages
    stages=$(awk 'toupper($1)=="FROM" && toupper($3)=="AS" {print $4}' "$ROOT/Dockerfile")
    for img in $(awk 'toupper($1)=="FROM" {print $2}' "$ROOT/Dockerfile" | sort -u); do
        [ "$img" = scratch ] && continue
        grep -qx "$img" <<<"$stages" && continue
        q=$(qualify "$img")
        "${E[@]}" image inspect "$q" >/dev/null 2>&1 && continue
        if [ "${SELFHEAL_IMAGE_PULL:-1}" != 0 ] && timeout 120 "${E[@]}" pull -q "$q" >/dev/null 2>&1; then
            continue
        fi
        local repo=${q%:*} tag=${q##*:} suite tar
        [ "${repo##*/}" = debian ] && suite=$(codename "$tag") ||
            die "$img cannot be pulled and only debian images can be made locally"
        command -v mmdebstrap >/dev/null 2>&1 ||
            die "$img cannot be pulled and mmdebstrap is missing to make it (apt-get install mmdebstrap uidmap)"
        tar=$CACHE/debian-$suite-minbase.tar
        if [ ! -s "$tar" ]; then
            mkdir -p "$CACHE"
            echo "image-tool: no registry: making $img from the Debian archive (mmdebstrap $suite, about 30 s)" >&2
            mmdebstrap --quiet --variant=minbase --format=tar "$suite" "$tar.tmp" >&2 ||
                { rm -f "$tar.tmp"; die "mmdebstrap $suite failed"; }
            mv "$tar.tmp" "$tar"
        fi
        "${E[@]}" import -c 'CMD ["bash"]' "$tar" "$q" >/dev/null || die "cannot import $tar as $q"
        echo "image-tool: $q made locally from $tar" >&2
    done
}

build() {
    local e img t0 size commit
    e=$(engine) || exit $?
    read -ra E <<<"$e"
    img=${IMAGE:-$(name)}
    base
    read -ra F <<<"$(run_flags "${E[@]}")"
    [ "${E[0]}" = podman ] && F+=(--network host)
    commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
    t0=$(date +%s)
    "${E[@]}" build "${F[@]}" --build-arg "SELFHEAL_COMMIT=$commit" -t "$img" -f "$ROOT/Dockerfile" "$ROOT" >&2 ||
        die "${E[0]} build failed"
    size=$("${E[@]}" image inspect --format '{{.Size}}' "$img")
    echo "image-tool: $img built with ${E[0]} in $(($(date +%s) - t0)) s: $((size / 1000000)) MB"
}

case ${1:-} in
    engine) engine ;;
    run-flags) e=$(engine) || exit $?; run_flags $e ;;
    name) name ;;
    base) base ;;
    build) build ;;
    *) echo "usage: $0 engine | run-flags | name | base | build" >&2; exit 2 ;;
esac
