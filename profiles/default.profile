# default — the GPU profile: what `make bench` runs where a GPU is usable.
#
# ResNet-18 for CIFAR (cnn, width 64, 4 stages of 2 basic blocks) with
# BatchNorm and GroupNorm, and the default MLP (3072 -> [1024] x 3 -> 10),
# under the three strategies, micro-batch 8, 32, 128 and iter_size 1 ... 16
# (powers of 2): the memory/throughput trade of accumulation across the
# range a CIFAR model is trained at. Large retain and full configurations
# may run out of device memory; they are rows with status oom.
#
# 117 configurations (full keeps one per effective batch, 8 ... 2048) x 3
# repeats = 351 runs, in 3 rounds (every configuration's repeat r, shuffled,
# before any repeat r + 1). Micro-batches 16, 64 and 256 and 10 s of timed
# steps per run were given up to make room for the repeats.
# Expected duration: about 20-30 minutes on one H100/H200 (an estimate: each
# run is a process start and CUDA/cuDNN setup, warm-up, and at most 3 s of
# timed steps, 3-5 s in all; not yet measured on a GPU).
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
micro_batch = 8, 32, 128
iter_size = 1, 2, 4, 8, 16

repeat = 3
warmup = 3
min_steps = 10
max_steps = 1000
max_time = 3
timeout = 300
