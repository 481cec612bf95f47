"""bench/peer/torch_models.py — accumbench's three models rebuilt in PyTorch, and
the `verify --dump` format read back. Shared by the PyTorch peer
(bench/peer/torch_peer.py) and the gradient cross-check
(tests/torch_crosscheck.py), so both build exactly the same modules.

Conventions (design.md "Models" and "verify --dump DIR"):
  mlp  D -> [Linear(H, bias) -> ReLU] x L -> Linear(10, bias), weights [out, in]
  cnn  CIFAR ResNet: stem conv3x3 (no bias) -> norm -> ReLU; stage s has width
       w*2^s and `blocks` basic blocks, the first block of stage s>0 has stride
       2 on conv1 and a projection (conv1x1 stride 2, no bias -> norm); global
       average pool -> Linear(10). Norms: BatchNorm2d (eps 1e-5, momentum 0.1),
       GroupNorm(min(8, C), C, eps 1e-5), or none.
  gpt  nanoGPT's layout and names: wte + wpe, pre-LN blocks (ln_1, causal
       attention c_attn/c_proj, ln_2, c_fc -> GELU(tanh) -> c_proj), ln_f, the
       head tied to wte; tokens and targets int64 (m, T), the loss the mean CE
       over the m*T tokens.
Parameters are registered in canonical order (forward order, weight before
bias; in a block conv1, norm1, conv2, norm2, proj), so named_parameters()
lists them exactly as the manifest does.
Loss of micro-batch i = w_i * mean CE_i, w_i: mean 1/k, global m_i/B, sum 1.

Recomputation (--recompute blocks, design.md "Recomputation"): each block
(an mlp Linear+ReLU layer, a cnn basic block, a gpt transformer block; not
the stem, embeddings or head) runs through torch.utils.checkpoint.checkpoint
(use_reentrant=False): forward keeps the block's input, and backward reruns
the block's forward when it first needs a tensor the block saved. That
rerun is marked as phase `recompute` of the micro-batch whose forward it
repeats, and its BatchNorm layers normalise with the batch statistics (as
the first pass did) but leave the running statistics and
num_batches_tracked alone: torch's checkpoint alone would update them a
second time. accumbench does the same (momentum 0 on its second pass)."""
import contextlib
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

STRATEGIES = ("full", "retain", "accumulate")
NUM_CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)


class CheckError(Exception):
    """The dump cannot be used: malformed manifest, shape or name mismatch."""


# --- recomputation ------------------------------------------------------------

@contextlib.contextmanager
def running_statistics_kept(block):
    """block's BatchNorm layers normalise with the batch's statistics, as in
    training, and leave running_mean, running_var and num_batches_tracked as
    they were: momentum 0 makes the update (1 - 0) * old + 0 * batch = old,
    and the counter is put back. (Passing no running buffers instead would
    change what batch_norm saves for backward, which torch's checkpoint
    requires to match the first pass tensor for tensor.)"""
    norms = [m for m in block.modules() if isinstance(m, nn.BatchNorm2d)]
    kept = [(m.momentum, m.num_batches_tracked.clone()) for m in norms]
    for m in norms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, count) in zip(norms, kept):
            m.momentum = momentum
            m.num_batches_tracked.copy_(count)


class BlockCheckpoint:
    """Runs a block through torch.utils.checkpoint.checkpoint(use_reentrant=
    False). torch calls the wrapped function once in forward and again in
    backward (the recompute), which is where it is marked: phase(
    "recompute", micro_batch). micro_batch is the forward's, set by
    strategy_passes; recomputed counts the reruns (tests check it)."""

    def __init__(self, phase=None):
        self.phase = phase or _no_phase
        self.micro_batch = 0
        self.recomputed = 0

    def __call__(self, block, x):
        passes, micro_batch = 0, self.micro_batch

        def run(inp):
            nonlocal passes
            passes += 1
            if passes == 1:
                return block(inp)
            self.recomputed += 1
            with self.phase("recompute", micro_batch), running_statistics_kept(block):
                return block(inp)

        # the models draw no random numbers: no RNG state to stash and restore
        return checkpoint(run, x, use_reentrant=False, preserve_rng_state=False)


