#!/usr/bin/env bash
# scripts/nightly.sh — the nightly regression run on a GPU rig.
#
#   scripts/nightly.sh [--baseline DIR] [--root DIR]
#
# 1. `accumbench sweep --profile nightly --out ROOT/<UTC date-time>` (the
#    profile sets repeat = 5 and repeat_max = 9; the sweep runs each repeat in
#    its own process, in shuffled rounds, and more rounds for configurations
#    whose repeats disagree).
# 2. `accumbench compare BASELINE RUN` where BASELINE is --baseline DIR if
#    given, else ROOT/baseline (a symlink you pin) if it exists, else the last
#    run whose compare passed (its name is in ROOT/last-pass). The first run
#    has no baseline: it is compared with itself and becomes the first
#    last-pass. RUN/compare.md, compare.json and compare.csv keep the result;
#    a passing run becomes ROOT/last-pass.
# 3. Appends one row per configuration to ROOT/history.csv: date, commit,
#    config (the stable name export uses), step_median_ns (median of the
#    pooled timed steps), samples_per_s, mem_tracked_bytes (medians over the
#    repeats), verdict.
# 4. Plots ROOT/history-throughput.png/.svg and history-memory.png/.svg with
#    gnuplot (plots/nightly_history.gp); without gnuplot it warns and goes on.
#
# Exit status: 0 no regression, 1 regression (compare's exit 1), 2 an error
# (no binary, the sweep wrote no results, compare could not read them).
#
# Environment: ACCUMBENCH_BIN (default build/accumbench),
# ACCUMBENCH_NIGHTLY_PROFILE (default nightly; a name or a .profile file),
# ACCUMBENCH_NIGHTLY_ROOT (default results/nightly; --root wins),
# ACCUMBENCH_COMPARE_FLAGS (extra compare flags, e.g. "--threshold 5%").
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${ACCUMBENCH_BIN:-$here/build/accumbench}
profile=${ACCUMBENCH_NIGHTLY_PROFILE:-nightly}
root=${ACCUMBENCH_NIGHTLY_ROOT:-$here/results/nightly}
compare_flags=${ACCUMBENCH_COMPARE_FLAGS:-}
baseline=""

die() { echo "nightly: $*" >&2; exit 2; }
warn() { echo "nightly: warning: $*" >&2; }

while [ $# -gt 0 ]; do
  case $1 in
    --baseline) [ $# -ge 2 ] || die "--baseline needs a directory"; baseline=$2; shift 2 ;;
    --root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; shift 2 ;;
    -h|--help) sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (usage: scripts/nightly.sh [--baseline DIR] [--root DIR])" ;;
  esac
done

[ -x "$bin" ] || die "no accumbench binary at $bin (run make, or set ACCUMBENCH_BIN)"
mkdir -p "$root" || die "cannot create $root"
root=$(cd "$root" && pwd)
if [ -n "$baseline" ] && [ ! -f "$baseline/results.csv" ]; then
  die "--baseline $baseline: no results.csv there"
fi
if command -v flock >/dev/null 2>&1; then
  exec 9>"$root/.lock" || die "cannot open $root/.lock"
  flock -n 9 || die "another nightly run holds $root/.lock"
fi

# --- 1. sweep ------------------------------------------------------------------
date_iso=$(date -u +%Y-%m-%dT%H:%M:%SZ)
stamp=$(date -u -d "$date_iso" +%Y%m%dT%H%M%SZ 2>/dev/null || date -u +%Y%m%dT%H%M%SZ)
run=$root/$stamp
n=1
while [ -e "$run" ]; do n=$((n + 1)); run=$root/$stamp-$n; done
echo "nightly: accumbench sweep --profile $profile --out $run"
"$bin" sweep --profile "$profile" --out "$run"
sweep_rc=$?
[ -f "$run/results.csv" ] || die "the sweep wrote no results (exit $sweep_rc)"
[ "$sweep_rc" -eq 0 ] || warn "the sweep exited $sweep_rc; comparing what it wrote"

# --- 2. compare ----------------------------------------------------------------
first=0
if [ -n "$baseline" ]; then
  base=$baseline
elif [ -e "$root/baseline" ]; then
  base=$root/baseline
elif [ -s "$root/last-pass" ] && [ -f "$root/$(head -n 1 "$root/last-pass")/results.csv" ]; then
  base=$root/$(head -n 1 "$root/last-pass")
else
  [ -s "$root/last-pass" ] && warn "last-pass names $(head -n 1 "$root/last-pass"), which has no results.csv"
  echo "nightly: no baseline yet: this run is compared with itself and becomes the baseline"
  base=$run
  first=1
fi
[ -f "$base/results.csv" ] || die "baseline $base: no results.csv there"
base=$(cd "$base" && pwd -P)
printf '%s\n' "$base" > "$run/baseline.txt"
# shellcheck disable=SC2086  # compare_flags is a list of flags
"$bin" compare "$base" "$run" $compare_flags --json "$run/compare.json" --csv "$run/compare.csv" \
  > "$run/compare.md"
