#!/usr/bin/env python3
"""tests/peer_test.py — the PyTorch peer (bench/peer/torch_peer.py) on the CPU.

Usage: peer_test.py ACCUMBENCH WORKDIR   (run with the Python that has torch)

(a) gradients: for the quick profile's mlp and small cnns (BatchNorm and
    GroupNorm), `accumbench verify --dump` is copied WITHOUT its gradient
    files; the peer computes every strategy's gradients from that copy
    (`torch_peer.py check --save`), and only then are they compared with the
    dump's: each tensor within 1e-4 (max|a-b| / max|b|). A copy with one
    weight moved must fail the same comparison; `run` reports grad_rel_err
    within 1e-4 too.
(b) memory: rss_delta_bytes of retain grows by about one micro-batch of
    activations per extra micro-batch (iter_size 1, 2, 4) while accumulate's
    stays flat (a ResNet whose micro-batch of activations is ~10 MiB).
(c) `--out`: results/steps/kernels/memory.csv parse with the csv module, end
    lines with CRLF, and have exactly the headers `accumbench run --out`
    writes; the key columns equal accumbench's row but for engine; --json has
    the results columns as keys.
(d) bad input: exit 2, nothing on stdout, one `torch_peer: ` line naming the
    flag.
(e) `accumbench sweep` with engines = accumbench, torch: every configuration
    once per engine, the torch rows with grad_rel_err within 1e-4.
(f) configuration from accumbench: the peer reads the config accumbench's
    --print-config prints, and follows --min-time: with a loose --noise the
    run stops by noise at the first timed step that completes --min-time
    seconds (from its steps.csv).
(g) --recompute side by side: `accumbench sweep` with engines = accumbench,
    torch and recompute = none, blocks on a small gpt whose blocks hold most of
    the activations: each row's recompute is its configuration's, step time
    and memory are there, the torch rows' gradients within 1e-4; only the
    blocks rows have kernels.csv rows in phase recompute, the peer's only
    forward ops there and no backward op counted as other; accumbench's
    tracked peak and the peer's max-RSS delta are both lower with blocks
    (the peer has no tracked peak on the CPU; its RSS by more than half
    the saving expected).
Missing torch or numpy is a failure, never a skip."""
import csv
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PEER = os.path.join(REPO, "bench", "peer", "torch_peer.py")
sys.path.insert(0, os.path.join(REPO, "bench", "peer"))
try:
    import numpy as np
    import torch  # noqa: F401  (the peer needs it; fail here, clearly)
    from torch_models import rel_err
except ImportError as e:
    print(f"peer_test: FAIL: cannot import torch and numpy with {sys.executable}: {e}")
    sys.exit(1)

TOL = 1e-4
MIB = 1 << 20
failures = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg, flush=True)
    if not cond:
        failures.append(msg)
    return cond


def sh(cmd, timeout=300):
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout, env=ENV)
    return p, time.monotonic() - t0


def peer(*args, timeout=300):
    return sh([sys.executable, PEER] + list(args), timeout)


def quick_mlp_flags():
    """The quick profile's mlp (its first micro-batch, iter_size 4), else a small one."""
    prof = {}
    try:
        with open(os.path.join(REPO, "profiles", "quick.profile")) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if "=" in line:
                    k, v = (s.strip() for s in line.split("=", 1))
                    prof[k] = [s.strip() for s in v.split(",")]
    except OSError:
        return "--model mlp --input-dim 512 --hidden 128 --layers 2 --micro-batch 8 --iter-size 4"
    flags = "--model mlp"
    for key in ("input_dim", "hidden", "layers"):
        if key in prof:
            flags += f" --{key.replace('_', '-')} {prof[key][0]}"
    mb = prof.get("micro_batch", ["8"])[0]
    return f"{flags} --micro-batch {mb} --iter-size 4"


# --- (a) gradients ----------------------------------------------------------------

def strip_grads(src, dst):
    """A copy of dump src without accumbench's gradients: the peer cannot read them."""
    if os.path.exists(dst):
        shutil.rmtree(dst)
    os.makedirs(dst)
    with open(os.path.join(src, "manifest.json")) as f:
        man = json.load(f)
    grads = man.pop("grads")
    gfiles = {g for files in grads.values() for g in files}
    for name in os.listdir(src):
        if name != "manifest.json" and name not in gfiles:
            shutil.copy(os.path.join(src, name), dst)
    with open(os.path.join(dst, "manifest.json"), "w") as f:
        json.dump(man, f)
    return man, grads


