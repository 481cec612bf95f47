#!/usr/bin/env bash
# tests/rss_growth.sh — retain's max-RSS delta grows with iter_size while
# accumulate's stays flat, measured in separate `accumbench run` processes
# (an independent figure: the kernel's page accounting, not the allocator).
set -u
bin=$1
model="--backend cpu --model cnn --width 16 --stages 2 --blocks 1 --norm group --micro-batch 16"
steps="--warmup 1 --min-steps 2 --max-steps 2"
field() { sed -n "s/.*\"$1\": \([0-9.e+]*\).*/\1/p"; }
fail=0
declare -A rss
for s in retain accumulate; do
  for k in 1 2 4; do
    out=$("$bin" run --json $model $steps --strategy $s --iter-size $k) || { echo "FAIL: run $s k=$k exited $?"; exit 1; }
    rss[$s$k]=$(echo "$out" | field rss_delta_bytes)
    act=$(echo "$out" | field mem_tracked_bytes)
    echo "$s k=$k: rss_delta_bytes ${rss[$s$k]}, mem_tracked_bytes $act"
  done
done
# one micro-batch of activations here is ~10 MiB: retain must add at least half
# of that per extra micro-batch; accumulate must not grow by more than 2 MiB
# (page-granular noise from allocator reuse).
awk -v r1="${rss[retain1]}" -v r2="${rss[retain2]}" -v r4="${rss[retain4]}" \
    -v a1="${rss[accumulate1]}" -v a4="${rss[accumulate4]}" 'BEGIN {
  per = (r2 - r1); ok = 1
  if (per < 5 * 1048576) { print "FAIL: retain k=2 grew by only " per " bytes"; ok = 0 }
  if (r4 - r2 < 1.5 * per) { print "FAIL: retain k=4 grew by " (r4 - r2) " bytes over k=2, want about 2x " per; ok = 0 }
  if (a4 - a1 > 2 * 1048576) { print "FAIL: accumulate grew by " (a4 - a1) " bytes from k=1 to k=4"; ok = 0 }
  if (ok) print "ok: retain +" per " bytes per micro-batch, accumulate flat (" (a4 - a1) " bytes)"
  exit !ok }'
