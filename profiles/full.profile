# full — the big grid, for a GPU box left alone for a few hours.
#
# Two CIFAR ResNets (widths 16 and 64, 3 and 4 stages, 2 basic blocks each:
# 4 shapes) with BatchNorm, GroupNorm and no normalisation, and the MLP with
# hidden 1024 and 4096; the three strategies; micro-batch 4 ... 512 and
# iter_size 1 ... 32 (powers of 2). Much of the top end does not fit and
# gives oom rows: that boundary is part of the result.
#
# 1526 configurations x 3 repeats = 4578 runs, in 3 rounds (every
# configuration's repeat r, shuffled, before any repeat r + 1).
# Expected duration: about 6-9 hours on one H100 (an estimate: at most 5 s of
# timed steps per run plus setup; oom runs end in seconds; not yet measured).

backend = cuda
engines = accumbench
models = mlp, cnn

hidden = 1024, 4096

width = 16, 64
stages = 3, 4
blocks = 2
norm = batch, group, none

strategies = full, retain, accumulate
micro_batch = 4, 8, 16, 32, 64, 128, 256, 512
iter_size = 1, 2, 4, 8, 16, 32

repeat = 3
warmup = 3
min_steps = 10
max_steps = 1000
max_time = 5
timeout = 600
