# nightly-tiny — the nightly profile shrunk for tests/nightly.sh: a small MLP
# on the CPU, two strategies, five repeats each and up to nine where they
# disagree, as in nightly (10 runs, at most 18; about a second).
backend = cpu
engines = accumbench
models = mlp
input_dim = 256
hidden = 128
layers = 2
strategies = accumulate, retain
micro_batch = 8
iter_size = 2
repeat = 5
repeat_max = 9
warmup = 1
min_steps = 10
max_steps = 10
max_time = 5
timeout = 60
