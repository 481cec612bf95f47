#!/usr/bin/env bash
# tests/deps_modes.sh — scripts/deps.sh's modes against fake dpkg-query,
# apt-get and id on the PATH (nothing is installed): which packages each
# mode asks for, that only the build's needs (and --bundle's patchelf) fail
# it, that offline (apt-get update and install failing) or non-root it
# never fails when those are present, and that it installs hard needs
# before the rest.
# Usage: deps_modes.sh SOURCE_DIR WORK_DIR
set -u
src=$1 work=$2
rm -rf "$work" && mkdir -p "$work/bin" "$work/installed" || exit 1
failures=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi; }

# dpkg-query -W -f=... PKG: installed when $work/installed/PKG exists
cat > "$work/bin/dpkg-query" <<END
#!/bin/sh
for p; do pkg=\$p; done
[ -e "$work/installed/\$pkg" ] && printf 'install ok installed' && exit 0
exit 1
END
# apt-get update | install ...: logged; fails offline, else "installs"
cat > "$work/bin/apt-get" <<END
#!/bin/sh
echo "apt-get \$*" >> "$work/calls"
[ -e "$work/online" ] || exit 100
[ "\$1" = install ] || exit 0
for p; do case "\$p" in -*|install|Dpkg*) ;; *) touch "$work/installed/\$p" ;; esac; done
END
printf '#!/bin/sh\ncat %s/uid\n' "$work" > "$work/bin/id"
chmod +x "$work/bin/"*

ALL=(cmake build-essential libopenblas-dev gnuplot-nox python3-numpy python3-torch chromium-headless-shell
     valgrind patchelf)
# state UID ONLINE(0|1) MISSING...: every package of ALL installed but MISSING
state() {
  local uid=$1 online=$2 p; shift 2
  rm -f "$work/installed/"* "$work/calls" "$work/online"
  for p in "${ALL[@]}"; do touch "$work/installed/$p"; done
  for p in "$@"; do rm -f "$work/installed/$p"; done
  echo "$uid" > "$work/uid"
  [ "$online" = 1 ] && touch "$work/online"
}
deps() {   # ARGS...: runs deps.sh; sets rc, err (stderr), out (stdout)
  PATH="$work/bin:$PATH" ACCUMBENCH_PYTHON=/bin/false "$src/scripts/deps.sh" "$@" > "$work/out" 2> "$work/err"
  rc=$? out=$(cat "$work/out") err=$(cat "$work/err")
}
calls() { cat "$work/calls" 2>/dev/null; }

state 1000 0; deps --bench
check "all present, not root: exit 0, one line, no apt-get (rc $rc)" \
  '[ $rc -eq 0 ] && [ -z "$(calls)" ] && [ "$(wc -l <<<"$out")" -eq 1 ] && [ -z "$err" ]'

state 1000 0 gnuplot-nox; deps --bench
check "--bench, not root, no gnuplot: exit 0 (rc $rc)" '[ $rc -eq 0 ] && [ -z "$(calls)" ]'
check "--bench, no gnuplot: warns that plots are skipped and 'accumbench report' redraws" \
  'grep -q "gnuplot-nox missing: plots" <<<"$err" && grep -q "accumbench report" <<<"$err"'

state 1000 0 libopenblas-dev gnuplot-nox; deps --bench
check "--bench, not root, no OpenBLAS: exit 1 naming it with the install line (rc $rc)" \
  '[ $rc -eq 1 ] && grep -q "missing for --bench: libopenblas-dev;.*apt-get install.*libopenblas-dev" <<<"$err"'

state 0 0 gnuplot-nox valgrind; deps --bench
check "--bench, root, offline, no gnuplot: exit 0 (rc $rc)" '[ $rc -eq 0 ]'
check "--bench, offline: apt-get update's failure is a warning" 'grep -q "apt-get update failed (offline?)" <<<"$err"'
check "--bench never asks for test packages (valgrind)" '! calls | grep -q valgrind'

state 0 0 cmake; deps --build
check "--build, root, offline, no cmake: exit 1 (rc $rc)" '[ $rc -eq 1 ] && grep -q "missing for --build: cmake" <<<"$err"'

state 0 1 cmake valgrind chromium-headless-shell; deps --test
check "--test, root, online: exit 0 and installed (rc $rc)" \
  '[ $rc -eq 0 ] && [ -e "$work/installed/cmake" ] && [ -e "$work/installed/valgrind" ]'
check "--test: the build's needs installed alone first" \
  '[ "$(calls | sed -n 2p)" = "apt-get install -q -y --no-install-recommends -o Dpkg::Use-Pty=0 cmake" ]'

state 0 1 valgrind patchelf; deps --bundle
check "--bundle, root, online: patchelf installed, valgrind not asked for (rc $rc)" \
  '[ $rc -eq 0 ] && [ -e "$work/installed/patchelf" ] && ! calls | grep -q valgrind'
state 1000 0 patchelf; deps --bundle
check "--bundle, not root, no patchelf: exit 1 (rc $rc)" '[ $rc -eq 1 ] && grep -q "patchelf" <<<"$err"'

state 0 1 valgrind; deps --test --check
check "--check: a missing test package is a warning, exit 0, nothing installed (rc $rc)" \
  '[ $rc -eq 0 ] && [ -z "$(calls)" ] && grep -q "valgrind missing" <<<"$err"'
state 0 1 cmake; deps --check
check "--check: a missing build package is exit 1, nothing installed (rc $rc)" '[ $rc -eq 1 ] && [ -z "$(calls)" ]'

state 0 1; deps
check "no mode is --all: counts every package (out: $out)" '[ $rc -eq 0 ] && grep -q -- "--all: 9 of 9" <<<"$out"'
deps --bogus
check "unknown argument: exit 2, one line (rc $rc)" '[ $rc -eq 2 ] && [ "$(wc -l <<<"$err")" -eq 1 ]'

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
