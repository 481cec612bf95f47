# default — the GPU profile: what `make bench` runs where a GPU is usable.
#
# Three models under the three strategies, each with the axes its cost
# allows (MODEL.KEY lines replace a key for one model):
# - the default MLP (3072 -> [1024] x 3 -> 10): micro-batch 8, 32, 128 x
#   iter_size 1, 4, 16;
# - ResNet-18 for CIFAR (cnn, width 64, 4 stages of 2 basic blocks) with
#   BatchNorm and GroupNorm: micro-batch 8 and 128 x iter_size 1, 4, 16,
#   each without and with activation recomputation (recompute = blocks);
# - GPT-2 small (vocab 50257, 1024 tokens, width 768, 12 heads, 12 layers):
#   micro-batch 4 x iter_size 1, 2, 4, without and with recomputation; at
#   least 5 timed steps after 2 warm-up ones (a step is ~0.15-0.6 s, a
#   third more recomputing).
# The memory/throughput trade of accumulation across the range each model
# is trained at, and recomputation's trade beside it (a larger micro-batch
# recomputing against a smaller one that does not). Every configuration
# fits an 80 GB GPU: the analytic peaks reach 23 GiB (GPT-2 small, retain
# 4 x 4 and full 16; ResNet-18's largest, retain 128 x 16, is 16 GiB).
#
# 109 configurations (full keeps one per effective batch: mlp 23, cnn 2
# norms x 2 x 17, gpt 2 x 9) x 3 repeats = 327 runs, in 3 rounds (every
# configuration's repeat r, shuffled, before any repeat r + 1).
# Micro-batches 16, 64 and 256 (cnn also 32), iter_size 2 and 8 (gpt: 4 at
# most) and 10 s of timed steps per run were given up to make room for the
# repeats, GPT-2 small and recomputation.
# Expected duration: about 20-30 minutes on one H100/H200 (an estimate, not
# yet measured on a GPU: an MLP or ResNet run is a process start and
# CUDA/cuDNN setup, warm-up, and at most 3 s of timed steps, 3-5 s in all,
# 14-23 minutes for their 273 runs; a GPT-2 small run is ~3 s of setup and
# about 10 steps of 0.15-0.8 s, 4.5-14 s, 5-8 minutes for its 54).
# backend = cuda: on a machine without a usable GPU the sweep stops with exit
# 2 at its first run (no CPU fallback).

backend = cuda
engines = accumbench
models = mlp, cnn, gpt

# cnn: ResNet-18 for CIFAR
width = 64
stages = 4
blocks = 2
norm = batch, group
cnn.micro_batch = 8, 128
cnn.recompute = none, blocks

# gpt: GPT-2 small (mlp keeps run's 3 layers)
vocab = 50257
seq = 1024
d_model = 768
heads = 12
gpt.layers = 12
gpt.micro_batch = 4
gpt.iter_size = 1, 2, 4
gpt.recompute = none, blocks
gpt.warmup = 2
gpt.min_steps = 5

strategies = full, retain, accumulate
micro_batch = 8, 32, 128
iter_size = 1, 4, 16

repeat = 3
warmup = 3
min_steps = 10
max_steps = 1000
max_time = 3
timeout = 300
