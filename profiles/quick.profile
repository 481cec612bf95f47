# quick — the CPU profile: what `make bench` runs where no GPU is usable.
#
# A small MLP, a small CIFAR ResNet (BatchNorm and GroupNorm) and a tiny GPT
# under the three strategies, micro-batch 8 and 16, iter_size 1, 2, 4. On the
# CPU backend it shows the thread's mechanism: retain's tracked peak grows by
# one micro-batch of activations per extra micro-batch, accumulate stays
# flat, full grows with the effective batch (8 ... 64); the GPT's attention
# probabilities make retain's growth steepest.
#
# 64 configurations (full keeps one per effective batch; keys that do not
# apply to a model, such as norm for mlp, do not multiply it) x 3 repeats =
# 192 runs, in 3 rounds: every configuration's repeat r, shuffled, before any
# repeat r + 1 (the process is the unit: a configuration's figure is the
# median of its repeats). iter_size 8 was dropped to make room for the
# repeats: its runs were the slowest (effective batch up to 128).
#
# Each run: 2 warm-up steps, timed steps until the median is within 2% and
# at least 0.5 s of them ran (at least 10 steps), at most 2 s, then 3
# profiled steps. Duration on an idle 2-vCPU VM: 140-250 s for the sweep in
# four runs, under 1 s for the report (measured 2026-12-04). The 2 s cap bounds it under
# load: 192 x (2 s + under 0.5 s of setup and untimed steps) = 8 minutes at
# the very worst.

backend = cpu
engines = accumbench
models = mlp, cnn, gpt

# mlp: 3072 -> [256] x 3 -> 10; gpt: 3 blocks as well (layers applies to both)
hidden = 256
layers = 3

# gpt: a tiny GPT-2 (vocab 256, 32 tokens, width 64, 4 heads)
vocab = 256
seq = 32
d_model = 64
heads = 4

# cnn: ResNet with 3 stages of one basic block, widths 8, 16, 32
width = 8
stages = 3
blocks = 1
norm = batch, group

strategies = full, retain, accumulate
micro_batch = 8, 16
iter_size = 1, 2, 4

repeat = 3
warmup = 2
min_steps = 10
max_steps = 500
max_time = 2
noise = 0.02
timeout = 120
