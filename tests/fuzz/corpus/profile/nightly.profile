# nightly — the regression profile scripts/nightly.sh runs, and `compare`
# checks against a baseline: a subset of `default`, three repeats each so
# that compare's Mann-Whitney test has independent runs.
#
# ResNet-18 for CIFAR with BatchNorm and the default MLP; micro-batch 64,
# iter_size 1 and 4, the three strategies. 12 configurations x 3 repeats =
# 36 runs, in shuffled order (shuffle is on by default with repeat > 1; the
# seed is printed and kept in meta.json).
# Expected duration: about 2-3 minutes on one H100, well inside 5 minutes
# and one 8-minute call (an estimate: about 4 s per run for process start,
# CUDA/cuDNN setup, warm-up and at most 3 s of timed steps; not yet measured
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

repeat = 3
warmup = 3
min_steps = 10
max_steps = 1000
max_time = 3
timeout = 60
