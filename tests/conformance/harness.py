"""Op-by-op conformance with PyTorch, in the spirit of PyTorch's OpInfo database.

One row (:class:`OpInfo`) per public op: a callable ``fn(m, *args, **kwargs)``
that runs the op through module ``m`` (``neuronet`` or ``torch``), a list of
:class:`Sample` inputs and a list of :class:`ErrorSample` inputs. For each
sample the same NumPy arrays become neuronet and torch tensors; both modules
run ``fn``; the harness compares

- the output structure (tensor / tuple of tensors / Python scalar),
- each output tensor's shape, dtype (by name: ``float32`` == ``float32``)
  and values (``allclose`` with dtype-appropriate tolerances, NaN == NaN,
  same infinities),
- ``requires_grad`` of each output and, when any output is differentiable,
  the input gradients for a random (seeded) upstream gradient, including
  which inputs receive ``None``.

Error samples check that torch raises the declared exception type (so the
table itself is checked) and that neuronet raises the same type (a subclass
counts, as ``except`` clauses see it).

Writing a row::

    OpInfo("sum", lambda m, x, **kw: m.sum(x, **kw),
           samples=[Sample(A(2, 3)), Sample(A(2, 3), dim=0, keepdim=True)],
           errors=[ErrorSample(IndexError, A(2, 3), dim=5)])

``A(*shape, dtype=..., kind=...)`` describes an input array (made with a
per-sample seed); a plain ``np.ndarray`` is used as is; Python scalars,
``None``, slices, strings pass through; lists and tuples are converted
element-wise; ``DT("float64")`` becomes ``m.float64``. Tensors created from
floating arrays require grad unless ``Sample(..., grad=False)`` or the row
says ``grad=False``; ``NoGrad(array)`` keeps one float input out of autograd.

Use :func:`params` to turn rows into ``pytest.param`` objects, and
:func:`check_sample` / :func:`check_error` as the test bodies (see
``test_tensor_ops.py``).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np
import pytest

import neuronet as nt

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

# --------------------------------------------------------------------------
# Describing inputs
# --------------------------------------------------------------------------

NP_DTYPES = {
    "float32": np.float32, "float64": np.float64, "float16": np.float16,
    "int64": np.int64, "int32": np.int32, "int16": np.int16, "int8": np.int8,
    "uint8": np.uint8, "bool": np.bool_,
}


@dataclasses.dataclass(frozen=True)
class A:
    """A random input array of ``shape``.

    ``kind``:
      - ``"normal"``: standard normal (ints: in [-5, 5]; bool: random)
      - ``"positive"``: in [0.5, 2.5) (ints: in [1, 5])
      - ``"unit"``: in (-0.9, 0.9) (for asin/atanh-like domains)
      - ``"singular"``: cycles through 0, -0., 1, -1, -2, 0.5, inf, -inf, nan
        and random values (ints: 0, 1, -1, -2, ...)
      - ``"distinct"``: a permutation of distinct values (for argmax/sort ties)
    """
    shape: tuple
    dtype: str = "float64"
    kind: str = "normal"

    def __init__(self, *shape, dtype="float64", kind="normal"):
        object.__setattr__(self, "shape", tuple(shape))
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "kind", kind)

    def make(self, rng: np.random.Generator) -> np.ndarray:
        return np.asarray(self._make(rng))   # 0-d stays an array, not a NumPy scalar

    def _make(self, rng):
        shape, np_dtype = self.shape, NP_DTYPES[self.dtype]
        n = int(np.prod(shape, dtype=np.int64))
        floating = np.issubdtype(np_dtype, np.floating)
        if self.dtype == "bool":
            return (rng.random(shape) < 0.5)
        if self.kind == "distinct":
            vals = rng.permutation(n).astype(np.float64) - n // 2
            if floating:
                vals = vals / 2 + 0.25
            return vals.reshape(shape).astype(np_dtype)
        if self.kind == "singular":
            base = ([0.0, -0.0, 1.0, -1.0, -2.0, 0.5, np.inf, -np.inf, np.nan] if floating
                    else [0, 1, -1, -2, 3, 2])
            vals = np.array([base[i % len(base)] if i < len(base) * 2 else rng.standard_normal()
                             for i in range(n)], dtype=np.float64)
            if not floating:
                vals = np.round(vals)
            return vals.reshape(shape).astype(np_dtype)
        if not floating:
            lo, hi = (1, 6) if self.kind == "positive" else (-5, 6)
            return rng.integers(lo, hi, size=shape).astype(np_dtype)
        if self.kind == "positive":
            return (rng.random(shape) * 2 + 0.5).astype(np_dtype)
        if self.kind == "unit":
            return (rng.random(shape) * 1.8 - 0.9).astype(np_dtype)
        return rng.standard_normal(shape).astype(np_dtype)


@dataclasses.dataclass(frozen=True)
class DT:
    """A dtype by name, resolved to ``m.<name>`` in each module."""
    name: str


@dataclasses.dataclass(frozen=True)
class NoGrad:
    """A floating input that must not require grad."""
    value: Any


@dataclasses.dataclass
class Sample:
    """One call: positional ``args`` and keyword ``kwargs`` (described as above)."""
    args: tuple
    kwargs: dict
    name: str = ""
    grad: bool = True
    atol: float | None = None
    rtol: float | None = None
    xfail: str | None = None        # reason; xfail(strict=True)

    def __init__(self, *args, name="", grad=True, atol=None, rtol=None, xfail=None, **kwargs):
        self.args, self.kwargs, self.name = args, kwargs, name
        self.grad, self.atol, self.rtol, self.xfail = grad, atol, rtol, xfail


@dataclasses.dataclass
class ErrorSample:
    """A call that must raise ``exc`` (the type PyTorch raises) in both modules."""
    exc: type
    args: tuple
    kwargs: dict
    name: str = ""
    xfail: str | None = None

    def __init__(self, exc, *args, name="", xfail=None, **kwargs):
        self.exc, self.args, self.kwargs, self.name, self.xfail = exc, args, kwargs, name, xfail


@dataclasses.dataclass
class OpInfo:
    """One public op: how to call it, its samples, its error samples."""
    name: str
    fn: Callable
    samples: list = dataclasses.field(default_factory=list)
    errors: list = dataclasses.field(default_factory=list)
    grad: bool = True               # compare gradients for floating inputs
    atol: float | None = None
    rtol: float | None = None


# --------------------------------------------------------------------------
# Turning descriptions into tensors
# --------------------------------------------------------------------------

def _materialize(value, rng):
    """Replace every ``A`` by a concrete array (the same arrays feed both modules)."""
    if isinstance(value, A):
        return value.make(rng)
    if isinstance(value, NoGrad):
        return NoGrad(_materialize(value.value, rng))
    if isinstance(value, list):
        return [_materialize(v, rng) for v in value]
    if isinstance(value, tuple):
        return tuple(_materialize(v, rng) for v in value)
    if isinstance(value, dict):
        return {k: _materialize(v, rng) for k, v in value.items()}
    return value


def _convert(value, m, grad, leaves):
    """Concrete value -> module ``m``'s objects; differentiable leaves are recorded."""
    if isinstance(value, np.ndarray):
        arr = value.copy()
        requires = bool(grad and arr.dtype.kind == "f")
        t = m.tensor(arr, requires_grad=requires)
        if requires:
            leaves.append(t)
        return t
    if isinstance(value, NoGrad):
        return _convert(value.value, m, False, leaves)
    if isinstance(value, DT):
        return getattr(m, value.name)
    if isinstance(value, list):
        return [_convert(v, m, grad, leaves) for v in value]
    if isinstance(value, tuple):
        return tuple(_convert(v, m, grad, leaves) for v in value)
    if isinstance(value, dict):
        return {k: _convert(v, m, grad, leaves) for k, v in value.items()}
    return value


