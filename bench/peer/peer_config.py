"""bench/peer/peer_config.py — the peer's configuration, taken from accumbench
itself. `accumbench run FLAGS --print-config` parses, validates and derives
the configuration exactly as `run` does (the flag table in bench/cli/cli.c)
and prints it as JSON, so the peer restates no flag, range, default, split
rule or results column: a flag added to accumbench reaches the peer with no
edit here, and bad input gets accumbench's own message (exit 2).

The peer keeps only its own two flags, taken out of the argument list before
the rest goes to accumbench unchanged:
  --accumbench PATH        the accumbench binary (what `accumbench sweep`
                           passes: its own executable); else $ACCUMBENCH_BIN,
                           else build/accumbench in this repository
  --dump-backend cpu|cuda  where `accumbench verify --dump` runs"""
import json
import os
import subprocess

EXIT_OK, EXIT_CHECK, EXIT_USAGE, EXIT_OOM = 0, 1, 2, 3
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# the peer's own flags: name -> the values it accepts (None: a path)
PEER_FLAGS = {"--accumbench": None, "--dump-backend": ("cpu", "cuda")}
# accumbench's stderr prefix, replaced by the peer's in relayed messages
AB_PREFIX = "accumbench: "


class UsageError(Exception):
    """Bad input: exit 2 with one line."""


class RunError(Exception):
    """The run cannot go on: (exit code, message)."""

    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code


class Config:
    """One configuration as `accumbench run` derives it. Attributes: every key
    of --print-config's "config" (backend, model, input_dim, ..., micro_batch,
    iter_size, effective_batch, last_micro_batch, ..., noise, min_steps,
    min_time, max_steps, max_time, warmup) and "extras" (json, kernels, out);
    micro_batches (the split); key_columns and row (a results row before the
    run, its keys the results.csv columns in order); accumbench and
    dump_backend (the peer's own)."""

    def __init__(self, doc, own):
        # extras.print_config is the peer's own request, always made
        for key, value in list(doc["config"].items()) + list(doc["extras"].items()):
            if key != "print_config":
                setattr(self, key, value)
        self.micro_batches = [int(n) for n in doc["micro_batches"]]
        self.key_columns = list(doc["key_columns"])
        self.row = dict(doc["row"])
        self.accumbench = own["--accumbench"]
        self.dump_backend = own.get("--dump-backend")


def split_own_flags(argv):
    """(the peer's own flags as a dict, the rest of argv in order)."""
    own, rest, i = {}, [], 0
    while i < len(argv):
        arg = argv[i]
        if arg not in PEER_FLAGS:
            rest.append(arg)
            i += 1
            continue
        if arg in own:
            raise UsageError(f"{arg}: given more than once")
        if i + 1 >= len(argv):
            raise UsageError(f"{arg}: needs a value")
        value, choices = argv[i + 1], PEER_FLAGS[arg]
        if choices and value not in choices:
            raise UsageError(f"{arg}: must be one of {'|'.join(choices)} (got '{value}')")
        if not value:
            raise UsageError(f"{arg}: must be a path (got '')")
        own[arg] = value
        i += 2
    return own, rest


def accumbench_binary(path):
    path = path or os.environ.get("ACCUMBENCH_BIN") or os.path.join(REPO, "build", "accumbench")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise UsageError(f"--accumbench: '{path}' is not an executable file "
                         "(give --accumbench PATH or set ACCUMBENCH_BIN)")
    return path


def _accumbench(binary, args):
    try:
        return subprocess.run([binary, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RunError(EXIT_CHECK, f"cannot run '{binary} {' '.join(args[:1])}': {e}")


def wants_help(argv):
    return any(a in ("--help", "-h") for a in argv)


def parse_run(argv):
    """argv after `run`: a Config, or UsageError with accumbench's message."""
    own, rest = split_own_flags(argv)
    own["--accumbench"] = accumbench_binary(own.get("--accumbench"))
    # first, so a flag missing its value at the end is told so; a
    # --print-config of the peer's own is then given twice, which accumbench
    # refuses as bad input like any repeated flag
    p = _accumbench(own["--accumbench"], ["run", "--print-config", *rest])
    last = (p.stderr.strip().splitlines() or [""])[-1]
    if p.returncode == EXIT_USAGE:
        raise UsageError(last[len(AB_PREFIX):] if last.startswith(AB_PREFIX) else last)
    if p.returncode != EXIT_OK:
        raise RunError(EXIT_CHECK, f"accumbench run --print-config exited {p.returncode}: {last}")
    try:
        return Config(json.loads(p.stdout), own)
    except (ValueError, KeyError, TypeError) as e:
        raise RunError(EXIT_CHECK, f"accumbench run --print-config printed no configuration the peer reads: {e}")


RUN_USAGE = """usage: torch_peer.py run [the flags of `accumbench run`] [--accumbench PATH] [--dump-backend B]

Runs one configuration through PyTorch with the weights and data of `accumbench
verify --dump`: warm-up steps, then timed optimizer steps until the median is
stable; prints step time, throughput and memory. The configuration is the one
`accumbench run FLAGS --print-config` prints (the same flags, defaults and
checks); on the CPU --mem-limit is accepted and not enforced, on a GPU it is
torch.cuda.set_per_process_memory_fraction. (--print-config below is
accumbench's: the peer asks it for its configuration, so ask accumbench.)

peer:
  --accumbench PATH  the accumbench binary ($ACCUMBENCH_BIN, else build/accumbench)
  --dump-backend cpu|cuda   where accumbench computes the dump (the run's backend)
"""


def run_usage(argv):
    """The peer's usage, then accumbench run's flags when the binary is found."""
    text = RUN_USAGE
    try:
        own, _ = split_own_flags(argv)
        p = _accumbench(accumbench_binary(own.get("--accumbench")), ["run", "--help"])
        flags = p.stdout.split("\n\n", 2)[-1] if p.returncode == EXIT_OK else ""
        if flags:
            text += "\nflags of accumbench run:\n" + flags
    except (UsageError, RunError) as e:
        text += f"\n(accumbench run's flags: {e})\n"
    return text
