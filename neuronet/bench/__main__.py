"""``python -m neuronet.bench`` -- see ``bench/README.md``.

::

    python -m neuronet.bench [--workloads lenet64,lenet64-user,...,resnet20,vgg]
                             [--repeats N] [--warmup N] [--steps K] [--threads 2 | --threads 2,1]
                             [--busy] [--interleave] [--json] [--save PATH] [--no-torch]
                             [--baseline] [--quick]
    python -m neuronet.bench micro [--ops ...] [--repeats N] [--threads 2] [--json] [--no-torch]
    python -m neuronet.bench profile WORKLOAD [--steps N] [--warmup N] [--cprofile N] [--quick]
    python -m neuronet.bench data [--workers 2] [--samples 2048] [--repeats 3] [--json] [--quick]

``--threads 2,1``: the whole table once per thread count, in one invocation
(the JSON is then ``{"runs": [report, ...]}``; with one count, the report
itself). ``--busy``: each workload on neuronet and PyTorch measured again
beside one CPU-busy process, and each framework's slowdown printed.
``--interleave``: the frameworks' repetitions alternate (fairer on a shared
machine).

``micro``, ``profile`` and ``data`` (DataLoader throughput, num_workers=0 vs k) run in a child interpreter whose BLAS/OpenMP thread
count is set before NumPy loads (the parent has already imported it).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys

from .runner import format_table, run_benchmarks, stop_children, torch_available, worker_env
from .workloads import WORKLOADS, parse_workloads

QUICK_BATCH = 8


def _threads_arg(p):
    p.add_argument("--threads", type=int, default=2,
                   help="BLAS/OpenMP threads for every framework (default 2)")


def parse_thread_counts(spec):
    """``"2"`` -> ``[2]``; ``"2,1"`` -> ``[2, 1]`` (one table each, in that order)."""
    counts = []
    for part in str(spec).split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise ValueError(f"--threads takes a positive integer or a comma-separated list of "
                             f"them (e.g. 2,1), received {spec!r}")
        counts.append(int(part))
    return counts


def _run_child(module, argv, threads):
    """Run ``python -m neuronet.bench.<module> argv`` with pinned threads; its
    output goes straight to ours."""
    cmd = [sys.executable, "-m", f"neuronet.bench.{module}", *argv, "--threads", str(threads)]
    return subprocess.run(cmd, env=worker_env(threads)).returncode


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("micro", "profile", "data", "distributed"):
        sub = argv.pop(0)
        # Peel --threads off here so the child gets it once, with the env to match.
        p = argparse.ArgumentParser(add_help=False)
        _threads_arg(p)
        known, rest = p.parse_known_args(argv)
        return _run_child(sub, rest, known.threads)

    p = argparse.ArgumentParser(
        prog="python -m neuronet.bench",
        description="Throughput (images/s) and peak RSS of neuronet vs PyTorch, each "
                    "workload x framework in its own subprocess. Subcommands: "
                    "'micro' (per-op timings), 'profile WORKLOAD' (where a step's time goes), "
                    "'data' (DataLoader images/s with and without worker processes).")
    p.add_argument("--workloads", default="all",
                   help=f"comma-separated subset of: {', '.join(WORKLOADS)} (default all)")
    p.add_argument("--repeats", type=int, default=5, help="timed repetitions (default 5)")
    p.add_argument("--warmup", type=int, default=2, help="untimed warm-up steps (default 2)")
    p.add_argument("--steps", type=int, default=0,
                   help="steps per repetition (default 0: auto, ~--rep-time seconds each)")
    p.add_argument("--rep-time", type=float, default=1.0,
                   help="target seconds per repetition when --steps is auto (default 1.0)")
    p.add_argument("--threads", default="2", metavar="N[,N...]",
                   help="BLAS/OpenMP/numba threads for every framework (default 2); a list such "
                        "as 2,1 prints the table once per thread count")
    p.add_argument("--busy", action="store_true",
                   help="also measure neuronet and PyTorch beside one CPU-busy process and "
                        "print each one's slowdown (quiet / busy images/s)")
    p.add_argument("--interleave", action="store_true",
                   help="alternate the frameworks' timed repetitions of each workload (each in its "
                        "own warmed-up worker), so load from elsewhere hits them alike: for shared "
                        "machines")
    p.add_argument("--json", action="store_true",
                   help="print the report as JSON ({\"runs\": [...]} with several --threads)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    p.add_argument("--baseline", action="store_true",
                   help="also run the Chainer-style NumPy baseline (bench/baselines)")
    p.add_argument("--quick", action="store_true",
                   help=f"one tiny iteration of everything (batch <= {QUICK_BATCH}): a smoke test")
    p.add_argument("--save", metavar="PATH", help="also write the JSON report to PATH")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per measurement")
    a = p.parse_args(argv)
    try:
        workloads = parse_workloads(a.workloads)
        thread_counts = parse_thread_counts(a.threads)
    except ValueError as e:
        p.error(str(e))

    frameworks = ["neuronet"]
    if not a.no_torch:
        if torch_available():
            frameworks.append("torch")
        elif not a.json:
            print("PyTorch is not importable: torch columns left empty", file=sys.stderr)
    if a.baseline:
        frameworks.append("baseline")
    warmup, repeats, steps, quick_batch, parallel = a.warmup, a.repeats, a.steps, None, 1
    if a.quick:
        # A smoke run: its timings mean nothing, so the workers may overlap.
        warmup, repeats, steps, quick_batch = 0, 1, 1, QUICK_BATCH
        parallel = max(1, min(4, os.cpu_count() or 1))

    def log(line):
        print(line, file=sys.stderr, flush=True)

    # A SIGTERM must unwind like Ctrl-C, so no worker or busy process outlives us.
    restore = None
    if hasattr(signal, "SIGTERM") and _in_main_thread():
        restore = signal.signal(signal.SIGTERM, _terminated)
    reports = []
    try:
        for threads in thread_counts:
            if not a.json and len(thread_counts) > 1:
                log(f"threads {threads}:")
            reports.append(run_benchmarks(
                workloads, frameworks, threads, warmup, repeats, steps, a.rep_time, quick_batch,
                a.timeout, log=None if a.json else log, parallel=parallel, busy=a.busy,
                interleave=a.interleave))
            if not a.json:
                # Each table as soon as its thread count is done.
                print(("\n" if len(reports) > 1 else "") + format_table(reports[-1]), flush=True)
    except BaseException:
        stop_children()           # interrupted: no worker or busy process left behind
        raise
    finally:
        if restore is not None:
            signal.signal(signal.SIGTERM, restore)
    out = reports[0] if len(reports) == 1 else {"runs": reports}
    if a.save:
        with open(a.save, "w") as f:
            json.dump(out, f, indent=1)
    if a.json:
        print(json.dumps(out, indent=1))
    failed = any(r["errors"] for rep in reports for r in rep["results"])
    return 1 if failed else 0


def _in_main_thread():
    import threading
    return threading.current_thread() is threading.main_thread()


def _terminated(signum, frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
