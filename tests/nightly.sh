#!/usr/bin/env bash
# tests/nightly.sh — scripts/nightly.sh end to end with a tiny CPU profile
# (tests/nightly-tiny.profile): the first run becomes the baseline, the second
# compares with it and passes, a third with every step time made 3x slower
# (a wrapper around the binary rewrites results.csv's step_median_ns, what
# compare reads, after the sweep) fails with
# exit 1 and is not made last-pass, a fourth pinned with --baseline compares
# with the run named; history.csv grows by one row per configuration and run,
# and the history plots exist when gnuplot is installed. Thresholds are wide
# (50%): two runs on a busy test machine are not the same speed, and this
# checks the plumbing, not the statistics (tests/compare_cli.py does).
# Usage: nightly.sh ACCUMBENCH SOURCE_DIR WORK_DIR
set -u
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work" || exit 1
failures=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi; }

export ACCUMBENCH_BIN=$bin
export ACCUMBENCH_NIGHTLY_PROFILE=$src/tests/nightly-tiny.profile
export ACCUMBENCH_COMPARE_FLAGS="--threshold 50% --mem-threshold 50%"
root=$work/root
nightly() { "$src/scripts/nightly.sh" --root "$root" "$@" > "$work/log" 2>&1; }
runs() { find "$root" -mindepth 1 -maxdepth 1 -type d | sort; }
rows() { tail -n +2 "$root/history.csv" | wc -l; }

nightly; rc=$?
check "first run: exit 0 (got $rc)" '[ $rc -eq 0 ]'
[ $rc -eq 0 ] || cat "$work/log"
first=$(runs | head -n 1)
check "first run: one run directory with results" '[ "$(runs | wc -l)" -eq 1 ] && [ -f "$first/results.csv" ]'
check "first run: becomes last-pass" '[ "$(cat "$root/last-pass")" = "$(basename "$first")" ]'
check "first run: compared with itself" '[ "$(cat "$first/baseline.txt")" = "$first" ] && grep -q "no baseline yet" "$work/log"'
check "first run: history header and 2 rows" '[ "$(head -n 1 "$root/history.csv")" = "date,commit,config,step_median_ns,samples_per_s,mem_tracked_bytes,verdict" ] && [ "$(rows)" -eq 2 ]'
check "first run: verdict baseline, stable names" 'tail -n +2 "$root/history.csv" | grep -q ",mlp/retain/micro_batch:8/iter_size:2/.*,baseline$"'

nightly; rc=$?
check "second run: exit 0 (got $rc)" '[ $rc -eq 0 ]'
[ $rc -eq 0 ] || cat "$work/log"
second=$(runs | tail -n 1)
check "second run: compared with the first" '[ "$second" != "$first" ] && [ "$(cat "$second/baseline.txt")" = "$first" ]'
check "second run: compare table printed" 'grep -q "^| config | metric | base | new | change | p-value | verdict |" "$work/log"'
check "second run: becomes last-pass" '[ "$(cat "$root/last-pass")" = "$(basename "$second")" ]'
check "second run: history has 4 rows, 2 same" '[ "$(rows)" -eq 4 ] && [ "$(grep -c ",same$" "$root/history.csv")" -eq 2 ]'
check "second run: compare.json and compare.csv kept" '[ -s "$second/compare.json" ] && [ -s "$second/compare.csv" ]'
if command -v gnuplot > /dev/null; then
  check "plots drawn" 'for f in history-throughput history-memory; do [ -s "$root/$f.png" ] && [ -s "$root/$f.svg" ] || exit 1; done'
fi

# third run: every repeat's step time 3x slower
cat > "$work/slow-bin.sh" <<EOS
#!/usr/bin/env bash
"$bin" "\$@"; rc=\$?
if [ "\$1" = sweep ]; then
  out=""; prev=""
  for a in "\$@"; do [ "\$prev" = --out ] && out=\$a; prev=\$a; done
  awk -F, -v OFS=, -v ORS='\r\n' '{ sub(/\r\$/, "") }
    NR == 1 { for (i = 1; i <= NF; i++) if (\$i == "step_median_ns") s = i; print; next }
    \$s != "" { \$s = sprintf("%.0f", \$s * 3) } { print }' "\$out/results.csv" > "\$out/results.tmp" &&
    mv "\$out/results.tmp" "\$out/results.csv"
fi
exit \$rc
EOS
chmod +x "$work/slow-bin.sh"
ACCUMBENCH_BIN=$work/slow-bin.sh nightly; rc=$?
third=$(runs | tail -n 1)
check "slowed run: exit 1 (got $rc)" '[ $rc -eq 1 ]'
check "slowed run: regression reported" 'grep -q "REGRESSION against $second" "$work/log" && grep -q "\*\*regression\*\*" "$third/compare.md"'
check "slowed run: last-pass unchanged" '[ "$(cat "$root/last-pass")" = "$(basename "$second")" ]'
check "slowed run: history rows say regression" '[ "$(rows)" -eq 6 ] && [ "$(grep -c ",regression$" "$root/history.csv")" -eq 2 ]'

# fourth run: pinned to the first
nightly --baseline "$first"; rc=$?
fourth=$(runs | tail -n 1)
check "pinned run: exit 0 (got $rc)" '[ $rc -eq 0 ]'
check "pinned run: compared with --baseline" '[ "$(cat "$fourth/baseline.txt")" = "$first" ]'

# errors: exit 2
ACCUMBENCH_BIN=$work/no-such-binary nightly; rc=$?
check "no binary: exit 2 (got $rc)" '[ $rc -eq 2 ]'
nightly --baseline "$work/nowhere"; rc=$?
check "bad --baseline: exit 2 (got $rc)" '[ $rc -eq 2 ]'

echo "$failures failed"
[ "$failures" -eq 0 ]
