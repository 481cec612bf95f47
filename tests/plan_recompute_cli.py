#!/usr/bin/env python3
"""tests/plan_recompute_cli.py — what `accumbench plan` says about
recomputation, end to end on the CPU backend.

usage: plan_recompute_cli.py ACCUMBENCH WORKDIR

  - a small ResNet of three basic blocks, where recompute blocks holds less:
    from `run --json` (one step each) the tracked peaks of accumulate at
    micro-batch 16 and 32 give a budget where blocks fits 32 and none only
    16. There plan --measure must name the option of each recompute value
    (by_recompute) and fit a larger micro-batch with blocks than without,
    and its recommendation must run under --mem-limit budget;
  - those rows plus the runs at 16 and 32 (as a sweep would have them:
    --measure's throughput is held flat beyond micro-batch 4, so only rows
    that ran the larger micro-batch can show it faster), with step times
    from a fixed law (timed_copy: blocks costs 1.3x per micro-batch), make
    blocks 32 x 8 faster than none 16 x 16: plan --results --verify
    recommends recompute blocks, its verify run (with --recompute blocks)
    passes and measures the predicted peak; the text output shows both
    sides;
  - --recompute none searches none alone; results made before the recompute
    column (none's rows, the column removed) plan as --recompute none does;
  - gpt: fits on one-step runs of micro-batches 1, 2, 4 (iter-size 1 and 2)
    with and without recomputation predict a held-out 32 x 8 within 5% (its
    activations per sample scale with --seq, and are still linear in the
    micro-batch).
Exit 0 when every check passes.
"""
import csv
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plan_cli as pc  # noqa: E402  (the shared helpers and failure list)

check = pc.check
B = pc.B
CNN = ["--model", "cnn", "--width", "4", "--stages", "1", "--blocks", "3", "--norm", "group"]
GPT = ["--model", "gpt", "--vocab", "64", "--seq", "16", "--d-model", "32", "--heads", "2", "--layers", "2"]
ACC = ["--strategies", "accumulate"]


def run_row(exe, model, m, recompute):
    """run --json of accumulate m x B/m, one step"""
    rc, row, err = pc.run_config(exe, model, "accumulate", m, B, recompute=recompute)
    check(rc == 0 and row["status"] == "ok", f"run accumulate {m}, recompute {recompute}: exit {rc} {err.strip()}")
    return row


