#!/usr/bin/env python3
"""tests/gpu_summary_check.py ACCUMBENCH SOURCE_DIR WORK_DIR — scripts/gpu_validation_summary.py
on a tarball shaped as a GPU machine's validate.sh leaves it, with real data made here on the CPU:

- validate.sh itself (scripts/gpu-bundle-validate.sh in a stand-in bundle whose bin/accumbench
  is ACCUMBENCH) runs without a GPU: its summary.txt and tarball are the real format;
- into that tarball go what the GPU parts would have added: runs/<model>-<strategy>.json from
  `run --json` (CPU), a gpu-smoke/ sweep (CPU, 2 repeats), and a gpu-peer/ results set whose
  torch rows are the accumbench rows with half the throughput (so every ratio is 2.00);
- the page must carry each part's row of summary.txt, each run's step time and throughput as
  the JSON has them, each smoke configuration's median over its repeats and retain/accumulate
  tracked-peak ratio computed here from results.csv, the 2.00 ratios, and links to plots that
  `accumbench report` redrew (gnuplot is required, as for the report tests);
- bad arguments: exit 2 with one stderr line."""
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile

ACCUMBENCH, SRC, WORK = (os.path.abspath(a) for a in sys.argv[1:4])
SUMMARY = os.path.join(SRC, "scripts", "gpu_validation_summary.py")
failures = 0


def check(name, ok):
    global failures
    print(("ok   " if ok else "FAIL ") + name)
    failures += not ok


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, **kw)


def validate_without_gpu():
    """Runs validate.sh in a stand-in bundle; returns the tarball's unpacked folder."""
    bundle = os.path.join(WORK, "bundle")
    os.makedirs(os.path.join(bundle, "bin"))
    shutil.copy(os.path.join(SRC, "scripts", "gpu-bundle-validate.sh"), os.path.join(bundle, "validate.sh"))
    os.symlink(ACCUMBENCH, os.path.join(bundle, "bin", "accumbench"))
    p = run(os.path.join(bundle, "validate.sh"), os.path.join(WORK, "out"))
    check(f"validate.sh without a GPU: exit 2 (got {p.returncode}: {p.stderr.strip()})", p.returncode == 2)
    tree = os.path.join(WORK, "tree")
    with tarfile.open(os.path.join(WORK, "out", "validation.tar.gz")) as t:
        t.extractall(tree)
    return tree


def add_runs(tree):
    os.makedirs(os.path.join(tree, "runs"))
    for s in ("full", "retain", "accumulate"):
        p = run(ACCUMBENCH, "run", "--backend", "cpu", "--model", "mlp", "--hidden", "32", "--micro-batch", "4",
                "--iter-size", "2", "--strategy", s, "--warmup", "1", "--min-steps", "3", "--max-steps", "3", "--json",
                "--out", os.path.join(tree, "runs", f"mlp-{s}"))
        with open(os.path.join(tree, "runs", f"mlp-{s}.json"), "w") as f:
            f.write(p.stdout)


