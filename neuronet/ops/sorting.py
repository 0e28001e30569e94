"""Sorting and selection: sort, argsort, msort, topk, kthvalue, median, mode,
unique, bincount, histc, searchsorted.

The ops that return values picked from the input (``sort``, ``topk``,
``kthvalue``, ``median``, ``mode``) compute the positions first and then
``gather`` the values there, so the gradient of each value goes back to the
single input element it was taken from (the others get zero). Indices come
back as int64 tensors without gradient. Counting ops (``unique``,
``bincount``, ``histc``, ``searchsorted``) are not differentiable.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd.function import Function
from ..backend import array_module
from ..backend import scatter_add as add_at
from ._registry import both, torch_function
from .indexing import Gather, along_dim, index_array, wrap_dim

# PyTorch's torch.return_types: named (values, indices) pairs.
sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])
kthvalue_result = namedtuple("kthvalue", ["values", "indices"])
median_result = namedtuple("median", ["values", "indices"])
mode_result = namedtuple("mode", ["values", "indices"])


# The value outputs are Gather nodes named after the op, so ``grad_fn`` reads as
# PyTorch's (SortBackward0, TopkBackward0, ...); the positions come from the op
# itself and are valid by construction.
class Sort(Gather):
    """values = x gathered at the sorting order along ``dim``; the gradient goes back there."""


class Topk(Gather):
    """values = x gathered at the k selected positions; the gradient goes back there."""


class _Picked(Function):
    """values = x at one position per line along ``dim`` (``positions``: x's shape
    with 1 along ``dim``), that dim dropped unless ``keepdim``.
    dE/dx = zeros with g at the picked positions."""

    @staticmethod
    def forward(ctx, x, positions, dim, keepdim):
        ctx.meta = (x.shape, positions, dim, keepdim)
        out = x[along_dim(positions, dim)]
        return out if keepdim else out.squeeze(axis=dim)

    @staticmethod
    def backward(ctx, g):
        shape, positions, dim, keepdim = ctx.meta
        xp = array_module(g)
        gx = xp.zeros(shape, dtype=g.dtype)
        add_at(gx, along_dim(positions, dim), g if keepdim else xp.expand_dims(g, dim))
        return gx, None, None, None


class Kthvalue(_Picked):
    """value = x at the k-th smallest position; the gradient goes back there."""


class Median(_Picked):
    """value = x at the lower median's position; the gradient goes back there."""


class Nanmedian(_Picked):
    """value = x at the lower median's position among the non-NaN elements."""


class Mode(_Picked):
    """value = x at the mode's last occurrence; the gradient goes back there."""


def _wrap(arr):
    from ..tensor import Tensor
    return Tensor._wrap(arr)


def _argsort(a, axis, descending):
    """Stable argsort along ``axis``; NaN counts as larger than every number (as
    in PyTorch). Descending keeps equal elements in their original order: sort the
    reversed array ascending, reverse the result, map positions back."""
    xp = array_module(a)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    rev = xp.flip(a, axis=axis)
    order = xp.flip(xp.argsort(rev, axis=axis, kind="stable"), axis=axis)
    return (n - 1) - order


def _picked(op, input, positions, dim, keepdim):
    """(values, indices) for ``positions`` (int64, keepdim shape) along ``dim``:
    values gathered by ``op`` (differentiable), both squeezed unless ``keepdim``."""
    values = op.apply(input, positions, dim, keepdim)
    return values, _wrap(positions if keepdim else positions.squeeze(axis=dim))


def _scalar_view(input):
    """0-d tensors sort/select like 1-element 1-d tensors; return the view and a
    function restoring the 0-d shape."""
    if input.ndim == 0:
        return input.reshape(1), (lambda t: t.reshape(()))
    return input, (lambda t: t)


@both
def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices): ``input`` sorted along ``dim`` and where each value came from.
    The sort is always stable here (``stable`` is accepted for PyTorch's signature).
    dE/dinput[indices[p]] = dE/dvalues[p]."""
    d = wrap_dim(dim, input.ndim)
    x, back = _scalar_view(input)
    order = _argsort(x.array, d, descending).astype(np.int64)
    values = Sort.apply(x, order, d)
    return sort_result(back(values), back(_wrap(order)))


@both
def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (int64, stable)."""
    return sort(input, dim, descending, stable).indices


@both
def msort(input):
    """``input`` sorted along its first dim: ``sort(input, dim=0).values``."""
    return sort(input, dim=0).values


@both
def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's name
    """(values, indices) of the ``k`` largest (``largest=False``: smallest) elements
    along ``dim``, in sorted order. out: input's shape with ``k`` along ``dim``."""
    d = wrap_dim(dim, input.ndim)
    x, back = _scalar_view(input)
    n = x.shape[d]
    if not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range: k={k} for a dimension of size {n}")
    if input.ndim == 0:
        k = 1           # a 0-d input gives its element back for k = 0 too, as PyTorch does
    order = _argsort(x.array, d, largest).astype(np.int64)
    xp = array_module(order)
    first = xp.take(order, xp.arange(k), axis=d)
    values = Topk.apply(x, first, d)
    return topk_result(back(values), back(_wrap(first)))


@both
def kthvalue(input, k, dim=-1, keepdim=False):
    """(values, indices) of the ``k``-th smallest element (1-based) along ``dim``."""
    d = wrap_dim(dim, input.ndim)
    x, back = _scalar_view(input)
    n = x.shape[d]
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d} "
                           f"(k={k}, size {n})")
    order = _argsort(x.array, d, False).astype(np.int64)
    xp = array_module(order)
    pos = xp.take(order, xp.asarray([k - 1]), axis=d)
    values, idx = _picked(Kthvalue, x, pos, d, keepdim or input.ndim == 0)
    return kthvalue_result(back(values), back(idx))


