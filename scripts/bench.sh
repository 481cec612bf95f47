#!/usr/bin/env bash
# scripts/bench.sh — `make bench`: the sweep for this machine, its plots and
# report, and a short summary.
#   scripts/bench.sh ACCUMBENCH [PROFILE]
# PROFILE (make bench PROFILE=...): a profile name or file; by default
# `default` when a GPU is usable, else `quick` (the CPU backend). Results go
# to results/<profile>-<UTC time>/ (results.csv, steps.csv, kernels.csv,
# memory.csv, plots/, report.html, summary.md).
set -euo pipefail
bin=${1:-build/accumbench}
profile=${2:-}
if [ -z "$profile" ]; then
  if "$bin" info --json | grep -q '"auto_backend": "cuda"'; then profile=default; else profile=quick; fi
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