def add_sweeps(tree):
    profile = os.path.join(WORK, "smoke.profile")
    with open(profile, "w") as f:
        f.write("backend = cpu\nengines = accumbench\nmodels = mlp\nhidden = 32\nlayers = 2\n"
                "strategies = full, retain, accumulate\nmicro_batch = 32\niter_size = 1, 4\nrepeat = 2\n"
                "warmup = 1\nmin_steps = 3\nmax_steps = 3\n")
    smoke = os.path.join(tree, "gpu-smoke")
    p = run(ACCUMBENCH, "sweep", "--profile", profile, "--out", smoke)
    check(f"the CPU stand-in for gpu-smoke ran (exit {p.returncode})", p.returncode == 0)
    peer = os.path.join(tree, "gpu-peer")
    shutil.copytree(smoke, peer)
    with open(os.path.join(smoke, "results.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    torch = [dict(r, engine="torch", samples_per_s=repr(float(r["samples_per_s"]) / 2)) for r in rows]
    with open(os.path.join(peer, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows + torch)
    return rows


def pack(tree):
    tarball = os.path.join(WORK, "validation.tar.gz")
    with tarfile.open(tarball, "w:gz") as t:
        t.add(tree, arcname=".")
    return tarball


def table_rows(doc, first_cell):
    return [[c.strip() for c in line.strip("|").split("|")] for line in doc.splitlines()
            if line.startswith(f"| {first_cell}")]


def check_parts(doc, tree):
    with open(os.path.join(tree, "summary.txt")) as f:
        parts = [l.split(None, 4) for l in f if l.split()[:1] and l.split()[0] in
                 ("info", "ops", "model", "runs", "memcheck", "smoke", "peer")]
    check(f"summary.txt lists the 7 parts (got {len(parts)})", len(parts) == 7)
    for p in parts:
        check(f"page: part {p[0]} {p[1]}", f"| {p[0]} | {p[1]} | {p[2]} | {p[3]} |" in doc)


def check_runs(doc, tree):
    rows = {r[1]: r for r in table_rows(doc, "mlp")}
    for s in ("full", "retain", "accumulate"):
        with open(os.path.join(tree, "runs", f"mlp-{s}.json")) as f:
            j = json.loads(f.read())
        r = rows.get(s, [""] * 5)
        check(f"page: run mlp {s}: step {j['step_median_ns'] / 1e6:.2f} ms, {j['samples_per_s']:.1f} samples/s",
              r[2:5] == [j["status"], f"{j['step_median_ns'] / 1e6:.2f}", f"{j['samples_per_s']:.1f}"])
        with open(os.path.join(tree, "runs", f"mlp-{s}", "kernels.csv"), newline="") as f:
            top = max(csv.DictReader(f), key=lambda k: float(k["total_ns"]))
        want = f"- mlp-{s}: {top['phase']} {top['name'][:80]} {float(top['share']):.0%}"
        check(f"page: top op of mlp {s} first ({want})", want in doc)


def check_smoke(doc, rows):
    groups = {}
    for r in rows:
        groups.setdefault((r["strategy"], r["micro_batch"], r["iter_size"]), []).append(r)
    page = {(r[2], r[1]): r for r in table_rows(doc, "accumbench")}
    for (s, m, k), rs in sorted(groups.items()):
        want = f"{statistics.median(float(r['samples_per_s']) for r in rs):.1f}"
        got = page.get((s, f"mlp m={m} k={k}"), [""] * 5)
        check(f"page: smoke mlp m={m} k={k} {s}: {len(rs)} runs, median {want} samples/s (got {got[3:5]})",
              got[3:5] == [str(len(rs)), want])
        acc = groups.get(("accumulate", m, k))
        if s == "retain" and acc:
            ratio = (statistics.median(float(r["mem_tracked_bytes"]) for r in rs) /
                     statistics.median(float(r["mem_tracked_bytes"]) for r in acc))
            check(f"page: retain / accumulate tracked peak at m={m} k={k}: {ratio:.2f}",
                  f"accumbench mlp m={m} k={k}: retain / accumulate tracked peak {ratio:.2f}" in doc)
    n = doc.count("accumbench / torch samples/s 2.00")
    check(f"page: accumbench / torch 2.00 for each of the {len(groups)} peer configurations (got {n})", n == len(groups))


def check_plots(doc, docdir):
    plots = os.path.join(docdir, "gpu-validation", "gpu-smoke", "plots")
    svgs = sorted(f for f in os.listdir(plots) if f.endswith(".svg")) if os.path.isdir(plots) else []
    check(f"accumbench report redrew the smoke plots ({len(svgs)} SVGs; needs gnuplot)", len(svgs) > 0)
    check("page links every smoke SVG", all(f"(gpu-validation/gpu-smoke/plots/{f})" in doc for f in svgs))
    check("report.html redrawn", os.path.exists(os.path.join(docdir, "gpu-validation", "gpu-smoke", "report.html")))


def check_bad_input(tarball, docdir):
    good_doc = os.path.join(docdir, "bad.md")
    for args, what in (([os.path.join(WORK, "missing.tar.gz"), "--doc", good_doc, "--accumbench", ACCUMBENCH],
                        "a missing tarball"),
                       ([tarball, "--doc", os.path.join(docdir, "x.txt"), "--accumbench", ACCUMBENCH],
                        "--doc not .md"),
                       ([tarball, "--doc", good_doc, "--accumbench", os.path.join(WORK, "nothing")],
                        "no accumbench")):
        p = run(sys.executable, SUMMARY, *args)
        check(f"{what}: exit 2, one stderr line (got {p.returncode}: {p.stderr.strip()})",
              p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1)


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    tree = validate_without_gpu()
    add_runs(tree)
    rows = add_sweeps(tree)
    tarball = pack(tree)
    docdir = os.path.join(WORK, "docs")
    os.makedirs(docdir)
    doc_path = os.path.join(docdir, "gpu-validation.md")
    p = run(sys.executable, SUMMARY, tarball, "--doc", doc_path, "--accumbench", ACCUMBENCH)
    check(f"gpu_validation_summary.py: exit 0 (got {p.returncode}: {p.stderr.strip()})", p.returncode == 0)
    with open(doc_path) as f:
        doc = f.read()
    check_parts(doc, tree)
    check_runs(doc, tree)
    check_smoke(doc, rows)
    check_plots(doc, docdir)
    check_bad_input(tarball, docdir)
    print(f"{failures} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
