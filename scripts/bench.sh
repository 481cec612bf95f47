#!/usr/bin/env bash
# scripts/bench.sh — `make bench`: the sweep for this machine, its plots and
# report, and a short summary.
#   scripts/bench.sh ACCUMBENCH [PROFILE]
# PROFILE (make bench PROFILE=...): a profile name or file; by default
# `default` when a GPU is usable, else `quick` (the CPU backend). Results go
# to results/<profile>-<UTC time>/ (results.csv, steps.csv, kernels.csv,
# memory.csv, plots/, report.html, summary.md).
# A machine whose nvidia-smi lists a GPU that accumbench cannot use is not
# benchmarked on the CPU by default: exit 2 with the reason `info` gives
# (PROFILE=quick asks for the CPU on purpose).
set -euo pipefail
bin=${1:-build/accumbench}
profile=${2:-}
if [ -z "$profile" ]; then
  if "$bin" info --json | grep -q '"auto_backend": "cuda"'; then
    profile=default
  elif gpu=$(nvidia-smi -L 2>/dev/null | grep -m1 '^GPU [0-9]'); then
    info=$("$bin" info 2>&1 || true)
    if ! grep -q 'backends compiled in:.*cuda' <<<"$info"; then
      why="this build has no CUDA backend (configured without nvcc, or with -DACCUMBENCH_CUDA=OFF)"
    else
      why=$(sed -n 's/^ *--backend auto uses: [a-z]* (\(.*\))$/\1/p' <<<"$info")
    fi
    echo "make bench: nvidia-smi lists ${gpu%% (UUID*} but accumbench cannot use it: ${why:-see accumbench info}; not measuring the CPU instead (make bench PROFILE=quick does that on purpose)" >&2
    exit 2
  else
    profile=quick
  fi
fi
name=$(basename "$profile" .profile)
out=${ACCUMBENCH_RESULTS:-results}/$name-$(date -u +%Y%m%dT%H%M%SZ)
echo "make bench: profile $profile -> $out"
rc=0
"$bin" sweep --profile "$profile" --out "$out" || rc=$?
# a sweep that stopped part-way (rc 130) still has complete rows to report
if [ -f "$out/results.csv" ]; then
  "$bin" report "$out"
  echo
  cat "$out/summary.md"
  echo
  echo "results: $out (open $out/report.html)"
fi
exit $rc
