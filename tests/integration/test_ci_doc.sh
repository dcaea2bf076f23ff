#!/usr/bin/env bash
# docs/ci-integration.md's workflow (issue 22 item 4): the drift stage
# restores the cooldown record before `selfheal retrain` runs, so the 24 h
# cooldown holds across CI runs; and a retrain inside the cooldown exits 0
# (the step stays green), saying so.
source "$(dirname "$0")/lib/common.sh"
doc=$SH_ROOT/docs/ci-integration.md
/usr/bin/python3 - "$doc" <<'PY' || fail "the workflow of docs/ci-integration.md does not restore the cooldown record"
import re, sys, yaml
text = open(sys.argv[1]).read()
wf = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
steps = [s for job in wf["jobs"].values() for s in job["steps"]]
record = ".github/triggers/retraining_log.json"
restore = next(i for i, s in enumerate(steps)
               if s.get("uses", "").startswith(("actions/cache@", "actions/download-artifact@"))
               and record in str(s.get("with", {}).get("path", "")))
retrain = next(i for i, s in enumerate(steps) if "selfheal retrain" in s.get("run", ""))
assert restore < retrain, (restore, retrain)
PY
cd "$TMP"
"$SELFHEAL" retrain --drift-detected --drift-score 0.9 >/dev/null || fail "first retrain"
rc=0
out=$("$SELFHEAL" retrain --drift-detected --drift-score 0.9 2>&1) || rc=$?
assert_eq "$rc" 0 "a retrain inside the cooldown (nothing to do)"
assert_contains "$out" "but the cooldown is active"
echo ok
