# gpu-smoke — the bundle's sweep (scripts/gpu-bundle.sh, validate.sh part
# `smoke`): every strategy of both models through the sweep machinery on the
# GPU, twice, in one short call: fragments, CSVs, the memory figures of each
# strategy, CUPTI kernels per phase, AdamW's update kernels.
#
# ResNet-18 for CIFAR (cnn, width 64, 4 stages of 2 basic blocks,
# BatchNorm) and the default MLP (3072 -> [1024] x 3 -> 10), micro-batch 64:
# retain and accumulate at iter_size 1 and 4, full at the same effective
# batches (64 and 256; full keeps one configuration per effective batch).
# conv_algo stays heuristic here; the gpu-peer profile runs find.
#
# 12 configurations x 2 repeats = 24 runs.
# Expected duration: about 1.6 minutes on one H200, within the bundle's
# 120 s smoke budget (an estimate, not yet measured on a GPU): a run is
# ~1.5 s of process, CUDA context and library handles, 3 warm-up steps, at
# most max_time = 1 s of timed steps and the profiled steps: ~4 s, 24 x 4 =
# 96 s. One ResNet-18 step at 64 x 4 in fp32 is ~20 ms, so 1 s holds ~50
# timed steps. backend = cuda: without a usable GPU the sweep stops with
# exit 2 at its first run (no CPU fallback).

backend = cuda
engines = accumbench
models = mlp, cnn

width = 64
stages = 4
blocks = 2
norm = batch

strategies = full, retain, accumulate
micro_batch = 64
iter_size = 1, 4
optimizer = adamw

repeat = 2
warmup = 3
min_steps = 10
max_steps = 1000
max_time = 1
timeout = 40
