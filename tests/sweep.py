#!/usr/bin/env python3
"""tests/sweep.py — `accumbench sweep` and its profiles, on the CPU backend.

  profiles  every shipped profile (profiles/*.profile) expands without
            warnings; a valid file with
            comments, spaced lists, inapplicable axes, full's collapse and
            skipped combinations expands to the expected lines; per-model
            keys (MODEL.KEY) change only their model's product; profiles
            without them keep the configuration ids recorded in
            tests/fixtures/profile-ids; a table of
            invalid files each exits 2 with one stderr line naming FILE:LINE;
            name lookup, --out under a regular file, backend = cuda without a
            GPU (exit 2, no CPU fallback); engine torch without a Python
            that imports torch is exit 2 before any run, naming
            ACCUMBENCH_PYTHON, and without ACCUMBENCH_PYTHON the sweep picks
            /usr/bin/python3 when it has torch (meta.json peer_python).
  faults    one sweep with an oom row (mem_limit below retain's k=8 peak), a
            child killed by SIGKILL (crash), a child that hangs and ignores
            SIGTERM (timeout = 2, then SIGKILL), skipped rows: the other rows
            intact, steps.csv only for the runs that ran.
  resume    SIGINT at a random point during a child run, twice, then --resume
            to the end: keys == the --dry-run set, no duplicates, rows written
            before each interrupt byte-identical afterwards.
  rounds    repeats as rounds: --dry-run lists every repeat r of all
            configurations before any r + 1, each round a permutation
            seeded by the profile's seed (the same twice, another with
            another seed, profile order with shuffle = 0); a sweep runs in
            exactly that order; one interrupted inside round 2 keeps a prefix
            of it, and --resume runs exactly the missing runs, in the same
            order, leaving the kept fragments untouched. One fragment id is
            pinned (FNV-1a of the flags: resuming older sweeps depends on it).

Usage: sweep.py ACCUMBENCH WORKDIR profiles|faults|resume|rounds"""
import csv, io, json, os, random, re, shutil, signal, subprocess, sys, time

bin_, work, what = sys.argv[1], sys.argv[2], sys.argv[3]
failures = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg, flush=True)
    if not cond:
        failures.append(msg)


def write(name, text):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def sweep(*args, env=None, **kw):
    e = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    e.update(env or {})
    return subprocess.run([bin_, "sweep", *args], capture_output=True, text=True, env=e, **kw)


def dry_lines(*args, env=None):
    p = sweep(*args, "--dry-run", env=env)
    return p, [l.split("\t") for l in p.stdout.splitlines()]


def rows(path, name="results.csv"):
    with open(os.path.join(path, name), newline="") as f:
        return list(csv.DictReader(f))


def raw_lines(path, name):
    p = os.path.join(path, name)
    if not os.path.exists(p):
        return []
    with open(p, newline="") as f:
        return f.read().split("\r\n")[1:-1]


KEY = ("model", "norm", "strategy", "micro_batch", "iter_size", "effective_batch", "repeat")


def key_of_flags(id_, flags):
    f = flags.split()
    d = dict(zip(f[::2], f[1::2]))
    model = d.get("--model", "mlp")
    m, k = d["--micro-batch"], d["--iter-size"]
    b = d.get("--effective-batch", str(int(m) * int(k)))   # skipped lines keep the profile's flags
    return (model, d.get("--norm", "batch") if model == "cnn" else "", d.get("--strategy", "accumulate"),
            m, k, b, id_.rsplit("-r", 1)[1])


def key_of_row(r):
    return tuple(r[k] for k in KEY)


# ----------------------------------------------------------------------------

