#!/usr/bin/env python3
"""tests/run_outputs.py — what `accumbench run --out DIR` writes on the CPU.

kernels.csv has every op of the step with the right call counts (layers x
micro-batches), per-op times cover 95-100% of the profiled steps; memory.csv
shows retain peaking at the start of its last micro-batch's backward with all
k micro-batches live, and accumulate returning to the same level after each
micro-batch. Usage: run_outputs.py ACCUMBENCH WORKDIR"""
import csv, subprocess, sys, os, collections

bin_, work = sys.argv[1], sys.argv[2]
failures = []

def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        failures.append(msg)

def run(name, flags):
    out = os.path.join(work, name)
    cmd = [bin_, "run", "--backend", "cpu", "--out", out, "--warmup", "1", "--min-steps", "3", "--max-steps", "3"] + flags.split()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    read = lambda f: list(csv.DictReader(open(os.path.join(out, f), newline="")))
    return read("results.csv"), read("steps.csv"), read("kernels.csv"), read("memory.csv")

K, L = 3, 3
model = f"--model mlp --input-dim 1024 --hidden 512 --layers {L} --micro-batch 64 --iter-size {K}"
for strategy in ("retain", "accumulate"):
    results, steps, kernels, memory = run(strategy, f"{model} --strategy {strategy}")
    check(len(results) == 1 and results[0]["status"] == "ok", f"{strategy}: one ok row")
    profiled = [float(s["step_ns"]) for s in steps if s["kind"] == "profiled"]
    check(len(profiled) == 3, f"{strategy}: 3 profiled steps in steps.csv")
    calls = {(k["phase"], k["name"]): int(k["calls"]) // len(profiled) for k in kernels}
    linear = L + 1
    want = {
        ("other", "cpu_fill"): 1,
        ("forward", "cpu_gemm"): 2 * linear * K,          # x W^T and the bias GEMM
        ("forward", "cpu_relu_fwd"): L * K,
        ("forward", "cpu_softmax_xent_fwd"): K,
        ("backward", "cpu_softmax_xent_bwd"): K,
        ("backward", "cpu_gemm"): (3 * linear - 1) * K,   # dW, db, dx (no dx for the input)
        ("backward", "cpu_relu_bwd"): L * K,
        ("optimizer", "cpu_sgd_step"): 1,
    }
    check(calls == want, f"{strategy}: calls per step {dict(sorted(calls.items()))} == {dict(sorted(want.items()))}")
    share = sum(float(k["total_ns"]) for k in kernels) / sum(profiled)
    check(0.95 <= share <= 1.0, f"{strategy}: op times cover {share:.3f} of the profiled steps (0.95..1.0)")

    by_mb = collections.defaultdict(list)
    for e in memory:
        by_mb[(e["phase"], int(e["micro_batch"]))].append(int(e["bytes"]))
    peak = max(int(e["bytes"]) for e in memory)
    peak_at = next((e["phase"], int(e["micro_batch"])) for e in memory if int(e["bytes"]) == peak)
    fwd_end = [by_mb[("forward", i)][-1] for i in range(1, K + 1)]
    bwd_end = [by_mb[("backward", i)][-1] for i in range(1, K + 1)]
    if strategy == "retain":
        act = fwd_end[1] - fwd_end[0]
        check(act > 0 and all(fwd_end[i] - fwd_end[i - 1] == act for i in range(1, K)),
              f"retain: each forward adds one micro-batch of activations ({act} bytes)")
        check(peak_at == ("backward", K) and peak >= fwd_end[-1],
              f"retain: peak {peak} at {peak_at}, the start of B{K} with {K} micro-batches live")
        check(all(bwd_end[i] - bwd_end[i - 1] == act for i in range(1, K)),
              "retain: each backward frees its micro-batch")
    else:
        check(len(set(bwd_end)) == 1, f"accumulate: back to the same level after each backward {bwd_end}")
        check(len(set(fwd_end)) == 1, f"accumulate: same level after each forward {fwd_end}")
        peaks = [max(by_mb[("backward", i)] + by_mb[("forward", i)]) for i in range(1, K + 1)]
        check(len(set(peaks)) == 1 and peak == peaks[0], f"accumulate: the same peak in every micro-batch {peaks}")

# --min-time: with a loose --noise the median is settled long before, so the
# run stops by noise at the first timed step that completes --min-time seconds
MIN_TIME = 0.2
out = os.path.join(work, "min-time")
subprocess.run([bin_, "run", "--backend", "cpu", "--out", out, "--warmup", "1", "--noise", "0.5", "--min-time",
                str(MIN_TIME), "--max-steps", "1000000", "--max-time", "60", "--model", "mlp", "--input-dim", "256",
                "--hidden", "64", "--layers", "2", "--micro-batch", "8"], check=True, stdout=subprocess.DEVNULL)
row = list(csv.DictReader(open(os.path.join(out, "results.csv"), newline="")))[0]
timed = [float(s["step_ns"]) * 1e-9 for s in csv.DictReader(open(os.path.join(out, "steps.csv"), newline=""))
         if s["kind"] == "timed"]
check(row["stop_reason"] == "noise" and len(timed) == int(row["steps_timed"]) and sum(timed) >= MIN_TIME > sum(timed[:-1]),
      f"--min-time {MIN_TIME}: stopped by {row['stop_reason']} after {len(timed)} steps, {sum(timed):.3f} s timed "
      f"({sum(timed[:-1]):.3f} s before the last)")

print(f"{len(failures)} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
