# tests/integration/lib/kube.sh — the Kubernetes API emulator for a test
# (source it after common.sh):
#
#   start_emulator TOKEN [EMULATOR FLAGS...]
#
# starts tests/kube/emulator.py on a free port (stopped when the test ends)
# with a kubeconfig at $kc whose user has TOKEN, waits until it serves and
# sets url (its URL; https with --tls-self-signed, then cacert is its CA).
# `api CURL-ARGS...` calls it as a test client (user agent selfheal-test/1,
# so request-log checks can tell the controller's calls from the test's).
start_emulator() {
    EMU_TOKEN=$1
    shift
    kc=$TMP/kubeconfig
    /usr/bin/python3 "$SH_ROOT/tests/kube/emulator.py" --port 0 --port-file "$TMP/port" \
        --kubeconfig-out "$kc" --token "$EMU_TOKEN" "$@" >"$TMP/emu.out" 2>"$TMP/emu.err" &
    track $!
    wait_for 10 "the API emulator" test -s "$TMP/port"
    wait_for 5 "the API emulator's URL" test -s "$TMP/emu.out"
    url=$(head -1 "$TMP/emu.out")
    cacert=
    if [[ $url == https://* ]]; then
        cacert=$TMP/ca.pem
        awk '/certificate-authority-data/ {print $2}' "$kc" | base64 -d >"$cacert"
    fi
}

api() {
    curl -sS ${cacert:+--cacert "$cacert"} -H "Authorization: Bearer $EMU_TOKEN" -A selfheal-test/1 "$@"
}
