#!/usr/bin/env python3
"""tests/compare_cli.py — `accumbench compare` and `export --format gbench`
end to end, on sweep directories assembled from real `accumbench run --out`
outputs (4 configurations x 3 repeats, CPU backend).

The process is the unit: compare reads each repeat's step_median_ns from
results.csv. Those are replaced by seeded synthetic ones (1% spread around a
per-configuration level) so that verdicts do not depend on the load of the
machine running the test; every other cell is what run wrote.

Checks: against itself -> exit 0, p = 1; two configurations slowed 10% ->
exit 1 naming exactly those (Yuen's t on the log repeat medians, p < 0.01);
+-1% noise -> 0; a 10% change that one slow process makes, or with 2 repeats
a side -> inconclusive, exit 0; a round 20% slower in NEW -> compare and
report warn that its machine changed speed; with 4 repeats a side the slowest is left
out and the same 10% is a regression; mem_tracked_bytes +10% and mem_analytic_bytes
+5% -> flagged exactly, exit 1; rss_delta_bytes +10% in every repeat ->
flagged, +2% (under the 3% floor) -> same, +10% in two of three repeats
(ranges overlap) -> inconclusive; a dropped configuration -> exit 1 (missing); a failed repeat -> exit 1;
a new configuration -> reported, exit 0; meta.json differences (driver,
cuDNN) shown beside regressions; the methods named in the table, --json and
--csv; numbers written as 1e6 / 8.0 / 2.56e2 read as 1000000 / 8 / 256;
malformed inputs -> exit 2 with one line naming file:line; no steps.csv is
fine (compare does not read it); --json/--csv parse; export: valid JSON, one
repetition per results row with unique (name, repetition_index), counters,
errors, and per configuration the mean/median/stddev/cv aggregates computed
as google/benchmark's src/statistics.cc does.
Usage: compare_cli.py ACCUMBENCH WORKDIR"""
import csv, json, os, random, re, shutil, subprocess, sys

bin_, work = sys.argv[1], sys.argv[2]
failures = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        failures.append(msg)


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)


def edit_csv(path, fn):
    """fn(header, rows) -> rows"""
    header, rows = read_csv(path)
    write_csv(path, header, fn(header, rows))


