#!/usr/bin/env bash
# tests/bench_guard.sh — scripts/bench.sh (`make bench`) never measures the
# CPU by default on a machine whose nvidia-smi lists a GPU: with a fake
# nvidia-smi on the PATH,
#  - the real ACCUMBENCH (no driver here, or a CPU-only build): exit 2, one
#    stderr line naming the GPU and the reason (`accumbench info`'s, or the
#    missing CUDA backend), no sweep started;
#  - a CPU-only build (a stand-in printing such an `info`): exit 2, the
#    reason is the missing CUDA backend;
#  - an explicit PROFILE still runs (the CPU on purpose);
# and the profile chosen by default: `default` when info's auto backend is
# cuda, `quick` when nvidia-smi lists none.
# Usage: bench_guard.sh SOURCE_DIR WORK_DIR ACCUMBENCH
set -u
src=$1 work=$2 accumbench=$3
rm -rf "$work" && mkdir -p "$work/gpu" "$work/nogpu" || exit 1
failures=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi; }

printf '#!/bin/sh\necho "GPU 0: NVIDIA H200 (UUID: GPU-00000000-0000-0000-0000-000000000000)"\n' > "$work/gpu/nvidia-smi"
printf '#!/bin/sh\necho "No devices were found"\nexit 6\n' > "$work/nogpu/nvidia-smi"
# stand-in accumbench: `info` as a build with BACKENDS and AUTO would print
# it; sweep and report only record their arguments
stand_in() {   # NAME BACKENDS AUTO
  cat > "$work/$1" <<END
#!/bin/sh
case "\$1" in
  info) if [ "\$2" = --json ]; then echo '{"auto_backend": "$3"}'
        else printf 'accumbench\n  backends compiled in: $2\n  --backend auto uses: $3\n'; fi ;;
  sweep) echo "\$*" > "$work/sweep.args"; mkdir -p "\$5"; echo status > "\$5/results.csv" ;;
  report) echo "# summary" > "\$2/summary.md" ;;
esac
END
  chmod +x "$work/$1"
}
stand_in cpu-only cpu cpu
stand_in usable "cpu, cuda" cuda
chmod +x "$work"/gpu/nvidia-smi "$work"/nogpu/nvidia-smi

bench() {   # SMI_DIR BIN [PROFILE]: sets rc, err
  rm -rf "$work/results" "$work/sweep.args"
  PATH="$work/$1:$PATH" ACCUMBENCH_RESULTS=$work/results "$src/scripts/bench.sh" "${@:2}" > "$work/out" 2> "$work/err"
  rc=$? err=$(cat "$work/err")
}

if "$accumbench" info --json | grep -q '"auto_backend": "cuda"'; then
  echo "note: this machine's GPU is usable: the unusable-GPU case is checked with stand-ins only"
else
  bench gpu "$accumbench"
  # the reason: info's own for a CUDA build, the missing backend for a CPU-only one
  why=$("$accumbench" info | sed -n 's/^ *--backend auto uses: [a-z]* (\(.*\))$/\1/p')
  "$accumbench" info | grep -q 'backends compiled in:.*cuda' || why="this build has no CUDA backend"
  check "GPU listed, CUDA unusable: exit 2 (rc $rc)" '[ $rc -eq 2 ]'
  check "one stderr line naming the GPU and info's reason ($err)" \
    '[ "$(wc -l <<<"$err")" -eq 1 ] && grep -qF "NVIDIA H200" <<<"$err" && [ -n "$why" ] && grep -qF "$why" <<<"$err"'
  check "no sweep started" '[ ! -e "$work/results" ]'
fi

bench gpu "$work/cpu-only"
check "GPU listed, CPU-only build: exit 2, says there is no CUDA backend (rc $rc)" \
  '[ $rc -eq 2 ] && grep -q "this build has no CUDA backend" <<<"$err" && [ ! -e "$work/sweep.args" ]'

bench gpu "$accumbench" "$src/tests/nightly-tiny.profile"
check "GPU listed, PROFILE given: runs it (rc $rc)" '[ $rc -eq 0 ] && [ -n "$(ls "$work"/results/*/results.csv 2>/dev/null)" ]'

bench gpu "$work/usable"
check "usable GPU: the default profile" '[ $rc -eq 0 ] && grep -q -- "--profile default " "$work/sweep.args"'
bench nogpu "$work/cpu-only"
check "no GPU listed: the quick profile" '[ $rc -eq 0 ] && grep -q -- "--profile quick " "$work/sweep.args"'

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
