#!/usr/bin/env python3
"""tests/compare_power.py — what `accumbench compare` calls on real recorded
sweeps: its power against a known slowdown and its quiet in an A/A pair.

Fixtures (tests/fixtures/compare/, see its README): results.csv of real
`sweep` runs of one build (66 configurations of the quick profile), trimmed
to the columns compare reads — quick-a and quick-b as shipped (4 repeats,
up to 6 where processes disagree; an A/A pair: two sweeps one after the
other) and quick5 with the nightly profile's counts (5 repeats, up to 9).

Asserted over every configuration (the design's "Comparing runs"):
  - power with the nightly's repeats: quick5 against itself with every
    repeat's step_median_ns x 1.10 (the per-step data scaled moves each
    process's median by exactly that): >= 95% of the configurations are
    regressions; x 1.05: >= 80%;
  - power with quick's 4 repeats (up to 6), x 1.10: >= 95%. On the day
    these were recorded (processes of one configuration spread by a median
    of 5-6% beyond the slow spells the sweep runs again, and the sweep's
    time budget left 33 extra repeats out) compare flagged 64 of 66: a
    side of 4 repeats leaves its slowest process out (compare.h);
  - all three: no memory change and nothing missing or failed.
Drift (compare.h): quick-a against itself with every configuration x 0.98
(a whole sweep 2% faster, within --threshold), the three steadiest
configurations also x 0.90 and the next three x 0.965: the first three are
improvements (-11.8%, -10% against the drift), the next three (-5.4%, a
significant change beyond --threshold on its own) are withdrawn as
inconclusive (-3.5% against the drift), the rest are unchanged; and the x
1.10 power checks above are not touched by it (a 10% move is no drift).
A/A (quick-a against quick-b) is a benchmark result of the machine it was
recorded on, printed: how many configurations are called a regression or an
improvement (the design's target: at most 1). Asserted: no memory figure is
called in the A/A pair — the computed ones are equal, and the measured RSS
of the same build stays within its threshold. It also prints the power
against an independent sweep (quick-b x 1.10 against quick-a), where the
noise of both sides counts. Deterministic: the fixtures are fixed and
compare has no randomness.
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


NOT_KEY = {"repeat", "status", "steps_timed", "step_median_ns", "samples_per_s", "mem_tracked_bytes",
           "rss_delta_bytes", "mem_analytic_bytes", "error"}


def row_key(header, r):
    return tuple(v for h, v in zip(header, r) if h not in NOT_KEY)


def scaled(name, factor, tag=None, extra=None):
    """a copy of fixture `name` with every step_median_ns times factor, and
    the configurations in extra {key: f} also times f"""
    dst = os.path.join(work, tag or f"{name}-x{factor}")
    os.makedirs(dst, exist_ok=True)
    with open(os.path.join(fixtures, name, "results.csv"), newline="") as f:
        rows = list(csv.reader(f))
    col = rows[0].index("step_median_ns")
    for r in rows[1:]:
        if r[col]:
            r[col] = repr(float(r[col]) * factor * (extra or {}).get(row_key(rows[0], r), 1.0))
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


CONFIGURATIONS = 66


def summary(js):
    """(configurations, called regression, called improvement, inconclusive)"""
    conf = [c["verdict"] for c in js["configurations"]]
    return len(conf), conf.count("regression"), conf.count("improvement"), conf.count("inconclusive")


def step_metric(c):
    return next((m for m in c["metrics"] if m["metric"] == "step_ns"), None)


def power(name, factor, want, label):
    js = compare(os.path.join(fixtures, name), scaled(name, factor), f"power-{name}-x{factor}")
    if js is None:
        return
    n, reg, _, inc = summary(js)
    print(f"  {label}: {reg} of {n} configurations flagged ({100 * reg / n:.1f}%), {inc} inconclusive")
    for c in js["configurations"]:
        m = step_metric(c)
        if c["verdict"] != "regression" and m is not None:
            print(f"    not flagged: {c['config']}: {m['n_base']} repeats, spread {100 * m['spread_base']:.1f}%, "
                  f"p = {m['p_value']:.2g}")
    check(n == CONFIGURATIONS and reg >= want * n,
          f"{label}: {reg} of {n} configurations flagged, want >= {100 * want:.0f}% of {CONFIGURATIONS}")
    mem_same = all(m["verdict"] == "same" for c in js["configurations"] for m in c["metrics"]
                   if m["metric"] != "step_ns")
    check(mem_same and not any(c["verdict"] in ("missing", "failed") for c in js["configurations"]),
          f"{label}: no memory change, none missing or failed")
    check(not js["drift_removed"], f"{label}: a {100 * (factor - 1):.0f}% move is not taken for drift")


def drift():
    """quick-a x 0.98, its steadiest three x 0.90 more, the next three x 0.965"""
    path = os.path.join(fixtures, "quick-a", "results.csv")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    col, by = rows[0].index("step_median_ns"), {}
    for r in rows[1:]:
        if r[col]:
            by.setdefault(row_key(rows[0], r), []).append(float(r[col]))
    spread = sorted(by, key=lambda k: (max(by[k]) - min(by[k])) / sorted(by[k])[len(by[k]) // 2])
    faster, small = spread[:3], spread[3:6]
    extra = {**{k: 0.90 for k in faster}, **{k: 0.965 for k in small}}
    js = compare(os.path.join(fixtures, "quick-a"), scaled("quick-a", 0.98, "drift", extra), "drift")
    if js is None:
        return
    v = {tuple(c["key"].get(h) or "" for h in rows[0] if h not in NOT_KEY): c for c in js["configurations"]}
    check(js["drift_removed"] and abs(js["step_change_median"] + 0.02) < 1e-9,
          f"drift: median change -2% taken for drift ({js['drift_removed']}, {js['step_change_median']:+.4f})")
    check(all(v[k]["verdict"] == "improvement" for k in faster),
          f"drift: the three x 0.90 are improvements ({[v[k]['verdict'] for k in faster]})")
    withdrawn = [v[k] for k in small]
    check(all(c["verdict"] == "inconclusive" and step_metric(c)["p_value"] < 0.05 and
              step_metric(c)["p_value_vs_drift"] >= 0.0 and any("whole sweep moved" in n for n in c["notes"])
              for c in withdrawn),
          f"drift: the three -5.4% ones (p {[round(step_metric(c)['p_value'], 4) for c in withdrawn]}) withdrawn, "
          f"{[c['verdict'] for c in withdrawn]}")
    others = [c["verdict"] for k, c in v.items() if k not in faster and k not in small]
    check(js["calls_withdrawn_for_drift"] == 3 and others.count("improvement") == 0 and
          others.count("regression") == 0,
          f"drift: 3 calls withdrawn ({js['calls_withdrawn_for_drift']}), none of the other 60 called")


shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
power("quick5", 1.10, 0.95, "power, x1.10, 5 repeats (up to 9)")
power("quick5", 1.05, 0.80, "power, x1.05, 5 repeats (up to 9)")
power("quick-a", 1.10, 0.95, "power, x1.10, 4 repeats (up to 6)")
drift()

js = compare(os.path.join(fixtures, "quick-a"), os.path.join(fixtures, "quick-b"), "aa")
if js is not None:
    n, reg, imp, inc = summary(js)
    print(f"  A/A quick-a vs quick-b (a benchmark result of the recording machine): {reg + imp} of {n} called "
          f"a regression or an improvement, {inc} inconclusive, median change {100 * js['step_change_median']:+.1f}% "
          f"({js['calls_withdrawn_for_drift']} calls withdrawn for drift)")
    called_mem = [(c["config"], m["metric"]) for c in js["configurations"] for m in c["metrics"]
                  if m["metric"] != "step_ns" and m["verdict"] != "same"]
    broken = any(c["verdict"] in ("missing", "failed") for c in js["configurations"])
    check(n == CONFIGURATIONS and not called_mem and not broken,
          f"A/A: {CONFIGURATIONS} configurations, no memory figure called ({called_mem[:3]})")

js = compare(os.path.join(fixtures, "quick-a"), scaled("quick-b", 1.10), "independent")
if js is not None:
    n, reg, _, _ = summary(js)
    print(f"  (not asserted) quick-b x1.10 against quick-a: {reg} of {n} flagged")

print(f"{len(failures)} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