def perturb(d, man, pname):
    """Moves the largest-|w| element of pname by 1e-2 * max|w|."""
    entry = next(p for p in man["params"] if p["name"] == pname)
    path = os.path.join(d, entry["file"])
    w = np.load(path)
    idx = np.unravel_index(int(np.argmax(np.abs(w))), w.shape)
    w[idx] += np.float32(1e-2 * float(np.max(np.abs(w))))
    np.save(path, w)


def compare(name, npz, src, man, grads):
    """Worst rel per strategy between the peer's saved gradients and the dump's."""
    ours = np.load(npz)
    worst = {}
    for s, files in grads.items():
        worst[s] = max(rel_err(ours[f"{s}/{p['name']}"], np.load(os.path.join(src, f)))
                       for p, f in zip(man["params"], files))
    return worst


def test_gradients(bin_, work):
    cnn = "--model cnn --width 8 --stages 2 --blocks 1"
    configs = [
        ("mlp-quick", quick_mlp_flags() + " --loss-norm mean", "fc.weight"),
        # BatchNorm over micro-batches of 4 or 6 samples is ill-conditioned
        # here: Debian torch's oneDNN float32 gradients are then 1e-2 off
        # float64 (its non-oneDNN path and accumbench stay within 3e-6)
        ("cnn-batch", f"{cnn} --norm batch --loss-norm mean --micro-batch 8 --iter-size 3", "stem.conv.weight"),
        ("cnn-group-ragged", f"{cnn} --norm group --loss-norm global --effective-batch 10 --micro-batch 4",
         "stages.1.0.conv2.weight"),
        ("gpt-ragged", "--model gpt --vocab 64 --seq 8 --d-model 32 --heads 4 --layers 2 --loss-norm mean "
         "--effective-batch 7 --micro-batch 3", "transformer.h.0.mlp.c_fc.weight"),
    ]
    for name, flags, pname in configs:
        d = os.path.join(work, name)
        if os.path.exists(d):
            shutil.rmtree(d)
        p, _ = sh([bin_, "verify", "--backend", "cpu"] + flags.split() + ["--dump", d])
        if not check(p.returncode in (0, 1) and os.path.exists(os.path.join(d, "manifest.json")),
                     f"{name}: accumbench verify {flags} --dump (exit {p.returncode})"):
            print(p.stderr)
            continue
        bare = d + "-nograds"
        man, grads = strip_grads(d, bare)
        npz = os.path.join(work, name + ".npz")
        p, dt = peer("check", "--dump", bare, "--save", npz)
        if not check(p.returncode == 0 and os.path.exists(npz),
                     f"{name}: peer computed full/retain/accumulate from a dump without gradients "
                     f"({dt:.1f} s, exit {p.returncode})"):
            print(p.stdout, p.stderr)
            continue
        worst = compare(name, npz, d, man, grads)
        check(all(v <= TOL for v in worst.values()),
              f"{name}: peer vs accumbench gradients, worst rel per strategy "
              + ", ".join(f"{s} {v:.2e}" for s, v in worst.items()) + f" (<= {TOL:g})")
        # the comparison must be able to fail
        pert = d + "-perturbed"
        man2, _ = strip_grads(d, pert)
        perturb(pert, man2, pname)
        p, _ = peer("check", "--dump", pert, "--save", npz)
        worst = compare(name, npz, d, man, grads)
        check(p.returncode == 0 and all(v > TOL for v in worst.values()),
              f"{name}: with {pname} perturbed the comparison fails: "
              + ", ".join(f"{s} {v:.2e}" for s, v in worst.items()) + f" (> {TOL:g})")
        # and check itself, reading the dump's gradients after computing its own
        p, _ = peer("check", "--dump", d)
        check(p.returncode == 0, f"{name}: torch_peer.py check --dump passes (exit {p.returncode})")
        for x in (bare, pert):
            shutil.rmtree(x)

    # end to end: run computes grad_rel_err before timing
    gpt = "--model gpt --vocab 64 --seq 8 --d-model 32 --heads 4 --layers 2 --micro-batch 2 --iter-size 2"
    runs = (("mlp-quick", "retain", quick_mlp_flags()), ("mlp-quick", "full", quick_mlp_flags()),
            ("gpt", "accumulate", gpt))
    for name, strategy, model_flags in runs:
        flags = model_flags.split() + ["--strategy", strategy]
        p, dt = peer("run", "--backend", "cpu", *flags, "--warmup", "1", "--min-steps", "2", "--max-steps", "2",
                     "--json", "--accumbench", bin_)
        try:
            row = json.loads(p.stdout)
        except ValueError:
            row = {}
        ok = p.returncode == 0 and row.get("status") == "ok" and row.get("grad_rel_err") is not None
        check(ok and row["grad_rel_err"] <= TOL,
              f"run {name} --strategy {strategy}: grad_rel_err {row.get('grad_rel_err')} <= {TOL:g} "
              f"({dt:.1f} s, exit {p.returncode})")
        if not ok:
            print(p.stderr)


