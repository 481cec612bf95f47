#!/usr/bin/env python3
"""tests/torch_crosscheck.py — an independent PyTorch reference for `verify --dump`.

From a dump directory (manifest.json + .npy files, see design.md "verify
--dump DIR") it rebuilds the model in torch from the manifest's model flags
(bench/peer/torch_models.py, the modules the PyTorch peer runs), loads the dumped parameters, inputs and targets, and computes every strategy's
gradients itself in float64; accumbench's gradients are only read to be
compared, never used to compute:
  full        one forward/backward over all micro-batches concatenated, mean CE
  retain      each micro-batch forwarded separately (BatchNorm statistics per
              micro-batch), loss = sum_i w_i * meanCE_i, one backward
  accumulate  per micro-batch: backward of w_i * meanCE_i, gradients adding up
  w_i: mean 1/k, global m_i/B, sum 1  (k micro-batches, B = sum m_i)
Per tensor: rel = max|a-b| / max|b| (max|a-b| when max|b| == 0); any rel above
--tol is a failure (exit 1). The float64 reference never recomputes.

A dump made with --recompute blocks is also checked against the peer's own
recomputation (torch.utils.checkpoint per block, torch_models.py
set_recompute): torch's float32 gradients with checkpointing must be within
--tol of float64 as they are without; every block of every forward must have
been recomputed once (blocks x forwards of the three strategies); and the
BatchNorm running statistics after the three strategies must equal those
without checkpointing exactly (updated once per forward). A run with the
peer's guard on the running statistics removed must differ there, or the
check could not fail.

Usage:
  torch_crosscheck.py --dump DIR [--tol 1e-4]
  torch_crosscheck.py --accumbench PATH --workdir DIR [--tol 1e-4]
The second form is the ctest test: it runs `accumbench verify --backend cpu
... --dump` for a list of small mlp/cnn/gpt configurations, checks each dump, then
perturbs one dumped weight in a copy and requires the check to fail. Missing
torch or numpy is a failure, never a skip."""
import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys

# the models and the dump reader are shared with the PyTorch peer
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "peer"))
try:
    import numpy as np
    import torch
    import torch_models
    from torch_models import (STRATEGIES, CheckError, build_model, load_dump, reference_grads,
                              rel_err, set_recompute)
except ImportError as e:  # never a silent skip: CI must have torch and numpy
    print(f"torch_crosscheck: FAIL: cannot import torch and numpy with {sys.executable}: {e}\n"
          "  install python3-torch and python3-numpy (scripts/deps.sh) or set ACCUMBENCH_PYTHON",
          file=sys.stderr)
    sys.exit(1)


def crosscheck(d, tol, out=sys.stdout):
    """Checks one dump directory; returns True when every tensor agrees.
    Structural problems (manifest vs model) print a message and return False."""
    try:
        man, model, params, inputs, targets, grads = load_dump(d)
    except CheckError as e:
        print(f"FAIL {d}: {e}", file=out)
        return False
    set_recompute(model, "none")
    ref = reference_grads(man, model, params, inputs, targets)
    names = [p["name"] for p in man["params"]]
    mbs = man["micro_batches"]
    mm = man["model"]
    desc = {"mlp": lambda: f"mlp D={mm['input_dim']} H={mm['hidden']} L={mm['layers']}",
            "cnn": lambda: f"cnn w={mm['width']} S={mm['stages']} b={mm['blocks']} norm={mm['norm']}",
            "gpt": lambda: f"gpt V={mm['vocab']} T={mm['seq']} C={mm['d_model']} H={mm['heads']} L={mm['layers']}"
            }[mm["model"]]()
    print(f"{d}: {desc}, loss-norm {man['loss_norm']}, micro-batches {mbs}; "
          f"rel = max|accumbench - torch float64| / max|torch|, tol {tol:g}", file=out)
    width = max(max(len(n) for n in names), len("torch f32 checkpoint")) + 2
    print(f"  {'parameter':{width}s}" + "".join(f"{s:>12s}  " for s in STRATEGIES), file=out)
    ok = True
    worst = {s: 0.0 for s in STRATEGIES}
    for i, name in enumerate(names):
        cells = []
        for s in STRATEGIES:
            r = rel_err(grads[s][i], ref[s][i])
            worst[s] = max(worst[s], r)
            bad = not (r <= tol)        # NaN fails too
            ok &= not bad
            cells.append(f"{r:12.3e}{' !' if bad else '  '}")
        print(f"  {name:{width}s}" + "".join(cells), file=out)
    print(f"  {'max':{width}s}" + "".join(f"{worst[s]:12.3e}  " for s in STRATEGIES)
          + ("  ok" if ok else f"  FAIL (! = rel > {tol:g})"), file=out)
    if not ok:
        # a yardstick for the failure: how far torch's own float32 gradients
        # are from float64 here (deep BatchNorm over few values is
        # ill-conditioned: float32 itself can be 1e-3 off)
        ref32 = reference_grads(man, plain_model(man), params, inputs, targets, torch.float32)
        own = {s: max(rel_err(a, b) for a, b in zip(ref32[s], ref[s])) for s in STRATEGIES}
        print(f"  {'torch float32':{width}s}" + "".join(f"{own[s]:12.3e}  " for s in STRATEGIES)
              + "  (torch's own float32 error: near accumbench's = float32 conditioning, far below = a bug)",
              file=out)
        if mm["model"] == "cnn":
            # oneDNN's direct convolution can be far more accurate than
            # im2col + GEMM, the algorithm accumbench's CPU backend uses;
            # torch without oneDNN runs im2col + GEMM too (slow_conv2d)
            with torch.backends.mkldnn.flags(enabled=False):
                ref_i2c = reference_grads(man, plain_model(man), params, inputs, targets, torch.float32)
            own = {s: max(rel_err(a, b) for a, b in zip(ref_i2c[s], ref[s])) for s in STRATEGIES}
            print(f"  {'torch f32 im2col':{width}s}" + "".join(f"{own[s]:12.3e}  " for s in STRATEGIES)
                  + "  (the same with torch's im2col + GEMM convolution, accumbench's algorithm)", file=out)
    if mm.get("recompute", "none") == "blocks":
        ok &= check_checkpointing(man, params, inputs, targets, ref, tol, width, out)
    return ok


