#!/usr/bin/env bash
# validate.sh — the GPU validation of a bundle made by scripts/gpu-bundle.sh
# (this file is scripts/gpu-bundle-validate.sh, copied into the bundle).
#   DIR/validate.sh OUTDIR        run every part; OUTDIR gets two files
#   DIR/validate.sh --print-lib-path   print the LD_LIBRARY_PATH it would use
# Nothing is compiled or installed here: the bundle's bin/ and lib/ hold
# accumbench, test_cuda_ops and test_cuda_model with OpenBLAS; CUDA's
# libraries come from this machine. LD_LIBRARY_PATH is, in this order:
#   0. the bundle's lib/ (OpenBLAS's own libgfortran and libquadmath)
#   1. the first CUDA toolkit among $CUDA_HOME, /usr/local/cuda and
#      /usr/local/cuda-* (newest first; $ACCUMBENCH_TOOLKIT_ROOTS, when set,
#      replaces that list): its lib64 (else lib), then its
#      extras/CUPTI/lib64 (where a standard install keeps CUPTI)
#   2. the nvidia/*/lib folders (alphabetical) of the first Python among
#      $ACCUMBENCH_PYTHON, python3 on the PATH and /usr/bin/python3 that
#      imports torch (the pip wheels of cuDNN, cuBLAS, CUPTI, ...)
#   3. the LD_LIBRARY_PATH this script was started with
# The peer part puts 2 before 1, so that both engines load the libraries
# torch was built with.
# Parts, in order, each under its own `timeout` budget (seconds), none
# stopping the others, all within 8 minutes: info (accumbench info,
# nvidia-smi, ldd, torch's view; 25), ops (test_cuda_ops; 40), model
# (test_cuda_model; 60), runs (one `run --json --kernels 20 --out` per
# strategy for ResNet-18 and the MLP; 55), memcheck (compute-sanitizer on a
# tiny ResNet, skipped when there is none; 40), smoke (the gpu-smoke
# profile; 120), peer (the gpu-peer profile; 115). A part gets less when
# less of the 8 minutes is left, and is skipped when under 5 s are.
# OUTDIR (made if missing; relative paths are fine) gets summary.txt (one
# line per part: pass | fail | skip, seconds, budget, note) and
# validation.tar.gz (summary, logs, results), both rewritten after every
# part, so a run cut short still leaves what it did. Back on a normal
# machine: scripts/gpu_validation_summary.py validation.tar.gz.
# Exit: 0 every part passed or was skipped, 1 a part failed, 2 no GPU (one
# line on stderr; the summary is still written) or bad arguments.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self=$here/$(basename "${BASH_SOURCE[0]}")
bin=$here/bin
TOTAL_S=480        # the whole run
RESERVE_S=20       # kept back for the last summary and tarball
KILL_GRACE_S=10    # after a part's budget, SIGTERM; this much later, SIGKILL
PARTS=(info ops model runs memcheck smoke peer)
declare -A BUDGET_S=([info]=25 [ops]=40 [model]=60 [runs]=55 [memcheck]=40 [smoke]=120 [peer]=115)

# --- CUDA's libraries ------------------------------------------------------------

# lib_dirs_with_libs DIR...: prints each DIR that holds a shared library
lib_dirs_with_libs() {
  local d
  for d in "$@"; do compgen -G "$d/lib*.so*" >/dev/null && echo "$d"; done
  return 0
}

toolkit_lib_dirs() {
  local roots r lib
  if [ -n "${ACCUMBENCH_TOOLKIT_ROOTS+set}" ]; then
    roots=$ACCUMBENCH_TOOLKIT_ROOTS
  else
    roots="${CUDA_HOME:-} /usr/local/cuda $(compgen -G '/usr/local/cuda-*' | sort -rV | tr '\n' ' ')"
  fi
  for r in $roots; do
    lib=$(lib_dirs_with_libs "$r/lib64" "$r/lib" | head -n 1)
    if [ -n "$lib" ]; then
      echo "$lib"
      lib_dirs_with_libs "$r/extras/CUPTI/lib64"
      return 0
    fi
  done
  return 0
}

