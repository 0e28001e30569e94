"""Where a training step's time goes: a per-op timer (and optionally cProfile).

``python -m neuronet.bench profile lenet64`` runs the workload's neuronet step
with every :class:`neuronet.autograd.Function` subclass's ``forward`` and
``backward`` wrapped by a timer (:class:`OpTimer`), and prints one row per op
class -- calls per step, forward and backward milliseconds per step, share of
the step -- plus the optimizer step, ``zero_grad`` and the rest (module calls,
Tensor wrapping, the graph walk: Python glue).

The times are *exclusive*: an op whose forward calls another op's ``apply``
is charged only for its own work. ``--cprofile N`` also prints cProfile's top
N functions by internal time over the same steps.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
from collections import defaultdict

__all__ = ["OpTimer", "profile_workload", "format_profile"]


def _all_subclasses(cls):
    seen, stack = [], [cls]
    while stack:
        c = stack.pop()
        for s in c.__subclasses__():
            if s not in seen:
                seen.append(s)
                stack.append(s)
    return seen


class OpTimer:
    """Context manager timing every ``Function`` subclass's forward/backward.

    ``stats[(name, "forward"|"backward")] = [calls, seconds]`` (exclusive
    seconds). The original static methods are restored on exit, also on error.
    Subclasses imported *after* entering are not timed: import the model first.
    """

    def __init__(self):
        self.stats = defaultdict(lambda: [0, 0.0])
        self._saved = []
        self._stack = []          # child-time accumulators of the ops running now

    def _wrap(self, cls, kind, fn):
        key = (cls.__name__, kind)
        stats, stack, clock = self.stats, self._stack, time.perf_counter

        def timed(*args, **kwargs):
            stack.append(0.0)
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = clock() - t0
                child = stack.pop()
                rec = stats[key]
                rec[0] += 1
                rec[1] += dt - child
                if stack:
                    stack[-1] += dt
        return staticmethod(timed)

    def __enter__(self):
        from neuronet.autograd.function import Function
        for cls in _all_subclasses(Function):
            for kind in ("forward", "backward"):
                fn = getattr(cls, kind)     # the plain function (inherited or own)
                own = kind in cls.__dict__
                self._saved.append((cls, kind, cls.__dict__.get(kind), own))
                setattr(cls, kind, self._wrap(cls, kind, fn))
        return self

    def __exit__(self, *exc):
        for cls, kind, original, own in reversed(self._saved):
            if own:
                setattr(cls, kind, original)
            else:
                delattr(cls, kind)
        self._saved.clear()
        return False


def profile_workload(workload, steps=5, warmup=2, batch=None, cprofile_top=0, seed=0):
    """Profile ``steps`` neuronet steps of ``workload``; returns the report dict."""
    import neuronet as nt
    from neuronet import optim
    from neuronet.nn import functional as F
    from .workloads import WORKLOADS, build_neuronet_model, make_data

    wl = WORKLOADS[workload]
    batch = wl.batch if batch is None else batch
    x_np, y_np = make_data(wl, batch, seed)
    nt.manual_seed(seed)
    model = build_neuronet_model(wl.model, num_classes=wl.num_classes)
    x, y = nt.tensor(x_np), nt.tensor(y_np)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if wl.train else None
    model.train(wl.train)
    phases = defaultdict(float)
    clock = time.perf_counter

    def step():
        if not wl.train:
            t0 = clock()
            with nt.no_grad():
                model(x)
            phases["forward"] += clock() - t0
            return
        t0 = clock()
        opt.zero_grad()
        t1 = clock()
        loss = F.cross_entropy(model(x), y)
        t2 = clock()
        loss.backward()
        t3 = clock()
        opt.step()
        t4 = clock()
        phases["zero_grad"] += t1 - t0
        phases["forward"] += t2 - t1
        phases["backward"] += t3 - t2
        phases["optimizer.step"] += t4 - t3

    for _ in range(warmup):
        step()
    phases.clear()
    prof = cProfile.Profile() if cprofile_top else None
    with OpTimer() as timer:
        t0 = clock()
        if prof:
            prof.enable()
        for _ in range(steps):
            step()
        if prof:
            prof.disable()
        total = clock() - t0

    per = 1e3 / steps                               # seconds over all steps -> ms per step
    ops = defaultdict(lambda: {"calls": 0.0, "fwd_ms": 0.0, "bwd_ms": 0.0})
    for (name, kind), (calls, secs) in timer.stats.items():
        o = ops[name]
        if kind == "forward":
            o["calls"] = calls / steps
            o["fwd_ms"] += secs * per
        else:
            o["bwd_ms"] += secs * per
    step_ms = total * per
    rows = []
    for name, o in ops.items():
        t = o["fwd_ms"] + o["bwd_ms"]
        rows.append({"op": name, "calls_per_step": o["calls"], "fwd_ms": o["fwd_ms"],
                     "bwd_ms": o["bwd_ms"], "total_ms": t, "percent": 100 * t / step_ms})
    rows.sort(key=lambda r: -r["total_ms"])
    op_ms = sum(r["total_ms"] for r in rows)
    accounted = op_ms + (phases["optimizer.step"] + phases["zero_grad"]) * per
    report = {
        "workload": workload, "batch": batch, "train": wl.train, "steps": steps,
        "step_ms": step_ms, "images_per_s": batch * 1e3 / step_ms,
        "phases_ms": {k: v * per for k, v in phases.items()},
        "ops": rows, "ops_ms": op_ms,
        "other_ms": step_ms - accounted,
    }
    if prof:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(cprofile_top)
        report["cprofile"] = s.getvalue()
    return report


def format_profile(r, top=None):
    lines = [f"profile: {r['workload']} (batch {r['batch']}, {'train' if r['train'] else 'inference'}), "
             f"{r['steps']} steps, {r['step_ms']:.1f} ms/step = {r['images_per_s']:.0f} img/s "
             f"(timers on: a few % slower than unprofiled)",
             "phases (ms/step): " + ", ".join(f"{k} {v:.1f}" for k, v in r["phases_ms"].items()),
             "",
             f"{'op (Function)':<28} {'calls/step':>10} {'fwd ms':>9} {'bwd ms':>9} {'total ms':>9} {'% step':>7}"]
    rows = r["ops"] if top is None else r["ops"][:top]
    for o in rows:
        lines.append(f"{o['op']:<28} {o['calls_per_step']:>10.0f} {o['fwd_ms']:>9.2f} {o['bwd_ms']:>9.2f} "
                     f"{o['total_ms']:>9.2f} {o['percent']:>6.1f}%")
    if top is not None and len(r["ops"]) > top:
        rest = r["ops"][top:]
        t = sum(o["total_ms"] for o in rest)
        lines.append(f"{f'({len(rest)} more ops)':<28} {'':>10} {'':>9} {'':>9} {t:>9.2f} "
                     f"{100 * t / r['step_ms']:>6.1f}%")
    pct = lambda ms: 100 * ms / r["step_ms"]  # noqa: E731
    for k in ("optimizer.step", "zero_grad"):
        if k in r["phases_ms"]:
            ms = r["phases_ms"][k]
            lines.append(f"{'(' + k + ')':<28} {'':>10} {'':>9} {'':>9} {ms:>9.2f} {pct(ms):>6.1f}%")
    lines.append(f"{'(autograd + Python glue)':<28} {'':>10} {'':>9} {'':>9} {r['other_ms']:>9.2f} "
                 f"{pct(r['other_ms']):>6.1f}%")
    lines.append(f"{'step total':<28} {'':>10} {'':>9} {'':>9} {r['step_ms']:>9.2f} {100.0:>6.1f}%")
    if r.get("cprofile"):
        lines += ["", "cProfile, by internal time:", r["cprofile"]]
    return "\n".join(lines)


def main(argv=None):
    from .workloads import WORKLOADS
    p = argparse.ArgumentParser(prog="python -m neuronet.bench profile",
                                description="Per-op time of one neuronet workload's step.")
    p.add_argument("workload", choices=sorted(WORKLOADS))
    p.add_argument("--steps", type=int, default=5, help="profiled steps (default 5)")
    p.add_argument("--warmup", type=int, default=2, help="unprofiled warm-up steps (default 2)")
    p.add_argument("--batch", type=int, default=None, help="override the workload's batch")
    p.add_argument("--top", type=int, default=None, help="show only the N most expensive ops")
    p.add_argument("--cprofile", type=int, default=0, metavar="N",
                   help="also print cProfile's top N functions by internal time")
    p.add_argument("--quick", action="store_true", help="1 step, no warm-up, batch <= 8")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    if a.steps < 1:
        p.error(f"--steps must be >= 1, received {a.steps}")
    steps, warmup, batch = a.steps, a.warmup, a.batch
    if a.quick:
        steps, warmup = 1, 0
        batch = min(batch or WORKLOADS[a.workload].batch, 8)
    r = profile_workload(a.workload, steps, warmup, batch, a.cprofile)
    r["threads"] = a.threads
    print(json.dumps(r, indent=1) if a.json else format_profile(r, a.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
