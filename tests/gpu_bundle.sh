#!/usr/bin/env bash
# tests/gpu_bundle.sh — scripts/gpu-bundle.sh end to end, on a machine
# without a GPU: builds a bundle (its own Release build: the slow part), then
#  - it is at most 40 MiB and holds bin/, lib/ with OpenBLAS, the profiles,
#    the plots, the peer, validate.sh and BUNDLE.txt;
#  - each binary's RUNPATH is $ORIGIN/../lib:/usr/local/cuda/lib64;
#  - under `env -i` with the LD_LIBRARY_PATH validate.sh prints, every
#    library of every binary resolves (libcuda.so.1 alone may not: the
#    driver brings it), OpenBLAS and libgfortran inside the bundle's lib/,
#    CUDA's libraries inside the folders printed; accumbench runs (info, a
#    CPU run) and the GPU tests report skip (77);
#  - the bundle's binary finds the bundle's profiles and peer (a bundle-only
#    change to each shows);
#  - validate.sh's part budgets fit its 8 minutes;
#  - validate.sh OUTDIR, OUTDIR relative to another working directory:
#    exit 2, one stderr line saying there is no GPU, OUTDIR holds exactly
#    summary.txt and validation.tar.gz, every part listed (info fail, the
#    rest skip), and scripts/gpu_validation_summary.py turns that tarball
#    into a page with the same parts table.
# Usage: gpu_bundle.sh SOURCE_DIR WORK_DIR PYTHON
set -u
src=$1 work=$2 py=${3:-python3}
# everything but the build, which a rerun reuses
mkdir -p "$work" && find "$work" -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} + || exit 1
failures=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi; }
b=$work/bundle
MAX=$((40 * 1024 * 1024))

t0=$(date +%s)
"$src/scripts/gpu-bundle.sh" "$b" --build "$work/build" > "$work/bundle.log" 2>&1; rc=$?
check "gpu-bundle.sh exit 0 (got $rc; $(( $(date +%s) - t0 )) s)" '[ $rc -eq 0 ]'
[ $rc -eq 0 ] || { cat "$work/bundle.log"; exit 1; }
cat "$work/bundle.log"

bytes=$(du -sb "$b" | cut -f1)
check "bundle is $bytes bytes <= 40 MiB ($MAX)" '[ "$bytes" -le $MAX ]'
for f in bin/accumbench bin/test_cuda_ops bin/test_cuda_model lib/libopenblas.so.0 validate.sh BUNDLE.txt \
         profiles/gpu-smoke.profile profiles/gpu-peer.profile plots/memory_vs_iter_size.gp \
         peer/torch_peer.py peer/torch_models.py; do
  check "bundle has $f" '[ -s "$b/$f" ]'
done
check "lib/ holds no CUDA or C runtime library" \
  '! ls "$b/lib" | grep -Eq "^(libcu|libnv|libc\.so|libm\.so|libstdc\+\+|libgcc_s|ld-linux)"'