def _seed_for(op_name, sample_index):
    """A seed stable across runs (Python's str hash is salted per process)."""
    return (sum(ord(c) * 31 ** i for i, c in enumerate(op_name)) + 7919 * sample_index) % (2 ** 32)


def _build(op, sample, index, m):
    rng = np.random.default_rng(_seed_for(op.name, index))
    concrete_args = _materialize(sample.args, rng)
    concrete_kwargs = _materialize(sample.kwargs, rng)
    leaves = []
    grad = op.grad and getattr(sample, "grad", True)
    args = _convert(concrete_args, m, grad, leaves)
    kwargs = _convert(concrete_kwargs, m, grad, leaves)
    return args, kwargs, leaves


# --------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------

TOLERANCES = {  # (rtol, atol) per dtype name; float32 looser than torch's defaults
    "float16": (1e-3, 1e-3),
    "bfloat16": (1.6e-2, 1e-2),
    "float32": (1e-5, 1e-5),
    "float64": (1e-7, 1e-9),
}


def _dtype_name(dt) -> str:
    return str(dt).split(".")[-1]


def _is_tensor(x):
    return isinstance(x, (nt.Tensor, torch.Tensor))


def _to_numpy(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy(force=True)    # force: torch's gradients may be ZeroTensors
    return t.detach().cpu().numpy()


def _flatten(out, path="out"):
    """Output -> list of (path, leaf) in a fixed order (tensors, scalars, nested)."""
    if _is_tensor(out):
        return [(path, out)]
    if isinstance(out, (list, tuple)):
        items = []
        for i, o in enumerate(out):
            items += _flatten(o, f"{path}[{i}]")
        return items
    return [(path, out)]


def assert_close_arrays(got, want, what, rtol, atol):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != torch {want.shape}"
    if want.dtype.kind in "fc" or got.dtype.kind in "fc":
        g, w = got.astype(np.float64), want.astype(np.float64)
        nan_g, nan_w = np.isnan(g), np.isnan(w)
        bad = nan_g != nan_w
        both = ~nan_g & ~nan_w
        inf = np.isinf(w) | np.isinf(g)
        bad |= both & inf & (g != w)
        fin = both & ~inf
        bad |= fin & (np.abs(g - w) > atol + rtol * np.abs(w))
        if bad.any():
            idx = tuple(np.argwhere(bad)[0]) if bad.ndim else ()
            raise AssertionError(
                f"{what}: {int(bad.sum())}/{bad.size} values differ; first at {idx}: "
                f"neuronet {g[idx]!r} vs torch {w[idx]!r}\nneuronet={got}\ntorch={want}")
    else:
        assert np.array_equal(got, want), f"{what}: values differ\nneuronet={got}\ntorch={want}"


def _tolerance(op, sample, dtype_name):
    rtol, atol = TOLERANCES.get(dtype_name, (0.0, 0.0))
    if op.rtol is not None:
        rtol = op.rtol
    if op.atol is not None:
        atol = op.atol
    if sample.rtol is not None:
        rtol = sample.rtol
    if sample.atol is not None:
        atol = sample.atol
    return rtol, atol


def _compare_outputs(op, sample, got, want):
    g_items, w_items = _flatten(got), _flatten(want)
    assert len(g_items) == len(w_items), (
        f"{op.name}: {len(g_items)} outputs vs torch {len(w_items)}: {got!r} vs {want!r}")
    for (path, g), (_, w) in zip(g_items, w_items):
        if isinstance(w, torch.Tensor):
            assert isinstance(g, nt.Tensor), f"{path}: torch returns a tensor, neuronet {type(g).__name__}"
            dn = _dtype_name(w.dtype)
            assert _dtype_name(g.dtype) == dn, f"{path}: dtype {g.dtype} != {w.dtype}"
            assert tuple(g.shape) == tuple(w.shape), f"{path}: shape {tuple(g.shape)} != {tuple(w.shape)}"
            rtol, atol = _tolerance(op, sample, dn)
            assert_close_arrays(_to_numpy(g), _to_numpy(w), path, rtol, atol)
            assert bool(g.requires_grad) == bool(w.requires_grad), (
                f"{path}: requires_grad {g.requires_grad} != torch {w.requires_grad}")
        elif isinstance(w, (bool, int, float)) and not isinstance(w, type):
            assert type(g) is type(w), f"{path}: {type(g).__name__} != torch {type(w).__name__} ({g!r} vs {w!r})"
            if isinstance(w, float):
                rtol, atol = _tolerance(op, sample, "float64")
                assert_close_arrays(g, w, path, rtol, atol)
            else:
                assert g == w, f"{path}: {g!r} != torch {w!r}"
        elif isinstance(w, torch.Size):
            assert tuple(g) == tuple(w), f"{path}: {g!r} != torch {w!r}"
        elif isinstance(w, torch.dtype):
            assert _dtype_name(g) == _dtype_name(w), f"{path}: {g!r} != torch {w!r}"
        else:
            assert g == w, f"{path}: {g!r} != torch {w!r}"
    return g_items, w_items


def _upstream(w_items, seed):
    """Random upstream gradients for the differentiable torch outputs (None for the rest)."""
    rng = np.random.default_rng(seed)
    ups = []
    for _, w in w_items:
        if isinstance(w, torch.Tensor) and w.requires_grad and w.dtype.is_floating_point:
            ups.append(rng.standard_normal(tuple(w.shape)).astype(_to_numpy(w).dtype))
        else:
            ups.append(None)
    return ups


def _backward(items, ups, m):
    total = None
    for (_, o), u in zip(items, ups):
        if u is None:
            continue
        term = (o * m.tensor(u)).sum()
        total = term if total is None else total + term
    if total is not None:
        total.backward()
    return total is not None


def _coarsest(tensors):
    """The least precise floating dtype name among ``tensors`` (None if none floats).

    With mixed precision (a float64 0-d tensor in a float32 op) PyTorch computes
    the gradient in float32 and casts it up, so float64 gradients are compared
    with float32 tolerances there."""
    names = [_dtype_name(t.dtype) for t in tensors if isinstance(t, torch.Tensor) and t.dtype.is_floating_point]
    names = [n for n in names if n in TOLERANCES]
    return max(names, key=lambda n: TOLERANCES[n][0]) if names else None


def _compare_grads(op, sample, g_leaves, w_leaves, coarse=None):
    assert len(g_leaves) == len(w_leaves)
    for i, (g, w) in enumerate(zip(g_leaves, w_leaves)):
        what = f"grad of input {i}"
        if w.grad is None:
            assert g.grad is None or not np.any(_to_numpy(g.grad)), (
                f"{what}: torch gives None, neuronet {g.grad}")
            continue
        assert g.grad is not None, f"{what}: neuronet gives None, torch {w.grad}"
        assert _dtype_name(g.grad.dtype) == _dtype_name(w.grad.dtype), (
            f"{what}: dtype {g.grad.dtype} != torch {w.grad.dtype}")
        rtol, atol = _tolerance(op, sample, _dtype_name(w.grad.dtype))
        if coarse is not None:
            c_rtol, c_atol = _tolerance(op, sample, coarse)
            rtol, atol = max(rtol, c_rtol), max(atol, c_atol)
        assert_close_arrays(_to_numpy(g.grad), _to_numpy(w.grad), what, rtol, atol)


# --------------------------------------------------------------------------
# Test bodies
# --------------------------------------------------------------------------

def run_both(op, sample, index):
    """Run the sample through torch then neuronet; returns (nt_out, nt_leaves, th_out, th_leaves)."""
    t_args, t_kwargs, t_leaves = _build(op, sample, index, torch)
    want = op.fn(torch, *t_args, **t_kwargs)
    n_args, n_kwargs, n_leaves = _build(op, sample, index, nt)
    got = op.fn(nt, *n_args, **n_kwargs)
    return got, n_leaves, want, t_leaves


def check_sample(op: OpInfo, index: int):
    """Forward values/dtype/shape/requires_grad and input gradients vs torch."""
    sample = op.samples[index]
    got, n_leaves, want, t_leaves = run_both(op, sample, index)
    g_items, w_items = _compare_outputs(op, sample, got, want)
    if not t_leaves:
        return
    ups = _upstream(w_items, seed=_seed_for(op.name, index) + 1)
    try:
        has_graph = _backward(w_items, ups, torch)
    except RuntimeError as exc:     # "derivative for aten::floor_divide is not implemented"
        if "not implemented" in str(exc):
            return                  # torch has no gradient to compare with
        raise
    if has_graph:
        _backward(g_items, ups, nt)
        coarse = _coarsest(list(t_leaves) + [w for _, w in w_items])
        _compare_grads(op, sample, n_leaves, t_leaves, coarse)


def check_error(op: OpInfo, index: int):
    """torch raises ``exc`` (checks the table) and neuronet raises the same type."""
    err = op.errors[index]
    t_args, t_kwargs, _ = _build(op, err, 10_000 + index, torch)
    with pytest.raises(err.exc):
        op.fn(torch, *t_args, **t_kwargs)
    n_args, n_kwargs, _ = _build(op, err, 10_000 + index, nt)
    try:
        op.fn(nt, *n_args, **n_kwargs)
    except err.exc:
        return
    except Exception as exc:  # noqa: BLE001 - the point is to report the wrong type
        raise AssertionError(f"{op.name}: neuronet raised {type(exc).__name__}: {exc} "
                             f"(torch raises {err.exc.__name__})") from exc
    raise AssertionError(f"{op.name}: neuronet raised nothing (torch raises {err.exc.__name__})")


def _describe(value):
    if isinstance(value, A):
        s = "x".join(map(str, value.shape)) or "0d"
        return f"{s}{value.dtype[0]}{value.dtype[-2:] if value.dtype[-1].isdigit() else ''}" + (
            "" if value.kind == "normal" else value.kind[:4])
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_describe(v) for v in value) + "]"
    if isinstance(value, DT):
        return value.name
    if isinstance(value, NoGrad):
        return _describe(value.value)
    if isinstance(value, np.ndarray):
        return "arr"
    if isinstance(value, slice):
        return "sl"
    return repr(value)[:12]


