# gpu-peer — the bundle's peer comparison (scripts/gpu-bundle.sh, validate.sh
# part `peer`, under the python that imports torch): every configuration run
# by accumbench and by the PyTorch peer (peer/torch_peer.py), both in one
# results.csv told apart by its engine column; `accumbench report` pairs them
# in its accumbench-vs-torch table and draws both in its figures.
#
# ResNet-18 for CIFAR (cnn, width 64, 4 stages of 2 basic blocks, BatchNorm),
# micro-batch 128 at iter_size 4: retain and accumulate at effective batch
# 512 (full is left to gpu-smoke: the side-by-side question is how each
# engine accumulates). GPT-2 small (vocab 50257, 1024 tokens, width 768, 12
# heads, 12 layers), accumulate at 2 x 2: step time and tokens/s against
# the peer's nanoGPT-style module. The MLP, the least telling side by side
# (its steps are cuBLAS GEMMs in both engines), made room for GPT-2 small.
# The same settings in both engines: fp32 math (TF32 off in cuBLAS, cuDNN
# and torch), and conv_algo = find (cudnnFind*Ex once per shape; the peer
# sets torch.backends.cudnn.benchmark, which times the algorithms the same
# way).
#
# 3 configurations x 2 engines x 2 repeats = 12 runs, in 2 rounds: two
# processes per engine show the between-process spread each figure carries.
# Expected duration: about 2 minutes on one H200, within the bundle's 115 s
# peer budget (an estimate, not yet measured on a GPU): an accumbench run is
# ~1.5 s of process, CUDA context and library handles, ~1-2 s of cudnnFind
# for the ResNet's shapes, warm-up, at most max_time = 1.5 s of timed steps
# and the profiled steps: ~5 s for the ResNet; GPT-2 small adds ~1.5 s of
# setup (124M parameters) and runs 16 steps of ~0.15 s: ~5.5 s. A torch run
# adds `import torch` (~2-3 s) and the `accumbench verify --dump` it takes
# its weights, data and reference gradients from (~3-4 s; GPT-2 small's
# parameters and three strategies' gradients are 2 GB: ~7 s, and ~2 s to
# load): ~12 s for the ResNet, ~16 s for GPT-2 small.
# 2 x (2 x (5 + 12) + (5.5 + 16)) = 111 s. One ResNet-18 step at 128 x 4 in
# fp32 is ~40 ms, so 1.5 s hold ~35 timed steps.
# Needs a Python that imports torch (CUDA build) and numpy: the sweep uses
# $ACCUMBENCH_PYTHON, else /usr/bin/python3 or python3, and stops with exit
# 2 before any run when none can. backend = cuda: without a usable GPU the
# sweep stops with exit 2 at its first run (no CPU fallback).

backend = cuda
engines = accumbench, torch
models = cnn, gpt

width = 64
stages = 4
blocks = 2
norm = batch

# gpt: GPT-2 small
vocab = 50257
seq = 1024
d_model = 768
heads = 12
layers = 12
gpt.strategies = accumulate
gpt.micro_batch = 2
gpt.iter_size = 2

strategies = retain, accumulate
micro_batch = 128
iter_size = 4

math = fp32
conv_algo = find

warmup = 3
min_steps = 10
max_steps = 1000
max_time = 1.5
timeout = 60
repeat = 2
