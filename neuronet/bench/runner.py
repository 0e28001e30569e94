"""The bench driver: one subprocess per (workload, framework), a table or JSON.

The driver itself imports neither PyTorch nor the library's layers: every
number comes from a worker (``_worker.py``) started with the same thread
settings, so the frameworks compete on equal terms and each peak RSS belongs
to one workload on one framework.
"""
from __future__ import annotations

import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys

from .workloads import TARGET_RSS_RATIO

__all__ = ["environment_info", "worker_env", "run_worker", "run_benchmarks", "format_table",
           "torch_available"]

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def torch_available():
    return importlib.util.find_spec("torch") is not None


def _package_root():
    """The directory that holds the ``neuronet`` package (put on the workers'
    PYTHONPATH so a source checkout works without ``pip install -e``)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def worker_env(threads):
    """The parent's environment with the thread count pinned for BLAS and
    OpenMP. ``OPENBLAS_CORETYPE`` and everything else is passed through as is."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    root = _package_root()
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas_info():
    """What NumPy says it was built against (numpy >= 1.25: show_config(mode='dicts'))."""
    import numpy
    try:
        cfg = numpy.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        return " ".join(str(blas.get(k)) for k in ("name", "version") if blas.get(k)) or "unknown"
    except Exception:  # older NumPy: no dict mode
        return "unknown"


def _version(dist):
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return None


def environment_info(threads):
    """The header facts: when, where, which versions, which BLAS, how loaded."""
    import numpy
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch": _version("torch") if torch_available() else None,
        "blas": _blas_info(),
        "threads": threads,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        # neuronet's optional compiled im2col loops (the `fast` extra): they
        # change both speed and RSS (LLVM is loaded on first use).
        "numba": _version("numba"),
        "NEURONET_NUMBA": os.environ.get("NEURONET_NUMBA"),
        "loadavg_start": list(load) if load else None,
    }


def run_worker(framework, workload, threads=2, warmup=2, repeats=5, steps=0, rep_time=1.0,
               batch=None, timeout=1800):
    """Run one measurement in a fresh interpreter; returns ``(result, error)``."""
    cmd = [sys.executable, "-m", "neuronet.bench._worker", "--framework", framework,
           "--workload", workload, "--threads", str(threads), "--warmup", str(warmup),
           "--repeats", str(repeats), "--steps", str(steps), "--rep-time", str(rep_time)]
    if batch is not None:
        cmd += ["--batch", str(batch)]
    try:
        proc = subprocess.run(cmd, env=worker_env(threads), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return None, f"exit {proc.returncode}: " + " | ".join(tail)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1]), None
    except (ValueError, IndexError):
        return None, "worker printed no JSON: " + proc.stdout[-300:]


def _ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def run_benchmarks(workloads, frameworks=("neuronet", "torch"), threads=2, warmup=2, repeats=5,
                   steps=0, rep_time=1.0, quick_batch=None, timeout=1800, log=None, parallel=1):
    """Measure every workload on every framework; returns the report dict.

    ``quick_batch``: cap each workload's batch (``--quick``). ``log``: a
    callable given one progress line per measurement (stderr in the CLI).
    ``parallel``: workers run at once -- only for smoke runs, whose timings
    mean nothing; real measurements run one at a time (the default).
    """
    report = {"environment": environment_info(threads), "settings": {
        "warmup_steps": warmup, "repeats": repeats, "steps_per_repeat": steps or "auto",
        "rep_time_s": rep_time, "frameworks": list(frameworks), "quick": quick_batch is not None,
        "parallel_workers": parallel},
        "results": []}
    rows, jobs = [], []
    for wl in workloads:
        batch = wl.batch if quick_batch is None else min(wl.batch, quick_batch)
        row = {"workload": wl.name, "description": wl.description, "batch": batch,
               "train": wl.train, "target_ratio": wl.target_ratio,
               "target_rss_ratio": TARGET_RSS_RATIO, "errors": {},
               "neuronet": None, "torch": None, "baseline": None}
        rows.append(row)
        jobs += [(row, fw) for fw in ("neuronet", "torch", "baseline") if fw in frameworks]

    def job(item):
        row, fw = item
        res, err = run_worker(fw, row["workload"], threads, warmup, repeats, steps, rep_time,
                              row["batch"], timeout)
        row[fw] = res
        if err:
            row["errors"][fw] = err
        if log:
            if res:
                log(f"  {row['workload']:<16} {fw:<9} {res['images_per_s']['median']:>10.1f} img/s  "
                    f"peak RSS {res['peak_rss_mib']:.0f} MiB")
            else:
                log(f"  {row['workload']:<16} {fw:<9} FAILED: {err}")

    if parallel > 1:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            list(pool.map(job, jobs))
    else:
        for item in jobs:
            job(item)

    for row in rows:
        def med(fw):
            return row[fw]["images_per_s"]["median"] if row[fw] else None

        def rss(fw):
            return row[fw]["peak_rss_mib"] if row[fw] else None
        row["ratio"] = _ratio(med("neuronet"), med("torch"))
        row["rss_ratio"] = _ratio(rss("neuronet"), rss("torch"))
        row["speedup_vs_baseline"] = _ratio(med("neuronet"), med("baseline"))
        report["results"].append(row)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    report["environment"]["loadavg_end"] = list(load) if load else None
    return report