# --- the peer's recomputation (torch.utils.checkpoint) -------------------------

def plain_model(man):
    model = build_model(man["model"])
    set_recompute(model, "none")
    return model


def block_count(mm):
    """blocks recomputed per forward (design.md "Recomputation")"""
    return int(mm["stages"]) * int(mm["blocks"]) if mm["model"] == "cnn" else int(mm["layers"])


def float32_run(man, params, inputs, targets, recompute):
    """torch float32 gradients per strategy with recompute, the model's
    buffers after the three strategies, and the blocks it recomputed"""
    model = build_model(man["model"])
    ck = set_recompute(model, recompute)
    grads = reference_grads(man, model, params, inputs, targets, torch.float32)
    return grads, [b.detach().clone() for b in model.buffers()], (ck.recomputed if ck else 0)


def check_checkpointing(man, params, inputs, targets, ref, tol, width, out):
    """The peer's checkpointed float32 gradients against float64 (as those
    without), its recompute count and BatchNorm running statistics."""
    ck32, ck_bufs, recomputed = float32_run(man, params, inputs, targets, "blocks")
    plain32, plain_bufs, _ = float32_run(man, params, inputs, targets, "none")
    worst_ck = {s: max(rel_err(a, b) for a, b in zip(ck32[s], ref[s])) for s in STRATEGIES}
    worst_plain = {s: max(rel_err(a, b) for a, b in zip(plain32[s], ref[s])) for s in STRATEGIES}
    ok = all(v <= tol for v in worst_ck.values())
    same = all(np.array_equal(a, b) for s in STRATEGIES for a, b in zip(ck32[s], plain32[s]))
    print(f"  {'torch f32 checkpoint':{width}s}" + "".join(f"{worst_ck[s]:12.3e}  " for s in STRATEGIES)
          + ("  ok" if ok else f"  FAIL (> {tol:g})") + (", bit-identical to without" if same else ""), file=out)
    print(f"  {'torch f32 without':{width}s}" + "".join(f"{worst_plain[s]:12.3e}  " for s in STRATEGIES), file=out)
    k = len(man["micro_batches"])
    expected = block_count(man["model"]) * (1 + 2 * k)      # full once, retain and accumulate k forwards each
    counted = recomputed == expected
    print(f"  {'ok  ' if counted else 'FAIL'} blocks recomputed: {recomputed} (expected {expected} = "
          f"{block_count(man['model'])} blocks x {1 + 2 * k} forwards)", file=out)
    ok &= counted
    if man["model"]["model"] == "cnn" and man["model"]["norm"] == "batch":
        ok &= check_running_statistics(man, params, inputs, targets, ck_bufs, plain_bufs, out)
    return ok


