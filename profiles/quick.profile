# quick — the CPU profile: what `make bench` runs where no GPU is usable.
#
# A small MLP, a small CIFAR ResNet (BatchNorm and GroupNorm) and a tiny GPT
# under the three strategies, iter_size 1, 2, 4; the MLP and the ResNet at
# micro-batch 8 and 16, the GPT at micro-batch 8 with and without activation
# recomputation (recompute = none, blocks). On the CPU backend it shows the
# thread's mechanism: retain's tracked peak grows by one micro-batch of
# activations per extra micro-batch, accumulate stays flat, full grows with
# the effective batch (8 ... 64); the GPT's attention probabilities make
# retain's growth steepest, and recompute = blocks cuts its peak to the
# blocks' inputs (retain at 8 x 4: 17.2 -> 5.4 MiB) for about one more
# forward per step.
#
# 66 configurations x 4 repeats = 264 runs, in 4 rounds: every
# configuration's repeat r, shuffled, before any repeat r + 1 (the process
# is the unit: a configuration's figure is the median of its repeats).
# Per model (keys that do not apply to a model, such as norm for mlp, do not
# multiply it; full keeps one configuration per effective batch): mlp 16,
# cnn 2 norms x 16, gpt 2 x 9 (its micro-batch 16 made room for recompute).
# iter_size 8 was dropped to make room for the repeats: its runs were the
# slowest (effective batch up to 128).
#
# 4 repeats of 0.3 s rather than 3 of 0.5 s (min_time): what compare can
# see is set by how much processes disagree (4-6% on this VM), not by the
# precision inside one, so a fourth process buys more than longer runs. Same
# hour, same machine (2026-12-05): with 3 x 0.5 s compare flagged 58, 56,
# 50 and 42 of 66 configurations slowed by 10%, with 4 x 0.3 s 62, 64 and
# 56; A/A pairs 0, 0, 2 and 0, 1 calls; processes spread by a median of 4-5%
# either way. repeat_max = 6: a configuration whose repeats disagree gets up
# to 2 more runs (the sweep decides which), and from 5 on compare's trimmed
# test leaves out the slowest and fastest process.
#
# calm_wait = 15: before each run the sweep probes the round trip of a
# cache line between its two CPUs (~70 ns; ~350 ns in the VM's slow spells,
# when two-thread runs go 1.6x slower) and waits up to 15 s for a spell to
# pass; a longer one is waited for once. A run that the probe right after it
# (or the one before) finds in a spell runs again at the end of its round,
# up to twice.
#
# Each run: 2 warm-up steps, timed steps until the median is within 2% and
# at least 0.3 s of them ran (at least 10 steps), at most 2 s, then 3
# profiled steps, about 0.5 s in all. time_budget = 250: past 250 s no extra
# repeat starts, no run waits for a calm machine and a run a spell caught is
# kept; the base rounds always run. Three sweeps on a noisy day (2026-12-05,
# 32-122 s of calm waits each): 257, 244 and 290 s (the last one's base
# rounds alone, before runs stopped waiting past the budget); the report
# takes under 1 s. The 2 s cap bounds a run under load: 264 base runs x (2 s
# + under 0.5 s of setup and untimed steps) = 11 minutes at the very worst.

backend = cpu
engines = accumbench
models = mlp, cnn, gpt

# mlp: 3072 -> [256] x 3 -> 10; gpt: 3 blocks as well (layers applies to both)
hidden = 256
layers = 3

# gpt: a tiny GPT-2 (vocab 256, 32 tokens, width 64, 4 heads), micro-batch 8,
# each configuration without and with recomputation of its blocks
vocab = 256
seq = 32
d_model = 64
heads = 4
gpt.micro_batch = 8
gpt.recompute = none, blocks

# cnn: ResNet with 3 stages of one basic block, widths 8, 16, 32
width = 8
stages = 3
blocks = 1
norm = batch, group

strategies = full, retain, accumulate
micro_batch = 8, 16
iter_size = 1, 2, 4

repeat = 4
repeat_max = 6
calm_wait = 15
time_budget = 250
warmup = 2
min_steps = 10
max_steps = 500
max_time = 2
noise = 0.02
min_time = 0.3
timeout = 120