# torch_python: the first Python that imports torch
torch_python() {
  local p
  for p in "${ACCUMBENCH_PYTHON:-}" python3 /usr/bin/python3; do
    [ -n "$p" ] && command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch' >/dev/null 2>&1 &&
      { command -v "$p"; return 0; }
  done
  return 1
}

# wheel_lib_dirs PYTHON: its nvidia/*/lib folders that hold libraries
wheel_lib_dirs() {
  local dirs
  mapfile -t dirs < <("$1" -c 'import glob, os, nvidia
for p in nvidia.__path__:
    for d in sorted(glob.glob(os.path.join(p, "*", "lib"))):
        print(d)' 2>/dev/null)
  lib_dirs_with_libs "${dirs[@]}"
}

# lib_path toolkit-first|wheels-first PYTHON: the search above, joined with
# ':', duplicates out (PYTHON may be empty: no wheels)
lib_path() {
  local own=() toolkit=() wheels=() all=() inherited=() seen=" " d real out=""
  mapfile -t own < <(lib_dirs_with_libs "$here/lib")
  mapfile -t toolkit < <(toolkit_lib_dirs)
  if [ -n "$2" ]; then mapfile -t wheels < <(wheel_lib_dirs "$2"); fi
  if [ "$1" = wheels-first ]; then all=("${wheels[@]}" "${toolkit[@]}"); else all=("${toolkit[@]}" "${wheels[@]}"); fi
  IFS=: read -ra inherited <<<"${LD_LIBRARY_PATH:-}"
  for d in "${own[@]}" "${all[@]}" "${inherited[@]}"; do
    [ -n "$d" ] || continue
    real=$(readlink -f "$d" 2>/dev/null || echo "$d")
    case "$seen" in *" $real "*) continue ;; esac
    seen="$seen$real "
    out=${out:+$out:}$d
  done
  echo "$out"
}

# --- the parts (each runs as `validate.sh --part NAME WORK`) ---------------------
# A part writes WORK/NAME.note (one line for the summary) and exits 0 (pass),
# 77 (skip) or anything else (fail).

note() { echo "$*" > "$work/$part.note"; }

# logged FILE CMD...: CMD with its output in FILE (kept in the tarball)
logged() {
  local file=$1; shift
  "$@" > "$file" 2>&1
}

# reason_of FILE: its first error line ("accumbench: ..."), else its last
# non-blank line, shortened for the summary
reason_of() {
  { grep -m1 '^accumbench: ' "$1" || grep -v '^[[:space:]]*$' "$1" | tail -n 1; } 2>/dev/null | cut -c1-160
}

# rows_summary RESULTS_DIR: "N rows: a ok, b oom, ..." and exit 0 when all ok
rows_summary() {
  local csv=$1/results.csv
  [ -f "$csv" ] || { echo "no results.csv"; return 1; }
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "status") c = i; next }
           { n++; s[$c]++ } END { printf "%d rows:", n; for (k in s) printf " %d %s", s[k], k;
           print ""; exit !(n > 0 && s["ok"] == n) }' "$csv"
}