def test_torch_python():
    """engine torch's interpreter: checked once, before anything is written"""
    prof = write("torch.profile", "backend = cpu\nengines = accumbench, torch\nmodel = mlp\ninput_dim = 64\n"
                                  "hidden = 16\nlayers = 1\nstrategy = retain\nmicro_batch = 4\niter_size = 1, 2\n")
    for py in ("/bin/false", os.path.join(work, "no-such-python")):
        out = os.path.join(work, "torch_out")
        shutil.rmtree(out, ignore_errors=True)
        p = sweep("--profile", prof, "--out", out, env={"ACCUMBENCH_PYTHON": py})
        err = p.stderr.splitlines()
        check(p.returncode == 2 and len(err) == 1 and f"ACCUMBENCH_PYTHON={py}" in err[0]
              and "torch" in err[0] and not os.path.exists(out),
              f"ACCUMBENCH_PYTHON={py}: exit 2 before any run, nothing written: rc {p.returncode}, {err}")
    p = sweep("--profile", prof, "--dry-run", env={"ACCUMBENCH_PYTHON": "/bin/false"})
    check(p.returncode == 0 and len(p.stdout.splitlines()) == 4, "--dry-run does not check the interpreter")

    # no ACCUMBENCH_PYTHON, a python3 first on the PATH without torch:
    # /usr/bin/python3 when it imports torch and numpy, else exit 2 naming
    # ACCUMBENCH_PYTHON. The test hook replaces the runs (no torch run here).
    stub = os.path.join(work, "stub-bin")
    os.makedirs(stub, exist_ok=True)
    with open(os.path.join(stub, "python3"), "w") as f:
        f.write("#!/bin/sh\necho 'ModuleNotFoundError: no torch in this stub'\nexit 1\n")
    os.chmod(os.path.join(stub, "python3"), 0o755)
    usr_has_torch = os.access("/usr/bin/python3", os.X_OK) and subprocess.run(
        ["/usr/bin/python3", "-c", "import torch, numpy"], capture_output=True).returncode == 0
    env = {k: v for k, v in os.environ.items() if k != "ACCUMBENCH_PYTHON"}
    env.update(PATH=stub + os.pathsep + env.get("PATH", ""), OPENBLAS_NUM_THREADS="1",
               ACCUMBENCH_SWEEP_TEST_CHILD="kill:1,kill:2,kill:3,kill:4")
    out = os.path.join(work, "torch_default")
    shutil.rmtree(out, ignore_errors=True)
    p = subprocess.run([bin_, "sweep", "--profile", prof, "--out", out], capture_output=True, text=True, env=env)
    if usr_has_torch:
        try:
            with open(os.path.join(out, "meta.json")) as f:
                chosen = json.load(f)["profile"].get("peer_python")
        except (OSError, ValueError, KeyError) as e:
            chosen = f"no meta.json: {e}"
        check(p.returncode == 0 and chosen == "/usr/bin/python3",
              f"no ACCUMBENCH_PYTHON: engine torch runs /usr/bin/python3, which has torch, not the python3 "
              f"first on the PATH (rc {p.returncode}, peer_python {chosen!r})")
    else:
        err = p.stderr.splitlines()
        check(p.returncode == 2 and len(err) == 1 and "ACCUMBENCH_PYTHON" in err[0]
              and "no torch in this stub" in err[0] and not os.path.exists(out),
              f"no ACCUMBENCH_PYTHON, no Python with torch: exit 2 naming ACCUMBENCH_PYTHON: {err}")


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IDS = os.path.join(REPO, "tests", "fixtures", "profile-ids")


def test_unchanged_ids():
    """profiles without per-model keys keep the configuration ids recorded
    before per-model keys existed (a resumed sweep finds its fragments by
    them): the same set, and each id the FNV-1a of the flags printed with it"""
    names = sorted(f[:-len(".profile")] for f in os.listdir(IDS) if f.endswith(".profile"))
    check(len(names) >= 9, f"recorded profiles in {IDS}: {names}")
    for name in names:
        with open(os.path.join(IDS, name + ".ids")) as f:
            want = f.read().split()
        p, lines = dry_lines("--profile", os.path.join(IDS, name + ".profile"))
        got = sorted({l[0].rsplit("-r", 1)[0] for l in lines})
        check(p.returncode == 0 and got == want,
              f"{name}: the {len(want)} recorded configuration ids (missing {sorted(set(want) - set(got))[:3]}, "
              f"new {sorted(set(got) - set(want))[:3]}, rc {p.returncode})")
        check(all(l[0].split("-")[0] == f"{fnv1a(l[2]):016x}" for l in lines),
              f"{name}: every id is the FNV-1a of its flags")


def flag_dict(flags):
    f = flags.split()
    return dict(zip(f[::2], f[1::2]))


def test_per_model_keys():
    """MODEL.KEY replaces KEY for that model only; the product is per model"""
    base = """backend = cpu
models = mlp, cnn, gpt
input_dim = 64
hidden = 16
layers = 2
width = 4
stages = 2
blocks = 1
vocab = 64
seq = 8
d_model = 16
heads = 2
strategies = retain, accumulate
micro_batch = 4
iter_size = 2
"""
    per_model = base + """gpt.layers = 1
gpt.micro_batch = 1, 2
cnn.recompute = none, blocks
cnn.strategies = accumulate
"""
    p, lines = dry_lines("--profile", write("per_model.profile", per_model))
    got = sorted((d["--model"], d["--strategy"], d.get("--recompute"), d["--micro-batch"], d["--iter-size"],
                  d.get("--layers")) for d in (flag_dict(l[2]) for l in lines))
    want = sorted([("mlp", s, None, "4", "2", "2") for s in ("retain", "accumulate")]
                  + [("cnn", "accumulate", r, "4", "2", None) for r in ("none", "blocks")]
                  + [("gpt", s, None, m, "2", "1") for s in ("retain", "accumulate") for m in ("1", "2")])
    check(p.returncode == 0 and p.stderr == "" and all(l[1] == "run" for l in lines) and got == want,
          f"per-model keys: mlp 2 x 1, cnn 1 strategy x 2 recompute, gpt 2 x 2 micro-batches at layers 1: "
          f"rc {p.returncode}, {p.stderr.strip()!r}, {got}")
    # a model without MODEL.KEY lines keeps the ids it has in the flat profile
    _, flat = dry_lines("--profile", write("flat_models.profile", base))
    mlp_ids = lambda ls: sorted(l[0] for l in ls if "--model mlp" in l[2])
    check(mlp_ids(lines) == mlp_ids(flat) and len(mlp_ids(flat)) == 2,
          "per-model keys: mlp's configurations and ids are those of the profile without them")
    # a flat key every model replaces does nothing: a warning, not an error
    p, lines = dry_lines("--profile", write("overridden.profile", "backend = cpu\nmodels = mlp, gpt\nlayers = 3\n"
                                            "mlp.layers = 1\ngpt.layers = 2\n"))
    warns = p.stderr.splitlines()
    check(p.returncode == 0 and len(lines) == 2 and len(warns) == 1
          and "overridden.profile:3: layers: every model it applies to has its own MODEL.KEY" in warns[0],
          f"a flat key every model overrides: one warning, rc 0: {warns}")


