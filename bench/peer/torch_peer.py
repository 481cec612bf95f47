#!/usr/bin/env python3
"""bench/peer/torch_peer.py — the PyTorch peer: one accumbench configuration
run through PyTorch, measured the way accumbench measures its own engine and
written in accumbench's formats, so the two engines sit side by side.

  torch_peer.py run [the flags of `accumbench run`] [--accumbench PATH] [--dump-backend B]
  torch_peer.py check --dump DIR [--strategy S|all] [--backend B] [--tol T] [--save FILE.npz]

run
  Flags, defaults, validation and exit codes are those of `accumbench run`
  (bench/cli.c): 0 ok, 1 an error, 2 bad input (one `torch_peer: --flag: why`
  line on stderr), 3 out of memory. Weights and data come from accumbench
  itself: `accumbench verify --dump` with the same model flags, split and seed
  (binary: --accumbench, else $ACCUMBENCH_BIN, else build/accumbench in this
  repository), so both engines start from identical parameters and batches.
  The dump runs on the peer's backend (--dump-backend cpu|cuda to choose; the
  weights and data are made on the host either way) and its gradients for this
  configuration's strategy give grad_rel_err = max over parameters of
  max|g_torch - g_accumbench| / max|g_accumbench|, from one step computed
  before timing, in float32.
  A step (bench/peer/torch_models.py strategy_passes):
    zero_grad(set_to_none=False) once;
    full        one forward/backward over the whole batch, mean CE;
    retain      every micro-batch forwarded keeping its graph, loss =
                sum_i w_i * meanCE_i, one backward;
    accumulate  forward, backward of w_i * meanCE_i per micro-batch;
    then SGD (momentum 0.9, lr 0.01) or AdamW (torch defaults), as
    bench/engine.c optimizer_step.
  Measurement follows bench/run_cmd.c and bench/stats.c: --warmup steps, then
  timed steps until the 95% CI half-width of the median (order statistics
  n/2 -+ 1.96*sqrt(n)/2) over the median is below --noise after --min-steps,
  or --max-steps, or --max-time seconds of timed steps. A step is timed by
  CUDA events on a GPU (host synchronised at the end event only) and by
  time.perf_counter_ns on the CPU; nothing inside a step reads a value back.
  Memory, reset after warm-up, data bytes (x float32, y int64) not counted:
    GPU  mem_tracked_bytes = torch.cuda.max_memory_allocated - data,
         mem_reserved_bytes = torch.cuda.max_memory_reserved - data;
    CPU  rss_delta_bytes = growth of this process's VmHWM over VmRSS after
         the data is resident (peak reset with /proc/self/clear_refs 5, as
         accumbench does), over 2 untimed steps after the timed ones, glibc mapping
         every block >= 128 KiB on its own and the free heap trimmed first:
         glibc's default keeps freed pages resident, which made identical runs
         differ by 5-12 MiB; mem_tracked_bytes stays empty: torch's CPU
         allocator keeps no statistics.
  Then 3 profiled steps under torch.profiler, each phase (forward, backward,
  optimizer, other) in a record_function range `ab::PHASE#MICRO_BATCH`:
    GPU  device kernels (CUPTI through torch.profiler), each given the phase
         whose range holds its launch (the cudaLaunch* call with the same
         correlation id); gpu_busy_ratio, launches_per_step and
         cupti_overhead_ratio (profiled median / timed median) as accumbench;
    CPU  the outermost aten:: ops inside each range (torch's CPU profiler here
         has whole-microsecond times).
  --out DIR writes results.csv (last), steps.csv, kernels.csv and memory.csv
  in accumbench's formats (bench/results.c, bench/outputs.c: CRLF, RFC 4180),
  each through a temporary file and os.replace; engine = torch. memory.csv
  holds, on a GPU, torch.cuda.memory_allocated at each phase boundary and the
  phase's max_memory_allocated (data subtracted) over the first profiled step;
  on the CPU it is header-only. retain's single backward is micro_batch 0.
  Settings: TF32 off for --math fp32 (torch.backends.cuda.matmul.allow_tf32
  and torch.backends.cudnn.allow_tf32 follow --math), cudnn.benchmark =
  (--conv-algo find), torch.set_num_threads(the CPUs in this process's
  affinity mask, os.cpu_count() by default) on the CPU: the threads
  accumbench's OpenBLAS uses by default. --mem-limit caps the GPU
  through torch.cuda.set_per_process_memory_fraction; on the CPU it is
  accepted and not enforced.

check
  Computes a dump's gradients with torch in float32 from its parameters and
  inputs alone (accumbench's gradient files are not opened until afterwards),
  optionally saves them (--save, keys STRATEGY/PARAMETER), then compares them
  with the dump's where it has them: exit 1 if any tensor's rel exceeds --tol."""
import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

PROG = "torch_peer"
EXIT_OK, EXIT_CHECK, EXIT_USAGE, EXIT_OOM = 0, 1, 2, 3
PROFILED_STEPS = 3          # as bench/run_cmd.c
MEMORY_STEPS = 2            # CPU: untimed steps that measure the peak RSS
MMAP_THRESHOLD_BYTES = 128 << 10   # glibc's initial M_MMAP_THRESHOLD, held fixed
MMAP_THRESHOLD_MAX_BYTES = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class UsageError(Exception):
    """Bad input: exit 2 with one line."""


class RunError(Exception):
    """The run cannot go on: (exit code, message)."""

    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code


