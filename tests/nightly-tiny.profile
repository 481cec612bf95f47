# nightly-tiny — the nightly profile shrunk for tests/nightly.sh: a small MLP
# on the CPU, two strategies, three repeats each (6 runs, about a second):
# compare's test needs three repeats a side.
backend = cpu
engines = accumbench
models = mlp
input_dim = 256
hidden = 128
layers = 2
strategies = accumulate, retain
micro_batch = 8
iter_size = 2
repeat = 3
warmup = 1
min_steps = 10
max_steps = 10
max_time = 5
timeout = 60
