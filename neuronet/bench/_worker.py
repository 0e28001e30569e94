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

With ``--serve`` the worker warms up and then times one repetition each time
the driver asks (:func:`serve`), so the driver can interleave the frameworks'
repetitions (``--interleave``): a burst of load from elsewhere on the machine
then hits both frameworks instead of one.
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


class Measurement:
    """One workload on one framework in this process: set up and warmed up
    on construction, then timed one repetition at a time.

    ``repetition(label)`` times ``steps`` steps and files the seconds under
    ``label`` (``"quiet"``; ``"busy"`` when the driver runs a busy process
    beside it); ``result()`` is the JSON-able report, images/s from the
    quiet repetitions (and, if any, the busy ones under ``"busy"``).
    """

    def __init__(self, framework, workload, threads=2, warmup=2, steps=0, rep_time=1.0,
                 batch=None, seed=0):
        self.framework, self.workload, self.threads, self.warmup = framework, workload, threads, warmup
        self.wl = wl = WORKLOADS[workload]
        self.batch = wl.batch if batch is None else batch
        x_np, y_np = make_data(wl, self.batch, seed)
        self.rss_start = current_rss_mib()
        self.step, self.finish = SETUP[framework](wl, x_np, y_np, threads)
        self.done, self.last, warm_times = 0, None, []
        for _ in range(warmup):
            t0 = time.perf_counter()
            self.last = self.step()
            warm_times.append(time.perf_counter() - t0)
            self.done += 1
        self.rss_check = (self.done, current_rss_mib())
        if steps <= 0:
            per_step = min(warm_times) if warm_times else None
            steps = 1 if not per_step else max(1, math.ceil(rep_time / per_step))
        self.steps = steps
        self.seconds = {"quiet": [], "busy": []}
        self.rss_per_rep = []

    def repetition(self, label="quiet"):
        """Time one repetition; returns its seconds."""
        step = self.step
        t0 = time.perf_counter()
        for _ in range(self.steps):
            self.last = step()
        dt = time.perf_counter() - t0
        self.seconds[label].append(dt)
        self.done += self.steps
        self.rss_per_rep.append(current_rss_mib())
        if self.rss_check[0] < RSS_CHECK_STEP <= self.done:
            self.rss_check = (self.done, current_rss_mib())
        return dt

    def _images_per_s(self, seconds):
        ips = sorted(self.batch * self.steps / s for s in seconds)
        n = len(ips)
        median = ips[n // 2] if n % 2 else 0.5 * (ips[n // 2 - 1] + ips[n // 2])
        return {"median": median, "min": ips[0], "max": ips[-1], "all": ips}

    def result(self):
        rss_end = current_rss_mib()
        ips = self._images_per_s(self.seconds["quiet"])
        growth = None       # unknown when no step ran before the check point
        if self.rss_check[0] > 0 and self.rss_check[1] is not None and rss_end is not None:
            growth = rss_end - self.rss_check[1]
        out = {
            "framework": self.framework,
            "workload": self.workload,
            "batch": self.batch,
            "train": self.wl.train,
            "threads": self.threads,
            "warmup_steps": self.warmup,
            "repeats": len(self.seconds["quiet"]),
            "steps_per_repeat": self.steps,
            "images_per_s": ips,
            "step_ms_median": 1000.0 * self.batch / ips["median"],
            "peak_rss_mib": peak_rss_mib(),
            "rss_mib": {"start": self.rss_start, "check_step": self.rss_check[0],
                        "at_check": self.rss_check[1], "last_step": self.done, "at_end": rss_end,
                        "growth": growth, "after_each_repeat": self.rss_per_rep},
            "check": self.finish(self.last),
            "versions": versions(self.framework),
            # Whether this worker loaded numba (and with it LLVM, ~100 MiB of
            # RSS): the library should load it only when a numba kernel runs.
            "numba_loaded": "numba" in sys.modules,
        }
        if self.seconds["busy"]:
            out["busy"] = {"repeats": len(self.seconds["busy"]),
                           "images_per_s": self._images_per_s(self.seconds["busy"])}
        return out


def measure(framework, workload, threads=2, warmup=2, repeats=5, steps=0, rep_time=1.0,
            batch=None, seed=0):
    """Run the measurement in this process and return the result dict."""
    m = Measurement(framework, workload, threads, warmup, steps, rep_time, batch, seed)
    for _ in range(repeats):
        m.repetition()
    return m.result()


def serve(m, stdin=sys.stdin, stdout=sys.stdout):
    """The interleaved protocol (``--serve``), one JSON line per answer:
    ``{"ready": steps}`` once warmed up; then per command line from the
    driver, ``quiet`` or ``busy`` -> ``{"seconds": s}`` (one repetition),
    ``done`` -> the result, and exit."""
    def say(obj):
        stdout.write(json.dumps(obj) + "\n")
        stdout.flush()

    say({"ready": m.steps})
    for line in stdin:
        cmd = line.strip()
        if cmd in ("quiet", "busy"):
            say({"seconds": m.repetition(cmd)})
        elif cmd == "done":
            say(m.result())
            return
        else:
            raise SystemExit(f"neuronet.bench._worker --serve: unknown command {cmd!r} "
                             "(expected quiet, busy or done)")


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
    p.add_argument("--serve", action="store_true",
                   help="warm up, then time one repetition per 'quiet'/'busy' line on stdin "
                        "until 'done' (the driver's --interleave)")
    a = p.parse_args(argv)
    if a.serve:
        serve(Measurement(a.framework, a.workload, a.threads, a.warmup, a.steps, a.rep_time,
                          a.batch, a.seed))
        return
    result = measure(a.framework, a.workload, a.threads, a.warmup, max(1, a.repeats), a.steps,
                     a.rep_time, a.batch, a.seed)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
