#!/usr/bin/env bash
# tests/bundle_libpath.sh — where the bundle's validate.sh looks for CUDA's
# libraries (scripts/gpu-bundle-validate.sh --print-lib-path), on a
# simulated GPU machine: a fake site-packages with the pip wheels' layout
# (nvidia/cu13/lib, nvidia/cudnn/lib: links to this machine's real
# libraries; nvidia/nccl/lib empty), a fake torch, and a fake python3 first
# on the PATH that sees only that tree. Checks the documented order:
#  - no toolkit: the wheel folders, alphabetical, the empty one left out;
#  - a toolkit (lib64, or lib when there is no lib64; then extras/CUPTI/lib64
#    when it holds libraries): it comes first;
#  - $ACCUMBENCH_PYTHON without torch is passed over for python3, one with
#    torch is taken before it;
#  - the inherited LD_LIBRARY_PATH comes last, without duplicates;
# and that with each path the loader really takes cuDNN and the CUDA
# runtime from the folder named first for them (ldd on ACCUMBENCH).
# Usage: bundle_libpath.sh SOURCE_DIR WORK_DIR ACCUMBENCH TOOLKIT_LIB_DIR CUDNN_LIB_DIR
set -u
src=$1 work=$2 accumbench=$3 toolkit_lib=$4 cudnn_lib=$5
rm -rf "$work" && mkdir -p "$work" || exit 1
failures=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi; }
validate=$src/scripts/gpu-bundle-validate.sh
real_python=$(command -v python3)

# site-packages SITE: the wheels' layout with links to the real libraries
make_site() {
  local site=$1 f
  mkdir -p "$site/nvidia/cu13/lib" "$site/nvidia/cudnn/lib" "$site/nvidia/nccl/lib" "$site/torch"
  for f in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcupti.so.13; do
    ln -s "$toolkit_lib/$f" "$site/nvidia/cu13/lib/$f"
  done
  for f in "$cudnn_lib"/libcudnn*.so.9; do ln -s "$f" "$site/nvidia/cudnn/lib/"; done
  : > "$site/torch/__init__.py"
}
# fake_python PATH SITE: a python3 that sees only SITE (-S: no site-packages)
fake_python() {
  printf '#!/bin/sh\nPYTHONPATH=%s exec %s -S "$@"\n' "$2" "$real_python" > "$1"
  chmod +x "$1"
}
make_site "$work/site"
mkdir -p "$work/bin" "$work/other/bin"
fake_python "$work/bin/python3" "$work/site"
fake_python "$work/notorch" "$work/empty"
make_site "$work/other/site"
fake_python "$work/other/bin/python3" "$work/other/site"
cu13=$work/site/nvidia/cu13/lib cudnn=$work/site/nvidia/cudnn/lib
mkdir -p "$work/cuda/lib64" "$work/cuda/extras/CUPTI/lib64" "$work/cuda-lib/lib" "$work/cuda-lib/extras/CUPTI/lib64"
for f in libcudart.so.13 libcublas.so.13 libcublasLt.so.13; do
  ln -s "$toolkit_lib/$f" "$work/cuda/lib64/$f"
  ln -s "$toolkit_lib/$f" "$work/cuda-lib/lib/$f"
done
ln -s "$toolkit_lib/libcupti.so.13" "$work/cuda/extras/CUPTI/lib64/libcupti.so.13"

# lib_path [VAR=VALUE...]: what validate.sh prints in that environment
lib_path() { env -u LD_LIBRARY_PATH -u ACCUMBENCH_PYTHON PATH="$work/bin:$PATH" "$@" "$validate" --print-lib-path; }
# from_dir LIBPATH LIB: the folder ldd loads LIB from, for ACCUMBENCH
from_dir() { dirname "$(env LD_LIBRARY_PATH="$1" ldd "$accumbench" | sed -n "s/^\t$2 => \(\/[^ ]*\) (0x.*/\1/p")"; }

got=$(lib_path ACCUMBENCH_TOOLKIT_ROOTS="")
check "no toolkit: the wheel folders in order, nccl (empty) out (got $got)" '[ "$got" = "$cu13:$cudnn" ]'
check "no toolkit: cuDNN loaded from the wheel" '[ "$(from_dir "$got" libcudnn.so.9)" = "$cudnn" ]'
check "no toolkit: cudart loaded from the wheel" '[ "$(from_dir "$got" libcudart.so.13)" = "$cu13" ]'

got=$(lib_path ACCUMBENCH_TOOLKIT_ROOTS="$work/none $work/cuda $work/cuda-lib")
check "toolkit: its lib64 and CUPTI first, then the wheels (got $got)" \
  '[ "$got" = "$work/cuda/lib64:$work/cuda/extras/CUPTI/lib64:$cu13:$cudnn" ]'
check "toolkit: cudart loaded from the toolkit" '[ "$(from_dir "$got" libcudart.so.13)" = "$work/cuda/lib64" ]'
check "toolkit: CUPTI loaded from its extras" '[ "$(from_dir "$got" libcupti.so.13)" = "$work/cuda/extras/CUPTI/lib64" ]'
check "toolkit: cuDNN (not in the toolkit) loaded from the wheel" '[ "$(from_dir "$got" libcudnn.so.9)" = "$cudnn" ]'

got=$(lib_path ACCUMBENCH_TOOLKIT_ROOTS="$work/cuda-lib")
check "toolkit without lib64: its lib, no empty CUPTI folder (got $got)" '[ "$got" = "$work/cuda-lib/lib:$cu13:$cudnn" ]'

got=$(lib_path ACCUMBENCH_TOOLKIT_ROOTS="" ACCUMBENCH_PYTHON="$work/notorch")
check "ACCUMBENCH_PYTHON without torch: python3's wheels (got $got)" '[ "$got" = "$cu13:$cudnn" ]'
got=$(lib_path ACCUMBENCH_TOOLKIT_ROOTS="" ACCUMBENCH_PYTHON="$work/other/bin/python3")
check "ACCUMBENCH_PYTHON with torch: its wheels (got $got)" \
  '[ "$got" = "$work/other/site/nvidia/cu13/lib:$work/other/site/nvidia/cudnn/lib" ]'

got=$(lib_path ACCUMBENCH_TOOLKIT_ROOTS="" LD_LIBRARY_PATH="/inherited/a:$cudnn:/inherited/b")
check "inherited LD_LIBRARY_PATH last, duplicates out (got $got)" '[ "$got" = "$cu13:$cudnn:/inherited/a:/inherited/b" ]'

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
