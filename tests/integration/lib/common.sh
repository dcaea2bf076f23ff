# tests/integration/lib/common.sh — helpers for the integration scripts:
# a temp folder removed on exit, processes killed on exit, waiting for a
# condition with a deadline, and assertions that say what they expected.
set -euo pipefail
SH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
SELFHEAL="$SH_ROOT/bin/selfheal"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/selfheal-test.XXXXXX")
_pids=()
_exit_hooks=()

# on_exit COMMAND: run COMMAND when the test ends, after its processes are
# killed and before its temp folder goes (lib/envtest.sh deletes its namespaces)
on_exit() { _exit_hooks+=("$1"); }

cleanup() {
    for p in "${_pids[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    for p in "${_pids[@]:-}"; do
        [ -n "$p" ] && wait "$p" 2>/dev/null || true
    done
    for h in "${_exit_hooks[@]:-}"; do
        [ -n "$h" ] && $h || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

# track PID: kill it when the test ends
track() { _pids+=("$1"); }

fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 50 ms
wait_for() {
    local secs=$1 what=$2
    shift 2
    local deadline=$(($(date +%s%N) + secs * 1000000000))
    while [ "$(date +%s%N)" -lt $deadline ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.05
    done
    fail "timed out after ${secs}s waiting for: $what"
}

# a free TCP port on loopback
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

assert_eq() { [ "$1" = "$2" ] || fail "${3:-values differ}: expected '$2', got '$1'"; }
assert_contains() { grep -qF -- "$2" <<<"$1" || fail "${3:-missing text}: expected to find '$2' in: $1"; }
assert_not_contains() { ! grep -qF -- "$2" <<<"$1" || fail "${3:-unexpected text}: did not expect '$2' in: $1"; }
