#!/usr/bin/env python3
"""tests/sweep_extra.py — `repeat_max`: extra rounds for configurations whose
repeats disagree, on the CPU backend.

A sweep of three tiny configurations with repeat = 3 runs; then its
fragments' step medians are rewritten so that configuration A's repeats
disagree (1000, 1500, 2000 ns: spread 100%), B's disagree as much but one
of them did not end ok (status error), and C's agree (spread 0.2%). With
repeat_max raised to 4 in the directory's saved profile, --resume --dry-run
lists the repeat-3 runs as `extra`, and --resume runs exactly A's repeat 3:
results.csv then has 10 rows and meta.json counts 10 runs. A second
--resume with nothing left to decide runs nothing. A sweep with calm_wait
records the CPUs' round trip in meta.json, and none under one CPU; a run
that counts as disturbed by a slow spell (the test hook) runs again at the
end of its round, and results.csv keeps only the second run. `time_budget`:
a --resume whose budget is spent before its first run leaves A's extra
repeat out (meta.json counts it, 9 rows stay), and a disturbed run past the
budget is kept, not run again.

Usage: sweep_extra.py ACCUMBENCH WORKDIR"""
import csv, io, json, os, re, shutil, subprocess, sys

bin_, work = sys.argv[1], sys.argv[2]
failures = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg, flush=True)
    if not cond:
        failures.append(msg)


def sweep(*args):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    return subprocess.run([bin_, "sweep", *args], capture_output=True, text=True, env=env, timeout=120)


def rewrite_fragment(path, **cells):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    for k, v in cells.items():
        rows[1][head.index(k)] = v
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    with open(path, "w", newline="") as f:
        f.write(buf.getvalue())


shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
prof = os.path.join(work, "extra.profile")
with open(prof, "w") as f:
    f.write("backend = cpu\nmodels = mlp\ninput_dim = 32\nhidden = 16\nlayers = 1\nstrategies = accumulate\n"
            "micro_batch = 2, 4, 8\niter_size = 1\nrepeat = 3\nwarmup = 1\nmin_steps = 3\nmax_steps = 3\n"
            "min_time = 0\ntimeout = 60\n")
out = os.path.join(work, "out")
p = sweep("--profile", prof, "--out", out)
check(p.returncode == 0, f"first sweep: exit 0 (got {p.returncode}: {p.stderr[-300:]!r})")

frag = os.path.join(out, "fragments")
ids = {}
for d in sorted(os.listdir(frag)):
    with open(os.path.join(frag, d, "results.csv"), newline="") as f:
        r = next(csv.DictReader(f))
    ids.setdefault(r["micro_batch"], d.rsplit("-r", 1)[0])
check(sorted(ids) == ["2", "4", "8"] and len(os.listdir(frag)) == 9, "9 fragments, 3 configurations")
a, b, c = ids["2"], ids["4"], ids["8"]
for cfg, medians in ((a, (1000, 1500, 2000)), (b, (1000, 1500, 2000)), (c, (1000, 1001, 1002))):
    for r, m in enumerate(medians):
        rewrite_fragment(os.path.join(frag, f"{cfg}-r{r}", "results.csv"), step_median_ns=str(m))
rewrite_fragment(os.path.join(frag, f"{b}-r1", "results.csv"), status="error")

saved = os.path.join(out, "profile.txt")
with open(saved) as f:
    text = f.read()
with open(saved, "w") as f:
    f.write(text + "repeat_max = 4\n")

spent = os.path.join(work, "out-budget")
shutil.copytree(out, spent)
with open(os.path.join(spent, "profile.txt"), "a") as f:
    f.write("time_budget = 0.000001\n")

p = sweep("--resume", out, "--dry-run")
lines = [l.split("\t") for l in p.stdout.splitlines()]
extra = sorted(l[0] for l in lines if l[1] == "extra")
check(p.returncode == 0 and extra == sorted(f"{x}-r3" for x in (a, b, c)),
      f"--dry-run: each configuration's repeat 3 is listed as extra: {extra}")

