"""Reductions over dimensions: sum, mean, max/min (with indices), var.

``dim`` may be None (all elements), an int, or a tuple; negative dims count
from the end; ``keepdim`` keeps reduced dims with size 1 -- PyTorch's names.
Backward broadcasts the output gradient back over the reduced dims.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..backend import array_module


def _quiet(xp):
    """Silence NumPy's divide/invalid warnings where inf and nan are the intended
    IEEE results (as PyTorch gives them); CuPy does not warn."""
    return np.errstate(divide="ignore", invalid="ignore")


def _extremum_mask(x, out):
    """Where ``x`` attains ``out``; a nan result is attained by the nan entries
    (PyTorch's evenly_distribute_backward), so the gradient is not nan everywhere."""
    xp = array_module(x)
    return (x == out) | (xp.isnan(x) & xp.isnan(out))


def normalize_dims(dim, ndim, op="reduction"):
    """``dim`` -> a sorted tuple of non-negative axes (all axes for None)."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    for d in dims:
        if not isinstance(d, int):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, received {dim!r}")
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"{op}: dim {d} is out of range for a tensor with {ndim} dimension(s) "
                f"(expected a value in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])")
        out.append(d % max(ndim, 1))
    return tuple(sorted(set(out)))


def _expand_back(g, in_shape, axes, keepdim):
    xp = array_module(g)
    if not keepdim and axes:
        g = xp.expand_dims(g, axes)
    return xp.broadcast_to(g, in_shape)


class Sum(Function):
    """out = sum over ``dim`` of x;  dE/dx = g broadcast back."""

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        axes = normalize_dims(dim, x.ndim, "sum")
        ctx.meta = (x.shape, axes, keepdim)
        xp = array_module(x)
        return xp.asarray(x.sum(axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        shape, axes, keepdim = ctx.meta
        return _expand_back(g, shape, axes, keepdim), None, None


class Mean(Function):
    """out = (1/n) sum over ``dim`` of x;  dE/dx = g / n broadcast back."""

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        axes = normalize_dims(dim, x.ndim, "mean")
        n = 1
        for a in axes:
            n *= x.shape[a]
        ctx.meta = (x.shape, axes, keepdim, n)
        xp = array_module(x)
        return xp.asarray(x.mean(axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        shape, axes, keepdim, n = ctx.meta
        return _expand_back(g / n, shape, axes, keepdim), None, None


class Var(Function):
    """out = sum (x - mean)^2 / (n - correction);
    dE/dx = g * 2 (x - mean) / (n - correction)."""

    @staticmethod
    def forward(ctx, x, dim, correction, keepdim):
        axes = normalize_dims(dim, x.ndim, "var")
        n = 1
        for a in axes:
            n *= x.shape[a]
        centered = x - x.mean(axis=axes, keepdims=True)
        denom = max(n - correction, 0)
        xp = array_module(x)
        out = xp.asarray((centered * centered).sum(axis=axes, keepdims=keepdim))
        out = out / denom if denom > 0 else out * xp.nan
        ctx.save_for_backward(centered)
        ctx.meta = (x.shape, axes, keepdim, denom)
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (centered,) = ctx.saved_tensors
        shape, axes, keepdim, denom = ctx.meta
        # n <= correction: PyTorch's 2 / max(n - correction, 0) is inf, and inf * 0 gives nan
        scale = 2.0 / denom if denom > 0 else math.inf
        xp = array_module(g)
        with _quiet(xp):
            gx = _expand_back(g, shape, axes, keepdim) * centered * scale
        return gx.astype(g.dtype, copy=False), None, None, None


class Std(Function):
    """out = sqrt(var(x));  dE/dx = g (x - mean) / ((n - correction) out),
    taken as 0 where out == 0 (a constant slice), as PyTorch does, so that a
    constant input does not send nan back."""

    @staticmethod
    def forward(ctx, x, dim, correction, keepdim):
        xp = array_module(x)
        axes = normalize_dims(dim, x.ndim, "std")
        n = 1
        for a in axes:
            n *= x.shape[a]
        centered = x - x.mean(axis=axes, keepdims=True)
        denom = max(n - correction, 0)
        with _quiet(xp):
            var = xp.asarray((centered * centered).sum(axis=axes, keepdims=True)) / denom
        out = xp.sqrt(var).astype(x.dtype, copy=False)
        ctx.save_for_backward(centered, out)
        ctx.meta = (x.shape, axes, keepdim, denom)
        return out if keepdim else out.reshape([s for i, s in enumerate(out.shape) if i not in axes])

    @staticmethod
    def backward(ctx, g):
        centered, out = ctx.saved_tensors
        shape, axes, keepdim, denom = ctx.meta
        xp = array_module(g)
        gk = g if keepdim else (xp.expand_dims(g, axes) if axes else g)
        with _quiet(xp):
            gk = xp.where(out == 0, 0, gk / (out * denom))
        return (xp.broadcast_to(gk, shape) * centered).astype(g.dtype, copy=False), None, None, None


class MaxMin(Function):
    """Max (or min) over all elements or along one ``dim``.

    Along a dim, the gradient goes to the index PyTorch returns; over all
    elements it is split evenly among tied extrema (as ``torch.amax``).
    """

    @staticmethod
    def forward(ctx, x, dim, keepdim, is_max):
        xp = array_module(x)
        if x.size == 0:
            raise RuntimeError(f"{'max' if is_max else 'min'}(): cannot reduce an empty tensor of shape {x.shape}")
        if dim is None:
            out = xp.asarray(x.max() if is_max else x.min())
            ctx.save_for_backward(x, out)
            ctx.meta = (None, keepdim)
            return out
        (axis,) = normalize_dims(dim, x.ndim, "max" if is_max else "min")
        idx = xp.argmax(x, axis=axis) if is_max else xp.argmin(x, axis=axis)
        idx_k = xp.expand_dims(idx, axis)
        vals = xp.take_along_axis(x, idx_k, axis=axis)
        ctx.save_for_backward(idx_k)
        ctx.meta = (axis, keepdim, x.shape)
        if keepdim:
            return vals, idx_k.astype(xp.int64)
        return vals.squeeze(axis), idx.astype(xp.int64)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        if ctx.meta[0] is None:
            x, out = ctx.saved_tensors
            mask = _extremum_mask(x, out)
            return g * mask / mask.sum(), None, None, None
        (idx_k,) = ctx.saved_tensors
        axis, keepdim, shape = ctx.meta
        gx = xp.zeros(shape, dtype=g.dtype)
        gk = g if keepdim else xp.expand_dims(g, axis)
        xp.put_along_axis(gx, idx_k, gk, axis=axis)
        return gx, None, None, None


class AMaxMin(Function):
    """amax/amin over dims; ties share the gradient evenly."""

    @staticmethod
    def forward(ctx, x, dim, keepdim, is_max):
        axes = normalize_dims(dim, x.ndim, "amax" if is_max else "amin")
        out = x.max(axis=axes, keepdims=True) if is_max else x.min(axis=axes, keepdims=True)
        ctx.save_for_backward(x, out)
        ctx.meta = (axes, keepdim)
        return out if keepdim else out.squeeze(axes)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        axes, keepdim = ctx.meta
        xp = array_module(g)
        mask = (x == out)           # PyTorch: a nan slice has no match and its gradient is nan (0/0)
        count = mask.sum(axis=axes, keepdims=True)
        gk = g if keepdim else xp.expand_dims(g, axes)
        with _quiet(xp):
            return (gk * mask / count).astype(g.dtype, copy=False), None, None, None


class LogSumExp(Function):
    """out = log sum exp x over ``dim``, computed as m + log sum exp(x - m)."""

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        xp = array_module(x)
        if x.dtype.kind not in "fc":       # integers and bools: PyTorch's default float
            x = x.astype(xp.float32)
        axes = normalize_dims(dim, x.ndim, "logsumexp")
        if x.size == 0:                    # the empty sum is 0: log 0 = -inf
            m = xp.zeros([1 if i in axes else s for i, s in enumerate(x.shape)], dtype=x.dtype)
        else:
            m = x.max(axis=axes, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)
        with _quiet(xp):
            out = xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True)) + m
        ctx.save_for_backward(x, out)
        ctx.meta = (axes, keepdim)
        return out if keepdim else out.squeeze(axes)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        axes, keepdim = ctx.meta
        xp = array_module(g)
        gk = g if keepdim else xp.expand_dims(g, axes)
        return gk * xp.exp(x - out), None, None
