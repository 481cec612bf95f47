# quick — the CPU profile: what `make bench` runs where no GPU is usable.
#
# A small MLP and a small CIFAR ResNet (BatchNorm and GroupNorm) under the
# three strategies, micro-batch 8 and 16, iter_size 1, 2, 4, 8. On the CPU
# backend it shows the thread's mechanism: retain's tracked peak grows by one
# micro-batch of activations per extra micro-batch, accumulate stays flat,
# full grows with the effective batch.
#
# 63 configurations (full keeps one per effective batch). Measured duration
# of the sweep on 2 cores (a 2-vCPU VM, the CPU backend on 2 threads): 84 s,
# 59 runs stopped by the noise rule and 4 by max_time (10+ timed steps each);
# longer while other builds share the cores (then runs reach max_time, and
# up to 5 s each).
#
# Each configuration: 2 warm-up steps, then timed steps until the median is
# within 2% (at least 10 steps), or 5 s of timed steps: the slowest step here
# takes about 0.11 s, so 10 steps fit unless the cores are loaded 4x over.

backend = cpu
engines = accumbench
models = mlp, cnn

# mlp: 3072 -> [256] x 3 -> 10
hidden = 256
layers = 3

# cnn: ResNet with 3 stages of one basic block, widths 8, 16, 32
width = 8
stages = 3
blocks = 1
norm = batch, group

strategies = full, retain, accumulate
micro_batch = 8, 16
iter_size = 1, 2, 4, 8

warmup = 2
min_steps = 10
max_steps = 500
max_time = 5
noise = 0.02
timeout = 120