compare_rc=$?
cat "$run/compare.md"
case $compare_rc in
  0)
    printf '%s\n' "$(basename "$run")" > "$root/last-pass.tmp" && mv "$root/last-pass.tmp" "$root/last-pass" ||
      die "cannot write $root/last-pass"
    ;;
  1) echo "nightly: REGRESSION against $base (see $run/compare.md)" >&2 ;;
  *) die "compare failed (exit $compare_rc); see above" ;;
esac

# --- 3. history ----------------------------------------------------------------
commit=$(sed -n 's/.*"commit": *"\([^"]*\)".*/\1/p' "$run/meta.json" 2>/dev/null | head -n 1)
[ -n "$commit" ] || commit=unknown
history=$root/history.csv
if [ ! -s "$history" ]; then
  printf 'date,commit,config,step_median_ns,samples_per_s,mem_tracked_bytes,verdict\n' > "$history"
fi

# RFC 4180 fields on one line (compare.csv and history.csv have no line breaks in fields)
csv_awk='
function csvsplit(line, f,    n, i, c, q, cur) {
  n = 0; cur = ""; q = 0
  sub(/\r$/, "", line)
  for (i = 1; i <= length(line); i++) {
    c = substr(line, i, 1)
    if (q) {
      if (c == "\"") { if (substr(line, i + 1, 1) == "\"") { cur = cur "\""; i++ } else q = 0 }
      else cur = cur c
    } else if (c == "\"") q = 1
    else if (c == ",") { f[++n] = cur; cur = "" }
    else cur = cur c
  }
  f[++n] = cur
  return n
}
function csvfield(s) {
  if (s ~ /[",]/) { gsub(/"/, "\"\"", s); return "\"" s "\"" }
  return s
}'

awk -v date="$date_iso" -v commit="$commit" -v first="$first" "$csv_awk"'
NR == 1 { n = csvsplit($0, h); for (i = 1; i <= n; i++) col[h[i]] = i; next }
{
  csvsplit($0, f)
  verdict = first ? "baseline" : f[col["verdict"]]
  print date "," csvfield(commit) "," csvfield(f[col["name"]]) "," f[col["new_step_ns"]] "," \
        f[col["new_samples_per_s"]] "," f[col["new_mem_tracked_bytes"]] "," csvfield(verdict)
}' "$run/compare.csv" >> "$history" || die "cannot append to $history"

# --- 4. plots ------------------------------------------------------------------
if ! command -v gnuplot >/dev/null 2>&1; then
  warn "gnuplot not found: history plots not drawn (Debian: apt-get install gnuplot-nox)"
else
  data=$(mktemp -d "${TMPDIR:-/tmp}/accumbench-nightly.XXXXXX") || die "mktemp failed"
  # one block per configuration; legends drop the name parts all share
  awk -v out_t="$data/throughput.dat" -v out_m="$data/memory.dat" "$csv_awk"'
  NR == 1 { next }
  {
    csvsplit($0, f)
    name = f[3]
    if (!(name in seen)) {
      seen[name] = ++nn; names[nn] = name
      k = split(name, tok, "/")
      for (i = 1; i <= k; i++) count[tok[i]]++
    }
    c = seen[name]; r = ++rows[c]
    d[c, r] = f[1]; t[c, r] = f[5]; m[c, r] = f[6]
  }
  END {
    for (c = 1; c <= nn; c++) {
      k = split(names[c], tok, "/"); legend = ""
      for (i = 1; i <= k; i++) if (count[tok[i]] < nn) legend = legend (legend == "" ? "" : "/") tok[i]
      if (legend == "") legend = tok[1] "/" tok[2]
      printf "%sdate %s\n", (c > 1 ? "\n\n" : ""), legend > out_t
      printf "%sdate %s\n", (c > 1 ? "\n\n" : ""), legend > out_m
      for (r = 1; r <= rows[c]; r++) {
        printf "%s %s\n", d[c, r], (t[c, r] == "" ? "NaN" : t[c, r]) > out_t
        printf "%s %s\n", d[c, r], (m[c, r] == "" ? "NaN" : m[c, r] / 1048576) > out_m
      }
    }
  }' "$history"
  gp=$here/plots/nightly_history.gp
  if gnuplot -e "datafile='$data/throughput.dat'; outbase='$root/history-throughput'; ylab='samples/s'" "$gp" &&
     gnuplot -e "datafile='$data/memory.dat'; outbase='$root/history-memory'; ylab='peak tracked memory (MiB)'" "$gp"
  then
    echo "nightly: plots: $root/history-throughput.png, $root/history-memory.png (and .svg)"
  else
    warn "gnuplot failed: history plots not (all) drawn"
  fi
  rm -rf "$data"
fi

echo "nightly: results $run; history $history"
[ "$compare_rc" -eq 1 ] && exit 1
exit 0