RECOMPUTE = ("none", "blocks")


def set_recompute(model, mode, phase=None):
    """--recompute none|blocks on a built model; phase marks the recompute
    (as strategy_passes' phase argument)."""
    if mode not in RECOMPUTE:
        raise CheckError(f"recompute = {mode!r}: expected none or blocks")
    model.recompute = BlockCheckpoint(phase) if mode == "blocks" else None
    return model.recompute


class BlockModel(nn.Module):
    """A model whose forward runs its blocks through run_block, so that
    set_recompute can checkpoint them."""
    recompute = None

    def run_block(self, block, x):
        return block(x) if self.recompute is None else self.recompute(block, x)


# --- models, parameter names as in design.md --------------------------------

class LinearReLU(nn.Linear):
    """One mlp block; a Linear subclass so its parameters keep the names
    layers.i.weight and layers.i.bias."""

    def forward(self, x):
        return F.relu(super().forward(x))


class MLP(BlockModel):
    def __init__(self, input_dim, hidden, layers):
        super().__init__()
        dims = [input_dim] + [hidden] * layers
        self.layers = nn.ModuleList(LinearReLU(dims[i], dims[i + 1]) for i in range(layers))
        self.fc = nn.Linear(dims[-1], NUM_CLASSES)

    def forward(self, x):
        for layer in self.layers:
            x = self.run_block(layer, x)
        return self.fc(x)


def make_norm(kind, channels):
    if kind == "batch":
        return nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels, eps=1e-5)
    if kind == "none":
        return nn.Identity()
    raise CheckError(f"manifest model.norm = {kind!r}: expected batch, group or none")


class ConvNorm(nn.Module):
    """conv (no bias) -> norm; the stem and the projection shortcut."""

    def __init__(self, cin, cout, kernel, stride, norm):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)
        self.norm = make_norm(norm, cout)

    def forward(self, x):
        return self.norm(self.conv(x))


class BasicBlock(nn.Module):
    # registration order = canonical order: conv1, norm1, conv2, norm2, proj
    def __init__(self, cin, cout, stride, norm):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.norm1 = make_norm(norm, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.norm2 = make_norm(norm, cout)
        self.proj = ConvNorm(cin, cout, 1, stride, norm) if (stride != 1 or cin != cout) else None

    def forward(self, x):
        out = F.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return F.relu(out + (self.proj(x) if self.proj is not None else x))


class ResNet(BlockModel):
    """CIFAR ResNet: stem conv3x3 -> norm -> ReLU; stage s has width w*2^s and
    `blocks` basic blocks, the first block of stage s>0 has stride 2 and a
    projection; global average pool -> Linear(10)."""

    def __init__(self, width, stages, blocks, norm):
        super().__init__()
        self.stem = ConvNorm(3, width, 3, 1, norm)
        self.stages = nn.ModuleList()
        cin = width
        for s in range(stages):
            cout = width << s
            self.stages.append(nn.ModuleList(
                BasicBlock(cin if b == 0 else cout, cout, 2 if (s > 0 and b == 0) else 1, norm)
                for b in range(blocks)))
            cin = cout
        self.fc = nn.Linear(cin, NUM_CLASSES)

    def forward(self, x):
        x = F.relu(self.stem(x))
        for stage in self.stages:
            for block in stage:
                x = self.run_block(block, x)
        return self.fc(x.mean(dim=(2, 3)))


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, heads):
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(d_model, 3 * d_model)
        self.c_proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        n, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(n, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(c // self.heads))
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        att = F.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).reshape(n, t, c))


