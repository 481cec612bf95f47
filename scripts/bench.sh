#!/usr/bin/env bash
# scripts/bench.sh — `make bench`: a first benchmark. Every strategy at
# iter_size 1, 2, 4, 8 for the mlp and a small cnn, on the best backend here,
# each configuration in its own `accumbench run --json` process; the rows go
# to results/bench-<time>/results.jsonl and a table is printed at the end.
set -euo pipefail
bin=${1:-build/accumbench}
out=${ACCUMBENCH_RESULTS:-results}/bench-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
rows="$out/results.jsonl"
: > "$rows.tmp"

models=(
  "--model mlp --micro-batch 32"
  "--model cnn --width 16 --stages 3 --blocks 1 --norm batch --micro-batch 16"
)
measure="--warmup 2 --min-steps 10 --max-time ${ACCUMBENCH_MAX_TIME:-8}"
total=$(( ${#models[@]} * 3 * 4 )); done_n=0
for model in "${models[@]}"; do
  for strategy in full retain accumulate; do
    for k in 1 2 4 8; do
      done_n=$((done_n + 1))
      [ -t 2 ] && printf '\r[%d/%d] %s --strategy %s --iter-size %d   ' "$done_n" "$total" "$model" "$strategy" "$k" >&2
      # shellcheck disable=SC2086
      "$bin" run --json $model $measure --strategy "$strategy" --iter-size "$k" >> "$rows.tmp"
    done
  done
done
[ -t 2 ] && printf '\n' >&2
mv "$rows.tmp" "$rows"

python3 - "$rows" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
mib = lambda v: "-" if v is None else f"{v / 2**20:.1f}"
print(f"{'model':5} {'strategy':10} {'micro':>5} {'iter':>4} {'batch':>5} {'step ms':>9} {'samples/s':>10}"
      f" {'tracked MiB':>11} {'analytic':>9} {'rss MiB':>8}")
for r in rows:
    print(f"{r['model']:5} {r['strategy']:10} {r['micro_batch']:5} {r['iter_size']:4} {r['effective_batch']:5}"
          f" {r['step_median_ns'] / 1e6:9.2f} {r['samples_per_s']:10.1f} {mib(r['mem_tracked_bytes']):>11}"
          f" {mib(r['mem_analytic_bytes']):>9} {mib(r['rss_delta_bytes']):>8}")
PY
echo "results: $rows"
