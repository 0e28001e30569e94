"""One measurement in its own process: one workload on one framework.

Run by the bench driver as::

    python -m neuronet.bench._worker --framework neuronet --workload lenet64 \
        --threads 2 --warmup 2 --repeats 5 --steps 0 --rep-time 1.0

with ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``
already set in its environment by the driver (they must be set before NumPy
is first imported, which ``python -m neuronet...`` does on start-up). Prints
one JSON object on stdout: images/s per timed repetition, peak RSS
(``ru_maxrss`` at the end: this process ran nothing else), the RSS after an
early step and after the last one (growth across steps), and versions.

Timing: ``warmup`` untimed steps, then ``repeats`` timed repetitions of
``steps`` steps each (``steps=0``: chosen from the warm-up so one repetition
lasts about ``rep_time`` seconds).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time

from .workloads import WORKLOADS, build_neuronet_model, make_data

FRAMEWORKS = ("neuronet", "torch", "baseline")
RSS_CHECK_STEP = 10


def current_rss_mib():
    """Resident set size now (Linux /proc), or None elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_mib():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def baseline_module():
    """``bench/baselines/naive_numpy.py`` of the source checkout (not installed
    with the package), loaded by path; None if absent."""
    import importlib.util
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(root, "bench", "baselines", "naive_numpy.py")
    if not os.path.exists(path):
        return None
    spec = importlib.util.spec_from_file_location("neuronet_bench_naive_numpy", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ----------------------------------------------------------------------------- step builders
# Each returns (step, finish): ``step()`` runs one training step or one
# inference pass; ``finish(last)`` turns the last step's result into a dict of
# sanity facts (the loss, whether inference built a graph).

def setup_neuronet(wl, x_np, y_np, threads):
    import neuronet as nt
    from neuronet import optim
    from neuronet.nn import functional as F
    nt.manual_seed(0)
    model = build_neuronet_model(wl.model, num_classes=wl.num_classes)
    x = nt.tensor(x_np)
    y = nt.tensor(y_np)
    if wl.train:
        model.train()
        params = list(model.parameters())
        opt = optim.SGD(params, lr=0.01, momentum=0.9)
        arrays = [p.array for p in params]

        def step():
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        def finish(loss):
            # The optimizer must update the parameters' arrays in place.
            return {"loss": float(loss.item()),
                    "params_updated_in_place": all(p.array is a for p, a in zip(params, arrays))}
    else:
        model.eval()

        def step():
            with nt.no_grad():
                return model(x)

        def finish(out):
            # no_grad inference must not build a graph: no node, no grad flag.
            return {"graph_free": out._node is None and not out.requires_grad,
                    "out_shape": list(out.shape)}
    return step, finish


def setup_torch(wl, x_np, y_np, threads):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    from torch.nn import functional as F
    from ._torch_models import build_torch_model
    model = build_torch_model(wl.model, num_classes=wl.num_classes)
    x = torch.from_numpy(x_np)
    y = torch.from_numpy(y_np)
    if wl.train:
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step():
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        def finish(loss):
            return {"loss": float(loss.item())}
    else:
        model.eval()

        def step():
            with torch.no_grad():
                return model(x)

        def finish(out):
            return {"graph_free": out.grad_fn is None, "out_shape": list(out.shape)}
    return step, finish


def setup_baseline(wl, x_np, y_np, threads):
    nn = baseline_module()
    if nn is None:
        raise RuntimeError("bench/baselines/naive_numpy.py not found (not a source checkout)")
    model = nn.build_model(wl.model)
    if wl.train:
        nn.set_train(model, True)
        opt = nn.MomentumSGD(model.params(), lr=0.01, momentum=0.9)

        def step():
            return nn.train_step(model, opt, x_np, y_np)

        def finish(loss):
            return {"loss": float(loss.data)}
    else:
        nn.set_train(model, False)

        def step():
            return nn.predict(model, x_np)

        def finish(out):
            return {"graph_free": out.creator is None, "out_shape": list(out.shape)}
    return step, finish


SETUP = {"neuronet": setup_neuronet, "torch": setup_torch, "baseline": setup_baseline}


def versions(framework):
    import platform
    import numpy
    info = {"python": platform.python_version(), "numpy": numpy.__version__}
    if framework == "torch":
        import torch
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    if framework == "neuronet":
        import neuronet
        info["neuronet"] = neuronet.__version__
    return info


def measure(framework, workload, threads=2, warmup=2, repeats=5, steps=0, rep_time=1.0,
            batch=None, seed=0):
    """Run the measurement in this process and return the result dict."""
    wl = WORKLOADS[workload]
    batch = wl.batch if batch is None else batch
    x_np, y_np = make_data(wl, batch, seed)
    rss_start = current_rss_mib()
    step, finish = SETUP[framework](wl, x_np, y_np, threads)

    done = 0
    last = None
    warm_times = []
    for _ in range(warmup):
        t0 = time.perf_counter()
        last = step()
        warm_times.append(time.perf_counter() - t0)
        done += 1
    rss_check = (done, current_rss_mib())
    if steps <= 0:
        per_step = min(warm_times) if warm_times else None
        steps = 1 if not per_step else max(1, math.ceil(rep_time / per_step))

    rep_seconds, rss_per_rep = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            last = step()
        rep_seconds.append(time.perf_counter() - t0)
        done += steps
        rss_per_rep.append(current_rss_mib())
        if rss_check[0] < RSS_CHECK_STEP <= done:
            rss_check = (done, current_rss_mib())
    rss_end = current_rss_mib()

    ips = sorted(batch * steps / s for s in rep_seconds)
    median = ips[len(ips) // 2] if len(ips) % 2 else 0.5 * (ips[len(ips) // 2 - 1] + ips[len(ips) // 2])
    growth = None       # unknown when no step ran before the check point
    if rss_check[0] > 0 and rss_check[1] is not None and rss_end is not None:
        growth = rss_end - rss_check[1]
    return {
        "framework": framework,
        "workload": workload,
        "batch": batch,
        "train": wl.train,
        "threads": threads,
        "warmup_steps": warmup,
        "repeats": repeats,
        "steps_per_repeat": steps,
        "images_per_s": {"median": median, "min": ips[0], "max": ips[-1], "all": ips},
        "step_ms_median": 1000.0 * batch / median,
        "peak_rss_mib": peak_rss_mib(),
        "rss_mib": {"start": rss_start, "check_step": rss_check[0], "at_check": rss_check[1],
                    "last_step": done, "at_end": rss_end, "growth": growth,
                    "after_each_repeat": rss_per_rep},
        "check": finish(last),
        "versions": versions(framework),
        # Whether this worker loaded numba (and with it LLVM, ~100 MiB of
        # RSS): the library should load it only when a numba kernel runs.
        "numba_loaded": "numba" in sys.modules,
    }


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m neuronet.bench._worker")
    p.add_argument("--framework", choices=FRAMEWORKS, required=True)
    p.add_argument("--workload", choices=sorted(WORKLOADS), required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--rep-time", type=float, default=1.0)
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    result = measure(a.framework, a.workload, a.threads, a.warmup, max(1, a.repeats), a.steps,
                     a.rep_time, a.batch, a.seed)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
