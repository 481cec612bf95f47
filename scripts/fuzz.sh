#!/usr/bin/env bash
# scripts/fuzz.sh — run the libFuzzer targets `make fuzz` built, each for a
# bounded time, and print executions and coverage per target.
# Usage: scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]
#   BUILD_DIR  a build configured with clang and -DACCUMBENCH_FUZZ=ON
#              (fuzz_<target> under BUILD_DIR/tests/fuzz)
#   SECONDS    libFuzzer's -max_total_time for each target
#   TARGET     parse csv jsonread profile (default: all)
# Each target starts from its seed corpus (tests/fuzz/corpus/<target>) and
# the inputs that once crashed it (tests/fuzz/regress/<target>), and grows a
# working corpus in BUILD_DIR/fuzz/corpus/<target> (kept between runs, never
# written into the repository). A crash, leak, sanitizer report, timeout or
# out-of-memory leaves the input in BUILD_DIR/fuzz/artifacts/<target>/ and
# makes this script exit 1: fix it, then copy the input into
# tests/fuzz/regress/<target>/ so that ctest replays it from then on.
# Logs: BUILD_DIR/fuzz/<target>.log.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ $# -lt 2 ]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
build=$1 seconds=$2
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parse csv jsonread profile)

status=0
summary=()
for t in "${targets[@]}"; do
  exe=$build/tests/fuzz/fuzz_$t
  if [ ! -x "$exe" ]; then
    echo "fuzz.sh: $exe not built (make fuzz builds it)" >&2
    exit 2
  fi
  work=$build/fuzz/corpus/$t art=$build/fuzz/artifacts/$t log=$build/fuzz/$t.log
  mkdir -p "$work" "$art"
  dict=()
  [ -f tests/fuzz/$t.dict ] && dict=(-dict=tests/fuzz/$t.dict)
  echo "fuzz.sh: $t for ${seconds}s (log $log)"
  # -timeout: one input may take at most 10 s; -rss_limit_mb: 2 GiB;
  # regress/ holds a .gitkeep, which libFuzzer skips as an empty input no more
  OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1 \
    "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$art/" "${dict[@]}" "$work" tests/fuzz/corpus/$t tests/fuzz/regress/$t \
      >"$log" 2>&1
  rc=$?
  # the last status line ("#N DONE cov: C ft: F corp: ...") and the final stats
  last=$(grep -E '^#[0-9]+' "$log" | tail -n1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
  rate=$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' <<<"$last")
  if [ $rc -ne 0 ]; then
    status=1
    found=$(ls "$art" 2>/dev/null | tr '\n' ' ')
    echo "fuzz.sh: $t FAILED (exit $rc): $(grep -m1 -E 'ERROR|FUZZ_CHECK|runtime error|deadly signal' "$log")"
    echo "fuzz.sh:   inputs in $art: ${found:-none}"
  fi
  summary+=("$(printf '%-9s %-6s execs %-10s exec/s %-7s cov %-6s ft %-7s corpus %s' "$t" \
    "$([ $rc -eq 0 ] && echo ok || echo FAIL)" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")")
done
echo "fuzz.sh: ${seconds}s per target"
printf '  %s\n' "${summary[@]}"
exit $status
