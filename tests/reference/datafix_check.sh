#!/usr/bin/env bash
# datafix_check.sh — runs datafix_check.py (selfheal fix-data against pandas)
# with Debian's python3 (/usr/bin/python3, python3-pandas), not a python3
# earlier on PATH. Usage: datafix_check.sh [SELFHEAL_BINARY] [SEEDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../bin/selfheal}
/usr/bin/python3 -c 'import pandas, numpy' 2>/dev/null || {
    echo "datafix_check: /usr/bin/python3 lacks pandas/numpy (apt-get install python3-pandas)" >&2
    exit 1
}
exec /usr/bin/python3 "$here/datafix_check.py" "$bin" "${@:2}"
