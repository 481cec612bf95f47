#!/usr/bin/env python3
"""tests/report_check.py — `accumbench report` on a small hand-made results
set (mlp 3072→1024×3 on the CPU: full, retain and accumulate, micro-batch 8
and 16, iter_size 1, 2, 4, 8, one out-of-memory row, one repeated
configuration), generated here with the memory and time the engine's models
would give.

  report_check.py plots ACCUMBENCH WORKDIR
      report exits 0 and names the plots directory and 6 figures; every PNG
      and SVG exists and decodes; each data file's series hold exactly the
      points computed here from the CSVs; each SVG draws exactly those
      points; axis labels carry units; summary.md has the ratio and the
      throughput table; without gnuplot the report is still written (exit 0,
      a warning, no stale plots); bad directories are exit 2 with one line.
  report_check.py html ACCUMBENCH WORKDIR
      report.html rendered in headless Chromium: the screenshot is not blank,
      every <svg>/<img> is laid out with width > 0, the results table has one
      row per results.csv row; the file references nothing outside itself.
  report_check.py stability ACCUMBENCH WORKDIR
      repeated configurations with known repeat medians (one with an even
      count, one with failed repeats, one with a single ok repeat, one kept
      stable by its own noise setting): configs.csv's every aggregate equals
      the value computed here, exactly the configurations whose spread
      exceeds max(2 x noise, 5%) are flagged (in configs.csv, summary.md's
      count line, throughput and unstable tables, report.html), and the
      throughput figures' data carry each point's min/max samples/s; the
      same results without a noise column flag by the default 0.01.
  report_check.py engines ACCUMBENCH WORKDIR
      two engines. A GPU-shaped set made here (accumbench and torch rows of
      the same configurations: repeats, an oom/error pair, one configuration
      only accumbench ran) and a real CPU sweep with engines = accumbench,
      torch (torch through $ACCUMBENCH_PYTHON or the sweep's default): the
      side-by-side table in summary.md (and its rows in report.html) holds
      exactly the configurations both engines ran, every cell equal to the
      value computed here from results.csv (medians over ok repeats, step
      and memory ratios, GPU tracked/allocated/reserved or CPU RSS growth,
      torch's grad_rel_err, statuses); the memory, ratio, throughput and
      Pareto figures have both engines' series, their points in the data
      files and in the SVGs equal to the rows, each engine in its own dash
      and point types; torch's CPU series say RSS Δ and the caption names
      rss_delta_bytes; the results and top-kernels tables have an engine
      column.

Standard library only (the PNG decoder is zlib + the five PNG filters)."""
import csv
import io
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
import xml.etree.ElementTree as ET

MIB = 1048576.0
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, file=sys.stderr)


# ----------------------------------------------------------------------------
# the results set

KEYS = ["engine", "backend", "model", "input_dim", "hidden", "layers", "width", "stages", "blocks", "norm",
        "vocab", "seq", "d_model", "heads", "strategy", "recompute", "loss_norm", "micro_batch", "iter_size", "effective_batch",
        "last_micro_batch", "math",
        "conv_algo", "allocator", "optimizer", "seed", "repeat"]
MEASURES = ["status", "steps_timed", "stop_reason", "step_median_ns", "step_p10_ns", "step_p90_ns", "noise_rel",
            "samples_per_s", "steps_per_s", "mem_tracked_bytes", "mem_reserved_bytes", "mem_device_bytes",
            "mem_driver_bytes", "rss_delta_bytes", "data_bytes", "mem_analytic_bytes", "gpu_busy_ratio",
            "launches_per_step", "host_ns_per_step", "cupti_overhead_ratio", "grad_rel_err", "error"]

D, H, L = 3072, 1024, 3
PARAMS = D * H + H + (L - 1) * (H * H + H) + H * 10 + 10        # 5256202, as the README says
BASE = 3 * 4 * PARAMS                                            # weights, grads, momentum
ACT = 4 * (2 * H * L + 2 * 10)                                   # activations per sample
TRANSIENT = 4 * D                                                # largest backward temporary per sample
OOM = ("retain", 16, 8)


def analytic(strategy, m, k):
    held = m * k if strategy == "retain" else m
    return BASE + held * ACT + m * TRANSIENT


def step_ns(strategy, m, k):
    per_mb = 300e3 + m * 280e3
    return k * per_mb * (1.02 if strategy == "retain" else 1.0) + 1.5e6


def configs():
    out = []
    for eb in (8, 16, 32, 64, 128):
        out.append(("full", eb, 1))
    for strategy in ("retain", "accumulate"):
        for m in (8, 16):
            for k in (1, 2, 4, 8):
                out.append((strategy, m, k))
    return out


def key_row(strategy, m, k, repeat):
    return {"engine": "accumbench", "backend": "cpu", "model": "mlp", "input_dim": D, "hidden": H, "layers": L,
            "width": "", "stages": "", "blocks": "", "norm": "", "vocab": "", "seq": "", "d_model": "", "heads": "",
            "strategy": strategy, "recompute": "none", "loss_norm": "mean",
            "micro_batch": m, "iter_size": k, "effective_batch": m * k, "last_micro_batch": m, "math": "fp32",
            "conv_algo": "heuristic", "allocator": "", "optimizer": "sgd", "seed": 1, "repeat": repeat}


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(h, "") for h in header])