p = sweep("--resume", out)
ran = sorted(d for d in os.listdir(frag) if d.endswith("-r3"))
check(p.returncode == 0 and ran == [f"{a}-r3"],
      f"--resume ran only the configuration whose ok repeats disagree: {ran} (exit {p.returncode})")
with open(os.path.join(out, "results.csv"), newline="") as f:
    res = list(csv.DictReader(f))
check(len(res) == 10 and sum(r["repeat"] == "3" for r in res) == 1, f"results.csv: 10 rows, one repeat 3 ({len(res)})")
with open(os.path.join(out, "meta.json")) as f:
    meta = json.load(f)
prof_meta = meta.get("profile", meta)
check(prof_meta.get("repeat_max") == 4 and prof_meta.get("runs") == 10,
      f"meta.json: repeat_max 4, 10 runs ({prof_meta.get('repeat_max')}, {prof_meta.get('runs')})")
check("[10/10]" in p.stderr, "progress counts the extra run into the plan: [10/10]")

p = sweep("--resume", out)
check(p.returncode == 0 and "10 of 10 runs done" in p.stdout and not any(d.endswith("-r4") for d in os.listdir(frag)),
      f"a second --resume has nothing to run: {p.stdout.strip()!r}")

# the same --resume with its time budget spent before it starts: A's extra
# repeat is left out and counted
p = sweep("--resume", spent)
with open(os.path.join(spent, "meta.json")) as f:
    prof_meta = json.load(f)["profile"]
tb = prof_meta.get("time_budget", {})
with open(os.path.join(spent, "results.csv"), newline="") as f:
    res = list(csv.DictReader(f))
check(p.returncode == 0 and not any(d.endswith("-r3") for d in os.listdir(os.path.join(spent, "fragments")))
      and len(res) == 9 and prof_meta.get("runs") == 9 and tb.get("extra_runs_left_out") == 1
      and tb.get("reached_at_s") is not None and tb.get("limit_s") == 1e-6 and "9 of 9 runs done" in p.stdout,
      f"time budget spent: the extra repeat left out and counted ({tb}, {len(res)} rows, {p.stdout.strip()!r})")

# calm_wait: the probe before each run finds the CPUs' round trip (a
# nanosecond figure, not a timeout's) and the sweep records it; with one CPU
# there is nothing to probe and nothing is waited for
calm = os.path.join(work, "calm.profile")
with open(calm, "w") as f:
    f.write("backend = cpu\nmodels = mlp\ninput_dim = 32\nhidden = 16\nlayers = 1\nstrategies = accumulate\n"
            "micro_batch = 2\niter_size = 1\nrepeat = 2\nwarmup = 1\nmin_steps = 3\nmax_steps = 3\n"
            "min_time = 0\ncalm_wait = 5\n")


def calm_sweep(name, cpus=None, hook=None, also=""):
    """the calm profile (with the lines `also`) swept into work/NAME (on CPU
    list cpus, with the test hook): the process, meta.json's profile object,
    results.csv's rows"""
    d = os.path.join(work, name)
    prof = calm
    if also:
        prof = os.path.join(work, name + ".profile")
        with open(calm) as f, open(prof, "w") as g:
            g.write(f.read() + also)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    if hook:
        env["ACCUMBENCH_SWEEP_TEST_CHILD"] = hook
    cmd = (["taskset", "-c", cpus] if cpus else []) + [bin_, "sweep", "--profile", prof, "--out", d]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    with open(os.path.join(d, "meta.json")) as f:
        prof_meta = json.load(f)["profile"]
    with open(os.path.join(d, "results.csv"), newline="") as f:
        return p, prof_meta, list(csv.DictReader(f))