# --- (b) memory ---------------------------------------------------------------------

def test_memory(bin_):
    # one micro-batch of 16 samples of this ResNet holds ~10 MiB of activations
    flags = "--model cnn --width 16 --stages 3 --blocks 1 --norm group --micro-batch 16".split()
    rss = {}
    for strategy in ("retain", "accumulate"):
        for k in (1, 2, 4):
            p, dt = peer("run", "--backend", "cpu", *flags, "--iter-size", str(k), "--strategy", strategy,
                         "--warmup", "1", "--min-steps", "2", "--max-steps", "2", "--json", "--accumbench", bin_)
            try:
                rss[strategy, k] = json.loads(p.stdout)["rss_delta_bytes"] / MIB
            except (ValueError, KeyError, TypeError):
                check(False, f"{strategy} k={k}: a JSON row with rss_delta_bytes (exit {p.returncode}): {p.stderr}")
                return
            print(f"     {strategy:10s} iter_size {k}: rss_delta {rss[strategy, k]:7.2f} MiB ({dt:.1f} s)")
    r1, r2, r4 = (rss["retain", k] for k in (1, 2, 4))
    act = r2 - r1
    check(act > 4 and r4 - r2 > 4,
          f"retain grows with iter_size: {r1:.1f} -> {r2:.1f} -> {r4:.1f} MiB (> 4 MiB per step)")
    # ideally 3; torch's RSS peak varies by up to ~7 MiB between identical runs
    check(act > 0 and 1.5 <= (r4 - r1) / act <= 4.5,
          f"retain at iter_size 4 holds ~3 more micro-batches than at 1: (r4-r1)/(r2-r1) = "
          f"{(r4 - r1) / act if act > 0 else float('nan'):.2f} (1.5..4.5)")
    a = [rss["accumulate", k] for k in (1, 2, 4)]
    spread = max(a) - min(a)
    check(spread <= max(4.0, 0.25 * (r4 - r1)),
          f"accumulate stays flat: {a[0]:.1f}, {a[1]:.1f}, {a[2]:.1f} MiB (spread {spread:.1f} <= "
          f"max(4, 25% of retain's growth {r4 - r1:.1f}) MiB)")


# --- (c) outputs ------------------------------------------------------------------

FILES = ("results.csv", "steps.csv", "kernels.csv", "memory.csv")


def read_csv(path):
    with open(path, "rb") as f:
        raw = f.read()
    lines = raw.split(b"\r\n")
    crlf = raw.endswith(b"\r\n") and all(b"\n" not in ln for ln in lines)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return crlf, rows


