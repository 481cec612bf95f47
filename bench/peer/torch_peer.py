#!/usr/bin/env python3
"""bench/peer/torch_peer.py — the PyTorch peer: one accumbench configuration
run through PyTorch, measured the way accumbench measures its own engine and
written in accumbench's formats, so the two engines sit side by side.

  torch_peer.py run [the flags of `accumbench run`] [--accumbench PATH] [--dump-backend B]
  torch_peer.py check --dump DIR [--strategy S|all] [--backend B] [--tol T] [--save FILE.npz]

run
  The configuration comes from accumbench itself: `accumbench run FLAGS
  --print-config` parses, validates and derives it (bench/peer/peer_config.py),
  so flags, defaults, checks and the results columns are accumbench's; the
  binary is --accumbench PATH (what `accumbench sweep` passes), else
  $ACCUMBENCH_BIN, else build/accumbench in this repository. Exit codes: 0 ok,
  1 an error, 2 bad input (one `torch_peer: --flag: why` line on stderr, the
  reason accumbench gave), 3 out of memory. Weights and data come from
  accumbench too: `accumbench verify --dump` with the same model flags, split
  and seed, so both engines start from identical parameters and batches.
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
    bench/core/engine.c optimizer_step.
  --recompute blocks runs each block (an mlp Linear+ReLU layer, a cnn basic
  block, a gpt transformer block; not the stem, embeddings or head) through
  torch.utils.checkpoint.checkpoint(use_reentrant=False, preserve_rng_state=
  False: the models draw no random numbers). torch reruns a block's forward
  inside the backward, when the block's first saved tensor is unpacked; the
  peer marks that rerun as phase recompute (a range inside the backward's,
  numbered with the micro-batch whose forward it repeats; retain's backward
  is 0) and keeps BatchNorm's running statistics as the first pass left
  them (momentum 0 during the rerun, num_batches_tracked put back), as
  accumbench does (torch_models.py running_statistics_kept).
  Measurement follows bench/cmd/run.c and bench/measure/stats.c: --warmup
  steps, then timed steps until the 95% CI half-width of the median (order
  statistics n/2 -+ 1.96*sqrt(n)/2) over the median is below --noise once
  --min-steps and --min-time seconds of timed steps ran, or --max-steps, or
  --max-time seconds of wall clock (never before --min-steps). A step is timed by
  CUDA events on a GPU (host synchronised at the end event only) and by
  time.perf_counter_ns on the CPU; nothing inside a step reads a value back.
  Memory, reset after warm-up, data bytes (x float32, y int64) not counted:
    GPU  mem_tracked_bytes = torch.cuda.max_memory_allocated - data,
         mem_reserved_bytes = torch.cuda.max_memory_reserved - data;
    CPU  rss_delta_bytes = growth of this process's VmHWM over VmRSS after
         the data is resident (peak reset with /proc/self/clear_refs 5, as
         accumbench does), over 2 untimed steps after the gradient check and
         before the warm-up, glibc mapping every block >= 128 KiB on its own
         from the start of the run and the free heap trimmed first: glibc's
         default keeps freed pages resident, which made identical runs differ
         by 5-12 MiB, and a heap that once held large blocks serves later ones
         from their free chunks, so its peak follows the pages a step touches,
         not its live bytes (measured after the timed steps, --recompute
         blocks showed a sixth of its saving); mem_tracked_bytes stays empty:
         torch's CPU allocator keeps no statistics. The warm-up, timed and
         profiled steps then take blocks up to 32 MiB from the heap, as
         glibc's dynamic threshold does once warmed.
  Then 3 profiled steps under torch.profiler, each phase (forward, backward,
  optimizer, other) in a record_function range `ab::PHASE#MICRO_BATCH`:
    GPU  device kernels (CUPTI through torch.profiler), each given the phase
         whose range holds its launch (the cudaLaunch* call with the same
         correlation id); gpu_busy_ratio, launches_per_step and
         cupti_overhead_ratio (profiled median / timed median) as accumbench;
    CPU  the outermost aten:: ops inside each range (torch's CPU profiler here
         has whole-microsecond times).
  --out DIR writes results.csv (last; its recompute column from the key
  columns), steps.csv, kernels.csv and memory.csv in accumbench's formats (bench/peer/peer_formats.py: CRLF, RFC 4180),
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
  with the dump's recompute (manifest.json model.recompute, none if absent),
  optionally saves them (--save, keys STRATEGY/PARAMETER), then compares them
  with the dump's where it has them: exit 1 if any tensor's rel exceeds --tol."""
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

PROG = "torch_peer"
PROFILED_STEPS = 3          # as bench/cmd/run.c
MEMORY_STEPS = 2            # CPU: untimed steps that measure the peak RSS
MMAP_THRESHOLD_BYTES = 128 << 10   # glibc's initial M_MMAP_THRESHOLD, held fixed
MMAP_THRESHOLD_MAX_BYTES = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_config import (EXIT_CHECK, EXIT_OK, EXIT_OOM, EXIT_USAGE, RunError,  # noqa: E402
                         UsageError, parse_run, run_usage, wants_help)