part_info() {
  local d=$work/info rc=0 b
  mkdir -p "$d"
  "$bin/accumbench" info > "$d/info.txt" 2>&1 || rc=1
  "$bin/accumbench" info --json > "$d/info.json" 2>&1
  nvidia-smi > "$d/nvidia-smi.txt" 2>&1
  nvidia-smi -L > "$d/nvidia-smi-L.txt" 2>&1
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,compute_cap --format=csv \
    > "$d/gpu.csv" 2>&1
  for b in "$bin"/*; do ldd "$b" > "$d/ldd-$(basename "$b").txt" 2>&1; done
  if [ -n "$py" ]; then
    "$py" -c 'import sys, torch; print(sys.version.split()[0], torch.__version__, torch.version.cuda,
torch.backends.cudnn.version(), torch.cuda.is_available())' > "$d/torch.txt" 2>&1
  fi
  if grep -q '"auto_backend": "cuda"' "$d/info.json"; then
    note "$(grep -m1 '^GPU [0-9]' "$d/nvidia-smi-L.txt" || echo 'GPU usable')"
  else
    note "CUDA backend not usable: $(sed -n 's/^ *--backend auto uses: [a-z]* (\(.*\))$/\1/p' "$d/info.txt")"
    rc=1
  fi
  return $rc
}

# part_test NAME: a GPU test binary; a skip is a failure here
part_test() {
  logged "$work/$1.out" env ACCUMBENCH_REQUIRE_GPU=1 "$bin/$1"
  local rc=$?
  note "exit $rc: $(reason_of "$work/$1.out")"
  return $rc
}

part_runs() {
  local d=$work/runs s m rc fails=0 n=0 first=""
  local -A model=([resnet18]="--model cnn --width 64 --stages 4 --blocks 2 --micro-batch 64 --iter-size 2"
                  [mlp]="--model mlp --micro-batch 128 --iter-size 4")
  mkdir -p "$d"
  for m in resnet18 mlp; do
    for s in full retain accumulate; do
      n=$((n + 1))
      # shellcheck disable=SC2086
      timeout -k 5 25 "$bin/accumbench" run --backend cuda ${model[$m]} --strategy "$s" --max-time 1 \
        --json --kernels 20 --out "$d/$m-$s" > "$d/$m-$s.json" 2> "$d/$m-$s.err"
      rc=$?
      [ $rc -eq 0 ] && continue
      fails=$((fails + 1))
      [ -n "$first" ] || first="; $m $s: exit $rc: $(reason_of "$d/$m-$s.err")"
    done
  done
  note "$((n - fails)) of $n runs exit 0$first"
  [ "$fails" -eq 0 ]
}

sanitizer() {
  local c
  for c in "$(command -v compute-sanitizer 2>/dev/null)" /usr/local/cuda/bin/compute-sanitizer \
           /usr/local/cuda*/compute-sanitizer/compute-sanitizer; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}

part_memcheck() {
  local cs rc
  cs=$(sanitizer) || { note "no compute-sanitizer"; return 77; }
  logged "$work/memcheck.out" "$cs" --tool memcheck --error-exitcode 9 "$bin/accumbench" run --backend cuda \
    --model cnn --width 8 --stages 2 --blocks 1 --norm group --micro-batch 4 --iter-size 2 --strategy retain \
    --warmup 1 --min-steps 2 --max-steps 2 --json
  rc=$?
  note "exit $rc: $(grep -m1 'ERROR SUMMARY' "$work/memcheck.out" || last_line "$work/memcheck.out")"
  return $rc
}

# part_sweep PROFILE: the sweep into WORK/PROFILE; passes when every row is ok
part_sweep() {
  local rc why=""
  logged "$work/$1.out" "$bin/accumbench" sweep --profile "$1" --out "$work/$1"
  rc=$?
  [ $rc -eq 0 ] || why=" ($(reason_of "$work/$1.out"))"
  note "sweep exit $rc$why; $(rows_summary "$work/$1")"
  [ $rc -eq 0 ] && rows_summary "$work/$1" >/dev/null
}

part_peer() {
  [ -n "$py" ] || { note "no Python that imports torch"; return 77; }
  LD_LIBRARY_PATH=$peer_lib_path ACCUMBENCH_PYTHON=$py part_sweep gpu-peer
}

run_part_body() {   # NAME: runs inside the part's timeout
  case "$1" in
    info) part_info ;;
    ops) part_test test_cuda_ops ;;
    model) part_test test_cuda_model ;;
    runs) part_runs ;;
    memcheck) part_memcheck ;;
    smoke) part_sweep gpu-smoke ;;
    peer) part_peer ;;
    *) echo "validate.sh: unknown part '$1'" >&2; return 2 ;;
  esac
}

# --- bookkeeping -----------------------------------------------------------------

declare -A RESULT SECONDS_TAKEN GIVEN NOTE

