#!/usr/bin/env bash
# examples/housing/prepare.sh — prepares the housing demo's workload for
# `make run` (manifests/local/housing.yaml), from the repository root:
#
#   demo/data/raw/housing.csv   clean data the data-quality loop watches (seed 1)
#   demo/data/reference.csv     the drift reference (seed 2, same distribution)
#   demo/data/current.csv       the drift "current" data (seed 3, same distribution)
#   demo/models/v1, v2          two versions trained by bin/housing-train
#   demo/models/current -> v2
#
# Idempotent: data files are rewritten only when their bytes differ from the
# seeded ones (so a file broken or drifted by hand is restored), versions v1
# and v2 are trained only when missing or incomplete, other versions are left
# alone, and `current` is pointed at v2 (atomically).
#
#   prepare.sh [--dir DIR] [--clean] [--quiet]
#     --dir DIR   where to prepare (default: demo, relative to the repo root)
#     --clean     remove DIR first (drops extra versions, backups, edits)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
dir=demo
clean=0
quiet=0
while [ $# -gt 0 ]; do
    case $1 in
    --dir) dir=${2:?--dir needs a folder}; shift 2 ;;
    --clean) clean=1; shift ;;
    --quiet) quiet=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "prepare.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
say() { [ $quiet = 1 ] || echo "prepare: $*"; }

for p in housing-data housing-train; do
    [ -x "bin/$p" ] || { echo "prepare.sh: bin/$p is missing; run 'make' first" >&2; exit 1; }
done
if [ $clean = 1 ] && [ -e "$dir" ]; then
    rm -rf -- "$dir"
    say "removed $dir"
fi
mkdir -p "$dir/data/raw" "$dir/models"

# data FILE SEED: the seeded clean file, replaced only when its bytes differ
data() {
    local out=$1 seed=$2 tmp
    tmp=$(mktemp "$(dirname "$out")/.prepare.XXXXXX")
    bin/housing-data --rows 2000 --seed "$seed" >"$tmp"
    if [ -f "$out" ] && cmp -s "$tmp" "$out"; then
        rm -f "$tmp"
        say "$out: up to date (2000 rows, seed $seed)"
    else
        chmod 644 "$tmp"
        mv -f "$tmp" "$out"
        say "$out: written (2000 rows, seed $seed)"
    fi
}
data "$dir/data/raw/housing.csv" 1
data "$dir/data/reference.csv" 2
data "$dir/data/current.csv" 3

# version NAME DATA SEED: trained only when the folder is not complete
version() {
    local v=$1 csv=$2 seed=$3 out
    if [ -f "$dir/models/$v/model.json" ] && [ -f "$dir/models/$v/metrics.json" ]; then
        say "$dir/models/$v: present (accuracy $(sed -n 's/^[[:space:]]*"accuracy":[[:space:]]*\([-0-9.eE+]*\).*/\1/p' "$dir/models/$v/metrics.json"))"
        return
    fi
    [ ! -e "$dir/models/$v" ] || rm -rf -- "${dir:?}/models/$v"
    out=$(bin/housing-train --data "$csv" --models "$dir/models" --version "$v" --seed "$seed")
    say "$dir/models/$v: trained on $csv: $out"
}
version v1 "$dir/data/reference.csv" 1
version v2 "$dir/data/raw/housing.csv" 2

if [ "$(readlink "$dir/models/current" 2>/dev/null || true)" != v2 ]; then
    ln -sfn v2 "$dir/models/.current.prepare"
    mv -fT "$dir/models/.current.prepare" "$dir/models/current"
    say "$dir/models/current -> v2"
else
    say "$dir/models/current -> v2 (unchanged)"
fi