def _median_positions(a, d, ignore_nan):
    """Per row along ``d``: the index of the lower median (PyTorch's median), or of
    the first NaN when the row has one and NaNs are not ignored."""
    xp = array_module(a)
    order = _argsort(a, d, False)
    n = a.shape[d]
    if a.dtype.kind == "f":
        nans = xp.isnan(a).sum(axis=d, keepdims=True)
    else:
        nans = xp.zeros(a.shape[:d] + (1,) + a.shape[d + 1:], dtype=np.int64)
    if ignore_nan:
        k = xp.maximum(n - nans - 1, 0) // 2
    else:
        k = xp.where(nans > 0, n - nans, (n - 1) // 2)
    return xp.take_along_axis(order, k.astype(np.int64), axis=d).astype(np.int64)


def _median(input, dim, keepdim, ignore_nan, op):
    if dim is None:
        if input.numel() == 0:
            xp = array_module(input.array)
            return _wrap(xp.asarray(xp.nan, dtype=input.dtype))
        flat = input.reshape(-1)
        pos = _median_positions(flat.array, 0, ignore_nan)
        return (Nanmedian if ignore_nan else Median).apply(flat, pos, 0, False)
    d = wrap_dim(dim, input.ndim)
    x, back = _scalar_view(input)
    if x.shape[d] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")
    pos = _median_positions(x.array, d, ignore_nan)
    values, idx = _picked(Nanmedian if ignore_nan else Median, x, pos, d, keepdim or input.ndim == 0)
    return median_result(back(values), back(idx))


@both
def median(input, dim=None, keepdim=False):
    """Without ``dim``: the lower median of all elements (NaN if any is NaN).
    With ``dim``: (values, indices) of the lower median along ``dim``. The
    gradient goes to the element picked."""
    return _median(input, dim, keepdim, False, "median")


@both
def nanmedian(input, dim=None, keepdim=False):
    """:func:`median` ignoring NaNs (NaN only where a whole row is NaN)."""
    return _median(input, dim, keepdim, True, "nanmedian")


@both
def mode(input, dim=-1, keepdim=False):
    """(values, indices): the most frequent value along ``dim`` (the smallest one on
    a tie) and the index of its last occurrence, as PyTorch returns."""
    d = wrap_dim(dim, input.ndim)
    x, back = _scalar_view(input)
    a = x.array
    xp = array_module(a)
    n = a.shape[d]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    order = _argsort(a, d, False)
    s = xp.take_along_axis(a, order, axis=d)
    # Move the dim last and work on rows: run lengths of equal sorted values.
    s2 = xp.moveaxis(s, d, -1).reshape(-1, n)
    o2 = xp.moveaxis(order, d, -1).reshape(-1, n)
    new_run = xp.ones(s2.shape, dtype=bool)
    new_run[:, 1:] = s2[:, 1:] != s2[:, :-1]
    run_id = xp.cumsum(new_run, axis=1) - 1
    rows = xp.arange(s2.shape[0])[:, None]
    counts = xp.zeros(s2.shape, dtype=np.int64)
    add_at(counts, (xp.broadcast_to(rows, s2.shape), run_id), xp.ones(s2.shape, dtype=np.int64))
    best_run = xp.argmax(counts, axis=1)          # first maximum: the smallest value on ties
    in_best = run_id == best_run[:, None]
    # the last occurrence (largest original index) within the winning run
    pos = xp.where(in_best, o2, -1).max(axis=1)
    lead = tuple(s for i, s in enumerate(a.shape) if i != d)
    pos = xp.expand_dims(pos.reshape(lead), d).astype(np.int64)
    values, idx = _picked(Mode, x, pos, d, keepdim or input.ndim == 0)
    return mode_result(back(values), back(idx))


@both
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct elements (``dim=None``: of the flattened input, sorted) or
    distinct slices along ``dim``; optionally the inverse indices (where each
    element went, input's shape; along ``dim``: one per slice) and the counts."""
    xp = array_module(input.array)
    a = input.array
    if dim is None:
        vals, inv, counts = xp.unique(a.reshape(-1), return_inverse=True, return_counts=True)
        inv = inv.reshape(a.shape)
    else:
        d = wrap_dim(dim, input.ndim)
        vals, inv, counts = xp.unique(a, return_inverse=True, return_counts=True, axis=d)
        inv = inv.reshape(-1)
    out = [_wrap(vals)]
    if return_inverse:
        out.append(_wrap(inv.astype(np.int64)))
    if return_counts:
        out.append(_wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


@both
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive elements (``dim=None``: of the flattened input)."""
    xp = array_module(input.array)
    if dim is None:
        a = input.array.reshape(-1)
        n = a.shape[0]
        starts = xp.ones(n, dtype=bool)
        if n:
            starts[1:] = a[1:] != a[:-1]
        vals = a[starts]
        inv_shape = input.shape
    else:
        d = wrap_dim(dim, input.ndim)
        a = xp.moveaxis(input.array, d, 0)
        n = a.shape[0]
        starts = xp.ones(n, dtype=bool)
        if n:
            starts[1:] = (a[1:] != a[:-1]).reshape(n - 1, -1).any(axis=1)
        vals = xp.moveaxis(a[starts], 0, d)
        inv_shape = (n,)
    inv = xp.cumsum(starts) - 1
    out = [_wrap(vals)]
    if return_inverse:
        out.append(_wrap(inv.reshape(inv_shape).astype(np.int64)))
    if return_counts:
        bounds = xp.concatenate([xp.nonzero(starts)[0], xp.asarray([n])])
        out.append(_wrap(xp.diff(bounds).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


@both
def bincount(input, weights=None, minlength=0):
    """Counts of each value of a 1-d non-negative int tensor: out[v] = #{i: input[i] = v}
    (or the sum of ``weights[i]`` over them); length max(input) + 1, at least ``minlength``."""
    a = input.array
    xp = array_module(a)
    if a.dtype.kind not in "iub" or a.ndim != 1 or (a.size and int(a.min()) < 0):
        if a.dtype.kind == "f":
            raise RuntimeError(f"bincount(): expected an integer tensor, received dtype {a.dtype}")
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs "
                           f"(received shape {list(a.shape)}, dtype {a.dtype}).")
    if minlength < 0:
        raise RuntimeError(f"bincount(): minlength should be >= 0, received {minlength}")
    if weights is None:
        return _wrap(xp.bincount(a, minlength=minlength).astype(np.int64))
    w = weights.array if hasattr(weights, "array") else xp.asarray(weights)
    if w.shape != a.shape:
        raise RuntimeError(f"bincount(): weights should be 1-d and have the same length as input "
                           f"(input {list(a.shape)}, weights {list(w.shape)})")
    out_dtype = w.dtype if w.dtype.kind == "f" else np.float64
    return _wrap(xp.bincount(a, weights=w, minlength=minlength).astype(out_dtype))


@both
def histc(input, bins=100, min=0, max=0):  # noqa: A002 - PyTorch's names
    """A histogram of ``bins`` equal-width bins over [min, max] (both 0: the data's
    range); elements outside are ignored, the last bin includes ``max``."""
    a = input.array
    xp = array_module(a)
    if a.dtype.kind != "f":
        raise RuntimeError(f"histc(): expected a floating-point tensor, received dtype {a.dtype}")
    if bins <= 0:
        raise RuntimeError(f"histc(): bins must be > 0, but got {bins}")
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"histc(): max must be larger than min (min={min}, max={max})")
    flat = a.reshape(-1)
    flat = flat[(flat >= lo) & (flat <= hi)]
    pos = ((flat - lo) * (bins / (hi - lo))).astype(np.int64)
    pos = xp.minimum(pos, bins - 1)
    return _wrap(xp.bincount(pos, minlength=bins).astype(a.dtype))


@torch_function
def searchsorted(sorted_sequence, values, *, out_int32=False, right=False, side=None, sorter=None):
    """For each of ``values``, the index where it would be inserted into the
    ascending last dim of ``sorted_sequence`` to keep it sorted (``right``/
    ``side='right'``: after equal elements). An N-d sequence searches row by row."""
    seq = sorted_sequence.array
    xp = array_module(seq)
    scalar = not hasattr(values, "array") and not hasattr(values, "shape")
    v = values.array if hasattr(values, "array") else xp.asarray(values)
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"searchsorted(): side can only be 'left' or 'right', received {side!r}")
        if right and side == "left":
            raise RuntimeError("searchsorted(): side and right can't be set to opposites")
        right = side == "right"
    s = "right" if right else "left"
    if sorter is not None:
        srt = index_array(sorter, seq, "searchsorted", "sorter")
        seq = xp.take_along_axis(seq, srt, axis=-1)
    dtype = np.int32 if out_int32 else np.int64
    if seq.ndim == 1:
        return _wrap(xp.searchsorted(seq, v, side=s).astype(dtype))
    if scalar or v.shape[:-1] != seq.shape[:-1]:
        raise RuntimeError(f"searchsorted(): boundaries tensor of shape {list(seq.shape)} and input of shape "
                           f"{list(v.shape)} should have the same leading dims (all but the last)")
    rows = seq.reshape(-1, seq.shape[-1])
    vals = v.reshape(-1, v.shape[-1])
    out = xp.stack([xp.searchsorted(r, q, side=s) for r, q in zip(rows, vals)]) if rows.shape[0] else \
        xp.zeros(vals.shape, dtype=dtype)
    return _wrap(out.reshape(v.shape).astype(dtype))
