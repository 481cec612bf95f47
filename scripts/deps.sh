#!/usr/bin/env bash
# scripts/deps.sh — the Debian 12 packages accumbench builds, plots, tests and
# bundles with, per purpose.
# Usage: scripts/deps.sh [--build|--bench|--test|--bundle|--fuzz|--all] [--check]
#   --build   building: cmake, a C compiler, OpenBLAS
#   --bench   `make bench`: the build's, and gnuplot for the plots
#   --test    `make test`: the build's, gnuplot, numpy and torch, chromium
#             (report.html test), valgrind (tests/trust), patchelf (the
#             gpu_bundle test)
#   --bundle  scripts/gpu-bundle.sh: the build's and patchelf
#   --fuzz    `make fuzz`: the build's, clang and libFuzzer (libclang-rt-dev)
#   --all     (default) test's and bundle's: what CI installs
#   --check   only report what is missing; install nothing
# Hard needs (the build's, patchelf for --bundle, clang for --fuzz) fail the
# script (exit 1) when missing and not installable. Everything else is a
# warning that says what will not work without it (no gnuplot: `make bench`
# still writes its CSVs, and `accumbench report DIR` redraws the plots on a
# machine that has it): offline or without root, a build whose needs are
# present never fails here. Missing packages are installed with apt-get when
# root; `apt-get update` failing (offline) is a warning.
# Checks are one `dpkg-query` per package, so a run with everything present
# takes well under a second and prints one line. The CUDA toolkit (nvcc) is
# only reported: without it the CUDA backend is not built.
# python3-numpy/python3-torch also count as present when the test interpreter
# ($ACCUMBENCH_PYTHON, else /usr/bin/python3) imports them from elsewhere
# (e.g. a pip wheel) — the same rule tests/CMakeLists.txt uses.
set -euo pipefail

BUILD_NEEDS=(cmake build-essential libopenblas-dev)
# what each optional package is for: printed when it is missing
declare -A WHAT=(
  [gnuplot-nox]="plots: sweeps still write their CSVs; redraw later with 'accumbench report DIR'; the report_* tests fail"
  [python3-numpy]="the PyTorch cross-checks (torch_crosscheck, peer_test, report_engines) fail"
  [python3-torch]="the PyTorch cross-checks (torch_crosscheck, peer_test, report_engines) fail"
  [chromium-headless-shell]="the report_html test fails"
  [valgrind]="the valgrind tests (tests/trust) fail"
  [patchelf]="scripts/gpu-bundle.sh and its gpu_bundle test fail"
)
# the Python modules a package provides, for the import fallback above
declare -A MODULE=([python3-numpy]=numpy [python3-torch]=torch)

mode=all
check_only=0
for arg in "$@"; do
  case "$arg" in
    --build|--bench|--test|--bundle|--fuzz|--all) mode=${arg#--} ;;
    --check) check_only=1 ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "deps.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

hard=("${BUILD_NEEDS[@]}")
soft=()
case "$mode" in
  bench) soft=(gnuplot-nox) ;;
  test) soft=(gnuplot-nox python3-numpy python3-torch chromium-headless-shell valgrind patchelf) ;;
  bundle) hard+=(patchelf) ;;
  fuzz) hard+=(clang libclang-rt-dev) ;;
  all) hard+=(patchelf); soft=(gnuplot-nox python3-numpy python3-torch chromium-headless-shell valgrind) ;;
esac

py=${ACCUMBENCH_PYTHON:-/usr/bin/python3}

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

importable() {
  [ -x "$(command -v "$py" 2>/dev/null || true)" ] && "$py" -c "import $1" >/dev/null 2>&1
}

missing_of() {   # package names..., prints those missing
  local p
  for p in "$@"; do
    if installed "$p"; then continue; fi
    if [ -n "${MODULE[$p]:-}" ] && importable "${MODULE[$p]}"; then continue; fi
    echo "$p"
  done
}

nvcc_note() {
  local nvcc="" v
  if [ -x /usr/local/cuda/bin/nvcc ]; then
    nvcc=/usr/local/cuda/bin/nvcc
  elif command -v nvcc >/dev/null 2>&1; then
    nvcc=$(command -v nvcc)
  fi
  if [ -z "$nvcc" ]; then
    echo "no nvcc (CPU backend only)"
  else
    v=$("$nvcc" --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p' | head -n1)
    echo "nvcc ${v:-?} at $nvcc"
  fi
}

# --fuzz: clang links a libFuzzer program (the runtime is in libclang-rt-dev)
fuzz_links() {
  local dir rc=0
  dir=$(mktemp -d)
  printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$dir/f.c"
  clang -fsanitize=fuzzer,address,undefined "$dir/f.c" -o "$dir/f" >/dev/null 2>&1 || rc=1
  rm -rf "$dir"
  return $rc
}

# apt_install PACKAGES...: 0 when apt-get installed them all
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends -o Dpkg::Use-Pty=0 "$@" </dev/null
}

# finish: reports what is still missing; exit 1 only for a hard need
finish() {
  local p hard_left soft_left
  mapfile -t hard_left < <(missing_of "${hard[@]}")
  mapfile -t soft_left < <(missing_of "${soft[@]}")
  for p in "${soft_left[@]}"; do echo "deps.sh: warning: $p missing: ${WHAT[$p]}" >&2; done
  if [ "${#hard_left[@]}" -ne 0 ]; then
    echo "deps.sh: missing for --$mode: ${hard_left[*]}; install with: sudo apt-get install -y --no-install-recommends ${hard_left[*]}" >&2
    exit 1
  fi
  if [ "$mode" = fuzz ] && ! fuzz_links; then
    echo "deps.sh: clang cannot link -fsanitize=fuzzer (is libclang-rt-dev for this clang installed?)" >&2
    exit 1
  fi
  echo "deps.sh --$mode: $((${#hard[@]} + ${#soft[@]} - ${#soft_left[@]})) of $((${#hard[@]} + ${#soft[@]})) packages present; $(nvcc_note)"
  exit 0
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "deps.sh: dpkg-query not found: this script knows Debian packages only; install by hand: ${hard[*]} ${soft[*]}" >&2
  exit 1
fi

mapfile -t missing < <(missing_of "${hard[@]}" "${soft[@]}")
if [ "${#missing[@]}" -eq 0 ] || [ "$check_only" -eq 1 ]; then finish; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: not root, installing nothing; to install: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  finish
fi

echo "deps.sh: installing ${missing[*]}"
apt-get update -q </dev/null >/dev/null || echo "deps.sh: warning: apt-get update failed (offline?); trying the package lists at hand" >&2
# the hard needs alone first, so a soft package that cannot be had does not
# hold back the build's
mapfile -t hard_missing < <(missing_of "${hard[@]}")
if [ "${#hard_missing[@]}" -ne 0 ]; then
  apt_install "${hard_missing[@]}" || echo "deps.sh: apt-get install ${hard_missing[*]} failed" >&2
fi
mapfile -t soft_missing < <(missing_of "${soft[@]}")
if [ "${#soft_missing[@]}" -ne 0 ]; then
  apt_install "${soft_missing[@]}" || echo "deps.sh: warning: apt-get install ${soft_missing[*]} failed" >&2
fi
# python3-torch installed without its Recommends must still import
if [[ " ${soft[*]} " == *" python3-torch "* ]] && installed python3-torch &&
   ! err=$("$py" -c 'import torch, numpy' 2>&1); then
  echo "deps.sh: warning: $py cannot import torch and numpy after installing: $(printf '%s' "$err" | tail -n1)" >&2
fi
finish
