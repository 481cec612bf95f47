# gpu-peer — the GPU validation's `peer` stage (scripts/gpu-validate.sh runs
# `accumbench sweep --profile gpu-peer`): every configuration run by
# accumbench and by the PyTorch peer (bench/peer/torch_peer.py), both in one
# results.csv told apart by its engine column; `accumbench report` pairs them
# in its accumbench-vs-torch table and draws both in its figures.
#
# ResNet-18 for CIFAR (cnn, width 64, 4 stages of 2 basic blocks, BatchNorm)
# and the default MLP (3072 -> [1024] x 3 -> 10), micro-batch 128: retain
# and accumulate at iter_size 1 and 4, and full at the same effective
# batches (128, 512; full keeps one configuration per effective batch).
# The same settings in both engines: fp32 math (TF32 off in cuBLAS, cuDNN
# and torch), and conv_algo = find (cudnnFind*Ex once per shape; the peer
# sets torch.backends.cudnn.benchmark, which times the algorithms the same
# way).
#
# 12 configurations x 2 engines x 2 repeats = 48 runs, in 2 rounds (each
# configuration's first repeat, shuffled, before any second): two processes
# per engine show the between-process spread each engine's figure carries.
# iter_size 2 was given up to make room for the second repeat.
# Expected duration: about 6 minutes on one H100, under 8 (an estimate, not
# yet measured on a GPU): an accumbench run is ~1.5 s of
# process, CUDA context and library handles, ~1-2 s of cudnnFind for the
# ResNet's shapes, warm-up, at most max_time = 2 s of timed steps and the
# profiled steps: ~6 s for the ResNet, ~3 s for the MLP. A torch run adds
# `import torch` (~2-3 s) and the `accumbench verify --dump` it takes its
# weights, data and reference gradients from (~3-4 s): ~12 s for the
# ResNet, ~9 s for the MLP. 2 x (6 x (6 + 12) + 6 x (3 + 9)) = 360 s. One
# ResNet-18 step at 128 x 4 in fp32 is ~40 ms, so 2 s hold ~50 timed steps.
# Needs a Python that imports torch (CUDA build) and numpy: the sweep uses
# $ACCUMBENCH_PYTHON, else /usr/bin/python3 or python3, and stops with exit
# 2 before any run when none can. backend = cuda: without a usable GPU the
# sweep stops with exit 2 at its first run (no CPU fallback).

backend = cuda
engines = accumbench, torch
models = mlp, cnn

width = 64
stages = 4
blocks = 2
norm = batch

strategies = full, retain, accumulate
micro_batch = 128
iter_size = 1, 4

math = fp32
conv_algo = find

repeat = 2
warmup = 3
min_steps = 10
max_steps = 1000
max_time = 2
timeout = 120
