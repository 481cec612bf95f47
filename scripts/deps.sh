#!/usr/bin/env bash
# scripts/deps.sh — the Debian 12 packages accumbench builds and tests with.
# Usage: scripts/deps.sh [--check] [--fuzz]
#   (none)   install what is missing with apt-get when root; otherwise print
#            the exact `sudo apt-get install ...` line and exit 1
#   --check  only report what is missing (offline GPU machines): exit 1 if a
#            required package is missing, 0 if all are present
#   --fuzz   also clang and libFuzzer (libclang-rt-dev), for `make fuzz` only
# Checks are one `dpkg-query` per package, so a run with everything present
# takes well under a second and prints one summary line; `apt-get update`
# runs only when something must be installed. The CUDA toolkit (nvcc) is
# optional and only reported: without it the CUDA backend is not built.
# python3-numpy/python3-torch also count as present when the test interpreter
# ($ACCUMBENCH_PYTHON, else /usr/bin/python3) imports them from elsewhere
# (e.g. a pip wheel on a GPU image) — the same rule tests/CMakeLists.txt uses.
# With --fuzz, clang must also link a -fsanitize=fuzzer program.
set -euo pipefail

# chromium-headless-shell renders report.html in its test; valgrind runs the
# memcheck tests (tests/trust)
PACKAGES=(cmake build-essential pkg-config libopenblas-dev gnuplot-nox python3-numpy python3-torch chromium-headless-shell
          valgrind)
# `make fuzz` only: clang, and libFuzzer with the sanitizer runtimes
FUZZ_PACKAGES=(clang libclang-rt-dev)
# the Python modules a package provides, for the import fallback above
declare -A MODULE=([python3-numpy]=numpy [python3-torch]=torch)

check_only=0
fuzz=0
for arg in "$@"; do
  case "$arg" in
    --check) check_only=1 ;;
    --fuzz) fuzz=1; PACKAGES+=("${FUZZ_PACKAGES[@]}") ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deps.sh: unknown argument '$arg' (use --check, --fuzz or nothing)" >&2; exit 2 ;;
  esac
done

py=${ACCUMBENCH_PYTHON:-/usr/bin/python3}

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

importable() {
  [ -x "$(command -v "$py" 2>/dev/null || true)" ] && "$py" -c "import $1" >/dev/null 2>&1
}

missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do
    if installed "$p"; then continue; fi
    if [ -n "${MODULE[$p]:-}" ] && importable "${MODULE[$p]}"; then continue; fi
    echo "$p"
  done
}

report_nvcc() {
  local nvcc=""
  if [ -x /usr/local/cuda/bin/nvcc ]; then
    nvcc=/usr/local/cuda/bin/nvcc
  elif command -v nvcc >/dev/null 2>&1; then
    nvcc=$(command -v nvcc)
  fi
  if [ -z "$nvcc" ]; then
    echo "missing (optional): nvcc — no CUDA toolkit under /usr/local/cuda/bin or on PATH; the CUDA backend will not be built"
    nvcc_note="no nvcc (CPU backend only)"
  else
    local v
    v=$("$nvcc" --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p' | head -n1)
    nvcc_note="nvcc ${v:-?} at $nvcc"
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

check_fuzz() {
  if [ "$fuzz" -eq 1 ] && ! fuzz_links; then
    echo "deps.sh: clang cannot link -fsanitize=fuzzer (is libclang-rt-dev for this clang installed?)" >&2
    exit 1
  fi
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "deps.sh: dpkg-query not found: this script knows Debian packages only; install by hand: ${PACKAGES[*]}" >&2
  exit 1
fi

mapfile -t missing < <(missing_packages)
nvcc_note=""
report_nvcc

if [ "${#missing[@]}" -eq 0 ]; then
  check_fuzz
  echo "deps.sh: all ${#PACKAGES[@]} packages present; $nvcc_note"
  exit 0
fi

for p in "${missing[@]}"; do echo "missing: $p"; done
cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$check_only" -eq 1 ]; then
  echo "deps.sh: ${#missing[@]} missing; install with: sudo ${cmd[*]}"
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: not root; run: sudo apt-get update && sudo ${cmd[*]}"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps.sh: installing ${missing[*]}"
apt-get update -q </dev/null >/dev/null
apt-get install -q -y --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" </dev/null

mapfile -t still < <(missing_packages)
if [ "${#still[@]}" -ne 0 ]; then
  echo "deps.sh: still missing after apt-get install: ${still[*]}" >&2
  exit 1
fi
# python3-torch installed without its Recommends must still import
if ! err=$("$py" -c 'import torch, numpy' 2>&1); then
  echo "deps.sh: $py cannot import torch and numpy after installing: $(printf '%s' "$err" | tail -n1)" >&2
  exit 1
fi
check_fuzz
echo "deps.sh: installed ${#missing[@]} packages; all ${#PACKAGES[@]} present; $nvcc_note"