def test_profiles():
    shipped = sorted(f[:-len(".profile")] for f in os.listdir(os.path.join(REPO, "profiles"))
                     if f.endswith(".profile"))
    check({"quick", "default", "nightly", "full", "gpu-peer"} <= set(shipped), f"shipped profiles: {shipped}")
    for name in shipped:
        p, all_lines = dry_lines("--profile", name)
        # repeats past `repeat` are listed as extra: run only where the first ones disagree
        lines = [l for l in all_lines if len(l) != 3 or l[1] != "extra"]
        ids = [l[0] for l in lines]
        check(p.returncode == 0 and p.stderr == "" and len(lines) > 0,
              f"profile {name}: expands ({len(lines)} runs), rc {p.returncode}, stderr {p.stderr.strip()!r}")
        check(len(set(ids)) == len(ids) and all(len(l) == 3 and l[1] == "run" for l in lines),
              f"profile {name}: unique ids, every configuration runnable")
        # repeats are the unit of inference (the design's Throughput and
        # noise): >= 3 everywhere, >= 5 for nightly, >= 2 for the GPU bundle's
        repeats = 1 + max(int(i.rsplit("-r", 1)[1]) for i in ids) if ids else 0
        with open(os.path.join(REPO, "profiles", name + ".profile")) as f:
            said = [l.split("=", 1)[1].split("#")[0].strip() for l in f if l.split("=", 1)[0].strip() == "repeat"]
        need = 5 if name == "nightly" else 2 if name.startswith("gpu-") else 3
        check(said == [str(repeats)] and repeats >= need,
              f"profile {name}: repeat = {said} runs {repeats} repeats, at least {need}")
        # the header's "N configurations ... = M runs" is what the profile expands to
        with open(os.path.join(REPO, "profiles", name + ".profile")) as f:
            header = " ".join(l.lstrip("# ").rstrip() for l in f if l.startswith("#"))
        n_configs = len({i.rsplit("-r", 1)[0].split("-")[0] for i in ids})
        told = re.search(r"(\d+) configurations.*?= (\d+) runs", header)
        check(told is not None and (int(told.group(1)), int(told.group(2))) == (n_configs, len(lines)),
              f"profile {name}: its header says {told.groups() if told else 'no count'}, "
              f"it expands to {n_configs} configurations, {len(lines)} runs")

    valid = write("valid.profile", """# a valid profile: comments, blank lines, spaced lists
backend = cpu   # trailing comment

models = mlp ,cnn
input_dim = 64
hidden = 32
width = 8, 12            # 12 channels do not split into 8 GroupNorm groups: skipped
stages = 2
blocks = 1
norm = group
strategies = full , retain,accumulate
micro_batch = 4, 8
effective_batch = 16, 20   # 20 = 8 + 8 + 4: a ragged last micro-batch
""")
    p, lines = dry_lines("--profile", valid)
    check(p.returncode == 0 and p.stderr == "", f"valid profile: rc {p.returncode}, stderr {p.stderr.strip()!r}")
    ok = [l for l in lines if l[1] == "run"]
    skipped = [l for l in lines if l[1].startswith("skipped: ")]
    # per model: full collapses to one per effective batch (2); retain and
    # accumulate 2 micro-batches x 2 effective batches; mlp ignores width
    check(len(ok) == 20 and len(skipped) == 10, f"valid profile: 20 runs + 10 skipped (got {len(ok)} + {len(skipped)})")
    check(all("--width 12" in l[2] and "--width" in l[1] for l in skipped),
          "valid profile: the skipped ones are width 12 with run's --width reason")
    full = [l for l in ok if "--strategy full" in l[2]]
    check(sorted(key_of_flags(l[0], l[2])[5] for l in full) == ["16", "16", "20", "20"],
          "valid profile: full keeps one configuration per effective batch and model")
    check(any("--strategy retain --micro-batch 8 --iter-size 3 --effective-batch 20" in l[2] for l in ok),
          "valid profile: effective_batch with micro_batch derives iter_size (ragged 8+8+4)")
    check(all("--width" not in l[2] for l in ok if "--model mlp" in l[2]), "valid profile: mlp gets no cnn flags")

    small = write("small_batch.profile", "backend = cpu\nmicro_batch = 8\neffective_batch = 4, 8\n")
    p, lines = dry_lines("--profile", small)
    check(p.returncode == 0 and [l[1][:8] for l in lines] == ["skipped:", "run"] and "--micro-batch" in lines[0][1],
          f"effective batch below the micro-batch is a skipped row, not an error: {lines}")

    unused = write("unused.profile", "backend = cpu\nmodel = mlp\nblocks = 2\nwidth = 8, 16\nmath = tf32\n")
    p, lines = dry_lines("--profile", unused)
    warns = p.stderr.splitlines()
    check(p.returncode == 0 and len(lines) == 1 and len(warns) == 3
          and all("warning" in w for w in warns) and "unused.profile:3: blocks" in warns[0]
          and "unused.profile:5: math" in warns[2],
          f"keys that apply to no configuration: one warning per key, rc 0: {warns}")

    # every config flag run takes is a profile key (run --help lists them)
    helptext = subprocess.run([bin_, "run", "--help"], capture_output=True, text=True).stdout
    not_config = {"help", "json", "kernels", "out", "print-config"}
    flags = sorted(set(re.findall(r"--([a-z][a-z-]*)", helptext)) - not_config)
    unknown = []
    for fl in flags:
        p = sweep("--profile", write("key.profile", f"{fl.replace('-', '_')} = ?\n"), "--dry-run")
        if p.returncode != 2 or "unknown key" in p.stderr:
            unknown.append(fl)
    check(len(flags) >= 24 and not unknown, f"run's {len(flags)} config flags are profile keys (not: {unknown})")

    bad = [  # (text, line, what the message names)
        ("micro_batch = 8\nfoo = 1\n", 2, "foo: unknown key"),
        ("micro_batch = 8\n\nmicro_batch = 16\n", 3, "micro_batch: given more than once"),
        ("model = mlp\nmodels = cnn\n", 2, "models:"),
        ("strategy = full\nstrategies = retain\n", 2, "strategies:"),
        ("# comment\nmicro_batch = 8, 0\n", 2, "micro_batch: must be an integer"),
        ("strategies = full, fast\n", 1, "strategies: must be one of full|retain|accumulate"),
        ("iter_size = 1,,2\n", 1, "iter_size: empty item"),
        ("iter_size = 1, 2,\n", 1, "iter_size: empty item"),
        ("iter_size = 1\nmicro_batch 8\n", 2, "expected 'key = value'"),
        ("seed =    # nothing\n", 1, "seed: empty value"),
        ("= 3\n", 1, "expected a key"),
        ("mem_limit = lots\n", 1, "mem_limit: must be a size"),
        ("noise = 0\n", 1, "noise: must be a number"),
        ("backend = gpu\n", 1, "backend: must be one of"),
        ("engines = accumbench, pytorch\n", 1, "engines: engine 'pytorch' is not available (available: accumbench, torch)"),
        ("repeat = 0\n", 1, "repeat: must be an integer"),
        ("repeat = 2, 3\n", 1, "repeat: takes one value"),
        ("timeout = 0\n", 1, "timeout: must be a number"),
        ("shuffle = 2\n", 1, "shuffle: must be an integer in 0..1"),
        ("max_steps = 0\n", 1, "max_steps: must be an integer"),
        # per-model keys
        ("gpt.layers = 2\n", 1, "gpt.layers: model gpt is not among the profile's models (mlp, run's default"),
        ("models = mlp, cnn\n\ngpt.layers = 2\n", 3, "gpt.layers: model gpt is not among the profile's models (mlp, cnn)"),
        ("gpt.layers = 2\nmodels = mlp\n", 1, "gpt.layers: model gpt is not among"),
        ("models = cnn\nresnet.width = 8\n", 2, "resnet.width: 'resnet' is not a model"),
        ("models = mlp, cnn\nmlp.norm = group\n", 2, "mlp.norm: norm does not apply to model mlp"),
        ("models = mlp, gpt\ngpt.hidden = 8\n", 2, "gpt.hidden: hidden does not apply to model gpt"),
        ("models = gpt\ngpt.repeat = 2\n", 2, "gpt.repeat: repeat is set for the whole profile, not per model"),
        ("models = gpt\ngpt.models = gpt\n", 2, "gpt.models: models is set for the whole profile"),
        ("models = gpt\ngpt.backend = cpu\n", 2, "gpt.backend: backend is set for the whole profile"),
        ("models = gpt\ngpt.shape = 2\n", 2, "gpt.shape: unknown key"),
        ("models = gpt\ngpt.micro_batch = 2\ngpt.micro_batch = 4\n", 3,
         "gpt.micro_batch: given more than once (first on line 2)"),
        ("models = cnn\ncnn.strategy = full\ncnn.strategies = retain\n", 3,
         "cnn.strategies: names the same axis as 'cnn.strategy' on line 2"),
        ("models = gpt\ngpt.recompute = none, some\n", 2, "gpt.recompute: must be one of none|blocks"),
        ("models = gpt\ngpt.heads = 0\n", 2, "gpt.heads: must be an integer"),
        ("models = mlp, gpt\nmicro_batch = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10\nseed = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10\n"
         "gpt.warmup = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10\ngpt.iter_size = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10\n"
         "gpt.min_time = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10\n", 6, "gpt.min_time: the lists' product exceeds 100000"),
    ]
    for i, (text, line, msg) in enumerate(bad):
        path = write(f"bad{i}.profile", text)
        p = sweep("--profile", path, "--dry-run")
        err = p.stderr.splitlines()
        check(p.returncode == 2 and p.stdout == "" and len(err) == 1
              and err[0].startswith(f"accumbench: {path}:{line}: ") and msg in err[0],
              f"invalid profile {text!r}: rc {p.returncode}, {err}")

    # name lookup: $ACCUMBENCH_PROFILES first
    pdir = os.path.join(work, "named")
    os.makedirs(pdir, exist_ok=True)
    shutil.copy(valid, os.path.join(pdir, "mine.profile"))
    p, lines = dry_lines("--profile", "mine", env={"ACCUMBENCH_PROFILES": pdir})
    check(p.returncode == 0 and len(lines) == 30, "NAME found in $ACCUMBENCH_PROFILES")
    p = sweep("--profile", "no-such-profile")
    check(p.returncode == 2 and len(p.stderr.splitlines()) == 1 and "no-such-profile" in p.stderr,
          f"unknown NAME: exit 2, one line: {p.stderr.strip()!r}")

    blocker = write("a_file", "x")
    p = sweep("--profile", valid, "--out", os.path.join(blocker, "out"))
    check(p.returncode == 2 and "--out" in p.stderr and len(p.stderr.splitlines()) == 1,
          f"--out under a regular file: exit 2 before any run: {p.stderr.strip()!r}")
    p = sweep("--profile", valid, "--resume", work)
    check(p.returncode == 2, "--profile with --resume: exit 2")

    test_per_model_keys()
    test_unchanged_ids()
    test_torch_python()

    info = subprocess.run([bin_, "info"], capture_output=True, text=True).stdout
    if "--backend auto uses: cpu" in info:
        gpu = write("gpu.profile", "backend = cuda\nmodel = mlp\nmicro_batch = 4, 8\n")
        out = os.path.join(work, "gpu_out")
        shutil.rmtree(out, ignore_errors=True)
        p = sweep("--profile", gpu, "--out", out)
        check(p.returncode == 2 and "cuda cannot be used" in p.stderr and rows(out) == [],
              f"backend = cuda without a usable GPU: exit 2, no rows, no CPU fallback: {p.stderr.strip()!r}")
    else:
        print("skip backend = cuda without a GPU (a GPU is usable here)")


