#!/usr/bin/env python3
"""tests/plan_cli.py — `accumbench plan` on the CPU backend, end to end.

usage: plan_cli.py ACCUMBENCH WORKDIR

For three models (an mlp, a small ResNet, and an mlp whose 16-wide tensors
round up to 256 bytes at small micro-batches, where memory is far from a line
in the sample count):
  - plan --measure fits each strategy with recompute none and blocks apart
    (six fits, none sharing a point) on micro-batches {1, 2, 4} (iter-size 1
    and 2) and must predict the held-out (micro-batch 32, iter-size 8) of
    retain and accumulate, with and without recomputation, within 5% of what
    `run --json --recompute ...` measures;
  - --save then --results gives the same plan;
  - the fit uses each configuration's median over its repeats: the timed
    rows as three repeats t, 3t, 0.9t give the plan of t alone;
  - per recompute value, for ten budgets from the smallest predicted peak
    to the peak of what an unlimited budget recommends, the recommendation
    runs under --mem-limit budget (status ok, tracked peak <= budget), and
    the next micro-batch up of the same strategy and recompute value, which
    the plan rejected, runs out of memory there (exit 3, status oom)
    whenever its predicted peak is over the budget (a prediction inside the
    margin band is rejected for the margin, not the budget, and is counted
    instead). These plans read the
    measured rows with their step times replaced by a fixed law (timed_copy,
    recompute blocks 1.3x the work of a micro-batch): the small ResNet's
    throughput is flat in m, so measured times would let timing noise, not
    memory, pick between micro-batches, and the check is about memory;
  - below the smallest peak nothing fits: exit 1 naming that peak and the
    budget it needs, which then fits;
  - --ragged splits, --verify, and bad input (exit 2, one line).
Exit 0 when every check passes. plan_recompute_cli.py imports the helpers.
"""
import csv
import json
import os
import shutil
import subprocess
import sys

MODELS = {
    "mlp": ["--input-dim", "256", "--hidden", "128", "--layers", "2"],
    "cnn": ["--model", "cnn", "--width", "4", "--stages", "1", "--blocks", "1", "--norm", "group"],
    "narrow-mlp": ["--input-dim", "64", "--hidden", "16", "--layers", "4"],
}
B = 256
MARGIN = 0.05
# one timed step: memory needs no more (the tracked high-water of a step)
ONE_STEP = ["--warmup", "0", "--min-steps", "1", "--max-steps", "1"]

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, flush=True)
    return cond


def accumbench(exe, args):
    return subprocess.run([exe] + args, capture_output=True, text=True, timeout=600)


def plan(exe, model, budget, source, extra=()):
    p = accumbench(exe, ["plan", "--backend", "cpu", *model, "--budget", str(budget), "--effective-batch",
                         str(B), *source, "--json", *extra])
    doc = json.loads(p.stdout) if p.stdout.strip() else None
    return p, doc


def run_config(exe, model, strategy, m, b, limit=None, recompute="none"):
    args = ["run", "--backend", "cpu", "--json", *model, "--strategy", strategy, "--recompute", recompute,
            "--micro-batch", str(m), "--effective-batch", str(b), *ONE_STEP]
    if limit is not None:
        args += ["--mem-limit", str(int(limit))]
    p = accumbench(exe, args)
    return p.returncode, json.loads(p.stdout), p.stderr


# recomputation's cost in timed_copy's law: about one forward more (the
# design's +30% step time on the CPU)
RECOMPUTE_COST = 1.3


def timed_copy(saved, dest):
    """saved/results.csv with step_median_ns = 100 us + k * (200 us + m * 10 us),
    the part in parentheses RECOMPUTE_COST times for recompute blocks:
    samples/s of a micro-batch grow with m, a per-step overhead on top."""
    with open(os.path.join(saved, "results.csv"), newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    col = {name: i for i, name in enumerate(head)}
    for r in rows[1:]:
        m, k = int(r[col["micro_batch"]]), int(r[col["iter_size"]])
        cost = RECOMPUTE_COST if r[col["recompute"]] == "blocks" else 1.0
        r[col["step_median_ns"]] = str(100e3 + k * (200e3 + m * 10e3) * cost)
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, "results.csv"), "w", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(rows)
    return dest


def repeats_copy(timed, dest):
    """timed/results.csv as three interleaved rounds of repeats: each
    configuration's step_median_ns is t, 3t and 0.9t (one slow process), so
    its median over repeats is t; a fit on single processes would see 3t"""
    with open(os.path.join(timed, "results.csv"), newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    col = {name: i for i, name in enumerate(head)}
    out = [head]
    for rep, factor in enumerate((1.0, 3.0, 0.9)):
        for r in rows[1:]:
            r = list(r)
            r[col["repeat"]] = str(rep)
            r[col["step_median_ns"]] = str(float(r[col["step_median_ns"]]) * factor)
            out.append(r)
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, "results.csv"), "w", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(out)
    return dest


