#!/usr/bin/env python3
"""scripts/gpu_validation_summary.py OUT DOC — writes docs/gpu-validation.md
from the stage directories scripts/gpu-validate.sh left under OUT: device
and versions, each stage's status, the key figures of the nightly and peer
sweeps (throughput per strategy, memory figures, retain/accumulate peak ratio,
CUPTI overhead, accumbench/PyTorch ratios) and the exact commands."""
import csv, os, statistics, sys, datetime

out, doc = sys.argv[1], sys.argv[2]
stages = ["build", "gpu-tests", "sanitize", "nightly", "peer"]

def read(path, default=""):
    try:
        return open(path, errors="replace").read().strip()
    except OSError:
        return default

def rows(stage):
    path = os.path.join(out, stage, "results", "results.csv")
    return list(csv.DictReader(open(path, newline=""))) if os.path.exists(path) else []

def num(r, k):
    try:
        return float(r.get(k) or "nan")
    except ValueError:
        return float("nan")

key = lambda r: (r["model"], r["width"], r["stages"], r["blocks"], r["norm"], r["micro_batch"], r["iter_size"])
lines = [f"# GPU validation", "", f"Generated {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC by "
         "`scripts/gpu-validate.sh` (stages below; raw logs in the stage archives).", "", "## Device", "", "```",
         read(os.path.join(out, "build", "info.txt"), "(build stage did not run)"), "```", "", "## Stages", "",
         "| stage | result |", "|---|---|"]
for s in stages:
    lines.append(f"| {s} | {read(os.path.join(out, s, 'status.txt'), 'not run')} |")

nightly = [r for r in rows("nightly") if r["status"] == "ok"]
if nightly:
    lines += ["", "## Key figures (nightly profile, medians over repeats)", "",
              "| model | norm | micro-batch | iter | strategy | samples/s | tracked MiB | device MiB | driver MiB | CUPTI overhead |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    groups = {}
    for r in nightly:
        groups.setdefault(key(r) + (r["strategy"],), []).append(r)
    med = lambda rs, k: statistics.median(num(r, k) for r in rs)
    for k, rs in sorted(groups.items()):
        lines.append(f"| {k[0]} | {k[4] or '-'} | {k[5]} | {k[6]} | {k[7]} | {med(rs, 'samples_per_s'):.1f} | "
                     f"{med(rs, 'mem_tracked_bytes') / 2**20:.1f} | {med(rs, 'mem_device_bytes') / 2**20:.1f} | "
                     f"{med(rs, 'mem_driver_bytes') / 2**20:.1f} | {med(rs, 'cupti_overhead_ratio'):.3f} |")
    ratios = []
    for k, rs in groups.items():
        if k[7] == "retain" and k[:7] + ("accumulate",) in groups:
            acc = groups[k[:7] + ("accumulate",)]
            ratios.append((k, med(rs, "mem_tracked_bytes") / med(acc, "mem_tracked_bytes")))
    if ratios:
        lines += ["", "retain / accumulate tracked peak: " + ", ".join(
            f"{k[0]} m={k[5]} k={k[6]}: {v:.2f}" for k, v in sorted(ratios))]

peer = [r for r in rows("peer") if r["status"] == "ok"]
if peer:
    by = {}
    for r in peer:
        by.setdefault(key(r) + (r["strategy"],), {}).setdefault(r["engine"], []).append(r)
    lines += ["", "## accumbench vs PyTorch (same configurations)", "",
              "| config | strategy | accumbench samples/s | torch samples/s | ratio | accumbench MiB | torch MiB | grad_rel_err |",
              "|---|---|---|---|---|---|---|---|"]
    for k, e in sorted(by.items()):
        if "accumbench" in e and "torch" in e:
            a, t = e["accumbench"], e["torch"]
            sa = statistics.median(num(r, "samples_per_s") for r in a)
            st = statistics.median(num(r, "samples_per_s") for r in t)
            lines.append(f"| {k[0]} m={k[5]} k={k[6]} {k[4] or ''} | {k[7]} | {sa:.1f} | {st:.1f} | {sa / st:.2f} | "
                         f"{statistics.median(num(r, 'mem_tracked_bytes') for r in a) / 2**20:.1f} | "
                         f"{statistics.median(num(r, 'mem_tracked_bytes') for r in t) / 2**20:.1f} | "
                         f"{statistics.median(num(r, 'grad_rel_err') for r in t):.2e} |")

lines += ["", "## Commands", ""]
for s in stages:
    cmds = read(os.path.join(out, s, "commands.txt"))
    if cmds:
        lines += [f"{s}:", "```", cmds, "```"]
os.makedirs(os.path.dirname(doc), exist_ok=True)
tmp = doc + ".tmp"
open(tmp, "w").write("\n".join(lines) + "\n")
os.replace(tmp, doc)
print(f"wrote {doc}")
