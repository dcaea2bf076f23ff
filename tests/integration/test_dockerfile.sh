#!/usr/bin/env bash
# The Dockerfile (issue 8): no Docker engine runs here, so the test runs the
# build stage's own build commands on a copy of the tree and checks they give
# the binary the Makefile gives (same version output, same symbols), and that
# the runtime stage installs a package for every shared library it links.
source "$(dirname "$0")/lib/common.sh"

df=Dockerfile
[ -f "$df" ] || fail "no Dockerfile"
grep -q '^FROM .* AS build' "$df" || fail "no build stage"
grep -q '^FROM .*-slim AS runtime' "$df" || fail "the runtime stage is not slim"
grep -qE '^USER [0-9]+:[0-9]+' "$df" || fail "the runtime user is not numeric"

# the build stage's commands after COPY, as the image would run them
build_cmds=$(awk '/^FROM .* AS build/{s=1} /^FROM .* AS runtime/{s=0} s&&/^COPY/{c=1;next} s&&c&&/^RUN /{sub(/^RUN /,"");print}' "$df")
[ -n "$build_cmds" ] || fail "no build commands after COPY in the build stage"
src=$TMP/src
mkdir -p "$src"
git ls-files -z | xargs -0 -I{} cp --parents {} "$src"/
(cd "$src" && bash -euo pipefail -c "$build_cmds") >"$TMP/build.log" 2>&1 || fail "build stage failed: $(tail -20 "$TMP/build.log")"
[ -x "$src/bin/selfheal" ] || fail "the build stage made no bin/selfheal"

# the same program as the Makefile's: version and exported symbols agree
assert_eq "$("$src/bin/selfheal" version | sed 's/(commit .*)//')" "$("$SELFHEAL" version | sed 's/(commit .*)//')" "version output"
nm -D --defined-only "$SELFHEAL" | awk '{print $3}' | sort >"$TMP/a.syms"
nm -D --defined-only "$src/bin/selfheal" | awk '{print $3}' | sort >"$TMP/b.syms"
diff -q "$TMP/a.syms" "$TMP/b.syms" >/dev/null || fail "dynamic symbols differ"
"$src/bin/selfheal" validate -f manifests/examples >/dev/null 2>&1 || fail "the image's binary does not validate the samples"

# every shared library the binary needs comes from a runtime-stage package
runtime_pkgs=$(awk '/^FROM .* AS runtime/{s=1} s' "$df" | grep -oE '\b(lib[a-z0-9.+-]+)\b' | sort -u)
for lib in $(ldd "$src/bin/selfheal" | awk '/=>/{print $3}'); do
    pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1) || true
    [ -n "$pkg" ] || pkg=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1) || true
    case $pkg in
    libc6 | libgcc-s1 | "") continue ;; # in every Debian image
    esac
    # direct dependencies must be installed explicitly; transitive ones come with them
    if grep -qx "$pkg" <<<"$runtime_pkgs"; then continue; fi
    direct=$(objdump -p "$src/bin/selfheal" | awk '/NEEDED/{print $2}')
    if grep -qx "$(basename "$lib")" <<<"$direct"; then
        fail "runtime stage lacks $pkg (for $(basename "$lib"))"
    fi
done
echo ok
