#!/usr/bin/env bash
# scripts/gpu-bundle.sh — the GPU validation bundle: everything a rare,
# offline, time-limited GPU machine needs to validate the CUDA path in one
# 8-minute call, built here so that nothing is compiled there.
#   scripts/gpu-bundle.sh DIR [--build BUILD_DIR]
# Builds accumbench, test_cuda_ops and test_cuda_model (Release,
# CMAKE_CUDA_ARCHITECTURES 80;90) in BUILD_DIR (default build-bundle/ in the
# source tree; kept, so a second bundle rebuilds only what changed), then
# makes DIR (replaced when it is an earlier bundle; refused when it is some
# other non-empty folder):
#   bin/        the three binaries, stripped, RUNPATH
#               $ORIGIN/../lib:/usr/local/cuda/lib64
#   lib/        every shared library they need that is neither CUDA's
#               (libcu*, libnv*: the device has its own) nor the C and C++
#               runtimes' (libc, libm, ld-linux, ..., libstdc++, libgcc_s:
#               every system has them, and an older copy here would shadow
#               the newer one CUDA's libraries need): OpenBLAS, libgfortran,
#               libquadmath, as they are: OpenBLAS finds libgfortran through
#               validate.sh's LD_LIBRARY_PATH, which starts with lib/ (a
#               RUNPATH patched into OpenBLAS would move its 400 KB symbol
#               tables and push the bundle over 40 MiB)
#   profiles/ plots/ peer/   what accumbench finds beside its bin/
#   validate.sh (scripts/gpu-bundle-validate.sh), BUNDLE.txt (what was built)
# Fails (exit 1) when the bundle is over 40 MiB or a binary lacks the CUDA
# backend. Needs nvcc ($CUDACXX, the PATH, or /usr/local/cuda/bin),
# cuDNN (CUDNN_ROOT, see CMakeLists.txt) and patchelf (scripts/deps.sh
# --bundle). Bad arguments: exit 2.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MAX_BYTES=$((40 * 1024 * 1024))
BINARIES=(accumbench test_cuda_ops test_cuda_model)

die() { echo "gpu-bundle: $1" >&2; exit "${2:-1}"; }

dir="" build=$src/build-bundle
while [ $# -gt 0 ]; do
  case "$1" in
    --build) [ $# -ge 2 ] || die "--build needs a folder" 2; build=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" 2 ;;
    *) [ -z "$dir" ] || die "one DIR only (got '$dir' and '$1')" 2; dir=$1; shift ;;
  esac
done
dir=${dir%/}
[ -n "$dir" ] || die "needs the bundle folder: scripts/gpu-bundle.sh DIR (not /)" 2
if [ -e "$dir" ] && [ ! -f "$dir/BUNDLE.txt" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
  die "'$dir' exists, is not empty and is not a bundle: give a new folder" 2
fi
# nvcc: $CUDACXX (as CMake reads it), else the PATH, else /usr/local/cuda/bin
if [ -n "${CUDACXX:-}" ]; then PATH=$(dirname "$CUDACXX"):$PATH; fi
if [ -d /usr/local/cuda/bin ]; then PATH=$PATH:/usr/local/cuda/bin; fi
command -v nvcc >/dev/null || die "no nvcc: the bundle needs the CUDA backend (install the CUDA toolkit)"
command -v patchelf >/dev/null || die "no patchelf: run scripts/deps.sh --bundle (Debian: patchelf)"

# --- build ---------------------------------------------------------------------
build_binaries() {
  local log=$build/bundle-build.log
  echo "gpu-bundle: building in $build"
  mkdir -p "$build"
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CUDA_ARCHITECTURES=80;90" \
    -DCMAKE_CUDA_FLAGS=--compress-mode=size \
    -DACCUMBENCH_CUDA=ON > "$log" 2>&1 || { tail -n 20 "$log" >&2; die "configure failed (log: $log)"; }
  cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target "${BINARIES[@]}" >> "$log" 2>&1 ||
    { tail -n 40 "$log" >&2; die "build failed (log: $log)"; }
}

binary_path() {   # NAME: where the build put it
  if [ "$1" = accumbench ]; then echo "$build/accumbench"; else echo "$build/tests/$1"; fi
}

# --- libraries -----------------------------------------------------------------
# bundled LIB_NAME: 0 when a library belongs in lib/ (see the header)
bundled() {
  case "$1" in
    linux-vdso.so*|ld-linux*|libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|libutil.so*|libresolv.so*) return 1 ;;
    libstdc++.so*|libgcc_s.so*) return 1 ;;
    libcu*|libnv*) return 1 ;;
  esac
  return 0
}

