# gpu-smoke — the bundle's sweep (scripts/gpu-bundle.sh, validate.sh part
# `smoke`): every strategy and model through the sweep machinery on the
# GPU, twice, in one short call: fragments, CSVs, the memory figures of each
# strategy, CUPTI kernels per phase (recompute included), AdamW's update
# kernels.
#
# ResNet-18 for CIFAR (cnn, width 64, 4 stages of 2 basic blocks,
# BatchNorm), micro-batch 64: retain and accumulate at iter_size 1 and 4,
# full at the same effective batches (64 and 256; full keeps one
# configuration per effective batch). The default MLP (3072 -> [1024] x 3
# -> 10) at iter_size 4 only: full at 256, retain and accumulate at 64 x 4.
# GPT-2 small (vocab 50257, 1024 tokens, width 768, 12 heads, 12 layers),
# retain and accumulate at 2 x 2 with recompute = blocks (the recomputed
# forward on the GPU; gpu-peer runs GPT-2 small without it).
# conv_algo stays heuristic here; the gpu-peer profile runs find.
#
# 11 configurations (cnn 6, mlp 3, gpt 2) x 2 repeats = 22 runs.
# Expected duration: about 1.6 minutes on one H200, within the bundle's
# 120 s smoke budget (an estimate, not yet measured on a GPU): an MLP or
# ResNet run is ~1.5 s of process, CUDA context and library handles, 3
# warm-up steps, at most max_time = 1 s of timed steps and the profiled
# steps: ~4 s, 18 x 4 = 72 s. One ResNet-18 step at 64 x 4 in fp32 is
# ~20 ms, so 1 s holds ~50 timed steps. A GPT-2 small run is ~3 s of setup
# (124M parameters initialised and copied) and 16 steps (3 warm-up, the
# 10-step minimum, 3 profiled) of ~0.2 s at 2 x 2 recomputing: ~6 s, 4 x 6 =
# 24 s. backend = cuda: without a usable GPU the sweep stops with exit 2 at
# its first run (no CPU fallback).

backend = cuda
engines = accumbench
models = mlp, cnn, gpt

width = 64
stages = 4
blocks = 2
norm = batch

# gpt: GPT-2 small (mlp keeps run's 3 layers)
vocab = 50257
seq = 1024
d_model = 768
heads = 12
gpt.layers = 12
gpt.strategies = retain, accumulate
gpt.micro_batch = 2
gpt.iter_size = 2
gpt.recompute = blocks

strategies = full, retain, accumulate
micro_batch = 64
iter_size = 1, 4
mlp.iter_size = 4
optimizer = adamw

repeat = 2
warmup = 3
min_steps = 10
max_steps = 1000
max_time = 1
timeout = 40
