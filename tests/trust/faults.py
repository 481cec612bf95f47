#!/usr/bin/env python3
"""tests/trust/faults.py — fault injection on the CPU backend.

  paths       an output path that cannot be created (under a regular file;
              tests run as root, so permissions would prove nothing): run
              --out, verify --dump and sweep --out each exit 2 with one
              stderr line naming the flag, print nothing, run nothing and
              create nothing.
  write_run   run --out into a directory holding an earlier run's complete
              fragment, with a write fault: results.csv.tmp a symlink to
              /dev/full (ENOSPC), a file-size limit with SIGXFSZ ignored
              (EFBIG), and the same limit with SIGXFSZ fatal (killed while
              writing). results.csv is always the earlier file, byte for
              byte, or absent in a fresh directory; an error is reported
              (exit 1 and one line naming --out, or death by SIGXFSZ); no
              temporary file is left behind by a process that survived.
  write_sweep a sweep whose results.csv rebuild fails mid-way (/dev/full
              injected at results.csv.tmp while it runs), and a sweep under
              a file-size limit (EFBIG; then SIGXFSZ fatal): results.csv read
              back throughout the sweep is always a complete table, the
              failure is reported (nonzero exit, the file named), no
              temporary file survives, and --resume finishes the sweep with
              the rows written before the fault unchanged.
  oom         OOM at every allocation of setup and one step: --mem-limit
              walks up from 1 byte, each cap set to just fit the allocation
              that failed at the previous one, so each run fails at the next
              allocation that raises the high-water mark (or at a hole of
              the reservation, stepping 256 bytes), until the run fits. Each
              run exits 3 with status oom in --json and in --out's
              results.csv, the message's numbers add up, and nothing
              crashes; every high-water point of the step's memory.csv is
              visited. Then one sweep over caps from the walk: every row's
              status and message match the single runs, and the rows around
              the oom rows are intact.

SIGKILLed and hanging sweep children are covered by tests/sweep.py (faults).

Usage: faults.py ACCUMBENCH SOURCE_DIR WORKDIR paths|write_run|write_sweep|oom"""
import csv, io, json, os, re, resource, shutil, signal, subprocess, sys, threading, time

bin_, src, work, what = sys.argv[1:5]
failures = []
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")

MLP = ["--backend", "cpu", "--model", "mlp", "--input-dim", "64", "--hidden", "32", "--layers", "1",
       "--micro-batch", "4", "--iter-size", "2", "--warmup", "0", "--min-steps", "2", "--max-steps", "2"]


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg, flush=True)
    if not cond:
        failures.append(msg)
    return cond


def fresh(name):
    path = os.path.join(work, name)
    shutil.rmtree(path, ignore_errors=True)
    return path


def run(args, limit=None, xfsz_fatal=False, **kw):
    """accumbench ARGS; limit: RLIMIT_FSIZE in bytes, with SIGXFSZ ignored
    (writes fail with EFBIG) unless xfsz_fatal (the process is killed)."""
    def pre():
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL if xfsz_fatal else signal.SIG_IGN)
    return subprocess.run([bin_, *args], capture_output=True, text=True, env=ENV, preexec_fn=pre,
                          restore_signals=False, **kw)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def tmp_files(root):
    return [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".tmp")]


def table(data):
    """header and rows of a complete CSV (every row as wide as the header,
    the last line ended), else None"""
    text = data.decode("utf-8", "replace")
    if not text.endswith("\n"):
        return None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        return None
    return rows[0], rows[1:]


def one_error_line(p, flag):
    lines = p.stderr.strip("\n").split("\n")
    return len(lines) == 1 and lines[0].startswith("accumbench: ") and flag in lines[0]


# ----------------------------------------------------------------------------

