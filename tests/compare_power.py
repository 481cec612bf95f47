#!/usr/bin/env python3
"""tests/compare_power.py — what `accumbench compare` calls on real recorded
sweeps: its power against a known slowdown and its quiet in an A/A pair.

Fixtures (tests/fixtures/compare/, see its README): results.csv of real
`sweep --profile quick` runs of one build (63 configurations), trimmed to the
columns compare reads — quick3-a and quick3-b with 3 repeats (an A/A pair:
two sweeps one after the other), quick5 with 5 repeats (nightly's count).

Checks (the design's "Comparing runs"):
  - power, 10% with 3 repeats: quick3-a against itself with every repeat's
    step_median_ns x 1.10 (the per-step data scaled moves each process's
    median by exactly that): >= 95% of the configurations are regressions;
  - power, 5% with 5 repeats: quick5 against itself x 1.05: >= 80%;
  - A/A: quick3-a against quick3-b: at most 1 configuration is called a
    regression or an improvement;
  - nothing is missing or failed, and the scaled copies change no memory.
It also prints, without asserting them, the power against an independent
sweep (quick3-b x 1.10 against quick3-a), where the noise of both sides
counts. Deterministic: the fixtures are fixed and compare has no randomness.
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


def verdicts(js):
    """configuration verdicts, and the step-time verdicts"""
    conf = [c["verdict"] for c in js["configurations"]]
    step = [m["verdict"] for c in js["configurations"] for m in c["metrics"] if m["metric"] == "step_ns"]
    return conf, step


def power(name, factor, want, label):
    js = compare(os.path.join(fixtures, name), scaled(name, factor), f"power-{name}")
    if js is None:
        return
    conf, step = verdicts(js)
    flagged = sum(v == "regression" for v in conf)
    mem_same = all(m["verdict"] == "same" for c in js["configurations"] for m in c["metrics"]
                   if m["metric"] != "step_ns")
    print(f"  {label}: {flagged} of {len(conf)} configurations flagged "
          f"({100 * flagged / len(conf):.1f}%); step time: {step.count('regression')} regression, "
          f"{step.count('inconclusive')} inconclusive, {step.count('same')} same")
    check(len(conf) == 63 and flagged >= want * len(conf),
          f"{label}: {flagged} of {len(conf)} flagged, want >= {100 * want:.0f}%")
    check(mem_same and not any(v in ("missing", "failed") for v in conf), f"{label}: no memory change, none missing")


shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
power("quick3-a", 1.10, 0.95, "power, x1.10, 3 repeats")
power("quick5", 1.05, 0.80, "power, x1.05, 5 repeats")

js = compare(os.path.join(fixtures, "quick3-a"), os.path.join(fixtures, "quick3-b"), "aa")
if js is not None:
    conf, step = verdicts(js)
    called = sum(v in ("regression", "improvement") for v in conf)
    print(f"  A/A quick3-a vs quick3-b: {called} of {len(conf)} called a regression or an improvement; "
          f"{conf.count('inconclusive')} inconclusive, {conf.count('same')} same")
    check(len(conf) == 63 and called <= 1, f"A/A: {called} of {len(conf)} called, want <= 1")

js = compare(os.path.join(fixtures, "quick3-a"), scaled("quick3-b", 1.10), "independent")
if js is not None:
    conf, _ = verdicts(js)
    print(f"  (not asserted) quick3-b x1.10 against quick3-a: {conf.count('regression')} of {len(conf)} flagged")

print(f"{len(failures)} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