def test_outputs(bin_, work):
    flags = "--backend cpu --model mlp --input-dim 256 --hidden 64 --layers 2 --micro-batch 8 --iter-size 2 " \
            "--strategy retain --warmup 1 --min-steps 2 --max-steps 2"
    a_dir, t_dir = os.path.join(work, "out-accumbench"), os.path.join(work, "out-torch")
    for d in (a_dir, t_dir):
        if os.path.exists(d):
            shutil.rmtree(d)
    p, _ = sh([bin_, "run"] + flags.split() + ["--out", a_dir])
    check(p.returncode == 0, f"accumbench run --out (exit {p.returncode})")
    p, _ = peer("run", *flags.split(), "--out", t_dir, "--accumbench", bin_)
    check(p.returncode == 0, f"torch_peer.py run --out (exit {p.returncode})")
    if p.returncode:
        print(p.stderr)
    got = {}
    for name in FILES:
        try:
            _, a_rows = read_csv(os.path.join(a_dir, name))
            crlf, t_rows = read_csv(os.path.join(t_dir, name))
        except OSError as e:
            check(False, f"{name}: {e}")
            continue
        check(crlf, f"{name}: every line ends with CRLF")
        check(t_rows[:1] == a_rows[:1], f"{name}: header is accumbench's ({len(a_rows[0])} columns)")
        check(all(len(r) == len(t_rows[0]) for r in t_rows), f"{name}: every row has {len(t_rows[0])} fields")
        got[name] = [dict(zip(t_rows[0], r)) for r in t_rows[1:]]
        if name == "results.csv":
            a_row = dict(zip(a_rows[0], a_rows[1]))
    check(sorted(os.listdir(t_dir)) == sorted(FILES), f"--out holds exactly {', '.join(FILES)} (no temporaries)")
    if "results.csv" not in got:
        return
    res = got["results.csv"]
    check(len(res) == 1 and res[0]["engine"] == "torch" and res[0]["backend"] == "cpu" and res[0]["status"] == "ok",
          "results.csv: one row, engine torch, backend cpu, status ok")
    keys = [c for c in res[0] if c not in ("engine", "status")][:20]
    diff = {c: (res[0][c], a_row[c]) for c in keys if res[0][c] != a_row[c]}
    check(not diff, f"results.csv: key columns equal accumbench's but for engine {diff or ''}")
    check(res[0]["rss_delta_bytes"] != "" and res[0]["mem_tracked_bytes"] == "" and res[0]["grad_rel_err"] != "",
          "results.csv: rss_delta_bytes and grad_rel_err filled, mem_tracked_bytes empty (CPU)")
    kinds = [r["kind"] for r in got.get("steps.csv", [])]
    check(kinds == ["warmup"] + ["timed"] * int(res[0]["steps_timed"]) + ["profiled"] * 3,
          f"steps.csv: 1 warmup, {res[0]['steps_timed']} timed, 3 profiled steps in order")
    kern = got.get("kernels.csv", [])
    phases = {r["phase"] for r in kern}
    share = sum(float(r["share"]) for r in kern)
    check({"forward", "backward", "optimizer"} <= phases <= {"forward", "backward", "optimizer", "other"},
          f"kernels.csv: phases {sorted(phases)}")
    check(0.3 <= share <= 1.0001, f"kernels.csv: ops cover {share:.2f} of the profiled steps (0.3..1)")
    check(all(r["name"].startswith("aten::") for r in kern), "kernels.csv: CPU rows are aten ops")
    p, _ = peer("run", *flags.split(), "--json", "--accumbench", bin_)
    try:
        obj = json.loads(p.stdout)
    except ValueError:
        obj = {}
    check(list(obj) == list(a_row), "--json: one object whose keys are the results columns in order")


# --- (e) a sweep with both engines ----------------------------------------------

SWEEP_PROFILE = """backend = cpu
engines = accumbench, torch
models = mlp
input_dim = 256
hidden = 64
layers = 2
strategies = retain, accumulate
micro_batch = 8
iter_size = 1, 2
warmup = 1
min_steps = 2
max_steps = 2
timeout = 120
"""


def run_sweep(bin_, work, name, profile_text):
    """a fresh sweep of profile_text with this Python as the peer's: (process, its directory)"""
    prof, out = os.path.join(work, name + ".profile"), os.path.join(work, "sweep-" + name)
    with open(prof, "w") as f:
        f.write(profile_text)
    if os.path.exists(out):
        shutil.rmtree(out)
    env = dict(ENV, ACCUMBENCH_PYTHON=sys.executable)
    p = subprocess.run([bin_, "sweep", "--profile", prof, "--out", out], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=env, timeout=300)
    return p, out