def find(cands, strategy, m, recompute="none"):
    for c in cands:
        if c["strategy"] == strategy and c["micro_batch"] == m and c["recompute"] == recompute:
            return c
    return None


def budget_sweep(exe, name, model, source, recompute):
    """ten budgets from the smallest to the largest predicted peak of one
    recompute value (plan --recompute VALUE): the recommendation runs under
    --mem-limit budget, and the next micro-batch up (same strategy and
    recompute value) that the plan rejected runs out of memory there"""
    tag, only = f"{name}/{recompute}", ["--recompute", recompute]
    p, doc = plan(exe, model, "1TiB", source, only)
    if not check(p.returncode == 0 and doc, f"{tag}: plan: {p.stderr.strip()}"):
        return
    # from "only the smallest fits" to the peak of what an unlimited budget
    # recommends (above it the choice cannot change)
    lo = min(c["predicted_peak_bytes"] for c in doc["candidates"])
    hi = doc["recommendation"]["predicted_peak_bytes"]
    oom_checked = margin_band = slower = 0
    for i in range(10):
        budget = int(lo / (1 - MARGIN) * (hi / lo) ** (i / 9)) + 1
        p, d = plan(exe, model, budget, source, only)
        rec = d["recommendation"] if d else None
        if not check(p.returncode == 0 and rec, f"{tag}: budget {budget}: exit {p.returncode} {p.stderr.strip()}"):
            continue
        check(rec["predicted_peak_bytes"] <= budget * (1 - MARGIN), f"{tag}: budget {budget}: {rec} over the limit")
        check(rec["recompute"] == recompute, f"{tag}: budget {budget}: recommended recompute {rec['recompute']}")
        rc, row, err = run_config(exe, model, rec["strategy"], rec["micro_batch"], B, budget, recompute)
        ok = check(rc == 0 and row["status"] == "ok" and row["mem_tracked_bytes"] <= budget,
                   f"{tag}: budget {budget}: recommended {rec['strategy']} {rec['micro_batch']} exit {rc}, "
                   f"status {row['status']}, tracked {row['mem_tracked_bytes']} {err.strip()}")
        line = (f"  budget {budget}: {rec['strategy']} {rec['micro_batch']} x {rec['iter_size']}, predicted "
                f"{rec['predicted_peak_bytes']:.0f}, measured {row['mem_tracked_bytes']}")
        if ok:
            rel = rec["predicted_peak_bytes"] / row["mem_tracked_bytes"] - 1
            check(abs(rel) <= 0.05, f"{tag}: budget {budget}: prediction off by {100 * rel:+.2f}%")
        nxt = find(d["candidates"], rec["strategy"], rec["micro_batch"] * 2, recompute)
        if rec["strategy"] == "full" or nxt is None:
            print(line + "; no larger micro-batch")
            continue
        if nxt["feasible"]:
            # rejected for speed, not memory: it must be clearly slower
            slower += 1
            check(nxt["predicted_samples_per_s"] < rec["predicted_samples_per_s"] * 0.97,
                  f"{tag}: budget {budget}: {nxt} fits and is not slower than the recommendation")
            print(line + f"; next {nxt['micro_batch']} fits but is slower")
            continue
        if nxt["predicted_peak_bytes"] <= budget:
            margin_band += 1
            print(line + f"; next {nxt['micro_batch']} predicted {nxt['predicted_peak_bytes']:.0f}: inside the margin")
            continue
        rc, row, err = run_config(exe, model, nxt["strategy"], nxt["micro_batch"], B, budget, recompute)
        oom_checked += 1
        check(rc == 3 and row["status"] == "oom",
              f"{tag}: budget {budget}: rejected {nxt['strategy']} {nxt['micro_batch']} exit {rc}, "
              f"status {row['status']} (predicted {nxt['predicted_peak_bytes']:.0f})")
        print(line + f"; next {nxt['micro_batch']} predicted {nxt['predicted_peak_bytes']:.0f}: exit {rc} {row['status']}")
    print(f"  {recompute}: {oom_checked} rejected configurations ran out of memory, {margin_band} inside the margin, "
          f"{slower} slower")
    check(oom_checked >= 6, f"{tag}: only {oom_checked} of 10 budgets checked a rejected configuration")