def _sample_id(sample):
    if sample.name:
        return sample.name
    parts = [_describe(a) for a in sample.args]
    parts += [f"{k}={_describe(v)}" for k, v in sample.kwargs.items()]
    return "-".join(parts).replace(" ", "")


def params(ops):
    """pytest params ``(op, index)`` for every sample of every row, ids ``op-sample``."""
    out, seen = [], set()
    for op in ops:
        for i, s in enumerate(op.samples):
            pid = f"{op.name}-{i}-{_sample_id(s)}"
            assert pid not in seen, pid
            seen.add(pid)
            marks = [pytest.mark.xfail(strict=True, reason=s.xfail)] if s.xfail else []
            out.append(pytest.param(op, i, id=pid, marks=marks))
    return out


def error_params(ops):
    """pytest params ``(op, index)`` for every error sample."""
    out = []
    for op in ops:
        for i, e in enumerate(op.errors):
            pid = f"{op.name}-err{i}-{e.exc.__name__}" + (f"-{e.name}" if e.name else "")
            marks = [pytest.mark.xfail(strict=True, reason=e.xfail)] if e.xfail else []
            out.append(pytest.param(op, i, id=pid, marks=marks))
    return out


def count(ops):
    """{op name: (samples, error samples)} for reports."""
    return {op.name: (len(op.samples), len(op.errors)) for op in ops}


__all__ = ["A", "DT", "NoGrad", "Sample", "ErrorSample", "OpInfo", "params", "error_params",
           "check_sample", "check_error", "run_both", "assert_close_arrays", "count", "torch", "nt"]