def append_rows(dest, rows):
    """rows of run --json added to dest/results.csv (written by plan --save
    from rows of the same keys)"""
    path = os.path.join(dest, "results.csv")
    with open(path, newline="") as f:
        head = next(csv.reader(f))
    check(all(list(r) == head for r in rows), "run --json keys differ from the saved results.csv columns")
    with open(path, "a", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(csv_cells(r) for r in rows)


def largest_fitting(doc, recompute):
    return max((c["micro_batch"] for c in doc["candidates"] if c["feasible"] and c["recompute"] == recompute),
               default=0)


def check_sides(doc, what):
    """both options named, each feasible and of its own value, the
    recommendation one of them"""
    by = doc["by_recompute"]
    check(sorted(by) == ["blocks", "none"] and doc["recompute_searched"] == ["none", "blocks"],
          f"{what}: by_recompute {sorted(by)}, searched {doc['recompute_searched']}")
    for r, c in by.items():
        check(c is not None and c["recompute"] == r and c["feasible"], f"{what}: option for {r}: {c}")
    rec = doc["recommendation"]
    check(rec is not None and rec == by.get(rec["recompute"]), f"{what}: recommendation {rec} is not its side")
    for r in ("none", "blocks"):
        c = by.get(r) or {}
        print(f"  {what}: {r}: {c.get('strategy')} {c.get('micro_batch')} x {c.get('iter_size')}, predicted "
              f"{c.get('predicted_peak_bytes', 0):.0f} B, {c.get('predicted_samples_per_s', 0):.1f} samples/s")
    return rec


def check_verify(doc, budget, what):
    v = doc.get("verify") or {}
    rec = doc["recommendation"]
    check(v.get("status") == "ok" and 0 < v["measured_peak_bytes"] <= budget,
          f"{what}: verify {v} (budget {budget})")
    if v.get("status") == "ok":
        rel = rec["predicted_peak_bytes"] / v["measured_peak_bytes"] - 1
        check(abs(rel) <= 0.05, f"{what}: verify measured {v['measured_peak_bytes']}, predicted "
              f"{rec['predicted_peak_bytes']:.0f} ({100 * rel:+.2f}%)")
        print(f"  {what}: verify {rec['strategy']} {rec['micro_batch']} x {rec['iter_size']}, recompute "
              f"{rec['recompute']}: measured {v['measured_peak_bytes']:.0f} B")


def test_budget(exe, work):
    print("--- cnn: " + " ".join(CNN), flush=True)
    large = [run_row(exe, CNN, m, r) for r in ("none", "blocks") for m in (16, 32)]
    none16, none32, blocks32 = (large[i]["mem_tracked_bytes"] for i in (0, 1, 3))
    print(f"  tracked peaks: none 16 {none16}, none 32 {none32}, blocks 32 {blocks32}")
    if not check(none16 < none32 and blocks32 < none32, "blocks 32 must hold less than none 32, none 16 less too"):
        return
    # halfway between what both fit and none 32: the plan's limit, margin taken
    limit = (max(none16, blocks32) + none32) / 2
    budget = int(limit / (1 - pc.MARGIN))
    saved = os.path.join(work, "cnn")
    p, doc = pc.plan(exe, CNN, budget, ["--measure", "--save", saved], ACC)
    if not check(p.returncode == 0 and doc, f"plan --measure: exit {p.returncode} {p.stderr.strip()}"):
        return
    rec = check_sides(doc, "measured")
    mb, mn = largest_fitting(doc, "blocks"), largest_fitting(doc, "none")
    check(mb >= 32 > mn >= 16, f"largest fitting micro-batch: blocks {mb}, none {mn}")
    check(rec["feasible"] and rec["predicted_peak_bytes"] <= limit, f"recommendation {rec} over the limit {limit}")
    rc, row, err = pc.run_config(exe, CNN, rec["strategy"], rec["micro_batch"], B, budget, rec["recompute"])
    check(rc == 0 and row["status"] == "ok" and row["mem_tracked_bytes"] <= budget,
          f"measured: the recommendation under --mem-limit {budget}: exit {rc} {err.strip()}")

    append_rows(saved, large)
    timed = pc.timed_copy(saved, saved + "-timed")
    p, doc = pc.plan(exe, CNN, budget, ["--results", timed], [*ACC, "--verify"])
    if check(p.returncode == 0 and doc, f"plan --results timed --verify: exit {p.returncode} {p.stderr.strip()}"):
        rec = check_sides(doc, "timed")
        none = doc["by_recompute"]["none"]
        check(rec["recompute"] == "blocks" and rec["micro_batch"] > none["micro_batch"] and
              rec["predicted_samples_per_s"] > none["predicted_samples_per_s"] * (1 + 0.03),
              f"timed: recommendation {rec} is not a faster, larger micro-batch with blocks than {none}")
        check_verify(doc, budget, "timed")
    p = pc.accumbench(exe, ["plan", "--backend", "cpu", *CNN, "--budget", str(budget), "--effective-batch", str(B),
                            "--results", timed, *ACC])
    check(p.returncode == 0 and "with and without recomputation" in p.stdout and "blocks against none:" in p.stdout
          and ", recompute blocks: predicted peak" in p.stdout, f"text output: {p.stdout[-1500:]} {p.stderr}")
    return timed, budget


def old_results(timed, dest):
    """timed/results.csv as a sweep made before the recompute column: none's
    rows only, without the column"""
    with open(os.path.join(timed, "results.csv"), newline="") as f:
        rows = list(csv.reader(f))
    col = rows[0].index("recompute")
    out = [r[:col] + r[col + 1:] for r in rows if r is rows[0] or r[col] == "none"]
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, "results.csv"), "w", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(out)
    return dest