class GPTMLP(nn.Module):
    def __init__(self, d_model):
        super().__init__()
        self.c_fc = nn.Linear(d_model, 4 * d_model)
        self.c_proj = nn.Linear(4 * d_model, d_model)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class GPTBlock(nn.Module):
    def __init__(self, d_model, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model, eps=1e-5)
        self.attn = CausalSelfAttention(d_model, heads)
        self.ln_2 = nn.LayerNorm(d_model, eps=1e-5)
        self.mlp = GPTMLP(d_model)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(BlockModel):
    """Logits come back as (m*T, V) so the loss is cross_entropy against the
    targets flattened to (m*T): the mean over every token of the micro-batch."""

    def __init__(self, vocab, seq, d_model, heads, layers):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab, d_model),
            wpe=nn.Embedding(seq, d_model),
            h=nn.ModuleList(GPTBlock(d_model, heads) for _ in range(layers)),
            ln_f=nn.LayerNorm(d_model, eps=1e-5)))

    def forward(self, idx):
        tr = self.transformer
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = tr.wte(idx) + tr.wpe(pos)
        for block in tr.h:
            x = self.run_block(block, x)
        logits = F.linear(tr.ln_f(x), tr.wte.weight)
        return logits.reshape(-1, logits.shape[-1])


def build_model(m):
    """m: the manifest's model object (snake_case model flags); its recompute
    (none when absent: dumps made before --recompute) is set on the model."""
    kind = m.get("model")
    try:
        if kind == "mlp":
            model = MLP(int(m["input_dim"]), int(m["hidden"]), int(m["layers"]))
        elif kind == "cnn":
            model = ResNet(int(m["width"]), int(m["stages"]), int(m["blocks"]), m["norm"])
        elif kind == "gpt":
            model = GPT(int(m["vocab"]), int(m["seq"]), int(m["d_model"]), int(m["heads"]), int(m["layers"]))
        else:
            raise CheckError(f"manifest model.model = {kind!r}: expected mlp, cnn or gpt")
    except KeyError as e:
        raise CheckError(f"manifest model object lacks key {e} for model {kind!r}")
    set_recompute(model, m.get("recompute", "none"))
    return model


def sample_shape(m):
    """Shape of one input sample for the manifest's model object."""
    if m["model"] == "gpt":
        return [int(m["seq"])]
    return [int(m["input_dim"])] if m["model"] == "mlp" else list(IMAGE_SHAPE)


def data_spec(m):
    """(input dtype, one sample's target shape, number of classes) for the
    manifest's model object: gpt has int64 tokens and a target per token."""
    if m["model"] == "gpt":
        return np.int64, [int(m["seq"])], int(m["vocab"])
    return np.float32, [], NUM_CLASSES


def micro_batch_loss(model, x, y, micro_batch=1):
    """mean cross-entropy of one micro-batch (its 1-based number: what a
    recompute of its blocks is marked with): over its samples, or gpt's tokens"""
    if model.recompute is not None:
        model.recompute.micro_batch = micro_batch
    return F.cross_entropy(model(x), y.reshape(-1))


def loss_weights(loss_norm, micro_batches):
    k, b = len(micro_batches), sum(micro_batches)
    return {"mean": [1.0 / k] * k, "global": [m / b for m in micro_batches], "sum": [1.0] * k}[loss_norm]


def load_params(model, params):
    """Copies dumped float32 arrays (canonical order) into the model."""
    with torch.no_grad():
        for p, a in zip(model.parameters(), params):
            p.copy_(torch.from_numpy(a).to(device=p.device, dtype=p.dtype))


# --- the dump ----------------------------------------------------------------

def load_npy(d, name, dtype):
    path = os.path.join(d, name)
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise CheckError(f"{path}: cannot read as .npy: {e}")
    if a.dtype.str != np.dtype(dtype).newbyteorder("<").str:
        raise CheckError(f"{path}: dtype {a.dtype}, expected little-endian {np.dtype(dtype).name}")
    return a


