#!/usr/bin/env bash
# The API emulator's fidelity (issue 14): tests/kube/emulator.py stays only for
# the faults a real server cannot be made to produce on demand (500/429
# storms, cut watches, outages, latency: test_kube_faults, test_kube_chaos,
# the fault part of test_security), so the same client calls
# (tests/kube/fidelity.py) go to it and to a real kube-apiserver (envtest) and
# the answers are compared: create/get/list, AlreadyExists, NotFound, merge
# patch (generation, labels, no-op keeps the resourceVersion), bad patch
# bodies, the status subresource, PUT with a current, stale (409) and missing
# resourceVersion, 422 Invalid (schema, names), 400 strict decoding, dry run,
# delete, a watch from a list's resourceVersion (chunked, one JSON event per
# chunk and line, the event sequence), a watch from a resourceVersion long
# gone (one ERROR event, 410 Expired), Leases (create, update, stale,
# release, MicroTime parse errors), core and events.k8s.io Events (valid and
# invalid), a wrong token (401), a user with no rights (403), a missing
# namespace — status codes, framing, Status bodies (kind, apiVersion, status,
# reason, code, message, details.kind/name/group, causes, key order). Where
# they differ, the emulator is wrong. Then the emulator's own unit tests
# (tests/kube/test_emulator.py against the golden transcripts recorded from
# the same server build, test_crd_schema.py).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
PY=/usr/bin/python3

envtest_up
envtest_namespace fid
kadm create serviceaccount noperms -n "$NS" >/dev/null || fail "serviceaccount noperms"
noperms=$(kadm create token noperms -n "$NS" --duration 1h) || fail "no token for noperms"

# the emulator, with the same namespace and a user that may do nothing
TOKEN=fid-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
"$PY" "$SH_ROOT/tests/kube/emulator.py" --port 0 --port-file "$TMP/emu.port" --kubeconfig-out "$TMP/emu.kc" \
    --token "$TOKEN" --forbidden-token "nop-$TOKEN=system:serviceaccount:$NS:noperms" \
    --crd "$SH_ROOT/crd/selfhealingpipelines.selfheal.dev.yaml" >"$TMP/emu.out" 2>"$TMP/emu.err" &
track $!
wait_for 15 "the API emulator" test -s "$TMP/emu.out"
emu=$(head -1 "$TMP/emu.out")
code=$(curl -sS -o "$TMP/ns.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -X POST \
    -H 'Content-Type: application/json' "$emu/api/v1/namespaces" \
    -d "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$NS\"}}")
assert_eq "$code" 201 "namespace $NS on the emulator: $(cat "$TMP/ns.json")"

t0=$(date +%s%N)
"$PY" "$SH_ROOT/tests/kube/fidelity.py" run --url "$ENVTEST_URL" --namespace "$NS" --ca "$ENVTEST_CA" \
    --cert "$ENVTEST_ADMIN_CERT" --key "$ENVTEST_ADMIN_KEY" --wrong-token-url "$ENVTEST_URL" \
    --forbidden-token "$noperms" >"$TMP/real.json" 2>"$TMP/real.err" ||
    fail "the calls against the real server: $(tail -5 "$TMP/real.err")"
"$PY" "$SH_ROOT/tests/kube/fidelity.py" run --url "$emu" --namespace "$NS" --token "$TOKEN" \
    --wrong-token-url "$emu" --forbidden-token "nop-$TOKEN" >"$TMP/emu.json" 2>"$TMP/emu.err2" ||
    fail "the calls against the emulator: $(tail -5 "$TMP/emu.err2")"
ms=$((($(date +%s%N) - t0) / 1000000))

# the real server's answers are what the scenario expects (a wrong expectation
# here would make the comparison vacuous)
jq -e '.create.code == 201 and ."create-again".status.reason == "AlreadyExists"
  and ."get-missing".status.reason == "NotFound" and ."patch-spec".object.generation == 2
  and ."patch-label".object.generation == 2 and ."noop-keeps-rv" == true
  and ."get-after-status".object.status.phase == "Healthy" and ."put-stale".code == 409
  and ."create-invalid".code == 422 and ."create-invalid".status.details.kind == "SelfHealingPipeline"
  and ."create-unknown-strict".code == 400 and ."get-dry-run".code == 404 and ."patch-dry-run-kept" == true
  and .delete.status.status == "Success" and ."delete-missing".code == 404
  and .watch.chunked and .watch.every_chunk_one_event_line
  and ([.watch.events[][0]] == ["MODIFIED", "MODIFIED", "MODIFIED", "MODIFIED", "DELETED"])
  and ."watch-too-old".type == "ERROR" and ."watch-too-old".status.code == 410
  and ."watch-too-old".status.reason == "Expired" and ."watch-too-old".lines == 1
  and ."lease-create".code == 201 and ."lease-update".code == 200 and ."lease-update-stale".code == 409
  and ."lease-update-stale".status.details.kind == "leases" and ."event-create".code == 201
  and ."eventsv1-invalid".code == 422 and (."eventsv1-invalid".status.details | has("group") | not)
  and ."wrong-token".code == 401 and ."forbidden-list".code == 403
  and ."create-in-missing-namespace".code == 404' "$TMP/real.json" >/dev/null ||
    fail "the real server did not answer as the scenario expects: $(jq -c . "$TMP/real.json" | head -c 3000)"

"$PY" "$SH_ROOT/tests/kube/fidelity.py" compare "$TMP/emu.json" "$TMP/real.json" >"$TMP/diff.txt" ||
    fail "the emulator differs from the real kube-apiserver (fix tests/kube/emulator.py):
$(head -60 "$TMP/diff.txt")"
steps=$(jq 'length' "$TMP/real.json")

# the emulator's own tests (golden transcripts, watch framing, faults; the CRD schema checker)
"$PY" -m unittest discover -s "$SH_ROOT/tests/kube" -p 'test_*.py' >"$TMP/unit.out" 2>&1 ||
    fail "tests/kube unit tests: $(tail -20 "$TMP/unit.out")"
assert_contains "$(tail -1 "$TMP/unit.out")" "OK"
echo "ok ($steps exchanges identical on the emulator and the real server, in ${ms} ms)"