def test_model(exe, work, name, model):
    print(f"--- {name}: {' '.join(model)}", flush=True)
    saved = os.path.join(work, name)
    p, doc = plan(exe, model, "1TiB", ["--measure", "--save", saved])
    if not check(p.returncode == 0 and doc, f"{name}: plan --measure exit {p.returncode}: {p.stderr.strip()}"):
        return
    fits = {(f["strategy"], f["recompute"]): f for f in doc["fits"]}
    want = sorted((s, r) for s in ("accumulate", "full", "retain") for r in ("none", "blocks"))
    check(sorted(fits) == want, f"{name}: fits {sorted(fits)}")
    for (s, r), f in fits.items():
        # one fit's points are its own: a fit over both values would have twice as many
        check(f["points"] == (4 if s == "full" else 6), f"{name}: {s}/{r} fitted on {f['points']} points")
        print(f"  fit {s}/{r}: fixed {f['fixed_bytes']:.0f} B, scale {f['scale']:.4f}, "
              f"{f['act_bytes_per_sample']:.0f} B/sample held, max residual {100 * f['max_rel_residual']:.3f}%")

    # the held-out configuration, with and without recomputation
    for s in ("retain", "accumulate"):
        for r in ("none", "blocks"):
            c = find(doc["candidates"], s, 32, r)
            if not check(c is not None and c["iter_size"] == 8, f"{name}: no {s}/{r} 32 x 8 candidate"):
                continue
            rc, row, err = run_config(exe, model, s, 32, B, recompute=r)
            check(rc == 0 and row["status"] == "ok", f"{name}: run {s}/{r} 32 x 8: exit {rc} {err.strip()}")
            rel = c["predicted_peak_bytes"] / row["mem_tracked_bytes"] - 1
            print(f"  held-out {s}/{r} 32 x 8: predicted {c['predicted_peak_bytes']:.0f}, measured "
                  f"{row['mem_tracked_bytes']}, error {100 * rel:+.3f}%")
            check(abs(rel) <= 0.05, f"{name}: {s}/{r} 32 x 8 predicted {c['predicted_peak_bytes']:.0f} vs measured "
                  f"{row['mem_tracked_bytes']} ({100 * rel:+.2f}%)")

    # the saved runs read back give the same plan
    p2, doc2 = plan(exe, model, "1TiB", ["--results", saved])
    check(p2.returncode == 0 and doc2 and doc2["candidates"] == doc["candidates"],
          f"{name}: --results {saved} does not give the --measure plan: {p2.stderr.strip()}")

    source = ["--results", timed_copy(saved, saved + "-timed")]
    p, doc = plan(exe, model, "1TiB", source)
    if not check(p.returncode == 0 and doc, f"{name}: plan --results {source[1]}: {p.stderr.strip()}"):
        return saved
    for acc in (f for f in doc["fits"] if f["strategy"] == "accumulate"):
        check(abs(acc["step_overhead_ns"] - 100e3) < 1,
              f"{name}: {acc['recompute']}: step overhead {acc['step_overhead_ns']} != 100 us")
    # the process is the unit: three repeats per configuration fit as their medians
    p3, doc3 = plan(exe, model, "1TiB", ["--results", repeats_copy(source[1], saved + "-repeats")])
    check(p3.returncode == 0 and doc3 and doc3["fits"] == doc["fits"] and doc3["candidates"] == doc["candidates"],
          f"{name}: three repeats (t, 3t, 0.9t) do not fit as their medians: {p3.stderr.strip()}")
    for r in ("none", "blocks"):
        budget_sweep(exe, name, model, source, r)
    peaks = [c["predicted_peak_bytes"] for c in doc["candidates"]]
    lo = min(peaks)

    # nothing fits
    p, d = plan(exe, model, int(lo * 0.9), source)
    check(p.returncode == 1 and "nothing fits" in p.stderr and "smallest predicted peak" in p.stderr,
          f"{name}: below the smallest peak: exit {p.returncode}, stderr {p.stderr.strip()}")
    if d and check(d["recommendation"] is None and d["smallest"], f"{name}: nothing fits: JSON {d}"):
        need = d["smallest"]["budget_needed_bytes"]
        check(f"--budget {int(need + 0.999)}" in p.stderr or f"--budget {round(need)}" in p.stderr,
              f"{name}: the message does not name the budget needed ({need:.0f}): {p.stderr.strip()}")
        p2, d2 = plan(exe, model, int(need) + 1, source)
        check(p2.returncode == 0 and d2["recommendation"], f"{name}: the budget it names does not fit")
    return saved


