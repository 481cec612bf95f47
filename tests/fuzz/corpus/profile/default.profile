# default — the GPU profile: what `make bench` runs where a GPU is usable.
#
# ResNet-18 for CIFAR (cnn, width 64, 4 stages of 2 basic blocks) with
# BatchNorm and GroupNorm, and the default MLP (3072 -> [1024] x 3 -> 10),
# under the three strategies, micro-batch 8 ... 256 and iter_size 1 ... 16
# (powers of 2): the memory/throughput trade of accumulation across the
# whole range a CIFAR model is trained at. Large retain and full
# configurations may run out of device memory; they are rows with status oom.
#
# 210 configurations (full keeps one per effective batch, 8 ... 4096).
# Expected duration: about 20-40 minutes on one H100 (an estimate from the
# stopping rule: each run is a process start and CUDA/cuDNN setup, warm-up,
# and at most 10 s of timed steps; not yet measured on a GPU).
# backend = cuda: on a machine without a usable GPU the sweep stops with exit
# 2 at its first run (no CPU fallback).

backend = cuda
engines = accumbench
models = mlp, cnn

width = 64
stages = 4
blocks = 2
norm = batch, group

strategies = full, retain, accumulate
micro_batch = 8, 16, 32, 64, 128, 256
iter_size = 1, 2, 4, 8, 16

warmup = 3
min_steps = 10
max_steps = 1000
max_time = 10
timeout = 300
