# nightly — the regression profile scripts/nightly.sh runs, and `compare`
# checks against a baseline: `default`'s models at a few configurations,
# five repeats each, since compare's unit is the process (a configuration's
# repeat medians), not the steps of one process.
#
# The default MLP under the three strategies (full at 256, retain and
# accumulate at 64 x 4); ResNet-18 for CIFAR with BatchNorm, retain and
# accumulate at 64 x 4, and GPT-2 small (vocab 50257, 1024 tokens, width
# 768, 12 heads, 12 layers), retain and accumulate at 2 x 2, each without
# and with activation recomputation (recompute = blocks).
# 11 configurations (mlp 3, cnn 4, gpt 4) x 5 repeats = 55 runs, in 5
# rounds (every configuration's repeat r, shuffled by the profile's seed,
# before any repeat r + 1). repeat_max = 9: a configuration whose 5 repeats
# disagree gets up to 4 more runs (the sweep decides which).
# Expected duration: about 4 minutes on one H100/H200, inside 5 minutes
# and one 8-minute call even with a few configurations repeated 9 times (an
# estimate, not yet measured on a GPU: about 3.5 s per MLP or ResNet run
# for process start, CUDA/cuDNN setup, warm-up and at most 2 s of timed
# steps, 175 s for their 35; about 5.5 s per GPT-2 small run, ~3 s of setup
# and 16 steps of 0.15-0.2 s, 110 s for its 20).

backend = cuda
engines = accumbench
models = mlp, cnn, gpt

# cnn: ResNet-18 for CIFAR
width = 64
stages = 4
blocks = 2
norm = batch
cnn.strategies = retain, accumulate
cnn.recompute = none, blocks

# gpt: GPT-2 small (mlp keeps run's 3 layers)
vocab = 50257
seq = 1024
d_model = 768
heads = 12
gpt.layers = 12
gpt.strategies = retain, accumulate
gpt.micro_batch = 2
gpt.iter_size = 2
gpt.recompute = none, blocks

strategies = full, retain, accumulate
micro_batch = 64
iter_size = 4

repeat = 5
repeat_max = 9
warmup = 3
min_steps = 10
max_steps = 1000
max_time = 2
timeout = 60
