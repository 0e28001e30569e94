"""``python -m neuronet.bench data``: how much worker processes speed up an
augmentation-heavy input pipeline.

The pipeline is the kind a thread cannot speed up: per-item Python work. The
bundled MNIST sample (``neuronet.data.mnist_sample``), each image on its own
through ``RandomAffine(15, translate, scale, bilinear) -> RandomCrop(28,
padding=2) -> ToTensor -> Normalize`` and stacked by ``default_collate``
(``collate_fn`` is passed, so the loader takes the item-by-item path, not the
batch-wise fast path). The loop only consumes the batches: the figure is the
loader's own throughput, images/s.

``num_workers=0`` and ``num_workers=k`` are timed side by side in one run,
alternating epochs (so a change in machine load hits both), with persistent
workers and one untimed warm-up epoch each; the worker start-up (fork) is
reported apart. Speed-up = median images/s with workers / without.

::

    python -m neuronet.bench data [--workers 2] [--samples 2048] [--batch-size 64]
                                  [--repeats 3] [--json] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

__all__ = ["build_dataset", "time_epochs", "main"]


def build_dataset(samples):
    """The first ``samples`` training images of the bundled MNIST sample with
    per-item random augmentation."""
    from ..data import Subset, mnist_sample
    from ..data import transforms as T
    tf = T.Compose([T.RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1), interpolation="bilinear"),
                    T.RandomCrop(28, padding=2), T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    ds = mnist_sample(train=True, transform=tf)
    return Subset(ds, range(min(samples, len(ds))))


def _epoch(loader):
    t = time.perf_counter()
    n = 0
    for x, y in loader:
        n += len(y)
    return n, time.perf_counter() - t


def time_epochs(samples=2048, batch_size=64, workers=2, repeats=3, seed=0):
    """Images/s of ``num_workers=0`` and ``num_workers=workers`` on the same
    dataset, epochs alternating; returns a dict (see :func:`main`'s JSON)."""
    from ..backend import manual_seed
    from ..data import DataLoader, default_collate
    manual_seed(seed)
    ds = build_dataset(samples)
    single = DataLoader(ds, batch_size=batch_size, shuffle=True, collate_fn=default_collate)
    t = time.perf_counter()
    multi = DataLoader(ds, batch_size=batch_size, shuffle=True, collate_fn=default_collate,
                       num_workers=workers, persistent_workers=True)
    it = iter(multi)
    next(it)                                   # workers forked and the first batch back
    startup = time.perf_counter() - t
    for _ in it:                               # rest of the warm-up epoch
        pass
    _epoch(single)                             # warm-up: caches, lazily built tables
    rates = {"0": [], str(workers): []}
    for _ in range(repeats):
        for key, loader in (("0", single), (str(workers), multi)):
            n, dt = _epoch(loader)
            rates[key].append(n / dt)
    multi._iterator._shutdown_workers()
    med = {k: statistics.median(v) for k, v in rates.items()}
    return {
        "pipeline": "mnist_sample train, per item: RandomAffine(15, translate 0.1, scale 0.9-1.1, bilinear) "
                    "+ RandomCrop(28, padding=2) + ToTensor + Normalize; default_collate",
        "samples": len(ds), "batch_size": batch_size, "workers": workers, "repeats": repeats,
        "cpu_count": os.cpu_count(),
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "images_per_s": {k: {"median": med[k], "all": v} for k, v in rates.items()},
        "worker_startup_s": startup,
        "speedup": med[str(workers)] / med["0"],
    }


def format_report(r):
    k = str(r["workers"])
    lines = [f"data loading: {r['pipeline']}",
             f"{r['samples']} images, batch {r['batch_size']}, {r['repeats']} epochs each, "
             f"{r['cpu_count']} CPUs, load average {r['loadavg'][0]:.2f}" if r["loadavg"] else "",
             f"{'num_workers':>12} {'images/s (median)':>18} {'min':>8} {'max':>8}"]
    for key in ("0", k):
        v = r["images_per_s"][key]
        lines.append(f"{key:>12} {v['median']:18.0f} {min(v['all']):8.0f} {max(v['all']):8.0f}")
    lines.append(f"speed-up num_workers={k} / num_workers=0: {r['speedup']:.2f}x "
                 f"(worker start-up and first batch: {r['worker_startup_s']:.2f} s, not timed)")
    return "\n".join(line for line in lines if line)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m neuronet.bench data",
                                description="Loader throughput with and without worker processes.")
    p.add_argument("--workers", type=int, default=2, help="num_workers to compare with 0 (default 2)")
    p.add_argument("--samples", type=int, default=2048, help="images per epoch (default 2048)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3, help="timed epochs per setting (default 3)")
    p.add_argument("--threads", type=int, default=2, help="BLAS threads (set by the parent)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quick", action="store_true", help="256 images, 1 epoch each (smoke run)")
    a = p.parse_args(argv)
    if a.workers < 1:
        p.error(f"--workers must be >= 1, received {a.workers}")
    if a.quick:
        a.samples, a.repeats = 256, 1
    r = time_epochs(a.samples, a.batch_size, a.workers, a.repeats)
    print(json.dumps(r, indent=1) if a.json else format_report(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