# --- libraries under env -i ----------------------------------------------------------
libpath=$(env -i "$b/validate.sh" --print-lib-path)
check "validate.sh --print-lib-path starts with the bundle's lib/ ($libpath)" '[ "${libpath%%:*}" = "$b/lib" ]'
IFS=: read -ra dirs <<<"$libpath"
in_dirs() {   # PATH: inside one of the printed folders
  local d
  for d in "${dirs[@]}"; do [ "$(dirname "$1")" = "$d" ] && return 0; done
  return 1
}
for bin in accumbench test_cuda_ops test_cuda_model; do
  runpath=$(readelf -d "$b/bin/$bin" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
  check "$bin: RUNPATH \$ORIGIN/../lib:/usr/local/cuda/lib64 (got '$runpath')" \
    '[ "$runpath" = "\$ORIGIN/../lib:/usr/local/cuda/lib64" ]'
  out=$(env -i LD_LIBRARY_PATH="$libpath" ldd "$b/bin/$bin")
  unresolved=$(grep "not found" <<<"$out" | grep -v "libcuda.so.1" | tr -d '\t')
  check "$bin: every library resolves but libcuda (unresolved: '$unresolved')" '[ -z "$unresolved" ]'
  for lib in libopenblas.so.0 libgfortran.so.5; do
    at=$(sed -n "s/^\t$lib => \(.*\) (0x.*/\1/p" <<<"$out")
    check "$bin: $lib from the bundle (got '$at')" '[ "$at" = "$b/lib/$lib" ]'
  done
  while read -r lib at; do
    check "$bin: $lib from a printed folder (got '$at')" 'in_dirs "$at"'
  done < <(sed -n 's/^\t\(lib\(cu\|nv\)[^ ]*\) => \(\/[^ ]*\) (0x.*/\1 \3/p' <<<"$out")
done
ab() { local name=$1; shift; env -i LD_LIBRARY_PATH="$libpath" "$b/bin/$name" "$@"; }
info=$(ab accumbench info 2>&1); rc=$?
check "env -i accumbench info: exit 0, cuda compiled in (got $rc)" \
  '[ $rc -eq 0 ] && grep -q "backends compiled in: cpu, cuda" <<<"$info"'
ab accumbench run --backend cpu --model mlp --hidden 32 --micro-batch 4 --iter-size 2 --warmup 1 --min-steps 2 \
  --max-steps 2 --json > "$work/cpu-run.json" 2>&1; rc=$?
check "env -i accumbench run on the CPU (OpenBLAS): exit 0 (got $rc)" \
  '[ $rc -eq 0 ] && grep -q "\"status\": \"ok\"" "$work/cpu-run.json"'
for t in test_cuda_ops test_cuda_model; do
  ab "$t" > "$work/$t.log" 2>&1; rc=$?
  check "env -i $t without a GPU: skip, exit 77 (got $rc)" '[ $rc -eq 77 ]'
done

# --- the bundle's own profiles and peer ----------------------------------------------
sed -i 's/^repeat = .*/repeat = 3/' "$b/profiles/gpu-smoke.profile"
n=$("$b/bin/accumbench" sweep --profile gpu-smoke --dry-run | wc -l)
check "the bundle's gpu-smoke profile is the one found (33 runs with repeat 3, got $n)" '[ "$n" -eq 33 ]'
printf 'import sys\nsys.stderr.write("torch_peer: the bundle peer ran\\n")\nsys.exit(1)\n' > "$b/peer/torch_peer.py"
cat > "$work/peer.profile" <<'END'
backend = cpu
engines = accumbench, torch
models = mlp
hidden = 16
layers = 1
micro_batch = 4
min_steps = 2
max_steps = 2
END
ACCUMBENCH_PYTHON=$py "$b/bin/accumbench" sweep --profile "$work/peer.profile" --out "$work/peer-sweep" \
  > "$work/peer-sweep.log" 2>&1
check "the bundle's peer/torch_peer.py is the one run" 'grep -q "the bundle peer ran" "$work/peer-sweep/results.csv"'

# --- validate.sh -----------------------------------------------------------------------
budgets=$(( $(sed -n 's/^declare -A BUDGET_S=(\(.*\))$/\1/p' "$b/validate.sh" | grep -o '=[0-9]*' | tr -d = | paste -sd+) ))
check "part budgets ($budgets s) + reserve fit the 480 s" '[ "$budgets" -gt 0 ] && [ $((budgets + 20)) -le 480 ]'
if nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  echo "note: this machine has a GPU: validate.sh's no-GPU path is not checked"
else
  mkdir -p "$work/cwd"
  (cd "$work/cwd" && env -i "$b/validate.sh" ../out > "$work/validate.out" 2> "$work/validate.err"); rc=$?
  check "validate.sh without a GPU: exit 2 (got $rc)" '[ $rc -eq 2 ]'
  check "validate.sh: one stderr line saying no GPU ($(cat "$work/validate.err"))" \
    '[ "$(wc -l < "$work/validate.err")" -eq 1 ] && grep -q "no GPU" "$work/validate.err"'
  check "OUTDIR (relative ../out) holds summary.txt and validation.tar.gz only" \
    '[ "$(ls "$work/out" | tr "\n" " ")" = "summary.txt validation.tar.gz " ]'
  for p in info ops model runs memcheck smoke peer; do
    want=skip; [ $p = info ] && want=fail
    check "summary: part $p $want" 'grep -Eq "^$p +$want " "$work/out/summary.txt"'
  done
  check "tarball holds info.txt and the summary" \
    'tar tzf "$work/out/validation.tar.gz" | grep -q "info/info.txt" && tar tzf "$work/out/validation.tar.gz" | grep -q "summary.txt"'
  "$py" "$src/scripts/gpu_validation_summary.py" "$work/out/validation.tar.gz" --doc "$work/doc/gpu-validation.md" \
    --accumbench "$b/bin/accumbench" > "$work/summary.log" 2>&1; rc=$?
  check "gpu_validation_summary.py on it: exit 0 (got $rc)" '[ $rc -eq 0 ]'
  for p in info ops model runs memcheck smoke peer; do
    want=skip; [ $p = info ] && want=fail
    check "page: part $p $want" 'grep -q "^| $p | $want |" "$work/doc/gpu-validation.md"'
  done
fi

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