def test_ragged_and_verify(exe, saved):
    model = MODELS["mlp"]
    b = 100
    p = accumbench(exe, ["plan", "--backend", "cpu", *model, "--budget", "700KiB", "--effective-batch", str(b),
                         "--results", saved, "--ragged", "--json"])
    d = json.loads(p.stdout) if p.stdout.strip() else None
    if not check(p.returncode == 0 and d, f"ragged: exit {p.returncode} {p.stderr.strip()}"):
        return
    ms = sorted({c["micro_batch"] for c in d["candidates"] if c["strategy"] == "accumulate"})
    want = sorted({-(-b // k) for k in range(1, b + 1)} | {1, 2, 4, 8, 16, 32, 64})
    check(ms == want, f"ragged: micro-batches {ms}, want {want}")
    c34 = find(d["candidates"], "accumulate", 34)
    check(c34 and c34["iter_size"] == 3 and c34["last_micro_batch"] == 32, f"ragged: 34 -> {c34}")
    rec = d["recommendation"]
    rc, row, err = run_config(exe, model, rec["strategy"], rec["micro_batch"], b, 700 * 1024, rec["recompute"])
    check(rc == 0 and abs(rec["predicted_peak_bytes"] / row["mem_tracked_bytes"] - 1) <= 0.05,
          f"ragged: {rec} measured {row.get('mem_tracked_bytes')} exit {rc}")
    print(f"  ragged B=100: {rec['strategy']} {rec['micro_batch']} x {rec['iter_size']} (last "
          f"{rec['last_micro_batch']}): predicted {rec['predicted_peak_bytes']:.0f}, measured {row['mem_tracked_bytes']}")

    p = accumbench(exe, ["plan", "--backend", "cpu", *model, "--budget", "700KiB", "--effective-batch", "256",
                         "--results", saved, "--verify"])
    check(p.returncode == 0 and "verify: peak predicted" in p.stdout, f"--verify: exit {p.returncode}: "
          f"{p.stdout[-400:]} {p.stderr.strip()}")
    print("  " + next((l for l in p.stdout.splitlines() if l.startswith("verify:")), "(no verify line)"))


def test_bad_input(exe, saved):
    mlp = MODELS["mlp"]
    base = ["plan", "--backend", "cpu", *mlp]
    cases = [
        (base + ["--effective-batch", "64", "--results", saved], "--budget"),
        (base + ["--budget", "0", "--effective-batch", "64", "--results", saved], "--budget"),
        (base + ["--budget", "1GiB", "--effective-batch", "0", "--results", saved], "--effective-batch"),
        (base + ["--budget", "1GiB", "--results", saved], "--effective-batch"),
        (base + ["--budget", "1GiB", "--effective-batch", "64"], "--measure"),
        (base + ["--budget", "1GiB", "--effective-batch", "64", "--results", saved, "--measure"], "--results"),
        (["plan", "--backend", "cpu", "--input-dim", "256", "--hidden", "64", "--layers", "2", "--budget", "1GiB",
          "--effective-batch", "64", "--results", saved], "no ok rows"),
        (base + ["--budget", "1GiB", "--effective-batch", "64", "--results", saved + "-missing"], "results.csv"),
        (base + ["--budget", "1GiB", "--effective-batch", "64", "--results", saved, "--strategy", "retain"],
         "--strategy"),
        (base + ["--budget", "1GiB", "--effective-batch", "64", "--results", saved, "--margin", "100%"], "--margin"),
        (base + ["--budget", "1GiB", "--effective-batch", "64", "--results", saved, "--micro-batches", "128"],
         "--micro-batches"),
        (base + ["--budget", "1GiB", "--effective-batch", "64", "--results", saved, "--save", "x"], "--save"),
        (base + ["--budget", "1GiB", "--effective-batch", "64", "--results", saved, "--strategies", "fast"],
         "--strategies"),
        (base + ["--budget", "1GiB", "--effective-batch", "64", "--results", saved, "--recompute", "all"],
         "--recompute"),
        (base + ["--budget", "1GiB", "--effective-batch", "64", "--results", saved, "--recompute", "none,none"],
         "--recompute"),
        (base + ["--budget", "1GiB", "--effective-batch", "64", "--results", saved, "--recompute", ""],
         "--recompute"),
        (["plan", "--backend", "cpu", "--hidden", "abc", "--budget", "1GiB", "--effective-batch", "64", "--results",
          saved], "--hidden"),
    ]
    for args, word in cases:
        p = accumbench(exe, args)
        lines = p.stderr.strip().splitlines()
        check(p.returncode == 2 and len(lines) == 1 and lines[0].startswith("accumbench: ") and word in lines[0],
              f"bad input {' '.join(args[4:])}: exit {p.returncode}, stderr {p.stderr.strip()!r} (want '{word}')")


def main():
    exe, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    saved = {}
    for name, model in MODELS.items():
        saved[name] = test_model(exe, work, name, model)
    if saved.get("mlp"):
        print("--- ragged splits, --verify, bad input", flush=True)
        test_ragged_and_verify(exe, saved["mlp"])
        test_bad_input(exe, saved["mlp"])
    print(f"{len(failures)} check(s) failed" if failures else "all plan checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
