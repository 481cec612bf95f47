"""bench/peer/peer_formats.py — the peer's rows in accumbench's file formats
(bench/results/results.c, bench/results/fragment.c): CRLF, RFC 4180 quoting,
integral numbers without a fraction, others with 17 significant digits, each
file through a temporary and os.replace, results.csv last. The results
columns and the key columns come from `accumbench run --print-config` (the
row template of peer_config.Config), so they are accumbench's by
construction; steps.csv, kernels.csv and memory.csv add their own columns
after the key columns, as fragment.c does."""
import csv
import json
import math
import os

STEPS_COLUMNS = ["step", "kind", "step_ns"]
KERNELS_COLUMNS = ["phase", "calls", "total_ns", "mean_ns", "min_ns", "max_ns", "share", "name"]
MEMORY_COLUMNS = ["time_ns", "bytes", "phase", "micro_batch"]


def new_row(c, backend):
    """A results row of configuration c on this engine, before it ran: the
    row accumbench printed, its key columns as accumbench fills them (e.g. the
    cnn columns empty for an mlp), engine torch on the peer's backend."""
    row = dict(c.row)
    row.update(engine="torch", backend=backend)
    return row


def fmt_num(v):
    """results.c col_num: integral values without a fraction, others with 17
    significant digits; NaN/inf/None are empty."""
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
    """One JSON object, the row's columns in order (as `run --json`)."""
    parts = []
    for col, v in row.items():
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


def write_fragment(d, row, key_columns, steps, kernels, profiled_ns, timeline):
    os.makedirs(d, exist_ok=True)
    key = row_cells(row, key_columns)
    write_csv_atomic(os.path.join(d, "steps.csv"), key_columns + STEPS_COLUMNS,
                     [key + [str(i), kind, "%.0f" % ns] for i, (kind, ns) in enumerate(steps)])
    krows = []
    for (phase, name), (calls, total, lo, hi) in sorted(kernels.items(), key=lambda kv: -kv[1][1]):
        krows.append(key + [phase, str(calls), "%.0f" % total, "%.17g" % (total / calls), "%.0f" % lo,
                            "%.0f" % hi, "%.17g" % (total / profiled_ns if profiled_ns > 0 else 0.0), name])
    write_csv_atomic(os.path.join(d, "kernels.csv"), key_columns + KERNELS_COLUMNS, krows)
    write_csv_atomic(os.path.join(d, "memory.csv"), key_columns + MEMORY_COLUMNS,
                     [key + ["%.0f" % t, str(int(b)), phase, str(mb)] for t, b, phase, mb in timeline])
    # last: marks the fragment complete
    columns = list(row)
    write_csv_atomic(os.path.join(d, "results.csv"), columns, [row_cells(row, columns)])