def check_running_statistics(man, params, inputs, targets, ck_bufs, plain_bufs, out):
    """BatchNorm buffers equal with and without checkpointing; and differ
    when the peer's guard (running_statistics_kept) is taken away."""
    same = all(torch.equal(a, b) for a, b in zip(ck_bufs, plain_bufs))
    print(f"  {'ok  ' if same else 'FAIL'} BatchNorm running statistics with checkpointing equal those without "
          f"({len(ck_bufs)} buffers)", file=out)
    kept = torch_models.running_statistics_kept
    torch_models.running_statistics_kept = lambda block: contextlib.nullcontext()
    try:
        _, bare_bufs, _ = float32_run(man, params, inputs, targets, "blocks")
    finally:
        torch_models.running_statistics_kept = kept
    caught = not all(torch.equal(a, b) for a, b in zip(bare_bufs, plain_bufs))
    print(f"  {'ok  ' if caught else 'FAIL'} without the peer's guard torch's recompute updates them again: "
          f"{'they differ' if caught else 'no difference seen'}", file=out)
    return same and caught


# --- the ctest test -----------------------------------------------------------

MLP_FLAGS = "--model mlp --input-dim 64 --hidden 32 --layers 2"
CNN_FLAGS = "--model cnn --width 8 --stages 2 --blocks 1"
GPT_FLAGS = "--model gpt --vocab 48 --seq 8 --d-model 16 --heads 4 --layers 2"
CONFIGS = [
    ("gpt-mean", f"{GPT_FLAGS} --loss-norm mean --micro-batch 2 --iter-size 3"),
    ("gpt-mean-ragged", f"{GPT_FLAGS} --loss-norm mean --effective-batch 5 --micro-batch 2"),
    ("gpt-global-ragged", f"{GPT_FLAGS} --loss-norm global --effective-batch 5 --micro-batch 2 --seed 3"),
    ("gpt-sum", f"{GPT_FLAGS} --loss-norm sum --micro-batch 3 --iter-size 2"),
    ("mlp-mean", f"{MLP_FLAGS} --loss-norm mean --micro-batch 4 --iter-size 3"),
    ("mlp-mean-ragged", f"{MLP_FLAGS} --loss-norm mean --effective-batch 10 --micro-batch 4"),
    ("mlp-global-ragged", f"{MLP_FLAGS} --loss-norm global --effective-batch 10 --micro-batch 4"),
    ("mlp-sum-ragged", f"{MLP_FLAGS} --loss-norm sum --effective-batch 10 --micro-batch 4 --seed 7"),
    ("cnn-batch-mean", f"{CNN_FLAGS} --norm batch --loss-norm mean --micro-batch 2 --iter-size 3"),
    ("cnn-batch-global-ragged", f"{CNN_FLAGS} --norm batch --loss-norm global --effective-batch 5 --micro-batch 2"),
    ("cnn-batch-sum", f"{CNN_FLAGS} --norm batch --loss-norm sum --micro-batch 3 --iter-size 2"),
    ("cnn-group-mean-ragged", f"{CNN_FLAGS} --norm group --loss-norm mean --effective-batch 5 --micro-batch 2"),
    ("cnn-group-global", f"{CNN_FLAGS} --norm group --loss-norm global --micro-batch 2 --iter-size 2"),
    ("cnn-group-sum-ragged", f"{CNN_FLAGS} --norm group --loss-norm sum --effective-batch 7 --micro-batch 3"),
    ("cnn-none-mean", f"{CNN_FLAGS} --norm none --loss-norm mean --micro-batch 2 --iter-size 2"),
    ("cnn-none-global-ragged", f"{CNN_FLAGS} --norm none --loss-norm global --effective-batch 5 --micro-batch 2"),
    ("cnn-none-sum", f"{CNN_FLAGS} --norm none --loss-norm sum --micro-batch 2 --iter-size 3"),
    # deeper: identity blocks after the first, projections in stages 1 and 2
    ("cnn-batch-s3b2", "--model cnn --width 8 --stages 3 --blocks 2 --norm batch --loss-norm global "
                       "--effective-batch 5 --micro-batch 3 --seed 3"),
    # all six stages, BatchNorm down to 1x1. Fewer samples per micro-batch
    # make this ill-conditioned: at --micro-batch 2 or 4 torch's own float32
    # gradients are 4e-4..4e-3 off float64, as far as accumbench's are.
    # --recompute blocks: accumbench's dump, and the peer's torch.utils.checkpoint
    ("mlp-blocks", f"{MLP_FLAGS} --recompute blocks --loss-norm global --effective-batch 10 --micro-batch 4"),
    # micro-batches of 8: at 3 (a full batch of 6) torch's own float32 BatchNorm
    # gradients, checkpointed or not, are 3e-3 off float64 (see test (a) of
    # peer_test.py), so the comparison with float64 would say nothing
    ("cnn-batch-blocks", "--model cnn --width 8 --stages 3 --blocks 2 --norm batch --recompute blocks "
                         "--loss-norm mean --micro-batch 8 --iter-size 2 --seed 5"),
    ("gpt-blocks", f"{GPT_FLAGS} --recompute blocks --loss-norm sum --micro-batch 2 --iter-size 3"),
    ("cnn-batch-s6", "--model cnn --width 8 --stages 6 --blocks 1 --norm batch --loss-norm mean "
                     "--micro-batch 8 --iter-size 2"),
]
# dumps whose perturbed copy must fail the check: (config, parameter to perturb)
PERTURB = [("mlp-global-ragged", "layers.0.weight"), ("cnn-batch-mean", "stem.conv.weight"),
           ("cnn-group-global", "stages.1.0.conv2.weight"), ("gpt-global-ragged", "transformer.h.1.mlp.c_fc.weight")]