def test_sweep(bin_, work):
    p, out = run_sweep(bin_, work, "engines", SWEEP_PROFILE)
    check(p.returncode == 0, f"sweep with engines = accumbench, torch (exit {p.returncode})")
    try:
        with open(os.path.join(out, "results.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        check(False, f"sweep results.csv: {e}")
        return
    pairs = {}
    for r in rows:
        pairs.setdefault((r["strategy"], r["iter_size"]), {})[r["engine"]] = r
    check(len(rows) == 8 and all(set(v) == {"accumbench", "torch"} for v in pairs.values())
          and all(r["status"] == "ok" for r in rows),
          f"sweep: {len(rows)} ok rows, each configuration once per engine")
    check(all(float(v["torch"]["grad_rel_err"]) <= TOL for v in pairs.values()),
          "sweep: every torch row has grad_rel_err <= 1e-4")


# --- (g) --recompute side by side ----------------------------------------------

# 4 transformer blocks, 32 x 64 tokens of 64 channels: a block's forward keeps
# about 10 MiB (its input, ln outputs, qkv, the 2 MiB softmax, c_fc and GELU
# outputs of 2 MiB each, ...), its input is 0.5 MiB, so blocks keeps about 3 x
# 9.5 MiB less at the peak (accumbench's tracked peak: 47 -> 19 MiB). The
# peer's max-RSS must show more than half of it (33 MiB measured; identical
# runs agree to 0.1 MiB since its memory steps run on a heap that never held
# a large block)
RECOMPUTE_PROFILE = """backend = cpu
engines = accumbench, torch
models = gpt
vocab = 256
seq = 64
d_model = 64
heads = 4
layers = 4
strategies = accumulate
recompute = none, blocks
micro_batch = 32
iter_size = 1
warmup = 1
min_steps = 2
max_steps = 2
timeout = 120
"""
RSS_SAVING_MIN_MIB = 16


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_recompute(bin_, work):
    p, out = run_sweep(bin_, work, "recompute", RECOMPUTE_PROFILE)
    check(p.returncode == 0,
          f"sweep with engines = accumbench, torch and recompute = none, blocks (exit {p.returncode})")
    try:
        rows = {(r["engine"], r["recompute"]): r for r in read_rows(os.path.join(out, "results.csv"))}
        kernels = read_rows(os.path.join(out, "kernels.csv"))
    except OSError as e:
        check(False, f"sweep outputs: {e}: {p.stderr}")
        return
    want = {(e, r) for e in ("accumbench", "torch") for r in ("none", "blocks")}
    if not check(set(rows) == want and all(r["status"] == "ok" for r in rows.values()),
                 f"sweep: one ok row per engine and recompute, got {sorted(rows)}"):
        return
    torch_rows = [rows["torch", r] for r in ("none", "blocks")]
    check(all(r["step_median_ns"] != "" and float(r["step_median_ns"]) > 0 and r["rss_delta_bytes"] != ""
              and r["mem_tracked_bytes"] == "" for r in torch_rows),
          "torch rows: step time and max-RSS delta there, no tracked peak (CPU)")
    check(all(float(r["grad_rel_err"]) <= TOL for r in torch_rows),
          "torch rows: grad_rel_err " + ", ".join(f"{r['recompute']} {float(r['grad_rel_err']):.2e}"
                                                  for r in torch_rows) + f" (<= {TOL:g})")
    phases = {(k["engine"], k["recompute"]) for k in kernels if k["phase"] == "recompute"}
    check(phases == {("accumbench", "blocks"), ("torch", "blocks")},
          f"kernels.csv: phase recompute in exactly the blocks rows of both engines ({sorted(phases)})")
    # the recompute range nests in the backward's: its ops are forward ops, and
    # the backward's ops after it stay in backward (none leak to other)
    ops = {(r, ph): {k["name"] for k in kernels if k["engine"] == "torch" and k["recompute"] == r
                     and k["phase"] == ph} for r in ("none", "blocks") for ph in ("other", "recompute")}
    check(ops["blocks", "recompute"] and not any("backward" in n for n in ops["blocks", "recompute"])
          and ops["blocks", "other"] == ops["none", "other"],
          f"torch kernels.csv: recompute holds forward ops ({len(ops['blocks', 'recompute'])}), other the same "
          f"ops with and without blocks ({sorted(ops['blocks', 'other'])})")
    ab = {r: float(rows["accumbench", r]["mem_tracked_bytes"]) / MIB for r in ("none", "blocks")}
    check(ab["blocks"] < ab["none"],
          f"accumbench tracked peak: blocks {ab['blocks']:.1f} MiB < none {ab['none']:.1f} MiB")
    rss = {r: float(rows["torch", r]["rss_delta_bytes"]) / MIB for r in ("none", "blocks")}
    check(rss["blocks"] <= rss["none"] - RSS_SAVING_MIN_MIB,
          f"torch max-RSS delta: blocks {rss['blocks']:.1f} MiB <= none {rss['none']:.1f} - "
          f"{RSS_SAVING_MIN_MIB} MiB")


# --- (d) bad input ------------------------------------------------------------------

BAD = [
    (["--micro-batch", "0"], "--micro-batch"),
    (["--model", "rnn"], "--model"),
    (["--noise", "0"], "--noise"),
    (["--max-time", "-1"], "--max-time"),
    (["--seed", "-3"], "--seed"),
    (["--mem-limit", "12QB"], "--mem-limit"),
    (["--hidden", "1_000"], "--hidden"),
    (["--iter-size", "2", "--effective-batch", "10", "--micro-batch", "4"], "--iter-size"),
    (["--effective-batch", "2", "--micro-batch", "4"], "--effective-batch"),
    (["--min-steps", "20", "--max-steps", "10"], "--max-steps"),
    (["--model", "cnn", "--width", "12", "--norm", "group"], "--width"),
    (["--model", "cnn", "--stages", "6", "--micro-batch", "1", "--norm", "batch"], "--micro-batch"),
    (["--frobnicate", "1"], "--frobnicate"),
    (["--seed", "1", "--seed", "2"], "--seed"),
    (["--warmup"], "--warmup"),
    (["--accumbench", "/nonexistent/accumbench"], "--accumbench"),
    (["--min-time", "-1"], "--min-time"),
    (["--dump-backend", "tpu"], "--dump-backend"),
    (["--dump-backend"], "--dump-backend"),
]


def test_bad_input(bin_):
    for args, flag in BAD:
        full = list(args) if "--accumbench" in args else list(args) + ["--accumbench", bin_]
        p, _ = peer("run", "--backend", "cpu", *full, timeout=60)
        lines = p.stderr.splitlines()
        check(p.returncode == 2 and not p.stdout and len(lines) == 1 and lines[0].startswith("torch_peer: ")
              and flag in lines[0],
              f"run {' '.join(args)}: exit {p.returncode}, stderr {lines[:2]}")


# --- (f) configuration from accumbench, --min-time ---------------------------------

def test_config_and_min_time(bin_, work):
    flags = "--backend cpu --model mlp --input-dim 256 --hidden 64 --layers 2 --micro-batch 8 --iter-size 2"
    min_time = 0.3
    out = os.path.join(work, "out-min-time")
    if os.path.exists(out):
        shutil.rmtree(out)
    p, dt = peer("run", *flags.split(), "--warmup", "1", "--noise", "0.5", "--min-time", str(min_time),
                 "--max-steps", "100000", "--max-time", "60", "--out", out, "--accumbench", bin_)
    try:
        _, res = read_csv(os.path.join(out, "results.csv"))
        _, steps = read_csv(os.path.join(out, "steps.csv"))
    except OSError as e:
        check(False, f"--min-time run: {e} (exit {p.returncode}): {p.stderr}")
        return
    row = dict(zip(res[0], res[1]))
    a, _ = sh([bin_, "run"] + flags.split() + ["--print-config"])
    key = json.loads(a.stdout)["key_columns"] if a.returncode == 0 else []
    check(len(key) > 15 and all(row[k] == str(json.loads(a.stdout)["row"][k]) for k in key
                                if k not in ("engine", "backend", "repeat") and row[k] != ""),
          f"the peer's key columns are the configuration accumbench --print-config derives ({len(key)} columns)")
    col = steps[0].index("step_ns")
    timed = [float(r[col]) * 1e-9 for r in steps[1:] if r[steps[0].index("kind")] == "timed"]
    check(row["stop_reason"] == "noise" and len(timed) == int(row["steps_timed"]) and
          sum(timed) >= min_time > sum(timed[:-1]),
          f"--min-time {min_time}: stopped by {row['stop_reason']} after {len(timed)} steps, {sum(timed):.3f} s timed "
          f"({sum(timed[:-1]):.3f} s before the last; {dt:.1f} s in all)")


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    bin_, work = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.makedirs(work, exist_ok=True)
    t0 = time.monotonic()
    print("== (d) bad input")
    test_bad_input(bin_)
    print("== (a) gradients")
    test_gradients(bin_, work)
    print("== (c) --out files")
    test_outputs(bin_, work)
    print("== (b) memory")
    test_memory(bin_)
    print("== (f) configuration from accumbench, --min-time")
    test_config_and_min_time(bin_, work)
    print("== (e) sweep with engines = accumbench, torch")
    test_sweep(bin_, work)
    print("== (g) --recompute side by side")
    test_recompute(bin_, work)
    print(f"\npeer_test: {'all ok' if not failures else f'{len(failures)} FAILED'} "
          f"({time.monotonic() - t0:.0f} s)")
    return 0 if not failures else 1


ENV = dict(os.environ)
ENV.setdefault("OPENBLAS_NUM_THREADS", "1")
# ctest runs tests side by side on 2 cores: libgomp's spin-waiting threads
# then slow torch's CPU ops 10-100x; sleeping waits keep the test's few steps fast
ENV.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ENV["ACCUMBENCH_BIN"] = ""          # the tests name the binary with --accumbench

if __name__ == "__main__":
    sys.exit(main())
