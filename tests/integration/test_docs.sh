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
[ ${#missing[@]} -eq 0 ] || fail "undocumented: ${missing[*]}"
echo ok
