#!/usr/bin/env bash
# scripts/process_spread.sh — how much one configuration's step time varies
# between processes: runs `accumbench run --json <flags>` in N separate
# processes and prints each process's median step time and max/min of those
# medians (the design's "Throughput and noise" asks max/min <= 1.10).
#
# Several binaries (-b, repeated) are run interleaved, round by round
# (A B A B ...), so a slow spell of a shared machine hits all of them alike.
# The load average is printed before and after: a figure taken while it was
# above the CPU count is a figure of a loaded machine.
#
#   scripts/process_spread.sh [-n N] [-b BIN]... -- RUN_FLAGS...
#   scripts/process_spread.sh -n 8 -- --backend cpu --model mlp --hidden 256 \
#       --layers 3 --strategy accumulate --micro-batch 8 --iter-size 8
set -euo pipefail

usage() {
    echo "usage: $0 [-n N] [-b BIN]... -- RUN_FLAGS..." >&2
    exit 2
}

n=8
bins=()
while [ $# -gt 0 ]; do
    case "$1" in
        -n) [ $# -ge 2 ] || usage; n=$2; shift 2 ;;
        -b) [ $# -ge 2 ] || usage; bins+=("$2"); shift 2 ;;
        --) shift; break ;;
        *) usage ;;
    esac
done
case "$n" in '' | *[!0-9]* | 0 | 1) echo "$0: -n: must be an integer >= 2 (got $n)" >&2; exit 2 ;; esac
[ ${#bins[@]} -gt 0 ] || bins=("$(dirname "$0")/../build/accumbench")
for b in "${bins[@]}"; do
    [ -x "$b" ] || { echo "$0: -b: not an executable: $b" >&2; exit 2; }
done

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
declare -A medians
for ((round = 0; round < n; round++)); do
    for ((i = 0; i < ${#bins[@]}; i++)); do
        json=$("${bins[$i]}" run --json "$@")
        ns=$(printf '%s\n' "$json" | sed -n 's/.*"step_median_ns": *\([0-9.]*\).*/\1/p')
        [ -n "$ns" ] || { echo "$0: no step_median_ns from ${bins[$i]}: $json" >&2; exit 1; }
        medians[$i]="${medians[$i]:-} $ns"
    done
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"

for ((i = 0; i < ${#bins[@]}; i++)); do
    # shellcheck disable=SC2086 # the medians are a space-separated list
    printf '%s\n' ${medians[$i]} | awk -v bin="${bins[$i]}" '
        { ms = $1 / 1e6; line = line sprintf(" %.3f", ms)
          if (NR == 1 || ms < lo) lo = ms
          if (NR == 1 || ms > hi) hi = ms }
        END { printf "%s\n  medians (ms):%s\n  max/min %.3f\n", bin, line, hi / lo }'
done