def test_paths():
    reg = os.path.join(fresh("paths"), "a-file")
    os.makedirs(os.path.dirname(reg))
    with open(reg, "w") as f:
        f.write("not a directory\n")
    prof = os.path.join(work, "paths", "p.profile")
    with open(prof, "w") as f:
        f.write("backend = cpu\nmodel = mlp\nmicro_batch = 4\nwarmup = 0\nmin_steps = 1\nmax_steps = 1\n")
    cases = [
        ("run --out", ["run", *MLP, "--out", os.path.join(reg, "out")], "--out"),
        ("run --out, deeper", ["run", *MLP, "--json", "--out", os.path.join(reg, "a", "b")], "--out"),
        ("verify --dump", ["verify", "--backend", "cpu", "--model", "mlp", "--input-dim", "64", "--hidden", "32",
                           "--micro-batch", "2", "--iter-size", "2", "--dump", os.path.join(reg, "d")], "--dump"),
        ("sweep --out", ["sweep", "--profile", prof, "--out", os.path.join(reg, "s")], "--out"),
    ]
    for name, args, flag in cases:
        t0 = time.time()
        p = run(args, timeout=60)
        took = time.time() - t0
        check(p.returncode == 2 and p.stdout == "" and one_error_line(p, flag) and "Not a directory" in p.stderr,
              f"{name} under a regular file: exit {p.returncode}, stdout {len(p.stdout)} bytes, "
              f"stderr {p.stderr.strip()!r}")
        check(read(reg) == b"not a directory\n" and sorted(os.listdir(os.path.dirname(reg))) == ["a-file", "p.profile"],
              f"{name}: nothing created, the file untouched ({took:.2f} s)")


# ----------------------------------------------------------------------------

def test_write_run():
    # an earlier complete fragment, then the same directory again with a fault
    out = fresh("write_run")
    p = run(["run", *MLP, "--out", out], timeout=120)
    check(p.returncode == 0, f"the earlier run writes its fragment (exit {p.returncode}) {p.stderr.strip()}")
    before = {f: read(os.path.join(out, f)) for f in os.listdir(out)}
    sizes = {f: len(b) for f, b in before.items()}
    print(f"     earlier fragment: {sizes}")
    old = table(before["results.csv"])
    check(old is not None and len(old[1]) == 1, "the earlier results.csv is one complete row")

    def after_fault(name, p, killed=False, reason=None):
        now = read(os.path.join(out, "results.csv"))
        check(now == before["results.csv"], f"{name}: results.csv is the earlier file, byte for byte")
        if killed:
            check(p.returncode == -signal.SIGXFSZ, f"{name}: killed by SIGXFSZ (got {p.returncode})")
        else:
            check(p.returncode == 1 and one_error_line(p, "--out") and "failed" in p.stderr,
                  f"{name}: exit 1 with one line naming --out (exit {p.returncode}, {p.stderr.strip()!r})")
            check(tmp_files(out) == [], f"{name}: no temporary file left ({tmp_files(out)})")
            if reason:
                check(p.stderr.strip().endswith(reason), f"{name}: the reason is the first failure's ({reason})")

    # ENOSPC on results.csv only: every other file is written first
    tmp = os.path.join(out, "results.csv.tmp")
    os.symlink("/dev/full", tmp)
    p = run(["run", *MLP, "--seed", "2", "--out", out, "--json"], timeout=120)
    after_fault("results.csv.tmp -> /dev/full", p, reason="No space left on device")
    check(not os.path.lexists(tmp), "the symlink standing for the temporary was removed, /dev/full untouched")
    j = json.loads(p.stdout) if p.stdout.strip() else {}
    check(j.get("status") == "ok", "--json still prints the run's own row (status ok)")

    # EFBIG: a limit under the smallest file, so the first write fails
    limit = min(sizes.values()) // 2
    state = {f: read(os.path.join(out, f)) for f in os.listdir(out)}
    p = run(["run", *MLP, "--seed", "3", "--out", out], limit=limit, timeout=120)
    after_fault(f"file-size limit {limit} B, SIGXFSZ ignored", p, reason="File too large")
    check(all(read(os.path.join(out, f)) == state[f] for f in state) and sorted(os.listdir(out)) == sorted(state),
          "  and every other file is as it was (the first write failed)")
    # a limit between the files: some are replaced, results.csv (written last) is not
    mid = sizes["results.csv"] + 1
    bigger = [f for f in sizes if sizes[f] > mid]
    if check(bigger != [], f"a file larger than results.csv to fail on ({sizes})"):
        p = run(["run", *MLP, "--seed", "4", "--out", out], limit=mid, timeout=120)
        after_fault(f"file-size limit {mid} B (only {', '.join(sorted(bigger))} too big)", p, reason="File too large")
    # SIGXFSZ fatal: killed in the middle of a write
    p = run(["run", *MLP, "--seed", "5", "--out", out], limit=limit, xfsz_fatal=True, timeout=120)
    after_fault(f"file-size limit {limit} B, SIGXFSZ fatal", p, killed=True)
    # and a fresh directory gets no results.csv at all
    out2 = fresh("write_run_fresh")
    p = run(["run", *MLP, "--out", out2], limit=limit, timeout=120)
    check(p.returncode == 1 and not os.path.exists(os.path.join(out2, "results.csv")) and tmp_files(out2) == [],
          f"fresh directory under the limit: exit {p.returncode}, no results.csv, no temporary")
    # the fault gone, the same directory takes a new fragment
    p = run(["run", *MLP, "--seed", "6", "--out", out], timeout=120)
    new = table(read(os.path.join(out, "results.csv")))
    check(p.returncode == 0 and new is not None and len(new[1]) == 1 and read(os.path.join(out, "results.csv")) !=
          before["results.csv"], "without the fault the next run replaces the fragment")