# ----------------------------------------------------------------------------

def test_faults():
    # mlp 256-256-256-10, micro-batch 64: tracked peaks retain 2.0/2.3/2.8/3.9 MB
    # for k = 1/2/4/8, accumulate 2.0 MB flat; the cap of 3 MB fails retain k=8 only
    prof = write("faults.profile", """backend = cpu
models = mlp, cnn
input_dim = 256
hidden = 256
layers = 2
width = 12          # cnn: GroupNorm over 12 channels: every cnn row skipped
stages = 2
blocks = 1
norm = group
strategies = retain, accumulate
micro_batch = 64
iter_size = 1, 2, 4, 8
mem_limit = 3000000
warmup = 1
min_steps = 3
max_steps = 3
timeout = 2
""")
    out = os.path.join(work, "faults")
    shutil.rmtree(out, ignore_errors=True)
    _, dry = dry_lines("--profile", prof)
    spawned = [l for l in dry if l[1] == "run"]
    # spawn order = profile order here (one repeat: no shuffle)
    crash_key = key_of_flags(spawned[1][0], spawned[1][2])
    hang_key = key_of_flags(spawned[5][0], spawned[5][2])
    t0 = time.time()
    p = sweep("--profile", prof, "--out", out, env={"ACCUMBENCH_SWEEP_TEST_CHILD": "kill:2,hang:6"}, timeout=120)
    took = time.time() - t0
    print(p.stderr)
    check(p.returncode == 0, f"sweep with faults completes, rc 0 (got {p.returncode})")
    check(took >= 7, f"the hanging child ignored SIGTERM and was killed 5 s after its 2 s timeout ({took:.1f} s)")
    res = rows(out)
    by_key = {key_of_row(r): r for r in res}
    check(len(res) == len(dry) == 16 and len(by_key) == 16, f"one row per configuration: {len(res)} rows")
    check(set(by_key) == {key_of_flags(l[0], l[2]) for l in dry}, "row keys == --dry-run keys")
    want = {}
    for l in dry:
        k = key_of_flags(l[0], l[2])
        if k[0] == "cnn":
            want[k] = "skipped"
        elif k == crash_key:
            want[k] = "crash"
        elif k == hang_key:
            want[k] = "timeout"
        elif k[2] == "retain" and k[4] == "8":
            want[k] = "oom"
        else:
            want[k] = "ok"
    got = {k: r["status"] for k, r in by_key.items()}
    check(got == want, f"statuses: {sorted(got.items())} == {sorted(want.items())}")
    check("killed by signal 9" in by_key[crash_key]["error"], f"crash reason: {by_key[crash_key]['error']!r}")
    check(by_key[hang_key]["error"] == "timed out after 2 s", f"timeout reason: {by_key[hang_key]['error']!r}")
    check(all("--width" in r["error"] for r in res if r["status"] == "skipped"), "skipped rows carry run's reason")
    oom = [r for r in res if r["status"] == "oom"]
    check(len(oom) == 1 and "out of memory" in oom[0]["error"], "the oom row is run's own (its reason)")
    okr = [r for r in res if r["status"] == "ok"]
    check(len(okr) == 5 and all(r["steps_timed"] == "3" and float(r["step_median_ns"]) > 0
                                and r["backend"] == "cpu" and r["error"] == "" for r in okr),
          "the 5 ok rows are intact (3 timed steps, a median, no error)")
    steps = rows(out, "steps.csv")
    timed = {key_of_row(s) for s in steps if s["kind"] == "timed"}
    check(timed == {key_of_row(r) for r in okr}, "steps.csv has timed steps for exactly the ok rows")
    check({key_of_row(s) for s in steps}.isdisjoint({crash_key, hang_key}), "no steps rows for crash or timeout")
    meta = json.load(open(os.path.join(out, "meta.json")))
    check(meta["schema_version"] == 1 and meta["device"]["backend"] == "cpu" and meta["end_utc"]
          and meta["profile"]["name"] == "faults" and not meta["interrupted"], f"meta.json: {meta}")
    frags = [d for d in os.listdir(os.path.join(out, "fragments"))
             if os.path.exists(os.path.join(out, "fragments", d, "results.csv"))]
    check(len(frags) == 16, f"16 complete fragments (got {len(frags)})")


