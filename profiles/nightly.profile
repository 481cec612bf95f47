# nightly — the regression profile scripts/nightly.sh runs, and `compare`
# checks against a baseline: a subset of `default`, five repeats each, since
# compare's unit is the process (a configuration's repeat medians), not the
# steps of one process.
#
# ResNet-18 for CIFAR with BatchNorm and the default MLP; micro-batch 64,
# iter_size 1 and 4, the three strategies. 12 configurations x 5 repeats =
# 60 runs, in 5 rounds (every configuration's repeat r, shuffled by the
# profile's seed, before any repeat r + 1).
# Expected duration: about 3-4 minutes on one H100/H200, inside 5 minutes
# and one 8-minute call (an estimate: about 3.5 s per run for process start,
# CUDA/cuDNN setup, warm-up and at most 2 s of timed steps; not yet measured
# on a GPU).

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

repeat = 5
warmup = 3
min_steps = 10
max_steps = 1000
max_time = 2
timeout = 60
