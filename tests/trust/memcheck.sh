#!/usr/bin/env bash
# tests/trust/memcheck.sh — valgrind memcheck over real optimizer steps.
# Usage: memcheck.sh ACCUMBENCH NORM WORKDIR
# A small cnn (width 4, 2 stages of 1 block: the stride-2 projection shortcut
# included) with NORM, micro-batch 2 x iter-size 2, runs 2 timed optimizer
# steps (and run's 3 profiled ones) of each strategy with --out and --json,
# then retain again under a --mem-limit at 3/4 of its tracked peak, so the
# step fails with OOM half-way and takes its error path. Each run under
#   valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite
# must exit as the run does without valgrind (0; 3 for the OOM run), report
# 0 errors (no invalid read or write, no use of uninitialised values, no bad
# free) and 0 bytes definitely lost; valgrind.supp names the one report
# from outside our code (the dynamic loader). OPENBLAS_NUM_THREADS=1: OpenBLAS's
# thread pool is not ours to check and slows valgrind down.
set -uo pipefail
bin=$1 norm=$2 work=$3
supp=$(dirname "${BASH_SOURCE[0]}")/valgrind.supp   # the dynamic loader's, not ours
if ! command -v valgrind >/dev/null 2>&1; then
  echo "memcheck: FAIL: valgrind not found (apt-get install valgrind; scripts/deps.sh installs it)"
  exit 1
fi
rm -rf "$work"
mkdir -p "$work"
export OPENBLAS_NUM_THREADS=1
cfg=(--backend cpu --model cnn --width 4 --stages 2 --blocks 1 --norm "$norm"
     --micro-batch 2 --iter-size 2 --warmup 0 --min-steps 2 --max-steps 2)
fails=0

# memcheck NAME WANT_EXIT ARGS... : one run under valgrind, its log checked
memcheck() {
  local name=$1 want=$2
  shift 2
  local log=$work/$name.valgrind out=$work/$name.out
  local t0=$SECONDS
  valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --suppressions="$supp" --log-file="$log" "$bin" run "${cfg[@]}" "$@" --json --out "$work/$name" >"$out" 2>"$work/$name.err"
  local rc=$?
  local errors lost
  errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -n1)
  # "definitely lost: N bytes", or no such line when every block was freed
  lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d , | tail -n1)
  lost=${lost:-0}
  if [ "$rc" -eq "$want" ] && [ "$errors" = "0" ] && [ "$lost" = "0" ]; then
    echo "ok   $norm $name: exit $rc, 0 errors, 0 bytes definitely lost ($((SECONDS - t0)) s)"
  else
    echo "FAIL $norm $name: exit $rc (want $want), errors ${errors:-?}, definitely lost ${lost} bytes; $log:"
    sed -n '/ERROR SUMMARY\|Invalid\|uninitialised\|definitely lost\|at 0x\|by 0x/p' "$log" | head -n 40
    fails=$((fails + 1))
  fi
}

for strategy in full retain accumulate; do
  memcheck "$strategy" 0 --strategy "$strategy"
done
# the OOM error path: a cap at 3/4 of retain's tracked peak, from its row
peak=$(sed -n 's/.*"mem_tracked_bytes": \([0-9]*\).*/\1/p' "$work/retain.out")
if [ -n "$peak" ]; then
  memcheck retain-oom 3 --strategy retain --mem-limit $((peak * 3 / 4))
  if ! grep -q '"status": "oom"' "$work/retain-oom.out"; then
    echo "FAIL $norm retain-oom: the run under a cap of $((peak * 3 / 4)) B did not end in oom"
    fails=$((fails + 1))
  fi
else
  echo "FAIL $norm: no mem_tracked_bytes in retain's --json row"
  fails=$((fails + 1))
fi
if [ "$fails" -ne 0 ]; then
  echo "memcheck $norm: $fails run(s) failed"
  exit 1
fi
echo "memcheck $norm: all passed"