# ----------------------------------------------------------------------------

SWEEP_PROFILE = """backend = cpu
model = mlp
input_dim = 64
hidden = 32
layers = 1
strategies = retain, accumulate
micro_batch = 2, 4
iter_size = 1, 2, 4
warmup = 0
min_steps = 2
max_steps = 2
"""


def sweep_rows(out):
    path = os.path.join(out, "results.csv")
    return table(read(path)) if os.path.exists(path) else None


class Watcher:
    """Reads results.csv over and over while a sweep runs: every read must be
    a complete table. With inject, makes results.csv.tmp a symlink to
    /dev/full once results.csv has `after` rows (the next rebuild fails)."""

    def __init__(self, out, inject=False, after=2):
        self.out, self.inject, self.after = out, inject, after
        self.reads = self.bad = 0
        self.injected_at = None
        self.stop = False
        self.t = threading.Thread(target=self.loop)

    def loop(self):
        path, tmp = os.path.join(self.out, "results.csv"), os.path.join(self.out, "results.csv.tmp")
        while not self.stop:
            try:
                data = read(path)
            except FileNotFoundError:
                time.sleep(0.002)
                continue
            self.reads += 1
            t = table(data)
            if t is None:
                self.bad += 1
            elif self.inject and self.injected_at is None and len(t[1]) >= self.after:
                try:
                    os.symlink("/dev/full", tmp)
                    self.injected_at = len(t[1])
                except FileExistsError:
                    pass    # a rebuild is writing it right now: next time
            time.sleep(0.002)


def sweep_cmd(*args, limit=None, xfsz_fatal=False, watcher=None):
    if watcher:
        watcher.t.start()
    try:
        return run(["sweep", *args], limit=limit, xfsz_fatal=xfsz_fatal, timeout=300)
    finally:
        if watcher:
            watcher.stop = True
            watcher.t.join()


def resume_and_check(name, out, want_keys, kept):
    """--resume without the fault: every configuration once, the rows kept
    before it byte-identical"""
    p = sweep_cmd("--resume", out)
    t = sweep_rows(out)
    check(p.returncode == 0 and t is not None, f"{name}: --resume finishes (exit {p.returncode}) {p.stderr.strip()[-300:]}")
    if t is None:
        return
    ids = [r[t[0].index("status")] for r in t[1]]
    check(len(t[1]) == want_keys and all(s == "ok" for s in ids),
          f"{name}: after --resume {len(t[1])} rows, all ok (want {want_keys}): {ids}")
    lines = read(os.path.join(out, "results.csv")).split(b"\r\n")
    check(all(k in lines for k in kept), f"{name}: the {len(kept)} rows written before the fault are unchanged")
    check(tmp_files(out) == [], f"{name}: no temporary file after --resume")