def say(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


# --- flags: the table and the rules of bench/cli.c ------------------------------

MAX_EFFECTIVE_BATCH = 1 << 22
# name: (kind, lo, hi or choices, config key, default)
RUN_FLAGS = {
    "--backend": ("choice", None, "auto|cpu|cuda", "backend", "auto"),
    "--model": ("choice", None, "mlp|cnn", "model", "mlp"),
    "--input-dim": ("int", 1, 1 << 20, "input_dim", 3072),
    "--hidden": ("int", 1, 1 << 16, "hidden", 1024),
    "--layers": ("int", 1, 64, "layers", 3),
    "--width": ("int", 1, 1024, "width", 16),
    "--stages": ("int", 1, 6, "stages", 3),
    "--blocks": ("int", 1, 32, "blocks", 3),
    "--norm": ("choice", None, "batch|group|none", "norm", "batch"),
    "--strategy": ("choice", None, "full|retain|accumulate", "strategy", "accumulate"),
    "--loss-norm": ("choice", None, "mean|global|sum", "loss_norm", "mean"),
    "--micro-batch": ("int", 1, 65536, "micro_batch", 32),
    "--iter-size": ("int", 1, 65536, "iter_size", 1),
    "--effective-batch": ("int", 1, MAX_EFFECTIVE_BATCH, "effective_batch", 0),
    "--optimizer": ("choice", None, "sgd|adamw", "optimizer", "sgd"),
    "--math": ("choice", None, "fp32|tf32", "math", "fp32"),
    "--conv-algo": ("choice", None, "heuristic|find", "conv_algo", "heuristic"),
    "--seed": ("u64", None, None, "seed", 1),
    "--mem-limit": ("size", None, None, "mem_limit", 0),
    "--noise": ("double", 0.0, 1.0, "noise", 0.01),
    "--min-steps": ("int", 1, 1000000, "min_steps", 10),
    "--max-steps": ("int", 1, 1000000, "max_steps", 1000),
    "--max-time": ("double", 0.0, 1e7, "max_time", 30.0),
    "--warmup": ("int", 0, 1000000, "warmup", 3),
    "--json": ("bool", None, None, "json", False),
    "--kernels": ("int", 1, 100000, "kernels", 0),
    "--out": ("path", None, None, "out", None),
    # the peer's own
    "--accumbench": ("path", None, None, "accumbench", None),
    "--dump-backend": ("choice", None, "cpu|cuda", "dump_backend", None),
}

_INT = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4,
               "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "TiB": 1024 ** 4,
               "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}


def parse_int(v, lo, hi):
    if not _INT.match(v) or not lo <= int(v) <= hi:
        raise ValueError(f"must be an integer in {lo}..{hi} (got '{v}')")
    return int(v)


def parse_u64(v):
    if not re.match(r"[0-9]+\Z", v) or int(v) >= 1 << 64:
        raise ValueError(f"must be a non-negative integer below 2^64 (got '{v}')")
    return int(v)


def parse_double(v, lo, hi):
    x = float(v) if _FLOAT.match(v) else math.nan
    if not math.isfinite(x) or not x > lo or x > hi:
        raise ValueError(f"must be a number > {lo:g} and <= {hi:g} (got '{v}')")
    return x


def parse_size(v):
    """bench/parse.c parse_size: bytes, K/M/G/T or KiB.. (1024^n), KB.. (1000^n)."""
    m = re.match(r"([0-9]*(?:\.[0-9]*)?)(.*)\Z", v)
    num, unit = m.group(1), m.group(2)
    if num and num[0].isdigit():
        if not unit and "." not in num and 0 < int(num) < 1 << 64:
            return int(num)
        if unit in _SIZE_UNITS:
            b = math.floor(float(num) * _SIZE_UNITS[unit])
            if 1 <= b < 2.0 ** 64:
                return int(b)
    raise ValueError("must be a size > 0: bytes, or a number with K/M/G/T, KiB/MiB/GiB/TiB "
                     f"(powers of 1024) or KB/MB/GB/TB (powers of 1000) (got '{v}')")


class Config:
    def __init__(self):
        for kind, lo, hi, key, default in RUN_FLAGS.values():
            setattr(self, key, default)
        self.last_micro_batch = 0
        self.help = False


def validate_model(c, sizes):
    """bench/model.c model_validate."""
    if c.model == "mlp":
        return
    if c.norm == "group":
        for s in range(c.stages):
            ch = c.width << s
            if ch % min(8, ch):
                raise UsageError(f"--width: {ch} channels in stage {s} are not divisible into {min(8, ch)} groups "
                                 "(GroupNorm uses min(8, C) groups; use a width divisible by 8)")
    if c.norm == "batch":
        hw = 32 >> (c.stages - 1)
        for n in sizes:
            if n * hw * hw < 2:
                raise UsageError(f"--micro-batch: BatchNorm would see one value per channel (a micro-batch of {n} "
                                 f"at {hw}x{hw} in the last stage); use larger micro-batches, fewer stages or --norm group")


def parse_run(argv):
    """argv after `run`: a Config, or UsageError with the message of bench/cli.c."""
    c = Config()
    seen = set()
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--help", "-h"):
            c.help = True
            return c
        if arg not in RUN_FLAGS:
            if arg.startswith("-"):
                raise UsageError(f"{arg}: unknown flag for 'run' (see torch_peer.py run --help)")
            raise UsageError(f"unexpected argument '{arg}' (flags take the form --name value)")
        if arg in seen:
            raise UsageError(f"{arg}: given more than once")
        seen.add(arg)
        kind, lo, hi, key, _ = RUN_FLAGS[arg]
        if kind == "bool":
            setattr(c, key, True)
            i += 1
            continue
        if i + 1 >= len(argv):
            raise UsageError(f"{arg}: needs a value")
        v = argv[i + 1]
        i += 2
        try:
            if kind == "int":
                val = parse_int(v, lo, hi)
            elif kind == "choice":
                if v not in hi.split("|"):
                    raise ValueError(f"must be one of {hi} (got '{v}')")
                val = v
            elif kind == "u64":
                val = parse_u64(v)
            elif kind == "double":
                val = parse_double(v, lo, hi)
            elif kind == "size":
                val = parse_size(v)
            else:
                if not v:
                    raise ValueError("must be a directory path (got '')" if arg == "--out" else "must be a path (got '')")
                val = v
        except ValueError as e:
            raise UsageError(f"{arg}: {e}")
        setattr(c, key, val)

    # bench/cli.c finish(): derive the split, then what single flags cannot check
    m = c.micro_batch
    if "--effective-batch" in seen:
        b = c.effective_batch
        if b < m:
            raise UsageError(f"--effective-batch: must be >= --micro-batch ({m}), got {b}")
        k = (b + m - 1) // m
        if "--iter-size" in seen and c.iter_size != k:
            raise UsageError(f"--iter-size: {c.iter_size} disagrees with --effective-batch {b} / --micro-batch {m} "
                             f"(which need {k} micro-batches); give one of them")
        c.iter_size = k
    else:
        if m * c.iter_size > MAX_EFFECTIVE_BATCH:
            raise UsageError(f"--iter-size: micro-batch x iter-size must be <= {MAX_EFFECTIVE_BATCH} "
                             f"(got {m} x {c.iter_size})")
        c.effective_batch = m * c.iter_size
    c.last_micro_batch = c.effective_batch - (c.iter_size - 1) * m
    if c.strategy == "full":
        c.micro_batch = c.last_micro_batch = c.effective_batch
        c.iter_size = 1
    if c.max_steps < c.min_steps:
        raise UsageError(f"--max-steps: must be >= --min-steps ({c.min_steps}), got {c.max_steps}")
    validate_model(c, [c.micro_batch, c.last_micro_batch])
    return c


RUN_USAGE = """usage: torch_peer.py run [flags]

Runs one configuration through PyTorch with the weights and data of `accumbench
verify --dump`: warm-up steps, then timed optimizer steps until the median is
stable; prints step time, throughput and memory (accumbench run's flags).

model:
  --model mlp|cnn             (mlp)
  --input-dim D --hidden H --layers L      mlp (3072, 1024, 3)
  --width W --stages S --blocks B          cnn ResNet (16, 3, 3); S in 1..6
  --norm batch|group|none     cnn normalisation (batch)
split:
  --micro-batch M (32)  --iter-size K (1)  --effective-batch B (M*K)
  --loss-norm mean|global|sum (mean)
  --strategy full|retain|accumulate (accumulate)
training:
  --optimizer sgd|adamw (sgd)  --seed N (1)
backend:
  --backend auto|cpu|cuda (auto)  --math fp32|tf32 (fp32)  --conv-algo heuristic|find
  --mem-limit SIZE   GPU: torch.cuda.set_per_process_memory_fraction; CPU: not enforced
measurement:
  --warmup N (3)  --min-steps N (10)  --max-steps N (1000)  --max-time SECONDS (30)
  --noise F (0.01)   stop when the median's 95% CI half-width / median < F
  --json             print one JSON object with the results.csv columns
  --kernels N        print the N ops/kernels with the most time in the profiled steps
  --out DIR          write results.csv, steps.csv, kernels.csv, memory.csv to DIR
peer:
  --accumbench PATH  the accumbench binary for the dump ($ACCUMBENCH_BIN, else build/accumbench)
  --dump-backend cpu|cuda   where accumbench computes the dump (the run's backend)
"""


# --- results rows: the columns of bench/results.c -------------------------------

KEY_COLUMNS = ["engine", "backend", "model", "input_dim", "hidden", "layers", "width", "stages", "blocks", "norm",
               "strategy", "loss_norm", "micro_batch", "iter_size", "effective_batch", "last_micro_batch", "math",
               "conv_algo", "optimizer", "seed", "repeat"]
RESULT_COLUMNS = KEY_COLUMNS + [
    "status", "steps_timed", "stop_reason", "step_median_ns", "step_p10_ns", "step_p90_ns", "noise_rel",
    "samples_per_s", "steps_per_s", "mem_tracked_bytes", "mem_reserved_bytes", "mem_device_bytes",
    "mem_driver_bytes", "rss_delta_bytes", "data_bytes", "mem_analytic_bytes", "gpu_busy_ratio",
    "launches_per_step", "host_ns_per_step", "cupti_overhead_ratio", "sm_clock_mhz", "temperature_c", "power_w",
    "other_processes", "steps_throttled", "grad_rel_err", "error"]
STEPS_COLUMNS = ["step", "kind", "step_ns"]
KERNELS_COLUMNS = ["phase", "calls", "total_ns", "mean_ns", "min_ns", "max_ns", "share", "name"]
MEMORY_COLUMNS = ["time_ns", "bytes", "phase", "micro_batch"]
PHASES = ("forward", "backward", "optimizer", "other")


def new_row(c, backend):
    mlp = c.model == "mlp"
    row = dict.fromkeys(RESULT_COLUMNS)
    row.update(engine="torch", backend=backend, model=c.model,
               input_dim=c.input_dim if mlp else None, hidden=c.hidden if mlp else None,
               layers=c.layers if mlp else None, width=None if mlp else c.width,
               stages=None if mlp else c.stages, blocks=None if mlp else c.blocks, norm=None if mlp else c.norm,
               strategy=c.strategy, loss_norm=c.loss_norm, micro_batch=c.micro_batch, iter_size=c.iter_size,
               effective_batch=c.effective_batch, last_micro_batch=c.last_micro_batch, math=c.math,
               conv_algo=c.conv_algo, optimizer=c.optimizer, seed=c.seed, repeat=0, status="ok", steps_timed=0)
    return row


def fmt_num(v):
    """bench/results.c col_num: integral values without a fraction, others with
    17 significant digits; NaN/inf/None are empty."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        v = int(v)
    if isinstance(v, int):
        return str(v)
    if not math.isfinite(v):
        return None
    if v == math.floor(v) and abs(v) < 9e15:
        return "%.0f" % v
    return "%.17g" % v


def row_cells(row, columns):
    return [fmt_num(row.get(col)) for col in columns]


def row_json(row):
    parts = []
    for col in RESULT_COLUMNS:
        v = row.get(col)
        if isinstance(v, str):
            text = json.dumps(v, ensure_ascii=False)
        else:
            t = fmt_num(v)
            text = "null" if t is None else t
        parts.append(f"{json.dumps(col)}: {text}")
    return "{" + ", ".join(parts) + "}"


def write_csv_atomic(path, header, rows):
    """CRLF, RFC 4180 (quotes only where needed), via a temporary file and
    os.replace so a reader sees the old file or the whole new one."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_fragment(d, row, steps, kernels, profiled_ns, timeline):
    os.makedirs(d, exist_ok=True)
    key = row_cells(row, KEY_COLUMNS)
    write_csv_atomic(os.path.join(d, "steps.csv"), KEY_COLUMNS + STEPS_COLUMNS,
                     [key + [str(i), kind, "%.0f" % ns] for i, (kind, ns) in enumerate(steps)])
    krows = []
    for (phase, name), (calls, total, lo, hi) in sorted(kernels.items(), key=lambda kv: -kv[1][1]):
        krows.append(key + [phase, str(calls), "%.0f" % total, "%.17g" % (total / calls), "%.0f" % lo,
                            "%.0f" % hi, "%.17g" % (total / profiled_ns if profiled_ns > 0 else 0.0), name])
    write_csv_atomic(os.path.join(d, "kernels.csv"), KEY_COLUMNS + KERNELS_COLUMNS, krows)
    write_csv_atomic(os.path.join(d, "memory.csv"), KEY_COLUMNS + MEMORY_COLUMNS,
                     [key + ["%.0f" % t, str(int(b)), phase, str(mb)] for t, b, phase, mb in timeline])
    # last: marks the fragment complete
    write_csv_atomic(os.path.join(d, "results.csv"), RESULT_COLUMNS, [row_cells(row, RESULT_COLUMNS)])


# --- the stopping rule: bench/stats.c -------------------------------------------

def quantile(s, q):
    n = len(s)
    pos = q * (n - 1)
    i = int(pos)
    if i + 1 >= n:
        return s[n - 1]
    return s[i] + (pos - i) * (s[i + 1] - s[i])


def median_ci_ranks(n):
    """0-based ranks of the median's 95% CI (Conover 3.2), or None."""
    half = 1.96 * math.sqrt(n) / 2.0
    j, k = math.floor(n / 2.0 - half), math.ceil(n / 2.0 + half)
    if j < 1 or k > n:
        return None
    return j - 1, k - 1


def step_stats(x):
    """(median, p10, p90, noise_rel); noise_rel is inf while the CI is undefined."""
    if not x:
        return math.nan, math.nan, math.nan, math.inf
    s = sorted(x)
    med = quantile(s, 0.5)
    noise = math.inf
    r = median_ci_ranks(len(s))
    if r and med > 0:
        noise = (s[r[1]] - s[r[0]]) / 2.0 / med
    return med, quantile(s, 0.1), quantile(s, 0.9), noise


def should_stop(x, noise, min_steps, max_steps, elapsed_s, max_time_s):
    if len(x) >= min_steps and step_stats(x)[3] < noise:
        return "noise"
    if len(x) >= max_steps:
        return "max_steps"
    if elapsed_s >= max_time_s:
        return "max_time"
    return None


# --- process memory (Linux), as bench/run_cmd.c -----------------------------------

def proc_status_bytes(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def release_free_heap(mmap_threshold=0):
    """glibc keeps freed heap pages resident, so a peak RSS carries earlier
    steps' fragmentation (several MiB either way between identical runs):
    malloc_trim(0) returns every free page. With mmap_threshold, blocks of at
    least that many bytes get their own mappings from then on and go back to
    the kernel when freed, so the resident set follows live bytes. accumbench
    needs neither: its run lives in one reservation."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        if mmap_threshold:
            libc.mallopt(-3, mmap_threshold)        # M_MMAP_THRESHOLD (fixed: no dynamic raise)
            libc.mallopt(-1, mmap_threshold)        # M_TRIM_THRESHOLD
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


# --- the dump ----------------------------------------------------------------------

def accumbench_binary(c):
    path = c.accumbench or os.environ.get("ACCUMBENCH_BIN") or os.path.join(REPO, "build", "accumbench")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise UsageError(f"--accumbench: '{path}' is not an executable file "
                         "(give --accumbench PATH or set ACCUMBENCH_BIN)")
    return path


def verify_argv(binary, c, backend, d):
    a = [binary, "verify", "--backend", backend, "--model", c.model]
    if c.model == "mlp":
        a += ["--input-dim", str(c.input_dim), "--hidden", str(c.hidden), "--layers", str(c.layers)]
    else:
        a += ["--width", str(c.width), "--stages", str(c.stages), "--blocks", str(c.blocks), "--norm", c.norm]
    # the split as run normalised it (full: one micro-batch of the whole batch)
    a += ["--loss-norm", c.loss_norm, "--micro-batch", str(c.micro_batch), "--effective-batch",
          str(c.effective_batch), "--math", c.math, "--seed", str(c.seed), "--dump", d]
    return a


def make_dump(binary, c, backend, d):
    """Runs `accumbench verify --dump d`; verify's exit 1 (a disagreement it
    reports) still leaves a full dump. Retries on the CPU after a device OOM."""
    for be in ([backend, "cpu"] if backend != "cpu" else ["cpu"]):
        p = subprocess.run(verify_argv(binary, c, be, d), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        last = (p.stderr.strip().splitlines() or [""])[-1]
        if p.returncode in (0, 1) and os.path.exists(os.path.join(d, "manifest.json")):
            return be
        if p.returncode == EXIT_USAGE:
            raise RunError(EXIT_USAGE, f"accumbench verify refused the configuration: {last}")
        if p.returncode == EXIT_OOM and be != "cpu":
            say(f"note: accumbench verify ran out of device memory ({last}); dumping on the CPU instead")
            continue
        raise RunError(EXIT_OOM if p.returncode == EXIT_OOM else EXIT_CHECK,
                       f"accumbench verify --dump exited {p.returncode}: {last}")
    raise RunError(EXIT_CHECK, "accumbench verify --dump failed")


# --- the run ---------------------------------------------------------------------

def is_oom(e):
    return "out of memory" in str(e).lower() or type(e).__name__ == "OutOfMemoryError" \
        or "can't allocate memory" in str(e).lower()


class Peer:
    """One configuration: the model, its optimizer, resident data, and the
    step with optional phase marking."""

    def __init__(self, torch, tm, c, device):
        self.torch, self.tm, self.c, self.device = torch, tm, c, device
        self.cuda = device.type == "cuda"
        self.steps = []                 # (kind, ns)
        self.kernels = {}               # (phase, name) -> [calls, total_ns, min_ns, max_ns]
        self.timeline = []              # (time_ns, bytes, phase, micro_batch)
        self.profiled_ns = 0.0
        self.marking = False            # profiled steps: record_function ranges
        self.timeline_on = False        # first profiled step on a GPU: memory at phase boundaries
        self.step_t0 = 0
        self.data_bytes = 0

    # -- setup

    def load(self, dump):
        torch, tm, c = self.torch, self.tm, self.c
        import numpy as np
        man, model, params, inputs, targets, _ = tm.load_dump(dump, with_grads=False)
        self.ref_grads = tm.load_grads(dump, man, params, [c.strategy])[c.strategy]
        self.man, self.model_cpu, self.params = man, model, params
        x = torch.from_numpy(np.concatenate(inputs)).to(self.device)
        y = torch.from_numpy(np.concatenate(targets)).to(self.device)
        self.data_bytes = x.numel() * x.element_size() + y.numel() * y.element_size()
        if c.strategy == "full":
            self.xs, self.ys, self.weights = [x], [y], [1.0]
        else:
            mbs = [int(v) for v in man["micro_batches"]]
            self.xs, self.ys = list(torch.split(x, mbs)), list(torch.split(y, mbs))
            self.weights = tm.loss_weights(c.loss_norm, mbs)
        self.n_params = sum(a.size for a in params)

    def build(self):
        torch, c = self.torch, self.c
        self.model = self.model_cpu.to(self.device).train()
        self.tm.load_params(self.model, self.params)
        ps = list(self.model.parameters())
        if c.optimizer == "sgd":
            self.opt = torch.optim.SGD(ps, lr=0.01, momentum=0.9)
        else:   # torch.optim.AdamW defaults, as bench/engine.c
            self.opt = torch.optim.AdamW(ps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)

    # -- one step

    def phase(self, name, mb):
        if not self.marking:
            return _NOOP
        return _Phase(self, name, mb)

    def step(self, update=True):
        with self.phase("other", 0):
            self.opt.zero_grad(set_to_none=False)
        self.tm.strategy_passes(self.model, self.c.strategy, self.xs, self.ys, self.weights, self.phase)
        if update:
            with self.phase("optimizer", 0):
                self.opt.step()

    def grad_rel_err(self):
        """One step's gradients (no update) against accumbench's, in float32 on
        the device: max over parameters of max|g - g_ab| / max|g_ab|."""
        torch = self.torch
        self.step(update=False)
        worst = 0.0
        for p, g in zip(self.model.parameters(), self.ref_grads):
            ref = torch.from_numpy(g).to(self.device)
            diff = float((p.grad.detach() - ref).abs().max())
            scale = float(ref.abs().max())
            r = diff / scale if scale > 0 else diff
            worst = r if (r > worst or r != r) else worst
        del self.ref_grads
        return worst

    # -- timing

    def timed(self, kind):
        """One step between timer marks; (ns, host_ns)."""
        if self.cuda:
            self.ev0.record()
            h0 = time.perf_counter_ns()
            self.step_t0 = h0
            self.step()
            host = time.perf_counter_ns() - h0
            self.ev1.record()
            self.ev1.synchronize()
            ns = self.ev0.elapsed_time(self.ev1) * 1e6
        else:
            t0 = time.perf_counter_ns()
            self.step_t0 = t0
            self.step()
            ns = host = float(time.perf_counter_ns() - t0)
        self.steps.append((kind, ns))
        return ns, host

    def measure(self, row):
        torch, c = self.torch, self.c
        if self.cuda:
            self.ev0 = torch.cuda.Event(enable_timing=True)
            self.ev1 = torch.cuda.Event(enable_timing=True)
        for _ in range(c.warmup):
            self.timed("warmup")
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        times, host = [], []
        stop = None
        t_start = time.monotonic()
        while stop is None:
            ns, h = self.timed("timed")
            times.append(ns)
            host.append(h)
            stop = should_stop(times, c.noise, c.min_steps, c.max_steps, time.monotonic() - t_start, c.max_time)
        med, p10, p90, noise = step_stats(times)
        row.update(steps_timed=len(times), stop_reason=stop, step_median_ns=med, step_p10_ns=p10,
                   step_p90_ns=p90, noise_rel=noise, steps_per_s=1e9 / med,
                   samples_per_s=c.effective_batch * 1e9 / med)
        if self.cuda:
            torch.cuda.synchronize()
            row["mem_tracked_bytes"] = float(torch.cuda.max_memory_allocated(self.device) - self.data_bytes)
            row["mem_reserved_bytes"] = float(torch.cuda.max_memory_reserved(self.device) - self.data_bytes)
            row["host_ns_per_step"] = step_stats(host)[0]
        return med

    def measure_rss(self, row):
        """CPU: peak RSS over MEMORY_STEPS more steps, run after the timed ones
        (before the profiled ones, whose records would be counted) with glibc
        set to map every block of 128 KiB or more on its own, so freed
        activations leave the resident set at once, and the free heap returned
        first; the peak is reset just before them. Afterwards blocks up to
        glibc's dynamic maximum (32 MiB) come from the heap again."""
        release_free_heap(MMAP_THRESHOLD_BYTES)
        reset_peak_rss()
        for _ in range(MEMORY_STEPS):
            self.step()
        row["rss_delta_bytes"] = float(max(0, proc_status_bytes("VmHWM") - self.rss_base))
        release_free_heap(MMAP_THRESHOLD_MAX_BYTES)

    # -- profiled steps

    def profile(self, row, timed_median):
        torch = self.torch
        from torch.profiler import ProfilerActivity, profile
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.cuda else [])
        times = []
        self.marking = True
        try:
            with profile(activities=acts) as prof:
                for i in range(PROFILED_STEPS):
                    self.timeline_on = self.cuda and i == 0
                    times.append(self.timed("profiled")[0])
                self.timeline_on = False
                if self.cuda:
                    torch.cuda.synchronize()
        finally:
            self.marking = self.timeline_on = False
        self.profiled_ns = sum(times)
        evs = list(prof.events())
        ranges = sorted((e.time_range.start, e.time_range.end, e.name[4:].split("#")[0])
                        for e in evs if e.name.startswith("ab::") and not _on_device(e))
        starts = [r[0] for r in ranges]

        def phase_at(t):
            import bisect
            i = bisect.bisect_right(starts, t) - 1
            return ranges[i][2] if i >= 0 and t <= ranges[i][1] else "other"

        if self.cuda:
            launch = {e.id: e.time_range.start for e in evs
                      if not _on_device(e) and e.name.startswith("cu")}
            iv = []
            for e in evs:
                if not _on_device(e) or e.name.startswith("ab::") or e.name.startswith("ProfilerStep"):
                    continue
                t = launch.get(e.id, e.time_range.start)
                self.add_kernel(phase_at(t), e.name, (e.time_range.end - e.time_range.start) * 1e3)
                iv.append((e.time_range.start, e.time_range.end))
            if iv:
                row["gpu_busy_ratio"] = _union_us(iv) * 1e3 / self.profiled_ns
                row["launches_per_step"] = len(iv) / PROFILED_STEPS
                row["cupti_overhead_ratio"] = step_stats(times)[0] / timed_median
            else:
                row["error"] = "torch.profiler recorded no device kernels (CUPTI unavailable?)"
        else:
            for e in evs:
                if _on_device(e) or not e.name.startswith("aten::"):
                    continue
                p = e.cpu_parent
                while p is not None and not p.name.startswith("aten::"):
                    p = p.cpu_parent
                if p is None:       # outermost aten op: what the Python code called
                    self.add_kernel(phase_at(e.time_range.start), e.name,
                                    (e.time_range.end - e.time_range.start) * 1e3)

    def add_kernel(self, phase, name, ns):
        k = self.kernels.get((phase, name))
        if k is None:
            self.kernels[(phase, name)] = [1, ns, ns, ns]
        else:
            k[0] += 1
            k[1] += ns
            k[2] = min(k[2], ns)
            k[3] = max(k[3], ns)


