#!/usr/bin/env bash
# The docs keep up with the code (issue 5): every command of `selfheal --help`
# and every flag of each command's --help appear in docs/cli.md; every field
# name the spec validator knows appears in docs/spec-reference.md.
source "$(dirname "$0")/lib/common.sh"
cli=docs/cli.md
ref=docs/spec-reference.md
cmds=$("$SELFHEAL" --help | awk '/^Commands:/{s=1;next} s&&/^  [a-z]/{print $1} s&&/^$/{s=0}')
[ -n "$cmds" ] || fail "no commands in selfheal --help"
missing=()
for c in $cmds; do
    [ "$c" = help ] && continue
    grep -q "selfheal $c" "$cli" || missing+=("command $c")
    for f in $("$SELFHEAL" "$c" --help 2>&1 | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
        grep -qF -- "$f" "$cli" || missing+=("$c $f")
    done
done
# field names: the known-key lists of controller/runtime/spec.c
fields=$(tr '\n' ' ' <controller/runtime/spec.c | grep -oE 'static const char \*const [a-z_]*keys\[\] = \{[^}]*\}' |
    grep -oE '"[a-zA-Z]+"' | tr -d '"' | sort -u)
[ -n "$fields" ] || fail "no field lists found in controller/runtime/spec.c"
for f in $fields; do
    grep -q "\b$f\b" "$ref" || missing+=("field $f")
done
# behaviour a reader of the spec reference must know (issue 22 item 9): the
# model loop on a cluster falls back to the service's Deployment
grep -q 'service.recovery.deployment' controller/kube/kube_actuators_model.c &&
    ! grep -E '^\| `rollback.deployment`' "$ref" | grep -q 'service.recovery.deployment' &&
    missing+=("rollback.deployment's fallback to service.recovery.deployment")
# the help blocks of docs/cli.md are the commands' --help, word for word
for c in $(grep -oE '^Usage: selfheal [a-z-]+' "$cli" | awk '{print $3}' | sort -u); do
    want=$("$SELFHEAL" "$c" --help)
    got=$(awk -v c="$c" '/^```/{if(on){exit} next} $0 ~ "^Usage: selfheal "c"( |$)"{on=1} on' "$cli")
    [ "$got" = "$want" ] || missing+=("docs/cli.md's help of $c differs from selfheal $c --help")
done
[ ${#missing[@]} -eq 0 ] || fail "undocumented: ${missing[*]}"
echo ok
