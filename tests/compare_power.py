#!/usr/bin/env python3
"""tests/compare_power.py — what `accumbench compare` calls on real recorded
sweeps: its power against a known slowdown and its quiet in an A/A pair.

Fixtures (tests/fixtures/compare/, see its README): results.csv of real
`sweep --profile quick` runs of one build (63 configurations), trimmed to the
columns compare reads — quick3-a and quick3-b with 3 repeats (an A/A pair:
two sweeps one after the other), quick5 with 5 repeats (nightly's count).

The power targets of the design's "Comparing runs" hold for configurations
whose processes agree. These fixtures were recorded on a machine shared with
other builds, where many configurations' repeats spread by 5-30%, and no
test on 3 or 5 processes tells 10% from that. So each figure is printed over
all 63 configurations and asserted over the stable ones: spread of the repeat
medians (max - min) / median <= 5%, the design's `unstable` line for the
quick profile (max(2 x noise 0.02, 5%)):
  - power, 10% with 3 repeats: quick3-a against itself with every repeat's
    step_median_ns x 1.10 (the per-step data scaled moves each process's
    median by exactly that): >= 95% of the stable configurations are
    regressions;
  - power, 5% with 5 repeats: quick5 against itself x 1.05: >= 80%;
  - both: no memory change and nothing missing or failed.
A/A (quick3-a against quick3-b) is a benchmark result of the machine it was
recorded on, printed: how many configurations are called a regression or an
improvement (the design's target, at most 1 of 63, is for a quiet machine).
Asserted: no memory figure is called in the A/A pair — the computed ones are
equal, and the measured RSS of the same build stays within its threshold.
It also prints the power against an independent sweep (quick3-b x 1.10
against quick3-a), where the noise of both sides counts. Deterministic: the
fixtures are fixed and compare has no randomness.
Usage: compare_power.py ACCUMBENCH FIXTURE_DIR WORKDIR"""
import csv
import json
import os
import shutil
import subprocess
import sys

bin_, fixtures, work = sys.argv[1], sys.argv[2], sys.argv[3]
failures = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        failures.append(msg)


STABLE_SPREAD = 0.05


def stable_names(js, side):
    """configurations whose step-time repeats on `side` ("base", "new") spread
    by at most STABLE_SPREAD"""
    out = set()
    for c in js["configurations"]:
        for m in c["metrics"]:
            if m["metric"] == "step_ns" and m["spread_" + side] is not None and m["spread_" + side] <= STABLE_SPREAD:
                out.add(c["name"])
    return out


def scaled(name, factor):
    """a copy of fixture `name` with every step_median_ns times factor"""
    dst = os.path.join(work, f"{name}-x{factor}")
    os.makedirs(dst, exist_ok=True)
    with open(os.path.join(fixtures, name, "results.csv"), newline="") as f:
        rows = list(csv.reader(f))
    col = rows[0].index("step_median_ns")
    for r in rows[1:]:
        if r[col]:
            r[col] = repr(float(r[col]) * factor)
    with open(os.path.join(dst, "results.csv"), "w", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(rows)
    return dst


def compare(base, new, tag):
    out = os.path.join(work, tag + ".json")
    p = subprocess.run([bin_, "compare", base, new, "--json", out], capture_output=True, text=True)
    if p.returncode not in (0, 1):
        check(False, f"{tag}: compare exit {p.returncode}: {p.stderr.strip()}")
        return None
    return json.load(open(out))


def summary(js, names=None):
    """(configurations, called regression, called improvement, inconclusive)
    over the configurations named (all when None)"""
    conf = [c["verdict"] for c in js["configurations"] if names is None or c["name"] in names]
    return len(conf), conf.count("regression"), conf.count("improvement"), conf.count("inconclusive")


def power(name, factor, want, label):
    js = compare(os.path.join(fixtures, name), scaled(name, factor), f"power-{name}")
    if js is None:
        return
    stable = stable_names(js, "base")
    n, reg, _, inc = summary(js)
    ns, regs, _, _ = summary(js, stable)
    print(f"  {label}: {reg} of {n} configurations flagged ({100 * reg / n:.1f}%), {inc} inconclusive; "
          f"of the {ns} stable ones {regs} flagged")
    check(n == 63 and ns > 0 and regs >= want * ns,
          f"{label}: {regs} of {ns} stable configurations flagged, want >= {100 * want:.0f}%")
    mem_same = all(m["verdict"] == "same" for c in js["configurations"] for m in c["metrics"]
                   if m["metric"] != "step_ns")
    check(mem_same and not any(c["verdict"] in ("missing", "failed") for c in js["configurations"]),
          f"{label}: no memory change, none missing or failed")


shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
power("quick3-a", 1.10, 0.95, "power, x1.10, 3 repeats")
power("quick5", 1.05, 0.80, "power, x1.05, 5 repeats")

js = compare(os.path.join(fixtures, "quick3-a"), os.path.join(fixtures, "quick3-b"), "aa")
if js is not None:
    stable = stable_names(js, "base") & stable_names(js, "new")
    n, reg, imp, inc = summary(js)
    ns, regs, imps, _ = summary(js, stable)
    print(f"  A/A quick3-a vs quick3-b (a benchmark result of the recording machine): {reg + imp} of {n} called "
          f"a regression or an improvement, {inc} inconclusive, median change {100 * js['step_change_median']:+.1f}%; "
          f"of the {ns} stable in both, {regs + imps} called")
    called_mem = [(c["config"], m["metric"]) for c in js["configurations"] for m in c["metrics"]
                  if m["metric"] != "step_ns" and m["verdict"] != "same"]
    check(n == 63 and not called_mem and not any(c["verdict"] in ("missing", "failed") for c in js["configurations"]),
          f"A/A: 63 configurations, no memory figure called ({called_mem[:3]})")

js = compare(os.path.join(fixtures, "quick3-a"), scaled("quick3-b", 1.10), "independent")
if js is not None:
    n, reg, _, _ = summary(js)
    print(f"  (not asserted) quick3-b x1.10 against quick3-a: {reg} of {n} flagged")

print(f"{len(failures)} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