def _on_device(e):
    return not str(e.device_type).endswith("CPU")


def _union_us(iv):
    busy, lo, hi = 0.0, None, None
    for a, b in sorted(iv):
        if hi is None or a > hi:
            if hi is not None:
                busy += hi - lo
            lo, hi = a, b
        elif b > hi:
            hi = b
    return busy + (hi - lo if hi is not None else 0.0)


class _Noop:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NOOP = _Noop()


class _Phase:
    """A profiled step's phase: a record_function range `ab::PHASE#MB`; on the
    first profiled GPU step also the allocator's bytes at its start, its peak
    inside, and at its end (data subtracted)."""

    def __init__(self, peer, name, mb):
        self.peer, self.name, self.mb = peer, name, mb

    def _sample(self, nbytes):
        p = self.peer
        p.timeline.append((time.perf_counter_ns() - p.step_t0, nbytes - p.data_bytes, self.name, self.mb))

    def __enter__(self):
        torch = self.peer.torch
        if self.peer.timeline_on:
            self._sample(torch.cuda.memory_allocated())
            torch.cuda.reset_peak_memory_stats()
        self.rf = torch.profiler.record_function(f"ab::{self.name}#{self.mb}")
        self.rf.__enter__()
        return self

    def __exit__(self, *exc):
        self.rf.__exit__(*exc)
        torch = self.peer.torch
        if self.peer.timeline_on:
            self._sample(torch.cuda.max_memory_allocated())
            self._sample(torch.cuda.memory_allocated())
        return False


