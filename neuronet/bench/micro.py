"""Per-op micro-benchmark: forward and backward of the ops the workloads spend
their time in, on the shapes they use, neuronet beside PyTorch (and, with
``--baseline``, the Chainer-style NumPy kernels of ``bench/baselines``).

Run through ``python -m neuronet.bench micro [--ops conv2d,max_pool2d,...]``,
which starts this module in a child interpreter with the thread count pinned.
Each cell is the median over samples of one call's wall time in milliseconds;
``speed`` is PyTorch's time over neuronet's (> 1: neuronet is faster).

Backward is timed as ``out.backward(g)`` with a fixed random upstream gradient
``g`` after a fresh forward, gradients cleared before each forward.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

__all__ = ["CASES", "run_micro", "format_micro"]


def _conv(x, w, stride=1, padding=0, bias=True):
    return {"op": "conv2d", "x": x, "w": w, "stride": stride, "padding": padding, "bias": bias}


# (label, spec): shapes taken from the bench workloads.
CASES = [
    ("lenet conv1 64x1x28x28 k5 p2 ->6", _conv((64, 1, 28, 28), (6, 1, 5, 5), padding=2)),
    ("lenet conv2 64x6x14x14 k5 ->16", _conv((64, 6, 14, 14), (16, 6, 5, 5))),
    ("resnet 128x16x32x32 k3 p1 ->16", _conv((128, 16, 32, 32), (16, 16, 3, 3), padding=1, bias=False)),
    ("resnet 128x16x32x32 k3 s2 p1 ->32",
     _conv((128, 16, 32, 32), (32, 16, 3, 3), stride=2, padding=1, bias=False)),
    ("resnet 128x64x8x8 k3 p1 ->64", _conv((128, 64, 8, 8), (64, 64, 3, 3), padding=1, bias=False)),
    ("vgg 128x64x32x32 k3 p1 ->64", _conv((128, 64, 32, 32), (64, 64, 3, 3), padding=1)),
    ("lenet 64x6x28x28 k2", {"op": "max_pool2d", "x": (64, 6, 28, 28)}),
    ("vgg 128x64x32x32 k2", {"op": "max_pool2d", "x": (128, 64, 32, 32)}),
    ("resnet 128x16x32x32 train", {"op": "batch_norm", "x": (128, 16, 32, 32)}),
    ("resnet 128x64x8x8 train", {"op": "batch_norm", "x": (128, 64, 8, 8)}),
    ("128x16x32x32", {"op": "relu", "x": (128, 16, 32, 32)}),
    ("lenet fc1 256x400 ->120", {"op": "linear", "x": (256, 400), "w": (120, 400)}),
    ("256x10", {"op": "cross_entropy", "x": (256, 10)}),
    ("lenet conv1 64x1x28x28 k5 p2", {"op": "im2col", "x": (64, 1, 28, 28), "k": 5, "padding": 2}),
    ("resnet 128x16x32x32 k3 p1", {"op": "im2col", "x": (128, 16, 32, 32), "k": 3, "padding": 1}),
    ("vgg 128x64x32x32 k3 p1", {"op": "im2col", "x": (128, 64, 32, 32), "k": 3, "padding": 1}),
    ("resnet 128x16x32x32 k3 p1", {"op": "col2im", "x": (128, 16, 32, 32), "k": 3, "padding": 1}),
    ("vgg 128x64x32x32 k3 p1", {"op": "col2im", "x": (128, 64, 32, 32), "k": 3, "padding": 1}),
]
OPS = sorted({spec["op"] for _, spec in CASES})


def _median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def _time_pair(fwd, bwd, min_time, max_samples=200):
    """Median seconds of ``fwd()`` and of ``bwd(out)`` (None: forward only),
    sampling until ``min_time`` seconds have passed (at least 3 samples)."""
    tf, tb = [], []
    out = fwd()                       # warm-up (allocator, caches, lazy imports)
    if bwd:
        bwd(out)
    start = time.perf_counter()
    while len(tf) < 3 or (time.perf_counter() - start < min_time and len(tf) < max_samples):
        t0 = time.perf_counter()
        out = fwd()
        t1 = time.perf_counter()
        tf.append(t1 - t0)
        if bwd:
            bwd(out)
            tb.append(time.perf_counter() - t1)
    return _median(tf), (_median(tb) if tb else None)


def _inputs(spec, rng):
    op = spec["op"]
    arrays = {"x": rng.standard_normal(spec["x"], dtype=np.float32)}
    if op in ("conv2d", "linear"):
        arrays["w"] = rng.standard_normal(spec["w"], dtype=np.float32) * np.float32(0.1)
        if spec.get("bias", True):
            arrays["b"] = rng.standard_normal(spec["w"][0], dtype=np.float32)
    if op == "batch_norm":
        c = spec["x"][1]
        arrays["gamma"] = rng.standard_normal(c, dtype=np.float32)
        arrays["beta"] = rng.standard_normal(c, dtype=np.float32)
    if op == "cross_entropy":
        arrays["y"] = rng.integers(0, spec["x"][1], spec["x"][0], dtype=np.int64)
    return arrays


def _call(F, t, spec, extra):
    """Forward of ``spec['op']`` through a PyTorch-API functional module ``F``
    (neuronet.nn.functional or torch.nn.functional) on tensors ``t``."""
    op = spec["op"]
    if op == "conv2d":
        return F.conv2d(t["x"], t["w"], t.get("b"), stride=spec["stride"], padding=spec["padding"])
    if op == "max_pool2d":
        return F.max_pool2d(t["x"], 2, 2)
    if op == "batch_norm":
        return F.batch_norm(t["x"], extra["rm"], extra["rv"], t["gamma"], t["beta"], training=True)
    if op == "relu":
        return F.relu(t["x"])
    if op == "linear":
        return F.linear(t["x"], t["w"], t.get("b"))
    if op == "cross_entropy":
        return F.cross_entropy(t["x"], extra["y"])
    raise ValueError(op)


def _grad_for(spec, out_shape, rng):
    if spec["op"] == "cross_entropy":
        return None
    return rng.standard_normal(out_shape, dtype=np.float32)


def _bench_neuronet(spec, arrays, min_time, rng):
    import neuronet as nt
    op = spec["op"]
    if op in ("im2col", "col2im"):
        return _bench_neuronet_im2col(spec, arrays, min_time)
    from neuronet.nn import functional as F
    t = {k: nt.tensor(v, requires_grad=True) for k, v in arrays.items() if k != "y"}
    c = arrays["x"].shape[1]
    extra = {"rm": nt.zeros(c), "rv": nt.ones(c)}
    if "y" in arrays:
        extra["y"] = nt.tensor(arrays["y"])
    out = _call(F, t, spec, extra)
    g = _grad_for(spec, tuple(out.shape), rng)
    g = None if g is None else nt.tensor(g)

    def fwd():
        for v in t.values():
            v.grad = None
        return _call(F, t, spec, extra)

    def bwd(o):
        o.backward(g)
    return _time_pair(fwd, bwd, min_time)


def _bench_neuronet_im2col(spec, arrays, min_time):
    # Internal kernels: time them directly (their interface may change; a
    # change is reported as "unavailable" rather than failing the run).
    from neuronet.nn.functional import _im2col as K
    x = arrays["x"]
    n, c, h, w = x.shape
    k, p = spec["k"], spec["padding"]
    ho, wo = h + 2 * p - k + 1, w + 2 * p - k + 1
    if spec["op"] == "im2col":
        def fwd():
            return K.im2col(K.channel_major(x, (p, p, p, p)), (k, k), (1, 1), (1, 1), (ho, wo))
    else:
        cols = np.random.default_rng(1).standard_normal((c, k, k, n, ho, wo), dtype=np.float32)

        def fwd():
            return K.col2im(cols, (h + 2 * p, w + 2 * p), (1, 1), (1, 1))
    return _time_pair(fwd, None, min_time)


def _bench_torch(spec, arrays, min_time, rng):
    import torch
    from torch.nn import functional as F
    op = spec["op"]
    if op in ("im2col", "col2im"):
        x = torch.from_numpy(arrays["x"])
        n, c, h, w = x.shape
        k, p = spec["k"], spec["padding"]
        if op == "im2col":
            return _time_pair(lambda: F.unfold(x, k, padding=p), None, min_time)
        cols = torch.randn(n, c * k * k, (h + 2 * p - k + 1) * (w + 2 * p - k + 1))
        return _time_pair(lambda: F.fold(cols, (h, w), k, padding=p), None, min_time)
    t = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in arrays.items() if k != "y"}
    c = arrays["x"].shape[1]
    extra = {"rm": torch.zeros(c), "rv": torch.ones(c)}
    if "y" in arrays:
        extra["y"] = torch.from_numpy(arrays["y"])
    out = _call(F, t, spec, extra)
    g = _grad_for(spec, tuple(out.shape), rng)
    g = None if g is None else torch.from_numpy(g)

    def fwd():
        for v in t.values():
            v.grad = None
        return _call(F, t, spec, extra)

    def bwd(o):
        o.backward(g)
    return _time_pair(fwd, bwd, min_time)


def _bench_baseline(spec, arrays, min_time, rng):
    from ._worker import baseline_module
    B = baseline_module()
    if B is None:
        return None
    op = spec["op"]
    x = arrays["x"]
    if op == "im2col":
        k, p = spec["k"], spec["padding"]
        return _time_pair(lambda: B.im2col_cpu(x, k, k, 1, 1, p, p), None, min_time)
    if op == "col2im":
        n, c, h, w = x.shape
        k, p = spec["k"], spec["padding"]
        cols = rng.standard_normal((n, c, k, k, h + 2 * p - k + 1, w + 2 * p - k + 1), dtype=np.float32)
        return _time_pair(lambda: B.col2im_cpu(cols, 1, 1, p, p, h, w), None, min_time)
    if op == "conv2d":
        ins = [x, arrays["w"]] + ([arrays["b"]] if "b" in arrays else [])
        make = lambda: B.Convolution2D(spec["stride"], spec["padding"])  # noqa: E731
    elif op == "max_pool2d":
        ins = [x]
        make = lambda: B.MaxPooling2D(2, 2)  # noqa: E731
    else:
        return None
    fn = make()
    g = rng.standard_normal(fn.forward(ins)[0].shape, dtype=np.float32)

    def fwd():
        f = make()
        f.forward(ins)
        return f

    def bwd(f):
        f.backward(ins, [g])
    return _time_pair(fwd, bwd, min_time)


def run_micro(ops=None, use_torch=True, use_baseline=False, min_time=0.3, log=None, quick=False):
    """Time each case of ``CASES`` whose op is in ``ops`` (None: all); ``quick``:
    only the first case of each op (a smoke run)."""
    rng = np.random.default_rng(0)
    rows, seen = [], set()
    for label, spec in CASES:
        if ops and spec["op"] not in ops:
            continue
        if quick and spec["op"] in seen:
            continue
        seen.add(spec["op"])
        arrays = _inputs(spec, rng)
        row = {"op": spec["op"], "case": label, "errors": {}}
        for name, fn, on in (("neuronet", _bench_neuronet, True), ("torch", _bench_torch, use_torch),
                             ("baseline", _bench_baseline, use_baseline)):
            row[name] = None
            if not on:
                continue
            try:
                r = fn(spec, arrays, min_time, rng)
            except Exception as e:  # report and go on: one broken op must not hide the rest
                row["errors"][name] = f"{type(e).__name__}: {e}"
                r = None
            if r is not None:
                row[name] = {"fwd_ms": 1e3 * r[0], "bwd_ms": None if r[1] is None else 1e3 * r[1]}
        rows.append(row)
        if log:
            log(format_micro([row], header=False))
    return rows


def _cell(r, key):
    return "-" if not r or r[key] is None else f"{r[key]:.2f}"


def _speed(nn, other, key):
    if not nn or not other or nn[key] is None or other[key] is None or nn[key] == 0:
        return "-"
    return f"{other[key] / nn[key]:.2f}"


def format_micro(rows, header=True):
    lines = []
    if header:
        lines.append(f"{'op':<13} {'case':<36} {'nn fwd':>8} {'torch':>8} {'speed':>6} "
                     f"{'nn bwd':>8} {'torch':>8} {'speed':>6} {'naive fwd':>9} {'naive bwd':>9}")
        lines.append("(ms per call, median; speed = torch time / neuronet time; naive = "
                     "bench/baselines Chainer-style)")
    for r in rows:
        nn, th, bl = r["neuronet"], r["torch"], r["baseline"]
        lines.append(f"{r['op']:<13} {r['case']:<36} {_cell(nn, 'fwd_ms'):>8} {_cell(th, 'fwd_ms'):>8} "
                     f"{_speed(nn, th, 'fwd_ms'):>6} {_cell(nn, 'bwd_ms'):>8} {_cell(th, 'bwd_ms'):>8} "
                     f"{_speed(nn, th, 'bwd_ms'):>6} {_cell(bl, 'fwd_ms'):>9} {_cell(bl, 'bwd_ms'):>9}")
        for fw, err in r["errors"].items():
            lines.append(f"    {fw}: {err}")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m neuronet.bench micro",
                                description="Per-op forward/backward timings on the workloads' shapes.")
    p.add_argument("--ops", default=None, help=f"comma-separated subset of: {', '.join(OPS)}")
    p.add_argument("--min-time", type=float, default=0.3, help="seconds of samples per cell (default 0.3)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--baseline", action="store_true", help="also time the Chainer-style kernels")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quick", action="store_true", help="first case of each op, 3 samples (smoke run)")
    a = p.parse_args(argv)
    if a.quick:
        a.min_time = 0.0
    ops = None
    if a.ops:
        ops = {o.strip() for o in a.ops.split(",") if o.strip()}
        bad = ops - set(OPS)
        if bad:
            p.error(f"unknown op(s) {sorted(bad)}; available: {', '.join(OPS)}")
    use_torch = not a.no_torch
    if use_torch:
        try:
            import torch
            torch.set_num_threads(a.threads)
        except ImportError:
            use_torch = False
    if a.json:
        rows = run_micro(ops, use_torch, a.baseline, a.min_time, quick=a.quick)
        print(json.dumps({"threads": a.threads, "rows": rows}, indent=1))
    else:
        print(format_micro([], header=True), flush=True)
        run_micro(ops, use_torch, a.baseline, a.min_time, log=lambda s: print(s, flush=True),
                  quick=a.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