def test_write_sweep():
    prof = os.path.join(work, "write_sweep.profile")
    with open(prof, "w") as f:
        f.write(SWEEP_PROFILE)
    dry = run(["sweep", "--profile", prof, "--dry-run"], timeout=60)
    n = len(dry.stdout.splitlines())
    check(dry.returncode == 0 and n == 12, f"the sweep has 12 configurations (--dry-run: {n})")

    # 1. results.csv's rebuild hits ENOSPC after a few runs
    out = fresh("write_sweep_enospc")
    w = Watcher(out, inject=True, after=3)
    p = sweep_cmd("--profile", prof, "--out", out, watcher=w)
    print(p.stderr)
    check(w.injected_at is not None, f"/dev/full injected at results.csv.tmp after {w.injected_at} rows")
    check(w.reads > 0 and w.bad == 0, f"results.csv complete in all {w.reads} reads during the sweep ({w.bad} not)")
    check(re.search(r"sweep: writing '[^']*results\.csv' failed: No space left on device", p.stderr) is not None,
          "the failed write is reported with the file and the reason")
    check(p.returncode == 1, f"a sweep whose results could not be written exits 1 (got {p.returncode})")
    check(f"stopped after a failed write; finished runs are kept; complete it with: accumbench sweep --resume {out}"
          in p.stderr, "it says it stopped and how to finish")
    t = sweep_rows(out)
    check(t is not None and len(t[1]) >= w.injected_at, f"results.csv complete after the sweep "
          f"({len(t[1]) if t else None} rows)")
    check(tmp_files(out) == [], f"no temporary file left ({tmp_files(out)})")
    kept = read(os.path.join(out, "results.csv")).split(b"\r\n")[1:-1] if t else []
    resume_and_check("ENOSPC", out, n, kept)

    # 2. the whole sweep under a file-size limit: children write their small
    # fragments, the parent's growing CSVs run into the limit (EFBIG)
    probe = fresh("write_sweep_probe")
    run(["run", *MLP, "--out", probe], timeout=120)
    biggest = max(os.path.getsize(os.path.join(probe, f)) for f in os.listdir(probe))
    limit = biggest * 3
    out = fresh("write_sweep_efbig")
    w = Watcher(out)
    p = sweep_cmd("--profile", prof, "--out", out, limit=limit, watcher=w)
    print(p.stderr)
    check(w.bad == 0, f"results.csv complete in all {w.reads} reads during the sweep under a {limit} B limit")
    check(p.returncode != 0 and re.search(r"sweep: writing '[^']*' failed: File too large", p.stderr) is not None,
          f"the failed write is reported, nonzero exit (got {p.returncode})")
    t = sweep_rows(out)
    check(t is None or all(r[t[0].index("status")] == "ok" for r in t[1]),
          f"results.csv absent or complete with ok rows ({len(t[1]) if t else 'absent'})")
    check(tmp_files(out) == [], f"no temporary file left ({tmp_files(out)})")
    kept = read(os.path.join(out, "results.csv")).split(b"\r\n")[1:-1] if t else []
    resume_and_check("EFBIG", out, n, kept)

    # 3. the same limit with SIGXFSZ fatal: the parent dies writing
    out = fresh("write_sweep_xfsz")
    w = Watcher(out)
    p = sweep_cmd("--profile", prof, "--out", out, limit=limit, xfsz_fatal=True, watcher=w)
    check(p.returncode == -signal.SIGXFSZ, f"the sweep is killed by SIGXFSZ (got {p.returncode})")
    check(w.bad == 0, f"results.csv complete in all {w.reads} reads up to the kill")
    t = sweep_rows(out)
    check(t is None or all(r[t[0].index("status")] == "ok" for r in t[1]),
          f"results.csv absent or complete ({len(t[1]) if t else 'absent'} rows)")
    kept = read(os.path.join(out, "results.csv")).split(b"\r\n")[1:-1] if t else []
    resume_and_check("SIGXFSZ", out, n, kept)