from peer_formats import new_row, row_json, write_fragment  # noqa: E402


def say(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


# --- the stopping rule: bench/measure/stats.c, restated ----------------------------
# accumbench's rule is C inside its run process, with no library the peer could
# load; these few lines restate it (tests/peer_test.py checks the peer's stops
# against the rule on its steps.csv).

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


def should_stop(x, timed_s, elapsed_s, c):
    """stats_should_stop: noise once --min-steps and --min-time seconds of
    timed steps ran; --max-steps and --max-time cap it, never before
    --min-steps. timed_s: the steps' sum; elapsed_s: wall clock."""
    if len(x) < c.min_steps:
        return None
    if timed_s >= c.min_time and step_stats(x)[3] < c.noise:
        return "noise"
    if len(x) >= c.max_steps:
        return "max_steps"
    if elapsed_s >= c.max_time:
        return "max_time"
    return None


# --- process memory (Linux), as bench/cmd/run.c -----------------------------------

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

def verify_argv(binary, c, backend, d):
    a = [binary, "verify", "--backend", backend, "--model", c.model]
    if c.model == "mlp":
        a += ["--input-dim", str(c.input_dim), "--hidden", str(c.hidden), "--layers", str(c.layers)]
    elif c.model == "gpt":
        a += ["--vocab", str(c.vocab), "--seq", str(c.seq), "--d-model", str(c.d_model), "--heads", str(c.heads),
              "--layers", str(c.layers)]
    else:
        a += ["--width", str(c.width), "--stages", str(c.stages), "--blocks", str(c.blocks), "--norm", c.norm]
    # the split as run normalised it (full: one micro-batch of the whole batch)
    a += ["--loss-norm", c.loss_norm, "--recompute", c.recompute, "--micro-batch", str(c.micro_batch),
          "--effective-batch", str(c.effective_batch), "--math", c.math, "--seed", str(c.seed), "--dump", d]
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
        self.open_phases = []           # the timeline's phases now open, outermost first (a recompute nests)
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
        # the split accumbench derived (full: one micro-batch of the whole
        # batch, weight 1); the dump was made with it
        mbs = c.micro_batches
        if [int(v) for v in man["micro_batches"]] != mbs:
            raise RunError(EXIT_CHECK, f"the dump's micro-batches {man['micro_batches']} are not the "
                                       f"configuration's {mbs}")
        self.xs, self.ys = list(torch.split(x, mbs)), list(torch.split(y, mbs))
        self.weights = tm.loss_weights(c.loss_norm, mbs)
        self.n_params = sum(a.size for a in params)

    def build(self):
        torch, c = self.torch, self.c
        self.model = self.model_cpu.to(self.device).train()
        self.tm.load_params(self.model, self.params)
        self.tm.set_recompute(self.model, c.recompute, self.phase)
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
        timed_s, t_start = 0.0, time.monotonic()
        while stop is None:
            ns, h = self.timed("timed")
            times.append(ns)
            host.append(h)
            timed_s += ns * 1e-9
            stop = should_stop(times, timed_s, time.monotonic() - t_start, c)
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
        """CPU: peak RSS over MEMORY_STEPS steps, run before the warm-up and
        the timed steps while glibc still maps every block of 128 KiB or more
        on its own (cmd_run sets it first), so freed activations leave the
        resident set at once and no large free chunk of the heap is reused;
        the free heap is returned and the peak reset just before them."""
        release_free_heap()
        reset_peak_rss()
        for _ in range(MEMORY_STEPS):
            self.step()
        row["rss_delta_bytes"] = float(max(0, proc_status_bytes("VmHWM") - self.rss_base))

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
            """the innermost range holding t: a recompute nests in its
            backward, and after it ends the backward holds t again"""
            import bisect
            i = bisect.bisect_right(starts, t) - 1
            while i >= 0 and t > ranges[i][1]:
                i -= 1
            return ranges[i][2] if i >= 0 else "other"

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
    inside, and at its end (data subtracted). A recompute opens inside its
    backward and resets the allocator's peak, so the peak seen until then
    is carried to the enclosing phase (peak: the most seen while open)."""

    def __init__(self, peer, name, mb):
        self.peer, self.name, self.mb = peer, name, mb
        self.peak = 0

    def _sample(self, nbytes):
        p = self.peer
        p.timeline.append((time.perf_counter_ns() - p.step_t0, nbytes - p.data_bytes, self.name, self.mb))

    def __enter__(self):
        torch, p = self.peer.torch, self.peer
        if p.timeline_on:
            self._sample(torch.cuda.memory_allocated())
            if p.open_phases:
                outer = p.open_phases[-1]
                outer.peak = max(outer.peak, torch.cuda.max_memory_allocated())
            torch.cuda.reset_peak_memory_stats()
            p.open_phases.append(self)
        self.rf = torch.profiler.record_function(f"ab::{self.name}#{self.mb}")
        self.rf.__enter__()
        return self

    def __exit__(self, *exc):
        self.rf.__exit__(*exc)
        torch, p = self.peer.torch, self.peer
        if p.timeline_on and p.open_phases and p.open_phases[-1] is self:
            p.open_phases.pop()
            self.peak = max(self.peak, torch.cuda.max_memory_allocated())
            if p.open_phases:
                p.open_phases[-1].peak = max(p.open_phases[-1].peak, self.peak)
            self._sample(self.peak)
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
    model = {"mlp": lambda: f"mlp (input {c.input_dim}, hidden {c.hidden} x {c.layers} layers)",
             "cnn": lambda: f"cnn (width {c.width}, {c.stages} stages x {c.blocks} blocks, norm {c.norm})",
             "gpt": lambda: f"gpt (vocab {c.vocab}, seq {c.seq}, d-model {c.d_model}, {c.heads} heads x {c.layers} "
                            "layers)"}[c.model]()
    print(f"torch_peer run: torch {torch.__version__}, backend {dev}, model {model}, {peer.n_params} parameters")
    last = f" (last micro-batch {c.last_micro_batch})" if c.last_micro_batch != c.micro_batch else ""
    print(f"  strategy {c.strategy}, recompute {c.recompute}, loss-norm {c.loss_norm}, optimizer {c.optimizer}: "
          f"micro-batch {c.micro_batch} x iter-size {c.iter_size} = effective batch {c.effective_batch}{last}")
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


def open_run(c):
    """(torch, torch_models, device) for configuration c; UsageError or
    RunError when the run cannot start."""
    if c.out:
        try:
            os.makedirs(c.out, exist_ok=True)
        except OSError as e:
            raise UsageError(f"--out: cannot create directory '{c.out}': {e.strerror}")
    torch, tm = import_torch()
    device = open_device(torch, c.backend)
    if c.dump_backend == "cuda" and not torch.cuda.is_available():
        raise UsageError("--dump-backend: cuda needs a GPU that torch can use")
    return torch, tm, device


def run_peer(peer, row, c, torch, tm):
    """The dump, the gradient check, the memory steps (CPU), then warm-up,
    timed and profiled steps, filling row; the exit status (a failure is a
    row with its reason)."""
    when = "setting up"
    dump = tempfile.mkdtemp(prefix="torch_peer-dump-")
    try:
        make_dump(c.accumbench, c, c.dump_backend or peer.device.type, dump)
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
        else:
            when = "a memory step"
            peer.measure_rss(row)
        release_free_heap(MMAP_THRESHOLD_MAX_BYTES)
        when = "warm-up or a timed step"
        median = peer.measure(row)
        when = "a profiled step"
        peer.profile(row, median)
        return EXIT_OK
    except RunError as e:
        row["status"] = "oom" if e.code == EXIT_OOM else "error"
        row["error"] = str(e)
        say(str(e))
        return e.code
    except (RuntimeError, MemoryError, tm.CheckError) as e:
        oom = isinstance(e, MemoryError) or is_oom(e)
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        row["status"] = "oom" if oom else "error"
        row["error"] = f"out of memory in {when}: {first}" if oom else f"error in {when}: {first}"
        say(row["error"])
        return EXIT_OOM if oom else EXIT_CHECK
    finally:
        shutil.rmtree(dump, ignore_errors=True)


def cmd_run(argv):
    if wants_help(argv):
        print(run_usage(argv), end="")
        return EXIT_OK
    try:
        c = parse_run(argv)
        # before torch and the dump fill the heap: see measure_rss
        release_free_heap(MMAP_THRESHOLD_BYTES)
        torch, tm, device = open_run(c)
    except UsageError as e:
        say(str(e))
        return EXIT_USAGE
    except RunError as e:
        say(str(e))
        return e.code
    apply_settings(torch, c, device)
    row = new_row(c, device.type)
    peer = Peer(torch, tm, c, device)
    rc = run_peer(peer, row, c, torch, tm)
    if rc != EXIT_OK:
        # the memory figures of a failed run are not measurements
        for k in ("mem_tracked_bytes", "mem_reserved_bytes", "rss_delta_bytes"):
            row[k] = None
    if c.out:
        try:
            write_fragment(c.out, row, c.key_columns, peer.steps, peer.kernels, peer.profiled_ns, peer.timeline)
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
    print(f"{a.dump}: recompute {man['model'].get('recompute', 'none')}; rel = max|torch - accumbench| / "
          f"max|accumbench|, float32 on {device.type}, tol {a.tol:g}")
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