def test_none_only(exe, work, timed, budget):
    p, doc = pc.plan(exe, CNN, budget, ["--results", timed], [*ACC, "--recompute", "none"])
    if not check(p.returncode == 0 and doc, f"--recompute none: exit {p.returncode} {p.stderr.strip()}"):
        return
    check(doc["recompute_searched"] == ["none"] and list(doc["by_recompute"]) == ["none"] and
          {c["recompute"] for c in doc["candidates"]} == {"none"} and [f["recompute"] for f in doc["fits"]] == ["none"],
          f"--recompute none: searched {doc['recompute_searched']}, by_recompute {list(doc['by_recompute'])}")
    check(doc["recommendation"] == doc["by_recompute"]["none"] and doc["recommendation"]["micro_batch"] == 16,
          f"--recompute none: recommendation {doc['recommendation']}")
    p2, old = pc.plan(exe, CNN, budget, ["--results", old_results(timed, os.path.join(work, "cnn-old"))], ACC)
    check(p2.returncode == 0 and old and old["candidates"] == doc["candidates"] and old["fits"] == doc["fits"],
          f"results without the recompute column do not plan as none: {p2.stderr.strip()}")


def csv_cells(row):
    """a run --json row's values as plan --save writes them"""
    return ["" if v is None else str(v).lower() if isinstance(v, bool) else v for v in row.values()]


def save_rows(rows, dest):
    """rows of run --json as DIR/results.csv"""
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, "results.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(list(rows[0]))
        w.writerows(csv_cells(r) for r in rows)
    return dest


def test_gpt(exe, work):
    print("--- gpt: " + " ".join(GPT), flush=True)
    rows = []
    for r in ("none", "blocks"):
        for m in (1, 2, 4):
            for k in (1, 2):
                rc, row, err = pc.run_config(exe, GPT, "accumulate", m, m * k, recompute=r)
                if check(rc == 0 and row["status"] == "ok", f"gpt {r} {m} x {k}: exit {rc} {err.strip()}"):
                    rows.append(row)
    if len(rows) != 12:
        return
    p, doc = pc.plan(exe, GPT, "1TiB", ["--results", save_rows(rows, os.path.join(work, "gpt"))], ACC)
    if not check(p.returncode == 0 and doc, f"gpt plan: exit {p.returncode} {p.stderr.strip()}"):
        return
    fits = {f["recompute"]: f for f in doc["fits"]}
    check(sorted(fits) == ["blocks", "none"] and all(f["points"] == 6 for f in fits.values()),
          f"gpt fits {[(f['recompute'], f['points']) for f in doc['fits']]}")
    for r in ("none", "blocks"):
        c = pc.find(doc["candidates"], "accumulate", 32, r)
        rc, row, err = pc.run_config(exe, GPT, "accumulate", 32, B, recompute=r)
        if not check(c and rc == 0, f"gpt {r} 32 x 8: candidate {c}, exit {rc} {err.strip()}"):
            continue
        rel = c["predicted_peak_bytes"] / row["mem_tracked_bytes"] - 1
        print(f"  gpt held-out accumulate/{r} 32 x 8: predicted {c['predicted_peak_bytes']:.0f}, measured "
              f"{row['mem_tracked_bytes']}, error {100 * rel:+.3f}%")
        check(abs(rel) <= 0.05, f"gpt {r} 32 x 8: predicted {c['predicted_peak_bytes']:.0f}, measured "
              f"{row['mem_tracked_bytes']}")


def main():
    exe, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    got = test_budget(exe, work)
    if got:
        test_none_only(exe, work, *got)
    test_gpt(exe, work)
    print(f"{len(pc.failures)} check(s) failed" if pc.failures else "all plan recompute checks passed")
    return 1 if pc.failures else 0


if __name__ == "__main__":
    sys.exit(main())