def load_grads(d, man, params, strategies=STRATEGIES):
    """accumbench's gradients from a dump: {strategy: [array per parameter]}."""
    grads = {}
    for s in strategies:
        files = man["grads"].get(s)
        if files is None:
            raise CheckError(f"manifest grads lacks strategy {s!r}")
        if len(files) != len(params):
            raise CheckError(f"grads.{s}: {len(files)} files for {len(params)} parameters")
        grads[s] = []
        for f, p, a in zip(files, man["params"], params):
            g = load_npy(d, f, np.float32)
            if g.shape != a.shape:
                raise CheckError(f"{f}: gradient shape {list(g.shape)} != parameter {p['name']} {list(a.shape)}")
            grads[s].append(g)
    return grads


def load_dump(d, with_grads=True):
    """Reads a `verify --dump` directory: (manifest, torch model, params,
    inputs, targets, grads); grads is None unless with_grads (a caller that
    computes gradients itself need not see accumbench's)."""
    try:
        with open(os.path.join(d, "manifest.json")) as f:
            man = json.load(f)
    except (OSError, ValueError) as e:
        raise CheckError(f"{d}/manifest.json: {e}")
    keys = ("model", "micro_batches", "loss_norm", "params", "inputs", "targets") + (("grads",) if with_grads else ())
    for key in keys:
        if key not in man:
            raise CheckError(f"manifest.json lacks key {key!r}")
    model = build_model(man["model"])
    ours = [(n, list(p.shape)) for n, p in model.named_parameters()]
    theirs = [(p.get("name"), list(p.get("shape", []))) for p in man["params"]]
    if ours != theirs:
        lines = [f"  {i:3d} {str(a):48s} {str(b):48s}{'' if a == b else '  <-- differs'}"
                 for i, (a, b) in enumerate(zip(ours + [None] * (len(theirs) - len(ours)),
                                                theirs + [None] * (len(ours) - len(theirs))))]
        raise CheckError("parameter names/shapes in the manifest differ from the torch model "
                         f"({len(theirs)} vs {len(ours)} tensors; canonical order is forward order):\n"
                         f"  {'#':>3} {'torch (name, shape)':48s} {'manifest (name, shape)':48s}\n"
                         + "\n".join(lines))
    params = []
    for p in man["params"]:
        a = load_npy(d, p["file"], np.float32)
        if list(a.shape) != list(p["shape"]):
            raise CheckError(f"{p['file']}: shape {list(a.shape)}, manifest says {p['shape']} for {p['name']}")
        params.append(a)

    mbs = [int(v) for v in man["micro_batches"]]
    if not mbs or any(v <= 0 for v in mbs):
        raise CheckError(f"micro_batches = {mbs}: expected positive sizes")
    if len(man["inputs"]) != len(mbs) or len(man["targets"]) != len(mbs):
        raise CheckError(f"{len(mbs)} micro-batches but {len(man['inputs'])} inputs and "
                         f"{len(man['targets'])} targets files")
    sample = sample_shape(man["model"])
    x_dtype, target_shape, classes = data_spec(man["model"])
    inputs, targets = [], []
    for i, (fi, ft, m) in enumerate(zip(man["inputs"], man["targets"], mbs)):
        x = load_npy(d, fi, x_dtype)
        y = load_npy(d, ft, np.int64)
        if list(x.shape) != [m] + sample:
            raise CheckError(f"{fi}: shape {list(x.shape)}, expected {[m] + sample} (micro-batch {i})")
        if list(y.shape) != [m] + target_shape:
            raise CheckError(f"{ft}: shape {list(y.shape)}, expected {[m] + target_shape} (micro-batch {i})")
        if y.min() < 0 or y.max() >= classes:
            raise CheckError(f"{ft}: targets outside 0..{classes - 1}")
        if x_dtype == np.int64 and (x.min() < 0 or x.max() >= classes):
            raise CheckError(f"{fi}: tokens outside 0..{classes - 1}")
        inputs.append(x)
        targets.append(y)
    if "effective_batch" in man and int(man["effective_batch"]) != sum(mbs):
        raise CheckError(f"effective_batch {man['effective_batch']} != sum of micro_batches {sum(mbs)}")
    if man["loss_norm"] not in ("mean", "global", "sum"):
        raise CheckError(f"loss_norm = {man['loss_norm']!r}: expected mean, global or sum")
    grads = load_grads(d, man, params) if with_grads else None
    return man, model, params, inputs, targets, grads


