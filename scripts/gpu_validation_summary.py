#!/usr/bin/env python3
"""scripts/gpu_validation_summary.py TARBALL [--doc DOC] [--accumbench BIN]

Turns the validation.tar.gz a bundle's validate.sh left on a GPU machine
(scripts/gpu-bundle.sh) into DOC (default docs/gpu-validation.md): the
device and library versions, each part's result and time, the runs per
strategy, the key figures of the gpu-smoke and gpu-peer sweeps. The tarball
is unpacked beside DOC (DOC without .md: docs/gpu-validation/, replacing an
earlier one), and `accumbench report` (BIN, default build/accumbench) redraws
each sweep's plots and report there, with this machine's gnuplot (the GPU
machine has none); DOC links them. Bad arguments or an unreadable tarball:
one line on stderr, exit 2."""
import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWEEPS = [("gpu-smoke", "gpu-smoke sweep (accumbench, repeats pooled by median)"),
          ("gpu-peer", "gpu-peer sweep (accumbench and the PyTorch peer)")]
KEY = ("model", "width", "stages", "blocks", "norm", "micro_batch", "iter_size", "strategy", "recompute", "seq",
       "d_model", "layers")
MIB = 2 ** 20


def fail(msg):
    print(f"gpu_validation_summary: {msg}", file=sys.stderr)
    sys.exit(2)


def read(path, default=""):
    try:
        with open(path, errors="replace") as f:
            return f.read().strip()
    except OSError:
        return default


def num(row, key):
    """row[key] as a float; NaN when empty, null or not a number."""
    value = row.get(key)
    try:
        return float("nan") if value is None or value == "" else float(value)
    except ValueError:
        return float("nan")


def fmt(value, scale=1.0, digits=1):
    return "-" if value != value else f"{value / scale:.{digits}f}"


# --- validate.sh's summary.txt ------------------------------------------------------------

def parse_summary(text):
    """(header dict, [part rows as dicts], total line) of summary.txt."""
    header, parts, total, in_table = {}, [], "", False
    for line in text.splitlines():
        if line.startswith("part "):
            in_table = True
        elif line.startswith("total:"):
            total, in_table = line, False
        elif in_table and line.strip():
            f = line.split(None, 4)
            parts.append(dict(zip(("part", "result", "time_s", "budget_s", "note"), f + [""] * (5 - len(f)))))
        elif ": " in line and not in_table and not parts:
            k, v = line.split(": ", 1)
            header.setdefault(k, v)
    return header, parts, total


# --- sections -------------------------------------------------------------------------

def device_section(root):
    lines = ["## Device", ""]
    for name, title in (("info/gpu.csv", "nvidia-smi"), ("info/info.txt", "accumbench info"),
                        ("info/torch.txt", "python, torch, CUDA, cuDNN, GPU seen by torch")):
        text = read(os.path.join(root, name))
        if text:
            lines += [f"{title}:", "```", text, "```", ""]
    return lines


def parts_section(parts, total):
    lines = ["## Parts", "", "| part | result | seconds | budget | note |", "|---|---|---|---|---|"]
    lines += [f"| {p['part']} | {p['result']} | {p['time_s']} | {p['budget_s']} | {p['note']} |" for p in parts]
    return lines + ["", total, ""]