# ----------------------------------------------------------------------------

def ops_align_bytes():
    with open(os.path.join(src, "kernels", "ops.h")) as f:
        m = re.search(r"#define OPS_ALIGN_BYTES \(\(size_t\)(\d+)\)", f.read())
    return int(m.group(1))


OOM_RE = re.compile(r"out of memory: asked (\d+) bytes with (\d+) in use \(cap (\d+)\)")


def oom_run(cfg, cap, out):
    """one run under cap: (exit, json row, results.csv row, stderr)"""
    p = run(["run", *cfg, "--mem-limit", str(cap), "--json", "--out", out], timeout=120)
    try:
        j = json.loads(p.stdout)
    except ValueError:
        j = None
    rows = None
    path = os.path.join(out, "results.csv")
    if os.path.exists(path):
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    return p, j, rows


def walk(name, cfg, align):
    """the --mem-limit walk for one configuration; (caps of the walk with
    their errors, the final cap that fits)"""
    base = fresh(f"oom_{name}")
    os.makedirs(base)
    # the unconstrained run: peak and the step's memory timeline
    p = run(["run", *cfg, "--json", "--out", os.path.join(base, "free")], timeout=120)
    free = json.loads(p.stdout)
    peak = int(free["mem_tracked_bytes"])
    with open(os.path.join(base, "free", "memory.csv"), newline="") as f:
        r = csv.reader(f)
        head = next(r)
        col = head.index("bytes")
        timeline = [int(x[col]) for x in r]
    highs, m = [], -1
    for b in timeline:
        if b > m:
            highs.append(b)
            m = b
    t0 = time.time()
    cap, steps, frag, bad, crashes = 1, [], 0, [], []
    reached = set()
    while len(steps) < 20000:
        out = os.path.join(base, "cap")
        shutil.rmtree(out, ignore_errors=True)
        p, j, rows = oom_run(cfg, cap, out)
        if p.returncode == 0:
            break
        if p.returncode < 0 or p.returncode != 3:
            crashes.append((cap, p.returncode, p.stderr.strip()[-300:]))
            break
        m = OOM_RE.fullmatch((j or {}).get("error") or "")
        ok = (j is not None and j["status"] == "oom" and m is not None and int(m.group(3)) == cap and
              rows is not None and len(rows) == 1 and rows[0]["status"] == "oom" and rows[0]["error"] == j["error"]
              and one_error_line(p, "out of memory") and rows[0]["mem_tracked_bytes"] == "" and
              j["mem_tracked_bytes"] is None)
        if not ok:
            bad.append((cap, p.returncode, j and j.get("error"), rows and rows[0].get("status"), p.stderr.strip()))
            break
        asked, inuse = int(m.group(1)), int(m.group(2))
        need = -(-asked // align) * align
        steps.append((cap, j["error"]))
        if inuse + need > cap:
            reached.add(inuse + need)
            cap = inuse + need              # just fits the allocation that failed
        else:
            frag += 1                       # it fit the cap but no free block: a hole
            cap += align
    took = time.time() - t0
    check(not crashes, f"{name}: no crash and only exit 3 under any cap {crashes[:3]}")
    check(not bad, f"{name}: every oom run says so in --json, results.csv and one stderr line {bad[:2]}")
    check(p.returncode == 0, f"{name}: the walk ends in a run that fits, at {cap} B ({len(steps)} oom runs, "
          f"{frag} of them at a hole of the reservation, {took:.1f} s)")
    check(cap >= peak, f"{name}: the fitting cap {cap} >= the unconstrained tracked peak {peak} "
          f"(+{cap - peak} B for holes)")
    missed = [h for h in highs if h not in reached and h != cap]
    check(not missed, f"{name}: every high-water point of the step ({len(highs)} in memory.csv) was an oom "
          f"site of the walk (missed {missed[:5]})")
    print(f"     {name}: peak {peak} B, {len(reached)} allocation sites raised the high-water mark")
    return steps, cap, peak


def test_oom():
    align = ops_align_bytes()
    cnn = ["--backend", "cpu", "--model", "cnn", "--width", "4", "--stages", "2", "--blocks", "1",
           "--micro-batch", "1", "--iter-size", "2", "--warmup", "0", "--min-steps", "1", "--max-steps", "1"]
    configs = {
        "cnn_batch_retain_sgd": cnn + ["--norm", "batch", "--strategy", "retain"],
        "cnn_group_accumulate_adamw": cnn + ["--norm", "group", "--strategy", "accumulate", "--optimizer", "adamw"],
        "cnn_none_full": cnn + ["--norm", "none", "--strategy", "full"],
        "mlp_retain_ragged": ["--backend", "cpu", "--model", "mlp", "--input-dim", "48", "--hidden", "24",
                              "--layers", "2", "--micro-batch", "3", "--effective-batch", "8", "--strategy", "retain",
                              "--warmup", "0", "--min-steps", "1", "--max-steps", "1"],
    }
    walks = {name: walk(name, cfg, align) for name, cfg in configs.items()}

    # one sweep over caps of the first walk: an ok row, the oom rows, an ok row
    name = "cnn_batch_retain_sgd"
    steps, fit, peak = walks[name]
    pick = [steps[i * (len(steps) - 1) // 15] for i in range(16)] if len(steps) > 16 else steps
    seen, caps = set(), []
    for cap, err in pick:
        if cap not in seen:
            seen.add(cap)
            caps.append((cap, err))
    cfg = configs[name]
    flags = dict(zip(cfg[0::2], cfg[1::2]))
    lines = [f"{k[2:].replace('-', '_')} = {v}" for k, v in flags.items()]
    limits = [str(1 << 30)] + [str(c) for c, _ in caps] + [str(fit)]
    lines.append("mem_limit = " + ", ".join(limits))
    prof = os.path.join(work, "oom_sweep.profile")
    with open(prof, "w") as f:
        f.write("\n".join(lines) + "\n")
    out = fresh("oom_sweep")
    p = run(["sweep", "--profile", prof, "--out", out], timeout=300)
    check(p.returncode == 0, f"the sweep with {len(caps)} oom caps completes, exit 0 (got {p.returncode}) "
          f"{p.stderr.strip()[-300:]}")
    with open(os.path.join(out, "results.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    check(len(rows) == len(limits), f"one row per cap: {len(rows)} of {len(limits)}")
    if len(rows) == len(limits):
        want = ["ok"] + ["oom"] * len(caps) + ["ok"]
        check([r["status"] for r in rows] == want, f"statuses in profile order: {[r['status'] for r in rows]}")
        check(all(rows[i + 1]["error"] == caps[i][1] for i in range(len(caps))),
              "each oom row's message is the single run's, byte for byte")
        for i in (0, len(rows) - 1):
            r = rows[i]
            check(r["steps_timed"] == "1" and float(r["step_median_ns"]) > 0 and r["error"] == "" and
                  int(r["mem_tracked_bytes"]) == peak,
                  f"ok row {i} intact beside the oom rows (1 timed step, a median, tracked peak {peak})")


tests = {"paths": test_paths, "write_run": test_write_run, "write_sweep": test_write_sweep, "oom": test_oom}
if what not in tests:
    sys.exit(f"usage: faults.py ACCUMBENCH SOURCE_DIR WORKDIR {'|'.join(tests)}")
os.makedirs(work, exist_ok=True)
tests[what]()
if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all passed")