# needed_libraries BINARY...: "name path" lines, one per library to bundle
# (ldd's list is transitive); exit 1 when one of them is not found here
needed_libraries() {
  local b name arrow path rest
  for b in "$@"; do
    while read -r name arrow path rest; do
      [ "$arrow" = "=>" ] && bundled "$name" || continue
      if [ "$path" = not ]; then echo "gpu-bundle: $(basename "$b") needs $name, not found here" >&2; return 1; fi
      echo "$name $path"
    done < <(ldd "$b")
  done
}

# --- the bundle ----------------------------------------------------------------
make_bundle() {   # STAGE
  local stage=$1 b name path libs
  mkdir -p "$stage/bin" "$stage/lib" "$stage/profiles" "$stage/plots" "$stage/peer"
  for b in "${BINARIES[@]}"; do
    cp "$(binary_path "$b")" "$stage/bin/$b"
    strip --strip-unneeded "$stage/bin/$b"
    patchelf --set-rpath '$ORIGIN/../lib:/usr/local/cuda/lib64' "$stage/bin/$b"
  done
  libs=$(needed_libraries "$stage"/bin/*) || die "a library the binaries need is missing here"
  while read -r name path; do
    [ -e "$stage/lib/$name" ] && continue
    cp -L "$path" "$stage/lib/$name"
  done <<<"$libs"
  cp "$src"/profiles/*.profile "$stage/profiles/"
  cp "$src"/plots/*.gp "$stage/plots/"
  cp "$src"/bench/peer/*.py "$stage/peer/"
  cp "$src/scripts/gpu-bundle-validate.sh" "$stage/validate.sh"
  chmod +x "$stage/validate.sh"
  write_manifest "$stage"
}

write_manifest() {   # STAGE
  local stage=$1 commit dirty=""
  commit=$(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  [ -z "$(git -C "$src" status --porcelain --untracked-files=no 2>/dev/null)" ] || dirty=" (dirty)"
  {
    echo "accumbench $commit$dirty, built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n)"
    echo "nvcc: $(nvcc --version | sed -n 's/.*release \([0-9.]*\), \(V[0-9.]*\).*/\1 \2/p')"
    echo "CUDA architectures: 80;90 (sm_80, sm_90)"
    echo "glibc: $(ldd --version | head -n 1)"
    echo "lib/:"
    (cd "$stage/lib" && stat -c '  %n %s bytes' -- *)
  } > "$stage/BUNDLE.txt"
}

check_bundle() {   # STAGE
  local stage=$1 bytes
  "$stage/bin/accumbench" info 2>/dev/null | grep -q 'backends compiled in: cpu, cuda' ||
    die "the bundle's accumbench has no CUDA backend"
  bytes=$(du -sb "$stage" | cut -f1)
  [ "$bytes" -le "$MAX_BYTES" ] || die "bundle is $bytes bytes, over the 40 MiB ($MAX_BYTES) limit"
  echo "$bytes"
}

build_binaries
stage=$dir.partial
rm -rf "$stage"
make_bundle "$stage"
bytes=$(check_bundle "$stage")
rm -rf "$dir"
mv "$stage" "$dir"
echo "gpu-bundle: $dir: $bytes bytes ($(( bytes * 100 / MAX_BYTES ))% of 40 MiB); on the GPU machine: $dir/validate.sh OUTDIR"