def perturb(src, dst, pname):
    """Copies dump src to dst with one element of parameter pname moved by
    1e-2 * max|w| (the element of largest |w|, so the change is not swallowed
    by a dead ReLU); returns a description."""
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    with open(os.path.join(dst, "manifest.json")) as f:
        man = json.load(f)
    entry = next(p for p in man["params"] if p["name"] == pname)
    path = os.path.join(dst, entry["file"])
    w = np.load(path)
    scale = float(np.max(np.abs(w)))
    idx = np.unravel_index(int(np.argmax(np.abs(w))), w.shape)
    w[idx] += np.float32(1e-2 * scale)
    np.save(path, w)
    return f"{pname}{list(map(int, idx))} += {1e-2 * scale:.3e}"


def run_tests(bin_, work, tol):
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    failures = []
    dumps = {}
    for name, flags in CONFIGS:
        d = os.path.join(work, name)
        if os.path.exists(d):
            shutil.rmtree(d)
        cmd = [bin_, "verify", "--backend", "cpu"] + flags.split() + ["--dump", d]
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=env, timeout=120)
        except subprocess.TimeoutExpired:
            print(f"FAIL {name}: accumbench verify did not finish in 120 s")
            failures.append(name)
            continue
        if p.returncode not in (0, 1) or not os.path.exists(os.path.join(d, "manifest.json")):
            print(p.stdout, end="")
            print(f"FAIL {name}: accumbench verify exited {p.returncode}"
                  + ("" if os.path.exists(os.path.join(d, "manifest.json")) else ", no manifest.json"))
            failures.append(name)
            continue
        if crosscheck(d, tol):
            dumps[name] = d
        else:
            print(p.stdout, end="")
            failures.append(name)
        sys.stdout.flush()

    # the check must be able to fail
    for name, pname in PERTURB:
        if name not in dumps:
            print(f"FAIL perturb {name}: no passing dump to perturb")
            failures.append(f"perturb {name}")
            continue
        d = dumps[name] + "-perturbed"
        what = perturb(dumps[name], d, pname)
        print(f"== perturbed {name}: {what}; the check must now fail", flush=True)
        if crosscheck(d, tol):
            print(f"FAIL perturb {name}: perturbing {what} went unnoticed")
            failures.append(f"perturb {name}")
        else:
            print(f"ok   perturb {name}: detected")
        shutil.rmtree(d)

    # and a manifest that names a parameter differently must fail clearly
    if "mlp-mean" in dumps:
        d = dumps["mlp-mean"] + "-renamed"
        if os.path.exists(d):
            shutil.rmtree(d)
        shutil.copytree(dumps["mlp-mean"], d)
        mp = os.path.join(d, "manifest.json")
        with open(mp) as f:
            man = json.load(f)
        man["params"][0]["name"] = "layer.0.weight"
        with open(mp, "w") as f:
            json.dump(man, f)
        if crosscheck(d, tol):
            print("FAIL renamed parameter: went unnoticed")
            failures.append("renamed")
        else:
            print("ok   renamed parameter: detected")
        shutil.rmtree(d)

    print(f"\ntorch_crosscheck: {len(CONFIGS)} configurations, {len(PERTURB)} perturbations: "
          + ("all ok" if not failures else f"{len(failures)} FAILED: {', '.join(failures)}"))
    return 0 if not failures else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dump", help="a `verify --dump` directory to check")
    ap.add_argument("--accumbench", help="run the test suite with this accumbench binary")
    ap.add_argument("--workdir", help="where the test suite writes its dumps")
    ap.add_argument("--tol", type=float, default=1e-4, help="max rel per tensor (default 1e-4)")
    a = ap.parse_args()
    if not (a.tol > 0):
        ap.error("--tol must be > 0")
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    if a.dump and not a.accumbench:
        return 0 if crosscheck(a.dump, a.tol) else 1
    if a.accumbench and a.workdir and not a.dump:
        return run_tests(a.accumbench, a.workdir, a.tol)
    ap.error("give either --dump DIR, or --accumbench PATH --workdir DIR")


if __name__ == "__main__":
    sys.exit(main())