write_summary() {
  local p n_pass=0 n_fail=0 n_skip=0 tmp=$out/summary.txt.tmp
  {
    echo "accumbench GPU validation (validate.sh of a bundle from scripts/gpu-bundle.sh)"
    echo "started: $(date -u -d "@$t_start" +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -n)"
    echo "bundle: $(head -n 1 "$here/BUNDLE.txt" 2>/dev/null || echo unknown)"
    echo "gpu: $(grep -m1 '^GPU [0-9]' "$work/info/nvidia-smi-L.txt" 2>/dev/null || echo none listed)"
    echo "python: ${py:-none imports torch}"
    echo "libraries: $lib_path_now"
    echo
    printf '%-9s %-7s %6s %8s  %s\n' part result time_s budget_s note
    for p in "${PARTS[@]}"; do
      case "${RESULT[$p]:-not-run}" in pass) n_pass=$((n_pass + 1)) ;; fail) n_fail=$((n_fail + 1)) ;;
        skip) n_skip=$((n_skip + 1)) ;; esac
      printf '%-9s %-7s %6s %8s  %s\n' "$p" "${RESULT[$p]:-not-run}" "${SECONDS_TAKEN[$p]:--}" \
        "${GIVEN[$p]:--}" "${NOTE[$p]:-}"
    done
    echo
    echo "total: $n_pass pass, $n_fail fail, $n_skip skip in $(( $(date +%s) - t_start )) s (limit $TOTAL_S s)"
  } > "$tmp" && mv "$tmp" "$out/summary.txt"
  cp "$out/summary.txt" "$work/summary.txt"
  tar -C "$work" -czf "$out/validation.tar.gz.tmp" . && mv "$out/validation.tar.gz.tmp" "$out/validation.tar.gz"
}

record() {   # NAME RESULT SECONDS BUDGET NOTE
  RESULT[$1]=$2 SECONDS_TAKEN[$1]=$3 GIVEN[$1]=$4 NOTE[$1]=$5
  write_summary
}

run_part() {
  local name=$1 budget=${BUDGET_S[$1]} left t0 rc result why
  left=$(( t_start + TOTAL_S - RESERVE_S - KILL_GRACE_S - $(date +%s) ))
  if [ "$left" -lt 5 ]; then
    record "$name" skip 0 "$budget" "no time left of the $TOTAL_S s"
    return
  fi
  [ "$budget" -gt "$left" ] && budget=$left
  t0=$(date +%s)
  timeout -k "$KILL_GRACE_S" "$budget" "$self" --part "$name" "$work" > "$work/$name.log" 2>&1
  rc=$?
  why=$(head -n 1 "$work/$name.note" 2>/dev/null)
  case $rc in
    0) result=pass ;;
    77) result=skip ;;
    124|137) result=fail why="timed out after $budget s${why:+; $why}" ;;
    *) result=fail why=${why:-exit $rc} ;;
  esac
  record "$name" "$result" "$(( $(date +%s) - t0 ))" "$budget" "$why"
}

gpu_present() {
  grep -q '^GPU [0-9]' "$work/info/nvidia-smi-L.txt" 2>/dev/null ||
    grep -q '"auto_backend": "cuda"' "$work/info/info.json" 2>/dev/null
}

# --- main ------------------------------------------------------------------------

main() {
  local p
  py=$(torch_python) || py=""
  lib_path_now=$(lib_path toolkit-first "$py")
  peer_lib_path=$(lib_path wheels-first "$py")
  export LD_LIBRARY_PATH=$lib_path_now peer_lib_path py
  cp "$here/BUNDLE.txt" "$work/" 2>/dev/null
  run_part info
  if ! gpu_present; then
    for p in "${PARTS[@]:1}"; do RESULT[$p]=skip NOTE[$p]="no GPU"; done
    write_summary
    echo "validate.sh: no GPU: nvidia-smi lists none and accumbench can use none (${NOTE[info]}); summary in $out/summary.txt" >&2
    exit 2
  fi
  for p in "${PARTS[@]:1}"; do run_part "$p"; done
  for p in "${PARTS[@]}"; do [ "${RESULT[$p]}" != fail ] || exit 1; done
  exit 0
}

case "${1:-}" in
  --print-lib-path) lib_path toolkit-first "$(torch_python)"; exit 0 ;;
  --part) part=$2 work=$3; run_part_body "$part"; exit $? ;;
  -h|--help) sed -n '2,/^set /p' "$self" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  "") echo "validate.sh: needs OUTDIR (or --print-lib-path; see --help)" >&2; exit 2 ;;
  -*) echo "validate.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
esac
if [ ! -x "$bin/accumbench" ]; then
  echo "validate.sh: no $bin/accumbench: run the copy inside a bundle made by scripts/gpu-bundle.sh DIR" >&2
  exit 2
fi
mkdir -p "$1" && out=$(cd "$1" && pwd) || { echo "validate.sh: cannot make OUTDIR '$1'" >&2; exit 2; }
t_start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/accumbench-validate.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
main
