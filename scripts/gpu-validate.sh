#!/usr/bin/env bash
# scripts/gpu-validate.sh — validation on a (rare, offline, time-limited) GPU
# machine, in stages that each fit one 8-minute call:
#
#   scripts/gpu-validate.sh --stage build|gpu-tests|sanitize|nightly|peer|summary|all [--out DIR]
#
# Every stage first checks its prerequisites and says exactly what is missing,
# writes its log and results under DIR/<stage>/ and packs them into
# DIR/<stage>.tar.gz. It never needs the network: plots can be redrawn later
# with `accumbench report` on a machine with gnuplot. `summary` turns the
# stages' results into docs/gpu-validation.md (device, versions, each stage's
# result, key figures, the exact commands).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

stage=""
out=${ACCUMBENCH_VALIDATE_OUT:-$root/gpu-validation}
while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=${2:-}; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-validate: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$stage" in
  build|gpu-tests|sanitize|nightly|peer|summary|all) ;;
  *) echo "gpu-validate: --stage must be one of build, gpu-tests, sanitize, nightly, peer, summary, all (got '$stage')" >&2; exit 2 ;;
esac
[ -d /usr/local/cuda/bin ] && export PATH=/usr/local/cuda/bin:$PATH
build=$root/build-gpu
bin=$build/accumbench
mkdir -p "$out"

