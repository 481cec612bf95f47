#!/usr/bin/env bash
# tests/validate_parts.sh — the bundle's validate.sh keeps its time budgets,
# on a machine without a GPU made to look like one (a fake nvidia-smi on the
# PATH) and a stand-in bundle: bin/accumbench is ACCUMBENCH, test_cuda_ops
# hangs, test_cuda_model passes at once. The budgets are edited in the
# stand-in's copy of validate.sh:
#  - ops given 3 s: it fails "timed out after 3 s" within its kill grace,
#    and the parts after it still run (model passes, every part has a row);
#  - the whole run given 60 s (30 s for parts after the reserve and the kill
#    grace) and ops 100 s: ops gets what is left, never its 100 s, every
#    later part is skipped with "no time left", and the run ends inside its
#    60 s.
# Usage: validate_parts.sh SOURCE_DIR WORK_DIR ACCUMBENCH
set -u
src=$1 work=$2 accumbench=$(readlink -f "$3")
rm -rf "$work" && mkdir -p "$work/smi" || exit 1
failures=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi; }

printf '#!/bin/sh\necho "GPU 0: NVIDIA H200 (UUID: GPU-00000000-0000-0000-0000-000000000000)"\n' > "$work/smi/nvidia-smi"
chmod +x "$work/smi/nvidia-smi"

# bundle DIR SED: a stand-in bundle whose validate.sh is edited by SED
bundle() {
  mkdir -p "$1/bin"
  sed "$2" "$src/scripts/gpu-bundle-validate.sh" > "$1/validate.sh"
  chmod +x "$1/validate.sh"
  ln -s "$accumbench" "$1/bin/accumbench"
  printf '#!/bin/sh\necho started\nexec sleep 60\n' > "$1/bin/test_cuda_ops"
  printf '#!/bin/sh\necho "all 3 cases passed"\n' > "$1/bin/test_cuda_model"
  chmod +x "$1/bin/test_cuda_ops" "$1/bin/test_cuda_model"
}
row() { grep -E "^$2 " "$1/summary.txt"; }   # OUT PART: its summary row

# --- one part over its budget ------------------------------------------------------------
bundle "$work/b1" 's/\[ops\]=[0-9]*/[ops]=3/'
PATH="$work/smi:$PATH" "$work/b1/validate.sh" "$work/out1" > /dev/null 2>&1; rc=$?
cat "$work/out1/summary.txt"
check "a part failed: exit 1 (got $rc)" '[ $rc -eq 1 ]'
ops=$(row "$work/out1" ops)
check "ops: fail, timed out after 3 s" 'grep -q "^ops  *fail .*timed out after 3 s" <<<"$ops"'
check "ops: stopped within its kill grace (3 + 10 s)" '[ "$(awk "{print \$3}" <<<"$ops")" -le 14 ]'
check "model ran after it and passed" 'row "$work/out1" model | grep -q "^model  *pass "'
check "every part has a result" '[ "$(grep -cE "^[a-z]+ +(pass|fail|skip) " "$work/out1/summary.txt")" -eq 7 ]'
check "the tarball holds ops' output so far" \
  'tar xzOf "$work/out1/validation.tar.gz" ./test_cuda_ops.out | grep -q started'

# --- the whole run over its time -------------------------------------------------------
bundle "$work/b2" 's/^TOTAL_S=[0-9]*/TOTAL_S=60/; s/\[ops\]=[0-9]*/[ops]=100/'
t0=$(date +%s)
PATH="$work/smi:$PATH" "$work/b2/validate.sh" "$work/out2" > /dev/null 2>&1
took=$(( $(date +%s) - t0 ))
cat "$work/out2/summary.txt"
ops=$(row "$work/out2" ops)
given=$(awk '{print $4}' <<<"$ops")
check "ops given what was left of the 30 s, not its 100 ($given s)" \
  'grep -q "^ops  *fail .*timed out" <<<"$ops" && [ "$given" -le 30 ] || grep -q "^ops  *skip .*no time left" <<<"$ops"'
for p in model runs memcheck smoke peer; do
  check "$p: skipped, no time left" 'row "$work/out2" $p | grep -q "^$p  *skip .*no time left"'
done
check "the run ended inside its 60 s (took $took s)" '[ "$took" -le 60 ]'

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