def import_torch():
    try:
        import numpy  # noqa: F401  (torch_models needs it: fail here, clearly)
        import torch
        import torch_models
    except ImportError as e:
        raise RunError(EXIT_CHECK, f"cannot import torch and numpy with {sys.executable}: {e} "
                                   "(install python3-torch and python3-numpy, or set ACCUMBENCH_PYTHON)")
    return torch, torch_models


def open_device(torch, backend):
    if backend == "cpu":
        return torch.device("cpu")
    ok = torch.cuda.is_available()
    if backend == "cuda":
        if not ok:
            raise UsageError(f"--backend: cuda cannot be used: torch {torch.__version__} sees no usable GPU "
                             f"(torch.cuda.is_available() is false; built with CUDA {torch.version.cuda})")
        return torch.device("cuda")
    if not ok:
        say(f"note: running on the CPU (torch {torch.__version__}: torch.cuda.is_available() is false)")
    return torch.device("cuda" if ok else "cpu")


def cpu_threads():
    """The CPUs this process may run on (os.cpu_count() where affinity is
    unknown): what accumbench's OpenBLAS uses by default, and under taskset
    no more threads than cores, which libgomp's spin-waits punish hard."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def apply_settings(torch, c, device):
    tf32 = c.math == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = c.conv_algo == "find"
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads())
        if tf32:
            say("note: --math tf32 has no effect on the CPU (always fp32)")
        if c.conv_algo == "find":
            say("note: --conv-algo find has no effect on the CPU (cudnn.benchmark is a GPU setting)")
        if c.mem_limit:
            say("note: --mem-limit is not enforced on the CPU (torch's CPU allocator has no cap)")
    elif c.mem_limit:
        total = torch.cuda.get_device_properties(device).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, c.mem_limit / total), device)


def print_human(row, c, peer, torch, threads):
    def mib(b):
        if b is None:
            return "-"
        if b >= 1 << 30:
            return f"{b / (1 << 30):.2f} GiB"
        if b >= 1 << 20:
            return f"{b / (1 << 20):.2f} MiB"
        return f"{b / 1024:.1f} KiB"

    dev = f"{row['backend']}" + (f" ({threads} threads)" if row["backend"] == "cpu" else "")
    model = (f"mlp (input {c.input_dim}, hidden {c.hidden} x {c.layers} layers)" if c.model == "mlp" else
             f"cnn (width {c.width}, {c.stages} stages x {c.blocks} blocks, norm {c.norm})")
    print(f"torch_peer run: torch {torch.__version__}, backend {dev}, model {model}, {peer.n_params} parameters")
    last = f" (last micro-batch {c.last_micro_batch})" if c.last_micro_batch != c.micro_batch else ""
    print(f"  strategy {c.strategy}, loss-norm {c.loss_norm}, optimizer {c.optimizer}: micro-batch {c.micro_batch} "
          f"x iter-size {c.iter_size} = effective batch {c.effective_batch}{last}")
    print(f"  steps: {c.warmup} warm-up, {row['steps_timed']} timed, stopped by {row['stop_reason']} "
          f"(noise {100 * row['noise_rel']:.2f}%)")
    print(f"  step time: median {row['step_median_ns'] / 1e6:.3f} ms (p10 {row['step_p10_ns'] / 1e6:.3f}, "
          f"p90 {row['step_p90_ns'] / 1e6:.3f})   {row['samples_per_s']:.1f} samples/s")
    if row["backend"] == "cpu":
        print(f"  memory: max-RSS delta {mib(row['rss_delta_bytes'])}; data {mib(row['data_bytes'])} (not counted)")
    else:
        print(f"  memory: allocated peak {mib(row['mem_tracked_bytes'])}, reserved peak "
              f"{mib(row['mem_reserved_bytes'])}; data {mib(row['data_bytes'])} (not counted)")
    if row["gpu_busy_ratio"] is not None:
        print(f"  device: busy {100 * row['gpu_busy_ratio']:.1f}% of the step, {row['launches_per_step']:.0f} kernel "
              f"launches/step, host {row['host_ns_per_step'] / 1e6:.3f} ms/step to issue, profiling overhead "
              f"{row['cupti_overhead_ratio']:.3f}x")
    print(f"  gradients vs accumbench ({c.strategy}): max|g_torch - g_ab| / max|g_ab| = {row['grad_rel_err']:.3e}")
    if row["error"]:
        print(f"  note: {row['error']}")
    if c.kernels:
        print(f"  top ops over {PROFILED_STEPS} profiled steps:\n  {'phase':10s} {'name':40s} {'calls':>8s} "
              f"{'total ms':>12s} {'mean us':>10s} {'share':>7s}")
        for (phase, name), (calls, total, _, _) in sorted(peer.kernels.items(), key=lambda kv: -kv[1][1])[:c.kernels]:
            print(f"  {phase:10s} {name[:40]:40s} {calls:8d} {total / 1e6:12.3f} {total / calls / 1e3:10.1f} "
                  f"{100 * total / peer.profiled_ns:6.1f}%")


def cmd_run(argv):
    try:
        c = parse_run(argv)
        if c.help:
            print(RUN_USAGE, end="")
            return EXIT_OK
        binary = accumbench_binary(c)
        if c.out:
            try:
                os.makedirs(c.out, exist_ok=True)
            except OSError as e:
                raise UsageError(f"--out: cannot create directory '{c.out}': {e.strerror}")
        torch, tm = import_torch()
        device = open_device(torch, c.backend)
        if c.dump_backend == "cuda" and not torch.cuda.is_available():
            raise UsageError("--dump-backend: cuda needs a GPU that torch can use")
    except UsageError as e:
        say(str(e))
        return EXIT_USAGE
    except RunError as e:
        say(str(e))
        return e.code

    apply_settings(torch, c, device)
    row = new_row(c, device.type)
    peer = Peer(torch, tm, c, device)
    rc, when = EXIT_OK, "setting up"
    dump = tempfile.mkdtemp(prefix="torch_peer-dump-")
    try:
        make_dump(binary, c, c.dump_backend or device.type, dump)
        peer.load(dump)
        shutil.rmtree(dump, ignore_errors=True)
        row["data_bytes"] = float(peer.data_bytes)
        if peer.cuda:
            torch.cuda.synchronize()
        else:
            release_free_heap()
        peer.rss_base = proc_status_bytes("VmRSS")
        reset_peak_rss()
        peer.build()
        when = "the gradient check"
        row["grad_rel_err"] = peer.grad_rel_err()
        if peer.cuda:
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
        when = "warm-up or a timed step"
        median = peer.measure(row)
        if not peer.cuda:
            when = "a memory step"
            peer.measure_rss(row)
        when = "a profiled step"
        peer.profile(row, median)
    except RunError as e:
        rc = e.code
        row["status"] = "oom" if rc == EXIT_OOM else "error"
        row["error"] = str(e)
        say(str(e))
    except (RuntimeError, MemoryError, tm.CheckError) as e:
        oom = isinstance(e, MemoryError) or is_oom(e)
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        rc = EXIT_OOM if oom else EXIT_CHECK
        row["status"] = "oom" if oom else "error"
        row["error"] = f"out of memory in {when}: {first}" if oom else f"error in {when}: {first}"
        say(row["error"])
    finally:
        shutil.rmtree(dump, ignore_errors=True)
    if rc != EXIT_OK:
        # the memory figures of a failed run are not measurements
        for k in ("mem_tracked_bytes", "mem_reserved_bytes", "rss_delta_bytes"):
            row[k] = None
    if c.out:
        try:
            write_fragment(c.out, row, peer.steps, peer.kernels, peer.profiled_ns, peer.timeline)
        except OSError as e:
            say(f"--out: writing results to '{c.out}' failed: {e.strerror}")
            rc = rc or EXIT_CHECK
    if c.json:
        print(row_json(row))
    elif rc == EXIT_OK:
        print_human(row, c, peer, torch, torch.get_num_threads())
    return rc


# --- check: a dump's gradients recomputed -------------------------------------------

def cmd_check(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="torch_peer.py check",
                                 description="gradients of a `verify --dump` recomputed by the peer in float32")
    ap.add_argument("--dump", required=True)
    ap.add_argument("--strategy", default="all", choices=["all", "full", "retain", "accumulate"])
    ap.add_argument("--backend", default="cpu", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--save", help="write the peer's gradients to this .npz (keys STRATEGY/PARAMETER)")
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return EXIT_USAGE if e.code else EXIT_OK
    try:
        torch, tm = import_torch()
        device = open_device(torch, a.backend)
    except UsageError as e:
        say(str(e))
        return EXIT_USAGE
    except RunError as e:
        say(str(e))
        return e.code
    import numpy as np
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads())
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    strategies = tm.STRATEGIES if a.strategy == "all" else (a.strategy,)
    try:
        man, model, params, inputs, targets, _ = tm.load_dump(a.dump, with_grads=False)
    except tm.CheckError as e:
        say(f"--dump: {e}")
        return EXIT_USAGE
    model = model.to(device).train()
    tm.load_params(model, params)
    xs = [torch.from_numpy(x).to(device) for x in inputs]
    ys = [torch.from_numpy(y).to(device) for y in targets]
    w = tm.loss_weights(man["loss_norm"], [len(y) for y in targets])
    names = [p["name"] for p in man["params"]]
    ours = {s: [g.cpu().numpy() for g in tm.strategy_grads(model, s, xs, ys, w)] for s in strategies}
    if a.save:
        np.savez(a.save, **{f"{s}/{n}": g for s in strategies for n, g in zip(names, ours[s])})
    # only now accumbench's gradients are read
    if "grads" not in man:
        print(f"{a.dump}: no gradients in the dump; computed {', '.join(strategies)}"
              + (f" and saved them to {a.save}" if a.save else ""))
        return EXIT_OK
    try:
        theirs = tm.load_grads(a.dump, man, params, strategies)
    except tm.CheckError as e:
        say(f"--dump: {e}")
        return EXIT_USAGE
    width = max(len(n) for n in names) + 2
    print(f"{a.dump}: rel = max|torch - accumbench| / max|accumbench|, float32 on {device.type}, tol {a.tol:g}")
    print(f"  {'parameter':{width}s}" + "".join(f"{s:>12s}  " for s in strategies))
    ok = True
    worst = dict.fromkeys(strategies, 0.0)
    for i, name in enumerate(names):
        cells = []
        for s in strategies:
            r = tm.rel_err(ours[s][i], theirs[s][i])
            worst[s] = max(worst[s], r) if r == r else r
            bad = not r <= a.tol
            ok &= not bad
            cells.append(f"{r:12.3e}{' !' if bad else '  '}")
        print(f"  {name:{width}s}" + "".join(cells))
    print(f"  {'max':{width}s}" + "".join(f"{worst[s]:12.3e}  " for s in strategies)
          + ("  ok" if ok else f"  FAIL (! = rel > {a.tol:g})"))
    return EXIT_OK if ok else EXIT_CHECK


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__, file=sys.stdout if len(argv) >= 2 else sys.stderr)
        return EXIT_OK if len(argv) >= 2 else EXIT_USAGE
    if argv[1] == "run":
        return cmd_run(argv[2:])
    if argv[1] == "check":
        return cmd_check(argv[2:])
    say(f"unknown command '{argv[1]}' (run or check)")
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main(sys.argv))
