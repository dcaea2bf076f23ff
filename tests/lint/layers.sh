#!/usr/bin/env bash
# tests/lint/layers.sh — the layer rule of controller/README.md, checked on
# every #include "..." of the product code: a folder includes only its own
# headers and those of the layers below it, never one above or beside it.
#
#   4  controller/cli/                       (main, one file per subcommand, wiring)
#   3  controller/kube/  controller/local/  controller/server/   (siblings: none includes another)
#   2  reconcilers/  (service/ model/ drift/ data/: one layer, the loops may use each other's headers)
#   1  controller/runtime/
#   0  controller/base/
#
# Usage: tests/lint/layers.sh [ROOT]   (default: the repository). Prints every
# offending include as FILE:LINE: ... and exits 1 when there is one.
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 2

# the layer of a source file, from its path
file_layer() {
    case $1 in
        controller/base/*) echo "0 base" ;;
        controller/runtime/*) echo "1 runtime" ;;
        reconcilers/*) echo "2 reconcilers" ;;
        controller/kube/*) echo "3 kube" ;;
        controller/local/*) echo "3 local" ;;
        controller/server/*) echo "3 server" ;;
        controller/cli/*) echo "4 cli" ;;
        *) echo "" ;;
    esac
}

# the layer of an included header, from its first path component
include_layer() {
    case ${1%%/*} in
        base) echo "0 base" ;;
        runtime) echo "1 runtime" ;;
        service | model | drift | data) echo "2 reconcilers" ;;
        kube) echo "3 kube" ;;
        local) echo "3 local" ;;
        server) echo "3 server" ;;
        cli) echo "4 cli" ;;
        *) echo "" ;;
    esac
}

bad=0
while IFS= read -r f; do
    read -r frank fname <<<"$(file_layer "$f")"
    if [ -z "${frank:-}" ]; then
        echo "$f: not in any layer (controller/README.md lists them)"
        bad=1
        continue
    fi
    while IFS=: read -r line inc; do
        read -r irank iname <<<"$(include_layer "$inc")"
        if [ -z "${irank:-}" ]; then
            echo "$f:$line: #include \"$inc\" names no layer folder (write base/…, runtime/…, service/…)"
            bad=1
        elif [ "$iname" != "$fname" ] && [ "$irank" -ge "$frank" ]; then
            echo "$f:$line: #include \"$inc\": $fname (layer $frank) may not include $iname (layer $irank)"
            bad=1
        fi
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | sed -E 's/^([0-9]+):[^"]*"([^"]+)".*/\1:\2/')
done < <(find controller reconcilers -name '*.[ch]' | sort)
[ $bad -eq 0 ] || echo "layers: includes cross a layer upwards or sideways (controller/README.md)"
exit $bad
