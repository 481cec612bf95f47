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
# 66 configurations x 3 repeats = 198 runs, in 3 rounds: every
# configuration's repeat r, shuffled, before any repeat r + 1 (the process
# is the unit: a configuration's figure is the median of its repeats).
# Per model (keys that do not apply to a model, such as norm for mlp, do not
# multiply it; full keeps one configuration per effective batch): mlp 16,
# cnn 2 norms x 16, gpt 2 x 9 (its micro-batch 16 made room for recompute).
# iter_size 8 was dropped to make room for the repeats: its runs were the
# slowest (effective batch up to 128). repeat_max = 5: a configuration whose
# 3 repeats disagree gets up to 2 more runs (the sweep decides which); the
# median of 5 outvotes a slow spell that caught 2 of them, as one of 6
# would, for a third fewer extra runs. calm_wait = 15: before each run the
# sweep probes the round trip of a cache line between its two CPUs (~70 ns;
# ~350 ns in the VM's slow spells, when two-thread runs go 1.6x slower) and
# waits up to 15 s for a spell to pass; a longer one is waited for once. A
# run that the probe right after it (or the one before) finds in a spell runs
# again at the end of its round, up to twice.
#
# Each run: 2 warm-up steps, timed steps until the median is within 2% and
# at least 0.5 s of them ran (at least 10 steps), at most 2 s, then 3
# profiled steps, about 0.7 s in all. The three base rounds took 200-254 s
# on a noisy day (2026-12-05; calm waits included) and the extra rounds and
# runs run again 20-100 s more: sweeps of 265-355 s. time_budget = 250
# bounds that: past 250 s no extra repeat starts and a run a spell caught is
# kept, so the sweep ends by about 250 + 15 (one calm wait) + 2.5 (one run)
# s, the report under 1 s after, and the base rounds always run. The 2 s cap
# bounds a run under load: 198 base runs x (2 s + under 0.5 s of setup and
# untimed steps) = 8 minutes at the very worst, plus the waits.

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

repeat = 3
repeat_max = 5
calm_wait = 15
time_budget = 250
warmup = 2
min_steps = 10
max_steps = 500
max_time = 2
noise = 0.02
timeout = 120