# --- prerequisites ------------------------------------------------------------
missing=()
need() { missing+=("$1"); }
python_bin() {
  for p in "${ACCUMBENCH_PYTHON:-}" /usr/bin/python3 python3; do
    [ -n "$p" ] && command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch, numpy' >/dev/null 2>&1 && { echo "$p"; return 0; }
  done
  return 1
}
cudnn_found() {
  # the toolkit's include/lib, $CUDNN_ROOT, or a pip wheel (nvidia/cudnn)
  local d
  for d in /usr/local/cuda "${CUDNN_ROOT:-/nonexistent}" $(python3 -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]))' 2>/dev/null); do
    if { [ -f "$d/include/cudnn.h" ] || [ -f "$d/nvidia/cudnn/include/cudnn.h" ]; } &&
       { compgen -G "$d/lib*/libcudnn.so*" >/dev/null || compgen -G "$d/nvidia/cudnn/lib/libcudnn.so*" >/dev/null; }; then
      return 0
    fi
  done
  return 1
}
check_prereqs() {   # $1: stage
  missing=()
  command -v cmake >/dev/null || need "cmake (Debian: cmake)"
  command -v cc >/dev/null || need "a C compiler (Debian: build-essential)"
  command -v nvcc >/dev/null || need "nvcc (CUDA toolkit, expected under /usr/local/cuda/bin)"
  cudnn_found || need "cuDNN: cudnn.h and libcudnn.so.9 (toolkit include/lib, \$CUDNN_ROOT, or the nvidia-cudnn pip wheel)"
  { [ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ] || ls /usr/include/*/openblas*/cblas.h >/dev/null 2>&1; } ||
    need "OpenBLAS headers (Debian: libopenblas-dev; offline: carry the .deb and unpack it with dpkg -x)"
  command -v nvidia-smi >/dev/null || need "nvidia-smi (the NVIDIA driver)"
  case "$1" in
    sanitize) command -v compute-sanitizer >/dev/null || need "compute-sanitizer (CUDA toolkit)" ;;
    peer) python_bin >/dev/null || need "Python with torch and numpy (set ACCUMBENCH_PYTHON)" ;;
  esac
  command -v gnuplot >/dev/null || echo "gpu-validate: note: gnuplot missing: plots are skipped; redraw later with 'accumbench report DIR'"
  if [ ${#missing[@]} -gt 0 ]; then
    echo "gpu-validate: stage $1 cannot run; missing:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    return 1
  fi
}

# --- stages -------------------------------------------------------------------
# run_logged DIR CMD...: records the command, runs it with output to DIR/log.txt
run_logged() {
  local dir=$1; shift
  echo "\$ $*" >> "$dir/commands.txt"
  "$@" >> "$dir/log.txt" 2>&1
}

stage_build() {
  local d=$1
  run_logged "$d" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release || return 1
  run_logged "$d" cmake --build "$build" -j "$(nproc)" || return 1
  "$bin" info > "$d/info.txt" 2>&1
  nvidia-smi > "$d/nvidia-smi.txt" 2>&1
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv > "$d/gpu.csv" 2>&1
  grep -q "GPU 0:" "$d/info.txt"
}

stage_gpu_tests() {
  local d=$1
  [ -x "$bin" ] || stage_build "$d" || return 1
  (cd "$build" && export ACCUMBENCH_REQUIRE_GPU=1 && run_logged "$d" ctest -L gpu --output-on-failure --timeout 400)
}

stage_sanitize() {
  local d=$1 rc=0 s
  [ -x "$bin" ] || stage_build "$d" || return 1
  local cfg="--backend cuda --model cnn --width 16 --stages 2 --blocks 1 --micro-batch 8 --iter-size 2 --warmup 1 --min-steps 2 --max-steps 2"
  for s in full retain accumulate; do
    # shellcheck disable=SC2086
    run_logged "$d" compute-sanitizer --tool memcheck --error-exitcode 9 "$bin" run $cfg --strategy $s --json || rc=1
  done
  for norm in group none; do   # our own kernels: GroupNorm, pooling, losses, optimizers
    # shellcheck disable=SC2086
    run_logged "$d" compute-sanitizer --tool racecheck --error-exitcode 9 "$bin" run $cfg --norm $norm --json || rc=1
  done
  return $rc
}

stage_nightly() {
  local d=$1
  [ -x "$bin" ] || stage_build "$d" || return 1
  run_logged "$d" "$bin" sweep --profile nightly --out "$d/results" || return 1
  command -v gnuplot >/dev/null && run_logged "$d" "$bin" report "$d/results"
  return 0
}

stage_peer() {
  local d=$1 py
  [ -x "$bin" ] || stage_build "$d" || return 1
  py=$(python_bin) || return 1
  ACCUMBENCH_PYTHON=$py run_logged "$d" "$bin" sweep --profile gpu-peer --out "$d/results"
}

stage_summary() {
  local d=$1
  "${ACCUMBENCH_PYTHON:-python3}" "$root/scripts/gpu_validation_summary.py" "$out" "$root/docs/gpu-validation.md" \
    > "$d/log.txt" 2>&1
}

run_stage() {
  local s=$1 d="$out/$1" rc t0
  rm -rf "$d"; mkdir -p "$d"
  if [ "$s" != summary ] && ! check_prereqs "$s" 2> "$d/prereqs.txt"; then
    cat "$d/prereqs.txt" >&2
    echo "missing prerequisites" > "$d/status.txt"
    tar -C "$out" -czf "$out/$s.tar.gz" "$s"
    return 1
  fi
  t0=$(date +%s)
  case "$s" in
    build) stage_build "$d" ;;
    gpu-tests) stage_gpu_tests "$d" ;;
    sanitize) stage_sanitize "$d" ;;
    nightly) stage_nightly "$d" ;;
    peer) stage_peer "$d" ;;
    summary) stage_summary "$d" ;;
  esac
  rc=$?
  echo "$([ $rc -eq 0 ] && echo passed || echo "failed (exit $rc)") in $(( $(date +%s) - t0 )) s" > "$d/status.txt"
  tar -C "$out" -czf "$out/$s.tar.gz" "$s"
  echo "gpu-validate: stage $s: $(cat "$d/status.txt"); results in $out/$s.tar.gz"
  return $rc
}

if [ "$stage" = all ]; then
  rc=0
  for s in build gpu-tests sanitize nightly peer summary; do run_stage "$s" || rc=1; done
  exit $rc
fi
run_stage "$stage"