def runs_section(root):
    runs_dir = os.path.join(root, "runs")
    if not os.path.isdir(runs_dir):
        return []
    lines = ["## One run per strategy (`run --json`)", "",
             "| model | strategy | status | step ms | samples/s | tracked MiB | device MiB | driver MiB | "
             "GPU busy | error |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name in sorted(f for f in os.listdir(runs_dir) if f.endswith(".json")):
        text = read(os.path.join(runs_dir, name))
        row = next((json.loads(l) for l in text.splitlines() if l.startswith("{")), None)
        if row is None:
            lines.append(f"| {name[:-5]} | | no JSON (see runs/{name[:-5]}.err) | | | | | | | |")
            continue
        lines.append(f"| {name[:-5].rsplit('-', 1)[0]} | {row['strategy']} | {row['status']} | "
                     f"{fmt(num(row, 'step_median_ns'), 1e6, 2)} | {fmt(num(row, 'samples_per_s'))} | "
                     f"{fmt(num(row, 'mem_tracked_bytes'), MIB)} | {fmt(num(row, 'mem_device_bytes'), MIB)} | "
                     f"{fmt(num(row, 'mem_driver_bytes'), MIB)} | {fmt(num(row, 'gpu_busy_ratio'), 1, 3)} | "
                     f"{row.get('error') or ''} |")
    return lines + [""] + top_kernels(runs_dir)


def top_kernels(runs_dir, n=5):
    """The n kernels (or ops) with the most time in each run's profiled steps (runs/NAME/kernels.csv)."""
    lines = []
    for name in sorted(os.listdir(runs_dir)):
        path = os.path.join(runs_dir, name, "kernels.csv")
        if not os.path.exists(path):
            continue
        with open(path, newline="") as f:
            rows = sorted(csv.DictReader(f), key=lambda r: -num(r, "total_ns"))[:n]
        lines += [f"{name}: " + "; ".join(f"{r['phase']} {r['name'][:80]} {num(r, 'share'):.0%}" for r in rows)]
    return ["Top kernels per run (phase, name, share of the profiled steps):", ""] + \
        [f"- {l}" for l in lines] + [""] if lines else []


def sweep_rows(root, name):
    path = os.path.join(root, name, "results.csv")
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def grouped(rows):
    """{(engine, key...): [rows]} of the ok rows."""
    groups = {}
    for r in rows:
        if r.get("status") == "ok":
            groups.setdefault((r.get("engine", "accumbench"),) + tuple(r.get(k, "") for k in KEY), []).append(r)
    return groups


def median(rows, key):
    values = [v for v in (num(r, key) for r in rows) if v == v]
    return statistics.median(values) if values else float("nan")


def natural(k):
    """Sort key: numbers as numbers (micro-batch 32 before 128)."""
    return tuple((0, int(x), "") if x.isdigit() else (1, 0, x) for x in k)


def config_name(k):
    model = (f"{k[1]} w{k[2]}x{k[3]}x{k[4]} {k[5]}" if k[1] == "cnn" else
             f"{k[1]} T{k[10]} C{k[11]} L{k[12]}" if k[1] == "gpt" else k[1])
    return f"{model} m={k[6]} k={k[7]}" + (" recompute blocks" if k[9] == "blocks" else "")


def sweep_section(root, name, title):
    rows = sweep_rows(root, name)
    if not rows:
        return [f"## {title}", "", "no results.csv (the part did not run, or stopped before its first row)", ""]
    statuses = {}
    for r in rows:
        statuses[r.get("status", "?")] = statuses.get(r.get("status", "?"), 0) + 1
    lines = [f"## {title}", "", f"{len(rows)} rows: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())),
             "", "| engine | configuration | strategy | runs | samples/s | tracked MiB | device MiB | driver MiB | "
             "reserved MiB | grad_rel_err |", "|---|---|---|---|---|---|---|---|---|---|"]
    groups = grouped(rows)
    for k, rs in sorted(groups.items(), key=lambda kv: natural(kv[0])):
        lines.append(f"| {k[0]} | {config_name(k)} | {k[8]} | {len(rs)} | {fmt(median(rs, 'samples_per_s'))} | "
                     f"{fmt(median(rs, 'mem_tracked_bytes'), MIB)} | {fmt(median(rs, 'mem_device_bytes'), MIB)} | "
                     f"{fmt(median(rs, 'mem_driver_bytes'), MIB)} | {fmt(median(rs, 'mem_reserved_bytes'), MIB)} | "
                     f"{fmt(median(rs, 'grad_rel_err'), 1, 6)} |")
    return lines + [""] + ratio_lines(groups) + plot_lines(root, name)


def ratio_lines(groups):
    """retain/accumulate tracked peaks, and accumbench/torch throughput, per configuration."""
    lines = []
    for k, rs in sorted(groups.items(), key=lambda kv: natural(kv[0])):
        acc = groups.get(k[:8] + ("accumulate",) + k[9:])
        if k[8] == "retain" and acc:
            lines.append(f"- {k[0]} {config_name(k)}: retain / accumulate tracked peak "
                         f"{median(rs, 'mem_tracked_bytes') / median(acc, 'mem_tracked_bytes'):.2f}")
        torch = groups.get(("torch",) + k[1:])
        if k[0] == "accumbench" and torch:
            lines.append(f"- {config_name(k)} {k[8]}: accumbench / torch samples/s "
                         f"{median(rs, 'samples_per_s') / median(torch, 'samples_per_s'):.2f}")
    return lines + [""] if lines else []


def plot_lines(root, name):
    plots = os.path.join(root, name, "plots")
    if not os.path.isdir(plots):
        return ["(no plots: `accumbench report` drew none here; is gnuplot installed?)", ""]
    rel = os.path.join(os.path.basename(root), name)
    lines = [f"Report: [{rel}/report.html]({rel}/report.html)", ""]
    lines += [f"![{f[:-4]}]({rel}/plots/{f})" for f in sorted(os.listdir(plots)) if f.endswith(".svg")]
    return lines + [""]


# --- main -----------------------------------------------------------------------------

def unpack(tarball, root):
    if os.path.isdir(root):
        shutil.rmtree(root)
    os.makedirs(root)
    try:
        with tarfile.open(tarball) as t:
            for m in t.getmembers():
                if m.name.startswith("/") or ".." in m.name.split("/") or not (m.isfile() or m.isdir()):
                    fail(f"{tarball}: refusing member '{m.name}'")
            t.extractall(root)
    except (OSError, tarfile.TarError) as e:
        fail(f"{tarball}: cannot unpack: {e}")


def redraw(root, accumbench):
    for name, _ in SWEEPS:
        if os.path.exists(os.path.join(root, name, "results.csv")):
            p = subprocess.run([accumbench, "report", os.path.join(root, name)], capture_output=True, text=True)
            print(f"accumbench report {name}: exit {p.returncode}", (p.stdout + p.stderr).strip()[-300:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tarball")
    ap.add_argument("--doc", default=os.path.join(REPO, "docs", "gpu-validation.md"))
    ap.add_argument("--accumbench", default=os.path.join(REPO, "build", "accumbench"))
    a = ap.parse_args()
    if not a.doc.endswith(".md"):
        fail(f"--doc: must end in .md (got '{a.doc}')")
    if not os.access(a.accumbench, os.X_OK):
        fail(f"--accumbench: '{a.accumbench}' is not an executable")
    root = a.doc[:-3]
    unpack(a.tarball, root)
    header, parts, total = parse_summary(read(os.path.join(root, "summary.txt")))
    if not parts:
        fail(f"{a.tarball}: no summary.txt with a parts table")
    redraw(root, a.accumbench)
    lines = ["# GPU validation", "",
             f"From `validate.sh` of a bundle made by `scripts/gpu-bundle.sh`; this page by "
             f"`scripts/gpu_validation_summary.py`. Raw logs and results: [{os.path.basename(root)}/]"
             f"({os.path.basename(root)}/).", ""]
    lines += [f"- {k}: {v}" for k, v in header.items()] + [""]
    lines += parts_section(parts, total) + device_section(root) + runs_section(root)
    for name, title in SWEEPS:
        lines += sweep_section(root, name, title)
    tmp = a.doc + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")
    os.replace(tmp, a.doc)
    print(f"wrote {a.doc} and {root}/")


if __name__ == "__main__":
    main()