# --- one step's gradients ------------------------------------------------------

def strategy_passes(model, strategy, xs, ys, weights, phase=None):
    """The forward and backward passes of one optimizer step, adding into the
    parameters' .grad (zeroing is the caller's, once per step):
      full        one forward/backward over xs[0], ys[0] (the whole batch), mean CE
      retain      every micro-batch forwarded with its graph kept, loss =
                  sum_i w_i * meanCE_i, one backward (the thread's first recipe)
      accumulate  per micro-batch: forward, backward of w_i * meanCE_i
    phase(name, micro_batch) returns a context manager marking a phase (the
    peer's profiler ranges); None marks nothing."""
    if phase is None:
        phase = _no_phase
    if strategy == "full":
        with phase("forward", 1):
            loss = micro_batch_loss(model, xs[0], ys[0])
        with phase("backward", 1):
            loss.backward()
    elif strategy == "retain":
        total = None
        for i, (w, x, y) in enumerate(zip(weights, xs, ys)):
            with phase("forward", i + 1):
                loss = micro_batch_loss(model, x, y, i + 1)
                if w != 1.0:
                    loss = loss * w
                total = loss if total is None else total + loss
        # one backward through every micro-batch: no single micro-batch owns it
        with phase("backward", 0):
            total.backward()
    elif strategy == "accumulate":
        for i, (w, x, y) in enumerate(zip(weights, xs, ys)):
            with phase("forward", i + 1):
                loss = micro_batch_loss(model, x, y, i + 1)
                if w != 1.0:
                    loss = loss * w
            with phase("backward", i + 1):
                loss.backward()
    else:
        raise ValueError(f"strategy {strategy!r}")


class _NoPhase:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NO_PHASE = _NoPhase()


def _no_phase(name, micro_batch):
    return _NO_PHASE


def strategy_grads(model, strategy, xs, ys, weights):
    """One step's gradients with strategy (no update): a list of tensors, one
    per parameter in canonical order. xs/ys are the micro-batches; full runs
    them concatenated."""
    model.train()
    model.zero_grad(set_to_none=False)
    if strategy == "full":
        xs, ys = [torch.cat(xs)], [torch.cat(ys)]
    strategy_passes(model, strategy, xs, ys, weights)
    return [p.grad.detach().clone() for p in model.parameters()]


def reference_grads(man, model, params, inputs, targets, dtype=torch.float64, device="cpu"):
    """Every strategy's gradients from dumped parameters and data, computed in
    dtype on device: {strategy: [numpy array per parameter]}."""
    model = model.to(device=device, dtype=dtype).train()
    load_params(model, params)
    xs = [torch.from_numpy(x).to(device=device, dtype=dtype if x.dtype == np.float32 else torch.int64)
          for x in inputs]
    ys = [torch.from_numpy(y.astype(np.int64)).to(device) for y in targets]
    w = loss_weights(man["loss_norm"], [len(y) for y in targets])
    return {s: [g.cpu().numpy().copy() for g in strategy_grads(model, s, xs, ys, w)] for s in STRATEGIES}


def rel_err(a, b):
    """max|a-b| / max|b| (max|a-b| when max|b| == 0), in float64."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    return diff / scale if scale > 0 else diff