# ----------------------------------------------------------------------------

def test_resume():
    # every run lasts its max_time (the noise target is never met): ~0.5 s each
    prof = write("resume.profile", """backend = cpu
model = mlp
input_dim = 256
hidden = 256
layers = 2
strategies = retain, accumulate
micro_batch = 16
iter_size = 1, 2, 4
repeat = 2              # shuffled (the default with repeats)
warmup = 1
min_steps = 3
max_steps = 100000
max_time = 0.4
noise = 0.000001
""")
    out = os.path.join(work, "resume")
    shutil.rmtree(out, ignore_errors=True)
    _, dry = dry_lines("--profile", prof)
    dry_keys = {key_of_flags(l[0], l[2]) for l in dry}
    check(len(dry) == 12 and len(dry_keys) == 12, f"12 runs in the dry run (got {len(dry)})")
    seed = int(os.environ.get("ACCUMBENCH_TEST_SEED", time.time_ns() % 1000003))
    rnd = random.Random(seed)
    print(f"random seed {seed} (ACCUMBENCH_TEST_SEED reproduces it)")

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    kept = {"results.csv": [], "steps.csv": []}
    for rnd_i, args in enumerate((["--profile", prof, "--out", out], ["--resume", out])):
        started = time.time()
        proc = subprocess.Popen([bin_, "sweep", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                text=True)
        # wait until a child of this sweep is running (its fragment directory
        # has a run.err opened since: round 1 left run.err files behind, and
        # a SIGINT before the sweep sets its handler kills it), then a random delay
        def child_started(fr):
            for d in os.listdir(fr):
                try:
                    if os.path.getmtime(os.path.join(fr, d, "run.err")) >= started:
                        return True
                except OSError:
                    pass
            return False
        deadline = time.time() + 30
        while time.time() < deadline and proc.poll() is None:
            fr = os.path.join(out, "fragments")
            if os.path.isdir(fr) and child_started(fr):
                break
            time.sleep(0.01)
        delay = rnd.uniform(0.05, 1.5)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        so, se = proc.communicate(timeout=60)
        print(se)
        check(proc.returncode == 130, f"round {rnd_i + 1}: SIGINT after {delay:.2f} s: exit 130 (got {proc.returncode})")
        check("--resume" in se, f"round {rnd_i + 1}: the message says how to resume")
        res = rows(out)
        keys = [key_of_row(r) for r in res]
        check(len(keys) == len(set(keys)) and set(keys) <= dry_keys and len(keys) < 12,
              f"round {rnd_i + 1}: {len(keys)} rows kept, no duplicates, all from the dry run")
        check(all(r["status"] == "ok" for r in res), f"round {rnd_i + 1}: no row for the interrupted run")
        for name in kept:
            now = raw_lines(out, name)
            check(set(kept[name]) <= set(now), f"round {rnd_i + 1}: earlier {name} rows byte-identical")
            kept[name] = now
        meta = json.load(open(os.path.join(out, "meta.json")))
        check(meta["interrupted"] is True, f"round {rnd_i + 1}: meta.json says interrupted")

    p, dry2 = dry_lines("--resume", out)
    done = {key_of_flags(l[0], l[2]) for l in dry2 if l[1] == "done"}
    check(done == {key_of_row(r) for r in rows(out)}, "--resume --dry-run marks exactly the kept rows done")
    p = sweep("--resume", out, timeout=120)
    print(p.stderr)
    check(p.returncode == 0, f"--resume completes: rc {p.returncode}")
    res = rows(out)
    keys = [key_of_row(r) for r in res]
    check(set(keys) == dry_keys, "after --resume the key set equals the --dry-run set")
    check(len(keys) == len(set(keys)) == 12, f"no duplicate keys ({len(keys)} rows)")
    check(all(r["status"] == "ok" for r in res), "every row ok")
    check(sorted(r["repeat"] for r in res) == ["0"] * 6 + ["1"] * 6, "repeat column 0 and 1, six each")
    for name in kept:
        now = raw_lines(out, name)
        check(set(kept[name]) <= set(now), f"rows of {name} written before the interrupts byte-identical at the end")
    steps = rows(out, "steps.csv")
    check({key_of_row(s) for s in steps} == dry_keys, "steps.csv covers every run")
    meta = json.load(open(os.path.join(out, "meta.json")))
    check(meta["resumed"] is True and meta["interrupted"] is False and meta["end_utc"], "meta.json after resume")


# ----------------------------------------------------------------------------

ROUNDS_PROFILE = """backend = cpu
model = mlp
input_dim = 64
hidden = 16
layers = 1
strategies = retain, accumulate
micro_batch = 4
iter_size = 1, 2, 4
repeat = 3
warmup = 1
min_steps = 3
max_steps = 100000
max_time = 0.2          # every run lasts about this long: the noise target is never met
noise = 0.000001
"""


def fnv1a(text):
    h = 0xcbf29ce484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def order_key(id_, flags):
    """(strategy, micro_batch, iter_size, effective_batch, repeat) of a dry-run line"""
    return key_of_flags(id_, flags)[2:]


def ran_order(stderr):
    """the runs in the order they finished: the sweep's '[i/n] status  s  label' lines"""
    import re
    out = []
    for line in stderr.splitlines():
        m = re.match(r"^\[\d+/\d+\] \S+ +[\d.]+ s  mlp h\d+ (\w+) (\d+)x(\d+)=(\d+) r(\d+)$", line)
        if m:
            out.append(m.groups())
    return out


def check_rounds(order, n_configs, repeats, what):
    """every repeat r before any r + 1, each round every configuration once"""
    rounds = [int(k[4]) for k in order]
    per_round = [sorted(k[:4] for k in order if k[4] == str(r)) for r in range(repeats)]
    check(len(order) == n_configs * repeats and rounds == sorted(rounds)
          and all(len(set(p)) == n_configs and p == per_round[0] for p in per_round),
          f"{what}: {repeats} rounds of the {n_configs} configurations, each whole before the next: {rounds}")


def test_rounds():
    prof = write("rounds.profile", ROUNDS_PROFILE)
    p, dry = dry_lines("--profile", prof)
    order = [order_key(l[0], l[2]) for l in dry]
    check(p.returncode == 0 and all(l[1] == "run" for l in dry), f"dry run: rc {p.returncode}")
    check_rounds(order, 6, 3, "--dry-run")
    check(all(l[0] == f"{fnv1a(l[2]):016x}-r{l[0].rsplit('-r', 1)[1]}" for l in dry),
          "fragment ids are FNV-1a 64 of the flags")
    pin = write("pin.profile", "backend = cpu\nmodel = mlp\ninput_dim = 64\nhidden = 16\nlayers = 1\n"
                               "strategy = retain\nmicro_batch = 4\niter_size = 2\n")
    _, pinned = dry_lines("--profile", pin)
    check([l[0] for l in pinned] == ["cfcfa3ae94353acd-r0"],
          f"the pinned fragment id is unchanged (older sweeps stay resumable): {pinned}")

    # the shuffle: reproducible, a function of the profile's seed, off with shuffle = 0
    _, again = dry_lines("--profile", prof)
    check(again == dry, "two dry runs list the same order")
    _, unshuffled = dry_lines("--profile", write("flat.profile", ROUNDS_PROFILE + "shuffle = 0\n"))
    flat = [order_key(l[0], l[2]) for l in unshuffled]
    check_rounds(flat, 6, 3, "shuffle = 0")
    profile_order = [k[:4] for k in flat[:6]]
    check(all([k[:4] for k in flat[6 * r:6 * r + 6]] == profile_order for r in range(3)),
          "shuffle = 0: each round in profile order")
    rounds = [[k[:4] for k in order[6 * r:6 * r + 6]] for r in range(3)]
    check(any(r != profile_order for r in rounds) and len({tuple(r) for r in rounds}) > 1,
          f"shuffled: the rounds are not all in profile order nor all alike: {rounds}")
    _, other = dry_lines("--profile", write("seed2.profile", ROUNDS_PROFILE + "seed = 2\n"))
    other_order = [order_key(l[0], l[2]) for l in other]
    check_rounds(other_order, 6, 3, "seed = 2")
    check(other_order != order, "another seed, another order")

    # a sweep runs in the dry run's order
    out = os.path.join(work, "rounds")
    shutil.rmtree(out, ignore_errors=True)
    p = sweep("--profile", prof, "--out", out, timeout=120)
    check(p.returncode == 0 and ran_order(p.stderr) == order,
          f"the sweep ran in the dry run's order: rc {p.returncode}, {ran_order(p.stderr)}")
    meta = json.load(open(os.path.join(out, "meta.json")))
    check(meta["profile"]["shuffle_seed"] == 1, f"meta.json: shuffle_seed is the profile's seed (run's default 1)")
    check(sorted(r["repeat"] for r in rows(out)) == ["0"] * 6 + ["1"] * 6 + ["2"] * 6,
          "results.csv: repeats 0, 1, 2 of each configuration")
    test_rounds_resume(prof, order)


def test_rounds_resume(prof, order):
    out = os.path.join(work, "rounds_resume")
    shutil.rmtree(out, ignore_errors=True)
    frag_dir = os.path.join(out, "fragments")

    def complete():
        return {d for d in os.listdir(frag_dir) if os.path.exists(os.path.join(frag_dir, d, "results.csv"))} \
            if os.path.isdir(frag_dir) else set()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen([bin_, "sweep", "--profile", prof, "--out", out], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and len(complete()) < 8:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, se = proc.communicate(timeout=60)
    _, dry = dry_lines("--profile", prof)
    ids = [l[0] for l in dry]
    kept = complete()
    check(proc.returncode == 130 and 8 <= len(kept) < 12,
          f"interrupted inside round 2: exit 130 (got {proc.returncode}), {len(kept)} runs kept")
    check(kept == set(ids[:len(kept)]), "the kept runs are a prefix of the run order")
    before = {i: open(os.path.join(frag_dir, i, "results.csv"), "rb").read() for i in kept}

    p, rdry = dry_lines("--resume", out)
    check([l[0] for l in rdry] == ids and {l[0] for l in rdry if l[1] == "done"} == kept
          and all(l[1] == "run" for l in rdry if l[0] not in kept),
          "--resume --dry-run: the same order, exactly the kept runs done")
    p = sweep("--resume", out, timeout=120)
    missing = [k for i, k in zip(ids, order) if i not in kept]
    check(p.returncode == 0 and ran_order(p.stderr) == missing,
          f"--resume ran exactly the missing runs, in round order: {ran_order(p.stderr)} == {missing}")
    check(all(open(os.path.join(frag_dir, i, "results.csv"), "rb").read() == b for i, b in before.items()),
          "the kept fragments are untouched")
    res = rows(out)
    check(len(res) == 18 and all(r["status"] == "ok" for r in res), f"18 ok rows after --resume ({len(res)})")

    # fragments the merge cannot take: a malformed steps.csv (an unterminated
    # quote) and a kernels.csv from "another build" (a renamed column) are
    # left out with a line each, the sweep exits 1, every other row stays
    with open(os.path.join(frag_dir, ids[0], "steps.csv"), "a", newline="") as f:
        f.write('x,"unterminated\r\n')
    kpath = os.path.join(frag_dir, ids[1], "kernels.csv")
    with open(kpath, newline="") as f:
        text = f.read()
    with open(kpath, "w", newline="") as f:
        f.write(text.replace(",share,", ",portion,", 1))
    p = sweep("--resume", out, timeout=60)
    err = p.stderr
    key = lambda r: (r["strategy"], r["micro_batch"], r["iter_size"], r["effective_batch"], r["repeat"])
    steps_keys = {key(r) for r in rows(out, "steps.csv")}
    kernel_keys = {key(r) for r in rows(out, "kernels.csv")}
    check(p.returncode == 1 and f"{ids[0]}/steps.csv:" in err and f"{ids[1]}/kernels.csv: header differs" in err
          and err.count("left out") == 3, f"bad fragments: exit 1 (got {p.returncode}), one line each: {err!r}")
    check(steps_keys == set(order) - {order[0]} and kernel_keys == set(order) - {order[1]}
          and len(rows(out)) == 18, "their rows are left out, every other row kept")


os.makedirs(work, exist_ok=True)
{"profiles": test_profiles, "faults": test_faults, "resume": test_resume, "rounds": test_rounds}[what]()
print(f"{len(failures)} failure(s)" if failures else "all passed")
sys.exit(1 if failures else 0)