# ----------------------------------------------------------------------------- table

def _fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


def _ips(res):
    if not res:
        return "-"
    i = res["images_per_s"]
    return f"{i['median']:.0f} ({i['min']:.0f}-{i['max']:.0f})"


def format_table(report):
    env = report["environment"]
    s = report["settings"]
    lines = [
        f"neuronet bench  {env['date']}  {env['cpu']} ({env['cpu_count']} CPUs)",
        f"python {env['python']}  numpy {env['numpy']}  torch {env['torch'] or 'not installed'}  "
        f"BLAS {env['blas']}  threads {env['threads']}  "
        f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE'] or '(unset)'}  "
        f"numba {env.get('numba') or 'not installed'}"
        + (f" (NEURONET_NUMBA={env['NEURONET_NUMBA']})" if env.get("NEURONET_NUMBA") else ""),
        f"load average at start {_load(env.get('loadavg_start'))}, at end "
        f"{_load(env.get('loadavg_end'))}; warm-up {s['warmup_steps']} steps, "
        f"{s['repeats']} timed repetitions of {s['steps_per_repeat']} steps "
        f"(auto: ~{s['rep_time_s']} s each); img/s = median (min-max)",
        "",
    ]
    has_base = any(r["baseline"] for r in report["results"])
    head = ["workload", "batch", "neuronet img/s", "torch img/s", "ratio", "target"]
    if has_base:
        head += ["baseline img/s", "vs base"]
    head += ["nn RSS MiB", "torch RSS MiB", "RSS ratio", "nn growth MiB"]
    rows = []
    for r in report["results"]:
        nn = r["neuronet"]
        row = [r["workload"], str(r["batch"]), _ips(nn), _ips(r["torch"]),
               _fmt(r["ratio"], ".2f"), f">={r['target_ratio']:.1f}"]
        if has_base:
            row += [_ips(r["baseline"]), _fmt(r["speedup_vs_baseline"], ".1f", "-") +
                    ("x" if r["speedup_vs_baseline"] is not None else "")]
        row += [_fmt(nn and nn["peak_rss_mib"], ".0f"),
                _fmt(r["torch"] and r["torch"]["peak_rss_mib"], ".0f"),
                _fmt(r["rss_ratio"], ".2f"),
                _fmt(nn and nn["rss_mib"]["growth"], "+.1f")]
        rows.append(row)
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(head)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths))))
    lines.append("")
    lines.append(f"ratio = neuronet/PyTorch images/s; RSS ratio target <= {TARGET_RSS_RATIO}; "
                 "growth = RSS after the last step minus after step ~10 (after warm-up in short runs).")
    for r in report["results"]:
        for fw, err in r["errors"].items():
            lines.append(f"error: {r['workload']} on {fw}: {err}")
        nn = r["neuronet"]
        if nn and not r["train"] and not nn["check"].get("graph_free", True):
            lines.append(f"warning: {r['workload']}: no_grad inference built a graph")
        if nn and not nn["check"].get("params_updated_in_place", True):
            lines.append(f"warning: {r['workload']}: SGD replaced parameter arrays (not in place)")
    return "\n".join(lines)


def _load(v):
    return "-" if not v else "/".join(f"{x:.1f}" for x in v)