for cpus, what in ((None, "two CPUs"), ("0", "one CPU")):
    p, prof_meta, _ = calm_sweep("calm-" + (cpus or "all"), cpus)
    c = prof_meta.get("calm", {})
    best = c.get("best_round_trip_ns")
    if cpus:
        check(p.returncode == 0 and best is None and c.get("waited_s", 1) < 1 and c.get("wait_limit_s") == 5,
              f"calm_wait on {what}: nothing to probe, nothing waited ({c})")
    else:
        runs = prof_meta["runs"]
        check(p.returncode == 0 and best is not None and 1 < best < 1e6
              and 0 <= c.get("runs_again", -1) <= c.get("runs_disturbed", -1) and runs == 2,
              f"calm_wait on {what}: the round trip is measured, runs run again counted ({c}, {runs} runs)")

# a disturbed run: the first child counts as one (hook), so it runs again
# before round 1; the machine may add more of its own
p, prof_meta, res = calm_sweep("calm-disturbed", hook="disturb:1")
c = prof_meta.get("calm", {})
order = [l for l in p.stderr.splitlines() if l.startswith("[")]
check(p.returncode == 0 and c.get("runs_again", 0) >= 1 and c.get("runs_disturbed", 0) >= c.get("runs_again", 0)
      and prof_meta.get("runs") == 2,
      f"disturbed run: run again and counted ({c}, runs {prof_meta.get('runs')}, exit {p.returncode})")
r0 = [i for i, l in enumerate(order) if re.search(r" r0(:|$)", l)]
r1 = [i for i, l in enumerate(order) if re.search(r" r1(:|$)", l)]
check(len(r0) >= 2 and r1 and " again " in order[r0[0]] and order[r0[-1]].split()[1] == "ok" and r0[-1] < r1[0],
      f"disturbed run: repeat 0 again, before repeat 1 ({order})")
check(sorted(r["repeat"] for r in res) == ["0", "1"] and all(r["status"] == "ok" for r in res),
      f"results.csv: one ok row per repeat ({[(r['repeat'], r['status']) for r in res]})")

# past the time budget a disturbed run is kept: none run again
p, prof_meta, res = calm_sweep("calm-budget", hook="disturb:1", also="time_budget = 0.000001\n")
c, tb = prof_meta.get("calm", {}), prof_meta.get("time_budget", {})
check(p.returncode == 0 and c.get("runs_again") == 0 and tb.get("disturbed_runs_kept", 0) >= 1
      and c.get("runs_disturbed") == tb.get("disturbed_runs_kept") and prof_meta.get("runs") == 2
      and "kept: the time budget is spent" in p.stderr,
      f"time budget spent: the disturbed run kept, none run again ({c}, {tb})")
check(sorted(r["repeat"] for r in res) == ["0", "1"] and all(r["status"] == "ok" for r in res),
      f"time budget spent: one ok row per repeat ({[(r['repeat'], r['status']) for r in res]})")


def summary_of(name):
    d = os.path.join(work, name)
    subprocess.run([bin_, "report", d], capture_output=True, check=True, timeout=120)
    with open(os.path.join(d, "summary.md")) as f:
        return f.read()


# the report says what the sweep did: spells waited out, runs run again, the budget
text = summary_of("calm-budget")
check(re.search(r"Time budget: 1e-06 s, spent at 0 s; 0 extra repeats left out and %d runs? a slow spell caught kept"
                % tb.get("disturbed_runs_kept", -1), text) is not None,
      f"summary.md: the budget spent and the disturbed run kept ({[l for l in text.splitlines() if 'budget' in l]})")
with open(os.path.join(work, "calm-disturbed", "meta.json")) as f:
    again = json.load(f)["profile"]["calm"]["runs_again"]
text = summary_of("calm-disturbed")
check(re.search(r"Slow spells: the sweep waited \d+ s for the machine to leave them and ran %d runs? again" % again,
                text) is not None and "Time budget" not in text,
      f"summary.md: {again} run(s) run again, no budget ({[l for l in text.splitlines() if 'spell' in l]})")

print(f"{len(failures)} failure(s)" if failures else "all passed")
sys.exit(1 if failures else 0)