def compare(base, new, *flags):
    p = subprocess.run([bin_, "compare", base, new, *flags], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def copy(src, name):
    dst = os.path.join(work, name)
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    return dst


# ---------------------------------------------------------------------------
# BASE: 4 configurations x 3 repeats from real runs
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
configs = [(s, k) for s in ("accumulate", "retain") for k in (1, 2)]
frags = []
for s, k in configs:
    for rep in range(3):
        out = os.path.join(work, "frags", f"{s}-{k}-{rep}")
        subprocess.run([bin_, "run", "--backend", "cpu", "--input-dim", "256", "--hidden", "128", "--layers", "2",
                        "--micro-batch", "8", "--iter-size", str(k), "--strategy", s, "--warmup", "1",
                        "--min-steps", "12", "--max-steps", "12", "--out", out],
                       check=True, stdout=subprocess.DEVNULL)
        frags.append((out, rep))

base = os.path.join(work, "base")
os.makedirs(base)
rng = random.Random(7)
level = {}
for name in ("results.csv", "steps.csv"):
    header, all_rows = None, []
    for out, rep in frags:
        h, rows = read_csv(os.path.join(out, name))
        header = h
        for r in rows:
            r[h.index("repeat")] = str(rep)
            if name == "results.csv":
                key = (r[h.index("strategy")], r[h.index("iter_size")])
                lv = level.setdefault(key, 1e6 * (1 + len(level)))
                r[h.index("step_median_ns")] = "%.0f" % (lv * (1 + 0.01 * rng.gauss(0, 1)))
                # RSS of three processes 0.2% apart, so that the test sets the spread
                r[h.index("rss_delta_bytes")] = "%.0f" % (1e7 * (1 + len(level)) * (1 + 0.002 * rep))
            all_rows.append(r)
    write_csv(os.path.join(base, name), header, all_rows)
meta = {"schema_version": 1, "host": "rig", "git": {"commit": "1111111", "dirty": False},
        "device": {"name": "NVIDIA H100 80GB HBM3", "driver": "550.54.15", "runtime": "12.4", "cudnn": "9.1.0",
                   "cublas": "12.4.5", "clocks": {"sm_mhz": 1980}},
        "start_utc": "2026-01-01T00:00:00Z", "end_utc": "2026-01-01T00:05:00Z"}
with open(os.path.join(base, "meta.json"), "w") as f:
    json.dump(meta, f, indent=2)
rh, rrows = read_csv(os.path.join(base, "results.csv"))
check(len(rrows) == 12, f"BASE has 12 results rows ({len(rrows)})")


def scale_column(d, column, factor_fn, only=None, repeats=None):
    """multiplies results.csv's column by factor_fn() in the rows of the
    configurations `only` (all when None) and repeats `repeats`"""
    def fn(h, rows):
        si, ii, ci, ri = h.index("strategy"), h.index("iter_size"), h.index(column), h.index("repeat")
        for r in rows:
            if (only is None or (r[si], r[ii]) in only) and (repeats is None or r[ri] in repeats):
                r[ci] = "%.0f" % (float(r[ci]) * factor_fn())
        return rows
    edit_csv(os.path.join(d, "results.csv"), fn)


def verdicts_of(js):
    return {c["key"]["strategy"] + "/" + c["key"]["iter_size"]: c["verdict"] for c in js["configurations"]}


def metric(js, config, name):
    c = next(c for c in js["configurations"] if c["key"]["strategy"] + "/" + c["key"]["iter_size"] == config)
    return next(m for m in c["metrics"] if m["metric"] == name)


# ---------------------------------------------------------------------------
# compare: step time
rc, out, err = compare(base, base, "--json", os.path.join(work, "self.json"), "--csv", os.path.join(work, "self.csv"))
check(rc == 0, f"against itself: exit {rc} (want 0) {err.strip()}")
check("0 regressions" in out.splitlines()[-1], f"summary line: {out.splitlines()[-1]!r}")
check("Yuen's t-test on their logs trimmed 20% a side" in out and "repeats' medians (one per process)" in out,
      "the table names the step-time method")
js = json.load(open(os.path.join(work, "self.json")))
names = {c["key"]["strategy"] + "/" + c["key"]["iter_size"]: c["config"] for c in js["configurations"]}
check(len(js["configurations"]) == 4 and all(c["verdict"] == "same" for c in js["configurations"]),
      "self: 4 configurations, all same")
check(all(m["p_value"] == 1 and m["test"] == "yuen_t_log_repeat_medians" and m["n_base"] == 3 == m["n_new"]
          for c in js["configurations"] for m in c["metrics"] if m["metric"] == "step_ns"),
      "self: p = 1 from the t-test on 3 repeat medians a side")
check(js["step_change_median"] == 0, f"self: median change over configurations 0 ({js['step_change_median']})")
check("Yuen's t-test" in js["method"]["step_time"] and "exactly" in js["method"]["memory"]
      and js["min_repeats"] == 3, f"--json names the methods: {js['method']}")
ch, crows = read_csv(os.path.join(work, "self.csv"))
check(len(crows) == 4 and "new_step_ns" in ch and "verdict" in ch, "--csv: one row per configuration")
check(all(r[ch.index("step_test")] == "yuen_t_log_repeat_medians" for r in crows), "--csv names the step-time test")

check(js["base_round_span"] < 1.05 and js["new_round_span"] < 1.05 and "changed speed" not in out,
      f"self: rounds steady ({js['base_round_span']:.3f}), no warning")

# a sweep whose machine ran 20% slower for one round: compare and report say so
unsteady = copy(base, "unsteady")
scale_column(unsteady, "step_median_ns", lambda: 1.20, None, {"1"})
rc, out, err = compare(base, unsteady, "--json", os.path.join(work, "unsteady.json"))
js = json.load(open(os.path.join(work, "unsteady.json")))
check(abs(js["new_round_span"] - 1.20) < 0.03 and "NEW's machine changed speed by 2" in out
      and "BASE's machine" not in out,
      f"unsteady NEW: round span {js['new_round_span']:.3f}, the warning names NEW")
p = subprocess.run([bin_, "report", unsteady], capture_output=True, text=True)
with open(os.path.join(unsteady, "summary.md")) as f:
    text = f.read()
check(p.returncode == 0 and re.search(r"The machine's speed moved by 2\d% between rounds", text) is not None,
      f"report on the unsteady sweep says so (exit {p.returncode})")
p = subprocess.run([bin_, "report", base], capture_output=True, text=True)
with open(os.path.join(base, "summary.md")) as f:
    text = f.read()
check(p.returncode == 0 and "the machine kept its speed through the sweep" in text,
      "report on the steady sweep: rounds within a few percent")

slow = copy(base, "slow")
slowed = {("retain", "1"), ("accumulate", "2")}
scale_column(slow, "step_median_ns", lambda: 1.10, slowed)
meta2 = json.loads(json.dumps(meta))
meta2["device"]["driver"] = "555.42.02"
meta2["device"]["cudnn"] = "9.3.0"
meta2["start_utc"] = "2026-01-02T00:00:00Z"
with open(os.path.join(slow, "meta.json"), "w") as f:
    json.dump(meta2, f)
rc, out, err = compare(base, slow, "--json", os.path.join(work, "slow.json"))
check(rc == 1, f"10% slower: exit {rc} (want 1)")
js = json.load(open(os.path.join(work, "slow.json")))
check(verdicts_of(js) == {"accumulate/1": "same", "accumulate/2": "regression", "retain/1": "regression",
                          "retain/2": "same"}, f"10% slower: verdicts {verdicts_of(js)}")
reg_lines = [l for l in out.splitlines() if "**regression**" in l]
for s, k in sorted(slowed):
    name = names[f"{s}/{k}"]
    check(any(l.startswith(f"| {name} | step time") for l in reg_lines), f"10% slower: {name} named as a regression")
check(not any(names["accumulate/1"] + " |" in l or names["retain/2"] + " |" in l for l in reg_lines),
      "10% slower: the other configurations are not")
check(all("550.54.15 → 555.42.02" in l and "9.1.0 → 9.3.0" in l for l in reg_lines),
      "meta: driver and cuDNN changes beside each regression")
check("start_utc" not in out, "meta: start time not reported as a change")
check("- device.driver: 550.54.15 → 555.42.02" in out, "meta: environment list")
check(any("device.cudnn: 9.1.0 → 9.3.0" in x for c in js["configurations"] if c["regression"] for x in c["changed"]),
      "--json: changed lists cuDNN")
# 1% noise a repeat: t ~ log(1.1) / (0.01 sqrt(2/3)) ~ 12 at df 4, p ~ 3e-4
step = [metric(js, c, "step_ns") for c in ("retain/1", "accumulate/2")]
check(all(abs(m["change"] - 0.10) < 0.01 and m["p_value"] < 0.01 for m in step),
      f"10% slower: change ~ +10%, p < 0.01 ({[(round(m['change'], 4), m['p_value']) for m in step]})")

noisy = copy(base, "noisy")
nrng = random.Random(11)
scale_column(noisy, "step_median_ns", lambda: nrng.uniform(0.99, 1.01))
rc, out, err = compare(base, noisy)
check(rc == 0, f"+-1% noise: exit {rc} (want 0)")

rc, out, err = compare(base, slow, "--threshold", "15%")
check(rc == 0, f"10% slower under --threshold 15%: exit {rc} (want 0)")

# one slow process: the median moves 10% but the repeats do not support it
outlier = copy(base, "outlier")
scale_column(outlier, "step_median_ns", lambda: 1.10, {("retain", "2")}, {"0", "1"})
scale_column(outlier, "step_median_ns", lambda: 1.60, {("retain", "2")}, {"2"})
rc, out, err = compare(base, outlier, "--json", os.path.join(work, "outlier.json"))
js = json.load(open(os.path.join(work, "outlier.json")))
m = metric(js, "retain/2", "step_ns")
check(rc == 0 and verdicts_of(js)["retain/2"] == "inconclusive" and m["p_value"] >= 0.05 and m["change"] > 0.05,
      f"+10% with one process +60%: inconclusive, exit {rc} ({m['change']:+.3f}, p {m['p_value']:.3g})")
check(any("not significant" in n for c in js["configurations"] for n in c["notes"]), "outlier: a note says why")


# the same with 4 repeats a side: the slowest of 4 is left out (compare.h),
# so the spell no longer hides the 10%
def add_repeat(d, src, new, factor):
    def fn(h, rows):
        ri, ci = h.index("repeat"), h.index("step_median_ns")
        extra = [list(r) for r in rows if r[ri] == src]
        for r in extra:
            r[ri] = new
            r[ci] = "%.0f" % (float(r[ci]) * factor)
        return rows + extra
    edit_csv(os.path.join(d, "results.csv"), fn)


base4 = copy(base, "base4")
add_repeat(base4, "1", "3", 1.005)
outlier4 = copy(base4, "outlier4")
scale_column(outlier4, "step_median_ns", lambda: 1.10, {("retain", "2")}, {"0", "1", "2"})
scale_column(outlier4, "step_median_ns", lambda: 1.60, {("retain", "2")}, {"3"})
rc, out, err = compare(base4, outlier4, "--json", os.path.join(work, "outlier4.json"))
js = json.load(open(os.path.join(work, "outlier4.json")))
m = metric(js, "retain/2", "step_ns")
check(rc == 1 and verdicts_of(js)["retain/2"] == "regression" and m["n_new"] == 4 and m["p_value"] < 0.05
      and "a side of 4 without its slowest process" in js["method"]["step_time"],
      f"4 repeats, +10% with one process +60%: the slowest left out, a regression, exit {rc} "
      f"({m['change']:+.3f}, p {m['p_value']:.3g})")


def drop_repeat(d, repeat):
    edit_csv(os.path.join(d, "results.csv"), lambda h, rows: [r for r in rows if r[h.index("repeat")] != repeat])


# too few repeats: inconclusive, never a regression
two = copy(slow, "two-repeats")
drop_repeat(two, "2")
rc, out, err = compare(base, two, "--json", os.path.join(work, "two.json"))
js = json.load(open(os.path.join(work, "two.json")))
m = metric(js, "retain/1", "step_ns")
check(rc == 0 and verdicts_of(js)["retain/1"] == "inconclusive" and m["test"] == "none" and m["n_new"] == 2,
      f"10% slower with 2 repeats in NEW: inconclusive, exit {rc} ({verdicts_of(js)})")
check("inconclusive" in out.splitlines()[-1] and "4 inconclusive" in out.splitlines()[-1],
      f"2 repeats: summary counts inconclusive ({out.splitlines()[-1]})")

# ---------------------------------------------------------------------------
# compare: memory
mem = copy(base, "mem")
scale_column(mem, "mem_tracked_bytes", lambda: 1.10, {("retain", "2")})
scale_column(mem, "mem_analytic_bytes", lambda: 1.05, {("accumulate", "1")})
rc, out, err = compare(base, mem, "--json", os.path.join(work, "mem.json"))
check(rc == 1, f"memory +10%: exit {rc} (want 1)")
check(any(l.startswith(f"| {names['retain/2']} | mem_tracked_bytes") and "+10.00%" in l and "**regression**" in l
          for l in out.splitlines()), "memory +10%: flagged on mem_tracked_bytes")
js = json.load(open(os.path.join(work, "mem.json")))
check(metric(js, "accumulate/1", "mem_analytic_bytes")["verdict"] == "regression"
      and metric(js, "accumulate/1", "mem_analytic_bytes")["test"] == "exact",
      "mem_analytic_bytes +5%: a regression, compared exactly")
rc, out, err = compare(base, mem, "--mem-threshold", "20%")
check(rc == 0, f"memory +10% under --mem-threshold 20%: exit {rc} (want 0)")

rss = copy(base, "rss")
scale_column(rss, "rss_delta_bytes", lambda: 1.10, {("retain", "2")})
scale_column(rss, "rss_delta_bytes", lambda: 1.02, {("retain", "1")})
scale_column(rss, "rss_delta_bytes", lambda: 1.10, {("accumulate", "2")}, {"1", "2"})
rc, out, err = compare(base, rss, "--json", os.path.join(work, "rss.json"))
js = json.load(open(os.path.join(work, "rss.json")))
rv = {c: metric(js, c, "rss_delta_bytes")["verdict"] for c in ("retain/2", "retain/1", "accumulate/2")}
check(rc == 1 and rv == {"retain/2": "regression", "retain/1": "same", "accumulate/2": "inconclusive"},
      f"rss_delta_bytes +10% every repeat / +2% / +10% in two of three repeats: {rv}, exit {rc}")
check(metric(js, "retain/2", "rss_delta_bytes")["test"] == "repeat_ranges", "rss: judged by the repeats' ranges")

# ---------------------------------------------------------------------------
# compare: configurations and statuses
dropped = copy(base, "dropped")
for f in ("results.csv", "steps.csv"):
    edit_csv(os.path.join(dropped, f),
             lambda h, rows: [r for r in rows if (r[h.index("strategy")], r[h.index("iter_size")]) != ("accumulate", "1")])
rc, out, err = compare(base, dropped)
check(rc == 1, f"dropped configuration: exit {rc} (want 1)")
check(any(l.startswith(f"| {names['accumulate/1']} | status") and "missing" in l and "**regression**" in l
          for l in out.splitlines()), "dropped configuration: reported missing")
rc, out, err = compare(dropped, base)
check(rc == 0 and any(l.startswith(f"| {names['accumulate/1']} |") and l.rstrip().endswith("| new |")
                      for l in out.splitlines()), f"a configuration only in NEW: 'new', exit {rc}")

failed = copy(base, "failed")
def oom(h, rows):
    for r in rows:
        if (r[h.index("strategy")], r[h.index("iter_size")], r[h.index("repeat")]) == ("retain", "1", "2"):
            r[h.index("status")] = "oom"
            r[h.index("error")] = "out of memory: asked 1 MiB"
    return rows
edit_csv(os.path.join(failed, "results.csv"), oom)
rc, out, err = compare(base, failed)
check(rc == 1 and any(l.startswith(f"| {names['retain/1']} | status") and "oom (1/3 repeats)" in l
                      and "**regression**" in l for l in out.splitlines()), f"ok -> oom: regression, exit {rc}")

# numbers written differently read the same
numtext = copy(base, "numtext")
def respell(h, rows):
    for r in rows:
        for col, fmt in (("input_dim", "%.2e"), ("micro_batch", "%.1f"), ("mem_tracked_bytes", "%.6e"),
                         ("step_median_ns", "%.8e"), ("seed", "%.1f"), ("repeat", "%.0e")):
            if col in h and r[h.index(col)]:
                r[h.index(col)] = fmt % float(r[h.index(col)])
    return rows
for f in ("results.csv", "steps.csv"):
    edit_csv(os.path.join(numtext, f), respell)
h, rows = read_csv(os.path.join(numtext, "results.csv"))
check(rows[0][h.index("input_dim")] == "2.56e+02" and "e+" in rows[0][h.index("mem_tracked_bytes")],
      f"respelled cells: input_dim {rows[0][h.index('input_dim')]}, mem {rows[0][h.index('mem_tracked_bytes')]}")
rc, out, err = compare(base, numtext, "--json", os.path.join(work, "numtext.json"))
js = json.load(open(os.path.join(work, "numtext.json")))
check(rc == 0 and len(js["configurations"]) == 4 and all(c["verdict"] == "same" for c in js["configurations"]),
      f"1e6 vs 1000000: the same 4 configurations, all same (exit {rc}) {err.strip()}")
check(all(m["change"] == 0 for c in js["configurations"] for m in c["metrics"]), "1e6 vs 1000000: no change")


# malformed inputs: exit 2, one line naming file:line
def bad(name, mutate, want):
    d = copy(base, "bad-" + name)
    mutate(d)
    rc, out, err = compare(base, d)
    lines = err.strip().splitlines()
    check(rc == 2 and len(lines) == 1 and lines[0].startswith("accumbench: ") and want(d) in lines[0],
          f"malformed ({name}): exit {rc}, stderr {err.strip()!r}")


def append(path, text):
    with open(path, "a", newline="") as f:
        f.write(text)


bad("short row", lambda d: append(os.path.join(d, "results.csv"), "accumbench,cpu,mlp\r\n"),
    lambda d: os.path.join(d, "results.csv") + ":14:")
bad("unterminated quote", lambda d: append(os.path.join(d, "results.csv"), '"accumbench,cpu\r\n'),
    lambda d: os.path.join(d, "results.csv") + ":")


def median_text(d):
    def fn(h, rows):
        rows[2][h.index("step_median_ns")] = "12x"
        return rows
    edit_csv(os.path.join(d, "results.csv"), fn)


bad("step_median_ns not a number", median_text,
    lambda d: os.path.join(d, "results.csv") + ":4: column 'step_median_ns'")


def mem_text(d):
    def fn(h, rows):
        rows[4][h.index("mem_tracked_bytes")] = "lots"
        return rows
    edit_csv(os.path.join(d, "results.csv"), fn)


bad("memory not a number", mem_text, lambda d: os.path.join(d, "results.csv") + ":6: column 'mem_tracked_bytes'")
bad("no results.csv", lambda d: os.remove(os.path.join(d, "results.csv")), lambda d: os.path.join(d, "results.csv"))
bad("duplicate row", lambda d: edit_csv(os.path.join(d, "results.csv"), lambda h, rows: rows + [rows[0]]),
    lambda d: os.path.join(d, "results.csv") + ":14: the same configuration and repeat as line 2")
nosteps = copy(base, "no-steps")
os.remove(os.path.join(nosteps, "steps.csv"))
rc, out, err = compare(base, nosteps)
check(rc == 0, f"no steps.csv: compare reads only results.csv, exit {rc} {err.strip()}")
rc, out, err = compare(base, os.path.join(work, "does-not-exist"))
check(rc == 2 and len(err.strip().splitlines()) == 1 and "does-not-exist" in err, f"missing directory: exit {rc}")
rc, out, err = compare(base, base, "--threshold", "abc")
check(rc == 2 and "--threshold" in err, f"bad --threshold: exit {rc}")
p = subprocess.run([bin_, "compare", base], capture_output=True, text=True)
check(p.returncode == 2 and "two sweep directories" in p.stderr, f"one directory: exit {p.returncode}")
with open(os.path.join(copy(base, "badmeta"), "meta.json"), "w") as f:
    f.write('{"device": {"driver": "550"')
rc, out, err = compare(base, os.path.join(work, "badmeta"))
check(rc == 0 and "environment unknown: NEW" in out and "meta.json:1:" in out,
      f"truncated meta.json: a note, not a failure (exit {rc})")

# ---------------------------------------------------------------------------
# export --format gbench
gb = os.path.join(work, "gbench.json")
p = subprocess.run([bin_, "export", "--format", "gbench", failed, "--out", gb], capture_output=True, text=True)
check(p.returncode == 0, f"export: exit {p.returncode} {p.stderr.strip()}")
tool = subprocess.run([sys.executable, "-m", "json.tool", gb], capture_output=True, text=True)
check(tool.returncode == 0, f"export: python3 -m json.tool accepts it {tool.stderr.strip()}")
doc = json.load(open(gb))
bench = doc["benchmarks"]
iters = [b for b in bench if b["run_type"] == "iteration"]
aggs = [b for b in bench if b["run_type"] == "aggregate"]
check(len(iters) == 12 and len(aggs) == 16, f"export: 12 repetitions and 4 x 4 aggregates ({len(iters)}, {len(aggs)})")
pairs = {(b["name"], b["repetition_index"]) for b in iters}
check(len(pairs) == 12 and len({b["name"] for b in iters}) == 4, "export: (name, repetition_index) unique, 4 names")
check(all(b["name"].startswith("mlp/") and "/micro_batch:8/iter_size:" in b["name"] and b["run_name"] == b["name"]
          for b in iters), f"export: gbench-style names ({bench[0]['name']})")
check(sorted(b["repetition_index"] for b in iters if b["name"] == iters[0]["name"]) == [0, 1, 2]
      and all(b["repetitions"] == 3 for b in bench), "export: repetitions 3, indexes 0..2")
must = ("run_type", "iterations", "real_time", "cpu_time", "time_unit", "threads", "family_index",
        "per_family_instance_index", "run_name")
check(all(all(k in b for k in must) and b["time_unit"] == "ns" for b in bench), "export: gbench fields")
ok = [b for b in iters if not b.get("error_occurred")]
check(all(b["iterations"] == 12 and b["real_time"] == b["step_median_ns"] and b["cpu_time"] == b["real_time"]
          for b in ok), "export: iterations = steps_timed, real_time = step_median_ns, cpu_time = real_time on CPU")
check(all(isinstance(b.get(c), (int, float)) for b in ok for c in
          ("samples_per_s", "mem_tracked_bytes", "rss_delta_bytes", "mem_analytic_bytes", "step_p90_ns")),
      "export: counters present")
err_rows = [b for b in iters if b.get("error_occurred")]
check(len(err_rows) == 1 and err_rows[0]["error_message"].startswith("oom: out of memory"),
      f"export: the oom row has error_occurred ({[b.get('error_message') for b in err_rows]})")

# aggregates as google/benchmark writes them: after each run's repetitions,
# over its successful ones (src/statistics.cc: sample stddev, cv = stddev/mean)
order = [(b["run_name"], b["run_type"], b.get("aggregate_name")) for b in bench]
first = order[:7]
check([t for _, t, _ in first] == ["iteration"] * 3 + ["aggregate"] * 4 and len({n for n, _, _ in first}) == 1
      and [a for _, _, a in first[3:]] == ["mean", "median", "stddev", "cv"],
      f"export: a configuration's repetitions, then mean, median, stddev, cv ({first})")


def gb_stats(v):
    n = len(v)
    mean = sum(v) / n
    sd = (sum((x - mean) ** 2 for x in v) / (n - 1)) ** 0.5
    med = sorted(v)[n // 2] if n % 2 else (sum(v) / n if n < 3 else sum(sorted(v)[n // 2 - 1:n // 2 + 1]) / 2)
    return {"mean": mean, "median": med, "stddev": sd, "cv": sd / mean}


agg_ok = True
for name in {b["run_name"] for b in iters}:
    reps = [b for b in ok if b["run_name"] == name]
    want = gb_stats([b["real_time"] for b in reps])
    mem_want = gb_stats([b["mem_tracked_bytes"] for b in reps])
    for a in [b for b in aggs if b["run_name"] == name]:
        k = a["aggregate_name"]
        good = (a["name"] == f"{name}_{k}" and "repetition_index" not in a and a["iterations"] == len(reps)
                and a["aggregate_unit"] == ("percentage" if k == "cv" else "time")
                and abs(a["real_time"] - want[k]) <= 1e-9 * max(1.0, abs(want[k]))
                and abs(a["mem_tracked_bytes"] - mem_want[k]) <= 1e-9 * max(1.0, abs(mem_want[k])))
        if not good:
            agg_ok = False
            print(f"  {name} {k}: {a} want {want[k]}")
check(agg_ok, "export: aggregates over the ok repeats, named run_name_<stat>, counters aggregated too")
check(all(b["iterations"] == 2 for b in aggs if b["run_name"] == err_rows[0]["run_name"]),
      "export: the failed repeat is left out of its aggregates")
ctx = doc["context"]
check(all(k in ctx for k in ("date", "host_name", "executable", "num_cpus", "mhz_per_cpu", "library_build_type")),
      "export: gbench context")
check(ctx.get("device.driver") == "550.54.15" and ctx.get("device.clocks.sm_mhz") == "1980"
      and ctx["host_name"] == "rig" and ctx["date"] == "2026-01-01T00:00:00Z", "export: meta.json in the context")
text = open(gb).read()
check("NaN" not in text and "Infinity" not in text, "export: no NaN/Infinity")
one = copy(base, "one-repeat")
drop_repeat(one, "1")
drop_repeat(one, "2")
p = subprocess.run([bin_, "export", "--format", "gbench", one], capture_output=True, text=True)
check(p.returncode == 0 and all(b["run_type"] == "iteration" for b in json.loads(p.stdout)["benchmarks"]),
      "export: one repeat -> no aggregates (gbench writes none for a single run), to stdout")
p = subprocess.run([bin_, "export", "--format", "csv", base], capture_output=True, text=True)
check(p.returncode == 2 and "--format" in p.stderr, f"export --format csv: exit {p.returncode}")

print(f"{len(failures)} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