def write_set(d, results, steps, kernels, memory, extra=()):
    """results.csv (with `extra` columns after the design's), steps.csv,
    kernels.csv and memory.csv of a results set"""
    write_csv(os.path.join(d, "results.csv"), KEYS + MEASURES + list(extra), results)
    write_csv(os.path.join(d, "steps.csv"), KEYS + ["step", "kind", "step_ns"], steps)
    write_csv(os.path.join(d, "kernels.csv"),
              KEYS + ["phase", "calls", "total_ns", "mean_ns", "min_ns", "max_ns", "share", "name"], kernels)
    with open(os.path.join(d, "memory.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(KEYS + ["time_ns", "bytes", "phase", "micro_batch"])
        w.writerows(memory)


def make_results(d):
    os.makedirs(d, exist_ok=True)
    results, steps, kernels, memory = [], [], [], []
    runs = [(s, m, k, 0) for s, m, k in configs()] + [("accumulate", 8, 1, 1)]   # one repeated configuration
    for s, m, k, rep in runs:
        key = key_row(s, m, k, rep)
        r = dict(key)
        oom = (s, m, k) == OOM
        a = analytic(s, m, k)
        r.update({"status": "oom" if oom else "ok", "mem_analytic_bytes": a, "data_bytes": 4 * D * 256})
        if oom:
            r["steps_timed"] = 0
            r["error"] = "out of memory: asked %d bytes, %d in use (cap 64.00 MiB)" % (m * ACT, a - m * ACT)
        else:
            t = step_ns(s, m, k) * (1.01 if rep else 1.0)
            r.update({"steps_timed": 12, "stop_reason": "noise", "step_median_ns": "%.0f" % t,
                      "step_p10_ns": "%.0f" % (t * 0.98), "step_p90_ns": "%.0f" % (t * 1.05), "noise_rel": 0.0093,
                      "samples_per_s": repr(m * k * 1e9 / t), "steps_per_s": repr(1e9 / t),
                      "mem_tracked_bytes": a, "mem_reserved_bytes": a + 4096,
                      "rss_delta_bytes": "%.6e" % (a + 917504.0)})     # exponent form on purpose
            for i in range(16):
                kind = "warmup" if i < 3 else "timed" if i < 13 else "profiled"
                steps.append(dict(key, step=i, kind=kind, step_ns="%.0f" % (t * (1 + 0.003 * (i % 5)))))
            kernels.extend(kernel_rows(key, s, m, k))
            if rep == 0:
                memory.extend(memory_rows(key, s, m, k))
        results.append(r)
    # the full rows with "1000000.0"-style numbers: readers must accept any number text
    for r in results:
        if r["strategy"] == "full" and r["status"] == "ok":
            r["mem_tracked_bytes"] = "%.1f" % r["mem_tracked_bytes"]
    write_set(d, results, steps, kernels, memory)
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump({"schema_version": 1, "profile": "report-test", "device": {"name": "cpu", "memory_bytes": 8 << 30},
                   "git": {"commit": "0123abc", "dirty": True}, "start": "2026-11-25T10:00:00Z"}, f)
    return results


def kernel_rows(key, s, m, k):
    """three profiled steps' op totals; one name with commas and quotes"""
    ops = [("forward", "cpu_gemm", 4 * k, 90e3 * m), ("forward", "cpu_relu", 3 * k, 4e3 * m),
           ("forward", "cpu_softmax_xent", k, 2e3 * m), ("backward", "cpu_gemm", 8 * k, 170e3 * m),
           ("backward", "cpu_relu_bwd", 3 * k, 5e3 * m),
           ("backward", 'void gemm_kernel<float, 128>(int, "nt")', 4 * k, 9e3 * m),
           ("optimizer", "cpu_sgd_momentum", 8, 1.4e6), ("other", "cpu_zero", 8, 0.1e6)]
    rows, total = [], 0.0
    for phase, name, calls, ns in ops:
        t = 3 * (ns * k if phase in ("forward", "backward") else ns)
        total += t
        rows.append((phase, name, 3 * calls, t))
    out = []
    for phase, name, calls, t in sorted(rows, key=lambda r: -r[3]):
        out.append(dict(key, phase=phase, calls=calls, total_ns="%.0f" % t, mean_ns=repr(t / calls),
                        min_ns="%.0f" % (0.9 * t / calls), max_ns="%.0f" % (1.2 * t / calls), share=repr(t / total),
                        name=name))
    return out


def step_timeline(key, s, k, fwd, bwd):
    """memory.csv rows of one step: fwd(ev, i) and bwd(ev, i) give micro-batch
    i's events through ev(delta, phase, micro_batch, dt), run in the
    strategy's order between the step's other and optimizer events"""
    rows, state = [], {"live": BASE, "t": 0.0}

    def ev(delta, phase, mb, dt):
        state["live"] += delta
        state["t"] += dt
        # a list: memory.csv has micro_batch twice (the key's size, then the event's index)
        rows.append([key[h] for h in KEYS] + ["%.0f" % state["t"], state["live"], phase, mb])

    ev(0, "other", 0, 1e3)
    if s == "retain":
        order = [(fwd, i) for i in range(1, k + 1)] + [(bwd, i) for i in range(k, 0, -1)]
    else:
        order = [(f, i) for i in range(1, k + 1) for f in (fwd, bwd)]
    for f, i in order:
        f(ev, i)
    ev(4096, "optimizer", 0, 1.2e6)
    ev(-4096, "optimizer", 0, 5e3)
    return rows


def memory_rows(key, s, m, k):
    """live bytes at each allocation/free of one step, in the strategy's order"""
    acts = [m * ACT // 6] * 6

    def fwd(ev, i):
        for a in acts:
            ev(a, "forward", i, 40e3 * m)

    def bwd(ev, i):
        ev(m * TRANSIENT, "backward", i, 60e3 * m)
        for a in acts:
            ev(-a, "backward", i, 50e3 * m)
        ev(-m * TRANSIENT, "backward", i, 10e3)

    return step_timeline(key, s, k, fwd, bwd)


# ----------------------------------------------------------------------------
# expectations, computed from the CSVs alone

def cpu_sweep(exe, work, name, profile_text, out, timeout):
    """work/NAME.profile holding profile_text, swept into out on one BLAS
    thread with OpenMP workers that sleep: the finished process"""
    prof = os.path.join(work, name + ".profile")
    with open(prof, "w") as f:
        f.write(profile_text)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")
    return subprocess.run([exe, "sweep", "--profile", prof, "--out", out], capture_output=True, text=True, env=env,
                          timeout=timeout)


def load(d):
    with open(os.path.join(d, "results.csv"), newline="") as f:
        return list(csv.DictReader(f))


def num(s):
    return float(s) if s not in ("", None) else math.nan


def cfgs_of(rows):
    """(strategy, m, k) → {'ok': bool, 'oom': bool, 'eb': int}; repeats merged"""
    out = {}
    for r in rows:
        c = (r["strategy"], int(r["micro_batch"]), int(r["iter_size"]))
        e = out.setdefault(c, {"ok": False, "oom": False, "eb": int(r["effective_batch"]), "mem": [], "sps": []})
        e["ok"] |= r["status"] == "ok"
        e["oom"] |= r["status"] == "oom"
        if r["status"] == "ok":
            e["mem"].append(num(r["mem_tracked_bytes"]))
            e["sps"].append(num(r["samples_per_s"]))
    for e in out.values():
        e["mem"] = sorted(e["mem"])[len(e["mem"]) // 2] if e["mem"] else math.nan
        e["sps"] = sorted(e["sps"])[len(e["sps"]) // 2] if e["sps"] else math.nan
    return out


def expected_slice(cf):
    """the figures' effective batch: most strategies, then configurations, then the largest"""
    best = None
    for eb in sorted({e["eb"] for e in cf.values()}):
        ok = [c for c, e in cf.items() if e["ok"] and e["eb"] == eb]
        score = (len({c[0] for c in ok}), len(ok), eb)
        best = max(best, score) if best else score
    return best[2]


def read_blocks(path):
    """data file → [(title, [rows of fields])]"""
    with open(path) as f:
        text = f.read()
    blocks = []
    for chunk in re.split(r"\n\n\n", text.strip("\n")):
        lines = [l for l in chunk.split("\n") if l and not l.startswith("#")]
        header = next(csv.reader([lines[0]], delimiter=" ", quotechar='"', skipinitialspace=True))
        rows = [next(csv.reader([l], delimiter=" ", quotechar='"', skipinitialspace=True)) for l in lines[1:]]
        blocks.append((header[1], rows))
    return blocks


def svg_points(path):
    """title → points gnuplot drew for that plot element. gnuplot's SVG has a
    <g id="gnuplot_plot_N"><title>TITLE</title> group per element (twice with
    an opaque key: data, then the key entry); a group holding the key's
    <text> also holds one sample point, which is not data."""
    with open(path) as f:
        svg = f.read()
    out = {}
    for g in svg.split('<g id="gnuplot_plot_')[1:]:
        m = re.search(r"<title>(.*?)</title>", g)
        title = m.group(1) if m else ""
        n = len(re.findall(r"<use xlink:href='#gpPt\d+' transform=", g))
        if n and "<text>" in g:
            n -= 1
        out[title] = out.get(title, 0) + n
    return out


def png_info(path):
    """(width, height, rgb rows) of an 8-bit RGB/RGBA/grey PNG, non-interlaced"""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    if depth != 8 or interlace or ctype not in (0, 2, 6):
        return w, h, None                     # size only (palette PNGs from libgd)
    bpp = {0: 1, 2: 3, 6: 4}[ctype]
    raw, stride, prev, rows = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line) if bpp == 3 else bytes(x for i in range(w) for x in (line[i * bpp:i * bpp + 3]
                                                                                     if bpp == 4 else line[i:i + 1] * 3)))
        prev = line
    return w, h, rows


def require_gnuplot():
    """a missing gnuplot fails the test with the package to install, never a skip"""
    if not shutil.which("gnuplot"):
        print("FAIL: gnuplot is not installed (Debian: gnuplot-nox; scripts/deps.sh installs it)", file=sys.stderr)
        sys.exit(1)


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    return p.returncode, p.stdout, p.stderr


FIGURES = ["memory_vs_iter_size", "throughput_vs_micro_batch", "memory_vs_throughput", "kernel_phases",
           "peak_ratio", "memory_timeline"]


# ----------------------------------------------------------------------------
# plots

def check_plots(exe, work):
    require_gnuplot()
    d = os.path.join(work, "sweep")
    shutil.rmtree(work, ignore_errors=True)
    make_results(d)
    rc, out, err = run([exe, "report", d])
    check(rc == 0, "report exit %d: %s" % (rc, err))
    check("6 figures" in out and os.path.join(d, "plots") in out, "stdout names 6 figures and the plots dir: %r" % out)
    check(err.strip() == "", "no warnings: %r" % err)
    plots, data = os.path.join(d, "plots"), os.path.join(d, "plots", "data")

    for name in FIGURES:
        for ext in ("png", "svg"):
            p = os.path.join(plots, name + "." + ext)
            check(os.path.isfile(p) and os.path.getsize(p) > 0, "%s exists and is not empty" % p)
        try:
            w, h, _ = png_info(os.path.join(plots, name + ".png"))
            check(w > 0 and h > 0, "%s.png has a size" % name)
            root = ET.parse(os.path.join(plots, name + ".svg")).getroot()
            check(float(root.get("width", 0)) > 0 and root.get("viewBox"), "%s.svg has width and viewBox" % name)
        except Exception as e:  # noqa: BLE001 — any decode failure is a test failure
            check(False, "%s: %s" % (name, e))
    check(not [f for f in os.listdir(plots) if ".tmp" in f], "no temporaries left in plots/")

    rows = load(d)
    cf = cfgs_of(rows)
    eb = expected_slice(cf)
    check(eb == 64, "the slice is effective batch 64 (got %s)" % eb)

    # figure 1: every retain/accumulate configuration that ran, a block per (strategy, micro-batch)
    b1 = dict(read_blocks(os.path.join(data, "memory_vs_iter_size.dat")))
    want1 = {}
    for (s, m, k), e in cf.items():
        if s != "full" and (e["ok"] or e["oom"]):
            t = "%s, micro-batch %d" % (s, m)
            want1.setdefault(t, [0, 0, 0])
            want1[t][0] += 1
            want1[t][1] += e["ok"]
            want1[t][2] += e["oom"] and not e["ok"]
    check(set(b1) == set(want1), "figure 1 series %s, want %s" % (sorted(b1), sorted(want1)))
    for t, (n, n_ok, n_oom) in want1.items():
        got = b1.get(t, [])
        check(len(got) == n, "figure 1 %s: %d rows, want %d" % (t, len(got), n))
        check(sum(r[1] != "NaN" for r in got) == n_ok, "figure 1 %s: measured points = ok rows" % t)
        check(sum(r[4] == "1" for r in got) == n_oom, "figure 1 %s: oom marks" % t)
        for r in got:
            k = int(r[0])
            e = cf[(t.split(",")[0], int(t.split()[-1]), k)]
            if e["ok"]:
                check(abs(float(r[1]) - e["mem"] / MIB) < 1e-6, "figure 1 %s k=%d: MiB" % (t, k))
    sp = svg_points(os.path.join(plots, "memory_vs_iter_size.svg"))
    for t, (n, n_ok, _) in want1.items():
        check(sp.get(t) == n_ok, "figure 1 SVG draws %s points of %s, want %d" % (sp.get(t), t, n_ok))
    check(sp.get("out of memory (at its analytic need)") == 1, "figure 1 SVG draws the one OOM cross: %s" % sp)

    # figure 2: ok configurations at the slice, a block per strategy
    b2 = dict(read_blocks(os.path.join(data, "throughput_vs_micro_batch.dat")))
    want2 = {}
    for (s, m, k), e in cf.items():
        if e["ok"] and e["eb"] == eb:
            want2[s] = want2.get(s, 0) + 1
    check({t: len(r) for t, r in b2.items()} == want2, "figure 2 series %s want %s" %
          ({t: len(r) for t, r in b2.items()}, want2))
    sp = svg_points(os.path.join(plots, "throughput_vs_micro_batch.svg"))
    for t, n in want2.items():
        check(sp.get(t) == n, "figure 2 SVG draws %s points of %s, want %d" % (sp.get(t), t, n))
    # one repeat each: the repeats' range is the point itself
    check(all(len(r) == 8 and r[6] == r[1] == r[7] for rws in b2.values() for r in rws),
          "figure 2: min and max samples/s columns, equal to the median for one repeat")
    check_configs_csv(d, rows, "plots set")

    # figure 3: the same points, and the Pareto front computed here
    b3 = read_blocks(os.path.join(data, "memory_vs_throughput.dat"))
    check({t: len(r) for t, r in b3[:-1]} == want2, "figure 3 series")
    pts = [(e["mem"] / MIB, e["sps"]) for c, e in cf.items() if e["ok"] and e["eb"] == eb]
    front = [p for p in pts if not any(q[0] <= p[0] and q[1] >= p[1] and q != p for q in pts)]
    check(b3[-1][0] == "Pareto front" and len(b3[-1][1]) == len(front),
          "figure 3 front: %d points, want %d" % (len(b3[-1][1]), len(front)))
    sp = svg_points(os.path.join(plots, "memory_vs_throughput.svg"))
    for t, n in want2.items():
        check(sp.get(t) == n, "figure 3 SVG draws %s points of %s, want %d" % (sp.get(t), t, n))

    # figure 4: one bar per configuration of the slice with kernel rows
    b4 = read_blocks(os.path.join(data, "kernel_phases.dat"))
    check(len(b4) == 1 and len(b4[0][1]) == sum(want2.values()), "figure 4 bars")
    with open(os.path.join(d, "kernels.csv"), newline="") as f:
        krows = list(csv.DictReader(f))
    with open(os.path.join(d, "steps.csv"), newline="") as f:
        srows = list(csv.DictReader(f))
    for label, *ms in b4[0][1]:
        parts = label.replace("×", " ").split()
        s, m = parts[0], int(parts[1])
        k = int(parts[2]) if len(parts) > 2 else 1
        sel = lambda r: r["strategy"] == s and int(r["micro_batch"]) == m and int(r["iter_size"]) == k
        nprof = sum(1 for r in srows if sel(r) and r["kind"] == "profiled")
        fwd = sum(float(r["total_ns"]) for r in krows if sel(r) and r["phase"] == "forward") / nprof * 1e-6
        check(abs(float(ms[0]) - fwd) < 1e-6 * max(1, fwd), "figure 4 %s forward ms %s want %s" % (label, ms[0], fwd))

    # figure 5: splits that ran ok under both
    b5 = dict(read_blocks(os.path.join(data, "peak_ratio.dat")))
    want5 = {}
    for (s, m, k), e in cf.items():
        if s == "retain" and e["ok"] and cf.get(("accumulate", m, k), {}).get("ok"):
            want5["micro-batch %d" % m] = want5.get("micro-batch %d" % m, 0) + 1
    check({t: len(r) for t, r in b5.items()} == want5, "figure 5 series")
    sp = svg_points(os.path.join(plots, "peak_ratio.svg"))
    for t, n in want5.items():
        check(sp.get(t) == n, "figure 5 SVG draws %s points of %s, want %d" % (sp.get(t), t, n))

    # figure 6: retain and accumulate 8×8 (the largest iter_size with both timelines), every event
    b6 = read_blocks(os.path.join(data, "memory_timeline.dat"))
    with open(os.path.join(d, "memory.csv"), newline="") as f:
        mrows = list(csv.reader(f))
    col = {h: i for i, h in reversed(list(enumerate(mrows[0])))}      # the first of a repeated name
    for i, s in ((1, "retain"), (3, "accumulate")):
        n = sum(1 for r in mrows[1:] if r[col["strategy"]] == s and r[col["micro_batch"]] == "8" and
                r[col["iter_size"]] == "8")
        check(len(b6) == 4 and len(b6[i][1]) == n, "figure 6 %s: %d events, want %d" % (s, len(b6[i][1]), n))
    peak = max(float(r[1]) for r in b6[1][1])
    check(abs(peak - analytic("retain", 8, 8) / MIB) < 1e-3, "figure 6 retain peak %.4f MiB" % peak)

    # no recompute = blocks rows: no word of recomputation in any figure or the summary
    for name in FIGURES:
        if name != "kernel_phases":
            with open(os.path.join(data, name + ".dat")) as f:
                check("recompute" not in f.read(), "%s.dat: nothing on recompute" % name)
    check(all(float(r[2]) == 0 for r in b4[0][1]), "figure 4: the recompute column (3rd) is 0 in every bar")
    for name in ("kernel_phases", "memory_timeline"):
        with open(os.path.join(plots, name + ".svg")) as f:
            check("<title>recompute</title>" not in f.read(), "%s.svg: no recompute key entry" % name)

    # units on the axes
    for name, words in (("memory_vs_iter_size", ["MiB", "iter_size", "log2"]),
                        ("throughput_vs_micro_batch", ["samples/s", "micro-batch", "log2", "effective batch 64"]),
                        ("memory_vs_throughput", ["MiB", "samples/s"]), ("kernel_phases", ["ms"]),
                        ("peak_ratio", ["iter_size"]), ("memory_timeline", ["ms", "MiB"])):
        with open(os.path.join(plots, name + ".svg")) as f:
            svg = f.read()
        for wd in words:
            check(wd in svg, "%s.svg mentions %r" % (name, wd))

    with open(os.path.join(d, "summary.md")) as f:
        md = f.read()
    ratio = analytic("retain", 8, 8) / analytic("accumulate", 8, 8)
    check("| 8 | 8 |" in md and ("%.3f" % ratio) in md, "summary.md: ratio %.3f at micro-batch 8 × 8" % ratio)
    check("## Throughput at effective batch 64" in md, "summary.md: throughput at effective batch 64")
    check("Recomputation" not in md and "recompute" not in md, "summary.md: no Recomputation section")
    for s in ("full", "retain", "accumulate"):
        check(re.search(r"^\| %s \|" % s, md, re.M), "summary.md lists %s" % s)

    # no gnuplot: the report is still written, with a warning and without stale plots
    d2 = os.path.join(work, "nognuplot")
    shutil.copytree(d, d2)
    env = dict(os.environ, PATH="/nonexistent")
    rc, out, err = run([exe, "report", d2], env=env)
    check(rc == 0, "no gnuplot: exit %d" % rc)
    check("warning" in err and "gnuplot" in err and len(err.strip().split("\n")) == 1, "no gnuplot: one warning: %r" % err)
    check("0 figures" in out, "no gnuplot: 0 figures: %r" % out)
    check(not [f for f in os.listdir(os.path.join(d2, "plots")) if f.endswith((".png", ".svg"))], "no stale plots")
    with open(os.path.join(d2, "report.html")) as f:
        html = f.read()
    check("Plots were not drawn" in html and "gnuplot" in html, "no gnuplot: the report says so")
    check(os.path.getsize(os.path.join(d2, "plots", "data", "memory_vs_iter_size.dat")) > 0, "no gnuplot: data kept")

    # bad directories: exit 2, one line
    bad = os.path.join(work, "bad")

    def bad_case(what, setup, pattern):
        shutil.rmtree(bad, ignore_errors=True)
        os.makedirs(bad)
        setup()
        rc, out, err = run([exe, "report", bad])
        check(rc == 2 and len(err.strip().split("\n")) == 1 and err.startswith("accumbench: ") and
              re.search(pattern, err), "%s: exit %d, %r (want /%s/)" % (what, rc, err, pattern))

    def write(name, text):
        with open(os.path.join(bad, name), "w") as f:
            f.write(text)

    head = ",".join(KEYS + MEASURES)
    good = [l for l in open(os.path.join(d, "results.csv"), newline="").read().split("\r\n") if l]
    bad_case("no results.csv", lambda: None, r"results\.csv: cannot open")
    bad_case("unterminated quote", lambda: write("results.csv", head + "\n" + good[1] + "\n\"open,1\n"),
             r"results\.csv:3: unterminated quoted field")
    bad_case("short row", lambda: write("results.csv", "\n".join(good[:3]) + "\nmlp,retain\n"),
             r"results\.csv:4: 2 fields, the header has %d" % len(KEYS + MEASURES))
    bad_case("junk number", lambda: write("results.csv", "\n".join([good[0], good[1],
                                                                    good[2].replace(",12,noise,", ",12abc,noise,")])),
             r"results\.csv:3: column 'steps_timed': '12abc' is not an integer")
    bad_case("no strategy column", lambda: write("results.csv", "model,status\nmlp,ok\n"), r"no column 'strategy'")

    def bad_kernels():
        shutil.copy(os.path.join(d, "results.csv"), bad)
        write("kernels.csv", ",".join(KEYS) + ",phase,calls,total_ns,mean_ns,min_ns,max_ns,share,name\n" +
              ",".join(["x"] * len(KEYS)) + ',forward,1,2,3,4,5,0.5,"f(a, b)\n')
    bad_case("malformed kernels.csv", bad_kernels, r"kernels\.csv:2: unterminated quoted field")
    rc, out, err = run([exe, "report", os.path.join(work, "does-not-exist")])
    check(rc == 2 and err.startswith("accumbench: report: ") and "No such file" in err, "missing dir: %r" % err)
    rc, out, err = run([exe, "report"])
    check(rc == 2 and err.startswith("accumbench: report: "), "no argument: %r" % err)


# ----------------------------------------------------------------------------
# html in Chromium

def find_chromium():
    for name in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    for p in ("/usr/lib/chromium/chromium-headless-shell", "/usr/lib/chromium/chromium"):
        if os.access(p, os.X_OK):
            return p
    return None


PROBE = """<script>
(function () {
  var out = [];
  document.querySelectorAll('svg, img').forEach(function (e) {
    var r = e.getBoundingClientRect();
    out.push(e.tagName.toLowerCase() + ' ' + r.width.toFixed(1) + ' ' + r.height.toFixed(1));
  });
  var rows = document.querySelectorAll('#results tbody tr').length;
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = 'rows ' + rows + '\\n' + out.join('\\n');
  document.body.appendChild(pre);
})();
</script>
"""


def check_html(exe, work):
    chrome = find_chromium()
    if not chrome:
        print("FAIL: no headless Chromium found (Debian: apt-get install chromium-headless-shell, or chromium; "
              "scripts/deps.sh installs it)", file=sys.stderr)
        sys.exit(1)
    d = os.path.join(work, "sweep")
    shutil.rmtree(work, ignore_errors=True)
    results = make_results(d)
    rc, out, err = run([exe, "report", d])
    check(rc == 0, "report exit %d: %s" % (rc, err))
    page = os.path.join(d, "report.html")
    with open(page, encoding="utf-8") as f:
        html = f.read()

    # self-contained: nothing loaded from elsewhere
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html)
    check(all(r.startswith("#") for r in refs), "only in-page references: %s" % [r for r in refs if r[:1] != "#"][:5])
    check("<link" not in html and "@import" not in html and "url(http" not in html, "no external style")
    check(html.count("<svg") == 6, "six inline SVGs (%d)" % html.count("<svg"))
    ids = re.findall(r"""\bid=["']([^"']+)["']""", html)
    check(len(ids) == len(set(ids)), "ids are unique across the inline SVGs")

    profile = os.path.join(work, "chrome-profile")
    common = [chrome, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=" + profile,
              "--window-size=1200,3000"]
    shot = os.path.join(work, "report.png")
    p = subprocess.run(common + ["--screenshot=" + shot, "file://" + os.path.abspath(page)],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0 and os.path.isfile(shot), "screenshot: %s" % p.stderr[-500:])
    if os.path.isfile(shot):
        w, h, pix = png_info(shot)
        check((w, h) == (1200, 3000), "screenshot size %dx%d" % (w, h))
        if pix is not None:
            colours, ink = set(), 0
            for row in pix[::4]:
                for i in range(0, len(row), 12):
                    px = row[i:i + 3]
                    colours.add(px)
                    ink += px != b"\xff\xff\xff"
            total = len(pix[::4]) * (len(pix[0]) // 12)
            check(len(colours) > 50, "screenshot has %d colours (not blank)" % len(colours))
            check(ink > 0.05 * total, "screenshot: %.1f%% non-white" % (100.0 * ink / total))

    probe_page = os.path.join(d, "probe.html")
    with open(probe_page, "w", encoding="utf-8") as f:
        f.write(html.replace("</body>", PROBE + "</body>"))
    p = subprocess.run(common + ["--dump-dom", "file://" + os.path.abspath(probe_page)], capture_output=True,
                       text=True, timeout=120)
    os.unlink(probe_page)
    m = re.search(r'<pre id="probe">(.*?)</pre>', p.stdout, re.S)
    check(m is not None, "probe ran: %s" % p.stderr[-500:])
    if m:
        lines = m.group(1).strip().split("\n")
        check(lines[0] == "rows %d" % len(results), "results table rows: %s, want %d" % (lines[0], len(results)))
        shapes = [l.split() for l in lines[1:]]
        check(len([s for s in shapes if s[0] == "svg"]) >= 6, "six figures laid out: %s" % shapes)
        for s in shapes:
            check(float(s[1]) > 0 and float(s[2]) > 0, "%s laid out %sx%s" % tuple(s))


# ----------------------------------------------------------------------------
# two engines: accumbench and torch side by side

E_CONFIGS = [("full", eb, 1) for eb in (8, 16, 32, 64)] + \
    [(s, m, k) for s in ("retain", "accumulate") for m in (8, 16) for k in (1, 2, 4)]
E_TORCH_MISSING = ("full", 64, 1)           # accumbench ran it, torch did not: no table row
E_AB_OOM = ("retain", 16, 4)                 # accumbench oom; torch error
E_REPEATED = ("accumulate", 8, 2)            # two repeats under each engine


def e_key(engine, s, m, k, rep):
    return dict(key_row(s, m, k, rep), engine=engine, backend="cuda")


def make_engine_results(d):
    """A GPU results set in the peer's shape: torch rows fill mem_tracked_bytes
    (allocated) and mem_reserved_bytes, leave mem_analytic_bytes empty and
    carry grad_rel_err."""
    os.makedirs(d, exist_ok=True)
    results, steps, kernels, memory = [], [], [], []
    for s, m, k in E_CONFIGS:
        for engine in ("accumbench", "torch"):
            if engine == "torch" and (s, m, k) == E_TORCH_MISSING:
                continue
            for rep in ((0, 1) if (s, m, k) == E_REPEATED else (0,)):
                key = e_key(engine, s, m, k, rep)
                r = dict(key)
                a = analytic(s, m, k)
                t = step_ns(s, m, k) * (1 + 0.04 * rep) * 0.02         # a GPU is ~50x the CPU model
                if engine == "torch":
                    t = 0.8 * t + 2e5 + 1e4 * k
                failed = (s, m, k) == E_AB_OOM
                if failed and engine == "accumbench":
                    r.update(status="oom", steps_timed=0, mem_analytic_bytes=a,
                             error="out of memory: asked %d bytes" % (m * ACT))
                elif failed:
                    r.update(status="error", steps_timed=0, error="torch.cuda.OutOfMemoryError: CUDA out of memory")
                else:
                    r.update({"status": "ok", "steps_timed": 12, "stop_reason": "noise",
                              "step_median_ns": "%.0f" % t, "step_p10_ns": "%.0f" % (0.98 * t),
                              "step_p90_ns": "%.0f" % (1.05 * t), "samples_per_s": repr(m * k * 1e9 / t),
                              "steps_per_s": repr(1e9 / t), "data_bytes": 4 * D * 256})
                    if engine == "accumbench":
                        r.update(mem_tracked_bytes=a, mem_reserved_bytes=a + (64 << 20), mem_analytic_bytes=a)
                    else:
                        alloc = 1.25 * a + (3 << 20) + rep * 4096
                        r.update(mem_tracked_bytes="%.0f" % alloc,
                                 mem_reserved_bytes="%.0f" % ((alloc // (2 << 20) + 11) * (2 << 20)),
                                 grad_rel_err="%.6e" % (1e-7 * (1 + k) * (1 + m / 64) * (1 + rep)))
                    for i in range(8):
                        kind = "warmup" if i < 2 else "timed" if i < 5 else "profiled"
                        steps.append(dict(key, step=i, kind=kind, step_ns="%.0f" % t))
                    krows = kernel_rows(key, s, m, k)
                    if engine == "torch":
                        for kr in krows:
                            kr["name"] = "aten::" + kr["name"].replace("cpu_", "").split("<")[0].split("(")[0]
                    kernels.extend(krows)
                    if engine == "accumbench" and rep == 0:
                        memory.extend(memory_rows(key, s, m, k))
                results.append(r)
    write_set(d, results, steps, kernels, memory)
    return results


def median(v):
    v = sorted(v)
    n = len(v)
    return math.nan if not n else v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def engine_cfgs(rows):
    """(engine, strategy, m, k) → aggregates over repeats, as the report
    defines them: medians over the ok repeats, the largest grad_rel_err,
    the statuses; in order of first appearance"""
    out = {}
    for r in rows:
        c = (r["engine"], r["strategy"], int(r["micro_batch"]), int(r["iter_size"]))
        e = out.setdefault(c, {"rows": [], "eb": int(r["effective_batch"]), "backend": r["backend"]})
        e["rows"].append(r)
    for e in out.values():
        ok = [r for r in e["rows"] if r["status"] == "ok"]
        e["ok"] = bool(ok)
        e["oom"] = any(r["status"] == "oom" for r in e["rows"])
        e["step"] = median([num(r["step_median_ns"]) for r in ok])
        e["sps"] = median([num(r["samples_per_s"]) for r in ok])
        for col, name in (("mem_tracked_bytes", "tracked"), ("mem_reserved_bytes", "reserved"),
                          ("rss_delta_bytes", "rss")):
            e[name] = median([num(r[col]) for r in ok if r[col] != ""])
        e["mem_fig"], e["rss_fig"] = (e["tracked"], False) if not math.isnan(e["tracked"]) else (e["rss"], True)
        g = [num(r["grad_rel_err"]) for r in e["rows"] if r.get("grad_rel_err", "") != ""]
        e["grad"] = max(g) if g else math.nan
        st = [r["status"] for r in e["rows"]]
        if len(set(st)) == 1:
            e["status"] = st[0] + (" ×%d" % len(st) if len(st) > 1 else "")
        else:
            e["status"] = ", ".join("%d %s" % (st.count(s), s) for s in
                                    ("ok", "oom", "error", "crash", "timeout", "skipped") if s in st)
    return out


def fmt(v, f):
    return "" if math.isnan(v) else f % v


def expected_side_by_side(rows):
    """the side-by-side table's rows, computed from results.csv"""
    cf = engine_cfgs(rows)
    out = []
    for (eng, s, m, k), a in cf.items():
        b = cf.get(("torch", s, m, k))
        if eng != "accumbench" or b is None:
            continue
        gpu = a["backend"] == "cuda"
        am, bm = (a["tracked"], b["tracked"]) if gpu else (a["rss"], b["rss"])
        out.append([s, "%d × %d" % (m, k), fmt(a["step"] * 1e-6, "%.4g"), fmt(b["step"] * 1e-6, "%.4g"),
                    fmt(a["step"] / b["step"], "%.3g"), fmt(a["sps"], "%.1f"), fmt(b["sps"], "%.1f"),
                    "tracked / allocated" if gpu else "RSS Δ", fmt(am / MIB, "%.2f"), fmt(bm / MIB, "%.2f"),
                    fmt(b["reserved"] / MIB if gpu else math.nan, "%.2f"), fmt(am / bm, "%.3g"),
                    fmt(b["grad"], "%.2e"), a["status"], b["status"]])
    return out


def md_side_by_side(md):
    """the rows of summary.md's accumbench-vs-torch table, model column dropped"""
    m = re.search(r"^## accumbench vs torch\n(.*?)(?=^## |\Z)", md, re.M | re.S)
    if not m:
        return None, None
    lines = [l for l in m.group(1).split("\n") if l.startswith("|")]
    cells = [[c.strip() for c in l.strip().strip("|").split("|")] for l in lines]
    return cells[0], [c[1:] for c in cells[2:]]


def check_side_by_side(d, rows, what):
    with open(os.path.join(d, "summary.md")) as f:
        md = f.read()
    header, got = md_side_by_side(md)
    want = expected_side_by_side(rows)
    check(header is not None and len(header) == 16 and header[5] == "step accumbench / torch",
          "%s: summary.md has the side-by-side table (header %s)" % (what, header))
    if header is None:
        return want
    check(len(got) == len(want), "%s: side-by-side rows %d, want %d (configurations both engines ran)" %
          (what, len(got), len(want)))
    for g, w in zip(got, want):
        check(g == w, "%s: side-by-side row\n  got  %s\n  want %s" % (what, g, w))
    with open(os.path.join(d, "report.html"), encoding="utf-8") as f:
        html = f.read()
    t = re.search(r'<table class="summary" id="engines">(.*?)</table>', html, re.S)
    check(t is not None and t.group(1).count("<tr class=") == len(want),
          "%s: report.html's side-by-side table has %d rows" % (what, len(want)))
    return want


def check_engine_series(d, rows, what, rss):
    """both engines' series in the memory, ratio, throughput and Pareto
    figures: the points per series are the configurations' rows, in the
    data files and in the SVGs"""
    plots, data = os.path.join(d, "plots"), os.path.join(d, "plots", "data")
    cf = engine_cfgs(rows)
    tag = lambda eng: " (RSS Δ)" if rss and eng == "torch" else ""
    ab = {(s, m, k): e for (eng, s, m, k), e in cf.items() if eng == "accumbench"}

    b1 = dict(read_blocks(os.path.join(data, "memory_vs_iter_size.dat")))
    want1 = {}
    for (eng, s, m, k), e in cf.items():
        if s != "full" and (e["ok"] or e["oom"]):
            t = "%s %s, micro-batch %d%s" % (eng, s, m, tag(eng))
            want1.setdefault(t, [0, 0])
            want1[t][0] += 1
            want1[t][1] += e["ok"]
    check(set(b1) == set(want1), "%s figure 1 series %s, want %s" % (what, sorted(b1), sorted(want1)))
    sp = svg_points(os.path.join(plots, "memory_vs_iter_size.svg"))
    for t, (n, n_ok) in want1.items():
        got = b1.get(t, [])
        check(len(got) == n and sum(r[1] != "NaN" for r in got) == n_ok,
              "%s figure 1 %s: %d rows (%d measured), want %d (%d)" %
              (what, t, len(got), sum(r[1] != "NaN" for r in got), n, n_ok))
        eng, s, m = t.split()[0], t.split()[1].rstrip(","), int(t.split()[3])
        for r in got:
            e = cf[(eng, s, m, int(r[0]))]
            if e["ok"]:
                check(abs(float(r[1]) - e["mem_fig"] / MIB) < 1e-6, "%s figure 1 %s k=%s: MiB" % (what, t, r[0]))
            check(r[7] == ("4" if eng == "torch" else "1"), "%s figure 1 %s: dash type %s" % (what, t, r[7]))
        check(sp.get(t) == n_ok, "%s figure 1 SVG draws %s points of %s, want %d" % (what, sp.get(t), t, n_ok))
    pts = {}
    for t, rws in b1.items():
        pts.setdefault(t.split()[0], set()).update(r[6] for r in rws)
    check(len(pts) == 2 and not (pts["accumbench"] & pts["torch"]),
          "%s figure 1: the engines' point types differ %s" % (what, pts))

    b5 = dict(read_blocks(os.path.join(data, "peak_ratio.dat")))
    want5 = {}
    for (eng, s, m, k), e in cf.items():
        other = cf.get((eng, "accumulate", m, k))
        if s == "retain" and e["ok"] and other and other["ok"]:
            t = "%s micro-batch %d%s" % (eng, m, tag(eng))
            want5[t] = want5.get(t, 0) + 1
    check({t: len(r) for t, r in b5.items()} == want5, "%s figure 5 series %s, want %s" %
          ({t: len(r) for t, r in b5.items()}, what, want5))
    sp = svg_points(os.path.join(plots, "peak_ratio.svg"))
    for t, n in want5.items():
        check(sp.get(t) == n, "%s figure 5 SVG draws %s points of %s, want %d" % (what, sp.get(t), t, n))

    eb = expected_slice(ab)
    b2 = dict(read_blocks(os.path.join(data, "throughput_vs_micro_batch.dat")))
    want2 = {}
    for (eng, s, m, k), e in cf.items():
        if e["ok"] and e["eb"] == eb:
            want2["%s %s" % (eng, s)] = want2.get("%s %s" % (eng, s), 0) + 1
    check({t: len(r) for t, r in b2.items()} == want2, "%s figure 2 (effective batch %d) series %s, want %s" %
          (what, eb, {t: len(r) for t, r in b2.items()}, want2))
    check(any(t.startswith("torch ") for t in want2), "%s figure 2 has torch series" % what)
    sp = svg_points(os.path.join(plots, "throughput_vs_micro_batch.svg"))
    for t, n in want2.items():
        check(sp.get(t) == n, "%s figure 2 SVG draws %s points of %s, want %d" % (what, sp.get(t), t, n))
        for r in b2.get(t, []):
            e = cf[(t.split()[0], t.split()[1], int(r[0]), int(r[2]))]
            check(abs(float(r[1]) - e["sps"]) <= 1e-8 * e["sps"], "%s figure 2 %s: samples/s" % (what, t))

    b3 = read_blocks(os.path.join(data, "memory_vs_throughput.dat"))
    want3 = {("%s %s%s" % (t.split()[0], t.split()[1], tag(t.split()[0]))): n for t, n in want2.items()}
    check({t: len(r) for t, r in b3[:-1]} == want3, "%s figure 3 series" % what)
    front_pts = [(e["mem_fig"] / MIB, e["sps"]) for (eng, s, m, k), e in cf.items()
                 if eng == "accumbench" and e["ok"] and e["eb"] == eb]
    front = [p for p in front_pts if not any(q[0] <= p[0] and q[1] >= p[1] and q != p for q in front_pts)]
    check(b3[-1][0] == "accumbench Pareto front" and len(b3[-1][1]) == len(front),
          "%s figure 3: accumbench's front, %d points, want %d" % (what, len(b3[-1][1]), len(front)))
    sp = svg_points(os.path.join(plots, "memory_vs_throughput.svg"))
    for t, n in want3.items():
        check(sp.get(t) == n, "%s figure 3 SVG draws %s points of %s, want %d" % (what, sp.get(t), t, n))
    return eb


def check_engines(exe, work):
    require_gnuplot()
    shutil.rmtree(work, ignore_errors=True)

    # (1) a GPU results set made here: repeats, a failed pair, a configuration torch did not run
    d = os.path.join(work, "gpu")
    make_engine_results(d)
    rc, out, err = run([exe, "report", d])
    check(rc == 0 and err.strip() == "", "gpu set: report exit %d, stderr %r" % (rc, err))
    rows = load(d)
    want = check_side_by_side(d, rows, "gpu set")
    check(len(want) == len(E_CONFIGS) - 1, "gpu set: every configuration but the one torch did not run")
    statuses = {(w[0], w[1]): (w[13], w[14]) for w in want}
    check(statuses.get(("retain", "16 × 4")) == ("oom", "error") and
          statuses.get(("accumulate", "8 × 2")) == ("ok ×2", "ok ×2"), "gpu set: statuses per engine %s" % statuses)
    check_engine_series(d, rows, "gpu set", rss=False)
    with open(os.path.join(d, "report.html"), encoding="utf-8") as f:
        html = f.read()
    res = re.search(r'<table id="results">(.*?)</table>', html, re.S).group(1)
    check("<th>engine</th>" in res, "results table: an engine column")
    cells = re.findall(r'<tr class="(?:ok|bad)"><td class="n">\d+</td><td>([^<]*)</td>', res)
    check(cells == [r["engine"] for r in rows], "results table: each row's engine, in order")
    kern = html[html.index("<h2>Top kernels</h2>"):]
    tables = re.findall(r'<table class="kernels">(.*?)</table>', kern, re.S)
    check(len(tables) == 3 and all("<th>engine</th>" in t for t in tables),
          "top kernels: one table per strategy (3), each with an engine column")
    for t in tables:
        engines = re.findall(r"<tr><td>(accumbench|torch)</td>", t)
        check(engines.count("accumbench") == 8 and engines.count("torch") == 8 and
              engines == sorted(engines, key=lambda e: e != "accumbench"),
              "top kernels: each engine's 8 ops, accumbench first: %s" % engines)
        check(re.search(r"<tr><td>torch</td><td>\w+</td><td><code>aten::", t), "top kernels: torch's aten ops")

    # (2) a real two-engine sweep on the CPU (torch through ACCUMBENCH_PYTHON, or the sweep's default)
    d = os.path.join(work, "cpu")
    p = cpu_sweep(exe, work, "engines",
                  "backend = cpu\nengines = accumbench, torch\nmodels = mlp\ninput_dim = 256\nhidden = 64\n"
                  "layers = 2\nstrategies = retain, accumulate\nmicro_batch = 4, 8\niter_size = 1, 2\n"
                  "warmup = 1\nmin_steps = 3\nmax_steps = 3\ntimeout = 120\n", d, 400)
    check(p.returncode == 0, "cpu sweep with engines = accumbench, torch: exit %d: %s" % (p.returncode,
                                                                                          p.stderr[-600:]))
    if p.returncode != 0:
        return
    rows = load(d)
    check(len(rows) == 16 and all(r["status"] == "ok" for r in rows) and
          sum(r["engine"] == "torch" for r in rows) == 8, "cpu sweep: 16 ok rows, 8 per engine")
    rc, out, err = run([exe, "report", d])
    check(rc == 0 and err.strip() == "", "cpu set: report exit %d, stderr %r" % (rc, err))
    want = check_side_by_side(d, rows, "cpu set")
    check(len(want) == 8 and all(w[7] == "RSS Δ" and w[10] == "" for w in want),
          "cpu set: 8 rows, memory as RSS Δ for both, no reserved figure")
    check_engine_series(d, rows, "cpu set", rss=True)
    with open(os.path.join(d, "report.html"), encoding="utf-8") as f:
        html = f.read()
    cap = re.search(r'<figure id="fig-memory_vs_iter_size">.*?<figcaption>(.*?)</figcaption>', html, re.S)
    check(cap and "rss_delta_bytes" in cap.group(1) and "RSS Δ" in cap.group(1),
          "cpu set: figure 1's caption says the torch series draw rss_delta_bytes")
    for line in want:
        print("  side by side: " + " | ".join(line))

# ----------------------------------------------------------------------------
# repeats: configs.csv, the unstable flag, the throughput figures' ranges

# (strategy, m, k) → each repeat's (status, step_median_ns or None), and the
# noise setting its rows carry ("" = none: the default 0.01 applies)
S_REPEATS = {
    ("full", 32, 1): ([("ok", 20.0e6), ("ok", 20.5e6), ("ok", 19.8e6)], ""),       # 3.5%: stable
    ("full", 16, 1): ([("ok", 10e6), ("ok", 11e6), ("ok", 12e6), ("ok", 13e6)], ""),  # even count; 26%
    ("retain", 8, 4): ([("ok", 22e6), ("ok", 26e6), ("ok", 23e6)], ""),           # 17%: unstable
    ("retain", 16, 2): ([("ok", 23.5e6), ("ok", 23.8e6), ("ok", 23.6e6)], ""),    # 1.3%: stable
    ("retain", 32, 1): ([("ok", 24e6), ("oom", None), ("oom", None)], ""),       # one ok repeat: no spread
    ("accumulate", 8, 4): ([("ok", 21.5e6), ("ok", 22.6e6), ("ok", 21.7e6)], ""),  # 5.07% > 5%: unstable
    ("accumulate", 16, 2): ([("ok", 20e6), ("ok", 21.8e6), ("ok", 21e6)], "0.05"),  # 8.6% < 2 x 0.05: stable
    ("accumulate", 32, 1): ([("ok", 19e6), ("crash", None), ("ok", 25e6)], ""),  # 27% over two ok: unstable
}
S_UNSTABLE = {("full", 16, 1), ("retain", 8, 4), ("accumulate", 8, 4), ("accumulate", 32, 1)}
# retain's fastest split at effective batch 32 is 8×4: the summary's throughput table flags it


def make_stability_results(d):
    """a results set of repeated configurations with known repeat medians,
    in rounds (repeat r of every configuration, then r + 1), as sweep runs
    them; results.csv has a noise column (the run's --noise setting)"""
    os.makedirs(d, exist_ok=True)
    results, steps = [], []
    for rep in range(4):
        for (s, m, k), (reps, noise) in S_REPEATS.items():
            if rep >= len(reps):
                continue
            status, t = reps[rep]
            key = key_row(s, m, k, rep)
            a = analytic(s, m, k)
            r = dict(key, status=status, noise=noise, mem_analytic_bytes=a, data_bytes=4 * D * 256)
            if status != "ok":
                r.update(steps_timed=0, error="out of memory" if status == "oom" else "killed by signal 9")
            else:
                r.update({"steps_timed": 12, "stop_reason": "noise", "step_median_ns": "%.0f" % t,
                          "step_p10_ns": "%.0f" % (0.98 * t), "step_p90_ns": "%.0f" % (1.05 * t),
                          "noise_rel": 0.004, "samples_per_s": repr(m * k * 1e9 / t), "steps_per_s": repr(1e9 / t),
                          "mem_tracked_bytes": a + 4096 * rep, "rss_delta_bytes": a + 917504 + 65536 * rep})
                for i in range(12):
                    steps.append(dict(key, step=i, kind="timed", step_ns="%.0f" % (t * (1 + 0.001 * (i % 3)))))
            results.append(r)
    write_set(d, results, steps, [], [], extra=["noise"])


def expected_configs(rows):
    """configs.csv computed here from results.csv: per configuration (the
    key less repeat) the ok repeats' step medians aggregated"""
    out = {}
    for r in rows:
        c = (r["strategy"], int(r["micro_batch"]), int(r["iter_size"]))
        out.setdefault(c, []).append(r)
    want = {}
    for c, rs in out.items():
        ok = [r for r in rs if r["status"] == "ok"]
        t = [float(r["step_median_ns"]) for r in ok]
        med = median(t)
        spread = (max(t) - min(t)) / med if len(t) >= 2 else math.nan
        noise = float(rs[0]["noise"]) if rs[0].get("noise") else 0.01
        sps = [float(r["samples_per_s"]) for r in ok]
        lo = lambda v: min(v) if v else math.nan
        hi = lambda v: max(v) if v else math.nan
        want[c] = {"repeats": len(rs), "repeats_ok": len(ok), "step_median_ns": med, "step_min_ns": lo(t),
                   "step_max_ns": hi(t), "spread_rel": spread, "samples_per_s": median(sps),
                   "sps_min": lo(sps), "sps_max": hi(sps),
                   "mem_tracked_bytes": median([float(r["mem_tracked_bytes"]) for r in ok]),
                   "rss_delta_bytes": median([float(r["rss_delta_bytes"]) for r in ok]),
                   "mem_analytic_bytes": median([float(r["mem_analytic_bytes"]) for r in rs]),
                   "unstable": int(len(t) >= 2 and spread > max(2 * noise, 0.05))}
    return want


def close(a, b, rel=1e-12):
    """equal but for the last digits of a decimal round trip (%.17g is exact;
    medians of two add one rounding)"""
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= rel * max(abs(a), abs(b))


def check_configs_csv(d, rows, what):
    """configs.csv: one row per configuration, every aggregate equal to the
    one computed here; returns the rows by (strategy, m, k)"""
    with open(os.path.join(d, "configs.csv"), newline="") as f:
        got_rows = list(csv.DictReader(f))
    header = list(got_rows[0].keys()) if got_rows else []
    check(header[:len(KEYS) - 1] == KEYS[:-1] and "repeat" not in header,
          "%s: configs.csv opens with the key columns less repeat: %s" % (what, header[:len(KEYS)]))
    for col in ("repeats", "repeats_ok", "step_median_ns", "step_min_ns", "step_max_ns", "spread_rel",
                "samples_per_s", "mem_tracked_bytes", "rss_delta_bytes", "mem_analytic_bytes", "unstable"):
        check(col in header, "%s: configs.csv has column %s" % (what, col))
    want = expected_configs(rows)
    got = {(r["strategy"], int(r["micro_batch"]), int(r["iter_size"])): r for r in got_rows}
    check(len(got_rows) == len(want) and set(got) == set(want),
          "%s: configs.csv has %d rows, one per configuration (%d)" % (what, len(got_rows), len(want)))
    for c, w in want.items():
        g = got.get(c)
        if g is None:
            continue
        for col in ("repeats", "repeats_ok", "unstable"):
            check(int(g[col]) == w[col], "%s: configs.csv %s %s = %s, want %s" % (what, c, col, g[col], w[col]))
        for col in ("step_median_ns", "step_min_ns", "step_max_ns", "spread_rel", "samples_per_s",
                    "mem_tracked_bytes", "rss_delta_bytes", "mem_analytic_bytes"):
            check(close(num(g[col]), w[col]), "%s: configs.csv %s %s = %r, want %r" % (what, c, col, g[col], w[col]))
    return got, want


def check_stability(exe, work):
    require_gnuplot()
    shutil.rmtree(work, ignore_errors=True)
    d = os.path.join(work, "repeats")
    make_stability_results(d)
    rc, out, err = run([exe, "report", d])
    check(rc == 0 and err.strip() == "", "report exit %d, stderr %r" % (rc, err))
    check(os.path.join(d, "configs.csv") in out, "stdout names configs.csv: %r" % out)
    rows = load(d)
    got, want = check_configs_csv(d, rows, "repeats")
    flagged = {c for c, w in want.items() if w["unstable"]}
    check(flagged == S_UNSTABLE, "unstable computed here %s, want %s" % (sorted(flagged), sorted(S_UNSTABLE)))
    check({c for c, g in got.items() if g["unstable"] == "1"} == S_UNSTABLE, "configs.csv flags exactly %s" %
          sorted(S_UNSTABLE))
    check(got[("retain", 32, 1)]["spread_rel"] == "", "one ok repeat: no spread_rel")
    check(close(float(got[("full", 16, 1)]["step_median_ns"]), 11.5e6), "four repeats: the median of the middle two")
    check(not [f for f in os.listdir(d) if ".tmp" in f], "no temporaries left beside configs.csv")

    # summary.md and report.html: the count line, the column, the list
    with open(os.path.join(d, "summary.md")) as f:
        md = f.read()
    check(re.search(r"^Repeats: 7 of 8 configurations ran ok in two or more processes; 4 unstable", md, re.M),
          "summary.md: the count line")
    m = re.search(r"^## Unstable configurations\n(.*?)(?=^## |\Z)", md, re.M | re.S)
    lines = [l for l in m.group(1).split("\n") if l.startswith("|")] if m else []
    listed = {(c[1], int(c[2].split("×")[0]), int(c[2].split("×")[1])) for c in
              ([x.strip() for x in l.strip().strip("|").split("|")] for l in lines[2:])}
    check(listed == S_UNSTABLE, "summary.md lists the unstable configurations: %s" % sorted(listed))
    tp = re.search(r"^## Throughput at effective batch 32\n(.*?)(?=^## |\Z)", md, re.M | re.S)
    tl = [[x.strip() for x in l.strip().strip("|").split("|")] for l in tp.group(1).split("\n")
          if l.startswith("|")] if tp else []
    check(tl and tl[0][-1] == "stability" and all(r[-1] in ("", "unstable") for r in tl[2:]) and
          any(r[-1] == "unstable" for r in tl[2:]), "summary.md: the throughput table's stability column %s" % tl)
    with open(os.path.join(d, "report.html"), encoding="utf-8") as f:
        html = f.read()
    t = re.search(r'<table class="summary" id="unstable">(.*?)</table>', html, re.S)
    check(t is not None and t.group(1).count('<tr class="bad">') == len(S_UNSTABLE),
          "report.html lists the unstable configurations")
    check("4 unstable" in html and "Repeats: 7 of 8 configurations" in html, "report.html: the count lines")
    res = re.search(r'<table id="results">(.*?)</table>', html, re.S).group(1)
    n_flag = sum(len(S_REPEATS[c][0]) for c in S_UNSTABLE)
    check(res.count("<td>unstable</td>") == n_flag, "report.html: %d results rows of unstable configurations "
          "marked (%d)" % (n_flag, res.count("<td>unstable</td>")))

    # the throughput figures carry each configuration's repeats' range
    data = os.path.join(d, "plots", "data")
    for name, mincol in (("throughput_vs_micro_batch", 6), ("memory_vs_throughput", 5)):
        with open(os.path.join(data, name + ".dat")) as f:
            text = f.read()
        check(text.count("samples_per_s_min samples_per_s_max") >= 2, "%s: min/max columns in each series" % name)
        blocks = read_blocks(os.path.join(data, name + ".dat"))
        npts = 0
        for title, rws in blocks:
            if title.endswith("Pareto front"):
                continue
            s = title.split()[-1]
            for r in rws:
                m_, k_ = (int(r[0]), int(r[2])) if name.startswith("throughput") else \
                    tuple(int(x) for x in r[2].split("×"))
                w = want[(s, m_, k_)]
                npts += 1
                check(close(float(r[1]), w["samples_per_s"], 1e-8) and close(float(r[mincol]), w["sps_min"], 1e-8)
                      and close(float(r[mincol + 1]), w["sps_max"], 1e-8),
                      "%s %s %d×%d: median, min, max samples/s %s, want %s" %
                      (name, s, m_, k_, r[1:2] + r[mincol:mincol + 2], (w["samples_per_s"], w["sps_min"], w["sps_max"])))
                check(w["repeats_ok"] < 2 or float(r[mincol]) < float(r[mincol + 1]),
                      "%s %s %d×%d: a range wider than nothing" % (name, s, m_, k_))
        check(npts == sum(1 for c, w in want.items() if c[1] * c[2] == 32 and w["repeats_ok"]),
              "%s: a point per ok configuration at effective batch 32 (%d)" % (name, npts))
        svg = open(os.path.join(d, "plots", name + ".svg")).read()
        check(svg.count("<path") > 0 and os.path.getsize(os.path.join(d, "plots", name + ".png")) > 0,
              "%s drawn" % name)

    # results made before the noise and engine columns: the default noise
    # (the configuration kept stable by its 0.05 setting is now flagged), and
    # every key value in its own column though the first key column is gone
    d2 = os.path.join(work, "old-columns")
    os.makedirs(d2)
    old_keys = [k for k in KEYS if k != "engine"]
    with open(os.path.join(d, "steps.csv"), newline="") as f:
        write_csv(os.path.join(d2, "steps.csv"), old_keys + ["step", "kind", "step_ns"], csv.DictReader(f))
    write_csv(os.path.join(d2, "results.csv"), old_keys + MEASURES, rows)
    rc, out, err = run([exe, "report", d2])
    check(rc == 0, "old columns: exit %d %r" % (rc, err))
    got2, want2 = check_configs_csv(d2, load(d2), "old columns")
    check({c for c, g in got2.items() if g["unstable"] == "1"} == S_UNSTABLE | {("accumulate", 16, 2)},
          "old columns: 0.01 applies to every configuration")
    check(all(g["engine"] == "" and g["backend"] == "cpu" and g["seed"] == "1" for g in got2.values()),
          "old columns: configs.csv's key cells in their columns (engine empty)")


# ----------------------------------------------------------------------------
# allocators: a GPU-shaped set run with both --allocator pool and arena

# (strategy, m, k): (pool step ns, arena step ns or None: no twin)
A_STEPS = {("retain", 8, 2): (2.2e6, 2.0e6), ("accumulate", 8, 2): (2.1e6, 2.1e6), ("accumulate", 16, 1): (3.0e6, None)}


def make_allocator_results(d):
    os.makedirs(d, exist_ok=True)
    results = []
    for (s, m, k), (tp, ta) in A_STEPS.items():
        for alloc, t in (("pool", tp), ("arena", ta)):
            if t is None:
                continue
            for rep in range(3):
                key = dict(key_row(s, m, k, rep), backend="cuda", allocator=alloc)
                a = analytic(s, m, k)
                reserved = a * (1.25 if alloc == "pool" else 1.5)
                results.append(dict(key, status="ok", steps_timed=20, stop_reason="noise",
                                    step_median_ns="%.0f" % (t * (1 + 0.001 * rep)), samples_per_s=repr(m * k * 1e9 / t),
                                    mem_tracked_bytes=a, mem_reserved_bytes="%.0f" % reserved, mem_analytic_bytes=a))
    write_set(d, results, [], [], [])


def check_allocators(exe, work):
    require_gnuplot()
    shutil.rmtree(work, ignore_errors=True)
    d = os.path.join(work, "alloc")
    make_allocator_results(d)
    rc, out, err = run([exe, "report", d])
    check(rc == 0, "report exit %d, stderr %r" % (rc, err))
    with open(os.path.join(d, "summary.md")) as f:
        md = f.read()
    m = re.search(r"^## Allocator: pool vs arena\n(.*?)(?=^## |\Z)", md, re.M | re.S)
    check(m is not None, "summary.md has the pool vs arena table")
    rows = [[x.strip() for x in l.strip().strip("|").split("|")] for l in (m.group(1) if m else "").split("\n")
            if l.startswith("|")][2:]
    got = {(r[1], int(r[2].split("×")[0]), int(r[2].split("×")[1])): r for r in rows}
    want = {c for c, (tp, ta) in A_STEPS.items() if ta is not None}
    check(set(got) == want, "one row per configuration run with both allocators: %s" % sorted(got))
    for c in want:
        tp, ta = A_STEPS[c]
        r = got.get(c)
        if not r:
            continue
        check(abs(float(r[3]) - tp * 1.001e-6) < 1e-3 and abs(float(r[4]) - ta * 1.001e-6) < 1e-3,
              "%s: step ms %s, %s" % (c, r[3], r[4]))
        check(abs(float(r[5]) - tp / ta) < 1e-3, "%s: pool / arena %s, want %.3f" % (c, r[5], tp / ta))
        a = analytic(*c)
        check(abs(float(r[7]) - a * 1.25 / 2 ** 20) < 0.01 and abs(float(r[8]) - a * 1.5 / 2 ** 20) < 0.01,
              "%s: reserved MiB %s, %s" % (c, r[7], r[8]))
    # a CPU set has no such table (one allocator, the column empty)
    d2 = os.path.join(work, "cpu")
    make_results(d2)
    run([exe, "report", d2])
    with open(os.path.join(d2, "summary.md")) as f:
        check("Allocator: pool vs arena" not in f.read(), "no allocator table without both allocators")


# ----------------------------------------------------------------------------
# recomputation: the same configurations with recompute = none and blocks

ACT_BLOCKS = 4 * (H * L + 10)       # held per sample with blocks: each block's input
BLOCK_INSIDE = 4 * 2 * H            # one block's internals per sample, recomputed in backward
R_CONFIGS = [("full", eb, 1) for eb in (16, 32)] + \
    [(s, m, k) for s in ("retain", "accumulate") for m in (8, 16) for k in (1, 2, 4)]
R_NONE_OOM = ("retain", 16, 4)      # out of memory without recomputation, fits with it
R_BLOCKS_ONLY = ("accumulate", 32, 1)   # ran only with blocks: its own series, no twin row
R_UNSTABLE = ("accumulate", 8, 2)   # blocks repeats disagree; its none twin is stable
# per repeat: step time and tracked-byte offsets; the medians are the 1.0 and +4096 ones
R_STEP = {"none": (1.02, 0.99, 1.0), "blocks": (0.985, 1.0, 1.03)}    # spreads 3% and 4.5%: stable
R_MEM = (8192, 0, 4096)


def r_analytic(s, m, k, rc):
    if rc == "none":
        return analytic(s, m, k)
    held = m * k if s == "retain" else m
    return BASE + held * ACT_BLOCKS + m * (TRANSIENT + BLOCK_INSIDE)


def r_step(s, m, k, rc, rep):
    t = step_ns(s, m, k) * (1.3 if rc == "blocks" else 1.0)     # one forward more
    if rc == "blocks" and (s, m, k) == R_UNSTABLE:
        return t * (1.0, 1.2, 0.9)[rep]
    return t * R_STEP[rc][rep]


def memory_rows_blocks(key, s, m, k):
    """live bytes of a step with recompute = blocks: forward keeps each
    block's input, backward recomputes the block (phase recompute) and then
    frees it"""
    inputs = [m * ACT_BLOCKS // 3] * 3

    def fwd(ev, i):
        for a in inputs:
            ev(a, "forward", i, 40e3 * m)

    def bwd(ev, i):
        for a in inputs:
            ev(m * BLOCK_INSIDE, "recompute", i, 40e3 * m)
            ev(m * TRANSIENT, "backward", i, 60e3 * m)
            ev(-m * (BLOCK_INSIDE + TRANSIENT) - a, "backward", i, 50e3 * m)

    return step_timeline(key, s, k, fwd, bwd)


def make_recompute_results(d):
    """three repeats of each configuration under both settings, in rounds"""
    os.makedirs(d, exist_ok=True)
    results, steps, kernels, memory = [], [], [], []
    runs = [(c, rc) for c in R_CONFIGS for rc in ("none", "blocks")] + [(R_BLOCKS_ONLY, "blocks")]
    for rep in range(3):
        for (s, m, k), rc in runs:
            key = dict(key_row(s, m, k, rep), recompute=rc)
            a = r_analytic(s, m, k, rc)
            r = dict(key, mem_analytic_bytes=a, data_bytes=4 * D * 256)
            if ((s, m, k), rc) == (R_NONE_OOM, "none"):
                r.update(status="oom", steps_timed=0, error="out of memory")
                results.append(r)
                continue
            t = r_step(s, m, k, rc, rep)
            r.update({"status": "ok", "steps_timed": 12, "stop_reason": "noise", "step_median_ns": "%.0f" % t,
                      "samples_per_s": repr(m * k * 1e9 / t), "steps_per_s": repr(1e9 / t),
                      "mem_tracked_bytes": a + R_MEM[rep], "rss_delta_bytes": a + 917504})
            results.append(r)
            for i in range(16):
                kind = "warmup" if i < 3 else "timed" if i < 13 else "profiled"
                steps.append(dict(key, step=i, kind=kind, step_ns="%.0f" % t))
            krows = kernel_rows(key, s, m, k)
            if rc == "blocks":      # the blocks' forward gemms again, inside backward
                krows.append(dict(krows[0], phase="recompute", calls=12 * k, total_ns="%.0f" % (3 * 90e3 * m * k),
                                  name="cpu_gemm"))
            kernels.extend(krows)
            if rep == 0:
                memory.extend((memory_rows_blocks if rc == "blocks" else memory_rows)(key, s, m, k))
    write_set(d, results, steps, kernels, memory)
    return results


def recompute_cfgs(rows):
    """(strategy, recompute, m, k) → medians over ok repeats, as the report takes them"""
    out = {}
    for r in rows:
        out.setdefault((r["strategy"], r["recompute"], int(r["micro_batch"]), int(r["iter_size"])), []).append(r)
    want = {}
    for c, rs in out.items():
        ok = [r for r in rs if r["status"] == "ok"]
        t = [float(r["step_median_ns"]) for r in ok]
        want[c] = {"ok": bool(ok), "oom": any(r["status"] == "oom" for r in rs), "eb": int(rs[0]["effective_batch"]),
                   "mem": median([float(r["mem_tracked_bytes"]) for r in ok]),
                   "analytic": median([float(r["mem_analytic_bytes"]) for r in rs]),
                   "step": median(t), "sps": median([float(r["samples_per_s"]) for r in ok]),
                   "unstable": len(t) >= 2 and (max(t) - min(t)) / median(t) > 0.05}
    return want


def r_title(s, rc, rest=""):
    return s + rest + (", recompute blocks" if rc == "blocks" else "")


def check_recompute_memory(d, cf, what):
    """figure 1 and 5: a series per (strategy, micro-batch, recompute), blocks
    dotted in its twin's colour and marks; every point the median here"""
    data = os.path.join(d, "plots", "data")
    b1 = dict(read_blocks(os.path.join(data, "memory_vs_iter_size.dat")))
    want = {}
    for (s, rc, m, k), e in cf.items():
        if s != "full" and (e["ok"] or e["oom"]):
            want.setdefault(r_title(s, rc, ", micro-batch %d" % m), []).append((k, e))
    check(set(b1) == set(want), "%s figure 1 series %s, want %s" % (what, sorted(b1), sorted(want)))
    for t, ks in want.items():
        got = {int(r[0]): r for r in b1.get(t, [])}
        check(sorted(got) == sorted(k for k, _ in ks), "%s figure 1 %s: iter_sizes %s" % (what, t, sorted(got)))
        for k, e in ks:
            r = got.get(k)
            if not r:
                continue
            mib = e["mem"] / MIB if e["ok"] else math.nan
            check(close(num(r[1].replace("NaN", "")), mib, 1e-8) and close(float(r[2]), e["analytic"] / MIB, 1e-8),
                  "%s figure 1 %s k=%d: %s MiB (analytic %s), want %s" % (what, t, k, r[1], r[2], mib))
            check(r[4] == ("0" if e["ok"] else "1"), "%s figure 1 %s k=%d: oom mark %s" % (what, t, k, r[4]))
            check(r[7] == ("3" if "recompute" in t else "1"), "%s figure 1 %s: dash %s" % (what, t, r[7]))
        twin = t.replace(", recompute blocks", "")
        if twin != t and t in b1 and twin in b1:
            check(b1[t][0][5:7] == b1[twin][0][5:7], "%s figure 1 %s: colour and mark of %s" % (what, t, twin))
    sp = svg_points(os.path.join(d, "plots", "memory_vs_iter_size.svg"))
    for t, ks in want.items():
        n_ok = sum(e["ok"] for _, e in ks)
        check(sp.get(t) == n_ok, "%s figure 1 SVG draws %s points of %s, want %d" % (what, sp.get(t), t, n_ok))
    b5 = dict(read_blocks(os.path.join(data, "peak_ratio.dat")))
    want5 = {}
    for (s, rc, m, k), e in cf.items():
        a = cf.get(("accumulate", rc, m, k))
        if s == "retain" and e["ok"] and a and a["ok"]:
            want5.setdefault(r_title("micro-batch %d" % m, rc), {})[k] = e["mem"] / a["mem"]
    got5 = {t: {int(r[0]): float(r[1]) for r in rws} for t, rws in b5.items()}
    check(set(got5) == set(want5) and all(set(got5[t]) == set(want5[t]) and
                                          all(close(got5[t][k], v, 1e-8) for k, v in want5[t].items())
                                          for t in want5),
          "%s figure 5: %s, want %s" % (what, got5, want5))


def pareto_front_of(pts):
    return sorted(p for p in pts if not any(q[0] <= p[0] and q[1] >= p[1] and q != p for q in pts))


def check_recompute_slice(d, cf, eb, what):
    """figures 2, 3 and 4 at effective batch eb: a series (bar) per strategy
    and recompute setting; blocks with marks of their own; the Pareto front
    over both settings; each blocks bar's recompute segment"""
    data = os.path.join(d, "plots", "data")
    want = {}
    for (s, rc, m, k), e in cf.items():
        if e["ok"] and e["eb"] == eb:
            want.setdefault(r_title(s, rc), {})["%d×%d" % (m, k)] = e
    for name in ("throughput_vs_micro_batch", "memory_vs_throughput"):
        blocks = read_blocks(os.path.join(data, name + ".dat"))
        series = {t: r for t, r in blocks if t != "Pareto front"}
        got = {t: {("%s×%s" % (r[0], r[2]) if name.startswith("throughput") else r[2]): r for r in rws}
               for t, rws in series.items()}
        check({t: sorted(g) for t, g in got.items()} == {t: sorted(w) for t, w in want.items()},
              "%s %s series %s, want %s" % (what, name, {t: sorted(g) for t, g in got.items()},
                                            {t: sorted(w) for t, w in want.items()}))
        marks = {t: {r[4] for r in rws} for t, rws in series.items()}      # the point-type column
        none_marks = set().union(*[m for t, m in marks.items() if "recompute" not in t] or [set()])
        for t, rws in series.items():
            mem = name == "memory_vs_throughput"
            for r in rws:
                e = want.get(t, {}).get("%s×%s" % (r[0], r[2]) if not mem else r[2])
                if e:
                    check(close(float(r[1]), e["sps"], 1e-8) and (not mem or close(float(r[0]), e["mem"] / MIB, 1e-8)),
                          "%s %s %s %s: %s, want %s samples/s" % (what, name, t, r[2], r[1], e["sps"]))
            if "recompute" in t:
                check(not (marks[t] & none_marks), "%s %s %s: marks %s apart from none's %s" %
                      (what, name, t, marks[t], none_marks))
                if not mem:
                    check(all(r[5] == "3" for r in rws), "%s %s %s: dotted" % (what, name, t))
        if name == "memory_vs_throughput":
            split = {(e["mem"] / MIB, e["sps"]): "%s %s%s" % (t.split(",")[0], sp, " recompute" * ("recompute" in t))
                     for t, w in want.items() for sp, e in w.items()}
            front = pareto_front_of(list(split))
            got_front = sorted((float(r[0]), float(r[1]), r[2]) for r in blocks[-1][1])
            check(blocks[-1][0] == "Pareto front" and len(got_front) == len(front) and
                  all(close(a[0], b[0], 1e-8) and close(a[1], b[1], 1e-8) and a[2] == split[b]
                      for a, b in zip(got_front, front)),
                  "%s Pareto front over both settings %s, want %s" % (what, got_front,
                                                                      [(p, split[p]) for p in front]))
            check(any("recompute" in split[p] for p in front) and any("recompute" not in split[p] for p in front),
                  "%s the front holds splits of both settings (the test's premise)" % what)
    b4 = read_blocks(os.path.join(data, "kernel_phases.dat"))
    bars = {r[0]: r for r in b4[0][1]} if b4 else {}
    want4 = {("full %d" % m if s == "full" else "%s %d×%d" % (s, m, k)) + (" recompute" if rc == "blocks" else ""):
             (s, rc, m, k) for (s, rc, m, k), e in cf.items() if e["ok"] and e["eb"] == eb}
    check(set(bars) == set(want4), "%s figure 4 bars %s, want %s" % (what, sorted(bars), sorted(want4)))
    for label, (s, rc, m, k) in want4.items():
        r = bars.get(label)
        want_r = 0.09 * m * k if rc == "blocks" else 0.0
        check(r is not None and b4[0][0] and close(float(r[2]), want_r, 1e-8),
              "%s figure 4 %s: recompute %s ms, want %s" % (what, label, r and r[2], want_r))
    with open(os.path.join(d, "plots", "kernel_phases.svg")) as f:
        check("<title>recompute</title>" in f.read(), "%s figure 4's key names recompute" % what)


def check_recompute_timeline(d, split, what):
    """figure 6: four panels, each strategy above its recompute run: every
    memory.csv event of the split; R (phase 4) spans only in the blocks panels"""
    b6 = read_blocks(os.path.join(d, "plots", "data", "memory_timeline.dat"))
    with open(os.path.join(d, "memory.csv"), newline="") as f:
        mrows = list(csv.reader(f))
    col = {h: i for i, h in reversed(list(enumerate(mrows[0])))}
    panels = [("retain", "none"), ("retain", "blocks"), ("accumulate", "none"), ("accumulate", "blocks")]
    check(len(b6) == 8, "%s figure 6: four panels (%d blocks)" % (what, len(b6)))
    peaks = []
    for p, (s, rc) in enumerate(panels[:len(b6) // 2]):
        ev = [r for r in mrows[1:] if r[col["strategy"]] == s and r[col["recompute"]] == rc and
              (int(r[col["micro_batch"]]), int(r[col["iter_size"]])) == split]
        spans, line = b6[2 * p][1], b6[2 * p + 1]
        check(line[0] == r_title(s, rc) and len(line[1]) == len(ev),
              "%s figure 6 panel %d: %s with %d events, want %s with %d" % (what, p, line[0], len(line[1]),
                                                                          r_title(s, rc), len(ev)))
        check(all(close(float(a[1]), float(b[col["bytes"] + 0]) / MIB, 1e-8) for a, b in zip(line[1], ev)),
              "%s figure 6 panel %d: live bytes are memory.csv's" % (what, p))
        n_r = sum(1 for r in spans if r[2] == "4")
        want_r = sum(1 for i, r in enumerate(ev) if r[-2] == "recompute" and (i == 0 or ev[i - 1][-2:] != r[-2:]))
        check(n_r == want_r and (n_r > 0) == (rc == "blocks"), "%s figure 6 panel %d: %d R spans, want %d" %
              (what, p, n_r, want_r))
        peaks.append(max(float(r[1]) for r in line[1]))
    check(len(peaks) == 4 and peaks[1] < peaks[0] and peaks[3] < peaks[2],
          "%s figure 6: the recompute panels peak lower %s" % (what, peaks))
    w, h, _ = png_info(os.path.join(d, "plots", "memory_timeline.png"))
    check(h > 820, "%s figure 6 PNG is taller for four panels (%dx%d)" % (what, w, h))


def md_table(md, heading):
    m = re.search(r"^## %s\n(.*?)(?=^## |\Z)" % re.escape(heading), md, re.M | re.S)
    if not m:
        return None, []
    return m.group(1), [[x.strip() for x in l.strip().strip("|").split("|")] for l in m.group(1).split("\n")
                        if l.startswith("|")][2:]


def check_recompute_summary(d, cf, label, what):
    """summary.md's Recomputation section: a row per split run both ways,
    every number the medians here; the words' ranges; report.html the same"""
    with open(os.path.join(d, "summary.md")) as f:
        md = f.read()
    text, rows = md_table(md, "Recomputation")
    check(text is not None, "%s summary.md has a Recomputation section" % what)
    want = {(s, m, k): (e, cf[(s, "blocks", m, k)]) for (s, rc, m, k), e in cf.items()
            if rc == "none" and (s, "blocks", m, k) in cf}
    got = {(r[1], int(r[2].split("×")[0]), int(r[2].split("×")[1])): r for r in rows}
    check(set(got) == set(want), "%s Recomputation rows %s, want %s" % (what, sorted(got), sorted(want)))
    f2 = lambda v: "" if math.isnan(v) else "%.2f" % (v / MIB)
    g4 = lambda v: "" if math.isnan(v) else "%.4g" % (v * 1e-6)
    peaks, steps = [], []
    for c, (a, b) in want.items():
        r = got.get(c)
        both = a["ok"] and b["ok"]
        pr, sr = (b["mem"] / a["mem"], b["step"] / a["step"]) if both else (math.nan, math.nan)
        if both:
            peaks.append(pr)
            steps.append(sr)
        cells = [label, c[0], "%d × %d" % c[1:], f2(a["mem"]), f2(b["mem"]), fmt(pr, "%.3f"), g4(a["step"]),
                 g4(b["step"]), fmt(sr, "%.3f")]
        check(r is not None and r[:9] == cells, "%s Recomputation %s: %s, want %s" % (what, c, r and r[:9], cells))
    rng = lambda lo, hi: "%.3f×" % lo if abs(hi - lo) < 0.0005 else "%.3f–%.3f×" % (lo, hi)
    words = "%s: with --recompute blocks the tracked peak is %s and the step time %s those without it, over %d splits" \
        % (label, rng(min(peaks), max(peaks)), rng(min(steps), max(steps)), len(peaks))
    check(words in (text or ""), "%s Recomputation words: %r" % (what, words))
    return md, len(want)


def check_recompute(exe, work):
    require_gnuplot()
    shutil.rmtree(work, ignore_errors=True)
    d = os.path.join(work, "both")
    rows = make_recompute_results(d)
    rc, out, err = run([exe, "report", d])
    check(rc == 0 and err.strip() == "" and "6 figures" in out, "report exit %d, %r, stderr %r" % (rc, out, err))
    cf = recompute_cfgs(rows)
    label = "mlp %d→%d×%d, cpu, sgd" % (D, H, L)
    check_recompute_memory(d, cf, "synthetic")
    eb = expected_slice({(s, m, k): e for (s, rc, m, k), e in cf.items() if rc == "none"})
    check(eb == 32, "the slice is effective batch 32 (got %s)" % eb)
    check_recompute_slice(d, cf, eb, "synthetic")
    check_recompute_timeline(d, (8, 4), "synthetic")
    md, nrows = check_recompute_summary(d, cf, label, "synthetic")
    check("%s: ran out of memory without recomputation and fit with it: retain 16 × 4." % label in md,
          "summary.md names the split that fits only with recomputation")

    # identity: never a none and a blocks row in one table row or median
    with open(os.path.join(d, "configs.csv"), newline="") as f:
        got = {(r["strategy"], r["recompute"], int(r["micro_batch"]), int(r["iter_size"])): r for r in csv.DictReader(f)}
    check(set(got) == set(cf), "configs.csv: one row per (strategy, recompute, split): %d, want %d" % (len(got), len(cf)))
    for c, e in cf.items():
        g = got.get(c)
        check(g is not None and close(num(g["step_median_ns"]), e["step"]) and close(num(g["mem_tracked_bytes"]), e["mem"])
              and g["unstable"] == str(int(e["unstable"])), "configs.csv %s: medians of its own repeats" % (c,))
    _, unstable = md_table(md, "Unstable configurations")
    check([(r[0], r[1], r[2]) for r in unstable] == [(label + ", recompute blocks", R_UNSTABLE[0], "%d × %d" % R_UNSTABLE[1:])],
          "summary.md's unstable table names the blocks configuration alone: %s" % unstable)
    with open(os.path.join(d, "report.html"), encoding="utf-8") as f:
        html = f.read()
    t = re.search(r'<table class="summary" id="recompute">(.*?)</table>', html, re.S)
    check(t is not None and t.group(1).count("<tr class=") == nrows, "report.html: the Recomputation table, %d rows" % nrows)
    res = re.search(r'<table id="results">(.*?)</table>', html, re.S)
    n_blocks = sum(r["recompute"] == "blocks" for r in rows)
    check(res is not None and res.group(1).count("<td>%s, recompute blocks</td>" % label) == n_blocks and
          res.group(1).count("<td>%s</td>" % label) == len(rows) - n_blocks,
          "report.html's results table tells each row's setting (%d blocks rows)" % n_blocks)
    check_recompute_sweep(exe, work)


def check_recompute_sweep(exe, work):
    """a real sweep on the CPU, recompute = none, blocks (a tiny mlp, one
    repeat, three steps): the report draws both settings from the engine's
    own CSVs"""
    d = os.path.join(work, "sweep")
    p = cpu_sweep(exe, work, "recompute",
                  "backend = cpu\nmodels = mlp\ninput_dim = 256\nhidden = 128\nlayers = 3\n"
                  "strategies = retain, accumulate\nrecompute = none, blocks\nmicro_batch = 8\niter_size = 1, 2\n"
                  "warmup = 1\nmin_steps = 3\nmax_steps = 3\ntimeout = 60\n", d, 120)
    check(p.returncode == 0, "sweep with recompute = none, blocks: exit %d: %s" % (p.returncode, p.stderr[-600:]))
    if p.returncode != 0:
        return
    rows = load(d)
    check(len(rows) == 8 and all(r["status"] == "ok" for r in rows) and
          sum(r["recompute"] == "blocks" for r in rows) == 4, "sweep: 8 ok rows, 4 with blocks")
    rc, out, err = run([exe, "report", d])
    check(rc == 0 and err.strip() == "", "sweep: report exit %d, stderr %r" % (rc, err))
    cf = recompute_cfgs(rows)
    check_recompute_memory(d, cf, "sweep")
    check(cf[("retain", "blocks", 8, 2)]["mem"] < cf[("retain", "none", 8, 2)]["mem"],
          "sweep: retain 8×2 holds less with blocks (block inputs only)")
    b4 = read_blocks(os.path.join(d, "plots", "data", "kernel_phases.dat"))
    with open(os.path.join(d, "kernels.csv"), newline="") as f:
        krows = list(csv.DictReader(f))
    with open(os.path.join(d, "steps.csv"), newline="") as f:
        srows = list(csv.DictReader(f))
    for bar in (b4[0][1] if b4 else []):
        parts = bar[0].replace("×", " ").split()
        key = (parts[0], "blocks" if parts[-1] == "recompute" else "none", int(parts[1]), int(parts[2]))
        sel = lambda r: (r["strategy"], r["recompute"], int(r["micro_batch"]), int(r["iter_size"])) == key
        nprof = sum(1 for r in srows if sel(r) and r["kind"] == "profiled")
        ms = sum(float(r["total_ns"]) for r in krows if sel(r) and r["phase"] == "recompute") / nprof * 1e-6
        check(close(float(bar[2]), ms, 1e-8) and (ms > 0) == (key[1] == "blocks"),
              "sweep figure 4 %s: recompute %s ms, want %s" % (bar[0], bar[2], ms))
    check(b4 and len(b4[0][1]) == 4, "sweep figure 4: 4 bars at effective batch 16")
    check_recompute_timeline(d, (8, 2), "sweep")
    check_recompute_summary(d, cf, "mlp 256→128×3, cpu, sgd", "sweep")


def main():
    parts = {"plots": check_plots, "html": check_html, "engines": check_engines, "stability": check_stability,
             "allocators": check_allocators, "recompute": check_recompute}
    if len(sys.argv) != 4 or sys.argv[1] not in parts:
        print(__doc__, file=sys.stderr)
        return 2
    exe, work = os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    parts[sys.argv[1]](exe, work)
    if FAILS:
        print("%d check(s) failed" % len(FAILS), file=sys.stderr)
        return 1
    print("report_check %s: ok" % sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
